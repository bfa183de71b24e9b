//! `--manifests-dir`: a phase's flag changes written into kubeadm's static-pod manifests
//! (`<component>.yaml`), each edited in place: only the flag's line changes, every other
//! byte is kept. The kubelet restarts a static pod whose manifest changed.

use std::path::{Path, PathBuf};

use kubepki_fs::{FileKind, Overwrite, write_atomic};

use super::plan::RestartPlan;
use crate::ClusterError;
use crate::files::read;

/// The manifests of `dir` the flags of `plan` change, with their new text (a manifest that
/// already has every flag is left out).
///
/// # Errors
/// [`ClusterError::RotationFile`] for a manifest that is missing or has no line for a flag
/// (kubeadm's always have one); read errors.
pub(crate) fn edits(
    dir: &Path,
    plan: &RestartPlan,
) -> Result<Vec<(PathBuf, String)>, ClusterError> {
    let mut out = Vec::new();
    for step in plan.steps.iter().filter(|s| !s.flags.is_empty()) {
        let path = dir.join(format!("{}.yaml", step.component));
        if !path.exists() {
            return Err(ClusterError::RotationFile {
                path,
                reason: format!("is missing: the plan changes {}'s flags", step.component),
            });
        }
        let text = String::from_utf8(read(&path)?).map_err(|_| ClusterError::RotationFile {
            path: path.clone(),
            reason: "not UTF-8 text".to_owned(),
        })?;
        let mut edited = text.clone();
        for flag in &step.flags {
            edited = set_flag(&edited, &flag.flag, &flag.value).ok_or_else(|| {
                ClusterError::RotationFile {
                    path: path.clone(),
                    reason: format!("has no `- {}=...` line to change", flag.flag),
                }
            })?;
        }
        if edited != text {
            out.push((path, edited));
        }
    }
    Ok(out)
}

/// Writes the edits (each file replaced atomically, 0600 as kubeadm writes manifests).
///
/// # Errors
/// [`ClusterError::Fs`] when a manifest cannot be written.
pub(crate) fn write(edits: &[(PathBuf, String)]) -> Result<(), ClusterError> {
    for (path, text) in edits {
        write_atomic(path, text.as_bytes(), FileKind::Secret, Overwrite::Replace)?;
    }
    Ok(())
}

/// `text` with the value of every `- <flag>=...` line set to `value` (indentation and line
/// ends kept); `None` when no line sets the flag.
fn set_flag(text: &str, flag: &str, value: &str) -> Option<String> {
    let prefix = format!("- {flag}=");
    let mut found = false;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let ending = &line[body.len()..];
        let indent = &body[..body.len() - body.trim_start().len()];
        if body.trim_start().starts_with(&prefix) {
            found = true;
            out.push_str(indent);
            out.push_str(&prefix);
            out.push_str(value);
            out.push_str(ending);
        } else {
            out.push_str(line);
        }
    }
    found.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::set_flag;

    #[test]
    fn only_the_flag_line_changes() {
        let text = "spec:\n  containers:\n  - command:\n    - kube-controller-manager\n    - --cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt\n    - --cluster-signing-key-file=/etc/kubernetes/pki/ca.key\n";
        let edited = set_flag(text, "--cluster-signing-cert-file", "/x/signing.crt").expect("flag");
        assert_eq!(
            edited,
            text.replace("/etc/kubernetes/pki/ca.crt", "/x/signing.crt")
        );
        assert_eq!(set_flag(text, "--nope", "x"), None);
    }
}
