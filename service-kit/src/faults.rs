//! Faults injected on demand (delay, error rate, fixed status), each with an expiry so a
//! forgotten fault heals itself. Only reachable when `FAULTS_ENABLED=true`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::limits::{DEFAULT_FAULT_EXPIRY, MAX_CONTROL_DURATION, MAX_FAULT_DELAY};

/// What `POST /admin/faults` takes and `GET /admin/faults` shows (with the seconds left).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    /// Added to every request before it is handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Share of requests (0 to 1) answered with 500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<f64>,
    /// Every request answered with this status (400 to 599).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How long the faults last (default 300, at most 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<f64>,
}

impl FaultRequest {
    fn validate(&self) -> Result<Duration, String> {
        if self.delay_ms.is_none() && self.error_rate.is_none() && self.status.is_none() {
            return Err("give at least one of delay_ms, error_rate, status".into());
        }
        if let Some(delay) = self.delay_ms
            && Duration::from_millis(delay) > MAX_FAULT_DELAY
        {
            return Err(format!(
                "delay_ms must be at most {}",
                MAX_FAULT_DELAY.as_millis()
            ));
        }
        if let Some(rate) = self.error_rate
            && !(0.0..=1.0).contains(&rate)
        {
            return Err("error_rate must be between 0 and 1".into());
        }
        if let Some(status) = self.status
            && !(400..=599).contains(&status)
        {
            return Err("status must be between 400 and 599".into());
        }
        match self.expires_in_seconds.map(Duration::try_from_secs_f64) {
            None => Ok(DEFAULT_FAULT_EXPIRY),
            Some(Ok(expiry)) if !expiry.is_zero() && expiry <= MAX_CONTROL_DURATION => Ok(expiry),
            Some(_) => Err(format!(
                "expires_in_seconds must be more than 0 and at most {}",
                MAX_CONTROL_DURATION.as_secs()
            )),
        }
    }
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub delay: Duration,
    pub fail_with: Option<u16>,
}

/// The faults injected into one service now, if any; the request middleware asks it
/// what to do to each request.
#[derive(Default)]
pub struct Faults {
    // Checked on every request without taking the lock while no fault is set.
    armed: AtomicBool,
    active: Mutex<Option<(FaultRequest, Instant)>>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(FaultRequest, Instant)>> {
        self.active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Parses, validates and arms a fault set; returns it with its expiry.
    pub fn set_from_json(&self, body: &[u8]) -> Result<FaultRequest, String> {
        let mut request: FaultRequest =
            serde_json::from_slice(body).map_err(|error| format!("bad fault JSON: {error}"))?;
        let expiry = request.validate()?;
        request.expires_in_seconds = Some(expiry.as_secs_f64());
        *self.lock() = Some((request.clone(), Instant::now() + expiry));
        self.armed.store(true, Ordering::Release);
        Ok(request)
    }

    pub fn clear(&self) {
        *self.lock() = None;
        self.armed.store(false, Ordering::Release);
    }

    /// The active faults with the seconds left, if any.
    pub fn active(&self) -> Option<FaultRequest> {
        let now = Instant::now();
        self.lock()
            .as_ref()
            .filter(|(_, until)| *until > now)
            .map(|(request, until)| FaultRequest {
                expires_in_seconds: Some((*until - now).as_secs_f64()),
                ..request.clone()
            })
    }

    /// What the active faults do to the next request; `None` when there are none.
    pub fn decide(&self) -> Option<Decision> {
        if !self.armed.load(Ordering::Acquire) {
            return None;
        }
        let mut active = self.lock();
        let (request, until) = active.as_ref()?;
        if *until <= Instant::now() {
            *active = None;
            self.armed.store(false, Ordering::Release);
            tracing::info!("faults expired");
            return None;
        }
        let fail_with = request.status.or_else(|| {
            request
                .error_rate
                .filter(|rate| rand::random::<f64>() < *rate)
                .map(|_| 500)
        });
        Some(Decision {
            delay: Duration::from_millis(request.delay_ms.unwrap_or(0)),
            fail_with,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_bad_field() {
        let faults = Faults::default();
        for (body, message) in [
            (r#"{}"#, "give at least one of delay_ms, error_rate, status"),
            (r#"{"delay_ms": 30001}"#, "delay_ms must be at most 30000"),
            (
                r#"{"error_rate": 1.5}"#,
                "error_rate must be between 0 and 1",
            ),
            (r#"{"status": 200}"#, "status must be between 400 and 599"),
            (
                r#"{"status": 503, "expires_in_seconds": 0}"#,
                "expires_in_seconds must be more than 0 and at most 3600",
            ),
        ] {
            assert_eq!(faults.set_from_json(body.as_bytes()).unwrap_err(), message);
        }
        let error = faults.set_from_json(br#"{"sleep": 1}"#).unwrap_err();
        assert!(
            error.starts_with("bad fault JSON: unknown field `sleep`"),
            "{error}"
        );
        assert_eq!(faults.decide(), None);
    }

    #[test]
    fn a_fixed_status_fails_every_request_until_cleared() {
        let faults = Faults::default();
        let set = faults
            .set_from_json(br#"{"status": 503, "delay_ms": 5}"#)
            .unwrap();
        assert_eq!(set.expires_in_seconds, Some(300.0));
        for _ in 0..10 {
            assert_eq!(
                faults.decide(),
                Some(Decision {
                    delay: Duration::from_millis(5),
                    fail_with: Some(503)
                })
            );
        }
        faults.clear();
        assert_eq!(faults.decide(), None);
        assert_eq!(faults.active(), None);
    }

    #[test]
    fn error_rates_of_zero_and_one_are_exact() {
        let faults = Faults::default();
        faults.set_from_json(br#"{"error_rate": 0}"#).unwrap();
        assert!((0..100).all(|_| faults.decide().unwrap().fail_with.is_none()));
        faults.set_from_json(br#"{"error_rate": 1}"#).unwrap();
        assert!((0..100).all(|_| faults.decide().unwrap().fail_with == Some(500)));
    }

    #[test]
    fn faults_expire() {
        let faults = Faults::default();
        faults
            .set_from_json(br#"{"status": 500, "expires_in_seconds": 0.05}"#)
            .unwrap();
        assert!(faults.decide().is_some());
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(faults.decide(), None);
        assert_eq!(faults.active(), None);
    }
}
