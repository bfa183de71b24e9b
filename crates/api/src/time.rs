//! Timestamps in the API objects: RFC 3339 UTC as Kubernetes writes them
//! (`2006-01-02T15:04:05Z`), through the tree's one time module ([`kubepki_sign`]'s).

use std::time::SystemTime;

use kubepki_sign::{format_rfc3339, parse_rfc3339};

use crate::ApiError;

/// Formats `t` as Kubernetes' `metav1.Time`: RFC 3339, UTC, whole seconds.
pub fn format_time(t: SystemTime) -> String {
    format_rfc3339(t)
}

/// Parses an RFC 3339 timestamp (`Z` or a numeric offset; fractional seconds ignored).
///
/// # Errors
/// [`ApiError::Timestamp`] for anything else.
pub fn parse_time(text: &str) -> Result<SystemTime, ApiError> {
    parse_rfc3339(text).map_err(|_| ApiError::Timestamp(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = parse_time("2026-11-24T00:04:21Z").unwrap();
        assert_eq!(format_time(t), "2026-11-24T00:04:21Z");
        assert_eq!(format_time(std::time::UNIX_EPOCH), "1970-01-01T00:00:00Z");
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
}
