//! Settings every service shares, and the way every service declares its own: one
//! struct whose fields are the settings (see [`CommandLine`]). Flags win over
//! environment variables (read with envy), which win over the declared defaults, so
//! `--listen-port` beats `LISTEN_PORT` beats 8080.

mod command_line;
mod doc;

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

pub use command_line::{CommandLine, Resolved, Source};
pub use doc::compare_help_with_readme;

use crate::PodInfo;

/// Default HTTP port of every service (a non-root container cannot bind 80).
pub const DEFAULT_LISTEN_PORT: u16 = 8080;

/// A setting that cannot be used; the message names its variable. No source error: the
/// reason is the whole story.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid environment variable: {reason}")]
    Env { reason: String },
    #[error("invalid environment variable {name}={value:?}: {reason}")]
    EnvVar {
        name: String,
        value: String,
        reason: String,
    },
    #[error("invalid setting {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The settings every service shares, declared once (see [`CommandLine`] for how a field
/// becomes a variable, a flag, a default and a help line).
#[derive(Debug, Clone, clap::Args, Deserialize)]
#[command(next_help_heading = "Shared by every Kiada service")]
pub struct CommonSettings {
    /// HTTP port, on IPv6 and IPv4
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_LISTEN_PORT)]
    pub listen_port: u16,
    /// Log line format: text, or json (one object per line)
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Pod name, from the Downward API (metadata.name)
    #[arg(long, value_name = "NAME")]
    pub pod_name: Option<String>,
    /// Pod IP, from the Downward API (status.podIP)
    #[arg(long, value_name = "IP")]
    pub pod_ip: Option<String>,
    /// Node name, from the Downward API (spec.nodeName)
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// Node IP, from the Downward API (status.hostIP)
    #[arg(long, value_name = "IP")]
    pub node_ip: Option<String>,
    /// After SIGTERM, how long readiness fails while the service still serves
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    pub shutdown_drain_seconds: f64,
    /// How long in-flight requests may take to finish after that
    #[arg(long, value_name = "SECONDS", default_value_t = 20.0)]
    pub shutdown_timeout_seconds: f64,
    /// Fail every request but liveness, startup, metrics and admin with 500 after this long
    #[arg(long, value_name = "SECONDS")]
    pub fail_after_seconds: Option<f64>,
    /// Enable POST/DELETE /admin/probes/{probe}/fail
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub probe_controls_enabled: bool,
    /// Enable POST/DELETE /admin/faults (delay, error rate, fixed status)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub faults_enabled: bool,
    /// A probe fails while <DIR>/fail-<probe> exists (live, ready, startup)
    #[arg(long, value_name = "DIR")]
    pub probe_fail_dir: Option<PathBuf>,
    /// Readiness fails until this file exists (the exec-probe lesson)
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
}

/// Read from the environment by the log set-up, not by these settings: no flag.
pub const ENVIRONMENT_ONLY: &[(&str, &str, &str)] =
    &[("RUST_LOG", "info", "log levels, e.g. info,kiada=debug")];

impl CommonSettings {
    /// `command` with the shared settings added.
    pub fn augment(command: clap::Command) -> clap::Command {
        let mut after = String::from("Read from the environment only:");
        for (name, default, help) in ENVIRONMENT_ONLY {
            after.push_str(&format!(
                "\n  {name}  {help} [env: {name}] [default: {default}]"
            ));
        }
        let after = match command.get_after_help() {
            Some(text) => format!("{text}\n\n{after}"),
            None => after,
        };
        // The derive would make this struct's doc comment the service's `about`.
        let about = command.get_about().cloned();
        let command = <Self as clap::Args>::augment_args(command.after_help(after));
        match about {
            Some(about) => command.about(about),
            None => command,
        }
    }

    /// The pod info these settings carry, plus the hostname.
    pub fn pod_info(&self) -> PodInfo {
        let pairs = [
            ("POD_NAME", &self.pod_name),
            ("POD_IP", &self.pod_ip),
            ("NODE_NAME", &self.node_name),
            ("NODE_IP", &self.node_ip),
        ];
        PodInfo::from_vars(
            pairs
                .into_iter()
                .filter_map(|(name, value)| value.clone().map(|value| (name.to_owned(), value))),
        )
    }
}

