//! The quiz service: serves Kubernetes quiz questions, checks answers, and keeps a
//! durable record of answers in SQLite: the newest as rows, every one in the counts.
//!
//! [`Application`] is a [`service_kit::Service`]: `build` loads the questions, opens the
//! store and binds the port; `run_until_stopped` serves until the token is cancelled.

pub mod config;
pub mod error;
pub mod questions;
pub mod routes;
pub mod store;

use std::sync::Arc;

use actix_web::web;
use service_kit::{Server, ServerBuilder};
use tokio_util::sync::CancellationToken;

pub use config::{Args, Config};
pub use error::{ApiError, QuizError};
pub use questions::{Question, QuestionSet, QuestionsError};
pub use store::{Store, StoreError, StoreLimits};

/// A built quiz service, bound and ready to run.
pub struct Application {
    port: u16,
    server: Server,
    store: Store,
}

impl Application {
    /// The bound port (useful when built with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl service_kit::Service for Application {
    const NAME: &'static str = "quiz";
    type Config = Config;
    type Error = QuizError;

    /// Loads and validates the questions, opens (or creates) the database and replaces
    /// its questions, and binds the HTTP port on IPv6 and IPv4 (port 0 picks a free one).
    async fn build(config: Config) -> Result<Self, QuizError> {
        let Config {
            server: settings,
            pod,
            db_path,
            questions_file,
            store_limits,
        } = config;
        tracing::info!(
            version = service_kit::VERSION,
            pod = pod.pod_name(),
            node = pod.node_name(),
            "quiz service starting"
        );
        let questions = Arc::new(QuestionSet::load(questions_file.as_deref())?);
        tracing::info!(
            questions = questions.len(),
            source = %questions.source(),
            "questions loaded"
        );
        let store = {
            let questions = questions.clone();
            let db_path = db_path.clone();
            tokio::task::spawn_blocking(move || Store::open(&db_path, &questions, store_limits))
                .await??
        };
        let counts = store.counts();
        tracing::info!(
            db_path = %db_path.display(),
            answers = counts.total.answers,
            max_stored_answers = store_limits.max_stored_answers,
            "database open (WAL, synchronous=FULL)"
        );

        let listener = service_kit::bind_dual_stack(settings.listen_port)?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(routes::AppState {
            questions,
            store: store.clone(),
            pod: pod.clone(),
        });
        let server = ServerBuilder::new("quiz", &settings, &pod)
            .readiness_check({
                let store = store.clone();
                move || {
                    let store = store.clone();
                    async move { store.check().await }
                }
            })
            .serve(listener, move |cfg| {
                cfg.app_data(state.clone())
                    .configure(routes::configure)
                    .default_service(web::to(routes::not_found));
            })?;
        tracing::info!(port, "listening on [::] and 0.0.0.0");
        Ok(Self {
            port,
            server,
            store,
        })
    }

    /// Serves until `shutdown` is cancelled, then drains, finishes in-flight requests,
    /// and stops the database writer once it has committed everything it was given.
    async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let result = self.server.run_until_stopped(shutdown).await;
        self.store.close().await;
        result
    }
}
