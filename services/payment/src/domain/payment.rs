//! The payment state machine and the refund arithmetic.
//!
//! ```text
//! Created ──prepare──▶ Ready ──captured──▶ Approved ──refund part──▶ PartiallyRefunded
//!    │  ▲               │ │                    │ refund rest              │ refund rest
//!    │  └──prepare──Failed◀┘declined            ▼                          ▼
//!    └──cancel──▶ Cancelled ◀──cancel── Ready  Refunded ◀─────────────────┘
//! ```
//! Money only ever leaves through refunds, and their sum never exceeds the capture (I2).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    Created,
    Ready,
    Approved,
    Failed,
    Cancelled,
    PartiallyRefunded,
    Refunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentEvent {
    /// The provider flow was (re)started.
    Prepare,
    Captured,
    Declined,
    Cancel,
    /// A refund; `rest` when nothing captured remains afterwards.
    Refund {
        rest: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from:?} payment cannot take {event:?}")]
pub struct IllegalTransition {
    pub from: PaymentStatus,
    pub event: PaymentEvent,
}

impl PaymentStatus {
    /// Every legal edge; everything else is refused.
    pub fn next(self, event: PaymentEvent) -> Result<PaymentStatus, IllegalTransition> {
        use {PaymentEvent as E, PaymentStatus as S};
        match (self, event) {
            (S::Created | S::Ready | S::Failed, E::Prepare) => Ok(S::Ready),
            (S::Ready, E::Captured) => Ok(S::Approved),
            (S::Ready, E::Declined) => Ok(S::Failed),
            (S::Created | S::Ready | S::Failed, E::Cancel) => Ok(S::Cancelled),
            (S::Approved | S::PartiallyRefunded, E::Refund { rest: false }) => Ok(S::PartiallyRefunded),
            (S::Approved | S::PartiallyRefunded, E::Refund { rest: true }) => Ok(S::Refunded),
            (from, event) => Err(IllegalTransition { from, event }),
        }
    }

    /// Money was captured (and maybe partly refunded).
    pub fn is_captured(self) -> bool {
        matches!(self, PaymentStatus::Approved | PaymentStatus::PartiallyRefunded | PaymentStatus::Refunded)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Created => "CREATED",
            PaymentStatus::Ready => "READY",
            PaymentStatus::Approved => "APPROVED",
            PaymentStatus::Failed => "FAILED",
            PaymentStatus::Cancelled => "CANCELLED",
            PaymentStatus::PartiallyRefunded => "PARTIALLY_REFUNDED",
            PaymentStatus::Refunded => "REFUNDED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use PaymentStatus as S;
        [S::Created, S::Ready, S::Approved, S::Failed, S::Cancelled, S::PartiallyRefunded, S::Refunded]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    #[error("a refund must be positive")]
    NotPositive,
    #[error("only {refundable} is left to refund")]
    MoreThanCaptured { refundable: i64 },
}

/// How much of `wanted` may be refunded, given what was captured and already refunded (or
/// reserved). `clamp` refunds what is left instead of refusing (booking's full refunds).
pub fn refundable(captured: i64, refunded: i64, wanted: i64, clamp: bool) -> Result<i64, RefundError> {
    let left = (captured - refunded).max(0);
    if wanted <= 0 {
        return Err(RefundError::NotPositive);
    }
    match (wanted <= left, clamp) {
        (true, _) => Ok(wanted),
        (false, true) if left > 0 => Ok(left),
        _ => Err(RefundError::MoreThanCaptured { refundable: left }),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn event() -> impl Strategy<Value = PaymentEvent> {
        prop_oneof![
            Just(PaymentEvent::Prepare),
            Just(PaymentEvent::Captured),
            Just(PaymentEvent::Declined),
            Just(PaymentEvent::Cancel),
            any::<bool>().prop_map(|rest| PaymentEvent::Refund { rest }),
        ]
    }

    proptest! {
        /// A model of the money: captured at most once, refunds only after a capture, nothing
        /// after the last refund or a cancel.
        #[test]
        fn payments_follow_the_money(events in proptest::collection::vec(event(), 0..20)) {
            let mut status = PaymentStatus::Created;
            let (mut captured, mut refunded_all, mut cancelled) = (false, false, false);
            for event in events {
                let legal = match event {
                    PaymentEvent::Prepare => !captured && !cancelled,
                    PaymentEvent::Captured | PaymentEvent::Declined => status == PaymentStatus::Ready,
                    PaymentEvent::Cancel => !captured && !cancelled,
                    PaymentEvent::Refund { .. } => captured && !refunded_all,
                };
                match status.next(event) {
                    Ok(next) => {
                        prop_assert!(legal, "{status:?} took {event:?}");
                        captured |= event == PaymentEvent::Captured;
                        refunded_all |= event == PaymentEvent::Refund { rest: true };
                        cancelled |= event == PaymentEvent::Cancel;
                        prop_assert_eq!(next.is_captured(), captured);
                        status = next;
                    }
                    Err(e) => {
                        prop_assert!(!legal, "{status:?} refused {event:?}");
                        prop_assert_eq!(e.from, status);
                    }
                }
            }
        }

        #[test]
        fn refunds_never_exceed_the_capture(captured in 0i64..1_000_000, refunded in 0i64..1_000_000, wanted in -10i64..2_000_000, clamp: bool) {
            let refunded = refunded.min(captured);
            if let Ok(amount) = refundable(captured, refunded, wanted, clamp) {
                prop_assert!(amount > 0 && refunded + amount <= captured);
            }
        }
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(PaymentStatus::parse("PARTIALLY_REFUNDED"), Some(PaymentStatus::PartiallyRefunded));
        assert_eq!(refundable(100, 30, 80, true), Ok(70));
        assert_eq!(refundable(100, 30, 80, false), Err(RefundError::MoreThanCaptured { refundable: 70 }));
    }
}
