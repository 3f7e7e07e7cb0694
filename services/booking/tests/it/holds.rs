//! Holds on real Redis: all-or-nothing, one winner per seat, limits, expiry and the sweeper,
//! best available, admission, and seat conservation.

use std::{sync::Arc, time::Duration};

use floodgate_booking::{
    domain::best_available::Wanted,
    error::BookingError,
    holds::Holds,
    store::{StoreError, Taken},
};
use floodgate_testkit::eventually;
use futures::future::join_all;

use crate::support::{Booking, Rules, member, now};

#[tokio::test]
async fn a_hold_takes_every_seat_or_none() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let alice = member("alice");
    b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-1-1", "A-1-2"], &[]), now()).await?;
    let bob = member("bob");
    let refused = b.holds.hold(b.performance, &bob, b.wanted(&bob, &["A-1-2", "A-1-3"], &[("FLOOR", 2)]), now()).await;
    match refused {
        Err(BookingError::Store(StoreError::Taken { seats })) => assert_eq!(seats, ["A-1-2"]),
        other => panic!("expected SEAT_TAKEN, got {other:?}"),
    }
    // Nothing of the refused hold stuck: A-1-3 and the floor places are still free.
    let view = b.holds.view(b.performance).await?;
    assert!(!view.taken.contains_key("A-1-3"));
    assert_eq!(view.ga_available["FLOOR"], 50);
    assert_eq!(view.counts["A"].held, 2);
    let unknown = b.holds.hold(b.performance, &bob, b.wanted(&bob, &["A-9-9"], &[]), now()).await;
    assert!(matches!(unknown, Err(BookingError::Store(StoreError::Unknown(seat))) if seat == "A-9-9"));
    let blocked = b.holds.hold(b.performance, &bob, b.wanted(&bob, &["B-1-1"], &[]), now()).await;
    assert!(matches!(blocked, Err(BookingError::Store(StoreError::Unknown(_)))), "blocked seats are never sold");
    Ok(())
}

#[tokio::test]
async fn a_thousand_buyers_on_one_seat_make_exactly_one_winner() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    for round in 0..2 {
        let seat = format!("A-2-{}", round + 5);
        let attempts = (0..1000).map(|i| {
            let buyer = member(&format!("buyer-{round}-{i}"));
            let wanted = b.wanted(&buyer, &[seat.as_str()], &[]);
            let holds = b.holds.clone();
            let performance = b.performance;
            async move { holds.hold(performance, &buyer, wanted, now()).await }
        });
        let results = join_all(attempts).await;
        let winners = results.iter().filter(|r| r.is_ok()).count();
        let taken = results.iter().filter(|r| matches!(r, Err(BookingError::Store(StoreError::Taken { .. })))).count();
        let other: Vec<String> = results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .filter(|e| !matches!(e, BookingError::Store(StoreError::Taken { .. })))
            .map(|e| floodgate_telemetry::error_chain(e).to_string())
            .take(3)
            .collect();
        assert_eq!((winners, taken), (1, 999), "round {round}: {other:?}");
    }
    Ok(())
}

#[tokio::test]
async fn the_per_buyer_limit_counts_every_live_hold() -> anyhow::Result<()> {
    let b = Booking::new(Rules { per_buyer_limit: 4, ..Rules::default() }).await?;
    let alice = member("alice");
    let first =
        b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-1-1", "A-1-2"], &[("FLOOR", 1)]), now()).await?;
    let over = b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-1-3", "A-1-4"], &[]), now()).await;
    assert!(matches!(over, Err(BookingError::Store(StoreError::Limit { current: 3, limit: 4 }))), "{over:?}");
    b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-1-3"], &[]), now()).await?;
    // Releasing gives the allowance back, at once.
    assert!(b.holds.release(b.performance, first.hold_id, &alice.key()).await?);
    assert!(!b.holds.release(b.performance, first.hold_id, &alice.key()).await?, "release is idempotent");
    b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-1-1", "A-1-2", "A-1-4"], &[]), now()).await?;
    Ok(())
}

