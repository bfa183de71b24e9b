//! When kubepki's renewal policy renews a certificate: the one rule the exporter's
//! `kubepki_certificate_renewal_timestamp_seconds` and `certs renew --if-expiring-within`
//! share.

use std::time::{Duration, SystemTime};

/// The moment a certificate valid from `not_before` to `not_after` is due for renewal.
///
/// With a window (the `--if-expiring-within` duration the operator runs `certs renew` with),
/// it is `not_after - window`: the first run of renew at or after that moment renews it.
/// Without one it is the point where two thirds of the validity have passed (a one-year
/// certificate is renewed about four months before it ends), which leaves a third of the
/// lifetime to notice a renewal that failed.
///
/// A window longer than the whole validity gives `not_before` (due at once); a validity
/// that ends before it begins gives `not_after`.
pub fn renewal_time(
    not_before: SystemTime,
    not_after: SystemTime,
    window: Option<Duration>,
) -> SystemTime {
    let lifetime = not_after.duration_since(not_before).unwrap_or_default();
    let before_end = match window {
        Some(window) => window.min(lifetime),
        None => lifetime / 3,
    };
    not_after.checked_sub(before_end).unwrap_or(not_before)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    fn at(days: u32) -> SystemTime {
        SystemTime::UNIX_EPOCH + DAY * days
    }

    #[test]
    fn without_a_window_two_thirds_of_the_validity() {
        assert_eq!(renewal_time(at(0), at(300), None), at(200));
        assert_eq!(renewal_time(at(30), at(33), None), at(32));
    }

    #[test]
    fn with_a_window_that_long_before_the_end() {
        assert_eq!(renewal_time(at(0), at(365), Some(DAY * 30)), at(335));
    }

    #[test]
    fn a_window_longer_than_the_validity_is_due_at_once() {
        assert_eq!(renewal_time(at(10), at(17), Some(DAY * 30)), at(10));
    }

    #[test]
    fn a_validity_that_ends_before_it_begins_is_due_at_its_end() {
        assert_eq!(renewal_time(at(20), at(10), None), at(10));
        assert_eq!(renewal_time(at(20), at(10), Some(DAY)), at(10));
    }
}
