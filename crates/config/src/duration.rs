//! Go's duration syntax (`time.ParseDuration`), which kube-apiserver's flags
//! use: `300ms`, `1m30s`, `1.5h`, `0`.

use std::time::Duration;

use crate::error::{Error, Result};

/// Parses a duration the way Go's `time.ParseDuration` does (negative
/// durations are refused: no kapi flag accepts them).
pub fn parse_go_duration(text: &str) -> Result<Duration> {
    let invalid = |reason| Error::InvalidDuration {
        value: text.to_owned(),
        reason,
    };
    let mut rest = text.strip_prefix('+').unwrap_or(text);
    if rest.starts_with('-') {
        return Err(invalid("negative durations are not allowed"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid("empty"));
    }
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid("expected a number"));
        }
        let value: f64 = number.parse().map_err(|_| invalid("expected a number"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let nanos_per_unit = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(invalid("missing unit")),
            _ => return Err(invalid("unknown unit")),
        };
        total_nanos += value * nanos_per_unit;
        rest = tail;
    }
    if total_nanos > u64::MAX as f64 {
        return Err(invalid("too large"));
    }
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

/// Formats a duration the way Go's `Duration.String` does (`1m10s`, `500ms`, `0s`).
pub fn format_go_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", trim_fraction(nanos as f64 / 1e3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", trim_fraction(nanos as f64 / 1e6));
    }
    let total_secs = duration.as_secs();
    let hours = total_secs / 3600;
    let minutes = (total_secs % 3600) / 60;
    let seconds = (total_secs % 60) as f64 + f64::from(duration.subsec_nanos()) / 1e9;
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{}s", trim_fraction(seconds)));
    out
}

fn trim_fraction(value: f64) -> String {
    let text = format!("{value:.9}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        let check = |text: &str, expected: Option<Duration>| {
            assert_eq!(parse_go_duration(text).ok(), expected, "{text}");
        };
        check("0", Some(Duration::ZERO));
        check("0s", Some(Duration::ZERO));
        check("70s", Some(Duration::from_secs(70)));
        check("1m10s", Some(Duration::from_secs(70)));
        check("1h", Some(Duration::from_secs(3600)));
        check("1.5h", Some(Duration::from_secs(5400)));
        check("300ms", Some(Duration::from_millis(300)));
        check("2us", Some(Duration::from_micros(2)));
        check("1h2m3s4ms", Some(Duration::from_millis(3_723_004)));
        check("", None);
        check("10", None);
        check("-1s", None);
        check("1x", None);
        check("s", None);
        check("1..2s", None);
    }

    #[test]
    fn formats_like_go() {
        let check = |duration: Duration, expected: &str| {
            assert_eq!(format_go_duration(duration), expected);
        };
        check(Duration::ZERO, "0s");
        check(Duration::from_secs(60), "1m0s");
        check(Duration::from_secs(70), "1m10s");
        check(Duration::from_millis(1500), "1.5s");
        check(Duration::from_millis(300), "300ms");
        check(Duration::from_secs(3723), "1h2m3s");
    }
}
