//! kiada's settings: flags beat environment variables, which beat Kubernetes' service
//! links, which beat the in-cluster defaults.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use service_kit::config::{from_vars, seconds};
use service_kit::{CommonArgs, ConfigError, PodInfo, ServerSettings};

/// Default HTTPS port.
pub const DEFAULT_TLS_PORT: u16 = 8443;
/// Default total time allowed for one backend request (connect, headers and body).
pub const DEFAULT_BACKEND_TIMEOUT: Duration = Duration::from_secs(2);
/// Default time allowed for connecting to a backend (never more than the total).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default time an idle backend connection stays in the pool. Short on purpose: a Service
/// balances connections, not requests, so a long-lived connection would pin this kiada
/// pod to one quote pod and hide the balancing the served-by line is there to show.
pub const DEFAULT_POOL_IDLE: Duration = Duration::from_secs(1);
/// The quote Service's URL inside the cluster (resolved through the pod's DNS search list).
pub const DEFAULT_QUOTE_URL: &str = "http://quote/quote";
/// The quiz Service's URL inside the cluster.
pub const DEFAULT_QUIZ_URL: &str = "http://quiz";

const ENV_HELP: &str = "\
Environment variables (flags win over them):
  LISTEN_PORT                      HTTP port (default 8080)
  TLS_LISTEN_PORT                  HTTPS port (default 8443)
  TLS_CERT_FILE, TLS_KEY_FILE      PEM certificate chain and private key for HTTPS; when both are
                                   unset, a self-signed certificate is generated at start-up
  QUOTE_URL                        URL of the quote service's tip (e.g. http://quote/quote)
  QUIZ_URL                         base URL of the quiz service (e.g. http://quiz)
  QUOTE_SERVICE_HOST/_PORT,        used when QUOTE_URL/QUIZ_URL are unset (Kubernetes injects them
  QUIZ_SERVICE_HOST/_PORT          for Services that existed when the pod started); else the
                                   defaults http://quote/quote and http://quiz
  BACKEND_TIMEOUT_SECONDS          total time for one backend request (default 2)
  BACKEND_CONNECT_TIMEOUT_SECONDS  time to connect to a backend (default 1, at most the total)
  BACKEND_POOL_IDLE_SECONDS        how long an idle backend connection is kept for reuse
                                   (default 1; 0 = a new connection per request, so that
                                   kube-proxy, which balances connections, picks a pod each time)
  POD_NAME, POD_IP, NODE_NAME,     pod identity from the Downward API (metadata.name,
  NODE_IP                          status.podIP, spec.nodeName, status.hostIP); unset = unknown
  INITIAL_STATUS_MESSAGE           status message shown until a line is typed on standard input
                                   (kubectl attach -i)
  LOG_FORMAT                       text or json (default text)
  RUST_LOG                         log levels (default info)
  SHUTDOWN_DRAIN_SECONDS           after SIGTERM, how long readiness fails before the server
                                   stops accepting (default 0)
  SHUTDOWN_TIMEOUT_SECONDS         how long in-flight requests may finish (default 20)
  UI_COLOR                         accent colour of the HTML page, also in /json: blue (default),
                                   green, orange, red, purple, teal or gray (tell versions apart
                                   during a rolling update)
  READINESS_REQUIRES_BACKENDS      true: ready only while quote and quiz are ready (default false)
  FAIL_AFTER_SECONDS, PROBE_CONTROLS_ENABLED, FAULTS_ENABLED, PROBE_FAIL_DIR, READY_FILE
                                   teaching controls shared by every Kiada service (see README)";

/// Accent colours of the HTML page; a fixed palette, so the page's strict
/// Content-Security-Policy needs no inline style.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
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

/// kiada's command line.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(
    name = "kiada",
    version = service_kit::VERSION,
    about = "The Kiada frontend: shows a tip from the quote service, a question from the quiz \
             service and which pod, node and client handled the request, as text, HTML and JSON.",
    after_help = ENV_HELP
)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Port for HTTPS, on IPv6 and IPv4 [env: TLS_LISTEN_PORT] [default: 8443]
    #[arg(long, value_name = "PORT")]
    pub tls_port: Option<u16>,
    /// PEM certificate chain for HTTPS [env: TLS_CERT_FILE]
    #[arg(long, value_name = "FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key for HTTPS [env: TLS_KEY_FILE]
    #[arg(long, value_name = "FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,
    /// URL of the quote service's tip [env: QUOTE_URL] [default: http://quote/quote]
    #[arg(long, value_name = "URL")]
    pub quote_url: Option<String>,
    /// Base URL of the quiz service [env: QUIZ_URL] [default: http://quiz]
    #[arg(long, value_name = "URL")]
    pub quiz_url: Option<String>,
    /// Total time for one backend request [env: BACKEND_TIMEOUT_SECONDS] [default: 2]
    #[arg(long, value_name = "SECONDS")]
    pub backend_timeout: Option<f64>,
    /// Status message shown until one is typed on standard input [env: INITIAL_STATUS_MESSAGE]
    #[arg(long, value_name = "TEXT")]
    pub initial_status_message: Option<String>,
    /// Do not read status messages from standard input
    #[arg(long)]
    pub no_stdin: bool,
}

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
    /// Full URL of the tip (`GET` answers text/plain).
    pub quote_url: Url,
    pub quote_url_source: UrlSource,
    /// Base URL of the quiz service; `/questions/...` is appended.
    pub quiz_url: Url,
    pub quiz_url_source: UrlSource,
    pub initial_status_message: Option<String>,
    /// Total time for one backend request, body included.
    pub backend_timeout: Duration,
    /// Time to establish a connection to a backend; never more than `backend_timeout`.
    pub backend_connect_timeout: Duration,
    /// How long an idle backend connection is kept for reuse; zero disables reuse.
    pub backend_pool_idle: Duration,
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

