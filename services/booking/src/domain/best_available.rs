//! "Best available" / "book together": picks `n` free seats for one party.
//!
//! Preference, relaxed step by step: one block in a single row, then two blocks in adjacent rows
//! of one section, then blocks anywhere in one section. Within a step the seats nearest the focal
//! point (stage, screen centre) win. In every step a choice never leaves a single free seat
//! stranded between taken ones — such an orphan is all but unsellable — unless it was already
//! alone. The caller then holds the chosen seats with the ordinary all-or-nothing hold and asks
//! again if it lost a race.

use super::layout::{Layout, Seat, SeatSet, SectionKind};

/// What the party asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted<'a> {
    pub quantity: usize,
    pub grade: Option<&'a str>,
    pub section: Option<&'a str>,
    pub accessible: bool,
}

/// How the choice was made, for metrics and the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Together {
    SameRow,
    AdjacentRows,
    SameSection,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub seat_ids: Vec<String>,
    pub together: Together,
}

/// A maximal stretch of free seats in one row (no aisle, taken or blocked seat inside).
struct Run<'a> {
    section: usize,
    row: usize,
    seats: &'a [Seat],
    /// Distance of each seat to the focal point.
    distance: &'a [f64],
}

/// A candidate block: `len` seats of `run` starting at `start`.
#[derive(Debug, Clone, Copy)]
struct Window {
    run: usize,
    start: usize,
    len: usize,
    score: f64,
}

/// Picks the seats, or `None` when the section(s) cannot seat the party without orphans.
pub fn choose(layout: &Layout, taken: &SeatSet, wanted: &Wanted<'_>) -> Option<Choice> {
    if wanted.quantity == 0 {
        return None;
    }
    let fits = |seat: &Seat| wanted.grade.is_none_or(|g| seat.grade == g) && (!wanted.accessible || seat.accessible);
    let n = wanted.quantity;
    if let Some(seat_ids) = nearest_in_one_row(layout, taken, wanted, &fits) {
        return Some(Choice { seat_ids, together: Together::SameRow });
    }

    let runs = free_runs(layout, taken, wanted.section);
    let mut best: Option<Best> = None;
    if n >= 2 {
        let front = n.div_ceil(2);
        for (i, a) in runs.iter().enumerate() {
            for (j, b) in runs.iter().enumerate() {
                if a.section != b.section || b.row != a.row + 1 {
                    continue;
                }
                for (first, second) in [(front, n - front), (n - front, front)] {
                    if let (Some(wa), Some(wb)) = (best_window(i, a, first, &fits), best_window(j, b, second, &fits)) {
                        consider(&mut best, wa.score + wb.score, vec![wa, wb], Together::AdjacentRows);
                    }
                }
            }
        }
    }
    if best.is_none() {
        for section in runs.iter().map(|r| r.section).collect::<std::collections::BTreeSet<_>>() {
            if let Some(windows) = fill_section(&runs, section, n, &fits) {
                let score = windows.iter().map(|w| w.score).sum();
                consider(&mut best, score, windows, Together::SameSection);
            }
        }
    }
    let (_, windows, together) = best?;
    let seat_ids =
        windows.iter().flat_map(|w| runs[w.run].seats[w.start..w.start + w.len].iter().map(|s| s.id.clone())).collect();
    Some(Choice { seat_ids, together })
}

type Best = (f64, Vec<Window>, Together);

/// Keeps the candidate if it is more together, or as together and nearer.
fn consider(best: &mut Option<Best>, score: f64, windows: Vec<Window>, together: Together) {
    if best.as_ref().is_none_or(|(s, _, t)| rank(together) < rank(*t) || (together == *t && score < *s)) {
        *best = Some((score, windows, together));
    }
}

fn rank(together: Together) -> u8 {
    match together {
        Together::SameRow => 0,
        Together::AdjacentRows => 1,
        Together::SameSection => 2,
    }
}

