//! kiada's settings, each declared once in [`KiadaSettings`]: its variable (the field's
//! name in upper case), flag, default and help line; the shared ones come from
//! service-kit. Flags beat environment variables, which beat Kubernetes' service links,
//! which beat the in-cluster defaults.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use service_kit::{CommandLine, ConfigError, PodInfo, ServerSettings, Source, seconds};

use crate::backends::BackendSettings;

/// Accent colours of the HTML page; a fixed palette, so the page's strict
/// Content-Security-Policy needs no inline style.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum UiColor {
    #[default]
    Blue,
    Green,
    Orange,
    Red,
    Purple,
    Teal,
    Gray,
}

impl UiColor {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blue => "blue",
            Self::Green => "green",
            Self::Orange => "orange",
            Self::Red => "red",
            Self::Purple => "purple",
            Self::Teal => "teal",
            Self::Gray => "gray",
        }
    }
}

/// kiada's own settings.
#[derive(Debug, Clone, clap::Parser, Deserialize)]
#[command(
    name = "kiada",
    version = service_kit::VERSION,
    about = "The Kiada frontend: shows a tip from the quote service, a question from the quiz \
             service and which pod, node and client handled the request, as text, HTML and JSON."
)]
pub struct KiadaSettings {
    /// HTTPS port, on IPv6 and IPv4
    #[arg(long = "tls-port", value_name = "PORT", default_value_t = 8443)]
    pub tls_listen_port: u16,
    /// PEM certificate chain for HTTPS; without it and the key, a self-signed certificate
    #[arg(long, value_name = "FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for HTTPS
    #[arg(long, value_name = "FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,
    /// URL of the quote service's tip; when unset, QUOTE_SERVICE_HOST/_PORT come first
    #[arg(long, value_name = "URL", default_value = "http://quote/quote")]
    pub quote_url: String,
    /// Base URL of the quiz service; when unset, QUIZ_SERVICE_HOST/_PORT come first
    #[arg(long, value_name = "URL", default_value = "http://quiz")]
    pub quiz_url: String,
    /// The quote Service's cluster IP, injected by Kubernetes for Services older than the pod
    #[arg(long, value_name = "HOST")]
    pub quote_service_host: Option<String>,
    /// The quote Service's port, injected with QUOTE_SERVICE_HOST
    #[arg(long, value_name = "PORT")]
    pub quote_service_port: Option<String>,
    /// The quiz Service's cluster IP, injected by Kubernetes for Services older than the pod
    #[arg(long, value_name = "HOST")]
    pub quiz_service_host: Option<String>,
    /// The quiz Service's port, injected with QUIZ_SERVICE_HOST
    #[arg(long, value_name = "PORT")]
    pub quiz_service_port: Option<String>,
    /// Total time for one backend request, body included
    #[arg(
        long = "backend-timeout",
        value_name = "SECONDS",
        default_value_t = 2.0
    )]
    pub backend_timeout_seconds: f64,
    /// Time to connect to a backend (never more than the total)
    #[arg(
        long = "backend-connect-timeout",
        value_name = "SECONDS",
        default_value_t = 1.0
    )]
    pub backend_connect_timeout_seconds: f64,
    /// How long an idle backend connection is kept for reuse; 0 opens one per request, so
    /// that kube-proxy, which balances connections, picks a pod each time
    #[arg(
        long = "backend-pool-idle",
        value_name = "SECONDS",
        default_value_t = 1.0
    )]
    pub backend_pool_idle_seconds: f64,
    /// Status message shown until a line is typed on standard input (kubectl attach -i)
    #[arg(long, value_name = "TEXT")]
    pub initial_status_message: Option<String>,
    /// Do not read status messages from standard input
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub no_stdin: bool,
    /// Accent colour of the HTML page, also in /json (tells versions apart in a rollout)
    #[arg(long, value_name = "COLOR", value_enum, default_value_t = UiColor::Blue)]
    pub ui_color: UiColor,
    /// true: ready only while quote and quiz are ready
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value_t = false)]
    pub readiness_requires_backends: bool,
}

/// kiada's command line: its settings and the shared ones.
pub type Args = CommandLine<KiadaSettings>;

