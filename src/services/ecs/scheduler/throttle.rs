//! The service throttle: how long a service whose tasks keep failing to start waits before it
//! launches again.

/// The service throttle logic ("Amazon ECS service throttle logic", ECS developer guide): when
/// a service's tasks repeatedly fail to reach RUNNING (PENDING straight to STOPPED), the time
/// between restart attempts grows, up to 27 minutes. ECS documents neither the first delay nor
/// the growth; berth retries the first attempts at once (a circuit breaker sees its failures
/// quickly), then waits 5 s, 10 s, 20 s … up to the documented maximum.
const THROTTLE_FREE_ATTEMPTS: u32 = 2;
const THROTTLE_FIRST_DELAY_SECS: f64 = 5.0;
const THROTTLE_MAX_DELAY_SECS: f64 = 27.0 * 60.0;

/// How long to wait before the next launch after `failed_attempts` consecutive launch attempts
/// whose tasks failed to start.
pub(super) fn throttle_delay_secs(failed_attempts: u32) -> f64 {
    let Some(over) = failed_attempts.checked_sub(THROTTLE_FREE_ATTEMPTS + 1) else {
        return 0.0;
    };
    (THROTTLE_FIRST_DELAY_SECS * 2f64.powi(over.min(20) as i32)).min(THROTTLE_MAX_DELAY_SECS)
}

/// A service's launch throttle. Only tasks that never reached RUNNING count (AWS: a task whose
/// command exits right after RUNNING does not throttle); a task reaching RUNNING, or a new
/// deployment, returns the service to normal at once.
#[derive(Default)]
pub struct Throttle {
    /// Consecutive launch attempts whose tasks failed to start.
    failed_attempts: u32,
    /// When the last failed attempt was counted (epoch seconds): the failures of tasks created
    /// before then belong to that attempt, not to a new one.
    counted_at: Option<f64>,
    /// No task of the service is launched before this (epoch seconds).
    not_before: f64,
}

impl Throttle {
    /// A task of the service that reached RUNNING at `started` (epoch seconds): one that
    /// started after the last failed attempt was counted ends the throttle.
    pub(super) fn task_ran(&mut self, started: f64) {
        if self.counted_at.is_some_and(|counted| started > counted) {
            *self = Throttle::default();
        }
    }

    /// The newest task that failed to start was created at `created`: unless its failure
    /// belongs to the attempt counted last, a new failed attempt is counted at `now`. The delay
    /// until the next launch, when one was counted.
    pub(super) fn failed_to_start(&mut self, created: f64, now: f64) -> Option<f64> {
        if self.counted_at.is_some_and(|counted| created <= counted) {
            return None;
        }
        self.failed_attempts += 1;
        self.counted_at = Some(now);
        let delay = throttle_delay_secs(self.failed_attempts);
        self.not_before = now + delay;
        Some(delay)
    }

    /// No task may be launched at `now`.
    pub(super) fn holds(&self, now: f64) -> bool {
        self.not_before > now
    }

    /// Whether a failed attempt is on record.
    pub(super) fn is_clear(&self) -> bool {
        self.failed_attempts == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launch_throttle_grows_to_the_documented_maximum() {
        let delays: Vec<f64> = (0..=16).map(throttle_delay_secs).collect();
        // The first failed attempts are retried at once.
        assert_eq!(&delays[..=THROTTLE_FREE_ATTEMPTS as usize], &[0.0; 3]);
        assert_eq!(delays[3], THROTTLE_FIRST_DELAY_SECS);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert_eq!(delays[4], 2.0 * THROTTLE_FIRST_DELAY_SECS);
        // AWS: "up to a maximum of 27 minutes".
        assert_eq!(delays[16], 27.0 * 60.0);
        assert_eq!(throttle_delay_secs(u32::MAX), 27.0 * 60.0);
    }
}
