//! The catalog's gRPC adapter: contract messages in, domain values to the repository, contract
//! messages out. Request checking produces field errors; [`status`] is the one place catalog
//! errors become gRPC statuses. Methods not built yet answer UNIMPLEMENTED.

use std::sync::Arc;

use chrono::{Duration, Utc};
use floodgate_eventbus::outbox::Outbox;
use floodgate_proto::catalog::v1::{self as wire, catalog_service_server::CatalogService};
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    convert::{
        self, duration, event_to_wire, hall_to_wire, hall_type_from_wire, new_event, new_venue, performance_to_wire,
        timestamp, venue_to_wire,
    },
    domain::{
        FieldError, Invalid, Validation, layout,
        pricing::{Audience, PriceList},
        seat_map::SeatMap,
    },
    error::CatalogError,
    model, repo,
    sales::{self, Sales},
    search,
    seat_map_cache::{SeatMapCache, ServedMap},
};

/// Cleaning/turnover between performances when the operator does not say.
const DEFAULT_TURNOVER: Duration = Duration::minutes(15);

/// Seat maps kept encoded in memory; a few hundred kilobytes each for the largest venues.
const CACHED_SEAT_MAPS: usize = 256;

#[derive(Debug, Clone)]
pub struct CatalogApi {
    pool: PgPool,
    sales: Sales,
    seat_maps: Arc<SeatMapCache>,
}

impl CatalogApi {
    pub fn new(pool: PgPool, outbox: Outbox) -> Self {
        Self {
            sales: Sales { pool: pool.clone(), outbox },
            pool,
            seat_maps: Arc::new(SeatMapCache::new(CACHED_SEAT_MAPS)),
        }
    }

    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, Status> {
        self.pool.acquire().await.map_err(|e| status(CatalogError::Database(e)))
    }
}

#[tonic::async_trait]
impl CatalogService for CatalogApi {
    async fn create_venue(&self, request: Request<wire::CreateVenueRequest>) -> Result<Response<wire::Venue>, Status> {
        let fields = request.into_inner().venue.ok_or_else(|| invalid("venue", "is required"))?;
        let venue = new_venue(&fields).map_err(invalid_fields)?;
        let created = repo::insert_venue(&mut *self.conn().await?, &venue).await.map_err(status)?;
        Ok(Response::new(venue_to_wire(&created, &[])))
    }

    async fn get_venue(&self, request: Request<wire::GetVenueRequest>) -> Result<Response<wire::Venue>, Status> {
        let id = parse_id("venue_id", &request.get_ref().venue_id)?;
        let (venue, halls) = repo::venue(&mut *self.conn().await?, id).await.map_err(status)?;
        Ok(Response::new(venue_to_wire(&venue, &halls)))
    }

    async fn update_venue(&self, request: Request<wire::UpdateVenueRequest>) -> Result<Response<wire::Venue>, Status> {
        let request = request.into_inner();
        let id = parse_id("venue_id", &request.venue_id)?;
        let fields = request.venue.ok_or_else(|| invalid("venue", "is required"))?;
        let venue = new_venue(&fields).map_err(invalid_fields)?;
        let mut conn = self.conn().await?;
        repo::update_venue(&mut conn, id, &venue.details, venue.time_zone, request.expected_version)
            .await
            .map_err(status)?;
        let (venue, halls) = repo::venue(&mut conn, id).await.map_err(status)?;
        Ok(Response::new(venue_to_wire(&venue, &halls)))
    }

    async fn delete_venue(
        &self,
        request: Request<wire::DeleteVenueRequest>,
    ) -> Result<Response<wire::DeleteVenueResponse>, Status> {
        let request = request.into_inner();
        let id = parse_id("venue_id", &request.venue_id)?;
        repo::delete_venue(&mut *self.conn().await?, id, request.expected_version).await.map_err(status)?;
        Ok(Response::new(wire::DeleteVenueResponse {}))
    }

