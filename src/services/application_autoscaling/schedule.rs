//! Scheduled actions' schedules: `at(yyyy-mm-ddThh:mm:ss)`, `rate(value unit)` and
//! `cron(minutes hours day-of-month month day-of-week year)`, in UTC. Cron expressions are
//! evaluated by the `cron` crate (AWS's six fields are its seven without the seconds).

use crate::aws::Timestamp;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::str::FromStr;

pub enum Schedule {
    At(Timestamp),
    Rate(f64),
    Cron(Box<cron::Schedule>),
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Self, String> {
        let invalid = || format!("Invalid schedule expression: {text}");
        let inner = |prefix: &str| {
            text.strip_prefix(prefix)
                .and_then(|rest| rest.strip_suffix(')'))
                .map(str::trim)
        };
        if let Some(at) = inner("at(") {
            let t =
                NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S").map_err(|_| invalid())?;
            return Ok(Schedule::At(Timestamp::from_secs_f64(
                t.and_utc().timestamp() as f64,
            )));
        }
        if let Some(rate) = inner("rate(") {
            let (value, unit) = rate.split_once(' ').ok_or_else(invalid)?;
            let value: u32 = value.parse().map_err(|_| invalid())?;
            let seconds = match (value, unit) {
                (0, _) => return Err(invalid()),
                (1, "minute") | (2.., "minutes") => 60,
                (1, "hour") | (2.., "hours") => 3600,
                (1, "day") | (2.., "days") => 86400,
                _ => return Err(invalid()),
            };
            return Ok(Schedule::Rate(f64::from(value) * f64::from(seconds)));
        }
        if let Some(fields) = inner("cron(") {
            if fields.split_whitespace().count() != 6 {
                return Err(invalid());
            }
            let parsed = cron::Schedule::from_str(&format!("0 {fields}")).map_err(|_| invalid())?;
            return Ok(Schedule::Cron(Box::new(parsed)));
        }
        Err(invalid())
    }

    /// When the action runs next after `now`, within its start and end times.
    pub fn next_after(
        &self,
        now: Timestamp,
        start: Option<Timestamp>,
        end: Option<Timestamp>,
    ) -> Option<Timestamp> {
        let from = match start {
            Some(s) if s.as_secs_f64() > now.as_secs_f64() => s,
            _ => now,
        };
        let next = match self {
            Schedule::At(t) => (t.as_secs_f64() > now.as_secs_f64()).then_some(*t)?,
            Schedule::Rate(seconds) => Timestamp::from_secs_f64(from.as_secs_f64() + seconds),
            Schedule::Cron(c) => {
                let after =
                    DateTime::<Utc>::from_timestamp_millis((from.as_secs_f64() * 1000.0) as i64)?;
                let t = c.after(&after).next()?;
                Timestamp::from_secs_f64(t.timestamp_millis() as f64 / 1000.0)
            }
        };
        match end {
            Some(e) if next.as_secs_f64() > e.as_secs_f64() => None,
            _ => Some(next),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: f64) -> Timestamp {
        Timestamp::from_secs_f64(secs)
    }

    #[test]
    fn each_form_parses_and_says_when_it_runs() {
        // 2030-01-01T00:00:00Z
        let base = 1_893_456_000.0;
        let once = Schedule::parse("at(2030-01-01T00:10:00)").expect("at");
        assert_eq!(
            once.next_after(at(base), None, None)
                .map(|t| t.as_secs_f64()),
            Some(base + 600.0)
        );
        assert!(once.next_after(at(base + 601.0), None, None).is_none());

        let rate = Schedule::parse("rate(5 minutes)").expect("rate");
        assert_eq!(
            rate.next_after(at(base), None, None)
                .map(|t| t.as_secs_f64()),
            Some(base + 300.0)
        );
        assert!(
            rate.next_after(at(base), None, Some(at(base + 10.0)))
                .is_none()
        );

        let cron = Schedule::parse("cron(30 2 * * ? *)").expect("cron");
        assert_eq!(
            cron.next_after(at(base), None, None)
                .map(|t| t.as_secs_f64()),
            Some(base + 2.0 * 3600.0 + 1800.0)
        );
    }

    #[test]
    fn bad_expressions_are_refused() {
        for bad in [
            "rate(1 minutes)",
            "rate(0 hours)",
            "rate(5 weeks)",
            "at(tomorrow)",
            "cron(* * * *)",
            "every day",
            "cron(99 * * * ? *)",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }
}