/// The nearest block of n in a single row. Rows are visited nearest first, so the search stops
/// at the first row whose nearest seat is too far for any n of its seats to beat the best block
/// found — on a stadium map that is a few rows, not every seat, while the front is free.
fn nearest_in_one_row(
    layout: &Layout,
    taken: &SeatSet,
    wanted: &Wanted<'_>,
    fits: &impl Fn(&Seat) -> bool,
) -> Option<Vec<String>> {
    let n = wanted.quantity;
    let mut best: Option<(f64, &[Seat])> = None;
    let mut runs = Vec::new();
    for &(s, r, nearest) in layout.rows_nearest_first() {
        if best.is_some_and(|(score, _)| nearest * n as f64 > score) {
            break;
        }
        if wanted.section.is_some_and(|id| id != layout.sections()[s].id) {
            continue;
        }
        runs.clear();
        row_runs(layout, taken, s, r, &mut runs);
        for run in &runs {
            if let Some(w) = best_window(0, run, n, fits)
                && best.is_none_or(|(score, _)| w.score < score)
            {
                best = Some((w.score, &run.seats[w.start..w.start + w.len]));
            }
        }
    }
    best.map(|(_, seats)| seats.iter().map(|seat| seat.id.clone()).collect())
}

fn free_runs<'a>(layout: &'a Layout, taken: &SeatSet, section: Option<&str>) -> Vec<Run<'a>> {
    let mut runs = Vec::new();
    for (s, sec) in layout.sections().iter().enumerate() {
        if section.is_some_and(|id| id != sec.id) {
            continue;
        }
        if let SectionKind::Reserved { rows } = &sec.kind {
            for r in 0..rows.len() {
                row_runs(layout, taken, s, r, &mut runs);
            }
        }
    }
    runs
}

/// The row's runs of free seats, appended to `runs`.
fn row_runs<'a>(layout: &'a Layout, taken: &SeatSet, s: usize, r: usize, runs: &mut Vec<Run<'a>>) {
    let SectionKind::Reserved { rows } = &layout.sections()[s].kind else { return };
    let row = &rows[r];
    let base = layout.row_start(s, r);
    let run = |start: usize, end: usize| Run {
        section: s,
        row: r,
        seats: &row[start..end],
        distance: layout.distances(base + start, end - start),
    };
    // The run being built: the place it starts at, while there is one.
    let mut start = None;
    for (p, seat) in row.iter().enumerate() {
        let free = !seat.blocked && !taken.contains_index(base + p);
        if let Some(from) = start
            && (seat.gap_before || !free)
        {
            runs.push(run(from, p));
            start = None;
        }
        if free && start.is_none() {
            start = Some(p);
        }
    }
    if let Some(from) = start {
        runs.push(run(from, row.len()));
    }
}

/// Whether taking `len` seats from `start` leaves no single seat alone at either end of the run.
fn leaves_no_orphan(run_len: usize, start: usize, len: usize) -> bool {
    start != 1 && run_len - start - len != 1
}

/// The nearest block of exactly `len` fitting seats in `run`, if any.
fn best_window(index: usize, run: &Run<'_>, len: usize, fits: &impl Fn(&Seat) -> bool) -> Option<Window> {
    let total = run.seats.len();
    if len == 0 || len > total || run.distance.len() != total {
        return None;
    }
    (0..=total - len)
        .filter(|&start| leaves_no_orphan(total, start, len))
        .filter(|&start| run.seats[start..start + len].iter().all(fits))
        .map(|start| Window { run: index, start, len, score: run.distance[start..start + len].iter().sum() })
        .min_by(|a, b| a.score.total_cmp(&b.score))
}

