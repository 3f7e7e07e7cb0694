//! The life of a seat hold. The Redis scripts in `store/` carry it out atomically; this module
//! is the specification they follow, listed edge by edge.
//!
//! A hold is `Held` from the moment the script grants it; checkout moves it to `CheckedOut`
//! (its expiry pushed to the payment deadline); it ends `Sold`, `Released` or `Expired`. Ended
//! holds never come back: a seat freed by an ended hold can only be held again by a new hold
//! with a higher fencing token.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldState {
    Held,
    CheckedOut,
    Sold,
    Released,
    Expired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoldEvent {
    Checkout,
    Sell,
    Release,
    TtlElapsed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from:?} hold cannot take {event:?}")]
pub struct IllegalHoldTransition {
    pub from: HoldState,
    pub event: HoldEvent,
}

impl HoldState {
    /// Every legal edge; everything else is refused.
    pub fn next(self, event: HoldEvent) -> Result<HoldState, IllegalHoldTransition> {
        use {HoldEvent as E, HoldState as S};
        match (self, event) {
            (S::Held, E::Checkout) => Ok(S::CheckedOut),
            // Sold only through an order, which needs a checkout first.
            (S::CheckedOut, E::Sell) => Ok(S::Sold),
            (S::Held | S::CheckedOut, E::Release) => Ok(S::Released),
            (S::Held | S::CheckedOut, E::TtlElapsed) => Ok(S::Expired),
            (from, event) => Err(IllegalHoldTransition { from, event }),
        }
    }

    pub fn is_live(self) -> bool {
        matches!(self, HoldState::Held | HoldState::CheckedOut)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn event() -> impl Strategy<Value = HoldEvent> {
        prop_oneof![
            Just(HoldEvent::Checkout),
            Just(HoldEvent::Sell),
            Just(HoldEvent::Release),
            Just(HoldEvent::TtlElapsed)
        ]
    }

    proptest! {
        /// Ended holds stay ended, and a seat is sold only after a checkout.
        #[test]
        fn ended_holds_never_revive(events in proptest::collection::vec(event(), 0..12)) {
            let mut state = HoldState::Held;
            let mut checked_out = false;
            for e in events {
                match state.next(e) {
                    Ok(next) => {
                        prop_assert!(state.is_live(), "{state:?} moved to {next:?}");
                        if next == HoldState::CheckedOut { checked_out = true; }
                        if next == HoldState::Sold { prop_assert!(checked_out); }
                        state = next;
                    }
                    Err(err) => prop_assert_eq!(err.from, state),
                }
            }
        }
    }

    #[test]
    fn a_held_seat_cannot_be_sold_without_an_order() {
        assert!(HoldState::Held.next(HoldEvent::Sell).is_err());
        assert_eq!(HoldState::CheckedOut.next(HoldEvent::Sell), Ok(HoldState::Sold));
    }
}
