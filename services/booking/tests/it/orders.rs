//! Orders on real PostgreSQL and Redis: server-side prices, confirmation decided by PostgreSQL,
//! rejection with a refund event, duplicates, deadlines, fees, fencing.

use std::time::Duration;

use floodgate_booking::{
    domain::{Buyer, order::OrderStatus, pricing::Audience},
    error::BookingError,
    orders::{Checkout, OrderRecord},
    store::Taken,
};
use uuid::Uuid;

use crate::support::{Booking, Rules, member, now};

async fn hold_and_checkout(
    b: &Booking,
    buyer: &Buyer,
    seats: &[&str],
    ga: &[(&str, u32)],
) -> anyhow::Result<OrderRecord> {
    let hold = b.holds.hold(b.performance, buyer, b.wanted(buyer, seats, ga), now()).await?;
    let checkout = Checkout {
        performance_id: b.performance,
        hold_id: hold.hold_id,
        buyer: buyer.clone(),
        tickets: Vec::new(),
        admission_token: b.token(buyer),
    };
    Ok(b.orders.checkout(checkout, now()).await?)
}

#[tokio::test]
async fn checkout_prices_on_the_server_and_payment_confirms_with_tickets() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let alice = member("alice");
    let hold =
        b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-1-1", "B-2-3"], &[("FLOOR", 2)]), now()).await?;
    let checkout = Checkout {
        performance_id: b.performance,
        hold_id: hold.hold_id,
        buyer: alice.clone(),
        tickets: vec![("A-1-1".into(), Audience::Youth)],
        admission_token: b.token(&alice),
    };
    let order = b.orders.checkout(checkout.clone(), now()).await?;
    assert_eq!(order.state.status, OrderStatus::PendingPayment);
    // Youth R 70,000 + VIP 150,000 + 2 × GA 80,000.
    assert_eq!(order.total.minor, 380_000);
    assert_eq!(b.orders.checkout(checkout, now()).await?.id, order.id, "a repeated checkout finds its order");
    assert_eq!(b.outbox().await?, ["floodgate.booking.v1.OrderPlaced"]);

    b.approve(order.id, 380_000).await?;
    let confirmed = b.orders.get(order.id, &alice.key()).await?;
    assert_eq!(confirmed.state.status, OrderStatus::Confirmed);
    let (tickets, _) = b.orders.tickets(&alice.key(), Some(order.id), "", 0).await?;
    assert_eq!(tickets.len(), 4);
    let view = b.holds.view(b.performance).await?;
    assert_eq!(view.taken.get("A-1-1"), Some(&Taken::Sold));
    assert_eq!((view.counts["FLOOR"].sold, view.counts["FLOOR"].held), (2, 0));
    assert!(b.outbox().await?.contains(&"floodgate.booking.v1.OrderConfirmed".to_owned()));
    // Someone else asking for alice's order learns nothing.
    assert!(matches!(b.orders.get(order.id, &member("mallory").key()).await, Err(BookingError::NotFound(_))));
    Ok(())
}

#[tokio::test]
async fn duplicate_and_late_payment_events_confirm_once() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let alice = member("alice");
    let order = hold_and_checkout(&b, &alice, &["A-1-4"], &[]).await?;
    for _ in 0..3 {
        b.approve(order.id, order.total.minor).await?;
    }
    let confirmed: Vec<String> = b.outbox().await?.into_iter().filter(|t| t.ends_with("OrderConfirmed")).collect();
    assert_eq!(confirmed.len(), 1);
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM tickets").fetch_one(&b.db.pool).await?;
    assert_eq!(tickets, 1);
    Ok(())
}

#[tokio::test]
async fn a_seat_resold_after_its_hold_expired_rejects_the_late_payment() -> anyhow::Result<()> {
    // Holds outlive the payment deadline only by the grace, so lose Redis to let a second buyer
    // take the seat while the first order still waits for its payment.
    let b = Booking::new(Rules::default()).await?;
    let (alice, bob) = (member("alice"), member("bob"));
    let first = hold_and_checkout(&b, &alice, &["A-2-2"], &[]).await?;
    b.lose_redis().await?;
    let second = hold_and_checkout(&b, &bob, &["A-2-2"], &[]).await?;
    // Bob's newer hold took the claim; bob pays first and gets the seat.
    b.approve(second.id, second.total.minor).await?;
    b.approve(first.id, first.total.minor).await?;
    let rejected = b.orders.get(first.id, &alice.key()).await?;
    assert_eq!(rejected.state.status, OrderStatus::Rejected);
    assert_eq!(b.orders.get(second.id, &bob.key()).await?.state.status, OrderStatus::Confirmed);
    assert!(b.outbox().await?.contains(&"floodgate.booking.v1.OrderRejected".to_owned()), "payment must refund");
    let live: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tickets WHERE seat_id = 'A-2-2' AND status <> 'CANCELLED'")
            .fetch_one(&b.db.pool)
            .await?;
    assert_eq!(live, 1, "I1");
    Ok(())
}

