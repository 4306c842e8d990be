//! What a bench run found: the rows measured, kiada against its floor, the servers' facts,
//! and which targets were met (the `markdown` module writes it out).

use crate::wrk::LoadResult;

pub const HELLO: &str = "hello GET / (ceiling)";
pub const FLOOR: &str = "floor GET / (fan-out floor)";
pub const KIADA: &str = "kiada GET /text";
pub const QUIZ_POST: &str = "quiz POST /questions/1/answers";

/// One target at one concurrency.
#[derive(Debug, Clone)]
pub struct Row {
    pub label: &'static str,
    pub connections: u32,
    pub load: LoadResult,
    /// CPU µs per request of each server process during the row.
    pub cpu_us: Vec<(&'static str, f64)>,
}

impl Row {
    pub fn cpu_of(&self, process: &str) -> Option<f64> {
        self.cpu_us
            .iter()
            .find(|(name, _)| *name == process)
            .map(|(_, micros)| *micros)
    }

    /// The processes that worked for this row (at least 1 µs per request).
    pub fn cpu_text(&self) -> String {
        self.cpu_us
            .iter()
            .filter(|(_, micros)| *micros >= 1.0)
            .map(|(name, micros)| format!("{name} {micros:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One server's facts at the end of the run.
pub struct Service {
    pub name: &'static str,
    pub ready_ms: f64,
    pub peak_rss_mib: f64,
    pub binary_mib: f64,
    pub log_lines: u64,
}

/// Under what conditions the rows were measured.
pub struct Conditions {
    pub seconds_per_row: u64,
    pub machine: String,
    pub load_before: f64,
    pub load_after: f64,
    /// The share of all cores' time that processes other than the servers, wrk and xtask
    /// used while the rows ran.
    pub others_cpu_share: f64,
}

pub struct Report {
    pub conditions: Conditions,
    pub rows: Vec<Row>,
    pub services: Vec<Service>,
    /// Image archives in target/images, with their size in MiB.
    pub images: Vec<(String, f64)>,
}

/// kiada and the floor at one concurrency: requests per second, and the front process's
/// CPU µs per request.
#[derive(Debug, PartialEq)]
pub struct AgainstFloor {
    pub connections: u32,
    pub kiada_rps: f64,
    pub floor_rps: f64,
    pub kiada_cpu_us: f64,
    pub floor_cpu_us: f64,
}

impl AgainstFloor {
    /// kiada's requests per second over the floor's.
    pub fn requests_per_second(&self) -> f64 {
        self.kiada_rps / self.floor_rps
    }

    /// kiada's CPU per request over the floor's.
    pub fn cpu_per_request(&self) -> f64 {
        self.kiada_cpu_us / self.floor_cpu_us
    }
}

impl Report {
    fn row(&self, label: &str, connections: u32) -> Option<&Row> {
        self.rows
            .iter()
            .find(|row| row.label == label && row.connections == connections)
    }

    /// kiada beside the floor at every concurrency both were measured at.
    pub fn against_floor(&self) -> Vec<AgainstFloor> {
        self.rows
            .iter()
            .filter(|row| row.label == KIADA)
            .filter_map(|kiada| {
                let floor = self.row(FLOOR, kiada.connections)?;
                Some(AgainstFloor {
                    connections: kiada.connections,
                    kiada_rps: kiada.load.requests_per_second,
                    floor_rps: floor.load.requests_per_second,
                    kiada_cpu_us: kiada.cpu_of("kiada")?,
                    floor_cpu_us: floor.cpu_of("floor")?,
                })
            })
            .collect()
    }

    /// Each target, and whether it was met.
    pub fn checks(&self) -> Vec<(String, bool)> {
        let mut checks = Vec::new();
        if let Some(pair) = self.against_floor().iter().find(|p| p.connections == 64) {
            checks.push((
                format!(
                    "kiada /text at 64 connections makes {:.2}x the floor's requests per second (target at least 0.9x)",
                    pair.requests_per_second()
                ),
                pair.requests_per_second() >= 0.9,
            ));
            checks.push((
                format!(
                    "kiada /text at 64 connections spends {:.2}x the floor's CPU per request (target at most 1.15x)",
                    pair.cpu_per_request()
                ),
                pair.cpu_per_request() <= 1.15,
            ));
        }
        if let Some(kiada) = self.row(KIADA, 64) {
            checks.push((
                format!(
                    "kiada /text p99 at 64 connections is {:.2} ms (target at most 15 ms)",
                    kiada.load.p99_ms
                ),
                kiada.load.p99_ms <= 15.0,
            ));
        }
        let errors: u64 = self.rows.iter().map(|row| row.load.errors).sum();
        checks.push((
            format!("{errors} errors in all rows (target 0)"),
            errors == 0,
        ));
        for service in self
            .services
            .iter()
            .filter(|s| ["kiada", "quote", "quiz"].contains(&s.name))
        {
            checks.push((
                format!(
                    "{} peak RSS {:.1} MiB (target at most 20 MB = 19.1 MiB)",
                    service.name, service.peak_rss_mib
                ),
                service.peak_rss_mib <= 20e6 / 1048576.0,
            ));
            checks.push((
                format!(
                    "{} ready {:.1} ms after start (target at most 100 ms)",
                    service.name, service.ready_ms
                ),
                service.ready_ms <= 100.0,
            ));
        }
        if let Some(answers) = self.row(QUIZ_POST, 16) {
            checks.push((
                format!(
                    "quiz answers at 16 connections: {:.0}/s (target at least 2,000/s)",
                    answers.load.requests_per_second
                ),
                answers.load.requests_per_second >= 2000.0,
            ));
        }
        checks
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn row(
        label: &'static str,
        connections: u32,
        rps: f64,
        cpu: &[(&'static str, f64)],
    ) -> Row {
        Row {
            label,
            connections,
            load: LoadResult {
                requests_per_second: rps,
                p50_ms: 1.0,
                p99_ms: 7.5,
                requests: (rps * 5.0) as u64,
                errors: 0,
            },
            cpu_us: cpu.to_vec(),
        }
    }

    pub(crate) fn report() -> Report {
        Report {
            conditions: Conditions {
                seconds_per_row: 5,
                machine: "2 cores (test CPU)".into(),
                load_before: 0.1,
                load_after: 1.9,
                others_cpu_share: 0.01,
            },
            rows: vec![
                row(
                    FLOOR,
                    64,
                    10000.0,
                    &[("floor", 40.0), ("quote", 16.0), ("quiz", 0.4)],
                ),
                row(KIADA, 64, 9500.0, &[("kiada", 44.0), ("quote", 16.0)]),
                row(FLOOR, 16, 10000.0, &[("floor", 40.0)]),
                row(KIADA, 16, 8000.0, &[("kiada", 60.0)]),
                row(QUIZ_POST, 16, 31250.0, &[("quiz", 35.0)]),
            ],
            services: vec![Service {
                name: "kiada",
                ready_ms: 3.9,
                peak_rss_mib: 18.9,
                binary_mib: 7.1,
                log_lines: 100_000,
            }],
            images: vec![],
        }
    }

    #[test]
    fn compares_kiada_with_the_floor_at_each_concurrency() {
        let pairs = report().against_floor();
        let ratios: Vec<_> = pairs
            .iter()
            .map(|p| (p.connections, p.requests_per_second(), p.cpu_per_request()))
            .collect();
        assert_eq!(ratios, vec![(64, 0.95, 1.1), (16, 0.8, 1.5)]);
    }
}
