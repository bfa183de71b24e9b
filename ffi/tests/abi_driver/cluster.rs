//! The installer calls: cluster parameters (every setter that takes text), the tree in
//! memory, expiration and renewal on bad folders, and user kubeconfig files.

use std::ptr;

use super::{ErrOut, MAX_SANS, NOW, Owned, checked, with_out};
use kubepki_ffi::{
    kubepki_bundle, kubepki_bundle_data, kubepki_bundle_free, kubepki_bundle_is_secret,
    kubepki_bundle_len, kubepki_bundle_path, kubepki_bytes_data, kubepki_bytes_free,
    kubepki_bytes_len, kubepki_ca, kubepki_ca_free, kubepki_ca_self_signed,
    kubepki_check_expiration, kubepki_cluster_generate, kubepki_cluster_params,
    kubepki_cluster_params_add_apiserver_san, kubepki_cluster_params_add_etcd_peer_san,
    kubepki_cluster_params_add_etcd_server_san, kubepki_cluster_params_free,
    kubepki_cluster_params_new, kubepki_cluster_params_set_advertise_address,
    kubepki_cluster_params_set_algorithm, kubepki_cluster_params_set_ca_signer,
    kubepki_cluster_params_set_cluster_name, kubepki_cluster_params_set_control_plane_endpoint,
    kubepki_cluster_params_set_dns_domain, kubepki_cluster_params_set_external_ca,
    kubepki_cluster_params_set_node_name, kubepki_cluster_params_set_service_cidr,
    kubepki_cluster_params_set_threads, kubepki_error, kubepki_expiration_len,
    kubepki_expiration_report_free, kubepki_expiration_row, kubepki_expiration_row_get,
    kubepki_key_free, kubepki_key_generate, kubepki_kubeconfig_user, kubepki_profile_ca,
    kubepki_profile_free, kubepki_renew, kubepki_report_free, kubepki_report_len,
    kubepki_report_row, kubepki_report_row_get, kubepki_result, kubepki_str,
};

/// A setter of cluster parameters that takes one text.
type TextSetter = unsafe extern "C" fn(
    *mut kubepki_cluster_params,
    *const u8,
    usize,
    *mut *mut kubepki_error,
) -> kubepki_result;

/// The text setters, in the order the lines of the input feed them; the node name first.
const SETTERS: [(&str, TextSetter); 10] = [
    ("node_name", kubepki_cluster_params_set_node_name),
    (
        "advertise_address",
        kubepki_cluster_params_set_advertise_address,
    ),
    (
        "control_plane_endpoint",
        kubepki_cluster_params_set_control_plane_endpoint,
    ),
    ("cluster_name", kubepki_cluster_params_set_cluster_name),
    ("service_cidr", kubepki_cluster_params_set_service_cidr),
    ("dns_domain", kubepki_cluster_params_set_dns_domain),
    ("apiserver_san", kubepki_cluster_params_add_apiserver_san),
    (
        "etcd_server_san",
        kubepki_cluster_params_add_etcd_server_san,
    ),
    ("etcd_peer_san", kubepki_cluster_params_add_etcd_peer_san),
    ("algorithm", kubepki_cluster_params_set_algorithm),
];

