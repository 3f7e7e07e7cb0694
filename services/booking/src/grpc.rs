//! Booking's gRPC API: converts the contract to use-case calls and errors to statuses (one
//! table, `error::status`). Buyers are identified by the caller (the gateway, which
//! authenticated them) and only ever see their own holds, orders and tickets.

use chrono::Utc;
use floodgate_proto::booking::v1::{self as wire, booking_service_server::BookingService};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    convert,
    domain::{best_available::Wanted, pricing::Audience},
    error::{BookingError, status},
    holds::{HeldSeats, Holds, SeatsWanted},
    orders::{Checkout, Orders},
    store::Taken,
};

#[derive(Debug, Clone)]
pub struct BookingApi {
    holds: Holds,
    orders: Orders,
}

impl BookingApi {
    pub fn new(holds: Holds, orders: Orders) -> Self {
        Self { holds, orders }
    }
}

fn id(field: &'static str, value: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(value).map_err(|_| status(BookingError::invalid(field, "must be a UUID")))
}

fn buyer(buyer: Option<&floodgate_proto::types::v1::Buyer>) -> Result<crate::domain::Buyer, Status> {
    convert::buyer(buyer).map_err(status)
}

fn hold_to_wire(hold: &HeldSeats, holds: &Holds) -> wire::Hold {
    let layout = holds.inventories().cached_layout(hold.performance_id);
    let seats = hold
        .seats
        .iter()
        .map(|seat_id| {
            let found =
                layout.as_ref().and_then(|p| p.layout.seat(seat_id).map(|(s, seat)| (s.id.clone(), seat.clone())));
            floodgate_proto::types::v1::SeatRef {
                seat_id: seat_id.clone(),
                section_id: found.as_ref().map(|(s, _)| s.clone()).unwrap_or_default(),
                row: found.as_ref().map(|(_, seat)| seat.row.clone()).unwrap_or_default(),
                number: found.as_ref().map(|(_, seat)| seat.number.clone()).unwrap_or_default(),
            }
        })
        .collect();
    wire::Hold {
        hold_id: hold.hold_id.to_string(),
        performance_id: hold.performance_id.to_string(),
        buyer: None,
        seats,
        general_admission: hold
            .general_admission
            .iter()
            .map(|(section_id, quantity)| wire::GaRequest { section_id: section_id.clone(), quantity: *quantity })
            .collect(),
        expires_at: Some(convert::timestamp(hold.expires_at)),
        fencing_token: hold.fence,
    }
}

#[tonic::async_trait]
impl BookingService for BookingApi {
    async fn get_seat_availability(
        &self,
        request: Request<wire::GetSeatAvailabilityRequest>,
    ) -> Result<Response<wire::SeatAvailability>, Status> {
        let r = request.into_inner();
        let performance_id = id("performance_id", &r.performance_id)?;
        let performance = self.holds.inventories().get(performance_id).await.map_err(status)?;
        let view = self.holds.view(performance_id).await.map_err(status)?;
        let sections = performance
            .layout
            .sections()
            .iter()
            .filter(|s| r.section_ids.is_empty() || r.section_ids.contains(&s.id))
            .map(|section| {
                let counts = view.counts.get(&section.id).copied().unwrap_or_default();
                let mut bitmap = Vec::new();
                if let crate::domain::layout::SectionKind::Reserved { rows } = &section.kind {
                    let seats: Vec<_> = rows.iter().flatten().collect();
                    bitmap = vec![0u8; seats.len().div_ceil(8)];
                    for (i, seat) in seats.iter().enumerate() {
                        if !seat.blocked && !view.taken.contains_key(&seat.id) {
                            bitmap[i / 8] |= 1 << (i % 8);
                        }
                    }
                }
                let seats = match &section.kind {
                    crate::domain::layout::SectionKind::Reserved { rows } => rows
                        .iter()
                        .flatten()
                        .filter_map(|seat| {
                            let state = if seat.blocked {
                                wire::SeatState::Blocked
                            } else {
                                match view.taken.get(&seat.id) {
                                    Some(Taken::Held) => wire::SeatState::Held,
                                    Some(Taken::Sold) => wire::SeatState::Sold,
                                    None => return None,
                                }
                            };
                            Some(wire::SeatStatus { seat_id: seat.id.clone(), state: state.into() })
                        })
                        .collect(),
                    crate::domain::layout::SectionKind::GeneralAdmission { .. } => Vec::new(),
                };
                wire::SectionStatus {
                    section_id: section.id.clone(),
                    seats,
                    // Only seats that are not available are listed.
                    sparse: true,
                    capacity: counts.capacity,
                    available: counts.available(),
                    available_bitmap: bitmap,
                }
            })
            .collect();
        Ok(Response::new(wire::SeatAvailability {
            performance_id: r.performance_id,
            sections,
            version: view.version,
            as_of: Some(convert::timestamp(Utc::now())),
        }))
    }

