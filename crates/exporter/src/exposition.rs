//! The Prometheus text exposition format (version 0.0.4) of a collection.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::{Duration, SystemTime};

use kubepki_cluster::{Phase, renewal_time};

use crate::collect::Collection;
use crate::labels::CertSeries;
use crate::labels::unix_seconds;
use crate::read::Reason;
use crate::sources::SourceKind;

/// The content type of the text format.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Failed reads so far, by source kind, source name and reason.
pub(crate) type ErrorCounts = BTreeMap<(SourceKind, String, Reason), u64>;

/// What to expose beyond the always-on metrics.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    /// enix's `--expose-relative-metrics`.
    pub(crate) relative: bool,
    /// The window `certs renew --if-expiring-within` runs with, if any.
    pub(crate) renewal_window: Option<Duration>,
}

/// A per-certificate gauge: name, help, value.
struct Gauge {
    name: &'static str,
    help: &'static str,
    value: fn(&CertSeries, SystemTime, Option<Duration>) -> String,
}

/// enix's help texts, word for word.
const ALWAYS: [Gauge; 4] = [
    Gauge {
        name: "x509_cert_not_before",
        help: "Indicates the certificate's not before timestamp",
        value: |c, _, _| unix_seconds(c.not_before).to_string(),
    },
    Gauge {
        name: "x509_cert_not_after",
        help: "Indicates the certificate's not after timestamp",
        value: |c, _, _| unix_seconds(c.not_after).to_string(),
    },
    Gauge {
        name: "x509_cert_expired",
        help: "Indicates if the certificate is expired",
        value: |c, now, _| u8::from(now > c.not_after).to_string(),
    },
    Gauge {
        name: "kubepki_certificate_renewal_timestamp_seconds",
        help: "When kubepki's renewal policy renews the certificate (Unix time)",
        value: |c, _, window| {
            unix_seconds(renewal_time(c.not_before, c.not_after, window)).to_string()
        },
    },
];

const RELATIVE: [Gauge; 2] = [
    Gauge {
        name: "x509_cert_expires_in_seconds",
        help: "Indicates the remaining time before the certificate's not after timestamp",
        value: |c, now, _| seconds_between(now, c.not_after),
    },
    Gauge {
        name: "x509_cert_valid_since_seconds",
        help: "Indicates the elapsed time since the certificate's not before timestamp",
        value: |c, now, _| seconds_between(c.not_before, now),
    },
];

/// `to - from` in seconds, negative when `to` is earlier.
fn seconds_between(from: SystemTime, to: SystemTime) -> String {
    let seconds = match to.duration_since(from) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    format!("{seconds:.3}")
}

/// The exposition of `collection` at `now`, with the error counters.
pub(crate) fn render(
    collection: &Collection,
    errors: &ErrorCounts,
    now: SystemTime,
    shape: Shape,
) -> String {
    let mut text = String::with_capacity(collection.certificates.len() * 1600 + 1024);
    let relative: &[Gauge] = if shape.relative { &RELATIVE } else { &[] };
    // Each certificate's `{...}` once, for every family.
    let label_sets: Vec<String> = collection
        .certificates
        .iter()
        .map(|cert| label_set(cert.labels.iter().map(|(n, v)| (n.as_str(), v.as_str()))))
        .collect();
    for gauge in ALWAYS.iter().chain(relative) {
        family_header(&mut text, gauge.name, gauge.help, "gauge");
        for (cert, labels) in collection.certificates.iter().zip(&label_sets) {
            text.push_str(gauge.name);
            text.push_str(labels);
            text.push(' ');
            text.push_str(&(gauge.value)(cert, now, shape.renewal_window));
            text.push('\n');
        }
    }
    if !collection.rotation.is_empty() {
        let name = "kubepki_ca_rotation_phase";
        family_header(
            &mut text,
            name,
            "Where each CA's rotation stands, read from the tree: 0 idle, 1 started, 2 promoted, 3 finished",
            "gauge",
        );
        for (ca, phase) in &collection.rotation {
            let labels = [("ca", ca.name())];
            sample(
                &mut text,
                name,
                labels.into_iter(),
                &phase_number(*phase).to_string(),
            );
        }
    }
    let name = "x509_source_errors_total";
    family_header(
        &mut text,
        name,
        "Errors emitted by sources, by reason code.",
        "counter",
    );
    for ((kind, source, reason), count) in errors {
        let labels = [
            ("source_kind", kind.as_str()),
            ("source_name", source.as_str()),
            ("reason", reason.as_str()),
        ];
        sample(&mut text, name, labels.into_iter(), &count.to_string());
    }
    text
}