/// Cluster parameters from the lines of `data` (one line per setter of [`SETTERS`], then
/// more API server SANs), then the tree in memory. A setter that accepts its value must leave
/// parameters that generate a tree (the algorithm is set back to ECDSA-P256 first: RSA
/// generation would take seconds); one that refuses must leave them as they were. External
/// CA mode (the first PEM block) is refused by `kubepki_cluster_generate`.
pub(super) fn cluster(first: &[u8], data: &[u8]) {
    let params = new_params();
    let mut lines = data.split(|b| *b == b'\n');
    let mut node_name_set = false;
    for (i, (what, setter)) in SETTERS.iter().enumerate() {
        let line = lines.next().unwrap_or_default();
        let err_out = if i % 2 == 0 {
            ErrOut::Wanted
        } else {
            ErrOut::Null
        };
        let code = checked(err_out, |err| {
            // SAFETY: `params` is live and used by this thread only; `line` is a live slice;
            // `err` is NULL or local.
            unsafe { setter(params.ptr, line.as_ptr(), line.len(), err) }
        });
        if i == 0 {
            node_name_set = code == kubepki_result::Ok;
        }
        let code = checked(ErrOut::Wanted, |err| {
            // SAFETY: NULL value with a length is refused; `params` is live; `err` is local.
            unsafe { setter(params.ptr, ptr::null(), 3, err) }
        });
        assert_eq!(code, kubepki_result::NullParameter, "{what} with NULL");
        let code = checked(ErrOut::Wanted, |err| {
            // SAFETY: NULL parameters are refused; `line` is live; `err` is local.
            unsafe { setter(ptr::null_mut(), line.as_ptr(), line.len(), err) }
        });
        assert_eq!(
            code,
            kubepki_result::NullParameter,
            "{what} on NULL parameters"
        );
    }
    for line in lines.take(MAX_SANS) {
        checked(ErrOut::Wanted, |err| {
            // SAFETY: `params` is live and used by this thread only; `line` is live.
            unsafe {
                kubepki_cluster_params_add_apiserver_san(params.ptr, line.as_ptr(), line.len(), err)
            }
        });
    }
    // An empty value (a live pointer, length 0) for each setter: accepted or refused, never
    // a broken tree.
    for (what, setter) in SETTERS.iter().skip(1) {
        let code = checked(ErrOut::Wanted, |err| {
            // SAFETY: a zero length with a live pointer; `params` is live; `err` is local.
            unsafe { setter(params.ptr, data.as_ptr(), 0, err) }
        });
        if *what == "algorithm" {
            assert_ne!(code, kubepki_result::Ok, "an empty algorithm is refused");
        }
    }
    set(&params, kubepki_cluster_params_set_algorithm, b"ECDSA-P256");
    let code = checked(ErrOut::Wanted, |err| {
        // SAFETY: `params` is live and used by this thread only.
        unsafe { kubepki_cluster_params_set_threads(params.ptr, 1, err) }
    });
    assert_eq!(code, kubepki_result::Ok);
    let code = checked(ErrOut::Wanted, |err| {
        // SAFETY: a NULL signer is refused; `params` is live.
        unsafe { kubepki_cluster_params_set_ca_signer(params.ptr, ptr::null(), err) }
    });
    assert_eq!(code, kubepki_result::NullParameter);

    let (code, bundle) = with_out(ErrOut::Wanted, kubepki_bundle_free, |out, err| {
        // SAFETY: `params` is live; `out` and `err` point to local storage.
        unsafe { kubepki_cluster_generate(params.get(), NOW, out, err) }
    });
    if node_name_set {
        assert_eq!(
            code,
            kubepki_result::Ok,
            "parameters every setter accepted must generate a tree"
        );
    } else {
        assert_eq!(
            code,
            kubepki_result::ClusterInvalidParameter,
            "no node name"
        );
    }
    if let Some(bundle) = bundle {
        use_bundle(&bundle);
    }

    let code = checked(ErrOut::Wanted, |err| {
        // SAFETY: `params` is live and used by this thread only; `first` is a live slice.
        unsafe {
            kubepki_cluster_params_set_external_ca(params.ptr, first.as_ptr(), first.len(), err)
        }
    });
    if code == kubepki_result::Ok && node_name_set {
        let (code, _) = with_out(ErrOut::Null, kubepki_bundle_free, |out, err| {
            // SAFETY: `params` is live; `out` is local, `err` NULL.
            unsafe { kubepki_cluster_generate(params.get(), NOW, out, err) }
        });
        assert_eq!(
            code,
            kubepki_result::InvalidParameter,
            "external CA mode in memory"
        );
    }
    let (code, _) = with_out(ErrOut::Wanted, kubepki_bundle_free, |out, err| {
        // SAFETY: NULL parameters are refused; `out` and `err` are local.
        unsafe { kubepki_cluster_generate(ptr::null(), NOW, out, err) }
    });
    assert_eq!(code, kubepki_result::NullParameter);
}

fn new_params() -> Owned<kubepki_cluster_params> {
    let (_, params) = with_out(ErrOut::Wanted, kubepki_cluster_params_free, |out, err| {
        // SAFETY: `out` and `err` point to local storage.
        unsafe { kubepki_cluster_params_new(out, err) }
    });
    params.expect("parameters are made")
}

