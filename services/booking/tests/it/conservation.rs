//! A model-based property test of the hold store on real Redis: random holds, releases, sales,
//! cancellations and expiries against a plain model. After every step no seat is in two live
//! holds, the store agrees with the model on who has what, and every section conserves its
//! seats: available + held + sold = capacity (I5).

use std::{collections::HashMap, time::Duration};

use floodgate_booking::store::{HoldOutcome, HoldRequest, StoreError, Taken};
use proptest::prelude::*;
use uuid::Uuid;

use crate::support::{Booking, Rules};

#[derive(Debug, Clone)]
enum Op {
    Hold { buyer: u8, seats: Vec<u8>, ga: u32 },
    Release { hold: u8 },
    Sell { hold: u8 },
    Unsell { seat: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..4, proptest::collection::vec(0u8..12, 0..4), 0u32..4).prop_map(|(buyer, seats, ga)| Op::Hold { buyer, seats, ga }),
        2 => (0u8..16).prop_map(|hold| Op::Release { hold }),
        2 => (0u8..16).prop_map(|hold| Op::Sell { hold }),
        1 => (0u8..12).prop_map(|seat| Op::Unsell { seat }),
    ]
}

/// Seat `n` of section A (rows of 10).
fn seat(n: u8) -> String {
    format!("A-{}-{}", n / 10 + 1, n % 10 + 1)
}

#[derive(Debug, Default)]
struct Model {
    /// Live holds: id → (seats, GA places).
    holds: Vec<(Uuid, Vec<String>, u32)>,
    held: HashMap<String, Uuid>,
    sold: Vec<String>,
    ga_free: u32,
    ga_sold: u32,
}

async fn run(ops: Vec<Op>) -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let store = &b.store;
    let mut model = Model { ga_free: 50, ..Model::default() };
    for op in ops {
        match op {
            Op::Hold { buyer, seats, ga } => {
                // The store's contract: distinct seats (the hold use case refuses duplicates).
                let mut seats: Vec<String> = seats.into_iter().map(seat).collect();
                seats.sort();
                seats.dedup();
                if seats.is_empty() && ga == 0 {
                    continue;
                }
                let request = HoldRequest {
                    hold_id: Uuid::now_v7(),
                    buyer: format!("user:{buyer}"),
                    seats: seats.clone(),
                    general_admission: if ga > 0 { vec![("FLOOR".into(), ga)] } else { Vec::new() },
                    idempotency_key: String::new(),
                };
                let free = seats.iter().all(|s| !model.held.contains_key(s) && !model.sold.contains(s));
                match store.hold(b.performance, &request).await {
                    Ok(HoldOutcome::Granted(_)) => {
                        anyhow::ensure!(free && ga <= model.ga_free, "granted a hold the model refuses: {request:?}");
                        for s in &seats {
                            model.held.insert(s.clone(), request.hold_id);
                        }
                        model.ga_free -= ga;
                        model.holds.push((request.hold_id, seats, ga));
                    }
                    Err(StoreError::Taken { .. } | StoreError::GaShort { .. }) => {
                        anyhow::ensure!(!free || ga > model.ga_free, "refused a hold the model grants: {request:?}");
                    }
                    other => anyhow::bail!("unexpected {other:?}"),
                }
            }
            Op::Release { hold } => {
                if model.holds.is_empty() {
                    continue;
                }
                let (id, seats, ga) = model.holds.remove(usize::from(hold) % model.holds.len());
                let freed = store.release(b.performance, id, None).await?;
                anyhow::ensure!(freed.as_deref() == Some(seats.as_slice()), "released {freed:?}, expected {seats:?}");
                model.held.retain(|s, _| !seats.contains(s));
                model.ga_free += ga;
            }
            Op::Sell { hold } => {
                if model.holds.is_empty() {
                    continue;
                }
                let (id, seats, ga) = model.holds.remove(usize::from(hold) % model.holds.len());
                let ga_lines = if ga > 0 { vec![("FLOOR".to_owned(), ga)] } else { Vec::new() };
                store.sell(b.performance, id, "user:x", &seats, &ga_lines).await?;
                store.sell(b.performance, id, "user:x", &seats, &ga_lines).await?; // idempotent
                for s in seats {
                    model.held.remove(&s);
                    model.sold.push(s);
                }
                model.ga_sold += ga;
            }
            Op::Unsell { seat: n } => {
                let s = seat(n);
                let returned = store.unsell(b.performance, "user:x", std::slice::from_ref(&s), &[]).await?;
                let was_sold = model.sold.contains(&s);
                anyhow::ensure!((returned == 1) == was_sold, "unsell {s}: returned {returned}, sold {was_sold}");
                model.sold.retain(|x| *x != s);
            }
        }
        let view = store.view(b.performance).await?;
        for (s, taken) in &view.taken {
            let expected =
                if model.sold.contains(s) { Some(Taken::Sold) } else { model.held.get(s).map(|_| Taken::Held) };
            anyhow::ensure!(expected == Some(*taken), "{s} is {taken:?} in Redis, {expected:?} in the model");
        }
        anyhow::ensure!(view.taken.len() == model.held.len() + model.sold.len(), "taken seats differ");
        anyhow::ensure!(view.ga_available["FLOOR"] == model.ga_free, "GA places differ");
        // The counters the bus reports must match what is actually held and sold.
        let ga_held: u32 = model.holds.iter().map(|(_, _, ga)| ga).sum();
        let expected = [
            ("A", 30, model.held.len() as u32, model.sold.len() as u32),
            ("B", 11, 0, 0),
            ("FLOOR", 50, ga_held, model.ga_sold),
        ];
        for (section, capacity, held, sold) in expected {
            let counts = view.counts[section];
            anyhow::ensure!(
                (counts.capacity, counts.held, counts.sold) == (capacity, held, sold),
                "section {section}: counted {counts:?}, really {held} held and {sold} sold of {capacity}"
            );
            anyhow::ensure!(counts.available() + counts.held + counts.sold == counts.capacity, "I5 in {section}");
        }
        anyhow::ensure!(view.ga_available["FLOOR"] + ga_held + model.ga_sold == 50, "GA places leak");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn the_store_matches_the_model_and_conserves_seats(ops in proptest::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outcome = runtime.block_on(async { tokio::time::timeout(Duration::from_secs(60), run(ops)).await });
        prop_assert!(matches!(outcome, Ok(Ok(()))), "{outcome:?}");
    }
}