    async fn hold_seats(&self, request: Request<wire::HoldSeatsRequest>) -> Result<Response<wire::Hold>, Status> {
        let r = request.into_inner();
        let performance_id = id("performance_id", &r.performance_id)?;
        let buyer = buyer(r.buyer.as_ref())?;
        let wanted = SeatsWanted {
            seats: r.seat_ids,
            general_admission: r.general_admission.into_iter().map(|g| (g.section_id, g.quantity)).collect(),
            admission_token: r.admission_token,
            idempotency_key: r.idempotency_key,
        };
        let hold = self.holds.hold(performance_id, &buyer, wanted, Utc::now()).await.map_err(status)?;
        Ok(Response::new(hold_to_wire(&hold, &self.holds)))
    }

    async fn hold_best_available(
        &self,
        request: Request<wire::HoldBestAvailableRequest>,
    ) -> Result<Response<wire::Hold>, Status> {
        let r = request.into_inner();
        let performance_id = id("performance_id", &r.performance_id)?;
        let buyer = buyer(r.buyer.as_ref())?;
        let wanted = Wanted {
            quantity: r.quantity as usize,
            grade: Some(r.grade_code.as_str()).filter(|g| !g.is_empty()),
            section: Some(r.section_id.as_str()).filter(|s| !s.is_empty()),
            accessible: r.accessible,
        };
        let hold = self
            .holds
            .hold_best(performance_id, &buyer, &wanted, &r.admission_token, &r.idempotency_key, Utc::now())
            .await
            .map_err(status)?;
        Ok(Response::new(hold_to_wire(&hold, &self.holds)))
    }

    async fn release_hold(
        &self,
        request: Request<wire::ReleaseHoldRequest>,
    ) -> Result<Response<wire::ReleaseHoldResponse>, Status> {
        let r = request.into_inner();
        let buyer = buyer(r.buyer.as_ref())?;
        let released = self
            .holds
            .release(id("performance_id", &r.performance_id)?, id("hold_id", &r.hold_id)?, &buyer.key())
            .await
            .map_err(status)?;
        Ok(Response::new(wire::ReleaseHoldResponse { released }))
    }

    async fn get_hold(&self, request: Request<wire::GetHoldRequest>) -> Result<Response<wire::Hold>, Status> {
        let r = request.into_inner();
        let buyer = buyer(r.buyer.as_ref())?;
        let hold = self
            .holds
            .get(id("performance_id", &r.performance_id)?, id("hold_id", &r.hold_id)?, &buyer.key())
            .await
            .map_err(status)?;
        Ok(Response::new(hold_to_wire(&hold, &self.holds)))
    }

    async fn checkout(&self, request: Request<wire::CheckoutRequest>) -> Result<Response<wire::Order>, Status> {
        let r = request.into_inner();
        let tickets = r
            .tickets
            .iter()
            .map(|t| {
                let target = if t.seat_id.is_empty() { t.section_id.clone() } else { t.seat_id.clone() };
                (target, convert::audience(t.audience()).unwrap_or(Audience::Adult))
            })
            .collect();
        let checkout = Checkout {
            performance_id: id("performance_id", &r.performance_id)?,
            hold_id: id("hold_id", &r.hold_id)?,
            buyer: buyer(r.buyer.as_ref())?,
            tickets,
            admission_token: r.admission_token,
        };
        let order = self.orders.checkout(checkout, Utc::now()).await.map_err(status)?;
        Ok(Response::new(order.to_wire()))
    }