/// Where a backend URL came from (logged at start-up, so that a misconfigured pod is
/// easy to spot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlSource {
    /// `--quote-url`/`--quiz-url`.
    Flag,
    /// `QUOTE_URL`/`QUIZ_URL`.
    Env,
    /// `QUOTE_SERVICE_HOST`/`QUOTE_SERVICE_PORT` (or the quiz pair), injected by Kubernetes.
    ServiceLinks,
    /// The in-cluster default (`http://quote/quote`, `http://quiz`), found through DNS.
    Default,
}

impl fmt::Display for UrlSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Flag => "command-line flag",
            Self::Env => "environment variable",
            Self::ServiceLinks => "Kubernetes service environment variables",
            Self::Default => "in-cluster default (cluster DNS)",
        })
    }
}

/// Everything kiada needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerSettings,
    pub pod: PodInfo,
    pub tls_port: u16,
    /// quote's and quiz's URLs and the timeouts of the calls to them.
    pub backends: BackendSettings,
    /// Where `backends.quote_url` came from.
    pub quote_url_source: UrlSource,
    /// Where `backends.quiz_url` came from.
    pub quiz_url_source: UrlSource,
    pub initial_status_message: Option<String>,
    /// Certificate chain and key files for HTTPS; `None` generates a self-signed one.
    pub tls_cert: Option<(PathBuf, PathBuf)>,
    /// Whether lines on standard input replace the status message.
    pub read_stdin: bool,
    /// Accent colour of the HTML page (`UI_COLOR`).
    pub ui_color: UiColor,
    /// Whether readiness also requires quote and quiz to be ready
    /// (`READINESS_REQUIRES_BACKENDS`).
    pub readiness_requires_backends: bool,
}

impl Config {
    /// Resolves the configuration from the command line and the given environment.
    pub fn load(args: Args, vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let settings = args.load(vars)?;
        let own = settings.own.clone();
        let (quote_url, quote_url_source) = discover(
            ("QUOTE_URL", own.quote_url, settings.source("QUOTE_URL")),
            ("QUOTE_SERVICE_HOST", own.quote_service_host),
            ("QUOTE_SERVICE_PORT", own.quote_service_port),
            "/quote",
        )?;
        let (quiz_url, quiz_url_source) = discover(
            ("QUIZ_URL", own.quiz_url, settings.source("QUIZ_URL")),
            ("QUIZ_SERVICE_HOST", own.quiz_service_host),
            ("QUIZ_SERVICE_PORT", own.quiz_service_port),
            "",
        )?;
        let backend_timeout = positive("BACKEND_TIMEOUT_SECONDS", own.backend_timeout_seconds)?;
        let connect_timeout = positive(
            "BACKEND_CONNECT_TIMEOUT_SECONDS",
            own.backend_connect_timeout_seconds,
        )?;

        let tls_cert = match (own.tls_cert_file, own.tls_key_file) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Invalid {
                    name: "TLS_KEY_FILE",
                    reason: "TLS_CERT_FILE is set, so the private key file must be set too".into(),
                });
            }
            (None, Some(_)) => {
                return Err(ConfigError::Invalid {
                    name: "TLS_CERT_FILE",
                    reason: "TLS_KEY_FILE is set, so the certificate file must be set too".into(),
                });
            }
        };

        Ok(Self {
            server: settings.server,
            pod: settings.pod,
            tls_port: own.tls_listen_port,
            backends: BackendSettings {
                quote_url,
                quiz_url,
                timeout: backend_timeout,
                // Applied here, once: every Backends is built from these settings.
                connect_timeout: connect_timeout.min(backend_timeout),
                pool_idle: seconds("BACKEND_POOL_IDLE_SECONDS", own.backend_pool_idle_seconds)?,
            },
            quote_url_source,
            quiz_url_source,
            initial_status_message: own
                .initial_status_message
                .map(|message| message.trim().to_owned())
                .filter(|message| !message.is_empty()),
            tls_cert,
            read_stdin: !own.no_stdin,
            ui_color: own.ui_color,
            readiness_requires_backends: own.readiness_requires_backends,
        })
    }
}

