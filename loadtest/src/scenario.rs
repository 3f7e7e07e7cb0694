//! Scenario files (TOML, `loadtest/scenarios/*.toml`): the sale to rehearse, the buyers, how they
//! arrive and how they behave. Parsing checks every value, so a bad file fails before any load.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Random seed: the same file and seed replay the same arrivals and choices.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How long buyers keep arriving and shopping before the run is wound down.
    pub duration_seconds: u32,
    pub venue: Venue,
    pub sale: Sale,
    pub buyers: Buyers,
    pub arrivals: Arrivals,
    #[serde(default)]
    pub behaviour: Behaviour,
}

fn default_seed() -> u64 {
    1
}

/// The venue and performance to create for the rehearsal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Venue {
    pub name: String,
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// `concert_hall`, `stadium`, `standard` (a cinema screen), …
    pub hall_type: String,
    pub sections: Vec<Section>,
}

fn default_time_zone() -> String {
    "Asia/Seoul".into()
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    pub grade: String,
    /// In minor units of `currency`.
    pub price: i64,
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default)]
    pub rows: u32,
    #[serde(default)]
    pub seats_per_row: u32,
    /// A standing area of this capacity instead of rows.
    #[serde(default)]
    pub standing: u32,
}

fn default_currency() -> String {
    "KRW".into()
}

