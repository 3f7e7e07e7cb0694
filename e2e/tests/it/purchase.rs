//! One purchase across the real processes and the broker: catalog publishes a performance,
//! booking builds its inventory, a buyer holds a seat (with a waiting-room token) and checks out,
//! payment opens the payment from `OrderPlaced`, the buyer approves at the simulated provider's
//! page, payment captures, and booking confirms the order with a ticket that admits once.

use std::time::Duration;

use chrono::Utc;
use floodgate_admission::{AdmissionKey, Claims};
use floodgate_eventbus::{BusConfig, Event, Stream, outbox::Outbox};
use floodgate_proto::{
    booking::v1::{self as booking, booking_service_client::BookingServiceClient},
    catalog::v1 as catalog,
    payment::v1::{self as payment, payment_service_client::PaymentServiceClient},
    types::v1 as types,
};
use floodgate_testkit::eventually;
use tonic::transport::Channel;

use crate::platform::Infrastructure;

async fn client(process: &floodgate_testkit::ServiceProcess) -> anyhow::Result<Channel> {
    Ok(tonic::transport::Endpoint::from_shared(format!("http://{}", process.listening.grpc))?.connect().await?)
}

fn published(performance_id: &str) -> catalog::PerformancePublished {
    let starts_at = Utc::now() + chrono::Duration::days(10);
    let seats = (1..=4)
        .map(|n| catalog::Seat { seat_id: format!("A-1-{n}"), number: n.to_string(), ..Default::default() })
        .collect();
    catalog::PerformancePublished {
        performance: Some(catalog::Performance {
            performance_id: performance_id.to_owned(),
            starts_at: Some(prost_types::Timestamp { seconds: starts_at.timestamp(), nanos: 0 }),
            ..Default::default()
        }),
        seat_map: Some(catalog::SeatMap {
            sections: vec![catalog::Section {
                section_id: "A".into(),
                kind: catalog::SectionKind::Reserved.into(),
                grade_code: "R".into(),
                rows: vec![catalog::Row { label: "1".into(), seats }],
                ..Default::default()
            }],
            ..Default::default()
        }),
        prices: vec![catalog::GradePrice {
            grade_code: "R".into(),
            audience: 0,
            price: Some(types::Money { minor: 120_000, currency: "KRW".into() }),
        }],
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_checkout_pay_at_the_provider_and_get_a_ticket() -> anyhow::Result<()> {
    let infrastructure = Infrastructure::new().await?;
    let catalog_process = infrastructure.start("catalog").await?;
    let booking_process = infrastructure.start("booking").await?;
    let payment_process = infrastructure.start("payment").await?;
    let mut bookings = BookingServiceClient::new(client(&booking_process).await?);
    let mut payments = PaymentServiceClient::new(client(&payment_process).await?);

    let performance_id = uuid::Uuid::now_v7().to_string();
    let bus = BusConfig {
        brokers: infrastructure.broker.brokers.clone(),
        topic_prefix: infrastructure.broker.topic_prefix.clone(),
        partitions: 3,
        replication: 1,
    };
    let event = Event::new("catalog", performance_id.clone(), &published(&performance_id), Utc::now());
    let mut tx = infrastructure.databases["catalog"].pool.begin().await?;
    Outbox::new(&bus, Stream::Catalog).enqueue(&mut tx, &event).await?;
    tx.commit().await?;

    let availability =
        booking::GetSeatAvailabilityRequest { performance_id: performance_id.clone(), section_ids: vec![] };
    eventually(Duration::from_secs(60), "booking to build the inventory", || {
        let (mut bookings, request) = (bookings.clone(), availability.clone());
        async move { Ok(bookings.get_seat_availability(request).await.ok()) }
    })
    .await?;

    let alice = Some(types::Buyer { kind: Some(types::buyer::Kind::UserId("alice".into())) });
    // The waiting room's token (the e2e queue key is 07…07, id k1).
    let token = AdmissionKey::from_secret("k1", &[7; 32])?.issue(&Claims::admit(
        &performance_id,
        "user:alice",
        Utc::now(),
        chrono::Duration::minutes(10),
    ));
    let hold = bookings
        .hold_seats(booking::HoldSeatsRequest {
            performance_id: performance_id.clone(),
            buyer: alice.clone(),
            seat_ids: vec!["A-1-2".into()],
            admission_token: token.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let order = bookings
        .checkout(booking::CheckoutRequest {
            hold_id: hold.hold_id.clone(),
            buyer: alice.clone(),
            admission_token: token.clone(),
            performance_id: performance_id.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    assert_eq!(order.total.as_ref().map(|m| m.minor), Some(120_000));

    // Payment opened the payment from OrderPlaced, with booking's amount.
    let by_order = payment::GetPaymentByOrderRequest { order_id: order.order_id.clone(), buyer: alice.clone() };
    let opened = eventually(Duration::from_secs(60), "payment to open the order's payment", || {
        let (mut payments, request) = (payments.clone(), by_order.clone());
        async move { Ok(payments.get_payment_by_order(request).await.ok().map(|r| r.into_inner())) }
    })
    .await?;
    assert_eq!(opened.amount.as_ref().map(|m| m.minor), Some(120_000));

    let prepared = payments
        .prepare(payment::PrepareRequest {
            order_id: order.order_id.clone(),
            buyer: alice.clone(),
            approve_url: "http://shop.test/approve".into(),
            cancel_url: "http://shop.test/cancel".into(),
            fail_url: "http://shop.test/fail".into(),
            idempotency_key: "prepare-1".into(),
        })
        .await?
        .into_inner();
    // The buyer's browser at the provider.
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let page = browser.get(&prepared.redirect_url).send().await?.text().await?;
    assert!(page.contains("120000 KRW"), "{page}");
    let approved = browser.post(format!("{}/approve", prepared.redirect_url)).body("amount=120000").send().await?;
    let back = approved.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let pg_token = back.split("pg_token=").nth(1).unwrap_or_default().to_owned();
    let paid = payments
        .approve(payment::ApproveRequest {
            payment_id: prepared.payment.as_ref().map(|p| p.payment_id.clone()).unwrap_or_default(),
            provider_tid: prepared.provider_tid.clone(),
            approval_token: pg_token,
            buyer: alice.clone(),
            idempotency_key: "approve-1".into(),
        })
        .await?
        .into_inner();
    assert_eq!(paid.status(), payment::PaymentStatus::Approved);

    // Booking hears PaymentApproved and confirms with a ticket.
    let get_order = booking::GetOrderRequest { order_id: order.order_id.clone(), buyer: alice.clone() };
    eventually(Duration::from_secs(60), "booking to confirm the order", || {
        let (mut bookings, request) = (bookings.clone(), get_order.clone());
        async move {
            let order = bookings.get_order(request).await?.into_inner();
            Ok((order.status() == booking::OrderStatus::Confirmed).then_some(()))
        }
    })
    .await?;
    let tickets = bookings
        .list_tickets(booking::ListTicketsRequest { buyer: alice, order_id: order.order_id.clone(), page: None })
        .await?
        .into_inner()
        .tickets;
    assert_eq!(tickets.len(), 1);
    let scan = bookings
        .verify_ticket(booking::VerifyTicketRequest {
            qr_payload: tickets[0].qr_payload.clone(),
            performance_id,
            scanner_id: "gate-1".into(),
        })
        .await?
        .into_inner();
    assert_eq!(scan.outcome(), booking::VerifyOutcome::Admitted);

    for process in [catalog_process, booking_process, payment_process] {
        process.terminate(Duration::from_secs(20)).await?;
    }
    Ok(())
}