#[tokio::test]
async fn expired_holds_free_their_seats_and_the_sweeper_returns_the_rest() -> anyhow::Result<()> {
    let b =
        Booking::new(Rules { hold_ttl: Duration::from_millis(400), per_buyer_limit: 3, ..Rules::default() }).await?;
    let alice = member("alice");
    let hold = b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-1-5"], &[("FLOOR", 2)]), now()).await?;
    assert_eq!(b.holds.view(b.performance).await?.ga_available["FLOOR"], 48);
    // The seat frees itself by TTL: another buyer gets it without any sweep.
    let bob = member("bob");
    let taken = eventually(Duration::from_secs(5), "the hold to expire", || {
        let (holds, wanted, bob) = (b.holds.clone(), b.wanted(&bob, &["A-1-5"], &[]), bob.clone());
        async move { anyhow::Ok(holds.hold(b.performance, &bob, wanted, now()).await.ok()) }
    })
    .await?;
    assert!(taken.fence > hold.fence, "fencing tokens only grow");
    // The sweeper returns the GA places and alice's allowance, and tells the bus.
    let swept = b.store.sweep(b.performance, 100).await?;
    // Bob's hold is the one left: the relay visits this performance again when it runs out.
    let bobs = b.store.record(b.performance, taken.hold_id).await?.map(|r| r.expires_at);
    assert!(bobs.is_some());
    assert_eq!(swept.next_expiry, bobs);
    let view = b.holds.view(b.performance).await?;
    assert_eq!(view.ga_available["FLOOR"], 50);
    assert_eq!(view.taken.get("A-1-5"), Some(&Taken::Held));
    let pending = b.store.pending_events(b.performance, 100).await?;
    let kinds: Vec<&str> = pending.iter().map(|e| e.fields["type"].as_str()).collect();
    // Bob's hold script ended the expired hold on its way (before the sweeper got there).
    assert_eq!(kinds, ["held", "expired", "held"]);
    // Whose hold lapsed travels with it: the waiting room gives that shopper's slot away.
    assert_eq!(pending[1].fields.get("buyer"), Some(&alice.key()));
    b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-1-6", "A-1-7", "A-1-8"], &[]), now()).await?;
    // I5: the counters follow the seats — bob's one and alice's three held, the floor all free.
    let counts = b.holds.view(b.performance).await?.counts;
    assert_eq!((counts["A"].held, counts["A"].available()), (4, 26));
    assert_eq!((counts["FLOOR"].held, counts["FLOOR"].available()), (0, 50));
    Ok(())
}

#[tokio::test]
async fn best_available_keeps_a_party_together_and_strands_no_one() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let alice = member("alice");
    // Front row: leave a gap of three in the middle (4,5,6 free).
    let taken: Vec<String> = [1, 2, 3, 7, 8, 9, 10].iter().map(|n| format!("A-1-{n}")).collect();
    let refs: Vec<&str> = taken.iter().map(String::as_str).collect();
    b.holds.hold(b.performance, &alice, b.wanted(&alice, &refs, &[]), now()).await?;
    let bob = member("bob");
    let wanted = Wanted { quantity: 2, grade: Some("R"), section: None, accessible: false };
    let pair = b.holds.hold_best(b.performance, &bob, &wanted, &b.token(&bob), "", now()).await?;
    // Two of the three front seats would strand one: the pair goes to row 2, centre.
    assert_eq!(pair.seats, ["A-2-4", "A-2-5"]);
    let carol = member("carol");
    let three = Wanted { quantity: 3, grade: Some("R"), section: None, accessible: false };
    let trio = b.holds.hold_best(b.performance, &carol, &three, &b.token(&carol), "", now()).await?;
    assert_eq!(trio.seats, ["A-1-4", "A-1-5", "A-1-6"]);
    let vip = Wanted { quantity: 20, grade: Some("VIP"), section: None, accessible: false };
    let too_many = b.holds.hold_best(b.performance, &carol, &vip, &b.token(&carol), "", now()).await;
    assert!(matches!(too_many, Err(BookingError::NoSeatsTogether { .. })), "{too_many:?}");
    Ok(())
}

/// The first seconds of an on-sale: every best-available buyer reads the same view and wants the
/// same best seat. Each must still get a seat while seats remain — not "no seats together"
/// after losing the same race five times.
#[tokio::test]
async fn buyers_choosing_best_available_at_once_all_get_seats() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let buyers: Vec<_> = (0..12).map(|i| member(&format!("buyer-{i}"))).collect();
    let one = Wanted { quantity: 1, grade: Some("R"), section: None, accessible: false };
    let holds = join_all(buyers.iter().map(|buyer| {
        let (b, one, token) = (&b, &one, b.token(buyer));
        async move { b.holds.hold_best(b.performance, buyer, one, &token, "", now()).await }
    }))
    .await;
    let mut seats: Vec<String> = holds.into_iter().map(|h| h.map(|h| h.seats)).collect::<Result<Vec<_>, _>>()?.concat();
    seats.sort();
    seats.dedup();
    assert_eq!(seats.len(), 12, "every buyer a seat of their own");
    Ok(())
}

