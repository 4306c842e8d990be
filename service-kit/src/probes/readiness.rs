//! The service's readiness check, run once for every caller that asks while it runs.
//! `/healthz/ready`, `/metrics` and `/admin/status` all evaluate readiness; a caller that
//! comes while a check is in flight waits for that check's result instead of starting
//! another. Otherwise a check that cannot run twice at once (one database connection)
//! fails the kubelet's probe whenever a scrape or a status call happens to be checking,
//! and two such failures in a row take the pod out of its Service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use futures_util::FutureExt;
use futures_util::future::Shared;

use super::lock;

/// The future a readiness check returns: `Err` carries the reason shown to the prober.
type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

pub(super) struct SharedCheck {
    start: Box<dyn Fn() -> CheckFuture + Send + Sync>,
    in_flight: Mutex<Option<Shared<CheckFuture>>>,
}

impl SharedCheck {
    pub(super) fn new<F, Fut>(check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self {
            start: Box::new(move || Box::pin(check())),
            in_flight: Mutex::new(None),
        }
    }

    /// The result of the check in flight, or of a new one when none is. Needs a Tokio
    /// runtime.
    pub(super) async fn run(&self) -> Result<(), String> {
        let check = {
            let mut in_flight = lock(&self.in_flight);
            match in_flight.as_ref().filter(|check| check.peek().is_none()) {
                Some(running) => running.clone(),
                None => {
                    let check = (self.start)().shared();
                    // Driven by a task of its own, so that it ends even when every caller
                    // has stopped waiting: a later caller must not join a check that
                    // started long ago and was never polled since.
                    tokio::spawn(check.clone());
                    *in_flight = Some(check.clone());
                    check
                }
            }
        };
        check.await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::sync::Semaphore;

    use crate::probes::{Health, Phase, Probe};

    /// How long any wait in these tests may take: a check that nobody lets finish
    /// fails the test instead of hanging it.
    const LIMIT: Duration = Duration::from_secs(5);

    /// A readiness check that counts the runs started and finished; every run waits
    /// until the gate is opened, then ends with `result`.
    struct GatedCheck {
        started: AtomicUsize,
        finished: AtomicUsize,
        gate: Semaphore,
    }

    impl GatedCheck {
        /// A ready [`Health`] with this check, the gate closed.
        fn health(result: Result<(), String>) -> (Health, Arc<Self>) {
            let check = Arc::new(Self {
                started: AtomicUsize::new(0),
                finished: AtomicUsize::new(0),
                gate: Semaphore::new(0),
            });
            let health = Health::new().with_readiness_check({
                let check = check.clone();
                move || {
                    check.started.fetch_add(1, Ordering::SeqCst);
                    let (check, result) = (check.clone(), result.clone());
                    async move {
                        // The permit goes back when dropped: once open, the gate stays open.
                        drop(check.gate.acquire().await.expect("never closed"));
                        check.finished.fetch_add(1, Ordering::SeqCst);
                        result
                    }
                }
            });
            health.set_phase(Phase::Ready);
            (health, check)
        }

        fn started(&self) -> usize {
            self.started.load(Ordering::SeqCst)
        }

        fn open(&self) {
            self.gate.add_permits(1);
        }

        async fn open_later(&self) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.open();
        }
    }

    /// Two evaluations that overlap, the gate opened while both wait.
    async fn two_overlapping(
        first: &Health,
        second: &Health,
        check: &GatedCheck,
    ) -> (Result<(), String>, Result<(), String>) {
        let both = async {
            let (first, second, ()) = tokio::join!(
                first.evaluate(Probe::Ready),
                second.evaluate(Probe::Ready),
                check.open_later()
            );
            (first, second)
        };
        tokio::time::timeout(LIMIT, both)
            .await
            .expect("both evaluations end")
    }

    #[tokio::test]
    async fn concurrent_evaluations_run_the_check_once() {
        let (health, check) = GatedCheck::health(Ok(()));
        // Each server worker has a clone of the service's Health.
        let on_another_worker = health.clone();
        let results = two_overlapping(&health, &on_another_worker, &check).await;
        assert_eq!(results, (Ok(()), Ok(())));
        assert_eq!(check.started(), 1);

        // A check that has finished is not reused: the next caller starts a new one.
        assert_eq!(health.ready().await, Ok(()));
        assert_eq!(check.started(), 2);
    }

    #[tokio::test]
    async fn a_failure_reaches_every_caller_that_waited_for_it() {
        let (health, check) = GatedCheck::health(Err("database is gone".into()));
        let results = two_overlapping(&health, &health, &check).await;
        let failed = Err("database is gone".to_owned());
        assert_eq!(results, (failed.clone(), failed));
        assert_eq!(check.started(), 1);
    }

    /// On the test's one thread, the check's task finishes the check in the same poll
    /// that counts it finished, so the next caller cannot find it still in flight.
    #[tokio::test]
    async fn a_check_whose_callers_gave_up_still_finishes() {
        let (health, check) = GatedCheck::health(Ok(()));
        let abandoned = tokio::time::timeout(Duration::from_millis(20), health.ready()).await;
        assert!(abandoned.is_err(), "the gate was closed");
        check.open();
        let deadline = tokio::time::Instant::now() + LIMIT;
        while check.finished.load(Ordering::SeqCst) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the check never ended"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A fresh run, not the result of the one nobody waited for.
        assert_eq!(health.ready().await, Ok(()));
        assert_eq!(check.started(), 2);
    }
}
