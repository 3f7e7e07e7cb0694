//! Intended arrival times, in seconds from the start of the run, sorted. Buyers are sent at these
//! times whether or not the system keeps up (open loop).

use rand::Rng;

use crate::scenario::Arrivals;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TraceError {
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("the trace has no arrivals")]
    Empty,
}

/// `count` arrivals for a spike or a Poisson ramp.
pub fn generate(profile: &Arrivals, count: u32, rng: &mut impl Rng) -> Vec<f64> {
    let mut times: Vec<f64> = match *profile {
        Arrivals::Spike { pre_queue, open_after_seconds, spread_seconds } => {
            let early = (f64::from(count) * pre_queue).round() as u32;
            // After the opening, arrivals thin out exponentially: ~95% within the spread.
            let mean = spread_seconds / 3.0;
            (0..count)
                .map(|i| {
                    if i < early {
                        rng.random::<f64>() * open_after_seconds
                    } else {
                        open_after_seconds + exponential(rng, mean).min(spread_seconds)
                    }
                })
                .collect()
        }
        Arrivals::Poisson { start_rate, end_rate, ramp_seconds } => {
            let mut total = 0.0;
            (0..count)
                .map(|_| {
                    total += exponential(rng, 1.0);
                    ramp_time(total, start_rate, end_rate, ramp_seconds)
                })
                .collect()
        }
        Arrivals::Trace { .. } => Vec::new(),
    };
    times.sort_by(f64::total_cmp);
    times
}

/// Exponentially distributed with this mean.
fn exponential(rng: &mut impl Rng, mean: f64) -> f64 {
    // 1 - U is in (0, 1], so the logarithm is finite.
    -(1.0 - rng.random::<f64>()).ln() * mean
}

/// The time at which the cumulative intensity of a rate ramping linearly from `a` to `b` over `t`
/// seconds (then staying at `b`) reaches `s`: inverting it turns unit-rate arrivals into the ramp.
fn ramp_time(s: f64, a: f64, b: f64, t: f64) -> f64 {
    let during_ramp = (a + b) / 2.0 * t;
    if s >= during_ramp || t == 0.0 {
        return t + (s - during_ramp.min(s)) / b;
    }
    let slope = (b - a) / t;
    if slope.abs() < f64::EPSILON {
        return s / a;
    }
    // a·x + slope·x²/2 = s
    (-a + (a * a + 2.0 * slope * s).sqrt()) / slope
}

/// A recorded trace: CSV whose first column is seconds or an RFC 3339 time (a header line is
/// skipped), or JSONL with `"at"` (either form). Returned relative to the first arrival, sorted,
/// at most `limit` of them.
pub fn from_trace(text: &str, limit: Option<u32>) -> Result<Vec<f64>, TraceError> {
    let mut times = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let field = if line.starts_with('{') {
            let value: serde_json::Value =
                serde_json::from_str(line).map_err(|e| TraceError::Line { line: index + 1, reason: e.to_string() })?;
            match &value["at"] {
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::String(s) => s.clone(),
                _ => return Err(TraceError::Line { line: index + 1, reason: "no \"at\"".into() }),
            }
        } else {
            line.split(',').next().unwrap_or_default().trim().to_owned()
        };
        let seconds = field
            .parse::<f64>()
            .ok()
            .or_else(|| chrono::DateTime::parse_from_rfc3339(&field).ok().map(|t| t.timestamp_micros() as f64 / 1e6));
        match seconds {
            Some(s) if s.is_finite() => times.push(s),
            // A header line.
            None if times.is_empty() && index == 0 => {}
            _ => return Err(TraceError::Line { line: index + 1, reason: format!("not a time: {field:?}") }),
        }
    }
    times.sort_by(f64::total_cmp);
    let first = *times.first().ok_or(TraceError::Empty)?;
    let limit = limit.map_or(times.len(), |l| l as usize);
    Ok(times.into_iter().take(limit).map(|t| t - first).collect())
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;

    use super::*;

    fn rng() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(7)
    }

    #[test]
    fn a_spike_has_its_pre_queue_before_the_opening_and_the_rest_within_the_spread() {
        let profile = Arrivals::Spike { pre_queue: 0.4, open_after_seconds: 10.0, spread_seconds: 60.0 };
        let times = generate(&profile, 10_000, &mut rng());
        assert_eq!(times.len(), 10_000);
        let early = times.iter().filter(|t| **t < 10.0).count();
        assert_eq!(early, 4_000);
        assert!(times.iter().all(|t| (0.0..=70.0).contains(t)));
        // Thinning out: the first 10 s after opening see more than the last 10 s.
        let first = times.iter().filter(|t| (10.0..20.0).contains(*t)).count();
        let last = times.iter().filter(|t| (60.0..70.0).contains(*t)).count();
        assert!(first > 10 * last, "{first} vs {last}");
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "sorted");
    }

    #[test]
    fn a_poisson_ramp_arrives_at_the_rates_it_ramps_through() {
        let profile = Arrivals::Poisson { start_rate: 100.0, end_rate: 300.0, ramp_seconds: 10.0 };
        let times = generate(&profile, 6_000, &mut rng());
        // 2,000 expected during the ramp ((100 + 300) / 2 × 10 s), then 300/s.
        let ramp = times.iter().filter(|t| **t < 10.0).count() as f64;
        assert!((ramp - 2_000.0).abs() < 150.0, "{ramp}");
        let later = times.iter().filter(|t| (10.0..20.0).contains(*t)).count() as f64;
        assert!((later - 3_000.0).abs() < 200.0, "{later}");
        let first_second = times.iter().filter(|t| **t < 1.0).count() as f64;
        assert!((first_second - 110.0).abs() < 40.0, "{first_second}");
    }

    #[test]
    fn the_ramp_inversion_is_exact_at_its_seams() {
        assert!((ramp_time(2_000.0, 100.0, 300.0, 10.0) - 10.0).abs() < 1e-9);
        assert!((ramp_time(2_300.0, 100.0, 300.0, 10.0) - 11.0).abs() < 1e-9);
        assert!((ramp_time(50.0, 100.0, 100.0, 10.0) - 0.5).abs() < 1e-9);
        assert!((ramp_time(5.0, 0.0, 10.0, 0.0) - 0.5).abs() < 1e-9);
    }

    #[test]
    fn traces_replay_relative_to_their_first_arrival() {
        let csv = "at,buyer\n100.5,a\n100.0,b\n103,c\n";
        assert_eq!(from_trace(csv, None), Ok(vec![0.0, 0.5, 3.0]));
        let jsonl = "{\"at\": \"2026-11-21T10:00:01Z\"}\n{\"at\": \"2026-11-21T10:00:00.250Z\"}\n";
        assert_eq!(from_trace(jsonl, Some(1)), Ok(vec![0.0]));
        assert!(matches!(from_trace("1\nsoon\n", None), Err(TraceError::Line { line: 2, .. })));
        assert_eq!(from_trace("# nothing\n", None), Err(TraceError::Empty));
    }
}
