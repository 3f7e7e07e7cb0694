//! Performances never overlap in a hall — PostgreSQL decides, even for concurrent creates.

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use floodgate_catalog::{
    domain::pricing::HallType,
    error::CatalogError,
    model::{Hall, NewEvent},
    repo,
};
use floodgate_testkit::TestDatabase;
use uuid::Uuid;

use crate::support;

/// A cinema screen and a 120-minute film.
async fn screen_and_film(db: &TestDatabase) -> anyhow::Result<(Hall, Uuid)> {
    let mut conn = db.pool.acquire().await?;
    let venue = repo::insert_venue(&mut conn, &support::venue("Floodgate Cinema Gangnam")).await?;
    let hall = repo::insert_hall(&mut conn, venue.id, "Screen 1", HallType::Imax).await?;
    let film = repo::insert_event(
        &mut conn,
        &NewEvent {
            title: "Ticket to Ride".into(),
            category: "movie".into(),
            runtime_minutes: 120,
            ..NewEvent::default()
        },
    )
    .await?;
    Ok((hall, film.id))
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 24, h, m, 0).single().expect("time")
}

#[tokio::test]
async fn an_overlapping_showtime_is_refused_and_names_the_one_in_the_way() -> anyhow::Result<()> {
    let db = support::database().await?;
    let (hall, film) = screen_and_film(&db).await?;
    let mut conn = db.pool.acquire().await?;
    let cleaning = Duration::minutes(20);

    let first = repo::insert_performance(&mut conn, film, hall.id, at(10, 0), cleaning).await?;
    assert_eq!(first.ends_at, at(12, 20), "runtime plus cleaning");

    let clash = repo::insert_performance(&mut conn, film, hall.id, at(12, 19), cleaning).await;
    match clash {
        Err(CatalogError::Overlap { performance_id, starts_at, ends_at }) => {
            assert_eq!(performance_id, first.id);
            assert_eq!((starts_at, ends_at), (at(10, 0), at(12, 20)));
        }
        other => anyhow::bail!("expected an overlap, got {other:?}"),
    }

    // Back to back is fine; so is the same time in another hall.
    repo::insert_performance(&mut conn, film, hall.id, at(12, 20), cleaning).await?;
    let other_hall = repo::insert_hall(&mut conn, hall.venue_id, "Screen 2", HallType::TwoD).await?;
    repo::insert_performance(&mut conn, film, other_hall.id, at(10, 0), cleaning).await?;
    Ok(())
}

#[tokio::test]
async fn the_overlap_check_works_inside_a_caller_transaction() -> anyhow::Result<()> {
    let db = support::database().await?;
    let (hall, film) = screen_and_film(&db).await?;
    let mut tx = db.pool.begin().await?;
    let first = repo::insert_performance(&mut tx, film, hall.id, at(18, 0), Duration::zero()).await?;
    let clash = repo::insert_performance(&mut tx, film, hall.id, at(19, 0), Duration::zero()).await;
    assert!(
        matches!(clash, Err(CatalogError::Overlap { performance_id, .. }) if performance_id == first.id),
        "{clash:?}"
    );
    // The transaction is still usable after the refused insert.
    repo::insert_performance(&mut tx, film, hall.id, at(20, 0), Duration::zero()).await?;
    tx.commit().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_many_concurrent_creates_for_one_slot_exactly_one_wins() -> anyhow::Result<()> {
    let db = support::database().await?;
    let (hall, film) = screen_and_film(&db).await?;
    for round in 0..5u32 {
        let starts_at = at(8, 0) + Duration::hours(i64::from(round) * 3);
        let attempts = (0..8i64).map(|i| {
            let pool = db.pool.clone();
            // Staggered by minutes, so every pair overlaps but none is identical.
            tokio::spawn(async move {
                let mut conn = pool.acquire().await?;
                repo::insert_performance(&mut conn, film, hall.id, starts_at + Duration::minutes(i), Duration::zero())
                    .await
                    .map_err(anyhow::Error::from)
            })
        });
        let results = futures::future::join_all(attempts).await;
        let won = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
        let refused = results.iter().filter(|r| matches!(r, Ok(Err(e)) if e.downcast_ref::<CatalogError>().is_some_and(|e| matches!(e, CatalogError::Overlap { .. })))).count();
        let other: Vec<String> = results
            .iter()
            .filter_map(|r| match r {
                Ok(Err(e))
                    if !e.downcast_ref::<CatalogError>().is_some_and(|e| matches!(e, CatalogError::Overlap { .. })) =>
                {
                    Some(format!("{e:#}"))
                }
                Err(e) => Some(e.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!((won, refused), (1, 7), "round {round}; other outcomes: {other:?}");
    }
    Ok(())
}

#[tokio::test]
async fn unknown_events_and_halls_are_not_found() -> anyhow::Result<()> {
    let db = support::database().await?;
    let (hall, film) = screen_and_film(&db).await?;
    let mut conn = db.pool.acquire().await?;
    let nobody = Uuid::now_v7();
    assert!(matches!(
        repo::insert_performance(&mut conn, nobody, hall.id, at(10, 0), Duration::zero()).await,
        Err(CatalogError::NotFound { what: "event", .. })
    ));
    assert!(matches!(
        repo::insert_performance(&mut conn, film, nobody, at(10, 0), Duration::zero()).await,
        Err(CatalogError::NotFound { what: "hall", .. })
    ));
    assert!(matches!(
        repo::insert_hall(&mut conn, hall.venue_id, "Screen 1", HallType::TwoD).await,
        Err(CatalogError::DuplicateHall { .. })
    ));
    Ok(())
}
