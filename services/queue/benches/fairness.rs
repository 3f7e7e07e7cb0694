//! The pure parts of the waiting room: drawing the pre-queue order at sale open.
//!
//! Run with `cargo bench -p floodgate-queue --bench fairness`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use floodgate_queue::domain::fairness::{Audit, Seed};

fn fairness(c: &mut Criterion) {
    let entries: Vec<String> = (0..100_000).map(uuid_like).collect();
    let seed = Seed::generate();

    c.bench_function("draw the order of a 100,000-entry pre-queue", |b| {
        b.iter(|| black_box(seed.order(entries.iter().map(String::as_str))))
    });

    let audit = Audit {
        sale_id: "sale".into(),
        seed_commitment: seed.commitment(),
        seed: seed.to_hex(),
        ordered_entry_ids: seed.order(entries.iter().map(String::as_str)),
    };
    let mine = audit.ordered_entry_ids[54_321].clone();
    c.bench_function("verify one entry against a 100,000-entry audit", |b| {
        b.iter(|| black_box(audit.position_of(black_box(&mine))))
    });
}

/// Entry ids look like the room's: random, UUID-sized.
fn uuid_like(i: u64) -> String {
    format!(
        "{:08x}-{:04x}-7{:03x}-8{:03x}-{:012x}",
        i.wrapping_mul(2_654_435_761),
        i % 65_536,
        i % 4_096,
        (i / 7) % 4_096,
        i.wrapping_mul(11_400_714_819_323_198_485)
    )
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = fairness
}
criterion_main!(benches);
