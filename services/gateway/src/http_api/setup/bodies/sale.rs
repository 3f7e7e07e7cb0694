//! What a sale charges and how it runs: price tiers, cinema pricing rules, the sale configuration.

use chrono::{DateTime, Utc};
use floodgate_proto::{catalog::v1 as catalog, types::v1 as types};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{HallType, Money, proto_enum, seconds, timestamp};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceTier {
    pub grade_code: String,
    pub grade_name: String,
    pub price: Money,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceTiers {
    pub tiers: Vec<PriceTier>,
}

impl PriceTiers {
    pub fn into_request(self, performance_id: String) -> catalog::SetPriceTiersRequest {
        let tiers = self
            .tiers
            .into_iter()
            .map(|t| catalog::PriceTier {
                grade_code: t.grade_code,
                grade_name: t.grade_name,
                price: Some((&t.price).into()),
            })
            .collect();
        catalog::SetPriceTiersRequest { performance_id, tiers }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeBand {
    Morning,
    Normal,
    LateNight,
}

impl TimeBand {
    pub(super) fn proto(self) -> i32 {
        proto_enum("TIME_BAND", &self, catalog::TimeBand::from_str_name)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Adult,
    Youth,
    Senior,
    Disabled,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BandStart {
    pub band: TimeBand,
    /// Local minutes after midnight in the venue's time zone.
    pub starts_at_minute: u32,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PricingRule {
    pub hall_type: HallType,
    pub band: TimeBand,
    pub audience: Audience,
    pub price: Money,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Surcharge {
    pub grade_code: String,
    pub surcharge: Money,
}

/// Cinema pricing for a venue: hall type × time-of-day band × audience, plus grade surcharges.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PricingRules {
    pub expected_version: i64,
    pub bands: Vec<BandStart>,
    pub rules: Vec<PricingRule>,
    #[serde(default)]
    pub surcharges: Vec<Surcharge>,
}

impl PricingRules {
    pub fn into_request(self, venue_id: String) -> catalog::SetPricingRulesRequest {
        catalog::SetPricingRulesRequest {
            rules: Some(catalog::PricingRules {
                venue_id,
                bands: self
                    .bands
                    .into_iter()
                    .map(|b| catalog::TimeBandBoundary { band: b.band.proto(), starts_at_minute: b.starts_at_minute })
                    .collect(),
                rules: self
                    .rules
                    .into_iter()
                    .map(|r| catalog::PricingRule {
                        hall_type: r.hall_type.proto(),
                        band: r.band.proto(),
                        audience: proto_enum("AUDIENCE", &r.audience, types::Audience::from_str_name),
                        price: Some((&r.price).into()),
                    })
                    .collect(),
                time_zone: String::new(),
                surcharges: self
                    .surcharges
                    .into_iter()
                    .map(|s| catalog::GradeSurcharge {
                        grade_code: s.grade_code,
                        surcharge: Some((&s.surcharge).into()),
                    })
                    .collect(),
                version: self.expected_version,
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaleMode {
    Reserved,
    GeneralAdmission,
    Lottery,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeeStep {
    /// Applies when cancelling at least this many days before the show.
    pub days_before: u32,
    /// 1000 = 10% of the ticket price.
    pub fee_basis_points: u32,
    #[serde(default)]
    pub fixed_fee: Option<Money>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleConfig {
    pub expected_version: i64,
    pub mode: SaleMode,
    pub waiting_room_opens_at: DateTime<Utc>,
    pub sale_opens_at: DateTime<Utc>,
    pub sale_closes_at: DateTime<Utc>,
    pub per_buyer_limit: u32,
    pub hold_ttl_seconds: u32,
    pub payment_deadline_seconds: u32,
    pub admission_rate_per_second: u32,
    pub max_active_shoppers: u32,
    pub admission_ttl_seconds: u32,
    /// Steps by `days_before`, largest first; the first met applies. Empty: no cancellation fee.
    #[serde(default)]
    pub fee_ladder: Vec<FeeStep>,
}

impl SaleConfig {
    pub fn into_request(self, performance_id: String) -> catalog::SetSaleConfigRequest {
        catalog::SetSaleConfigRequest {
            performance_id,
            expected_version: self.expected_version,
            sale_config: Some(catalog::SaleConfig {
                mode: proto_enum("SALE_MODE", &self.mode, catalog::SaleMode::from_str_name),
                waiting_room_opens_at: Some(timestamp(&self.waiting_room_opens_at)),
                sale_opens_at: Some(timestamp(&self.sale_opens_at)),
                sale_closes_at: Some(timestamp(&self.sale_closes_at)),
                per_buyer_limit: self.per_buyer_limit,
                hold_ttl: Some(seconds(self.hold_ttl_seconds)),
                payment_deadline: Some(seconds(self.payment_deadline_seconds)),
                fee_ladder: self
                    .fee_ladder
                    .iter()
                    .map(|step| catalog::CancellationFeeStep {
                        days_before: step.days_before,
                        fee_basis_points: step.fee_basis_points,
                        fixed_fee: step.fixed_fee.as_ref().map(Into::into),
                    })
                    .collect(),
                admission_rate_per_second: self.admission_rate_per_second,
                max_active_shoppers: self.max_active_shoppers,
                admission_ttl: Some(seconds(self.admission_ttl_seconds)),
            }),
        }
    }
}
