//! Settings every service shares. Environment variables are read with envy; command-line
//! flags (clap) override them, so `--listen-port` beats `LISTEN_PORT`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Default HTTP port of every service (a non-root container cannot bind 80).
pub const DEFAULT_LISTEN_PORT: u16 = 8080;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid environment variable: {0}")]
    Env(#[from] envy::Error),
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

/// Flags shared by every service's command line.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// Port for plain HTTP, on IPv6 and IPv4 [env: LISTEN_PORT] [default: 8080]
    #[arg(long, value_name = "PORT")]
    pub listen_port: Option<u16>,
    /// Log line format [env: LOG_FORMAT] [default: text]; levels come from RUST_LOG
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, Deserialize)]
struct CommonEnv {
    listen_port: Option<u16>,
    log_format: Option<LogFormat>,
    shutdown_drain_seconds: Option<f64>,
    shutdown_timeout_seconds: Option<f64>,
    fail_after_seconds: Option<f64>,
    probe_controls_enabled: Option<bool>,
    faults_enabled: Option<bool>,
    probe_fail_dir: Option<PathBuf>,
    ready_file: Option<PathBuf>,
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
    /// (`SHUTDOWN_DRAIN_SECONDS`, default 0).
    pub drain_delay: Duration,
    /// How long in-flight requests may take to finish once the server stops accepting
    /// (`SHUTDOWN_TIMEOUT_SECONDS`, default 20).
    pub shutdown_timeout: Duration,
    pub controls: ControlSettings,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen_port: DEFAULT_LISTEN_PORT,
            log_format: LogFormat::Text,
            drain_delay: Duration::ZERO,
            shutdown_timeout: Duration::from_secs(20),
            controls: ControlSettings::default(),
        }
    }
}

impl ServerSettings {
    /// Combines flags and environment variables (flags win) over the defaults.
    pub fn resolve(args: &CommonArgs, vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let env: CommonEnv = from_vars(vars)?;
        let defaults = Self::default();
        Ok(Self {
            listen_port: args
                .listen_port
                .or(env.listen_port)
                .unwrap_or(defaults.listen_port),
            log_format: args.log_format.or(env.log_format).unwrap_or_default(),
            drain_delay: seconds("SHUTDOWN_DRAIN_SECONDS", env.shutdown_drain_seconds)?
                .unwrap_or(defaults.drain_delay),
            shutdown_timeout: seconds("SHUTDOWN_TIMEOUT_SECONDS", env.shutdown_timeout_seconds)?
                .unwrap_or(defaults.shutdown_timeout),
            controls: ControlSettings {
                fail_after: seconds("FAIL_AFTER_SECONDS", env.fail_after_seconds)?,
                probe_controls_enabled: env.probe_controls_enabled.unwrap_or(false),
                faults_enabled: env.faults_enabled.unwrap_or(false),
                probe_fail_dir: env.probe_fail_dir,
                ready_file: env.ready_file,
            },
        })
    }
}

/// Deserializes a service's own environment settings from `vars` (names are the
/// upper-case field names).
pub fn from_vars<T: DeserializeOwned>(vars: &[(String, String)]) -> Result<T, ConfigError> {
    // Empty values mean "unset", as they do for Kubernetes env entries left blank.
    let set: Vec<(String, String)> = vars
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .cloned()
        .collect();
    envy::from_iter::<_, T>(set.clone()).map_err(|error| {
        // envy does not always say which variable was wrong (an unknown enum value, for
        // one); find it by leaving each out in turn. Only on this error path.
        let culprit = set.iter().find(|(name, _)| {
            let others = set.iter().filter(|(other, _)| other != name).cloned();
            envy::from_iter::<_, T>(others).is_ok()
        });
        match culprit {
            Some((name, value)) if !error.to_string().contains(name.as_str()) => {
                ConfigError::EnvVar {
                    name: name.clone(),
                    value: value.chars().take(100).collect(),
                    reason: error.to_string(),
                }
            }
            _ => ConfigError::Env(error),
        }
    })
}

/// Parses a number of seconds, rejecting what `Duration` cannot hold.
pub fn seconds(name: &'static str, value: Option<f64>) -> Result<Option<Duration>, ConfigError> {
    value
        .map(|secs| {
            Duration::try_from_secs_f64(secs).map_err(|_| ConfigError::Invalid {
                name,
                reason: format!("{secs} is not a number of seconds from 0 up"),
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let settings = ServerSettings::resolve(&CommonArgs::default(), &[]).unwrap();
        assert_eq!(settings, ServerSettings::default());
    }

    #[test]
    fn flags_override_environment() {
        let args = CommonArgs {
            listen_port: Some(9000),
            log_format: None,
        };
        let env = vars(&[
            ("LISTEN_PORT", "9100"),
            ("LOG_FORMAT", "json"),
            ("SHUTDOWN_DRAIN_SECONDS", "2.5"),
        ]);
        let settings = ServerSettings::resolve(&args, &env).unwrap();
        assert_eq!(settings.listen_port, 9000);
        assert_eq!(settings.log_format, LogFormat::Json);
        assert_eq!(settings.drain_delay, Duration::from_millis(2500));
        assert_eq!(settings.controls, ControlSettings::default());
    }

    #[test]
    fn controls_come_from_the_environment() {
        let env = vars(&[
            ("FAIL_AFTER_SECONDS", "30"),
            ("PROBE_CONTROLS_ENABLED", "true"),
            ("FAULTS_ENABLED", "true"),
            ("PROBE_FAIL_DIR", "/var/probes"),
            ("READY_FILE", "/var/ready"),
        ]);
        let settings = ServerSettings::resolve(&CommonArgs::default(), &env).unwrap();
        assert_eq!(
            settings.controls,
            ControlSettings {
                fail_after: Some(Duration::from_secs(30)),
                probe_controls_enabled: true,
                faults_enabled: true,
                probe_fail_dir: Some("/var/probes".into()),
                ready_file: Some("/var/ready".into()),
            }
        );
        let err =
            ServerSettings::resolve(&CommonArgs::default(), &vars(&[("FAULTS_ENABLED", "yes")]))
                .unwrap_err()
                .to_string();
        assert!(err.contains("FAULTS_ENABLED"), "{err}");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err =
            ServerSettings::resolve(&CommonArgs::default(), &vars(&[("LISTEN_PORT", "http")]))
                .unwrap_err()
                .to_string();
        assert!(err.contains("LISTEN_PORT"), "{err}");
        let err = ServerSettings::resolve(
            &CommonArgs::default(),
            &vars(&[("SHUTDOWN_DRAIN_SECONDS", "-1")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("SHUTDOWN_DRAIN_SECONDS"), "{err}");
    }

    #[test]
    fn a_bad_value_that_envy_does_not_name_is_found() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Colours {
            colour: Option<LogFormat>,
            port: Option<u16>,
        }
        let error = from_vars::<Colours>(&vars(&[("PORT", "80"), ("COLOUR", "pink")]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "invalid environment variable COLOUR=\"pink\": unknown variant `pink`, expected `text` or `json`"
        );
    }

    #[test]
    fn empty_values_count_as_unset() {
        let settings =
            ServerSettings::resolve(&CommonArgs::default(), &vars(&[("LISTEN_PORT", "")])).unwrap();
        assert_eq!(settings.listen_port, DEFAULT_LISTEN_PORT);
    }
}
