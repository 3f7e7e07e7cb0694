//! Numbers from a history: latency percentiles per journey step (from the intended send time),
//! outcomes and error codes, per-second series, and the sell-out time against the ideal the
//! admission rate allows.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::history::{Entry, Kind, Op};

/// The `q` quantile (0–1) of sorted values, nearest rank.
pub fn percentile(sorted: &[u64], q: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepStats {
    pub step: Op,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
    /// Of completed attempts (ok or refused), in milliseconds.
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// One value per second of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Series {
    pub arrivals: Vec<u64>,
    pub admissions: Vec<u64>,
    pub holds: Vec<u64>,
    /// Tickets confirmed so far (cumulative).
    pub sold: Vec<u64>,
    /// Joined and not yet admitted or given up.
    pub queue_length: Vec<u64>,
    pub hold_p50_ms: Vec<f64>,
    pub hold_p99_ms: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SellOut {
    pub capacity: u64,
    pub sold: u64,
    /// From the sale opening to the last ticket, when everything sold.
    pub seconds: Option<f64>,
    /// The admission-limited ideal: buyers needed (capacity / mean party) over the admission rate.
    pub ideal_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub steps: Vec<StepStats>,
    pub errors: BTreeMap<String, u64>,
    pub series: Series,
    pub sell_out: SellOut,
    /// Successful holds per second at the busiest second.
    pub peak_holds_per_second: u64,
}

/// What the summary needs besides the history.
#[derive(Debug, Clone, Copy)]
pub struct SaleShape {
    pub capacity: u64,
    pub opens_at_s: f64,
    pub admission_rate: f64,
    pub mean_party: f64,
}

pub fn summarize(history: &[Entry], shape: SaleShape) -> Summary {
    let ms = |us: u64| us as f64 / 1000.0;
    let steps =
        [Op::Join, Op::Admitted, Op::SeatMap, Op::Hold, Op::Release, Op::Checkout, Op::Pay, Op::Confirmed, Op::Cancel]
            .into_iter()
            .filter_map(|op| {
                let done: Vec<&Entry> = history.iter().filter(|e| e.op == op && e.kind != Kind::Invoke).collect();
                if done.is_empty() {
                    return None;
                }
                let count = |kind: Kind| done.iter().filter(|e| e.kind == kind).count() as u64;
                let mut latencies: Vec<u64> =
                    done.iter().filter(|e| e.kind != Kind::Info).map(|e| e.latency_us()).collect();
                latencies.sort_unstable();
                let at = |q: f64| percentile(&latencies, q).map_or(0.0, ms);
                Some(StepStats {
                    step: op,
                    ok: count(Kind::Ok),
                    fail: count(Kind::Fail),
                    info: count(Kind::Info),
                    p50_ms: at(0.5),
                    p90_ms: at(0.9),
                    p99_ms: at(0.99),
                    max_ms: latencies.last().copied().map_or(0.0, ms),
                })
            })
            .collect();
    let mut errors = BTreeMap::new();
    for entry in history.iter().filter(|e| matches!(e.kind, Kind::Fail | Kind::Info)) {
        let code = entry.code.clone().unwrap_or_else(|| "UNKNOWN".into());
        let step = format!("{:?}", entry.op).to_lowercase();
        *errors.entry(format!("{step}: {code}")).or_insert(0) += 1;
    }
    let series = series(history);
    let sold = series.sold.last().copied().unwrap_or(0);
    let last_sale = history
        .iter()
        .filter(|e| e.op == Op::Confirmed && e.kind == Kind::Ok)
        .map(|e| e.at_us)
        .max()
        .map(|us| us as f64 / 1e6);
    let sell_out = SellOut {
        capacity: shape.capacity,
        sold,
        seconds: last_sale.filter(|_| sold >= shape.capacity).map(|at| at - shape.opens_at_s),
        ideal_seconds: shape.capacity as f64 / shape.mean_party.max(1.0) / shape.admission_rate.max(1.0),
    };
    let peak_holds_per_second = series.holds.iter().copied().max().unwrap_or(0);
    Summary { steps, errors, series, sell_out, peak_holds_per_second }
}

fn series(history: &[Entry]) -> Series {
    let seconds = history.iter().map(|e| e.at_us / 1_000_000).max().map_or(0, |s| s as usize + 1);
    let mut s = Series {
        arrivals: vec![0; seconds],
        admissions: vec![0; seconds],
        holds: vec![0; seconds],
        sold: vec![0; seconds],
        queue_length: vec![0; seconds],
        hold_p50_ms: vec![0.0; seconds],
        hold_p99_ms: vec![0.0; seconds],
    };
    let mut queue_delta = vec![0i64; seconds];
    let mut hold_latencies: Vec<Vec<u64>> = vec![Vec::new(); seconds];
    for e in history {
        let second = (e.at_us / 1_000_000) as usize;
        match (e.op, e.kind) {
            (Op::Join, Kind::Invoke) => s.arrivals[second] += 1,
            (Op::Admitted, Kind::Invoke) => queue_delta[second] += 1,
            (Op::Admitted, Kind::Ok) => {
                s.admissions[second] += 1;
                queue_delta[second] -= 1;
            }
            (Op::Admitted, _) => queue_delta[second] -= 1,
            (Op::Hold, Kind::Ok) => {
                s.holds[second] += 1;
                hold_latencies[second].push(e.latency_us());
            }
            (Op::Confirmed, Kind::Ok) => s.sold[second] += e.value["tickets"].as_u64().unwrap_or(0),
            _ => {}
        }
    }
    let (mut sold, mut queue) = (0, 0i64);
    for second in 0..seconds {
        sold += s.sold[second];
        s.sold[second] = sold;
        queue += queue_delta[second];
        s.queue_length[second] = u64::try_from(queue).unwrap_or(0);
        let latencies = &mut hold_latencies[second];
        latencies.sort_unstable();
        s.hold_p50_ms[second] = percentile(latencies, 0.5).map_or(0.0, |us| us as f64 / 1000.0);
        s.hold_p99_ms[second] = percentile(latencies, 0.99).map_or(0.0, |us| us as f64 / 1000.0);
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry(buyer: u32, op: Op, kind: Kind, intended_us: u64, at_us: u64) -> Entry {
        Entry { buyer, op, kind, intended_us, at_us, code: None, value: serde_json::Value::Null }
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), Some(50));
        assert_eq!(percentile(&values, 0.99), Some(99));
        assert_eq!(percentile(&values, 1.0), Some(100));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn latency_counts_from_the_intended_time_and_sales_accumulate() {
        let mut confirmed = entry(1, Op::Confirmed, Kind::Ok, 3_000_000, 3_500_000);
        confirmed.value = json!({"tickets": 2});
        let mut refused = entry(2, Op::Hold, Kind::Fail, 1_000_000, 1_100_000);
        refused.code = Some("SEAT_TAKEN".into());
        let history = vec![
            entry(1, Op::Join, Kind::Invoke, 0, 0),
            entry(1, Op::Admitted, Kind::Invoke, 100_000, 100_000),
            entry(1, Op::Admitted, Kind::Ok, 100_000, 1_000_000),
            // Sent 40 ms late by a stalled client: the wait counts.
            entry(1, Op::Hold, Kind::Ok, 1_000_000, 1_050_000),
            refused,
            confirmed,
        ];
        let shape = SaleShape { capacity: 2, opens_at_s: 0.5, admission_rate: 1.0, mean_party: 2.0 };
        let summary = summarize(&history, shape);
        let hold = summary.steps.iter().find(|s| s.step == Op::Hold).expect("holds");
        assert_eq!((hold.ok, hold.fail, hold.p50_ms, hold.max_ms), (1, 1, 50.0, 100.0));
        assert_eq!(summary.errors.get("hold: SEAT_TAKEN"), Some(&1));
        assert_eq!(summary.series.sold, vec![0, 0, 0, 2]);
        assert_eq!(summary.series.queue_length, vec![1, 0, 0, 0]);
        assert_eq!(summary.series.admissions, vec![0, 1, 0, 0]);
        assert_eq!(summary.sell_out.seconds, Some(3.0));
        assert_eq!(summary.sell_out.ideal_seconds, 1.0);
    }
}
