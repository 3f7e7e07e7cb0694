//! The checker, after Jepsen's bank test: from the history and the final state (the services'
//! databases, the simulated provider's own ledger, the topics) it decides whether the run kept
//! the invariants of DESIGN.md, and names the evidence when it did not.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::history::{Entry, Kind, Op};

/// What the platform holds at the end of a run (after holds had time to expire).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FinalState {
    /// Booking's seat counts per section.
    pub sections: Vec<SectionCount>,
    pub tickets: Vec<Ticket>,
    pub orders: Vec<Order>,
    /// Payment's view of each order's money.
    pub payments: Vec<Payment>,
    /// The provider's own ledger: what was really captured and refunded, per order.
    pub ledger: Vec<LedgerEntry>,
    /// Orders with an `OrderConfirmed` event on the booking topic.
    pub confirmed_events: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionCount {
    pub section_id: String,
    pub capacity: u64,
    pub available: u64,
    pub held: u64,
    pub sold: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub ticket_id: String,
    pub order_id: String,
    pub section_id: String,
    /// None for general admission.
    pub seat_id: Option<String>,
    /// Issued and not cancelled.
    pub live: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub order_id: String,
    /// `pending_payment`, `confirmed`, `expired`, `cancelled`, `rejected`, `partially_cancelled`.
    pub status: String,
    pub total_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub order_id: String,
    pub status: String,
    pub captured_minor: i64,
    pub refunded_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub order_id: String,
    pub captured_minor: i64,
    pub refunded_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "evidence", rename_all = "snake_case")]
pub enum Outcome {
    Held,
    Violated(Vec<String>),
    /// Not decidable from this run (e.g. liveness without a fault schedule).
    NotChecked(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub invariant: &'static str,
    pub title: &'static str,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub checks: Vec<Check>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| !matches!(c.outcome, Outcome::Violated(_)))
    }

    pub fn violations(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.checks.iter().flat_map(|c| match &c.outcome {
            Outcome::Violated(evidence) => evidence.iter().map(|e| (c.invariant, e.as_str())).collect::<Vec<_>>(),
            _ => Vec::new(),
        })
    }
}

/// At most this much evidence per invariant: enough to act on, not a flood.
const EVIDENCE: usize = 20;

fn outcome(mut evidence: Vec<String>) -> Outcome {
    if evidence.is_empty() {
        return Outcome::Held;
    }
    let more = evidence.len().saturating_sub(EVIDENCE);
    evidence.truncate(EVIDENCE);
    if more > 0 {
        evidence.push(format!("… and {more} more"));
    }
    Outcome::Violated(evidence)
}

pub fn check(history: &[Entry], state: &FinalState) -> Verdict {
    let checks = vec![
        Check { invariant: "I1", title: "no oversell", outcome: no_oversell(state) },
        Check { invariant: "I2", title: "no double charge", outcome: no_double_charge(state) },
        Check { invariant: "I3", title: "no lost paid order", outcome: no_lost_paid_order(state) },
        Check { invariant: "I4", title: "acknowledged means durable", outcome: acknowledged_durable(history, state) },
        Check { invariant: "I5", title: "seat conservation", outcome: seat_conservation(state) },
        Check { invariant: "I6", title: "legal states", outcome: legal_states(state) },
        Check { invariant: "I7", title: "events delivered", outcome: events_delivered(state) },
        Check { invariant: "I8", title: "admission integrity", outcome: admission_integrity(history) },
        Check {
            invariant: "I9",
            title: "liveness after faults",
            outcome: Outcome::NotChecked("no fault schedule in this run".into()),
        },
    ];
    Verdict { checks }
}

/// I1: at most one live ticket per seat; live tickets per section within its capacity.
fn no_oversell(state: &FinalState) -> Outcome {
    let mut evidence = Vec::new();
    let mut per_seat: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut per_section: HashMap<&str, u64> = HashMap::new();
    for ticket in state.tickets.iter().filter(|t| t.live) {
        *per_section.entry(&ticket.section_id).or_default() += 1;
        if let Some(seat) = &ticket.seat_id {
            per_seat.entry(seat).or_default().push(&ticket.ticket_id);
        }
    }
    for (seat, tickets) in per_seat.iter().filter(|(_, t)| t.len() > 1) {
        evidence.push(format!("seat {seat} has {} live tickets: {}", tickets.len(), tickets.join(", ")));
    }
    for section in &state.sections {
        let live = per_section.get(section.section_id.as_str()).copied().unwrap_or(0);
        if live > section.capacity || section.sold > section.capacity {
            evidence.push(format!(
                "section {}: {live} live tickets and {} sold for a capacity of {}",
                section.section_id, section.sold, section.capacity
            ));
        }
    }
    outcome(evidence)
}