/// The teaching and testing controls (probes, failures, faults). Everything that can
/// break a service on purpose is off unless configured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ControlSettings {
    /// After this long since start-up, every request but liveness, startup, metrics and
    /// admin fails with 500, as for the rollout lessons (`FAIL_AFTER_SECONDS`).
    pub fail_after: Option<Duration>,
    /// Whether `POST`/`DELETE /admin/probes/{probe}/fail` exist (`PROBE_CONTROLS_ENABLED`).
    pub probe_controls_enabled: bool,
    /// Whether `POST`/`DELETE /admin/faults` exist (`FAULTS_ENABLED`).
    pub faults_enabled: bool,
    /// A probe fails while `<dir>/fail-<probe>` exists (`PROBE_FAIL_DIR`).
    pub probe_fail_dir: Option<PathBuf>,
    /// Readiness fails until this file exists, as in the exec-probe lesson (`READY_FILE`).
    pub ready_file: Option<PathBuf>,
}

/// Resolved settings of the HTTP server and its shutdown.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    pub listen_port: u16,
    pub log_format: LogFormat,
    /// After SIGTERM, how long readiness fails while the server still serves, so that
    /// Kubernetes can take the pod out of the Service's endpoints before it stops
    /// (`SHUTDOWN_DRAIN_SECONDS`).
    pub drain_delay: Duration,
    /// How long in-flight requests may take to finish once the server stops accepting
    /// (`SHUTDOWN_TIMEOUT_SECONDS`).
    pub shutdown_timeout: Duration,
    pub controls: ControlSettings,
}

impl Default for ServerSettings {
    /// The declared defaults.
    fn default() -> Self {
        let command = <CommonSettings as clap::Args>::augment_args(clap::Command::new("defaults"));
        let matches = command.get_matches_from(["defaults"]);
        let common = <CommonSettings as clap::FromArgMatches>::from_arg_matches(&matches)
            .expect("the shared settings' defaults parse");
        Self::resolve(&common).expect("the shared settings' defaults are valid")
    }
}

impl ServerSettings {
    /// Checks the shared settings and converts them.
    pub fn resolve(common: &CommonSettings) -> Result<Self, ConfigError> {
        Ok(Self {
            listen_port: common.listen_port,
            log_format: common.log_format,
            drain_delay: seconds("SHUTDOWN_DRAIN_SECONDS", common.shutdown_drain_seconds)?,
            shutdown_timeout: seconds("SHUTDOWN_TIMEOUT_SECONDS", common.shutdown_timeout_seconds)?,
            controls: ControlSettings {
                fail_after: common
                    .fail_after_seconds
                    .map(|secs| seconds("FAIL_AFTER_SECONDS", secs))
                    .transpose()?,
                probe_controls_enabled: common.probe_controls_enabled,
                faults_enabled: common.faults_enabled,
                probe_fail_dir: common.probe_fail_dir.clone(),
                ready_file: common.ready_file.clone(),
            },
        })
    }
}

