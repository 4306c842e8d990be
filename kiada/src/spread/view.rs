//! `/spread` laid out for its templates (`templates/spread.txt`, `templates/spread.html`):
//! a row per pod, then a row per failure cause, each with its share of the calls as a bar.

use kiada_wire::{LatencySummary, Spread, SpreadMode};

use askama::Template;

use crate::view::reads_view;

/// Width of a bar that stands for every call: `#` characters in the text view; the SVG
/// bars of the HTML view are drawn in a 100-unit box.
const TEXT_BAR_WIDTH: u32 = 40;

/// One bar: a pod's answers or one cause's failures.
pub struct BarRow {
    /// The pod's name, or `ERROR`.
    pub label: String,
    /// `node <name>`, or the cause.
    pub detail: String,
    pub calls: u32,
    /// Share of all calls, in whole percent, at least 1 for any call: also the bar's
    /// width in the HTML view's 100-unit SVG box.
    pub percent: u32,
    /// A failure row (no latency of its own).
    pub error: bool,
    /// Median latency of the pod's calls (ms); none for a failure row.
    pub median_ms: Option<f64>,
    /// The text view's line, its columns padded to the widest row.
    pub text_line: String,
}

/// What both templates show.
pub struct SpreadView<'a> {
    pub version: &'a str,
    pub spread: &'a Spread,
    pub rows: Vec<BarRow>,
    /// "min 0.6 ms, median 0.9 ms, p90 1.8 ms, max 2.4 ms", when any call was answered.
    pub latency: Option<String>,
    pub reuse: bool,
}

impl<'a> SpreadView<'a> {
    pub fn of(spread: &'a Spread, version: &'a str) -> Self {
        let total = spread.calls.max(1);
        let share = |calls: u32, width: u32| {
            if calls == 0 {
                0
            } else {
                ((calls * width + total / 2) / total).max(1)
            }
        };
        let row = |label: &str, detail: String, calls: u32, median_ms: Option<f64>| BarRow {
            label: label.to_owned(),
            detail,
            calls,
            percent: share(calls, 100),
            error: median_ms.is_none(),
            median_ms,
            text_line: String::new(),
        };
        let mut rows: Vec<BarRow> = spread
            .pods
            .iter()
            .map(|pod| {
                let median = Some(pod.latency_ms.median);
                row(&pod.pod, format!("node {}", pod.node), pod.calls, median)
            })
            .chain(
                spread
                    .errors
                    .iter()
                    .map(|error| row("ERROR", error.cause.clone(), error.calls, None)),
            )
            .collect();
        let label_width = rows.iter().map(|r| r.label.len()).max().unwrap_or(0);
        let detail_width = rows.iter().map(|r| r.detail.len()).max().unwrap_or(0);
        for row in &mut rows {
            let bar = "#".repeat(share(row.calls, TEXT_BAR_WIDTH) as usize);
            let median = row
                .median_ms
                .map(|ms| format!("  median {ms:.2} ms"))
                .unwrap_or_default();
            row.text_line = format!(
                "{:<label_width$}  {:<detail_width$}  {:>3}  {:<bar_width$}  {:>3}%{median}",
                row.label,
                row.detail,
                row.calls,
                bar,
                row.percent,
                bar_width = TEXT_BAR_WIDTH as usize,
            );
        }
        Self {
            version,
            spread,
            rows,
            latency: spread.latency_ms.as_ref().map(describe_latency),
            reuse: spread.mode == SpreadMode::Reuse,
        }
    }

    /// "4 pods", "1 pod".
    pub fn pods_answered(&self) -> String {
        match self.spread.pods.len() {
            1 => "1 pod".into(),
            n => format!("{n} pods"),
        }
    }

    /// The backend this view did not call.
    pub fn other_service(&self) -> &'static str {
        if self.spread.service == "quiz" {
            "quote"
        } else {
            "quiz"
        }
    }

    /// The view's time in seconds, as the text shows it.
    pub fn elapsed_seconds(&self) -> String {
        format!("{:.2}", self.spread.elapsed_ms / 1000.0)
    }
}

fn describe_latency(latency: &LatencySummary) -> String {
    format!(
        "min {:.2} ms, median {:.2} ms, p90 {:.2} ms, max {:.2} ms",
        latency.min, latency.median, latency.p90, latency.max
    )
}

/// The text view. Not escaped: pod names and causes were cleaned of control
/// characters when the calls were made.
#[derive(Template)]
#[template(path = "spread.txt")]
pub struct SpreadText<'a>(pub SpreadView<'a>);

/// The HTML view; askama escapes every value.
#[derive(Template)]
#[template(path = "spread.html")]
pub struct SpreadHtml<'a>(pub SpreadView<'a>);

reads_view!(SpreadText, SpreadView);
reads_view!(SpreadHtml, SpreadView);

#[cfg(test)]
mod tests {
    use kiada_wire::{ErrorCalls, PodCalls};

    use super::*;

    fn latency(median: f64) -> LatencySummary {
        LatencySummary {
            min: median / 2.0,
            median,
            p90: median * 2.0,
            max: median * 3.0,
        }
    }

    #[test]
    fn text_view_draws_a_bar_per_pod_and_per_cause() {
        let spread = Spread {
            service: "quote".into(),
            url: "http://quote/quote".into(),
            mode: SpreadMode::NewConnection,
            summary: "Each of the 20 calls opened a new connection, so the Service chose a pod for every call.".into(),
            calls: 20,
            answered: 19,
            pods: vec![
                PodCalls {
                    pod: "quote-001".into(),
                    node: "node-a".into(),
                    calls: 10,
                    latency_ms: latency(1.0),
                },
                PodCalls {
                    pod: "quote-canary".into(),
                    node: "node-a".into(),
                    calls: 9,
                    latency_ms: latency(1.25),
                },
            ],
            errors: vec![ErrorCalls {
                cause: "did not answer within 2s".into(),
                calls: 1,
            }],
            latency_ms: Some(latency(1.1)),
            elapsed_ms: 123.4,
        };
        let text = SpreadText(SpreadView::of(&spread, "0.1.0"))
            .render()
            .unwrap();
        let expected = [
            "KUBERNETES IN ACTION DEMO APPLICATION v0.1.0",
            "",
            "==== SPREAD: 20 CALLS TO THE QUOTE SERVICE (http://quote/quote)",
            "Each of the 20 calls opened a new connection, so the Service chose a pod for every call.",
            "",
            "quote-001     node node-a                10  ####################                       50%  median 1.00 ms",
            "quote-canary  node node-a                 9  ##################                         45%  median 1.25 ms",
            "ERROR         did not answer within 2s    1  ##                                          5%",
            "",
            "19 of 20 calls answered by 2 pods in 0.12 s.",
            "Latency: min 0.55 ms, median 1.10 ms, p90 2.20 ms, max 3.30 ms.",
            "",
            "Try /spread?service=quote&reuse=true (one kept-alive connection for every call), /spread?service=quiz, /spread?n=100.",
            "Open /spread in a browser to draw the bars again with a click.",
            "",
        ]
        .join("\n");
        assert_eq!(text, expected);
    }
}