/// Blocks anywhere in one section, biggest first (the party stays as together as it can).
fn fill_section(runs: &[Run<'_>], section: usize, n: usize, fits: &impl Fn(&Seat) -> bool) -> Option<Vec<Window>> {
    let mut used = vec![false; runs.len()];
    let mut chosen = Vec::new();
    let mut remaining = n;
    while remaining > 0 {
        let mut pick: Option<Window> = None;
        for (i, run) in runs.iter().enumerate() {
            if used[i] || run.section != section {
                continue;
            }
            let candidate = (1..=remaining.min(run.seats.len())).rev().find_map(|len| best_window(i, run, len, fits));
            if let Some(w) = candidate {
                let better = pick.is_none_or(|p| w.len > p.len || (w.len == p.len && w.score < p.score));
                if better {
                    pick = Some(w);
                }
            }
        }
        let w = pick?;
        used[w.run] = true;
        remaining -= w.len;
        chosen.push(w);
    }
    Some(chosen)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;
    use crate::domain::layout::{Point, Section};

    /// Rows described as strings: '.' free, 'x' taken, '#' blocked, '|' an aisle before the next.
    fn layout(rows: &[&str]) -> (Layout, HashSet<String>) {
        let mut taken = HashSet::new();
        let mut seat_rows = Vec::new();
        for (r, pattern) in rows.iter().enumerate() {
            let mut seats = Vec::new();
            let mut gap = false;
            for c in pattern.chars() {
                if c == '|' {
                    gap = true;
                    continue;
                }
                let id = format!("{r}-{}", seats.len());
                if c == 'x' {
                    taken.insert(id.clone());
                }
                seats.push(Seat {
                    id,
                    row: r.to_string(),
                    number: seats.len().to_string(),
                    grade: "R".into(),
                    // Row 0 nearest the stage, centre of the row nearest the middle.
                    position: Point { x: seats.len() as f64, y: r as f64 },
                    accessible: false,
                    gap_before: std::mem::take(&mut gap),
                    blocked: c == '#',
                });
            }
            seat_rows.push(seats);
        }
        let width = rows.iter().map(|r| r.len()).max().unwrap_or(0) as f64;
        let section = Section { id: "A".into(), grade: "R".into(), kind: SectionKind::Reserved { rows: seat_rows } };
        (Layout::new(vec![section], Point { x: width / 2.0, y: -1.0 }).unwrap(), taken)
    }

    fn pick(rows: &[&str], n: usize) -> Option<Choice> {
        let (layout, taken) = layout(rows);
        choose(
            &layout,
            &layout.seat_set(taken.iter().map(String::as_str)),
            &Wanted { quantity: n, grade: None, section: None, accessible: false },
        )
    }

    #[test]
    fn a_pair_sits_together_in_the_front_row_centre() {
        let choice = pick(&["........", "........"], 2).unwrap();
        assert_eq!(choice.together, Together::SameRow);
        assert_eq!(choice.seat_ids, ["0-3", "0-4"]);
    }

    #[test]
    fn a_block_that_would_strand_one_seat_is_skipped() {
        // Front row has a gap of three: two of them would leave one alone.
        let choice = pick(&["xx...xxx", "........"], 2).unwrap();
        assert!(choice.seat_ids.iter().all(|s| s.starts_with("1-")), "{choice:?}");
        // Three fit exactly.
        assert_eq!(pick(&["xx...xxx", "........"], 3).unwrap().seat_ids, ["0-2", "0-3", "0-4"]);
    }

    #[test]
    fn aisles_split_blocks() {
        let choice = pick(&["xx.|.xxx"], 2);
        assert_eq!(choice.unwrap().together, Together::SameSection);
    }

    #[test]
    fn relaxes_to_adjacent_rows_then_the_section() {
        let adjacent = pick(&["xx..xxxx", "xx..xxxx"], 4).unwrap();
        assert_eq!(adjacent.together, Together::AdjacentRows);
        let section = pick(&["xx..xxxx", "xxxxxxxx", "xxxx..xx"], 4).unwrap();
        assert_eq!(section.together, Together::SameSection);
        assert_eq!(pick(&["x.x.x.x."], 4).unwrap().seat_ids.len(), 4, "singles may fill existing holes");
        assert!(pick(&["x..x"], 3).is_none());
    }

    #[test]
    fn filters_by_grade_and_section() {
        let (layout, taken) = layout(&["....", "...."]);
        let vip = Wanted { quantity: 2, grade: Some("VIP"), section: None, accessible: false };
        assert!(choose(&layout, &layout.seat_set(taken.iter().map(String::as_str)), &vip).is_none());
        let elsewhere = Wanted { quantity: 2, grade: None, section: Some("B"), accessible: false };
        assert!(choose(&layout, &layout.seat_set(taken.iter().map(String::as_str)), &elsewhere).is_none());
    }

    fn free_singletons(rows: &[Vec<bool>], gaps: &[Vec<bool>]) -> HashSet<(usize, usize)> {
        let mut singles = HashSet::new();
        for (r, row) in rows.iter().enumerate() {
            for (p, &free) in row.iter().enumerate() {
                let left = p > 0 && !gaps[r][p] && row[p - 1];
                let right = p + 1 < row.len() && !gaps[r][p + 1] && row[p + 1];
                if free && !left && !right {
                    singles.insert((r, p));
                }
            }
        }
        singles
    }

    fn arena() -> impl Strategy<Value = Vec<String>> {
        let seat = prop_oneof![6 => Just('.'), 3 => Just('x'), 1 => Just('#'), 1 => Just('|')];
        proptest::collection::vec(proptest::collection::vec(seat, 1..16).prop_map(|v| v.into_iter().collect()), 1..6)
    }

    proptest! {
        /// Whatever the map, a choice holds exactly n distinct free seats and strands no seat
        /// that had a neighbour before; and a single row is used whenever one could take them.
        #[test]
        fn never_strands_a_seat(rows in arena(), n in 1usize..7) {
            let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
            let (layout, taken) = layout(&refs);
            let wanted = Wanted { quantity: n, grade: None, section: None, accessible: false };
            let SectionKind::Reserved { rows: seats } = &layout.sections()[0].kind else { unreachable!() };
            let gaps: Vec<Vec<bool>> = seats.iter().map(|r| r.iter().map(|s| s.gap_before).collect()).collect();
            let free = |chosen: &HashSet<String>| -> Vec<Vec<bool>> {
                seats.iter().map(|r| r.iter().map(|s| !s.blocked && !taken.contains(&s.id) && !chosen.contains(&s.id)).collect()).collect()
            };
            let before = free_singletons(&free(&HashSet::new()), &gaps);
            match choose(&layout, &layout.seat_set(taken.iter().map(String::as_str)), &wanted) {
                Some(choice) => {
                    let chosen: HashSet<String> = choice.seat_ids.iter().cloned().collect();
                    prop_assert_eq!(chosen.len(), n);
                    for id in &chosen {
                        let (_, seat) = layout.seat(id).unwrap();
                        prop_assert!(!seat.blocked && !taken.contains(id));
                    }
                    let after = free_singletons(&free(&chosen), &gaps);
                    prop_assert!(after.is_subset(&before), "new orphans: {:?}", after.difference(&before).collect::<Vec<_>>());
                    let one_row_possible = runs_allow_one_row(&free(&HashSet::new()), &gaps, n);
                    prop_assert_eq!(choice.together == Together::SameRow, one_row_possible);
                    if choice.together == Together::SameRow {
                        // Stopping at the first row too far to win loses nothing: the block is as
                        // near as the best window of every row.
                        let set = layout.seat_set(taken.iter().map(String::as_str));
                        let nearest = free_runs(&layout, &set, None)
                            .iter()
                            .filter_map(|run| best_window(0, run, n, &|_: &Seat| true))
                            .map(|w| w.score)
                            .reduce(f64::min);
                        let score: f64 = choice.seat_ids.iter()
                            .map(|id| layout.seat(id).unwrap().1.position.distance(layout.focal_point))
                            .sum();
                        prop_assert!(nearest.is_some_and(|best| (best - score).abs() < 1e-9), "{score} vs {nearest:?}");
                    }
                }
                None => {
                    prop_assert!(!runs_allow_one_row(&free(&HashSet::new()), &gaps, n), "gave up on a row that fits");
                    let total: usize = free(&HashSet::new()).iter().flatten().filter(|f| **f).count();
                    // Whole runs alone (never an orphan) would have made n if every seat were in play.
                    prop_assert!(total != n, "gave up with exactly {n} free seats");
                }
            }
        }
    }

    /// Brute force: does some row hold n free adjacent seats without stranding one?
    fn runs_allow_one_row(free: &[Vec<bool>], gaps: &[Vec<bool>], n: usize) -> bool {
        free.iter().enumerate().any(|(r, row)| {
            let mut lens = Vec::new();
            let mut len = 0;
            for (p, &f) in row.iter().enumerate() {
                if gaps[r][p] || !f {
                    if len > 0 {
                        lens.push(len);
                    }
                    len = 0;
                }
                if f {
                    len += 1;
                }
            }
            if len > 0 {
                lens.push(len);
            }
            lens.into_iter().any(|l| l == n || l >= n + 2)
        })
    }
}
