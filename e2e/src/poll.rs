//! The one way the suite waits for something: try, look at what came back, pause,
//! try again, bounded in time and in count ([`Poller`]), tolerating a few failed API
//! calls in a row ([`FailedInARow`]); and one future bounded in time ([`within`]).

use std::fmt::Display;
use std::time::{Duration, Instant};

/// `future`, bounded by `timeout`; when it runs out, the error says `{what} within {n} s`.
pub async fn within<T>(
    timeout: Duration,
    what: impl Display,
    future: impl Future<Output = T>,
) -> anyhow::Result<T> {
    tokio::time::timeout(timeout, future)
        .await
        .map_err(|_| anyhow::anyhow!("{what} within {} s", timeout.as_secs()))
}

/// A bounded poll, used as `loop { try; if done { return }; poller.again(seen).await?; }`:
/// each [`Poller::again`] counts the try that did not succeed, pauses and lets the loop
/// go on, or ends it with a [`TimedOut`] that names what was awaited and what the last
/// try saw. The loop body stays plain code (it may keep state across tries and `?` out
/// at once on an error that no retry mends).
#[derive(Debug, Clone)]
pub struct Poller {
    what: String,
    every: Duration,
    within: Duration,
    max_tries: u32,
    tries: u32,
    started: Instant,
}

impl Poller {
    /// Tries every `every` until `within` has passed since now. The count bound
    /// follows from the two and never ends a poll before the time does.
    pub fn new(what: impl Into<String>, every: Duration, within: Duration) -> Self {
        let max_tries = if every.is_zero() {
            u32::MAX
        } else {
            u32::try_from(within.as_millis() / every.as_millis().max(1) + 2).unwrap_or(u32::MAX)
        };
        Self {
            what: what.into(),
            every,
            within,
            max_tries,
            tries: 0,
            started: Instant::now(),
        }
    }

    /// At most `tries` tries (what bounds back-to-back rounds, `every` zero); a
    /// tighter count than the one that follows from the time.
    pub fn tries(self, tries: u32) -> Self {
        Self {
            max_tries: self.max_tries.min(tries),
            ..self
        }
    }

    /// How many tries have failed so far.
    pub fn failed_tries(&self) -> u32 {
        self.tries
    }

    /// One more try did not succeed, and it saw `seen`: pauses `every` and returns, or,
    /// when the time or the count is used up, returns the error.
    pub async fn again(&mut self, seen: impl Into<String>) -> Result<(), TimedOut> {
        self.tries += 1;
        if self.started.elapsed() >= self.within || self.tries >= self.max_tries {
            return Err(TimedOut {
                what: self.what.clone(),
                last: seen.into(),
                waited: self.started.elapsed(),
                tries: self.tries,
            });
        }
        tokio::time::sleep(self.every).await;
        Ok(())
    }
}

/// The error of a poll whose bound ran out: what was awaited and what was last seen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: not within {:.1} s ({tries} tries); last seen: {last}", waited.as_secs_f64())]
pub struct TimedOut {
    pub what: String,
    pub last: String,
    pub waited: Duration,
    pub tries: u32,
}

impl From<TimedOut> for String {
    fn from(timed_out: TimedOut) -> Self {
        timed_out.to_string()
    }
}

/// Counts failed calls in a row in a poll: a blip of the API server is tolerated, an
/// API server that went away (and whose address may be gone from this machine) ends
/// the poll instead of being knocked at until the bound runs out.
#[derive(Debug, Clone, Copy)]
pub struct FailedInARow {
    count: u32,
    max: u32,
}

impl FailedInARow {
    pub fn new(max: u32) -> Self {
        Self { count: 0, max }
    }

    /// `Some(value)` for a success (the count starts again), `None` for a failure that
    /// is still tolerated, the error itself once `max` failed in a row.
    pub fn tolerate<T, E>(&mut self, result: Result<T, E>) -> Result<Option<T>, E> {
        match result {
            Ok(value) => {
                self.count = 0;
                Ok(Some(value))
            }
            Err(error) => {
                self.count += 1;
                if self.count >= self.max {
                    Err(error)
                } else {
                    Ok(None)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Tries until `done(try)` holds, as the suite's loops do.
    async fn count_until(mut poller: Poller, done: impl Fn(u32) -> bool) -> Result<u32, TimedOut> {
        let mut calls = 0;
        loop {
            calls += 1;
            if done(calls) {
                return Ok(calls);
            }
            poller.again(format!("call {calls}")).await?;
        }
    }

    #[tokio::test]
    async fn ends_at_the_first_success() {
        let poller = Poller::new("three calls", millis(1), millis(5000));
        assert_eq!(count_until(poller, |n| n == 3).await, Ok(3));
    }

    #[tokio::test]
    async fn names_what_and_the_last_state_when_the_count_runs_out() {
        let poller = Poller::new("the answer", Duration::ZERO, Duration::from_secs(5)).tries(4);
        let error = count_until(poller, |_| false).await.unwrap_err();
        assert_eq!((error.tries, error.last.as_str()), (4, "call 4"));
        let text = error.to_string();
        assert!(text.starts_with("the answer: not within "), "{text}");
        assert!(text.ends_with("(4 tries); last seen: call 4"), "{text}");
    }

    #[tokio::test]
    async fn ends_when_the_time_runs_out() {
        let poller = Poller::new("never", millis(20), millis(100));
        let started = Instant::now();
        let error = count_until(poller, |_| false).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(error.waited >= Duration::from_millis(100));
        assert!((5..=8).contains(&error.tries), "{error:?}");
        // It converts into the suite's error types.
        let _: anyhow::Error = error.clone().into();
        let _: String = error.into();
    }

    #[test]
    fn tolerates_failures_until_max_in_a_row() {
        let mut failures = FailedInARow::new(3);
        assert_eq!(failures.tolerate::<u8, &str>(Err("a")), Ok(None));
        assert_eq!(failures.tolerate::<u8, &str>(Err("b")), Ok(None));
        assert_eq!(failures.tolerate::<u8, &str>(Ok(1)), Ok(Some(1)));
        assert_eq!(failures.tolerate::<u8, &str>(Err("c")), Ok(None));
        assert_eq!(failures.tolerate::<u8, &str>(Err("d")), Ok(None));
        assert_eq!(failures.tolerate::<u8, &str>(Err("e")), Err("e"));
    }
}
