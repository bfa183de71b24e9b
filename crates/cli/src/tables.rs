//! Tables and durations as kubeadm and kubectl print them: CLI presentation, written once.

use kubepki::cluster::ExpirationReport;
use kubepki::sign::format_kubeadm_date;

/// apimachinery's `duration.HumanDuration` of a residual time in seconds, as kubeadm's
/// and kubectl's tables print it: `<invalid>` when past, then `Ns` below 2 minutes, `NmSs` below 10
/// minutes, `Nm` below 3 hours, `NhMm` below 8 hours, `Nh` below 2 days, `NdHh` below 8 days,
/// `Nd` below 2 years, `NyDd` below 8 years, `Ny`.
pub(crate) fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".to_owned();
    }
    if seconds < 0 {
        return "0s".to_owned();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d{h}h"),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    if hours < 24 * 365 * 8 {
        return match days % 365 {
            0 => format!("{}y", days / 365),
            d => format!("{}y{d}d", days / 365),
        };
    }
    format!("{}y", days / 365)
}

/// Lays out lines as Go's `text/tabwriter` does with `minwidth` and `padding` (kubeadm: 10
/// and 3, kubectl's `get`: 0 and 3 here), space-padded: every cell of a line but the last is tab-terminated; a column's width is
/// set per block of consecutive lines that have a terminated cell in that column.
pub(crate) fn tabwriter(lines: &[Vec<String>], min_width: usize, padding: usize) -> String {
    let terminated = |line: &Vec<String>| line.len().saturating_sub(1);
    let columns = lines.iter().map(terminated).max().unwrap_or(0);
    let mut widths: Vec<Vec<usize>> = lines.iter().map(|l| vec![0; terminated(l)]).collect();
    for c in 0..columns {
        let mut i = 0;
        while i < lines.len() {
            if lines.get(i).map_or(0, terminated) <= c {
                i += 1;
                continue;
            }
            let start = i;
            while i < lines.len() && lines.get(i).map_or(0, terminated) > c {
                i += 1;
            }
            let block = lines.get(start..i).unwrap_or_default();
            let width = block
                .iter()
                .filter_map(|l| l.get(c))
                .map(|cell| cell.chars().count() + padding)
                .max()
                .unwrap_or(0)
                .max(min_width);
            for row in widths.get_mut(start..i).unwrap_or_default() {
                if let Some(w) = row.get_mut(c) {
                    *w = width;
                }
            }
        }
    }
    let mut out = String::new();
    for (line, row) in lines.iter().zip(&widths) {
        for (cell, width) in line.iter().zip(row) {
            out.push_str(cell);
            out.push_str(&" ".repeat(width.saturating_sub(cell.chars().count())));
        }
        if let Some(last) = line.last() {
            out.push_str(last);
        }
        out.push('\n');
    }
    out
}

/// A table as kubectl's `get` prints it: columns three spaces apart, the last one bare, no
/// trailing space.
pub(crate) fn columns(rows: &[Vec<String>]) -> String {
    tabwriter(rows, 0, 3)
        .lines()
        .map(|line| format!("{}\n", line.trim_end()))
        .collect()
}

/// kubeadm's last column: `%-8v` of yes/no.
fn yes_no(b: bool) -> String {
    format!("{:<8}", if b { "yes" } else { "no" })
}