/// I2: per order, what the provider captured minus refunded is nothing or the order's price; and
/// payment's books agree with the provider's.
fn no_double_charge(state: &FinalState) -> Outcome {
    let totals: HashMap<&str, i64> = state.orders.iter().map(|o| (o.order_id.as_str(), o.total_minor)).collect();
    let mut evidence = Vec::new();
    for entry in &state.ledger {
        let net = entry.captured_minor - entry.refunded_minor;
        match totals.get(entry.order_id.as_str()) {
            Some(total) if net == 0 || net == *total => {}
            Some(total) => evidence.push(format!("order {}: net charge {net}, price {total}", entry.order_id)),
            None => evidence.push(format!("the provider charged {net} for unknown order {}", entry.order_id)),
        }
    }
    let books: HashMap<&str, &Payment> = state.payments.iter().map(|p| (p.order_id.as_str(), p)).collect();
    for entry in &state.ledger {
        match books.get(entry.order_id.as_str()) {
            Some(p) if p.captured_minor == entry.captured_minor && p.refunded_minor == entry.refunded_minor => {}
            Some(p) => evidence.push(format!(
                "order {}: payment says captured {} refunded {}, the provider {} and {}",
                entry.order_id, p.captured_minor, p.refunded_minor, entry.captured_minor, entry.refunded_minor
            )),
            None => evidence.push(format!("order {}: the provider has money payment has no record of", entry.order_id)),
        }
    }
    outcome(evidence)
}

/// I3: money kept by the provider (captured, not refunded) always bought a confirmed order.
fn no_lost_paid_order(state: &FinalState) -> Outcome {
    let statuses: HashMap<&str, &str> = state.orders.iter().map(|o| (o.order_id.as_str(), o.status.as_str())).collect();
    let evidence = state
        .ledger
        .iter()
        .filter(|e| e.captured_minor - e.refunded_minor > 0)
        .filter(|e| statuses.get(e.order_id.as_str()) != Some(&"confirmed"))
        .map(|e| {
            format!(
                "order {} was paid {} and not refunded, but is {}",
                e.order_id,
                e.captured_minor - e.refunded_minor,
                statuses.get(e.order_id.as_str()).copied().unwrap_or("missing")
            )
        })
        .collect();
    outcome(evidence)
}

/// I4: every confirmation a buyer saw is still confirmed (unless that buyer cancelled it later).
fn acknowledged_durable(history: &[Entry], state: &FinalState) -> Outcome {
    let statuses: HashMap<&str, &str> = state.orders.iter().map(|o| (o.order_id.as_str(), o.status.as_str())).collect();
    let cancelled: BTreeSet<&str> = history
        .iter()
        .filter(|e| e.op == Op::Cancel && e.kind == Kind::Ok)
        .filter_map(|e| e.field("order_id"))
        .collect();
    let evidence = history
        .iter()
        .filter(|e| e.op == Op::Confirmed && e.kind == Kind::Ok)
        .filter_map(|e| e.field("order_id").map(|id| (e.buyer, id)))
        .filter(|(_, id)| !cancelled.contains(id) && statuses.get(id) != Some(&"confirmed"))
        .map(|(buyer, id)| {
            format!(
                "buyer {buyer} saw order {id} confirmed; it is now {}",
                statuses.get(id).copied().unwrap_or("missing")
            )
        })
        .collect();
    outcome(evidence)
}

/// I5: available + held + sold = capacity in every section, and nothing is held once holds expired.
fn seat_conservation(state: &FinalState) -> Outcome {
    let evidence = state
        .sections
        .iter()
        .filter(|s| s.available + s.held + s.sold != s.capacity || s.held > 0)
        .map(|s| {
            format!(
                "section {}: {} available + {} held + {} sold, capacity {}",
                s.section_id, s.available, s.held, s.sold, s.capacity
            )
        })
        .collect();
    outcome(evidence)
}