    async fn list_venues(
        &self,
        request: Request<wire::ListVenuesRequest>,
    ) -> Result<Response<wire::ListVenuesResponse>, Status> {
        let page = request.into_inner().page.unwrap_or_default();
        let after = if page.cursor.is_empty() { None } else { Some(parse_id("page.cursor", &page.cursor)?) };
        let size = if page.page_size == 0 { search::DEFAULT_PAGE } else { page.page_size.min(search::MAX_PAGE) };
        let mut venues = repo::venues(&mut *self.conn().await?, after, i64::from(size) + 1).await.map_err(status)?;
        let more = venues.len() > size as usize;
        venues.truncate(size as usize);
        let next_cursor =
            if more { venues.last().map(|v| v.id.to_string()).unwrap_or_default() } else { String::new() };
        Ok(Response::new(wire::ListVenuesResponse {
            venues: venues.iter().map(|v| venue_to_wire(v, &[])).collect(),
            page: Some(floodgate_proto::types::v1::PageResponse { next_cursor }),
        }))
    }

    async fn create_hall(&self, request: Request<wire::CreateHallRequest>) -> Result<Response<wire::Hall>, Status> {
        let request = request.into_inner();
        let mut v = Validation::default();
        let venue_id = Uuid::parse_str(&request.venue_id).ok();
        v.check(venue_id.is_some(), || "venue_id".into(), "must be a UUID");
        v.check(!request.name.trim().is_empty(), || "name".into(), "must not be empty");
        let hall_type = hall_type_from_wire(request.hall_type());
        v.check(hall_type.is_some(), || "hall_type".into(), "must be specified");
        v.finish().map_err(invalid_fields)?;
        let (Some(venue_id), Some(hall_type)) = (venue_id, hall_type) else { unreachable!("validated above") };
        let hall = repo::insert_hall(&mut *self.conn().await?, venue_id, request.name.trim(), hall_type)
            .await
            .map_err(status)?;
        Ok(Response::new(hall_to_wire(&hall, 0)))
    }

    async fn get_hall(&self, request: Request<wire::GetHallRequest>) -> Result<Response<wire::Hall>, Status> {
        let id = parse_id("hall_id", &request.get_ref().hall_id)?;
        let mut conn = self.conn().await?;
        let hall = repo::hall(&mut conn, id).await.map_err(status)?;
        let version = match repo::seat_map(&mut conn, id, 0).await {
            Ok((version, _)) => version,
            Err(CatalogError::NotFound { .. }) => 0,
            Err(e) => return Err(status(e)),
        };
        Ok(Response::new(hall_to_wire(&hall, version)))
    }

    async fn put_seat_map(&self, request: Request<wire::PutSeatMapRequest>) -> Result<Response<wire::SeatMap>, Status> {
        let request = request.into_inner();
        let hall_id = parse_id("hall_id", &request.hall_id)?;
        let message = request.seat_map.ok_or_else(|| invalid("seat_map", "is required"))?;
        let map = SeatMap::try_from(&message).map_err(invalid_fields)?;
        self.store_seat_map(hall_id, &map, request.expected_version).await
    }

    async fn generate_seat_map(
        &self,
        request: Request<wire::GenerateSeatMapRequest>,
    ) -> Result<Response<wire::SeatMap>, Status> {
        let request = request.into_inner();
        let hall_id = parse_id("hall_id", &request.hall_id)?;
        let layouts = request
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| {
                layout::SectionLayout::try_from(s)
                    .map_err(|e| FieldError::new(format!("sections[{i}].{}", e.field), e.reason))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid_fields(Invalid(vec![e])))?;
        let focal =
            request.focal_point.map_or_else(Default::default, |p| crate::domain::seat_map::Point { x: p.x, y: p.y });
        let map = layout::generate(&layouts, focal);
        self.store_seat_map(hall_id, &map, request.expected_version).await
    }

    async fn get_seat_map(&self, request: Request<wire::GetSeatMapRequest>) -> Result<Response<wire::SeatMap>, Status> {
        let request = request.into_inner();
        let hall_id = parse_id("hall_id", &request.hall_id)?;
        let (version, map) =
            repo::seat_map(&mut *self.conn().await?, hall_id, request.version).await.map_err(status)?;
        Ok(Response::new(wire::SeatMap { hall_id: hall_id.to_string(), version, ..wire::SeatMap::from(&map) }))
    }

