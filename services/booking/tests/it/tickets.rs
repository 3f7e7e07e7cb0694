//! Tickets: signed QR payloads that admit once, and stop admitting when cancelled or tampered.

use floodgate_booking::orders::Checkout;
use floodgate_proto::booking::v1::VerifyOutcome;
use uuid::Uuid;

use crate::support::{Booking, Rules, member, now};

#[tokio::test]
async fn a_ticket_admits_once_and_a_tampered_or_cancelled_one_never() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let alice = member("alice");
    let hold = b.holds.hold(b.performance, &alice, b.wanted(&alice, &["A-1-1", "A-1-2"], &[]), now()).await?;
    let checkout = Checkout {
        performance_id: b.performance,
        hold_id: hold.hold_id,
        buyer: alice.clone(),
        tickets: Vec::new(),
        admission_token: b.token(&alice),
    };
    let order = b.orders.checkout(checkout, now()).await?;
    b.approve(order.id, order.total.minor).await?;
    let (tickets, _) = b.orders.tickets(&alice.key(), Some(order.id), "", 0).await?;
    let (first, second) = (&tickets[0], &tickets[1]);

    let scan = b.orders.verify_ticket(&first.qr_payload, b.performance, "gate-1", now()).await?;
    assert_eq!(scan.outcome, VerifyOutcome::Admitted);
    let again = b.orders.verify_ticket(&first.qr_payload, b.performance, "gate-2", now()).await?;
    assert_eq!(again.outcome, VerifyOutcome::AlreadyAdmitted);
    assert!(again.first_admitted_at.is_some());

    let elsewhere = b.orders.verify_ticket(&second.qr_payload, Uuid::now_v7(), "gate-1", now()).await?;
    assert_eq!(elsewhere.outcome, VerifyOutcome::WrongPerformance);
    let mut tampered = second.qr_payload.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered)?;
    let forged = b.orders.verify_ticket(&tampered, b.performance, "gate-1", now()).await?;
    assert_eq!(forged.outcome, VerifyOutcome::InvalidSignature);

    let line = order.lines.iter().find(|l| l.seat_id.as_deref() == second.seat.as_ref().map(|s| s.seat_id.as_str()));
    b.orders.cancel(order.id, &alice.key(), &[line.expect("line").id], "", now()).await?;
    let refunded = b.orders.verify_ticket(&second.qr_payload, b.performance, "gate-1", now()).await?;
    assert_eq!(refunded.outcome, VerifyOutcome::Cancelled);
    Ok(())
}