/// I6: final states are ones the state machines allow, and they agree across services: a
/// confirmed order was paid; a ticket belongs to a confirmed or (partly) cancelled order.
fn legal_states(state: &FinalState) -> Outcome {
    // The services' status names, lower-cased as the public API shows them.
    const ORDER: [&str; 6] =
        ["pending_payment", "confirmed", "expired", "cancelled", "rejected", "partially_cancelled"];
    const PAYMENT: [&str; 7] =
        ["created", "ready", "approved", "failed", "cancelled", "partially_refunded", "refunded"];
    let mut evidence = Vec::new();
    let orders: HashMap<&str, &Order> = state.orders.iter().map(|o| (o.order_id.as_str(), o)).collect();
    let paid: HashMap<&str, i64> = state.ledger.iter().map(|e| (e.order_id.as_str(), e.captured_minor)).collect();
    for order in &state.orders {
        if !ORDER.contains(&order.status.as_str()) {
            evidence.push(format!("order {} is in unknown state {}", order.order_id, order.status));
        }
        if order.status == "confirmed"
            && order.total_minor > 0
            && paid.get(order.order_id.as_str()).copied().unwrap_or(0) == 0
        {
            evidence.push(format!("order {} is confirmed but the provider captured nothing", order.order_id));
        }
    }
    for payment in state.payments.iter().filter(|p| !PAYMENT.contains(&p.status.as_str())) {
        evidence.push(format!("payment of order {} is in unknown state {}", payment.order_id, payment.status));
    }
    for ticket in state.tickets.iter().filter(|t| t.live) {
        match orders.get(ticket.order_id.as_str()).map(|o| o.status.as_str()) {
            Some("confirmed" | "partially_cancelled") => {}
            other => evidence.push(format!(
                "live ticket {} belongs to order {} which is {}",
                ticket.ticket_id,
                ticket.order_id,
                other.unwrap_or("missing")
            )),
        }
    }
    outcome(evidence)
}

/// I7: every confirmed order's event reached the bus.
fn events_delivered(state: &FinalState) -> Outcome {
    let evidence = state
        .orders
        .iter()
        .filter(|o| o.status == "confirmed" && !state.confirmed_events.contains(&o.order_id))
        .map(|o| format!("order {} is confirmed but no OrderConfirmed is on the topic", o.order_id))
        .collect();
    outcome(evidence)
}

