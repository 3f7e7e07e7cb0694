//! Seat maps are stored as immutable versions, written under optimistic concurrency.

use crate::support;
use floodgate_catalog::{
    domain::{
        layout::{SeatedLayout, SectionLayout, generate},
        pricing::HallType,
        seat_map::Point,
    },
    error::CatalogError,
    repo,
};

fn block(rows: u16, seats: u16) -> SectionLayout {
    SectionLayout::Seated(SeatedLayout {
        id: "A".into(),
        name: "Block A".into(),
        grade: "R".into(),
        first_row: "A".into(),
        rows,
        seats_per_row: seats,
        origin: Point { x: 0.0, y: 20.0 },
        seat_spacing: 0.5,
        row_spacing: 0.9,
        curve_degrees: 0.0,
        aisle_every: 10,
        accessible_first_row: false,
    })
}

#[tokio::test]
async fn versions_are_appended_and_a_stale_writer_is_refused() -> anyhow::Result<()> {
    let db = support::database().await?;
    let mut conn = db.pool.acquire().await?;
    let venue = repo::insert_venue(&mut conn, &support::venue("Olympic Hall")).await?;
    let hall = repo::insert_hall(&mut conn, venue.id, "Main", HallType::ConcertHall).await?;

    let first = generate(&[block(10, 20)], Point::default());
    assert_eq!(repo::put_seat_map(&mut conn, hall.id, &first, 0).await?, 1);
    let second = generate(&[block(12, 20)], Point::default());
    assert_eq!(repo::put_seat_map(&mut conn, hall.id, &second, 1).await?, 2);

    // A writer that read version 1 cannot overwrite version 2.
    let stale = repo::put_seat_map(&mut conn, hall.id, &first, 1).await;
    assert!(matches!(stale, Err(CatalogError::VersionConflict { expected: 1, actual: 2 })), "{stale:?}");

    // Old versions stay readable for performances published with them.
    assert_eq!(repo::seat_map(&mut conn, hall.id, 1).await?, (1, first));
    assert_eq!(repo::seat_map(&mut conn, hall.id, 0).await?, (2, second));
    Ok(())
}

#[tokio::test]
async fn an_invalid_map_is_refused_before_it_is_stored() -> anyhow::Result<()> {
    let db = support::database().await?;
    let mut conn = db.pool.acquire().await?;
    let venue = repo::insert_venue(&mut conn, &support::venue("Olympic Hall")).await?;
    let hall = repo::insert_hall(&mut conn, venue.id, "Main", HallType::ConcertHall).await?;
    // Two blocks generated from one layout: the same section and seat ids twice.
    let map = generate(&[block(2, 2), block(2, 2)], Point::default());
    let refused = repo::put_seat_map(&mut conn, hall.id, &map, 0).await;
    assert!(matches!(refused, Err(CatalogError::Invalid(_))), "{refused:?}");
    assert!(matches!(repo::seat_map(&mut conn, hall.id, 0).await, Err(CatalogError::NotFound { .. })));
    Ok(())
}