    async fn create_event(&self, request: Request<wire::CreateEventRequest>) -> Result<Response<wire::Event>, Status> {
        let fields = request.into_inner().event.ok_or_else(|| invalid("event", "is required"))?;
        let event = new_event(&fields).map_err(invalid_fields)?;
        let created = repo::insert_event(&mut *self.conn().await?, &event).await.map_err(status)?;
        Ok(Response::new(event_to_wire(&created)))
    }

    async fn update_event(&self, request: Request<wire::UpdateEventRequest>) -> Result<Response<wire::Event>, Status> {
        let request = request.into_inner();
        let id = parse_id("event_id", &request.event_id)?;
        let fields = request.event.ok_or_else(|| invalid("event", "is required"))?;
        let details = new_event(&fields).map_err(invalid_fields)?;
        let version = repo::update_event(&mut *self.conn().await?, id, &details, request.expected_version)
            .await
            .map_err(status)?;
        Ok(Response::new(event_to_wire(&model::Event { id, details, version })))
    }

    async fn get_event(&self, request: Request<wire::GetEventRequest>) -> Result<Response<wire::EventDetail>, Status> {
        let id = parse_id("event_id", &request.get_ref().event_id)?;
        let (event, performances) = repo::event(&mut *self.conn().await?, id).await.map_err(status)?;
        Ok(Response::new(wire::EventDetail {
            event: Some(event_to_wire(&event)),
            performances: performances.iter().map(performance_to_wire).collect(),
        }))
    }

    async fn create_performance(
        &self,
        request: Request<wire::CreatePerformanceRequest>,
    ) -> Result<Response<wire::Performance>, Status> {
        let request = request.into_inner();
        let mut v = Validation::default();
        let event_id = Uuid::parse_str(&request.event_id).ok();
        v.check(event_id.is_some(), || "event_id".into(), "must be a UUID");
        let hall_id = Uuid::parse_str(&request.hall_id).ok();
        v.check(hall_id.is_some(), || "hall_id".into(), "must be a UUID");
        let starts_at = request.starts_at.as_ref().and_then(timestamp);
        v.check(starts_at.is_some(), || "starts_at".into(), "must be a valid time");
        let turnover = match &request.turnover {
            None => Some(DEFAULT_TURNOVER),
            Some(d) => duration(d),
        };
        v.check(turnover.is_some(), || "turnover".into(), "must be a valid duration");
        v.finish().map_err(invalid_fields)?;
        let (Some(event_id), Some(hall_id), Some(starts_at), Some(turnover)) = (event_id, hall_id, starts_at, turnover)
        else {
            unreachable!("validated above")
        };
        let performance = repo::insert_performance(&mut *self.conn().await?, event_id, hall_id, starts_at, turnover)
            .await
            .map_err(status)?;
        Ok(Response::new(performance_to_wire(&performance)))
    }

    async fn get_performance(
        &self,
        request: Request<wire::GetPerformanceRequest>,
    ) -> Result<Response<wire::Performance>, Status> {
        let id = parse_id("performance_id", &request.get_ref().performance_id)?;
        let performance = repo::performance(&mut *self.conn().await?, id).await.map_err(status)?;
        Ok(Response::new(performance_to_wire(&performance)))
    }

    async fn cancel_performance(
        &self,
        request: Request<wire::CancelPerformanceRequest>,
    ) -> Result<Response<wire::Performance>, Status> {
        let request = request.into_inner();
        let id = parse_id("performance_id", &request.performance_id)?;
        let performance = self.sales.cancel(id, &request.reason, Utc::now()).await.map_err(status)?;
        Ok(Response::new(performance_to_wire(&performance)))
    }