/// Parses a number of seconds, rejecting what `Duration` cannot hold.
pub fn seconds(name: &'static str, secs: f64) -> Result<Duration, ConfigError> {
    Duration::try_from_secs_f64(secs).map_err(|_| ConfigError::Invalid {
        name,
        reason: format!("{secs} is not a number of seconds from 0 up"),
    })
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    /// A service's own settings, as a service declares them.
    #[derive(Debug, clap::Parser, Deserialize)]
    #[command(name = "test")]
    struct Own {
        /// A colour
        #[arg(long, value_enum)]
        colour: Option<LogFormat>,
        /// A port
        #[arg(long = "port", default_value_t = 7)]
        own_port: u16,
    }

    fn load(args: &[&str], env: &[(&str, &str)]) -> Result<Resolved<Own>, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|&(name, value)| (name.into(), value.into()))
            .collect();
        CommandLine::<Own>::parse_from([&["test"], args].concat()).load(&env)
    }

    fn error(env: &[(&str, &str)]) -> String {
        load(&[], env).unwrap_err().to_string()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let loaded = load(&[], &[]).unwrap();
        assert_eq!(loaded.server, ServerSettings::default());
        assert_eq!(loaded.server.listen_port, DEFAULT_LISTEN_PORT);
        assert_eq!(loaded.server.log_format, LogFormat::Text);
        assert_eq!(loaded.server.drain_delay, Duration::ZERO);
        assert_eq!(loaded.server.shutdown_timeout, Duration::from_secs(20));
        assert_eq!(loaded.server.controls, ControlSettings::default());
        assert_eq!(loaded.own.own_port, 7);
        assert_eq!(loaded.own.colour, None);
        assert_eq!(loaded.source("OWN_PORT"), Source::Default);
        assert_eq!(loaded.source("COLOUR"), Source::Unset);
        assert_eq!(loaded.pod.pod_name(), crate::pod::UNKNOWN);
    }

    #[test]
    fn flags_override_environment() {
        let env = [
            ("LISTEN_PORT", "9100"),
            ("LOG_FORMAT", "json"),
            ("SHUTDOWN_DRAIN_SECONDS", "2.5"),
            ("OWN_PORT", "8"),
            ("POD_NAME", "from-env"),
        ];
        let loaded = load(
            &["--listen-port", "9000", "--port", "9", "--pod-name", "p"],
            &env,
        )
        .unwrap();
        assert_eq!(loaded.server.listen_port, 9000);
        assert_eq!(loaded.server.log_format, LogFormat::Json);
        assert_eq!(loaded.server.drain_delay, Duration::from_millis(2500));
        assert_eq!(loaded.server.controls, ControlSettings::default());
        assert_eq!(loaded.own.own_port, 9);
        assert_eq!(loaded.source("OWN_PORT"), Source::Flag);
        assert_eq!(loaded.source("LOG_FORMAT"), Source::Env);
        assert_eq!(loaded.pod.pod_name(), "p");
    }

    #[test]
    fn controls_come_from_the_environment_or_flags() {
        let env = [
            ("FAIL_AFTER_SECONDS", "30"),
            ("PROBE_CONTROLS_ENABLED", "true"),
            ("FAULTS_ENABLED", "true"),
            ("PROBE_FAIL_DIR", "/var/probes"),
            ("READY_FILE", "/var/ready"),
        ];
        let enabled = ControlSettings {
            fail_after: Some(Duration::from_secs(30)),
            probe_controls_enabled: true,
            faults_enabled: true,
            probe_fail_dir: Some("/var/probes".into()),
            ready_file: Some("/var/ready".into()),
        };
        assert_eq!(load(&[], &env).unwrap().server.controls, enabled);
        let flags = [
            "--fail-after-seconds=30",
            "--probe-controls-enabled",
            "--faults-enabled=true",
            "--probe-fail-dir=/var/probes",
            "--ready-file=/var/ready",
        ];
        assert_eq!(load(&flags, &[]).unwrap().server.controls, enabled);
        let off = load(&["--faults-enabled=false"], &[("FAULTS_ENABLED", "true")]).unwrap();
        assert!(!off.server.controls.faults_enabled);
        let err = error(&[("FAULTS_ENABLED", "yes")]);
        assert!(err.contains("FAULTS_ENABLED"), "{err}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = error(&[("LISTEN_PORT", "http")]);
        assert!(err.contains("LISTEN_PORT"), "{err}");
        let err = error(&[("SHUTDOWN_DRAIN_SECONDS", "-1")]);
        assert_eq!(
            err,
            "invalid setting SHUTDOWN_DRAIN_SECONDS: -1 is not a number of seconds from 0 up"
        );
    }

    #[test]
    fn a_bad_value_that_envy_does_not_name_is_found() {
        let err = error(&[("OWN_PORT", "80"), ("COLOUR", "pink")]);
        assert_eq!(
            err,
            "invalid environment variable COLOUR=\"pink\": unknown variant `pink`, expected `text` or `json`"
        );
    }

    #[test]
    fn empty_values_count_as_unset() {
        let loaded = load(&[], &[("LISTEN_PORT", ""), ("OWN_PORT", "")]).unwrap();
        assert_eq!(loaded.server.listen_port, DEFAULT_LISTEN_PORT);
        assert_eq!(loaded.own.own_port, 7);
    }

    #[test]
    fn help_gives_every_setting_its_variable_flag_and_default() {
        let help = CommandLine::<Own>::command().render_help().to_string();
        let rows = doc::from_help(&help);
        let row = &rows["OWN_PORT"];
        assert_eq!(row.flag.as_deref(), Some("--port"));
        assert_eq!(row.default.as_deref(), Some("7"));
        assert_eq!(
            rows["SHUTDOWN_TIMEOUT_SECONDS"].default.as_deref(),
            Some("20")
        );
        assert_eq!(rows["FAULTS_ENABLED"].default.as_deref(), Some("false"));
        assert_eq!(rows["RUST_LOG"].flag, None);
        assert_eq!(rows.len(), 2 + 13 + 1, "{help}");
    }
}