#[derive(Debug, Default, Deserialize)]
struct KiadaEnv {
    tls_listen_port: Option<u16>,
    tls_cert_file: Option<PathBuf>,
    tls_key_file: Option<PathBuf>,
    quote_url: Option<String>,
    quiz_url: Option<String>,
    quote_service_host: Option<String>,
    quote_service_port: Option<String>,
    quiz_service_host: Option<String>,
    quiz_service_port: Option<String>,
    initial_status_message: Option<String>,
    backend_timeout_seconds: Option<f64>,
    backend_connect_timeout_seconds: Option<f64>,
    backend_pool_idle_seconds: Option<f64>,
    ui_color: Option<UiColor>,
    readiness_requires_backends: Option<bool>,
}

impl Config {
    /// Resolves the configuration from the command line and the given environment.
    pub fn load(args: Args, vars: &[(String, String)]) -> Result<Self, ConfigError> {
        let server = ServerSettings::resolve(&args.common, vars)?;
        let pod = PodInfo::from_vars(vars.iter().cloned());
        let env: KiadaEnv = from_vars(vars)?;

        let (quote_url, quote_url_source) = discover(
            "QUOTE_URL",
            args.quote_url,
            env.quote_url,
            ("QUOTE_SERVICE_HOST", env.quote_service_host),
            ("QUOTE_SERVICE_PORT", env.quote_service_port),
            "/quote",
            DEFAULT_QUOTE_URL,
        )?;
        let (quiz_url, quiz_url_source) = discover(
            "QUIZ_URL",
            args.quiz_url,
            env.quiz_url,
            ("QUIZ_SERVICE_HOST", env.quiz_service_host),
            ("QUIZ_SERVICE_PORT", env.quiz_service_port),
            "",
            DEFAULT_QUIZ_URL,
        )?;

        let backend_timeout = match args.backend_timeout {
            Some(secs) => seconds("BACKEND_TIMEOUT_SECONDS", Some(secs))?,
            None => seconds("BACKEND_TIMEOUT_SECONDS", env.backend_timeout_seconds)?,
        }
        .unwrap_or(DEFAULT_BACKEND_TIMEOUT);
        if backend_timeout.is_zero() {
            return Err(ConfigError::Invalid {
                name: "BACKEND_TIMEOUT_SECONDS",
                reason: "must be more than 0".into(),
            });
        }
        let connect_timeout = seconds(
            "BACKEND_CONNECT_TIMEOUT_SECONDS",
            env.backend_connect_timeout_seconds,
        )?
        .unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        if connect_timeout.is_zero() {
            return Err(ConfigError::Invalid {
                name: "BACKEND_CONNECT_TIMEOUT_SECONDS",
                reason: "must be more than 0".into(),
            });
        }

        let cert_file = args.tls_cert_file.or(env.tls_cert_file);
        let key_file = args.tls_key_file.or(env.tls_key_file);
        let tls_cert = match (cert_file, key_file) {
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
            server,
            pod,
            tls_port: args
                .tls_port
                .or(env.tls_listen_port)
                .unwrap_or(DEFAULT_TLS_PORT),
            quote_url,
            quote_url_source,
            quiz_url,
            quiz_url_source,
            initial_status_message: args
                .initial_status_message
                .or(env.initial_status_message)
                .map(|message| message.trim().to_owned())
                .filter(|message| !message.is_empty()),
            backend_timeout,
            backend_connect_timeout: connect_timeout.min(backend_timeout),
            backend_pool_idle: seconds("BACKEND_POOL_IDLE_SECONDS", env.backend_pool_idle_seconds)?
                .unwrap_or(DEFAULT_POOL_IDLE),
            tls_cert,
            read_stdin: !args.no_stdin,
            ui_color: env.ui_color.unwrap_or_default(),
            readiness_requires_backends: env.readiness_requires_backends.unwrap_or(false),
        })
    }
}

