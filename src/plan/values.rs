//! How a process type's supervision settings are written, on the command line, in `.foreman`
//! and in `procman.json` alike: durations (`500ms`, `2s`, `1m`), restart policies
//! (`on-failure`), and the backoff a first delay gives.

use std::time::Duration;

use procman::diagnostic::fragment;
use supervise::{Backoff, RestartPolicy};

/// The backoff for an initial delay: doubling, capped at 30 times the first delay (at least
/// the default cap), so `--backoff 1s` gives 1, 2, 4, 8, 16, 30 s.
pub(crate) fn backoff_from(initial: Duration) -> Backoff {
    let default = Backoff::default();
    Backoff {
        initial,
        factor: 2.0,
        max: default
            .max
            .max(initial.saturating_mul(30))
            .min(Duration::from_secs(3600))
            .max(initial),
    }
}

/// `never`, `on-failure` (also `unexpected`), `always`.
pub(crate) fn parse_restart(text: &str) -> Result<RestartPolicy, String> {
    match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
        "never" | "no" | "false" => Ok(RestartPolicy::Never),
        "on-failure" | "unexpected" | "on-unexpected-exit" => Ok(RestartPolicy::OnUnexpectedExit),
        "always" | "yes" | "true" => Ok(RestartPolicy::Always),
        _ => Err(format!("`{}` is not a restart policy", fragment(text))),
    }
}

/// `500ms`, `2s`, `1.5s`, `1m`, or a bare number of seconds (`5`).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let value: f64 =
        number.parse().map_err(|_| format!("`{}` is not a duration", fragment(text)))?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" | "secs" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("`{}` is not a duration (units: ms, s, m, h)", fragment(text))),
    };
    if !seconds.is_finite() || !(0.0..=86_400.0 * 365.0).contains(&seconds) {
        return Err(format!("`{}` is out of range", fragment(text)));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_or_seconds() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("1e999").is_err());
    }

    #[test]
    fn restart_policies_have_friendly_names() {
        assert_eq!(parse_restart("on-failure"), Ok(RestartPolicy::OnUnexpectedExit));
        assert_eq!(parse_restart("ALWAYS"), Ok(RestartPolicy::Always));
        assert!(parse_restart("sometimes").is_err());
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let b = backoff_from(Duration::from_secs(1));
        assert_eq!(b.delay(1), Duration::from_secs(1));
        assert_eq!(b.delay(3), Duration::from_secs(4));
        assert_eq!(b.delay(10), Duration::from_secs(30));
    }
}