/// A rotation phase as the gauge's value.
fn phase_number(phase: Phase) -> u8 {
    match phase {
        Phase::Idle => 0,
        Phase::Started => 1,
        Phase::Promoted => 2,
        Phase::Finished => 3,
    }
}

fn family_header(text: &mut String, name: &str, help: &str, kind: &str) {
    // Writing into a String cannot fail.
    let _ = writeln!(text, "# HELP {name} {help}");
    let _ = writeln!(text, "# TYPE {name} {kind}");
}

fn sample<'a>(
    text: &mut String,
    name: &str,
    labels: impl Iterator<Item = (&'a str, &'a str)>,
    value: &str,
) {
    text.push_str(name);
    text.push_str(&label_set(labels));
    text.push(' ');
    text.push_str(value);
    text.push('\n');
}

/// `{name="value",...}`, or nothing for no labels.
fn label_set<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut text = String::new();
    for (label, value) in labels {
        text.push(if text.is_empty() { '{' } else { ',' });
        text.push_str(label);
        text.push_str("=\"");
        escape_into(&mut text, value);
        text.push('"');
    }
    if !text.is_empty() {
        text.push('}');
    }
    text
}

/// A label value as the text format wants it: `\`, `"` and line feeds escaped.
fn escape_into(text: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => text.push_str("\\\\"),
            '"' => text.push_str("\\\""),
            '\n' => text.push_str("\\n"),
            c => text.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut text = String::new();
        sample(
            &mut text,
            "m",
            [("filepath", "a\\b\"c\nd")].into_iter(),
            "1",
        );
        assert_eq!(text, "m{filepath=\"a\\\\b\\\"c\\nd\"} 1\n");
    }

    #[test]
    fn relative_metrics_only_when_asked() {
        let day = Duration::from_secs(86_400);
        let cert = CertSeries {
            labels: vec![("filename".to_owned(), "a.crt".to_owned())],
            not_before: SystemTime::UNIX_EPOCH + day * 100,
            not_after: SystemTime::UNIX_EPOCH + day * 400,
        };
        let collection = Collection {
            certificates: vec![cert],
            ..Collection::default()
        };
        let now = SystemTime::UNIX_EPOCH + day * 390;
        let plain = Shape {
            relative: false,
            renewal_window: None,
        };
        let text = render(&collection, &ErrorCounts::new(), now, plain);
        assert!(!text.contains("x509_cert_expires_in_seconds"), "{text}");
        assert!(text.contains("x509_cert_not_after{filename=\"a.crt\"} 34560000\n"));
        assert!(text.contains("x509_cert_expired{filename=\"a.crt\"} 0\n"));
        // Two thirds of 300 days after day 100: day 300.
        assert!(text.contains(
            "kubepki_certificate_renewal_timestamp_seconds{filename=\"a.crt\"} 25920000\n"
        ));
        let relative = Shape {
            relative: true,
            renewal_window: Some(day * 30),
        };
        let text = render(&collection, &ErrorCounts::new(), now, relative);
        assert!(text.contains("x509_cert_expires_in_seconds{filename=\"a.crt\"} 864000.000\n"));
        assert!(text.contains(
            "kubepki_certificate_renewal_timestamp_seconds{filename=\"a.crt\"} 31968000\n"
        ));
    }

    #[test]
    fn rotation_phases_are_one_gauge_by_ca() {
        use kubepki_cluster::RotatedCa;
        let shape = Shape {
            relative: false,
            renewal_window: None,
        };
        let now = SystemTime::UNIX_EPOCH;
        let none = render(&Collection::default(), &ErrorCounts::new(), now, shape);
        assert!(!none.contains("kubepki_ca_rotation_phase"), "{none}");
        let collection = Collection {
            rotation: vec![
                (RotatedCa::Cluster, Phase::Promoted),
                (RotatedCa::Sa, Phase::Idle),
            ],
            ..Collection::default()
        };
        let text = render(&collection, &ErrorCounts::new(), now, shape);
        assert!(
            text.contains("# TYPE kubepki_ca_rotation_phase gauge\n"),
            "{text}"
        );
        assert!(
            text.contains("kubepki_ca_rotation_phase{ca=\"cluster\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("kubepki_ca_rotation_phase{ca=\"sa\"} 0\n"),
            "{text}"
        );
    }
}