    async fn set_price_tiers(
        &self,
        request: Request<wire::SetPriceTiersRequest>,
    ) -> Result<Response<wire::PriceTiers>, Status> {
        let request = request.into_inner();
        let id = parse_id("performance_id", &request.performance_id)?;
        let (tiers, names) = convert::tiers_from_wire(&request.tiers).map_err(invalid_fields)?;
        self.sales.set_price_tiers(id, &tiers, &names, Utc::now()).await.map_err(status)?;
        Ok(Response::new(wire::PriceTiers { performance_id: request.performance_id, tiers: request.tiers }))
    }

    async fn set_pricing_rules(
        &self,
        request: Request<wire::SetPricingRulesRequest>,
    ) -> Result<Response<wire::PricingRules>, Status> {
        let rules = request.into_inner().rules.ok_or_else(|| invalid("rules", "is required"))?;
        let venue_id = parse_id("rules.venue_id", &rules.venue_id)?;
        let mut conn = self.conn().await?;
        let (venue, _) = repo::venue(&mut conn, venue_id).await.map_err(status)?;
        let pricing = convert::cinema_pricing_from_wire(&rules, venue.time_zone).map_err(invalid_fields)?;
        PriceList::Cinema(pricing.clone()).validate().map_err(|e| invalid("rules", &e.to_string()))?;
        let version = repo::set_pricing_rules(&mut conn, venue_id, &pricing).await.map_err(status)?;
        Ok(Response::new(wire::PricingRules {
            venue_id: venue_id.to_string(),
            version,
            ..convert::cinema_pricing_to_wire(&pricing)
        }))
    }

    async fn quote_price(
        &self,
        request: Request<wire::QuotePriceRequest>,
    ) -> Result<Response<wire::QuotePriceResponse>, Status> {
        let request = request.into_inner();
        let id = parse_id("performance_id", &request.performance_id)?;
        let audience = convert::audience_from_wire(request.audience()).unwrap_or(Audience::Adult);
        let (quote, grade) =
            self.sales.quote(id, &request.seat_id, &request.section_id, audience).await.map_err(status)?;
        Ok(Response::new(wire::QuotePriceResponse {
            price: Some(convert::money_to_wire(quote.price)),
            grade_code: grade,
            band: quote.band.map_or(wire::TimeBand::Unspecified, convert::band_to_wire).into(),
        }))
    }

    async fn set_sale_config(
        &self,
        request: Request<wire::SetSaleConfigRequest>,
    ) -> Result<Response<wire::SaleConfig>, Status> {
        let request = request.into_inner();
        let id = parse_id("performance_id", &request.performance_id)?;
        let message = request.sale_config.ok_or_else(|| invalid("sale_config", "is required"))?;
        let config = convert::sale_config_from_wire(&message).map_err(invalid_fields)?;
        self.sales.set_sale_config(id, &config, request.expected_version, Utc::now()).await.map_err(status)?;
        Ok(Response::new(convert::sale_config_to_wire(&config)))
    }

    async fn search_events(
        &self,
        request: Request<wire::SearchEventsRequest>,
    ) -> Result<Response<wire::SearchEventsResponse>, Status> {
        let request = request.into_inner();
        let mut v = Validation::default();
        let venue_id = if request.venue_id.is_empty() { None } else { Uuid::parse_str(&request.venue_id).ok() };
        v.check(request.venue_id.is_empty() || venue_id.is_some(), || "venue_id".into(), "must be a UUID");
        v.check(request.text.len() <= 200, || "text".into(), "must be at most 200 characters");
        v.finish().map_err(invalid_fields)?;
        let page = request.page.clone().unwrap_or_default();
        let cursor = if page.cursor.is_empty() {
            None
        } else {
            Some(search::Cursor::decode(&page.cursor).map_err(invalid_fields)?)
        };
        let query = search::Query {
            text: request.text.clone(),
            category: (request.category() != wire::EventCategory::Unspecified)
                .then(|| request.category().as_str_name().trim_start_matches("EVENT_CATEGORY_").to_lowercase()),
            genre: (!request.genre.trim().is_empty()).then(|| request.genre.trim().to_lowercase()),
            from: request.from.as_ref().and_then(timestamp),
            to: request.to.as_ref().and_then(timestamp),
            venue_id,
            min_price: request.min_price.as_ref().map(|m| m.minor),
            max_price: request.max_price.as_ref().map(|m| m.minor),
            on_sale_only: request.on_sale_only,
        };
        let size = if page.page_size == 0 { search::DEFAULT_PAGE } else { page.page_size };
        let (hits, next) = search::search(&mut *self.conn().await?, &query, cursor, size).await.map_err(status)?;
        Ok(Response::new(wire::SearchEventsResponse {
            events: hits
                .iter()
                .map(|hit| wire::EventSummary {
                    event: Some(event_to_wire(&hit.event)),
                    first_performance_at: hit.first_performance_at.map(convert::to_timestamp),
                    last_performance_at: hit.last_performance_at.map(convert::to_timestamp),
                    lowest_price: hit
                        .lowest_price
                        .clone()
                        .map(|(minor, currency)| floodgate_proto::types::v1::Money { minor, currency }),
                    venue_names: hit.venue_names.clone(),
                })
                .collect(),
            page: Some(floodgate_proto::types::v1::PageResponse {
                next_cursor: next.map(|c| c.encode()).unwrap_or_default(),
            }),
        }))
    }

