//! Set-up shared by the catalog's integration tests.

use floodgate_catalog::model::{NewVenue, VenueDetails};
use floodgate_proto::catalog::v1::{self as wire, catalog_service_client::CatalogServiceClient};
use floodgate_testkit::TestDatabase;
use tonic::transport::Channel;

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

/// Through the API: a venue in Seoul named `venue` with one hall "Main" of `hall_type`.
pub async fn venue_with_hall(
    client: &mut CatalogServiceClient<Channel>,
    venue: &str,
    hall_type: wire::HallType,
) -> anyhow::Result<(wire::Venue, wire::Hall)> {
    let venue = client
        .create_venue(wire::CreateVenueRequest {
            venue: Some(wire::VenueFields { name: venue.into(), time_zone: "Asia/Seoul".into(), ..Default::default() }),
            idempotency_key: String::new(),
        })
        .await?
        .into_inner();
    let hall = client
        .create_hall(wire::CreateHallRequest {
            venue_id: venue.venue_id.clone(),
            name: "Main".into(),
            hall_type: hall_type.into(),
        })
        .await?
        .into_inner();
    Ok((venue, hall))
}