/// Sets a value that must be accepted.
fn set(params: &Owned<kubepki_cluster_params>, setter: TextSetter, value: &[u8]) {
    let code = checked(ErrOut::Wanted, |err| {
        // SAFETY: `params` is live and used by this thread only; `value` is a live slice.
        unsafe { setter(params.ptr, value.as_ptr(), value.len(), err) }
    });
    assert_eq!(
        code,
        kubepki_result::Ok,
        "{:?}",
        String::from_utf8_lossy(value)
    );
}

/// Reads every file of a bundle; an index out of range gives NULL.
fn use_bundle(bundle: &Owned<kubepki_bundle>) {
    // SAFETY: `bundle` is live.
    let len = unsafe { kubepki_bundle_len(bundle.get()) };
    let mut paths = Vec::new();
    for i in 0..=len {
        let mut n = usize::MAX;
        // SAFETY: `bundle` is live; `n` is local.
        let (path, data, secret) = unsafe {
            (
                kubepki_bundle_path(bundle.get(), i),
                kubepki_bundle_data(bundle.get(), i, &raw mut n),
                kubepki_bundle_is_secret(bundle.get(), i),
            )
        };
        if i == len {
            assert!(path.is_null() && data.is_null() && n == 0 && !secret);
            break;
        }
        assert!(!path.is_null() && !data.is_null() && n > 0);
        // SAFETY: a bundle's path is NUL-terminated and lives as long as the bundle.
        let path = unsafe { std::ffi::CStr::from_ptr(path) }
            .to_string_lossy()
            .into_owned();
        // Keys and kubeconfig files (which hold one) want mode 0600; so does `sa.pub`, as
        // kubeadm writes it.
        let wants_0600 = path.ends_with(".key") || path.ends_with(".conf") || path == "pki/sa.pub";
        assert_eq!(secret, wants_0600, "{path}: secret iff it wants mode 0600");
        paths.push(path);
    }
    for wanted in ["pki/ca.crt", "pki/apiserver.crt", "admin.conf"] {
        assert!(paths.iter().any(|p| p == wanted), "{wanted} in the bundle");
    }
}

/// A P-256 CA made through the C ABI, for the calls that need one.
pub(super) fn test_ca() -> Owned<kubepki_ca> {
    let name = b"ECDSA-P256";
    let (_, key) = with_out(ErrOut::Wanted, kubepki_key_free, |out, err| {
        // SAFETY: `name` is a live array; `out` and `err` point to local storage.
        unsafe { kubepki_key_generate(name.as_ptr(), name.len(), out, err) }
    });
    let key = key.expect("a P-256 key generates");
    let cn = b"fuzz-ca";
    let (_, profile) = with_out(ErrOut::Wanted, kubepki_profile_free, |out, err| {
        // SAFETY: `cn` is a live array; `out` and `err` point to local storage.
        unsafe { kubepki_profile_ca(cn.as_ptr(), cn.len(), out, err) }
    });
    let profile = profile.expect("a CA profile");
    let (_, ca) = with_out(ErrOut::Wanted, kubepki_ca_free, |out, err| {
        // SAFETY: `key` and `profile` are live; `out` and `err` point to local storage.
        unsafe {
            kubepki_ca_self_signed(key.get(), ptr::null(), 0, profile.get(), 0, NOW, out, err)
        }
    });
    ca.expect("a self-signed CA")
}

/// The arguments of `kubepki_kubeconfig_user` as texts.
pub(super) struct UserArgs<'a> {
    pub(super) cluster_name: &'a [u8],
    pub(super) server: &'a [u8],
    pub(super) user: &'a [u8],
    pub(super) groups: Vec<&'a [u8]>,
    pub(super) algorithm: Option<&'a [u8]>,
}

/// Calls `kubepki_kubeconfig_user`; on success the YAML holds a client certificate and key.
pub(super) fn kubeconfig_user(
    ca: *const kubepki_ca,
    args: &UserArgs<'_>,
    err_out: ErrOut,
) -> kubepki_result {
    let groups: Vec<kubepki_str> = args
        .groups
        .iter()
        .map(|g| kubepki_str {
            data: g.as_ptr(),
            len: g.len(),
        })
        .collect();
    let (algorithm, algorithm_len) = super::opt(args.algorithm);
    let (code, yaml) = with_out(err_out, kubepki_bytes_free, |out, err| {
        // SAFETY: `ca` is NULL or live; every text is a live slice of its length, `groups`
        // holds `groups.len()` of them; `out` and `err` are NULL or local.
        unsafe {
            kubepki_kubeconfig_user(
                ca,
                args.cluster_name.as_ptr(),
                args.cluster_name.len(),
                args.server.as_ptr(),
                args.server.len(),
                args.user.as_ptr(),
                args.user.len(),
                groups.as_ptr(),
                groups.len(),
                algorithm,
                algorithm_len,
                3600,
                NOW,
                out,
                err,
            )
        }
    });
    if let Some(yaml) = yaml {
        // SAFETY: `yaml` is live and holds `len` bytes.
        let text = unsafe {
            std::slice::from_raw_parts(
                kubepki_bytes_data(yaml.get()),
                kubepki_bytes_len(yaml.get()),
            )
        };
        let text = String::from_utf8_lossy(text);
        assert!(text.contains("client-certificate-data") && text.contains("client-key-data"));
    }
    code
}

