//! The run's report: a terminal summary, `result.json`, and `report.html` — a single page with
//! inline SVG charts (no scripts, nothing fetched) that a person can open from disk.

use std::{fmt::Write as _, path::Path};

use crate::{
    checker::Outcome as Check,
    run::Outcome,
    stats::{Series, Summary},
};

/// The terminal summary.
pub fn terminal(outcome: &Outcome) -> String {
    let s = &outcome.summary;
    let mut out = String::new();
    let _ = writeln!(out, "\n{} — {} buyers, performance {}", outcome.scenario, outcome.buyers, outcome.performance_id);
    let _ = writeln!(
        out,
        "{:<10} {:>7} {:>7} {:>6} {:>9} {:>9} {:>9} {:>9}",
        "step", "ok", "refused", "unknown", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for step in &s.steps {
        let name = format!("{:?}", step.step).to_lowercase();
        let _ = writeln!(
            out,
            "{name:<10} {:>7} {:>7} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            step.ok, step.fail, step.info, step.p50_ms, step.p90_ms, step.p99_ms, step.max_ms
        );
    }
    let sell = &s.sell_out;
    let sold_out = sell.seconds.map_or_else(|| "not sold out".to_owned(), |t| format!("sold out in {t:.1} s"));
    let _ = writeln!(
        out,
        "sold {} of {} ({sold_out}; the admission-limited ideal is {:.1} s); peak {} holds/s",
        sell.sold, sell.capacity, sell.ideal_seconds, s.peak_holds_per_second
    );
    if !s.errors.is_empty() {
        let errors: Vec<String> = s.errors.iter().map(|(code, n)| format!("{code} ×{n}")).collect();
        let _ = writeln!(out, "refusals and errors: {}", errors.join(", "));
    }
    for (at, what, result) in &outcome.faults {
        let _ = writeln!(out, "fault at {at} s: {what} — {result}");
    }
    let _ = writeln!(out, "checker:");
    for check in &outcome.verdict.checks {
        let line = match &check.outcome {
            Check::Held => "held".to_owned(),
            Check::NotChecked(why) => format!("not checked ({why})"),
            Check::Violated(evidence) => format!("VIOLATED\n      {}", evidence.join("\n      ")),
        };
        let _ = writeln!(out, "  {} {:<28} {line}", check.invariant, check.title);
    }
    let _ = writeln!(out, "verdict: {}", if outcome.verdict.passed() { "PASS" } else { "FAIL" });
    out
}

/// Writes `result.json` and `report.html` into `dir`.
pub fn write(outcome: &Outcome, dir: &Path) -> std::io::Result<()> {
    std::fs::write(dir.join("result.json"), serde_json::to_vec_pretty(outcome).map_err(std::io::Error::other)?)?;
    std::fs::write(dir.join("report.html"), html(outcome))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn html(outcome: &Outcome) -> String {
    let s: &Summary = &outcome.summary;
    let series: &Series = &s.series;
    let as_f = |v: &[u64]| v.iter().map(|x| *x as f64).collect::<Vec<_>>();
    let mut page = String::new();
    let verdict = if outcome.verdict.passed() { "PASS" } else { "FAIL" };
    let _ = write!(
        page,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Rehearsal: {name}</title><style>\
         body{{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}}table{{border-collapse:collapse}}\
         td,th{{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}}th:first-child,td:first-child{{text-align:left}}\
         .pass{{color:#080}}.fail{{color:#b00}}svg{{background:#fafafa;border:1px solid #eee}}</style></head><body>\
         <h1>Rehearsal: {name}</h1><p>{buyers} buyers · performance {perf} · verdict <b class=\"{class}\">{verdict}</b></p>",
        name = escape(&outcome.scenario),
        buyers = outcome.buyers,
        perf = escape(&outcome.performance_id),
        class = verdict.to_lowercase(),
    );
    let open = outcome.sale_opened_at_s;
    page.push_str("<h2>Arrivals, admissions and holds per second</h2>");
    page.push_str(&chart(
        &[
            ("arrivals", &as_f(&series.arrivals)),
            ("admissions", &as_f(&series.admissions)),
            ("holds", &as_f(&series.holds)),
        ],
        open,
    ));
    page.push_str("<h2>Tickets sold (cumulative) and waiting-room length</h2>");
    page.push_str(&chart(&[("sold", &as_f(&series.sold)), ("queue length", &as_f(&series.queue_length))], open));
    page.push_str("<h2>Hold latency per second (ms, from the intended send time)</h2>");
    page.push_str(&chart(&[("p50", &series.hold_p50_ms), ("p99", &series.hold_p99_ms)], open));
    page.push_str("<h2>Latency per step</h2><table><tr><th>step</th><th>ok</th><th>refused</th><th>unknown</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th></tr>");
    for step in &s.steps {
        let _ = write!(
            page,
            "<tr><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td></tr>",
            step.step, step.ok, step.fail, step.info, step.p50_ms, step.p90_ms, step.p99_ms, step.max_ms
        );
    }
    page.push_str("</table><h2>Refusals and errors by code</h2>");
    page.push_str(&bars(&s.errors.iter().map(|(k, v)| (k.as_str(), *v)).collect::<Vec<_>>()));
    let sell = &s.sell_out;
    let _ = write!(
        page,
        "<h2>Sell-out</h2><p>Sold {} of {}. {} The admission-limited ideal: {:.1} s.</p>",
        sell.sold,
        sell.capacity,
        sell.seconds.map_or_else(|| "Not sold out.".to_owned(), |t| format!("Sold out {t:.1} s after opening.")),
        sell.ideal_seconds
    );
    page.push_str("<h2>Invariants</h2><table><tr><th>invariant</th><th>outcome</th></tr>");
    for check in &outcome.verdict.checks {
        let cell = match &check.outcome {
            Check::Held => "<span class=\"pass\">held</span>".to_owned(),
            Check::NotChecked(why) => format!("not checked: {}", escape(why)),
            Check::Violated(evidence) => format!(
                "<span class=\"fail\">violated</span><br>{}",
                evidence.iter().map(|e| escape(e)).collect::<Vec<_>>().join("<br>")
            ),
        };
        let _ = write!(
            page,
            "<tr><td>{} {}</td><td style=\"text-align:left\">{cell}</td></tr>",
            check.invariant,
            escape(check.title)
        );
    }
    page.push_str("</table></body></html>\n");
    page
}

const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// A line chart of per-second series, with the sale's opening marked.
fn chart(lines: &[(&str, &[f64])], open_s: f64) -> String {
    let (width, height, pad) = (900.0, 240.0, 40.0);
    let seconds = lines.iter().map(|(_, v)| v.len()).max().unwrap_or(0).max(2) as f64;
    let top = lines.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0_f64, f64::max).max(1.0);
    let x = |i: f64| pad + i / (seconds - 1.0) * (width - 2.0 * pad);
    let y = |v: f64| height - pad - v / top * (height - 2.0 * pad);
    let mut svg = format!("<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">");
    let _ = write!(
        svg,
        "<text x=\"4\" y=\"{}\" font-size=\"11\">{top:.0}</text><text x=\"4\" y=\"{}\" font-size=\"11\">0</text>",
        pad,
        height - pad
    );
    let _ = write!(
        svg,
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{seconds:.0} s</text>",
        width - pad,
        height - 8.0
    );
    let _ = write!(
        svg,
        "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#999\" stroke-dasharray=\"4\"/><text x=\"{0}\" y=\"{3}\" font-size=\"11\">sale opens</text>",
        x(open_s),
        pad,
        height - pad,
        pad - 6.0
    );
    for (n, (name, values)) in lines.iter().enumerate() {
        let colour = COLOURS[n % COLOURS.len()];
        let points: Vec<String> =
            values.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x(i as f64), y(*v))).collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\" points=\"{}\"/>",
            points.join(" ")
        );
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"{colour}\">{}</text>",
            pad + 140.0 * n as f64,
            16,
            escape(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars, one per code.
fn bars(counts: &[(&str, u64)]) -> String {
    if counts.is_empty() {
        return "<p>None.</p>".into();
    }
    let top = counts.iter().map(|(_, n)| *n).max().unwrap_or(1).max(1) as f64;
    let height = 22 * counts.len() + 10;
    let mut svg = format!("<svg width=\"900\" height=\"{height}\" role=\"img\">");
    for (i, (code, n)) in counts.iter().enumerate() {
        let y = 6 + 22 * i;
        let _ = write!(
            svg,
            "<text x=\"4\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"300\" y=\"{y}\" width=\"{:.1}\" height=\"16\" fill=\"#d62728\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{n}</text>",
            y + 13,
            escape(code),
            *n as f64 / top * 520.0,
            306.0 + *n as f64 / top * 520.0,
            y + 13
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_scale_to_their_data_and_escape_labels() {
        let svg = chart(&[("a<b", &[0.0, 5.0, 10.0])], 1.0);
        assert!(svg.contains("a&lt;b") && !svg.contains("a<b"), "{svg}");
        assert!(svg.contains(">10</text>"), "the top of the scale is the largest value");
        assert!(
            svg.contains("40.0,200.0") && svg.contains("860.0,40.0"),
            "first at the bottom left, peak at the top right: {svg}"
        );
        assert_eq!(bars(&[]), "<p>None.</p>");
        assert!(bars(&[("hold: SEAT_TAKEN", 3)]).contains("hold: SEAT_TAKEN"));
    }
}
