//! RFC 3339 UTC timestamps as Kubernetes writes them (`2006-01-02T15:04:05Z`), without a
//! dependency: days from civil and back (Howard Hinnant's algorithms).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ApiError;

/// Formats `t` as Kubernetes' `metav1.Time`: RFC 3339, UTC, whole seconds.
pub fn format_time(t: SystemTime) -> String {
    let secs: i64 = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Parses an RFC 3339 timestamp (`Z` or a numeric offset; fractional seconds ignored).
///
/// # Errors
/// [`ApiError::Timestamp`] for anything else.
pub fn parse_time(text: &str) -> Result<SystemTime, ApiError> {
    let bad = || ApiError::Timestamp(text.to_owned());
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64, ApiError> {
        let s = text.get(r).ok_or_else(bad)?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<i64>().map_err(|_| bad())
    };
    let (y, mo, d, h, mi, s) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return Err(bad());
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    // `±hh:mm` with hh <= 23 and mm <= 59, as Go's RFC 3339 parser. Matched as bytes: six
    // bytes of rest may hold a multi-byte character, which slicing at fixed offsets would cut.
    let offset = match rest.as_bytes() {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|c| c.is_ascii_digit()) =>
        {
            let two = |tens: &u8, ones: &u8| i64::from(tens - b'0') * 10 + i64::from(ones - b'0');
            let (oh, om) = (two(h1, h2), two(m1, m2));
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let sign = if *sign == b'-' { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return Err(bad()),
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset;
    let abs = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(abs).ok_or_else(bad)
    } else {
        UNIX_EPOCH.checked_sub(abs).ok_or_else(bad)
    }
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// kubectl's `duration.HumanDuration`, as in the AGE and REQUESTEDDURATION columns.
pub fn human_duration(d: Duration) -> String {
    let seconds = d.as_secs();
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = parse_time("2026-11-24T00:04:21Z").unwrap();
        assert_eq!(format_time(t), "2026-11-24T00:04:21Z");
        assert_eq!(format_time(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t2 = parse_time("2026-11-24T02:04:21.123+02:00").unwrap();
        assert_eq!(t, t2);
        assert!(matches!(
            parse_time("yesterday"),
            Err(ApiError::Timestamp(_))
        ));
        assert!(matches!(
            parse_time("2026-13-24T00:04:21Z"),
            Err(ApiError::Timestamp(_))
        ));
    }

    #[test]
    fn offsets_are_digits_and_a_colon() {
        let t = parse_time("2026-11-24T00:04:21Z").unwrap();
        assert_eq!(parse_time("2026-11-23T21:34:21-02:30").unwrap(), t);
        for bad in [
            "2026-11-24T00:04:21+12x00",
            "2026-11-24T00:04:21+-1:00",
            "2026-11-24T00:04:21+24:00",
            "2026-11-24T00:04:21+02:60",
        ] {
            assert!(
                matches!(parse_time(bad), Err(ApiError::Timestamp(ref t)) if t == bad),
                "{bad}"
            );
        }
    }

    /// A multi-byte character in the offset was cut by `rest[1..3]`, a panic the
    /// `api_csr_object` fuzz target reaches through the cleaner reading a condition's
    /// lastUpdateTime (`"+\u{20ac}00"`).
    #[test]
    fn multibyte_offset_is_an_error_not_a_panic() {
        for bad in [
            "2026-11-24T01:24:29+\u{20ac}00",
            "2026-11-24T01:24:29+00:\u{e9}",
            "2026-11-24T01:24:29+0\u{e9}00",
        ] {
            assert!(
                matches!(parse_time(bad), Err(ApiError::Timestamp(ref t)) if t == bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn human() {
        assert_eq!(human_duration(Duration::from_secs(600)), "10m");
        assert_eq!(human_duration(Duration::from_secs(90)), "90s");
        assert_eq!(human_duration(Duration::from_secs(86_400)), "24h");
        assert_eq!(human_duration(Duration::from_secs(8760 * 3600)), "365d");
    }
}
