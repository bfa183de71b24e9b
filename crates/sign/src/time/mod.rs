//! The one time module of the tree: RFC 3339 as Kubernetes and X.509 tools write it, and
//! kubeadm's table date, on the `time` crate. Every crate that reads or writes a timestamp
//! (the API objects, check-expiration, `verify --at`, error messages) comes here.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::macros::format_description;

pub(crate) mod parse;

/// A point in time for messages, as RFC 3339 UTC (in words past the year 9999).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub SystemTime);

impl core::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&format_rfc3339(self.0))
    }
}

/// `t` in UTC, whole seconds; `None` outside the years 0000 to 9999.
fn utc(t: SystemTime) -> Option<OffsetDateTime> {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok()?,
        Err(e) => i64::try_from(e.duration().as_secs()).ok()?.checked_neg()?,
    };
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

/// A time no calendar here can hold, said in words rather than as a `SystemTime` debug
/// string.
fn out_of_range(t: SystemTime) -> String {
    match t.duration_since(UNIX_EPOCH) {
        // The mean Gregorian year is 31,556,952 seconds.
        Ok(since) => format!("around the year {}", 1970 + since.as_secs() / 31_556_952),
        Err(_) => "before the year 0".to_owned(),
    }
}

/// Formats `t` as Kubernetes' `metav1.Time` and X.509 tools print it: RFC 3339, UTC, whole
/// seconds (`2026-01-02T03:04:05Z`). A time past the year 9999 is said in words.
pub fn format_rfc3339(t: SystemTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    utc(t)
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_else(|| out_of_range(t))
}

/// kubeadm's date, Go's `Jan 02, 2006 15:04 MST` in UTC, as `certs check-expiration`
/// prints it.
pub fn format_kubeadm_date(t: SystemTime) -> String {
    let format = format_description!("[month repr:short] [day], [year] [hour]:[minute] UTC");
    utc(t)
        .and_then(|d| d.format(&format).ok())
        .unwrap_or_else(|| out_of_range(t))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::parse::parse_rfc3339;
    use super::*;
    use crate::SignError;

    fn parse(text: &str) -> SystemTime {
        parse_rfc3339(text).unwrap()
    }

    #[test]
    fn round_trip() {
        let t = parse("2026-11-24T00:04:21Z");
        assert_eq!(format_rfc3339(t), "2026-11-24T00:04:21Z");
        assert_eq!(format_rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(parse("2026-11-24T02:04:21.123+02:00"), t);
        assert_eq!(parse("2026-11-24t00:04:21z"), t);
        assert_eq!(parse("2026-11-24 00:04:21Z"), t);
        assert_eq!(parse("1970-01-01T00:00:00Z"), UNIX_EPOCH);
        assert_eq!(
            format_rfc3339(UNIX_EPOCH - Duration::from_secs(86_400)),
            "1969-12-31T00:00:00Z"
        );
        for bad in [
            "yesterday",
            "2026-13-24T00:04:21Z",
            "2026-02-30T00:04:21Z",
            "2026-11-24T00:04:21",
            "",
        ] {
            assert!(
                matches!(parse_rfc3339(bad), Err(SignError::InvalidTimestamp { ref text }) if text == bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn offsets_are_digits_and_a_colon() {
        let t = parse("2026-11-24T00:04:21Z");
        assert_eq!(parse("2026-11-23T21:34:21-02:30"), t);
        for bad in [
            "2026-11-24T00:04:21+12x00",
            "2026-11-24T00:04:21+-1:00",
            "2026-11-24T00:04:21+24:00",
            "2026-11-24T00:04:21+02:60",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    /// A multi-byte character in the offset was cut by `rest[1..3]` in the API's own parser,
    /// a panic the `api_csr_object` fuzz target reached through the cleaner reading a
    /// condition's lastUpdateTime (`"+\u{20ac}00"`).
    #[test]
    fn multibyte_text_is_an_error_not_a_panic() {
        for bad in [
            "2026-11-24T01:24:29+\u{20ac}00",
            "2026-11-24T01:24:29+00:\u{e9}",
            "2026-11-24T01:24:29+0\u{e9}00",
            "2026-11-2\u{e9}01:24:29Z",
            "2026-11-24\u{e9}1:24:29Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kubeadm_dates_and_words_past_9999() {
        let t = parse("2026-01-01T13:07:00Z");
        assert_eq!(format_kubeadm_date(t), "Jan 01, 2026 13:07 UTC");
        assert_eq!(
            format_kubeadm_date(parse("2000-02-29T00:00:00Z")),
            "Feb 29, 2000 00:00 UTC"
        );
        let far = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert!(
            format_rfc3339(far).starts_with("around the year "),
            "{}",
            format_rfc3339(far)
        );
        assert_eq!(Timestamp(t).to_string(), "2026-01-01T13:07:00Z");
    }
}
