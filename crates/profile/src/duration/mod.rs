//! Durations written as Kubernetes and Go write them: `8760h`, `10m`, `1h30m`, `600s`.

use std::time::Duration;

pub(crate) mod parse;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Nanoseconds per unit; `d` (24h) is a kubepki convenience, Go has no day unit.
fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3_600 * NANOS_PER_SEC,
        "d" => 86_400 * NANOS_PER_SEC,
        _ => return None,
    })
}

/// `value / div` as a decimal with the fraction's trailing zeros removed.
fn decimal(value: u128, div: u128) -> String {
    let whole = value / div;
    let frac = value % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Formats a duration as Go's `time.Duration.String` does: `8760h0m0s`, `10m0s`, `1h30m0s`,
/// `1.5s`, `500ms`, `0s`.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < NANOS_PER_SEC {
        let (unit, div) = match nanos {
            0..1_000 => ("ns", 1),
            1_000..1_000_000 => ("\u{b5}s", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{}{unit}", decimal(nanos, div));
    }
    let secs = d.as_secs();
    let (hours, minutes, seconds) = (secs / 3_600, secs % 3_600 / 60, secs % 60);
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    let sub = u128::from(seconds) * NANOS_PER_SEC + u128::from(d.subsec_nanos());
    out.push_str(&format!("{}s", decimal(sub, NANOS_PER_SEC)));
    out
}

#[cfg(test)]
mod tests {
    use super::parse::parse_duration;
    use super::*;
    use crate::ProfileError;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn parses_kubernetes_durations() {
        assert_eq!(parse_duration("8760h").unwrap(), secs(365 * 86_400));
        assert_eq!(parse_duration("10m").unwrap(), secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), secs(5_400));
        assert_eq!(parse_duration("600s").unwrap(), secs(600));
        assert_eq!(parse_duration("90d").unwrap(), secs(90 * 86_400));
        assert_eq!(parse_duration("1.5h").unwrap(), secs(5_400));
        assert_eq!(parse_duration(".5s").unwrap(), Duration::from_millis(500));
        assert_eq!(
            parse_duration("1h0m0.25s").unwrap(),
            Duration::from_millis(3_600_250)
        );
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("3us").unwrap(), Duration::from_micros(3));
        assert_eq!(
            parse_duration("3\u{b5}s").unwrap(),
            Duration::from_micros(3)
        );
        assert_eq!(parse_duration("7ns").unwrap(), Duration::from_nanos(7));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration(" +5m ").unwrap(), secs(300));
    }

    #[test]
    fn bad_durations_name_the_text() {
        for (bad, reason) in [
            ("", "empty"),
            ("10", "no unit"),
            ("10y", "unknown unit \"y\""),
            ("-5m", "negative"),
            ("h", "expected a number"),
            ("1h.m", "expected a number"),
            ("99999999999999999999999999999999999999999h", "too large"),
        ] {
            match parse_duration(bad) {
                Err(ProfileError::InvalidDuration { text, reason: got }) => {
                    assert_eq!(text, bad);
                    assert!(got.contains(reason), "{bad}: {got}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn formats_as_go() {
        assert_eq!(format_duration(secs(365 * 86_400)), "8760h0m0s");
        assert_eq!(format_duration(secs(600)), "10m0s");
        assert_eq!(format_duration(secs(5_400)), "1h30m0s");
        assert_eq!(format_duration(secs(61)), "1m1s");
        assert_eq!(format_duration(secs(5)), "5s");
        assert_eq!(format_duration(Duration::from_millis(1_500)), "1.5s");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_micros(1_500)), "1.5ms");
        assert_eq!(format_duration(Duration::from_nanos(1_500)), "1.5\u{b5}s");
        assert_eq!(format_duration(Duration::from_nanos(7)), "7ns");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn format_then_parse_is_identity() {
        for d in [
            secs(365 * 86_400),
            secs(3_650 * 86_400),
            secs(300),
            Duration::new(3_661, 5),
        ] {
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d);
        }
    }
}