impl Section {
    pub fn capacity(&self) -> u64 {
        if self.standing > 0 { u64::from(self.standing) } else { u64::from(self.rows) * u64::from(self.seats_per_row) }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sale {
    pub per_buyer_limit: u32,
    pub hold_ttl_seconds: u32,
    pub payment_deadline_seconds: u32,
    pub admission_rate_per_second: u32,
    pub max_active_shoppers: u32,
    /// How long an admission lasts: an admitted buyer holds a shopper's slot until then.
    #[serde(default = "default_admission_ttl")]
    pub admission_ttl_seconds: u32,
}

fn default_admission_ttl() -> u32 {
    600
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buyers {
    /// For a trace, at most this many of its arrivals are replayed (all when absent).
    pub count: Option<u32>,
    /// Share that check out as guests (phone + email) instead of members.
    #[serde(default)]
    pub guests: f64,
    /// Share of bot-like accounts: they hold as much as they may and never pay.
    #[serde(default)]
    pub bots: f64,
}

/// When buyers arrive, relative to the start of the run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "profile", rename_all = "snake_case", deny_unknown_fields)]
pub enum Arrivals {
    /// An on-sale: `pre_queue` of the buyers are waiting before the sale opens at
    /// `open_after_seconds`; the rest arrive after, thinning out over `spread_seconds`.
    Spike { pre_queue: f64, open_after_seconds: f64, spread_seconds: f64 },
    /// A Poisson process whose rate ramps linearly from `start_rate` to `end_rate` (per second)
    /// over `ramp_seconds`, then stays.
    Poisson { start_rate: f64, end_rate: f64, ramp_seconds: f64 },
    /// Recorded arrivals: a CSV (first column: seconds, or an RFC 3339 time) or JSONL (`"at"`),
    /// replayed relative to the first.
    Trace { file: String },
}

/// How buyers shop. Shares are 0–1; weights need not sum to 1.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Behaviour {
    /// Share that asks for the best seats together; the rest pick specific seats.
    pub best_available: f64,
    /// Seats pickers fight over (`A-A-12`: section, row letter, number), and the share of pickers who go for them.
    pub hot_seats: Vec<String>,
    pub hot_seat_share: f64,
    /// Party size → weight.
    pub group_sizes: BTreeMap<String, f64>,
    /// Audience (`adult`, `youth`, `senior`, `disabled`) → weight.
    pub audiences: BTreeMap<String, f64>,
    /// Pause between steps, uniformly in this range (ms).
    pub think_time_ms: [u32; 2],
    pub abandon_after_hold: f64,
    pub payment_decline: f64,
    pub retries: Retries,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            best_available: 1.0,
            hot_seats: Vec::new(),
            hot_seat_share: 0.0,
            group_sizes: BTreeMap::from([("2".to_owned(), 1.0)]),
            audiences: BTreeMap::from([("adult".to_owned(), 1.0)]),
            think_time_ms: [0, 0],
            abandon_after_hold: 0.0,
            payment_decline: 0.0,
            retries: Retries::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retries {
    /// Attempts after the first, on 429/503 or a lost race.
    pub max: u32,
    /// First backoff; doubled each time, with jitter, and never shorter than `Retry-After`.
    pub backoff_ms: u32,
}

impl Default for Retries {
    fn default() -> Self {
        Self { max: 3, backoff_ms: 200 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("the scenario is not valid TOML for a scenario: {0}")]
    Syntax(#[from] toml::de::Error),
    #[error("the scenario has invalid values: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

impl Scenario {
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        let scenario: Scenario = toml::from_str(text)?;
        scenario.validate()?;
        Ok(scenario)
    }

    pub fn capacity(&self) -> u64 {
        self.venue.sections.iter().map(Section::capacity).sum()
    }

    /// Party sizes with their weights, parsed.
    pub fn group_sizes(&self) -> Vec<(u32, f64)> {
        self.behaviour.group_sizes.iter().filter_map(|(size, weight)| Some((size.parse().ok()?, *weight))).collect()
    }

    fn validate(&self) -> Result<(), ScenarioError> {
        let mut problems = Vec::new();
        if !(60..=7200).contains(&self.sale.admission_ttl_seconds) {
            problems.push("sale.admission_ttl_seconds must be between 60 and 7200".to_owned());
        }
        let mut share = |name: &str, value: f64| {
            if !(0.0..=1.0).contains(&value) {
                problems.push(format!("{name} must be between 0 and 1"));
            }
        };
        let b = &self.behaviour;
        share("buyers.guests", self.buyers.guests);
        share("buyers.bots", self.buyers.bots);
        share("behaviour.best_available", b.best_available);
        share("behaviour.hot_seat_share", b.hot_seat_share);
        share("behaviour.abandon_after_hold", b.abandon_after_hold);
        share("behaviour.payment_decline", b.payment_decline);
        if let Arrivals::Spike { pre_queue, .. } = self.arrivals {
            share("arrivals.pre_queue", pre_queue);
        }
        if self.duration_seconds == 0 {
            problems.push("duration_seconds must be positive".into());
        }
        if self.venue.sections.is_empty() {
            problems.push("venue.sections must not be empty".into());
        }
        for (i, section) in self.venue.sections.iter().enumerate() {
            let seated = section.rows > 0 && section.seats_per_row > 0;
            if seated == (section.standing > 0) {
                problems.push(format!("venue.sections[{i}] needs rows × seats_per_row or standing, not both"));
            }
            if section.price < 0 {
                problems.push(format!("venue.sections[{i}].price must not be negative"));
            }
        }
        let sizes = self.group_sizes();
        if sizes.len() != b.group_sizes.len() || sizes.iter().any(|(size, w)| *size == 0 || *w < 0.0) {
            problems.push("behaviour.group_sizes keys must be positive whole numbers, weights not negative".into());
        }
        if sizes.iter().any(|(size, _)| *size > self.sale.per_buyer_limit) {
            problems.push("behaviour.group_sizes must not exceed sale.per_buyer_limit".into());
        }
        if sizes.iter().map(|(_, w)| w).sum::<f64>() <= 0.0 {
            problems.push("behaviour.group_sizes needs a positive weight".into());
        }
        for audience in b.audiences.keys() {
            if !["adult", "youth", "senior", "disabled"].contains(&audience.as_str()) {
                problems.push(format!("behaviour.audiences: unknown audience {audience:?}"));
            }
        }
        if b.think_time_ms[0] > b.think_time_ms[1] {
            problems.push("behaviour.think_time_ms must be [low, high]".into());
        }
        match &self.arrivals {
            Arrivals::Spike { open_after_seconds, spread_seconds, .. }
                if *open_after_seconds < 0.0 || *spread_seconds <= 0.0 =>
            {
                problems.push("arrivals: open_after_seconds ≥ 0 and spread_seconds > 0".into());
            }
            Arrivals::Poisson { start_rate, end_rate, ramp_seconds }
                if *start_rate < 0.0 || *end_rate <= 0.0 || *ramp_seconds < 0.0 =>
            {
                problems.push("arrivals: rates must be positive (start_rate may be 0)".into());
            }
            Arrivals::Spike { .. } | Arrivals::Poisson { .. } if self.buyers.count.is_none() => {
                problems.push("buyers.count is required unless arrivals come from a trace".into());
            }
            _ => {}
        }
        if problems.is_empty() { Ok(()) } else { Err(ScenarioError::Invalid(problems)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
        name = "small"
        duration_seconds = 60
        [venue]
        name = "Hall"
        hall_type = "concert_hall"
        [[venue.sections]]
        id = "A"
        grade = "R"
        price = 99000
        rows = 2
        seats_per_row = 10
        [[venue.sections]]
        id = "GA"
        grade = "GA"
        price = 50000
        standing = 30
        [sale]
        per_buyer_limit = 4
        hold_ttl_seconds = 300
        payment_deadline_seconds = 600
        admission_rate_per_second = 50
        max_active_shoppers = 200
        [buyers]
        count = 100
        [arrivals]
        profile = "spike"
        pre_queue = 0.5
        open_after_seconds = 5
        spread_seconds = 20
        [behaviour]
        group_sizes = { "1" = 1, "2" = 3 }
    "#;

    #[test]
    fn a_scenario_parses_with_defaults_filled_in() {
        let scenario = Scenario::parse(SMALL).expect("valid");
        assert_eq!(scenario.capacity(), 20 + 30);
        assert_eq!(scenario.group_sizes(), vec![(1, 1.0), (2, 3.0)]);
        assert_eq!(scenario.behaviour.best_available, 1.0);
        assert_eq!(
            scenario.arrivals,
            Arrivals::Spike { pre_queue: 0.5, open_after_seconds: 5.0, spread_seconds: 20.0 }
        );
    }

    #[test]
    fn bad_values_are_all_named_at_once() {
        let bad = SMALL
            .replace("pre_queue = 0.5", "pre_queue = 1.5")
            .replace(r#"group_sizes = { "1" = 1, "2" = 3 }"#, r#"group_sizes = { "6" = 1 }"#);
        let Err(ScenarioError::Invalid(problems)) = Scenario::parse(&bad) else { panic!("must be invalid") };
        assert!(problems.iter().any(|p| p.contains("arrivals.pre_queue")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("per_buyer_limit")), "{problems:?}");
        assert!(matches!(Scenario::parse("name = 1"), Err(ScenarioError::Syntax(_))));
        let unknown = SMALL.replace("[buyers]", "[buyers]\nvip = true");
        assert!(matches!(Scenario::parse(&unknown), Err(ScenarioError::Syntax(_))), "unknown keys are refused");
    }

    #[test]
    fn every_shipped_scenario_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("scenarios/") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).expect("readable");
                Scenario::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
        assert!(seen >= 4, "the CI burst, the stadium, the hot-seat fight and the cinema evening");
    }
}