    async fn get_performance_seat_map(
        &self,
        request: Request<wire::GetPerformanceSeatMapRequest>,
    ) -> Result<Response<wire::PerformanceSeatMap>, Status> {
        let request = request.into_inner();
        let id = parse_id("performance_id", &request.performance_id)?;
        let mut conn = self.conn().await?;
        let context = repo::performance_context(&mut conn, id, false).await.map_err(status)?;
        // Drafts show the hall's latest map; published performances the version they sell.
        let (map_version, full_map) = match context.seat_map_version {
            Some(version) => (version, None),
            None => {
                let (version, map) = repo::seat_map(&mut conn, context.performance.hall_id, 0).await.map_err(status)?;
                (version, Some(map))
            }
        };
        let etag = format!("{id}.{}.{map_version}", context.performance.version);
        // Unchanged: nothing is resent, whichever form was asked for.
        if request.if_none_match == etag {
            return Ok(Response::new(wire::PerformanceSeatMap {
                performance_id: request.performance_id,
                etag,
                not_modified: true,
                ..Default::default()
            }));
        }
        let served = match self.seat_maps.get(&etag) {
            Some(served) if !request.full => served,
            _ => {
                let map = match full_map {
                    Some(map) => map,
                    None => {
                        repo::seat_map(&mut conn, context.performance.hall_id, map_version).await.map_err(status)?.1
                    }
                };
                let (tiers, names) = repo::price_tiers(&mut conn, id).await.map_err(status)?;
                let served = ServedMap::build(etag, &map, map_version, sales::tiers_to_wire(&tiers, &names));
                let served = self.seat_maps.insert(served);
                if request.full {
                    let mut response = served.response(request.performance_id);
                    response.seat_map = Some(wire::SeatMap {
                        hall_id: context.performance.hall_id.to_string(),
                        version: map_version,
                        ..wire::SeatMap::from(&map)
                    });
                    return Ok(Response::new(response));
                }
                served
            }
        };
        Ok(Response::new(served.response(request.performance_id)))
    }

    async fn get_availability_summary(
        &self,
        request: Request<wire::GetAvailabilitySummaryRequest>,
    ) -> Result<Response<wire::AvailabilitySummary>, Status> {
        let id = parse_id("performance_id", &request.get_ref().performance_id)?;
        let sections = repo::availability(&mut *self.conn().await?, id).await.map_err(status)?;
        Ok(Response::new(wire::AvailabilitySummary {
            performance_id: id.to_string(),
            sections,
            as_of: Some(convert::to_timestamp(Utc::now())),
        }))
    }