    async fn get_order(&self, request: Request<wire::GetOrderRequest>) -> Result<Response<wire::Order>, Status> {
        let r = request.into_inner();
        let buyer = buyer(r.buyer.as_ref())?;
        let order = self.orders.get(id("order_id", &r.order_id)?, &buyer.key()).await.map_err(status)?;
        Ok(Response::new(order.to_wire()))
    }

    async fn list_orders(
        &self,
        request: Request<wire::ListOrdersRequest>,
    ) -> Result<Response<wire::ListOrdersResponse>, Status> {
        let r = request.into_inner();
        let buyer = buyer(r.buyer.as_ref())?;
        let page = r.page.unwrap_or_default();
        let (orders, next) = self.orders.list(&buyer.key(), &page.cursor, page.page_size).await.map_err(status)?;
        Ok(Response::new(wire::ListOrdersResponse {
            orders: orders.iter().map(|o| o.to_wire()).collect(),
            page: Some(floodgate_proto::types::v1::PageResponse { next_cursor: next }),
        }))
    }

    async fn lookup_guest_order(
        &self,
        request: Request<wire::LookupGuestOrderRequest>,
    ) -> Result<Response<wire::Order>, Status> {
        let r = request.into_inner();
        let order = self.orders.lookup_guest(r.order_number.trim(), r.phone.trim()).await.map_err(status)?;
        Ok(Response::new(order.to_wire()))
    }

    async fn cancel_order(&self, request: Request<wire::CancelOrderRequest>) -> Result<Response<wire::Order>, Status> {
        let r = request.into_inner();
        let buyer = buyer(r.buyer.as_ref())?;
        let line_ids = r.line_ids.iter().map(|l| id("line_ids", l)).collect::<Result<Vec<_>, _>>()?;
        let order = self
            .orders
            .cancel(id("order_id", &r.order_id)?, &buyer.key(), &line_ids, &r.reason, Utc::now())
            .await
            .map_err(status)?;
        Ok(Response::new(order.to_wire()))
    }

    async fn list_tickets(
        &self,
        request: Request<wire::ListTicketsRequest>,
    ) -> Result<Response<wire::ListTicketsResponse>, Status> {
        let r = request.into_inner();
        let buyer = buyer(r.buyer.as_ref())?;
        let order = if r.order_id.is_empty() { None } else { Some(id("order_id", &r.order_id)?) };
        let page = r.page.unwrap_or_default();
        let (tickets, next) =
            self.orders.tickets(&buyer.key(), order, &page.cursor, page.page_size).await.map_err(status)?;
        Ok(Response::new(wire::ListTicketsResponse {
            tickets,
            page: Some(floodgate_proto::types::v1::PageResponse { next_cursor: next }),
        }))
    }

    async fn get_ticket(&self, request: Request<wire::GetTicketRequest>) -> Result<Response<wire::Ticket>, Status> {
        let r = request.into_inner();
        let buyer = buyer(r.buyer.as_ref())?;
        let ticket = self.orders.ticket(id("ticket_id", &r.ticket_id)?, &buyer.key()).await.map_err(status)?;
        Ok(Response::new(ticket))
    }

    async fn verify_ticket(
        &self,
        request: Request<wire::VerifyTicketRequest>,
    ) -> Result<Response<wire::VerifyTicketResponse>, Status> {
        let r = request.into_inner();
        let scan = self
            .orders
            .verify_ticket(&r.qr_payload, id("performance_id", &r.performance_id)?, &r.scanner_id, Utc::now())
            .await
            .map_err(status)?;
        Ok(Response::new(wire::VerifyTicketResponse {
            outcome: scan.outcome.into(),
            ticket: scan.ticket,
            first_admitted_at: scan.first_admitted_at.map(convert::timestamp),
        }))
    }

    async fn get_ticket_keys(
        &self,
        _request: Request<wire::GetTicketKeysRequest>,
    ) -> Result<Response<wire::TicketKeys>, Status> {
        let signer = self.orders.signer();
        Ok(Response::new(wire::TicketKeys {
            keys: vec![wire::TicketKey { key_id: signer.kid().to_owned(), public_key: signer.public_key().to_vec() }],
        }))
    }
}
