//! This host's name, read once here for every command that needs it (`init`'s node name,
//! a leader's identity).

/// This host's name as the kernel has it (`/proc/sys/kernel/hostname`, else the `hostname`
/// program), trimmed; `None` when neither says one.
pub(crate) fn host_name() -> Option<String> {
    let from_proc = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let name = from_proc.or_else(|| {
        std::process::Command::new("hostname")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
    });
    name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty())
}

/// The node name kubeadm takes by default: the host name in lower case, `localhost` when
/// there is none.
pub(crate) fn default_node_name() -> String {
    host_name().map_or_else(|| "localhost".to_owned(), |n| n.to_lowercase())
}
