//! Reading an RFC 3339 timestamp. Apart from the formatting because it fails with the
//! crate's error, whose messages show times formatted: the formatting is below the error,
//! the parsing above it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::SignError;

/// Parses an RFC 3339 timestamp: `T`, `t` or a space between date and time, fractional
/// seconds (ignored), `Z` or a numeric offset `±hh:mm`.
///
/// # Errors
/// [`SignError::InvalidTimestamp`] naming the text for anything else (a date that does not
/// exist, an offset past 23:59, a multi-byte character anywhere).
pub fn parse_rfc3339(text: &str) -> Result<SystemTime, SignError> {
    let bad = || SignError::InvalidTimestamp {
        text: text.to_owned(),
    };
    // RFC 3339 (5.6, NOTE) allows a space for the `T`; the `time` crate reads `T` and `t`.
    let normalised;
    let text_t = if text.as_bytes().get(10) == Some(&b' ') {
        let mut bytes = text.as_bytes().to_vec();
        if let Some(b) = bytes.get_mut(10) {
            *b = b'T';
        }
        normalised = String::from_utf8(bytes).map_err(|_| bad())?;
        normalised.as_str()
    } else {
        text
    };
    let parsed = OffsetDateTime::parse(text_t, &Rfc3339).map_err(|_| bad())?;
    let utc = parsed.to_offset(UtcOffset::UTC);
    let secs = utc.unix_timestamp();
    let abs = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(abs).ok_or_else(bad)
    } else {
        UNIX_EPOCH.checked_sub(abs).ok_or_else(bad)
    }
}
