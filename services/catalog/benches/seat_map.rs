//! Building and serving a 60,000-seat stadium map.
//!
//! - build: generate the layout, validate it, encode it compactly (what a cache miss costs);
//! - serve cached: take the cached entry and encode the response exactly as tonic does;
//! - serve full: encode the full `SeatMap` message, for comparison with the compact path.
//!
//! Run with `cargo bench -p floodgate-catalog --bench seat_map`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use floodgate_catalog::{
    domain::{
        layout::{SeatedLayout, SectionLayout, generate},
        seat_map::{Point, SeatMap},
    },
    seat_map_cache::{SeatMapCache, ServedMap},
};
use floodgate_proto::catalog::v1 as wire;
use prost::Message as _;

/// 40 curved blocks of 30 rows × 50 seats around the stage.
fn stadium() -> SeatMap {
    let blocks: Vec<_> = (0..40)
        .map(|b| {
            let angle = f64::from(b) * 9.0_f64.to_radians();
            SectionLayout::Seated(SeatedLayout {
                id: format!("{}", 101 + b),
                name: format!("Block {}", 101 + b),
                grade: ["VIP", "R", "S", "A"][(b % 4) as usize].into(),
                first_row: "A".into(),
                rows: 30,
                seats_per_row: 50,
                origin: Point { x: 60.0 * angle.cos(), y: 60.0 * angle.sin() },
                seat_spacing: 0.5,
                row_spacing: 0.8,
                curve_degrees: 8.0,
                aisle_every: 10,
                accessible_first_row: true,
            })
        })
        .collect();
    generate(&blocks, Point::default())
}

fn tiers() -> Vec<wire::PriceTier> {
    ["VIP", "R", "S", "A"]
        .iter()
        .zip([198_000, 165_000, 132_000, 99_000])
        .map(|(grade, minor)| wire::PriceTier {
            grade_code: (*grade).into(),
            grade_name: (*grade).into(),
            price: Some(floodgate_proto::types::v1::Money { minor, currency: "KRW".into() }),
        })
        .collect()
}

fn seat_map(c: &mut Criterion) {
    let map = stadium();
    assert_eq!(map.capacity().total, 60_000);
    let served = ServedMap::build("etag".into(), &map, 1, tiers());
    let full = wire::SeatMap::from(&map);
    eprintln!("60,000 seats: compact {} KiB, full {} KiB", served.compact.len() / 1024, full.encoded_len() / 1024);

    c.bench_function("build 60k-seat map (generate + validate + compact encode)", |b| {
        b.iter(|| {
            let map = stadium();
            map.validate(None).expect("valid");
            black_box(ServedMap::build("etag".into(), &map, 1, tiers()))
        })
    });

    let cache = SeatMapCache::new(16);
    cache.insert(served);
    c.bench_function("serve cached 60k-seat map (cache hit + response encode)", |b| {
        b.iter(|| {
            let hit = cache.get(black_box("etag")).expect("cached");
            black_box(hit.response("perf".into()).encode_to_vec())
        })
    });

    c.bench_function("encode full 60k-seat SeatMap (for comparison)", |b| b.iter(|| black_box(full.encode_to_vec())));
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = seat_map
}
criterion_main!(benches);
