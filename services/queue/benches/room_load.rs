//! A load run of one waiting room on a real Redis (not a unit benchmark: it needs
//! `FLOODGATE_TEST_REDIS_URL`, e.g. `./floodgate test`'s servers or any local Redis).
//!
//! Measures joins per second, position look-ups per second, and how closely admissions follow
//! the configured rate, with the room holding `FLOODGATE_LOAD_BUYERS` buyers (default 1,000,000).
//!
//!     FLOODGATE_TEST_REDIS_URL=redis://127.0.0.1:56380 cargo bench -p floodgate-queue --bench room_load
//!
//! With `FLOODGATE_LOAD_QUEUE_URL` (e.g. `http://127.0.0.1:50052` after `./floodgate up`, with
//! `FLOODGATE_TEST_REDIS_URL=redis://127.0.0.1:56379` and `FLOODGATE_LOAD_PREFIX=fg:`), joins and
//! look-ups go through the running service's gRPC API and its own admission loop admits.

use std::time::{Duration, Instant};

use floodgate_proto::queue::v1::{GetPositionRequest, JoinRequest, queue_service_client::QueueServiceClient};
use floodgate_queue::store::{Outflow, RoomState, RoomStore};
use tonic::transport::Channel;

const CONCURRENCY: usize = 64;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Ok(url) = std::env::var("FLOODGATE_TEST_REDIS_URL") else {
        eprintln!("room_load: set FLOODGATE_TEST_REDIS_URL to a Redis this run may fill (skipped)");
        return Ok(());
    };
    let buyers: usize = std::env::var("FLOODGATE_LOAD_BUYERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let service = std::env::var("FLOODGATE_LOAD_QUEUE_URL").ok();
    let prefix =
        std::env::var("FLOODGATE_LOAD_PREFIX").unwrap_or_else(|_| format!("load:{}:", uuid::Uuid::new_v4().simple()));
    let sale = format!("load-{}", uuid::Uuid::new_v4().simple());
    let client = redis::Client::open(url.as_str())?;
    let store = RoomStore::new(redis::aio::ConnectionManager::new(client).await?, &prefix);
    let outflow = Outflow {
        rate_per_second: 500,
        max_active: u32::MAX / 2,
        admission_ttl: Duration::from_secs(3_600),
        heartbeat_grace: Duration::from_secs(3_600),
    };
    store.create_room(&sale, RoomState::Open, outflow).await?;
    let grpc: Option<QueueServiceClient<Channel>> = match &service {
        Some(url) => {
            Some(QueueServiceClient::new(tonic::transport::Endpoint::from_shared(url.clone())?.connect().await?))
        }
        None => None,
    };
    let via = if service.is_some() { "through the gRPC service" } else { "against the store" };

    // Joins: CONCURRENCY tasks, each joining its share of buyers.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let (store, grpc, sale) = (store.clone(), grpc.clone(), sale.clone());
        tasks.push(tokio::spawn(async move {
            let mut entries = Vec::new();
            for i in (t..buyers).step_by(CONCURRENCY) {
                let buyer = format!("buyer-{i}");
                let entry = match grpc.clone() {
                    Some(mut grpc) => {
                        let request =
                            JoinRequest { sale_id: sale.clone(), buyer_id: buyer.clone(), device_id: String::new() };
                        grpc.join(request).await?.into_inner().entry_id
                    }
                    None => store.join(&sale, &buyer).await?.entry_id,
                };
                entries.push((entry, buyer));
            }
            anyhow::Ok(entries)
        }));
    }
    let mut entries = Vec::with_capacity(buyers);
    for task in tasks {
        entries.extend(task.await??);
    }
    let join_secs = started.elapsed().as_secs_f64();
    let joins = buyers as f64 / join_secs;
    println!("joins {via}: {buyers} in {join_secs:.1} s = {joins:.0}/s ({CONCURRENCY} concurrent clients)");

    // Position look-ups across the whole line.
    let lookups = 200_000.min(buyers * 2);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let (store, grpc, sale) = (store.clone(), grpc.clone(), sale.clone());
        let sample: Vec<(String, String)> =
            entries.iter().skip(t).step_by(CONCURRENCY).take(lookups / CONCURRENCY).cloned().collect();
        tasks.push(tokio::spawn(async move {
            for (entry_id, buyer_id) in sample {
                match grpc.clone() {
                    Some(mut grpc) => {
                        grpc.get_position(GetPositionRequest { sale_id: sale.clone(), entry_id, buyer_id }).await?;
                    }
                    None => {
                        store.place(&sale, &entry_id).await?;
                    }
                }
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let lookup_secs = started.elapsed().as_secs_f64();
    let rate = lookups as f64 / lookup_secs;
    println!("position look-ups {via}: {lookups} in {lookup_secs:.1} s = {rate:.0}/s");

    // Admission accuracy at 500/s for 10 s: our own 50 ms loop, or the service's.
    let before = store.stats(&sale).await?.admitted;
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while started.elapsed() < Duration::from_secs(10) {
        tick.tick().await;
        if service.is_none() {
            store.admit(&sale, 1_000).await?;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let admitted = store.stats(&sale).await?.admitted - before;
    let rate = admitted as f64 / secs;
    let off = (rate / 500.0 - 1.0) * 100.0;
    println!("admission: {admitted} in {secs:.2} s = {rate:.1}/s for 500/s configured ({off:+.1}%)");

    let stats = store.stats(&sale).await?;
    println!("room: {} waiting, {} admitted", stats.waiting, stats.admitted);
    // Leave nothing behind in a shared Redis; UNLINK frees the big sets in the background.
    store.set_state(&sale, RoomState::Closed).await?;
    let mut conn = redis::Client::open(url.as_str())?.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}{{sale:{sale}}}*")).query_async(&mut conn).await?;
    if !keys.is_empty() {
        let _: () = redis::cmd("UNLINK").arg(keys).query_async(&mut conn).await?;
    }
    let _: () = redis::cmd("SREM").arg(format!("{prefix}rooms")).arg(&sale).query_async(&mut conn).await?;
    Ok(())
}
