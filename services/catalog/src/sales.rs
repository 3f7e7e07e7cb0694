//! The use cases that change what is on sale: prices, sale configuration, publishing — each one
//! transaction that locks the performance, decides with the pure domain, writes, and (for
//! published performances) records the event that tells booking and the waiting room.

use chrono::{DateTime, Utc};
use floodgate_eventbus::{Event, outbox::Outbox};
use floodgate_proto::catalog::v1 as wire;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    convert,
    domain::{
        Invalid,
        pricing::{Audience, PriceList, PriceQuery, Quote, TierPricing},
        publish::{self, Candidate},
        sale::SaleConfig,
        seat_map::{Area, SeatMap},
    },
    error::CatalogError,
    model::{Performance, PerformanceStatus},
    repo::{self, PerformanceContext},
};

const PRODUCER: &str = "catalog";

/// Everything the catalog's sales use cases need.
#[derive(Debug, Clone)]
pub struct Sales {
    pub pool: PgPool,
    pub outbox: Outbox,
}

impl Sales {
    /// Replaces a performance's price tiers; a published one announces the change.
    pub async fn set_price_tiers(
        &self,
        performance_id: Uuid,
        tiers: &TierPricing,
        names: &std::collections::BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<(), CatalogError> {
        let mut tx = self.pool.begin().await?;
        let context = repo::performance_context(&mut tx, performance_id, true).await?;
        refuse_cancelled(&context)?;
        repo::set_price_tiers(&mut tx, performance_id, tiers, names).await?;
        // A new version, so cached seat maps (keyed by it) are not served with old prices.
        sqlx::query("UPDATE performances SET version = version + 1, updated_at = now() WHERE id = $1")
            .bind(performance_id)
            .execute(&mut *tx)
            .await?;
        if context.performance.status == PerformanceStatus::Published {
            let changed = wire::PricesChanged {
                performance_id: performance_id.to_string(),
                tiers: tiers_to_wire(tiers, names),
                version: context.performance.version + 1,
                // Tier prices are the same for every audience: nothing to resolve but the grades.
                prices: PriceList::Tiers(tiers.clone())
                    .resolve(&Default::default(), context.hall_type, context.performance.starts_at)
                    .into_iter()
                    .map(|(grade_code, _, price)| wire::GradePrice {
                        grade_code,
                        audience: 0,
                        price: Some(convert::money_to_wire(price)),
                    })
                    .collect(),
            };
            self.outbox.enqueue(&mut tx, &Event::new(PRODUCER, performance_id.to_string(), &changed, now)).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets the sale configuration, checked against the performance's start.
    pub async fn set_sale_config(
        &self,
        performance_id: Uuid,
        config: &SaleConfig,
        expected_version: i64,
        now: DateTime<Utc>,
    ) -> Result<Performance, CatalogError> {
        let mut tx = self.pool.begin().await?;
        let context = repo::performance_context(&mut tx, performance_id, true).await?;
        refuse_cancelled(&context)?;
        check_version(&context, expected_version)?;
        config.validate(context.performance.starts_at, now)?;
        repo::set_sale_config(&mut tx, performance_id, config).await?;
        let performance = repo::performance(&mut tx, performance_id).await?;
        if performance.status == PerformanceStatus::Published {
            let changed = wire::SaleConfigChanged {
                performance_id: performance_id.to_string(),
                sale_config: Some(convert::sale_config_to_wire(config)),
                version: performance.version,
            };
            self.outbox.enqueue(&mut tx, &Event::new(PRODUCER, performance_id.to_string(), &changed, now)).await?;
        }
        tx.commit().await?;
        Ok(performance)
    }

    /// Cancels a performance; a published one is announced so booking and the waiting room stop
    /// selling (refunds are booking's and payment's business).
    pub async fn cancel(
        &self,
        performance_id: Uuid,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Performance, CatalogError> {
        let mut tx = self.pool.begin().await?;
        let context = repo::performance_context(&mut tx, performance_id, true).await?;
        let performance = repo::cancel_performance(&mut tx, performance_id).await?;
        if context.performance.status == PerformanceStatus::Published {
            let cancelled = wire::PerformanceCancelled {
                performance_id: performance_id.to_string(),
                reason: reason.to_owned(),
                cancelled_at: Some(convert::to_timestamp(now)),
            };
            self.outbox.enqueue(&mut tx, &Event::new(PRODUCER, performance_id.to_string(), &cancelled, now)).await?;
        }
        tx.commit().await?;
        Ok(performance)
    }

    /// What `seat_id` (or a place in GA `section_id`) costs for `audience`.
    pub async fn quote(
        &self,
        performance_id: Uuid,
        seat_id: &str,
        section_id: &str,
        audience: Audience,
    ) -> Result<(Quote, String), CatalogError> {
        let mut conn = self.pool.acquire().await?;
        let context = repo::performance_context(&mut conn, performance_id, false).await?;
        let (_, map) = repo::seat_map(&mut conn, context.performance.hall_id, 0).await?;
        let grade = grade_of(&map, seat_id, section_id)?;
        let prices = repo::price_list(&mut conn, &context)
            .await?
            .ok_or_else(|| invalid("performance_id", "this performance has no prices yet"))?;
        let quote = prices
            .quote(&PriceQuery {
                grade: &grade,
                audience,
                hall_type: context.hall_type,
                starts_at: context.performance.starts_at,
            })
            .map_err(|e| invalid("seat_id", &e.to_string()))?;
        Ok((quote, grade))
    }

    /// Publishes a draft: checks everything booking and the waiting room will rely on, freezes
    /// the seat-map version, and records `PerformancePublished` in the same transaction.
    pub async fn publish(
        &self,
        performance_id: Uuid,
        expected_version: i64,
        now: DateTime<Utc>,
    ) -> Result<Performance, CatalogError> {
        let mut tx = self.pool.begin().await?;
        let context = repo::performance_context(&mut tx, performance_id, true).await?;
        check_version(&context, expected_version)?;
        let seat_map = match repo::seat_map(&mut tx, context.performance.hall_id, 0).await {
            Ok(found) => Some(found),
            Err(CatalogError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        let prices = repo::price_list(&mut tx, &context).await?;
        let sale = repo::sale_config(&mut tx, performance_id).await?;
        publish::check(
            &Candidate {
                is_draft: context.performance.status == PerformanceStatus::Draft,
                starts_at: context.performance.starts_at,
                hall_type: context.hall_type,
                seat_map: seat_map.as_ref().map(|(_, map)| map),
                prices: prices.as_ref(),
                sale: sale.as_ref(),
            },
            now,
        )?;
        let (Some((map_version, map)), Some(prices), Some(sale)) = (seat_map, prices, sale) else {
            unreachable!("publish::check refuses a candidate without them")
        };
        let performance = repo::mark_published(&mut tx, performance_id, map_version).await?;
        let published =
            self.published_event(&mut tx, &context, &performance, (map_version, &map), &prices, &sale).await?;
        self.outbox.enqueue(&mut tx, &Event::new(PRODUCER, performance_id.to_string(), &published, now)).await?;
        tx.commit().await?;
        Ok(performance)
    }

    async fn published_event(
        &self,
        conn: &mut PgConnection,
        context: &PerformanceContext,
        performance: &Performance,
        (map_version, map): (i32, &SeatMap),
        prices: &PriceList,
        sale: &SaleConfig,
    ) -> Result<wire::PerformancePublished, CatalogError> {
        let (event, _) = repo::event(&mut *conn, performance.event_id).await?;
        let (tiers, pricing_rules) = match prices {
            PriceList::Tiers(tiers) => {
                let (_, names) = repo::price_tiers(conn, performance.id).await?;
                (tiers_to_wire(tiers, &names), None)
            }
            PriceList::Cinema(cinema) => (Vec::new(), Some(convert::cinema_pricing_to_wire(cinema))),
        };
        Ok(wire::PerformancePublished {
            performance: Some(wire::Performance {
                seat_map_version: map_version,
                sale_config: Some(convert::sale_config_to_wire(sale)),
                ..convert::performance_to_wire(performance)
            }),
            event: Some(convert::event_to_wire(&event)),
            venue_id: context.venue_id.to_string(),
            venue_time_zone: context.time_zone.name().to_owned(),
            hall_type: convert::hall_type_to_wire(context.hall_type).into(),
            seat_map: Some(wire::SeatMap {
                hall_id: performance.hall_id.to_string(),
                version: map_version,
                ..wire::SeatMap::from(map)
            }),
            tiers,
            pricing_rules,
            prices: resolved_prices(prices, map, context.hall_type, performance.starts_at),
        })
    }
}

/// The prices booking charges, resolved here where the pricing rules live.
pub(crate) fn resolved_prices(
    prices: &PriceList,
    map: &SeatMap,
    hall_type: crate::domain::pricing::HallType,
    starts_at: DateTime<Utc>,
) -> Vec<wire::GradePrice> {
    prices
        .resolve(&map.grades(), hall_type, starts_at)
        .into_iter()
        .map(|(grade_code, audience, price)| wire::GradePrice {
            grade_code,
            audience: audience.map(convert::audience_to_wire).unwrap_or_default().into(),
            price: Some(convert::money_to_wire(price)),
        })
        .collect()
}

pub(crate) fn tiers_to_wire(
    tiers: &TierPricing,
    names: &std::collections::BTreeMap<String, String>,
) -> Vec<wire::PriceTier> {
    tiers
        .prices
        .iter()
        .map(|(grade, price)| wire::PriceTier {
            grade_code: grade.clone(),
            grade_name: names.get(grade).cloned().unwrap_or_default(),
            price: Some(convert::money_to_wire(*price)),
        })
        .collect()
}

/// The grade a seat (or a GA section) is priced by.
fn grade_of(map: &SeatMap, seat_id: &str, section_id: &str) -> Result<String, CatalogError> {
    for section in &map.sections {
        match &section.area {
            Area::GeneralAdmission { .. } if !section_id.is_empty() && section.id == section_id => {
                return Ok(section.grade.clone());
            }
            Area::Reserved { rows } if !seat_id.is_empty() => {
                if let Some(seat) = rows.iter().flat_map(|r| &r.seats).find(|s| s.id == seat_id) {
                    return Ok(seat.grade(section).to_owned());
                }
            }
            _ => {}
        }
    }
    Err(invalid(
        if seat_id.is_empty() { "section_id" } else { "seat_id" },
        "no such seat or section in this hall's map",
    ))
}

fn check_version(context: &PerformanceContext, expected: i64) -> Result<(), CatalogError> {
    // 0 means "whatever is current" for callers that do not track versions.
    if expected != 0 && context.performance.version != expected {
        return Err(CatalogError::VersionConflict { expected, actual: context.performance.version });
    }
    Ok(())
}

fn refuse_cancelled(context: &PerformanceContext) -> Result<(), CatalogError> {
    if context.performance.status == PerformanceStatus::Cancelled {
        return Err(invalid("performance_id", "the performance is cancelled"));
    }
    Ok(())
}

fn invalid(field: &str, reason: &str) -> CatalogError {
    CatalogError::Invalid(Invalid(vec![crate::domain::FieldError::new(field, reason)]))
}