/// I8: no buyer held seats without having been admitted first.
fn admission_integrity(history: &[Entry]) -> Outcome {
    let mut admitted: HashMap<u32, u64> = HashMap::new();
    for entry in history.iter().filter(|e| e.op == Op::Admitted && e.kind == Kind::Ok) {
        let at = admitted.entry(entry.buyer).or_insert(entry.at_us);
        *at = (*at).min(entry.at_us);
    }
    let evidence = history
        .iter()
        .filter(|e| e.op == Op::Hold && e.kind == Kind::Ok)
        .filter(|e| admitted.get(&e.buyer).is_none_or(|at| *at > e.at_us))
        .map(|e| format!("buyer {} held {} without an admission", e.buyer, e.value))
        .collect();
    outcome(evidence)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry(buyer: u32, op: Op, kind: Kind, at_us: u64, value: serde_json::Value) -> Entry {
        Entry { buyer, op, kind, intended_us: at_us, at_us, code: None, value }
    }

    /// Two buyers: one bought seat A-1-1 and saw it confirmed; one was declined and refunded.
    fn clean_run() -> (Vec<Entry>, FinalState) {
        let history = vec![
            entry(1, Op::Admitted, Kind::Ok, 10, json!({})),
            entry(1, Op::Hold, Kind::Ok, 20, json!({"seats": ["A-1-1"]})),
            entry(1, Op::Confirmed, Kind::Ok, 90, json!({"order_id": "o1"})),
            entry(2, Op::Admitted, Kind::Ok, 15, json!({})),
            entry(2, Op::Hold, Kind::Ok, 25, json!({"seats": ["A-1-2"]})),
        ];
        let state = FinalState {
            sections: vec![SectionCount { section_id: "A".into(), capacity: 2, available: 1, held: 0, sold: 1 }],
            tickets: vec![Ticket {
                ticket_id: "t1".into(),
                order_id: "o1".into(),
                section_id: "A".into(),
                seat_id: Some("A-1-1".into()),
                live: true,
            }],
            orders: vec![
                Order { order_id: "o1".into(), status: "confirmed".into(), total_minor: 50_000 },
                Order { order_id: "o2".into(), status: "rejected".into(), total_minor: 50_000 },
            ],
            payments: vec![
                Payment { order_id: "o1".into(), status: "approved".into(), captured_minor: 50_000, refunded_minor: 0 },
                Payment {
                    order_id: "o2".into(),
                    status: "refunded".into(),
                    captured_minor: 50_000,
                    refunded_minor: 50_000,
                },
            ],
            ledger: vec![
                LedgerEntry { order_id: "o1".into(), captured_minor: 50_000, refunded_minor: 0 },
                LedgerEntry { order_id: "o2".into(), captured_minor: 50_000, refunded_minor: 50_000 },
            ],
            confirmed_events: BTreeSet::from(["o1".to_owned()]),
        };
        (history, state)
    }

    fn violated(verdict: &Verdict, invariant: &str) -> Vec<String> {
        verdict.violations().filter(|(i, _)| *i == invariant).map(|(_, e)| e.to_owned()).collect()
    }

    #[test]
    fn a_clean_run_passes_every_invariant() {
        let (history, state) = clean_run();
        let verdict = check(&history, &state);
        assert!(verdict.passed(), "{verdict:?}");
        assert_eq!(verdict.checks.len(), 9);
        assert!(matches!(verdict.checks[8].outcome, Outcome::NotChecked(_)));
    }

    #[test]
    fn a_planted_oversell_is_caught_with_its_seat_and_tickets() {
        let (history, mut state) = clean_run();
        state.tickets.push(Ticket {
            ticket_id: "t2".into(),
            order_id: "o1".into(),
            section_id: "A".into(),
            seat_id: Some("A-1-1".into()),
            live: true,
        });
        let verdict = check(&history, &state);
        assert!(!verdict.passed());
        assert_eq!(violated(&verdict, "I1"), vec!["seat A-1-1 has 2 live tickets: t1, t2".to_owned()]);
    }

    #[test]
    fn a_planted_lost_paid_order_is_caught() {
        let (history, mut state) = clean_run();
        // The provider kept o3's money; booking never confirmed it and nobody refunded it.
        state.orders.push(Order { order_id: "o3".into(), status: "expired".into(), total_minor: 50_000 });
        state.payments.push(Payment {
            order_id: "o3".into(),
            status: "approved".into(),
            captured_minor: 50_000,
            refunded_minor: 0,
        });
        state.ledger.push(LedgerEntry { order_id: "o3".into(), captured_minor: 50_000, refunded_minor: 0 });
        let verdict = check(&history, &state);
        assert_eq!(
            violated(&verdict, "I3"),
            vec!["order o3 was paid 50000 and not refunded, but is expired".to_owned()]
        );
    }

    #[test]
    fn double_charges_lost_acknowledgements_leaks_and_bypasses_are_named() {
        let (mut history, mut state) = clean_run();
        state.ledger[0].captured_minor = 100_000;
        state.orders[0].status = "cancelled".into();
        state.sections[0].held = 1;
        history.push(entry(3, Op::Hold, Kind::Ok, 30, json!({"seats": ["A-1-2"]})));
        let verdict = check(&history, &state);
        for invariant in ["I2", "I3", "I4", "I5", "I6", "I8"] {
            assert!(!violated(&verdict, invariant).is_empty(), "{invariant} not caught: {verdict:?}");
        }
        assert!(violated(&verdict, "I4")[0].contains("buyer 1 saw order o1 confirmed; it is now cancelled"));
    }

    #[test]
    fn a_confirmed_order_without_its_event_is_caught() {
        let (history, mut state) = clean_run();
        state.confirmed_events.clear();
        assert_eq!(violated(&check(&history, &state), "I7").len(), 1);
    }
}