/// A user kubeconfig from the lines of `data` (cluster name, server, user, then groups),
/// with `https://` in front of the server to get past its check, and an algorithm from the
/// fourth line unless it names RSA (whose generation takes seconds).
pub(super) fn user_kubeconfigs(data: &[u8]) {
    let ca = test_ca();
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let line = |i: usize| lines.get(i).copied().unwrap_or_default();
    let server = [&b"https://"[..], line(1)].concat();
    let fuzzed_algorithm = (!String::from_utf8_lossy(line(3))
        .to_ascii_lowercase()
        .contains("rsa"))
    .then(|| line(3));
    let groups: Vec<&[u8]> = lines.iter().skip(3).take(MAX_SANS).copied().collect();
    let args = UserArgs {
        cluster_name: line(0),
        server: line(1),
        user: line(2),
        groups: groups.clone(),
        algorithm: None,
    };
    let code = kubeconfig_user(ca.get(), &args, ErrOut::Wanted);
    assert_eq!(
        code,
        kubeconfig_user(ca.get(), &args, ErrOut::Null),
        "the result depends on err_out"
    );
    let args = UserArgs {
        server: &server,
        algorithm: fuzzed_algorithm,
        ..args
    };
    kubeconfig_user(ca.get(), &args, ErrOut::Wanted);
    let valid = UserArgs {
        cluster_name: b"kubernetes",
        server: b"https://10.0.0.1:6443",
        user: line(2),
        groups,
        algorithm: Some(b"ECDSA-P256"),
    };
    kubeconfig_user(ca.get(), &valid, ErrOut::Wanted);
    let code = kubeconfig_user(ptr::null(), &valid, ErrOut::Wanted);
    assert_eq!(code, kubepki_result::NullParameter, "a NULL CA");
    let code = kubeconfig_user(
        ca.get(),
        &UserArgs {
            groups: vec![&b"a"[..], &[][..]],
            user: b"jane",
            ..valid
        },
        ErrOut::Wanted,
    );
    assert_ne!(code, kubepki_result::Panic);
    // A group with a NULL pointer and a length is refused.
    let bad = [kubepki_str {
        data: ptr::null(),
        len: 4,
    }];
    let user = b"jane";
    let (code, _) = with_out(ErrOut::Wanted, kubepki_bytes_free, |out, err| {
        // SAFETY: `ca` is live; `bad` holds one item whose NULL data is refused; `out` and
        // `err` are local.
        unsafe {
            kubepki_kubeconfig_user(
                ca.get(),
                user.as_ptr(),
                user.len(),
                user.as_ptr(),
                user.len(),
                user.as_ptr(),
                user.len(),
                bad.as_ptr(),
                bad.len(),
                ptr::null(),
                0,
                0,
                NOW,
                out,
                err,
            )
        }
    });
    assert_eq!(code, kubepki_result::NullParameter, "a NULL group");
}

/// A folder no call can touch: every path under the character device `/dev/null` fails
/// with "not a directory", whatever the fuzzed part holds (`..`, a leading `/`).
fn confined(fuzzed: &[u8]) -> Vec<u8> {
    [&b"/dev/null/"[..], fuzzed].concat()
}