    async fn get_box_office(
        &self,
        request: Request<wire::GetBoxOfficeRequest>,
    ) -> Result<Response<wire::BoxOffice>, Status> {
        let request = request.into_inner();
        let now = Utc::now();
        let from = request.from.as_ref().and_then(timestamp).unwrap_or(now - Duration::days(7)).date_naive();
        let to = request.to.as_ref().and_then(timestamp).unwrap_or(now).date_naive() + chrono::Days::new(1);
        // Rankings are short lists: 10 by default, clamped at 100 instead of refused.
        let limit = if request.limit == 0 { 10 } else { i64::from(request.limit.min(100)) };
        let entries = repo::box_office(&mut *self.conn().await?, from, to, limit).await.map_err(status)?;
        Ok(Response::new(wire::BoxOffice { entries, as_of: Some(convert::to_timestamp(now)) }))
    }

    async fn publish_performance(
        &self,
        request: Request<wire::PublishPerformanceRequest>,
    ) -> Result<Response<wire::Performance>, Status> {
        let request = request.into_inner();
        let id = parse_id("performance_id", &request.performance_id)?;
        let performance = self.sales.publish(id, request.expected_version, Utc::now()).await.map_err(status)?;
        Ok(Response::new(performance_to_wire(&performance)))
    }
}

impl CatalogApi {
    async fn store_seat_map(
        &self,
        hall_id: Uuid,
        map: &SeatMap,
        expected: i32,
    ) -> Result<Response<wire::SeatMap>, Status> {
        let version = repo::put_seat_map(&mut *self.conn().await?, hall_id, map, expected).await.map_err(status)?;
        Ok(Response::new(wire::SeatMap { hall_id: hall_id.to_string(), version, ..wire::SeatMap::from(map) }))
    }
}

fn parse_id(field: &str, value: &str) -> Result<Uuid, Status> {
    Uuid::parse_str(value).map_err(|_| invalid(field, "must be a UUID"))
}

// ---- errors → statuses: the one table ----

/// Metadata key carrying the stable, machine-readable error code the gateway exposes.
pub const ERROR_CODE: &str = "floodgate-error-code";

fn invalid(field: &str, reason: &str) -> Status {
    invalid_fields(Invalid(vec![FieldError::new(field, reason)]))
}

fn invalid_fields(invalid: Invalid) -> Status {
    status(CatalogError::Invalid(invalid))
}

/// Maps a catalog error to its gRPC status and stable code.
pub fn status(error: CatalogError) -> Status {
    let (code, stable) = match &error {
        CatalogError::NotFound { .. } => (tonic::Code::NotFound, "NOT_FOUND"),
        CatalogError::Invalid(_) => (tonic::Code::InvalidArgument, "INVALID_FIELDS"),
        CatalogError::Overlap { .. } => (tonic::Code::FailedPrecondition, "SLOT_TAKEN"),
        CatalogError::VersionConflict { .. } => (tonic::Code::Aborted, "VERSION_CONFLICT"),
        CatalogError::DuplicateHall { .. } => (tonic::Code::AlreadyExists, "DUPLICATE_HALL"),
        CatalogError::InUse { .. } => (tonic::Code::FailedPrecondition, "IN_USE"),
        CatalogError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_)) => {
            (tonic::Code::Unavailable, "UNAVAILABLE")
        }
        // PostgreSQL text cannot hold NUL (22021): the client's text, not our failure.
        CatalogError::Database(sqlx::Error::Database(e)) if e.code().as_deref() == Some("22021") => {
            let mut status = Status::invalid_argument("text must not contain NUL characters");
            status.metadata_mut().insert(ERROR_CODE, tonic::metadata::MetadataValue::from_static("INVALID_TEXT"));
            return status;
        }
        CatalogError::Database(_) | CatalogError::Corrupt(_) => (tonic::Code::Internal, "INTERNAL"),
    };
    if code == tonic::Code::Internal || code == tonic::Code::Unavailable {
        // Logged once, here at the edge, with its whole chain; the client gets no internals.
        tracing::error!(error = %floodgate_telemetry::error_chain(&error), "catalog request failed");
    }
    let message = if code == tonic::Code::Internal { "internal error".to_owned() } else { error.to_string() };
    let mut status = Status::new(code, message);
    status.metadata_mut().insert(ERROR_CODE, tonic::metadata::MetadataValue::from_static(stable));
    status
}
