//! A load run of one waiting room against the real Redis (not a unit benchmark: it needs
//! `FLOODGATE_TEST_REDIS_URL`, e.g. from `./floodgate test`'s servers or any local Redis).
//!
//! Measures joins per second, position look-ups per second, and how closely admissions follow
//! the configured rate, with the room holding `FLOODGATE_LOAD_BUYERS` buyers (default 1,000,000).
//!
//!     FLOODGATE_TEST_REDIS_URL=redis://127.0.0.1:56380 cargo bench -p floodgate-queue --bench room_load

use std::time::{Duration, Instant};

use floodgate_queue::store::{Outflow, RoomState, RoomStore};

const CONCURRENCY: usize = 64;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Ok(url) = std::env::var("FLOODGATE_TEST_REDIS_URL") else {
        eprintln!("room_load: set FLOODGATE_TEST_REDIS_URL to a Redis this run may fill (skipped)");
        return Ok(());
    };
    let buyers: usize = std::env::var("FLOODGATE_LOAD_BUYERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let prefix = format!("load:{}:", uuid::Uuid::new_v4().simple());
    let client = redis::Client::open(url.as_str())?;
    let store = RoomStore::new(redis::aio::ConnectionManager::new(client).await?, &prefix);
    let sale = "load";
    let outflow = Outflow {
        rate_per_second: 500,
        max_active: u32::MAX / 2,
        admission_ttl: Duration::from_secs(3_600),
        heartbeat_grace: Duration::from_secs(3_600),
    };
    store.create_room(sale, RoomState::Open, outflow).await?;

    // Joins: CONCURRENCY tasks, each joining its share of buyers.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut entries = Vec::new();
            for i in (t..buyers).step_by(CONCURRENCY) {
                entries.push(store.join(sale, &format!("buyer-{i}")).await?.entry_id);
            }
            anyhow::Ok(entries)
        }));
    }
    let mut entries = Vec::with_capacity(buyers);
    for task in tasks {
        entries.extend(task.await??);
    }
    let join_secs = started.elapsed().as_secs_f64();
    println!(
        "joins: {buyers} in {join_secs:.1} s = {:.0}/s ({CONCURRENCY} concurrent clients)",
        buyers as f64 / join_secs
    );

    // Position look-ups across the whole line.
    let lookups = 200_000.min(buyers * 2);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let store = store.clone();
        let sample: Vec<String> =
            entries.iter().skip(t).step_by(CONCURRENCY).take(lookups / CONCURRENCY).cloned().collect();
        tasks.push(tokio::spawn(async move {
            for entry in sample {
                store.place(sale, &entry).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let lookup_secs = started.elapsed().as_secs_f64();
    println!("position look-ups: {lookups} in {lookup_secs:.1} s = {:.0}/s", lookups as f64 / lookup_secs);

    // Admission accuracy: an admission loop every 50 ms for 10 s at 500/s.
    let mut admitted = 0usize;
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while started.elapsed() < Duration::from_secs(10) {
        tick.tick().await;
        admitted += store.admit(sale, 1_000).await?.len();
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = admitted as f64 / secs;
    println!(
        "admission: {admitted} in {secs:.2} s = {rate:.1}/s for 500/s configured ({:+.1}%)",
        (rate / 500.0 - 1.0) * 100.0
    );

    let stats = store.stats(sale).await?;
    println!("room: {} waiting, {} admitted", stats.waiting, stats.admitted);
    // Leave nothing behind in a shared Redis.
    let mut conn = redis::Client::open(url.as_str())?.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}*")).query_async(&mut conn).await?;
    if !keys.is_empty() {
        // UNLINK frees the million-member sets in the background instead of blocking Redis.
        let _: () = redis::cmd("UNLINK").arg(keys).query_async(&mut conn).await?;
    }
    Ok(())
}