/// Expiration and renewal on folders that are not there: the first two lines are the
/// certificate and kubeconfig folders (read as they are by `kubepki_check_expiration`, which
/// only reads; under `/dev/null/` for `kubepki_renew`, which would write), the rest the names
/// to renew.
pub(super) fn trees(data: &[u8]) {
    let lines: Vec<&[u8]> = data.split(|b| *b == b'\n').collect();
    let line = |i: usize| lines.get(i).copied().unwrap_or_default();
    let (cert_dir, kubeconfig_dir) = (confined(line(0)), confined(line(1)));
    for (certs, kubeconfigs, err_out) in [
        (line(0), line(1), ErrOut::Wanted),
        (&cert_dir[..], &kubeconfig_dir[..], ErrOut::Null),
        (&data[..0], line(1), ErrOut::Wanted),
    ] {
        let (code, report) = with_out(err_out, kubepki_expiration_report_free, |out, err| {
            // SAFETY: both folders are live slices; `out` and `err` are NULL or local.
            unsafe {
                kubepki_check_expiration(
                    certs.as_ptr(),
                    certs.len(),
                    kubeconfigs.as_ptr(),
                    kubeconfigs.len(),
                    NOW,
                    out,
                    err,
                )
            }
        });
        if certs.is_empty() {
            assert_ne!(code, kubepki_result::Ok, "an empty folder is refused");
        }
        if let Some(report) = report {
            // SAFETY: `report` is live.
            let len = unsafe { kubepki_expiration_len(report.get()) };
            for i in 0..=len {
                let mut row = kubepki_expiration_row {
                    name: ptr::null(),
                    not_after: 0,
                    residual_seconds: 0,
                    ca: ptr::null(),
                    is_ca: false,
                    externally_managed: false,
                    missing: false,
                };
                // SAFETY: `report` is live; `row` is local.
                let found = unsafe { kubepki_expiration_row_get(report.get(), i, &raw mut row) };
                assert_eq!(found, i < len);
                assert!(!found || (!row.name.is_null() && !row.ca.is_null()));
            }
        }
    }
    let (code, _) = with_out(
        ErrOut::Wanted,
        kubepki_expiration_report_free,
        |out, err| {
            // SAFETY: a NULL folder is refused; `out` and `err` are local.
            unsafe { kubepki_check_expiration(ptr::null(), 3, data.as_ptr(), 0, NOW, out, err) }
        },
    );
    assert_eq!(code, kubepki_result::NullParameter);

    let names: Vec<kubepki_str> = lines
        .iter()
        .skip(2)
        .take(MAX_SANS)
        .map(|n| kubepki_str {
            data: n.as_ptr(),
            len: n.len(),
        })
        .collect();
    let null_names = [kubepki_str {
        data: ptr::null(),
        len: 2,
    }];
    // The NULL lists get valid folders: a folder that is not UTF-8 is refused first.
    let fixed = b"/dev/null/kubernetes";
    for (dir, names, names_len, expected) in [
        (&cert_dir[..], names.as_ptr(), names.len(), None),
        (&cert_dir[..], ptr::null(), 0, None),
        (
            &fixed[..],
            ptr::null(),
            2,
            Some(kubepki_result::NullParameter),
        ),
        (
            &fixed[..],
            null_names.as_ptr(),
            1,
            Some(kubepki_result::NullParameter),
        ),
    ] {
        let kubeconfig_dir = if expected.is_some() {
            dir
        } else {
            &kubeconfig_dir[..]
        };
        let run = |err_out| {
            with_out(err_out, kubepki_report_free, |out, err| {
                // SAFETY: the folders are live slices under /dev/null; `names` is NULL or
                // `names_len` items; `out` and `err` are NULL or local.
                unsafe {
                    kubepki_renew(
                        dir.as_ptr(),
                        dir.len(),
                        kubeconfig_dir.as_ptr(),
                        kubeconfig_dir.len(),
                        names,
                        names_len,
                        0,
                        ptr::null(),
                        NOW,
                        out,
                        err,
                    )
                }
            })
        };
        let (code, report) = run(ErrOut::Wanted);
        assert_eq!(code, run(ErrOut::Null).0, "the result depends on err_out");
        if let Some(expected) = expected {
            assert_eq!(code, expected);
        }
        if let Some(report) = report {
            // SAFETY: `report` is live.
            let len = unsafe { kubepki_report_len(report.get()) };
            let mut row = kubepki_report_row {
                name: ptr::null(),
                path: ptr::null(),
                action: kubepki_ffi::kubepki_action::Kept,
                ca: ptr::null(),
                note: ptr::null(),
            };
            // SAFETY: `report` is live; `row` is local.
            assert!(!unsafe { kubepki_report_row_get(report.get(), len, &raw mut row) });
        }
    }
}
