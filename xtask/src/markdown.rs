//! BENCHMARKS.md: a [`Report`] as Markdown.

use std::fmt::Write as _;

use crate::report::Report;

/// The report as Markdown.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut out, report);
    out
}

fn write_report(out: &mut String, report: &Report) -> std::fmt::Result {
    let conditions = &report.conditions;
    writeln!(out, "# Benchmarks\n")?;
    writeln!(
        out,
        "Made by `cargo xtask bench` from the binaries that `cargo build --release --workspace \
         --locked` makes (what CI and the images build), run as the manifests configure them: \
         `RUST_LOG=info`, `LOG_FORMAT=text`, every access log line written to a file. \
         Loopback, wrk {} s per row; the load generator shares the machine with the services. \
         The references are built apart (bench/): the hello ceiling, and kiada's fan-out floor.\n",
        conditions.seconds_per_row
    )?;
    writeln!(out, "Machine: {}\n", conditions.machine)?;
    let share = conditions.others_cpu_share * 100.0;
    write!(
        out,
        "While it ran: processes other than the servers, wrk and xtask used {share:.0}% of \
         all cores' time during the rows (/proc/stat); the 1-minute load average was {:.2} \
         before them (it counts the build just before) and {:.2} after.",
        conditions.load_before, conditions.load_after
    )?;
    if share >= 5.0 {
        write!(
            out,
            " The machine was shared with other work, so requests per second and latencies \
             are noisy; CPU per request, and the kiada/floor ratios of rows measured back to \
             back, much less so."
        )?;
    }
    writeln!(out, "\n")?;
    writeln!(
        out,
        "CPU µs per request: user + system CPU time of each server process during the row \
         (from /proc), divided by the requests wrk completed; the load generator's own \
         share is not included.\n"
    )?;
    table(
        out,
        "| target | connections | requests/s | p50 ms | p99 ms | errors | CPU µs per request |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        report.rows.iter().map(|row| {
            vec![
                row.label.to_owned(),
                row.connections.to_string(),
                format!("{:.0}", row.load.requests_per_second),
                format!("{:.2}", row.load.p50_ms),
                format!("{:.2}", row.load.p99_ms),
                row.load.errors.to_string(),
                row.cpu_text(),
            ]
        }),
    )?;
    let against_floor = report.against_floor();
    if !against_floor.is_empty() {
        writeln!(out, "\n## kiada against its floor\n")?;
        writeln!(
            out,
            "The floor (bench/fanout-floor) is the least a fan-out on kiada's stack does: one \
             actix-web handler that GETs quote's /quote and quiz's /questions/random \
             concurrently through one shared reqwest client and answers the two bodies \
             concatenated; no log, metrics, request ids or page. It runs in front of the same \
             quote and quiz processes as kiada, and each kiada row was measured right after \
             the floor's row at the same concurrency. CPU is the front process's own (kiada's \
             or the floor's): quote and quiz do the same work for both. Unlike kiada, whose \
             actix workers each keep their own pool of backend connections, the floor's one \
             client is shared by both workers, so its calls cross threads: under high \
             concurrency the floor is no bound that kiada cannot pass.\n"
        )?;
        table(
            out,
            "| connections | kiada requests/s | floor requests/s | kiada/floor | \
             kiada CPU µs/request | floor CPU µs/request | kiada/floor |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
            against_floor.iter().map(|pair| {
                vec![
                    pair.connections.to_string(),
                    format!("{:.0}", pair.kiada_rps),
                    format!("{:.0}", pair.floor_rps),
                    format!("{:.2}", pair.requests_per_second()),
                    format!("{:.0}", pair.kiada_cpu_us),
                    format!("{:.0}", pair.floor_cpu_us),
                    format!("{:.2}", pair.cpu_per_request()),
                ]
            }),
        )?;
    }
    writeln!(out)?;
    table(
        out,
        "| server | ready after start (ms) | peak RSS (MiB) | binary (MiB) | log lines |",
        "| --- | ---: | ---: | ---: | ---: |",
        report.services.iter().map(|service| {
            vec![
                service.name.to_owned(),
                format!("{:.1}", service.ready_ms),
                format!("{:.1}", service.peak_rss_mib),
                format!("{:.1}", service.binary_mib),
                service.log_lines.to_string(),
            ]
        }),
    )?;
    if !report.images.is_empty() {
        writeln!(out, "\n| image archive (target/images) | MiB |")?;
        writeln!(out, "| --- | ---: |")?;
        for (name, mib) in &report.images {
            writeln!(out, "| {name} | {mib:.1} |")?;
        }
    }
    writeln!(out, "\n## Targets\n")?;
    for (text, met) in report.checks() {
        writeln!(out, "- {} {text}", if met { "met:" } else { "NOT met:" })?;
    }
    Ok(())
}

/// A Markdown table: its header and alignment lines, then one line per row.
fn table(
    out: &mut String,
    header: &str,
    alignment: &str,
    rows: impl Iterator<Item = Vec<String>>,
) -> std::fmt::Result {
    writeln!(out, "{header}\n{alignment}")?;
    for cells in rows {
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::report;

    #[test]
    fn renders_rows_ratios_and_targets() {
        let text = render(&report());
        assert!(
            text.contains("| kiada GET /text | 64 | 9500 | 1.00 | 7.50 | 0 | kiada 44, quote 16 |")
        );
        // Under 1 µs per request is not work for that row.
        assert!(text.contains(
            "| floor GET / (fan-out floor) | 64 | 10000 | 1.00 | 7.50 | 0 | floor 40, quote 16 |"
        ));
        assert!(text.contains("| 64 | 9500 | 10000 | 0.95 | 44 | 40 | 1.10 |"));
        assert!(text.contains("| 16 | 8000 | 10000 | 0.80 | 60 | 40 | 1.50 |"));
        assert!(text.contains("| kiada | 3.9 | 18.9 | 7.1 | 100000 |"));
        assert!(text.contains(
            "- met: kiada /text at 64 connections makes 0.95x the floor's requests per second"
        ));
        assert!(text.contains(
            "- met: kiada /text at 64 connections spends 1.10x the floor's CPU per request"
        ));
        assert!(text.contains("- met: kiada /text p99 at 64 connections is 7.50 ms"));
        assert!(text.contains("- met: quiz answers at 16 connections: 31250/s"));
        assert!(!text.contains("image archive"));
        assert!(!text.contains("shared with other work"));
    }

    #[test]
    fn says_when_the_machine_was_shared() {
        let mut busy = report();
        busy.conditions.others_cpu_share = 0.2;
        let text = render(&busy);
        assert!(text.contains("used 20% of all cores' time during the rows"));
        assert!(text.contains("The machine was shared with other work"));
    }

    #[test]
    fn a_missed_target_says_so() {
        let mut slow = report();
        slow.rows[1].load.requests_per_second = 7000.0;
        let text = render(&slow);
        assert!(text.contains("- NOT met: kiada /text at 64 connections makes 0.70x"));
    }
}