impl service_kit::ServiceConfig for Config {
    fn from_process(vars: &[(String, String)]) -> Result<Self, ConfigError> {
        Self::load(clap::Parser::parse(), vars)
    }

    fn log_format(&self) -> service_kit::LogFormat {
        self.server.log_format
    }
}

/// A number of seconds that must be more than 0.
fn positive(name: &'static str, secs: f64) -> Result<Duration, ConfigError> {
    let duration = seconds(name, secs)?;
    if duration.is_zero() {
        return Err(ConfigError::Invalid {
            name,
            reason: "must be more than 0".into(),
        });
    }
    Ok(duration)
}

/// Picks a backend URL: flag, then `<NAME>_URL`, then the service-link pair, then the
/// default.
fn discover(
    (name, url, source): (&'static str, String, Source),
    (host_var, host): (&'static str, Option<String>),
    (port_var, port): (&'static str, Option<String>),
    path: &str,
) -> Result<(Url, UrlSource), ConfigError> {
    let (raw, source) = match source {
        Source::Flag => (url, UrlSource::Flag),
        Source::Env => (url, UrlSource::Env),
        Source::Default | Source::Unset => match (host, port) {
            (Some(host), Some(port)) => {
                let port: u16 = port.trim().parse().map_err(|_| ConfigError::Invalid {
                    name: port_var,
                    reason: format!("{port:?} is not a port number"),
                })?;
                let host = host.trim();
                let host = if host.contains(':') {
                    format!("[{host}]")
                } else {
                    host.to_owned()
                };
                (
                    format!("http://{host}:{port}{path}"),
                    UrlSource::ServiceLinks,
                )
            }
            (Some(_), None) | (None, Some(_)) => {
                // Kubernetes always sets both; half a pair is a hand-made mistake.
                return Err(ConfigError::Invalid {
                    name: host_var,
                    reason: format!("{host_var} and {port_var} must be set together"),
                });
            }
            (None, None) => (url, UrlSource::Default),
        },
    };
    let name = match source {
        UrlSource::ServiceLinks => host_var,
        _ => name,
    };
    Ok((parse_backend_url(name, raw.trim())?, source))
}

fn parse_backend_url(name: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|error| ConfigError::Invalid {
        name,
        reason: format!("{raw:?} is not a URL: {error}"),
    })?;
    if url.scheme() != "http" {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("{raw:?}: only http:// URLs are supported for the backends"),
        });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("{raw:?} has no host"),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("{raw:?} must not have a query or fragment"),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn load_with(args: &[&str], env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|&(name, value)| (name.into(), value.into()))
            .collect();
        Config::load(Args::parse_from([&["kiada"], args].concat()), &env)
    }

    fn load(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        load_with(&[], env)
    }

    #[test]
    fn defaults() {
        let config = load(&[]).unwrap();
        assert_eq!(config.server.listen_port, 8080);
        assert_eq!(config.tls_port, 8443);
        assert_eq!(config.backends.quote_url.as_str(), "http://quote/quote");
        assert_eq!(config.quote_url_source, UrlSource::Default);
        assert_eq!(config.backends.quiz_url.as_str(), "http://quiz/");
        assert_eq!(config.quiz_url_source, UrlSource::Default);
        assert_eq!(config.backends.timeout, Duration::from_secs(2));
        assert_eq!(config.backends.connect_timeout, Duration::from_secs(1));
        assert_eq!(config.backends.pool_idle, Duration::from_secs(1));
        assert_eq!(config.tls_cert, None);
        assert_eq!(config.initial_status_message, None);
        assert!(config.read_stdin);
        assert_eq!(config.pod.pod_name(), "unknown");
    }

    #[test]
    fn explicit_urls_beat_service_links() {
        let config = load(&[
            ("QUOTE_URL", "http://quote.kiada.svc.cluster.local/quote"),
            ("QUOTE_SERVICE_HOST", "10.96.74.151"),
            ("QUOTE_SERVICE_PORT", "80"),
            ("QUIZ_SERVICE_HOST", "10.96.136.190"),
            ("QUIZ_SERVICE_PORT", "80"),
        ])
        .unwrap();
        assert_eq!(
            config.backends.quote_url.as_str(),
            "http://quote.kiada.svc.cluster.local/quote"
        );
        assert_eq!(config.quote_url_source, UrlSource::Env);
        assert_eq!(config.backends.quiz_url.as_str(), "http://10.96.136.190/");
        assert_eq!(config.quiz_url_source, UrlSource::ServiceLinks);
    }

    #[test]
    fn service_links_build_urls_with_port_and_ipv6_brackets() {
        let config = load(&[
            ("QUOTE_SERVICE_HOST", "fd00:10:96::1"),
            ("QUOTE_SERVICE_PORT", "8081"),
        ])
        .unwrap();
        assert_eq!(
            config.backends.quote_url.as_str(),
            "http://[fd00:10:96::1]:8081/quote"
        );
        assert_eq!(config.quote_url_source, UrlSource::ServiceLinks);
        assert_eq!(config.quiz_url_source, UrlSource::Default);
    }

    #[test]
    fn flags_beat_environment() {
        let flags = [
            "--quote-url",
            "http://127.0.0.1:9/quote",
            "--tls-port",
            "9443",
            "--backend-timeout",
            "0.5",
            "--no-stdin",
        ];
        let env = [
            ("QUOTE_URL", "http://elsewhere/quote"),
            ("TLS_LISTEN_PORT", "1443"),
            ("BACKEND_TIMEOUT_SECONDS", "9"),
        ];
        let config = load_with(&flags, &env).unwrap();
        assert_eq!(
            config.backends.quote_url.as_str(),
            "http://127.0.0.1:9/quote"
        );
        assert_eq!(config.quote_url_source, UrlSource::Flag);
        assert_eq!(config.tls_port, 9443);
        assert_eq!(config.backends.timeout, Duration::from_millis(500));
        // The connect timeout never exceeds the total.
        assert_eq!(config.backends.connect_timeout, Duration::from_millis(500));
        assert!(!config.read_stdin);
    }

    #[test]
    fn bad_settings_name_the_variable() {
        for (pairs, name) in [
            (vec![("QUOTE_URL", "not a url")], "QUOTE_URL"),
            (vec![("QUIZ_URL", "https://quiz")], "QUIZ_URL"),
            (vec![("QUIZ_URL", "http://quiz/?x=1")], "QUIZ_URL"),
            (
                vec![
                    ("QUOTE_SERVICE_HOST", "10.0.0.1"),
                    ("QUOTE_SERVICE_PORT", "http"),
                ],
                "QUOTE_SERVICE_PORT",
            ),
            (vec![("QUIZ_SERVICE_HOST", "10.0.0.1")], "QUIZ_SERVICE_HOST"),
            (
                vec![("BACKEND_TIMEOUT_SECONDS", "0")],
                "BACKEND_TIMEOUT_SECONDS",
            ),
            (
                vec![("BACKEND_TIMEOUT_SECONDS", "-3")],
                "BACKEND_TIMEOUT_SECONDS",
            ),
            (vec![("TLS_CERT_FILE", "/tmp/cert.pem")], "TLS_KEY_FILE"),
            (vec![("TLS_KEY_FILE", "/tmp/key.pem")], "TLS_CERT_FILE"),
        ] {
            let error = load(&pairs).unwrap_err().to_string();
            assert!(error.contains(name), "{pairs:?}: {error}");
        }
    }

    #[test]
    fn status_message_and_tls_files() {
        let config = load(&[
            ("INITIAL_STATUS_MESSAGE", "  All systems go  "),
            ("TLS_CERT_FILE", "/certs/tls.crt"),
            ("TLS_KEY_FILE", "/certs/tls.key"),
            ("POD_NAME", "kiada-001"),
        ])
        .unwrap();
        assert_eq!(
            config.initial_status_message.as_deref(),
            Some("All systems go")
        );
        assert_eq!(
            config.tls_cert,
            Some(("/certs/tls.crt".into(), "/certs/tls.key".into()))
        );
        assert_eq!(config.pod.pod_name(), "kiada-001");
    }
}
