//! What each buyer will do, drawn up front from the scenario's seed: when they arrive, whether
//! they are a guest or a bot, what they ask for, their audiences, their pauses, and whether they
//! walk away after holding. Pure: the same scenario and seat map give the same plans.

use std::time::Duration;

use rand::{Rng, SeedableRng as _, rngs::StdRng};

use crate::{scenario::Scenario, setup::SectionSeats};

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub buyer: u32,
    /// Seconds from the start of the run.
    pub arrives_at: f64,
    pub guest: bool,
    /// Holds as much as it may and never pays.
    pub bot: bool,
    pub want: Want,
    /// One audience per ticket.
    pub audiences: Vec<String>,
    /// Pauses before holding, checking out and paying.
    pub think: [Duration; 3],
    /// Walks away after the hold (half of them release it first).
    pub abandon: bool,
    pub releases: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// The best seats together.
    Best {
        quantity: u32,
    },
    /// These seats exactly (a hot seat or a picked block); best available if they are gone.
    Seats(Vec<String>),
    Standing {
        section_id: String,
        quantity: u32,
    },
}

impl Want {
    pub fn quantity(&self) -> u32 {
        match self {
            Want::Best { quantity } | Want::Standing { quantity, .. } => *quantity,
            Want::Seats(seats) => u32::try_from(seats.len()).unwrap_or(u32::MAX),
        }
    }
}

/// One plan per arrival time.
pub fn plans(scenario: &Scenario, sections: &[SectionSeats], arrivals: &[f64]) -> Vec<Plan> {
    let mut rng = StdRng::seed_from_u64(scenario.seed ^ 0x5eed_b0b5);
    let behaviour = &scenario.behaviour;
    let groups = scenario.group_sizes();
    let audiences: Vec<(String, f64)> = behaviour.audiences.iter().map(|(a, w)| (a.clone(), *w)).collect();
    let capacity = |s: &SectionSeats| {
        if s.standing > 0 { f64::from(s.standing) } else { s.rows.iter().map(Vec::len).sum::<usize>() as f64 }
    };
    let by_capacity: Vec<(&SectionSeats, f64)> = sections.iter().map(|s| (s, capacity(s))).collect();
    let reserved: Vec<(&SectionSeats, f64)> = by_capacity.iter().copied().filter(|(s, _)| s.standing == 0).collect();
    let limit = scenario.sale.per_buyer_limit.max(1);
    arrivals
        .iter()
        .enumerate()
        .map(|(i, arrives_at)| {
            let bot = rng.random_bool(scenario.buyers.bots);
            let guest = !bot && rng.random_bool(scenario.buyers.guests);
            let quantity = if bot { limit } else { pick(&groups, &mut rng).copied().unwrap_or(1).min(limit) };
            let section = pick(&by_capacity, &mut rng).copied();
            let want = match section {
                Some(section) if section.standing > 0 => {
                    Want::Standing { section_id: section.section_id.clone(), quantity }
                }
                _ if bot || rng.random_bool(behaviour.best_available) => Want::Best { quantity },
                _ if !behaviour.hot_seats.is_empty() && rng.random_bool(behaviour.hot_seat_share) => {
                    let start = rng.random_range(0..behaviour.hot_seats.len());
                    let hot = &behaviour.hot_seats;
                    Want::Seats(
                        hot.iter().cycle().skip(start).take((quantity as usize).min(hot.len())).cloned().collect(),
                    )
                }
                _ => pick(&reserved, &mut rng)
                    .and_then(|section| block(section, quantity, &mut rng))
                    .map_or(Want::Best { quantity }, Want::Seats),
            };
            let tickets = want.quantity();
            let [low, high] = behaviour.think_time_ms;
            let think = [(); 3].map(|()| Duration::from_millis(u64::from(rng.random_range(low..=high.max(low)))));
            let audiences =
                (0..tickets).map(|_| pick(&audiences, &mut rng).cloned().unwrap_or_else(|| "adult".into())).collect();
            Plan {
                buyer: u32::try_from(i).unwrap_or(u32::MAX),
                arrives_at: *arrives_at,
                guest,
                bot,
                audiences,
                think,
                abandon: !bot && rng.random_bool(behaviour.abandon_after_hold),
                releases: rng.random_bool(0.5),
                want,
            }
        })
        .collect()
}