#[tokio::test]
async fn the_fencing_token_lets_the_newest_hold_win_whoever_pays_first() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let (alice, bob) = (member("alice"), member("bob"));
    let stale = hold_and_checkout(&b, &alice, &["A-3-1"], &[]).await?;
    b.lose_redis().await?;
    let fresh = hold_and_checkout(&b, &bob, &["A-3-1"], &[]).await?;
    // The stale holder's payment lands first: its claim was overtaken, so it is rejected even
    // though the seat has no ticket yet.
    b.approve(stale.id, stale.total.minor).await?;
    assert_eq!(b.orders.get(stale.id, &alice.key()).await?.state.status, OrderStatus::Rejected);
    b.approve(fresh.id, fresh.total.minor).await?;
    assert_eq!(b.orders.get(fresh.id, &bob.key()).await?.state.status, OrderStatus::Confirmed);
    Ok(())
}

#[tokio::test]
async fn unpaid_orders_expire_at_their_deadline_and_free_their_seats() -> anyhow::Result<()> {
    let b = Booking::new(Rules { payment_window: Duration::from_millis(300), ..Rules::default() }).await?;
    let alice = member("alice");
    let order = hold_and_checkout(&b, &alice, &["A-1-9"], &[("FLOOR", 3)]).await?;
    assert_eq!(b.orders.expire_unpaid(now()).await?, 0, "not yet");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(b.orders.expire_unpaid(now()).await?, 1);
    assert_eq!(b.orders.get(order.id, &alice.key()).await?.state.status, OrderStatus::Expired);
    let view = b.holds.view(b.performance).await?;
    assert!(!view.taken.contains_key("A-1-9"));
    assert_eq!(view.ga_available["FLOOR"], 50);
    assert!(b.outbox().await?.contains(&"floodgate.booking.v1.OrderExpired".to_owned()));
    // Money that arrives after the deadline is refunded, never turned into a ticket.
    b.approve(order.id, order.total.minor).await?;
    assert_eq!(b.orders.get(order.id, &alice.key()).await?.state.status, OrderStatus::Rejected);
    Ok(())
}

#[tokio::test]
async fn cancellation_charges_the_fee_ladder_and_returns_seats() -> anyhow::Result<()> {
    // 5 days before the show: the "1 day" step applies, 30% of the price.
    let b = Booking::new(Rules { starts_in: chrono::Duration::days(5), ..Rules::default() }).await?;
    let alice = member("alice");
    let order = hold_and_checkout(&b, &alice, &["A-1-1", "A-1-2"], &[]).await?;
    b.approve(order.id, order.total.minor).await?;
    let one = order.lines[0].id;
    let partly = b.orders.cancel(order.id, &alice.key(), &[one], "plans changed", now()).await?;
    assert_eq!(partly.state.status, OrderStatus::PartiallyCancelled);
    assert_eq!(partly.refunded.minor, 70_000);
    assert!(!b.holds.view(b.performance).await?.taken.contains_key("A-1-1"), "the seat is for sale again");
    let again = b.orders.cancel(order.id, &alice.key(), &[one], "", now()).await;
    assert!(matches!(again, Err(BookingError::Invalid { .. })), "{again:?}");
    let rest = b.orders.cancel(order.id, &alice.key(), &[], "", now()).await?;
    assert_eq!(rest.state.status, OrderStatus::Cancelled);
    assert_eq!(rest.refunded.minor, 140_000);
    let cancelled: Vec<String> = b.outbox().await?.into_iter().filter(|t| t.ends_with("OrderCancelled")).collect();
    assert_eq!(cancelled.len(), 2);
    assert!(matches!(
        b.orders.cancel(order.id, &member("mallory").key(), &[], "", now()).await,
        Err(BookingError::NotFound(_))
    ));
    Ok(())
}

#[tokio::test]
async fn a_guest_finds_their_order_by_number_and_phone() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let guest = Buyer::Guest {
        guest_id: Uuid::now_v7().to_string(),
        phone: "+821012345678".into(),
        email: "g@example.com".into(),
    };
    let order = hold_and_checkout(&b, &guest, &["B-2-2"], &[]).await?;
    let found = b.orders.lookup_guest(&order.number, "+821012345678").await?;
    assert_eq!(found.id, order.id);
    assert!(b.orders.lookup_guest(&order.number, "+821099999999").await.is_err());
    Ok(())
}