/// kubeadm's two tables, as `kubeadm certs check-expiration` prints them.
pub(crate) fn expiration_table(report: &ExpirationReport) -> String {
    let mut rows = vec![
        [
            "CERTIFICATE",
            "EXPIRES",
            "RESIDUAL TIME",
            "CERTIFICATE AUTHORITY",
            "EXTERNALLY MANAGED",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for e in &report.certificates {
        rows.push(match e.not_after() {
            Some(end) => vec![
                e.name.clone(),
                format_kubeadm_date(end),
                human_duration(e.residual_seconds),
                e.ca_name.clone(),
                yes_no(e.externally_managed),
            ],
            // kubeadm: "!MISSING! %s\t\t\t\t", four empty cells that keep the columns.
            None => vec![
                format!("!MISSING! {}", e.name),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
        });
    }
    rows.push(Vec::new());
    rows.push(
        [
            "CERTIFICATE AUTHORITY",
            "EXPIRES",
            "RESIDUAL TIME",
            "EXTERNALLY MANAGED",
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    for e in &report.certificate_authorities {
        rows.push(match e.not_after() {
            Some(end) => vec![
                e.name.clone(),
                format_kubeadm_date(end),
                human_duration(e.residual_seconds),
                yes_no(e.externally_managed),
            ],
            // kubeadm: "!MISSING! %s\t\t\t".
            None => vec![
                format!("!MISSING! {}", e.name),
                String::new(),
                String::new(),
                String::new(),
            ],
        });
    }
    tabwriter(&rows, 10, 3)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kubepki::cluster::{InitOptions, check_expiration, init};
    use kubepki::{KeyAlgorithm, sign::format_rfc3339};
    use kubepki_test_support::pinned_2026;

    use super::*;

    #[test]
    fn durations_as_apimachinery() {
        for (seconds, text) in [
            (-5, "<invalid>"),
            (-1, "0s"),
            (59, "59s"),
            (90, "90s"),
            (119, "119s"),
            (9 * 60 + 5, "9m5s"),
            (600, "10m"),
            (59 * 60, "59m"),
            (5 * 3600 + 60, "5h1m"),
            (23 * 3600, "23h"),
            (86_400, "24h"),
            (3 * 86_400 + 7200, "3d2h"),
            (364 * 86_400, "364d"),
            (365 * 86_400, "365d"),
            (1096 * 86_400, "3y1d"),
            (3649 * 86_400, "9y"),
        ] {
            assert_eq!(human_duration(seconds), text, "{seconds} s");
        }
    }

    #[test]
    fn kubectl_columns() {
        let rows: Vec<Vec<String>> = [["NAME", "AGE", "CONDITION"], ["a-long-name", "5m", ""]]
            .iter()
            .map(|r| r.map(str::to_owned).to_vec())
            .collect();
        assert_eq!(
            columns(&rows),
            "NAME          AGE   CONDITION\na-long-name   5m\n"
        );
    }

    const DAY: u64 = 86_400;

    #[test]
    fn check_expiration_prints_kubeadms_tables_at_a_pinned_clock() {
        let dir = tempfile::tempdir().unwrap();
        let mut options = InitOptions::new(
            dir.path().join("pki"),
            dir.path(),
            "cp-1",
            "127.0.0.1".parse().unwrap(),
        );
        options.algorithm = KeyAlgorithm::EcdsaP256;
        init(&options, pinned_2026()).unwrap();
        std::fs::remove_file(dir.path().join("pki/front-proxy-client.crt")).unwrap();
        let now = pinned_2026() + Duration::from_secs(100 * DAY);
        let report = check_expiration(&dir.path().join("pki"), dir.path(), now).unwrap();
        let table = expiration_table(&report);
        // kubeadm prints a missing row as "!MISSING! %s\t\t\t\t": its empty cells keep every
        // column in one tabwriter block, so the rows after it stay aligned.
        let expected = "\
CERTIFICATE                    EXPIRES                  RESIDUAL TIME   CERTIFICATE AUTHORITY   EXTERNALLY MANAGED
admin.conf                     Jan 01, 2027 00:00 UTC   265d            ca                      no      
apiserver                      Jan 01, 2027 00:00 UTC   265d            ca                      no      
apiserver-etcd-client          Jan 01, 2027 00:00 UTC   265d            etcd-ca                 no      
apiserver-kubelet-client       Jan 01, 2027 00:00 UTC   265d            ca                      no      
controller-manager.conf        Jan 01, 2027 00:00 UTC   265d            ca                      no      
etcd-healthcheck-client        Jan 01, 2027 00:00 UTC   265d            etcd-ca                 no      
etcd-peer                      Jan 01, 2027 00:00 UTC   265d            etcd-ca                 no      
etcd-server                    Jan 01, 2027 00:00 UTC   265d            etcd-ca                 no      
!MISSING! front-proxy-client                                                                    
scheduler.conf                 Jan 01, 2027 00:00 UTC   265d            ca                      no      
super-admin.conf               Jan 01, 2027 00:00 UTC   265d            ca                      no      

CERTIFICATE AUTHORITY   EXPIRES                  RESIDUAL TIME   EXTERNALLY MANAGED
ca                      Dec 30, 2035 00:00 UTC   9y              no      
etcd-ca                 Dec 30, 2035 00:00 UTC   9y              no      
front-proxy-ca          Dec 30, 2035 00:00 UTC   9y              no      
";
        assert_eq!(table, expected, "\n{table}");
        let later = pinned_2026() + Duration::from_secs(400 * DAY);
        let report = check_expiration(&dir.path().join("pki"), dir.path(), later).unwrap();
        assert!(expiration_table(&report).contains("<invalid>"));
        assert_eq!(
            format_rfc3339(report.certificate_authorities[0].not_after().unwrap()),
            "2035-12-30T00:00:00Z"
        );
    }
}