/// Picks a backend URL: flag, then `<NAME>_URL`, then the service-link pair, then the
/// default.
fn discover(
    name: &'static str,
    flag: Option<String>,
    env: Option<String>,
    (host_var, host): (&'static str, Option<String>),
    (port_var, port): (&'static str, Option<String>),
    path: &str,
    default: &str,
) -> Result<(Url, UrlSource), ConfigError> {
    let flag = flag.filter(|value| !value.trim().is_empty());
    let (raw, source) = match (flag, env) {
        (Some(url), _) => (url, UrlSource::Flag),
        (None, Some(url)) => (url, UrlSource::Env),
        (None, None) => match (host, port) {
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
            (None, None) => (default.to_owned(), UrlSource::Default),
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

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load(Args::parse_from(["kiada"]), &vars(pairs))
    }

    #[test]
    fn defaults() {
        let config = load(&[]).unwrap();
        assert_eq!(config.server.listen_port, 8080);
        assert_eq!(config.tls_port, 8443);
        assert_eq!(config.quote_url.as_str(), "http://quote/quote");
        assert_eq!(config.quote_url_source, UrlSource::Default);
        assert_eq!(config.quiz_url.as_str(), "http://quiz/");
        assert_eq!(config.quiz_url_source, UrlSource::Default);
        assert_eq!(config.backend_timeout, Duration::from_secs(2));
        assert_eq!(config.backend_connect_timeout, Duration::from_secs(1));
        assert_eq!(config.backend_pool_idle, Duration::from_secs(1));
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
            config.quote_url.as_str(),
            "http://quote.kiada.svc.cluster.local/quote"
        );
        assert_eq!(config.quote_url_source, UrlSource::Env);
        assert_eq!(config.quiz_url.as_str(), "http://10.96.136.190/");
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
            config.quote_url.as_str(),
            "http://[fd00:10:96::1]:8081/quote"
        );
        assert_eq!(config.quote_url_source, UrlSource::ServiceLinks);
        assert_eq!(config.quiz_url_source, UrlSource::Default);
    }

    #[test]
    fn flags_beat_environment() {
        let args = Args::parse_from([
            "kiada",
            "--quote-url",
            "http://127.0.0.1:9/quote",
            "--tls-port",
            "9443",
            "--backend-timeout",
            "0.5",
            "--no-stdin",
        ]);
        let config = Config::load(
            args,
            &vars(&[
                ("QUOTE_URL", "http://elsewhere/quote"),
                ("TLS_LISTEN_PORT", "1443"),
                ("BACKEND_TIMEOUT_SECONDS", "9"),
            ]),
        )
        .unwrap();
        assert_eq!(config.quote_url.as_str(), "http://127.0.0.1:9/quote");
        assert_eq!(config.quote_url_source, UrlSource::Flag);
        assert_eq!(config.tls_port, 9443);
        assert_eq!(config.backend_timeout, Duration::from_millis(500));
        // The connect timeout never exceeds the total.
        assert_eq!(config.backend_connect_timeout, Duration::from_millis(500));
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
