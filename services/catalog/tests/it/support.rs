//! Set-up shared by the catalog's integration tests.

use floodgate_catalog::model::{NewVenue, VenueDetails};
use floodgate_testkit::TestDatabase;

/// A fresh database with the event-bus and catalog schemas.
pub async fn database() -> anyhow::Result<TestDatabase> {
    TestDatabase::new(&[floodgate_eventbus::migrator(), &floodgate_catalog::MIGRATOR]).await
}

/// A venue in Seoul.
pub fn venue(name: &str) -> NewVenue {
    NewVenue {
        details: VenueDetails { name: name.into(), ..VenueDetails::default() },
        time_zone: chrono_tz::Asia::Seoul,
    }
}