/// A weighted choice.
fn pick<'a, T>(weighted: &'a [(T, f64)], rng: &mut impl Rng) -> Option<&'a T> {
    let total: f64 = weighted.iter().map(|(_, w)| w.max(0.0)).sum();
    if total <= 0.0 {
        return weighted.first().map(|(t, _)| t);
    }
    let mut at = rng.random::<f64>() * total;
    for (item, weight) in weighted {
        at -= weight.max(0.0);
        if at < 0.0 {
            return Some(item);
        }
    }
    weighted.last().map(|(t, _)| t)
}

/// `quantity` seats side by side in a random row of `section`.
fn block(section: &SectionSeats, quantity: u32, rng: &mut impl Rng) -> Option<Vec<String>> {
    let quantity = quantity as usize;
    let rows: Vec<&Vec<String>> = section.rows.iter().filter(|r| r.len() >= quantity).collect();
    let row = rows.get(rng.random_range(0..rows.len().max(1)))?;
    let start = rng.random_range(0..=row.len() - quantity);
    Some(row[start..start + quantity].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sections() -> Vec<SectionSeats> {
        let rows = (1..=16).map(|r| (1..=25).map(|n| format!("A-{r}-{n}")).collect()).collect();
        vec![
            SectionSeats { section_id: "A".into(), standing: 0, rows },
            SectionSeats { section_id: "GA".into(), standing: 100, rows: Vec::new() },
        ]
    }

    #[test]
    fn plans_follow_the_scenarios_mix_and_replay_from_the_seed() {
        let scenario = Scenario::parse(include_str!("../scenarios/ci-burst.toml")).expect("valid");
        let arrivals: Vec<f64> = (0..2000).map(f64::from).collect();
        let plans = plans(&scenario, &sections(), &arrivals);
        assert_eq!(plans, super::plans(&scenario, &sections(), &arrivals), "the same seed, the same plans");
        let share = |f: &dyn Fn(&Plan) -> bool| plans.iter().filter(|p| f(p)).count() as f64 / plans.len() as f64;
        assert!((share(&|p| p.guest) - 0.2 * 0.98).abs() < 0.04, "guests");
        assert!((share(&|p| p.bot) - 0.02).abs() < 0.015, "bots");
        assert!((share(&|p| matches!(p.want, Want::Standing { .. })) - 0.2).abs() < 0.04, "GA by capacity");
        let hot = |p: &Plan| matches!(&p.want, Want::Seats(s) if s.iter().any(|id| scenario.behaviour.hot_seats.contains(id)));
        assert!(share(&hot) > 0.03, "some fight over the hot seats");
        for plan in &plans {
            assert!((1..=4).contains(&plan.want.quantity()), "{plan:?}");
            assert_eq!(plan.audiences.len() as u32, plan.want.quantity());
            if let Want::Seats(seats) = &plan.want {
                let distinct: std::collections::BTreeSet<&String> = seats.iter().collect();
                assert_eq!(distinct.len(), seats.len(), "a seat asked for twice: {seats:?}");
            }
            assert!(!(plan.bot && plan.guest));
            assert!(plan.think.iter().all(|t| (200..=1500).contains(&(t.as_millis() as u64))));
            if let Want::Seats(seats) = &plan.want
                && !hot(plan)
            {
                let row = |id: &str| id.rsplit_once('-').map(|(r, _)| r.to_owned());
                assert!(seats.iter().all(|s| row(s) == row(&seats[0])), "a picked block is one row: {seats:?}");
            }
        }
        assert!(plans.iter().filter(|p| p.bot).all(|p| p.want.quantity() == 4), "bots take the limit");
    }
}