/// Best-available chooses around a view up to a moment old. Seats another booking replica held
/// in that moment are refused by the hold script, and the buyer must still get free seats, chosen
/// from a fresh view — not "no seats together" after choosing the same lost seat again.
#[tokio::test]
async fn seats_another_replica_just_held_are_chosen_around() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let verifier = Arc::new(floodgate_admission::Verifier::new([b.key.public()]));
    let other_replica = Holds::new(b.holds.inventories().clone(), verifier);
    let one = Wanted { quantity: 1, grade: Some("R"), section: None, accessible: false };
    let hold = |holds: &Holds, name: &str| {
        let (buyer, holds) = (member(name), holds.clone());
        let (token, performance, one) = (b.token(&buyer), b.performance, one);
        async move { holds.hold_best(performance, &buyer, &one, &token, "", now()).await.map(|h| h.seats) }
    };
    // Alice's hold leaves this replica with a view of the map as it was before anyone held.
    let alice = hold(&b.holds, "alice").await?;
    let bob = hold(&other_replica, "bob").await?;
    let carol = hold(&b.holds, "carol").await?;
    assert!(alice.iter().chain(&bob).all(|seat| !carol.contains(seat)), "{alice:?} {bob:?} {carol:?}");
    let view = b.holds.view(b.performance).await?;
    assert_eq!(view.taken.len(), 3, "three buyers, one seat each: {:?}", view.taken);
    Ok(())
}

#[tokio::test]
async fn no_hold_without_a_valid_admission_token() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let alice = member("alice");
    let bob = member("bob");
    let mut wanted = b.wanted(&alice, &["A-1-1"], &[]);
    for token in [String::new(), "v1.k1.forged.sig".to_owned(), b.token(&bob)] {
        wanted.admission_token = token;
        let refused = b.holds.hold(b.performance, &alice, wanted.clone(), now()).await;
        assert!(matches!(refused, Err(BookingError::Admission(_))), "{refused:?}");
    }
    let other_sale = b.key.issue(&floodgate_admission::Claims::admit(
        &uuid::Uuid::now_v7().to_string(),
        &alice.key(),
        now(),
        chrono::Duration::minutes(5),
    ));
    wanted.admission_token = other_sale;
    assert!(b.holds.hold(b.performance, &alice, wanted.clone(), now()).await.is_err());
    let expired = b.key.issue(&floodgate_admission::Claims::admit(
        &b.performance.to_string(),
        &alice.key(),
        now() - chrono::Duration::minutes(20),
        chrono::Duration::minutes(5),
    ));
    wanted.admission_token = expired;
    assert!(matches!(
        b.holds.hold(b.performance, &alice, wanted, now()).await,
        Err(BookingError::Admission(floodgate_admission::TokenError::Expired { .. }))
    ));
    Ok(())
}

#[tokio::test]
async fn a_redis_that_lost_everything_is_reseeded_from_postgres() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    b.lose_redis().await?;
    let alice = member("alice");
    let hold = b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-3-3"], &[]), now()).await?;
    assert!(hold.fence > 1_000_000, "fencing restarts from the clock, not from zero: {}", hold.fence);
    Ok(())
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_hold() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let alice = member("alice");
    let mut wanted = b.wanted(&alice, &["A-3-9"], &[]);
    wanted.idempotency_key = "tap-1".into();
    let first = b.holds.hold(b.performance, &alice, wanted.clone(), now()).await?;
    let again = b.holds.hold(b.performance, &alice, wanted.clone(), now()).await?;
    assert_eq!((again.hold_id, again.fence), (first.hold_id, first.fence));
    // Another buyer's identical key is theirs alone.
    let bob = member("bob");
    let mut theirs = b.wanted(&bob, &["A-3-10"], &[]);
    theirs.idempotency_key = "tap-1".into();
    assert_ne!(b.holds.hold(b.performance, &bob, theirs, now()).await?.hold_id, first.hold_id);
    Ok(())
}

#[tokio::test]
async fn a_changed_sale_config_applies_to_new_holds_and_a_cancelled_show_takes_none() -> anyhow::Result<()> {
    use floodgate_proto::catalog::v1 as catalog;
    let b = Booking::new(Rules::default()).await?;
    let mut sale = crate::support::published(b.performance, Rules::default()).performance.unwrap().sale_config.unwrap();
    sale.per_buyer_limit = 1;
    let changed =
        catalog::SaleConfigChanged { performance_id: b.performance.to_string(), sale_config: Some(sale), version: 2 };
    b.deliver(&floodgate_eventbus::Event::new("catalog", b.performance.to_string(), &changed, now())).await?;
    let alice = member("alice");
    let over = b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-1-1", "A-1-2"], &[]), now()).await;
    assert!(matches!(over, Err(BookingError::Store(StoreError::Limit { limit: 1, .. }))), "{over:?}");

    let cancelled = catalog::PerformanceCancelled {
        performance_id: b.performance.to_string(),
        reason: "storm".into(),
        cancelled_at: None,
    };
    b.deliver(&floodgate_eventbus::Event::new("catalog", b.performance.to_string(), &cancelled, now())).await?;
    b.holds.inventories().forget(b.performance);
    let refused = b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-1-1"], &[]), now()).await;
    assert!(matches!(refused, Err(BookingError::SaleNotOpen)), "{refused:?}");
    Ok(())
}
