//! The order state machine. Every legal edge is listed in [`OrderStatus::next`]; anything else is
//! an [`IllegalTransition`], so a late or duplicated event can never walk an order backwards.
//!
//! ```text
//! PendingPayment ──approved, seats still ours──▶ Confirmed ──cancel some──▶ PartiallyCancelled
//!        │  ├─approved, a seat was lost──────▶ Rejected        │ cancel all        │ cancel rest
//!        │  ├─deadline passed────────────────▶ Expired ─┐      ▼                   ▼
//!        │  └─buyer cancelled────────────────▶ Cancelled◀──────┴───────────────────┘
//!        └ Expired / Cancelled(unpaid) ──late approval──▶ Rejected (refund)
//! ```

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    PendingPayment,
    Confirmed,
    Rejected,
    Expired,
    Cancelled,
    PartiallyCancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderEvent {
    /// Payment settled; `seats_kept` says whether every seat could still be ticketed.
    PaymentApproved {
        seats_kept: bool,
    },
    DeadlinePassed,
    /// The buyer cancels; `rest` is true when no live line would remain.
    Cancel {
        rest: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from:?} cannot take {event:?}")]
pub struct IllegalTransition {
    pub from: OrderStatus,
    pub event: OrderEvent,
}

/// What the transitions depend on: the status, and whether money was taken for the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderState {
    pub status: OrderStatus,
    pub paid: bool,
}

impl OrderState {
    pub fn new() -> Self {
        Self { status: OrderStatus::PendingPayment, paid: false }
    }

    /// Every legal edge; everything else is refused.
    pub fn next(self, event: OrderEvent) -> Result<OrderState, IllegalTransition> {
        use {OrderEvent as E, OrderStatus as S};
        let illegal = Err(IllegalTransition { from: self.status, event });
        let status = match (self.status, event) {
            // An order is paid once; a second approval is a duplicate the caller absorbs.
            (_, E::PaymentApproved { .. }) if self.paid => return illegal,
            (S::PendingPayment, E::PaymentApproved { seats_kept: true }) => S::Confirmed,
            (S::PendingPayment, E::PaymentApproved { seats_kept: false }) => S::Rejected,
            // Money arrived for an order that no longer holds seats: it is refunded in full.
            (S::Expired | S::Cancelled, E::PaymentApproved { .. }) => S::Rejected,
            (S::PendingPayment, E::DeadlinePassed) => S::Expired,
            // Unpaid orders are cancelled whole.
            (S::PendingPayment, E::Cancel { rest: true }) => S::Cancelled,
            (S::Confirmed | S::PartiallyCancelled, E::Cancel { rest: true }) => S::Cancelled,
            (S::Confirmed | S::PartiallyCancelled, E::Cancel { rest: false }) => S::PartiallyCancelled,
            _ => return illegal,
        };
        Ok(OrderState { status, paid: self.paid || matches!(event, E::PaymentApproved { .. }) })
    }
}

impl Default for OrderState {
    fn default() -> Self {
        Self::new()
    }
}

impl OrderStatus {
    /// No seat is held or sold for the order any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderStatus::Rejected | OrderStatus::Expired | OrderStatus::Cancelled)
    }

    /// Tickets exist for the order.
    pub fn has_tickets(self) -> bool {
        matches!(self, OrderStatus::Confirmed | OrderStatus::PartiallyCancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::PendingPayment => "PENDING_PAYMENT",
            OrderStatus::Confirmed => "CONFIRMED",
            OrderStatus::Rejected => "REJECTED",
            OrderStatus::Expired => "EXPIRED",
            OrderStatus::Cancelled => "CANCELLED",
            OrderStatus::PartiallyCancelled => "PARTIALLY_CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            OrderStatus::PendingPayment,
            OrderStatus::Confirmed,
            OrderStatus::Rejected,
            OrderStatus::Expired,
            OrderStatus::Cancelled,
            OrderStatus::PartiallyCancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn event() -> impl Strategy<Value = OrderEvent> {
        prop_oneof![
            any::<bool>().prop_map(|seats_kept| OrderEvent::PaymentApproved { seats_kept }),
            Just(OrderEvent::DeadlinePassed),
            any::<bool>().prop_map(|rest| OrderEvent::Cancel { rest }),
        ]
    }

    /// A model of the order written from the product rules, not from the table above: money is
    /// either turned into tickets or refunded; tickets exist only after a kept approval.
    #[derive(Debug, Default)]
    struct Model {
        paid: bool,
        tickets: bool,
        ended: bool,
        rejected: bool,
    }

    proptest! {
        #[test]
        fn orders_follow_the_product_rules(events in proptest::collection::vec(event(), 0..16)) {
            let mut state = OrderState::new();
            let mut model = Model::default();
            for event in events {
                let before = state.status;
                match state.next(event) {
                    Ok(next) => {
                        match event {
                            OrderEvent::PaymentApproved { seats_kept } => {
                                prop_assert!(!model.paid, "paid twice");
                                model.paid = true;
                                model.tickets = seats_kept && !model.ended;
                                model.rejected = !model.tickets;
                                model.ended |= model.rejected;
                            }
                            OrderEvent::DeadlinePassed => {
                                prop_assert!(!model.paid && !model.ended);
                                model.ended = true;
                            }
                            OrderEvent::Cancel { rest } => {
                                prop_assert!(!model.ended && (model.tickets || (!model.paid && rest)));
                                model.ended = rest;
                            }
                        }
                        prop_assert_eq!(next.status.has_tickets(), model.tickets && !model.ended, "{:?} -> {:?}", before, next);
                        prop_assert_eq!(next.status == OrderStatus::Rejected, model.rejected);
                        prop_assert_eq!(next.status.is_terminal(), model.ended);
                        prop_assert_eq!(next.paid, model.paid);
                        state = next;
                    }
                    Err(err) => {
                        prop_assert_eq!(err.from, before);
                        // Refused only what the model refuses too.
                        let legal = match event {
                            OrderEvent::PaymentApproved { .. } => !model.paid,
                            OrderEvent::DeadlinePassed => !model.paid && !model.ended,
                            // Unpaid orders are cancelled whole.
                            OrderEvent::Cancel { rest } => !model.ended && (model.tickets || (!model.paid && rest)),
                        };
                        prop_assert!(!legal, "{:?} refused {:?}", before, event);
                    }
                }
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for status in [OrderStatus::PendingPayment, OrderStatus::PartiallyCancelled, OrderStatus::Rejected] {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
    }
}
