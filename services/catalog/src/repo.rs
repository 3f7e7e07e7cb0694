//! The catalog's PostgreSQL access: plain async functions over a connection or transaction,
//! one module per part of the catalog.

use chrono::{DateTime, Duration, Utc};
use sqlx::{Connection as _, PgConnection, Row as _, postgres::PgRow};
use uuid::Uuid;

use floodgate_proto::catalog::v1 as wire;

use std::collections::BTreeMap;

use crate::{
    domain::{
        money::{Currency, Money},
        pricing::{CinemaPricing, HallType, PriceList, TierPricing},
        sale::SaleConfig,
        schedule::Slot,
        seat_map::SeatMap,
    },
    error::CatalogError,
    model::{self, Event, Hall, NewEvent, NewVenue, Performance, PerformanceStatus, Venue},
};

/// SQLSTATE of an exclusion-constraint violation.
const EXCLUSION_VIOLATION: &str = "23P01";
const UNIQUE_VIOLATION: &str = "23505";
const DEADLOCK_DETECTED: &str = "40P01";

mod events;
mod pricing;
mod read_models;
mod seat_maps;
mod venues;

pub use events::*;
pub use pricing::*;
pub use read_models::*;
pub use seat_maps::*;
pub use venues::*;
