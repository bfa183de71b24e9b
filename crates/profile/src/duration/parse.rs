//! Reading a duration. Apart from the formatting because it fails with the crate's error,
//! whose messages show durations formatted: the formatting is below the error, the parsing
//! above it.

use std::time::Duration;

use super::{NANOS_PER_SEC, unit_nanos};
use crate::ProfileError;

/// Parses a duration in Go's `time.ParseDuration` syntax: a sequence of decimal numbers, each
/// with an optional fraction and a unit (`ns`, `us`, `ms`, `s`, `m`, `h`), e.g. `8760h`,
/// `1h30m`, `1.5h`, `600s`; a bare `0` is zero. As a convenience `d` means 24 hours (`90d`).
///
/// # Errors
/// [`ProfileError::InvalidDuration`] naming the text, for an empty or negative duration, a
/// number without a unit, an unknown unit, or a duration too large to hold.
pub fn parse_duration(text: &str) -> Result<Duration, ProfileError> {
    let invalid = |reason: &str| ProfileError::InvalidDuration {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    let s = text.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.starts_with('-') {
        return Err(invalid("a duration cannot be negative"));
    }
    if s.is_empty() {
        return Err(invalid("empty"));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let too_large = || invalid("too large");
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(f) => {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid("expected a number"));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(invalid(
                "a number has no unit (use ns, us, ms, s, m, h or d)",
            ));
        }
        let per_unit = unit_nanos(unit).ok_or_else(|| {
            invalid(&format!(
                "unknown unit {unit:?} (use ns, us, ms, s, m, h or d)"
            ))
        })?;
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| too_large())?
        };
        let mut value = whole.checked_mul(per_unit).ok_or_else(too_large)?;
        // Fractions are truncated to the nanosecond, as Go does; digits past 18 cannot matter.
        let frac_digits = &frac_part[..frac_part.len().min(18)];
        if !frac_digits.is_empty() {
            let numerator: u128 = frac_digits.parse().map_err(|_| too_large())?;
            let scale = 10u128.pow(u32::try_from(frac_digits.len()).map_err(|_| too_large())?);
            value = value
                .checked_add(numerator * per_unit / scale)
                .ok_or_else(too_large)?;
        }
        total = total.checked_add(value).ok_or_else(too_large)?;
        rest = after;
    }
    let secs = u64::try_from(total / NANOS_PER_SEC).map_err(|_| too_large())?;
    let nanos = u32::try_from(total % NANOS_PER_SEC).map_err(|_| too_large())?;
    Ok(Duration::new(secs, nanos))
}
