//! The gRPC API's contract: statuses and stable error codes, and the availability snapshot.

use floodgate_booking::{error::ERROR_CODE, grpc::BookingApi};
use floodgate_proto::{
    booking::v1::{self as wire, booking_service_server::BookingService as _},
    types::v1 as types,
};
use tonic::{Code, Request};

use crate::support::{Booking, Rules, member};

fn code(status: &tonic::Status) -> &str {
    status.metadata().get(ERROR_CODE).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn holds_answer_with_precise_statuses_and_codes() -> anyhow::Result<()> {
    let b = Booking::new(Rules::default()).await?;
    let api = BookingApi::new(b.holds.clone(), b.orders.clone());
    let alice = member("alice");
    let request = |buyer: Option<types::Buyer>, seats: &[&str], token: String| wire::HoldSeatsRequest {
        performance_id: b.performance.to_string(),
        buyer,
        seat_ids: seats.iter().map(|s| (*s).to_owned()).collect(),
        admission_token: token,
        ..Default::default()
    };
    let as_alice = Some(types::Buyer { kind: Some(types::buyer::Kind::UserId("alice".into())) });

    let no_buyer = api.hold_seats(Request::new(request(None, &["A-1-1"], b.token(&alice)))).await.unwrap_err();
    assert_eq!((no_buyer.code(), code(&no_buyer)), (Code::InvalidArgument, "INVALID_ARGUMENT"));
    let no_token =
        api.hold_seats(Request::new(request(as_alice.clone(), &["A-1-1"], String::new()))).await.unwrap_err();
    assert_eq!((no_token.code(), code(&no_token)), (Code::PermissionDenied, "ADMISSION_REQUIRED"));

    let hold = api.hold_seats(Request::new(request(as_alice.clone(), &["A-1-1"], b.token(&alice)))).await?.into_inner();
    assert_eq!(hold.seats[0].row, "A1", "seats come back with their row and number");
    assert!(hold.fencing_token > 0);

    let bob = member("bob");
    let as_bob = Some(types::Buyer { kind: Some(types::buyer::Kind::UserId("bob".into())) });
    let taken =
        api.hold_seats(Request::new(request(as_bob.clone(), &["A-1-1", "A-1-2"], b.token(&bob)))).await.unwrap_err();
    assert_eq!((taken.code(), code(&taken)), (Code::FailedPrecondition, "SEAT_TAKEN"));
    assert_eq!(taken.metadata().get("floodgate-taken-seats").and_then(|v| v.to_str().ok()), Some("A-1-1"));

    // Bob cannot see or release alice's hold.
    let peek = api
        .get_hold(Request::new(wire::GetHoldRequest {
            hold_id: hold.hold_id.clone(),
            buyer: as_bob,
            performance_id: b.performance.to_string(),
        }))
        .await
        .unwrap_err();
    assert_eq!(peek.code(), Code::NotFound);

    let availability = api
        .get_seat_availability(Request::new(wire::GetSeatAvailabilityRequest {
            performance_id: b.performance.to_string(),
            section_ids: vec!["A".into(), "B".into()],
        }))
        .await?
        .into_inner();
    let a = &availability.sections[0];
    assert_eq!((a.capacity, a.available), (30, 29));
    assert_eq!(a.seats, [wire::SeatStatus { seat_id: "A-1-1".into(), state: wire::SeatState::Held.into() }]);
    // 30 seats in 4 bytes; the first (A-1-1) is held, every other one free.
    assert_eq!(a.available_bitmap, [0b1111_1110, 0xff, 0xff, 0b0011_1111]);
    let b_section = &availability.sections[1];
    assert_eq!(b_section.capacity, 11, "the blocked seat is not for sale");
    assert_eq!(b_section.seats[0].state(), wire::SeatState::Blocked);
    Ok(())
}
