//! Issue 24 through the C ABI, called as C calls it: every node name the setter accepts gets
//! its tree (the `ffi_bytes` fuzz crash was a 54-character name the setter took and the
//! generation refused), up to Kubernetes' 253 characters; 254 is refused at the setter,
//! named, with `KUBEPKI_RESULT_CLUSTER_INVALID_PARAMETER`.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on the unexpected

use std::ffi::CStr;
use std::ptr;

use kubepki::cluster::{Kubeconfig, decode_data};
use kubepki::x509_cert::Certificate;
use kubepki::x509_cert::der::DecodePem;
use kubepki_ffi::{
    kubepki_bundle, kubepki_bundle_data, kubepki_bundle_free, kubepki_bundle_len,
    kubepki_bundle_path, kubepki_cluster_generate, kubepki_cluster_params,
    kubepki_cluster_params_free, kubepki_cluster_params_new, kubepki_cluster_params_set_algorithm,
    kubepki_cluster_params_set_node_name, kubepki_error, kubepki_error_free, kubepki_error_message,
    kubepki_result,
};

/// The longest Kubernetes node name: labels of 63, 63, 63 and 61 characters.
fn longest_node_name() -> String {
    let label = "a".repeat(63);
    format!("{label}.{label}.{label}.{}", "b".repeat(61))
}

/// Parameters for `node` (ECDSA keys, for speed), or the setter's code and message.
fn params(node: &str) -> Result<*mut kubepki_cluster_params, (kubepki_result, String)> {
    let mut params = ptr::null_mut();
    let mut err: *mut kubepki_error = ptr::null_mut();
    // SAFETY: `params` and `err` are storage for one pointer each; the texts live through the
    // calls.
    unsafe {
        assert_eq!(
            kubepki_cluster_params_new(&mut params, &mut err),
            kubepki_result::Ok
        );
        let algorithm = "ECDSA-P256";
        assert_eq!(
            kubepki_cluster_params_set_algorithm(
                params,
                algorithm.as_ptr(),
                algorithm.len(),
                &mut err
            ),
            kubepki_result::Ok
        );
        let rc = kubepki_cluster_params_set_node_name(params, node.as_ptr(), node.len(), &mut err);
        if rc == kubepki_result::Ok {
            return Ok(params);
        }
        let message = CStr::from_ptr(kubepki_error_message(err))
            .to_string_lossy()
            .into_owned();
        kubepki_error_free(err);
        kubepki_cluster_params_free(params);
        Err((rc, message))
    }
}

/// The tree generated in memory: each file's path and bytes.
fn generate(params: *mut kubepki_cluster_params) -> Vec<(String, Vec<u8>)> {
    let mut bundle: *mut kubepki_bundle = ptr::null_mut();
    let mut err: *mut kubepki_error = ptr::null_mut();
    // SAFETY: `params` is live and freed here once; `bundle` is read through its accessors
    // while live, then freed.
    unsafe {
        let rc = kubepki_cluster_generate(params, 1_800_000_000, &mut bundle, &mut err);
        if rc != kubepki_result::Ok {
            let message = CStr::from_ptr(kubepki_error_message(err)).to_string_lossy();
            panic!("generate: {rc:?}: {message}");
        }
        kubepki_cluster_params_free(params);
        let files = (0..kubepki_bundle_len(bundle))
            .map(|i| {
                let path = CStr::from_ptr(kubepki_bundle_path(bundle, i))
                    .to_string_lossy()
                    .into_owned();
                let mut len = 0;
                let data = kubepki_bundle_data(bundle, i, &mut len);
                (path, std::slice::from_raw_parts(data, len).to_vec())
            })
            .collect();
        kubepki_bundle_free(bundle);
        files
    }
}

fn certificate(files: &[(String, Vec<u8>)], path: &str) -> Certificate {
    let (_, pem) = files
        .iter()
        .find(|(p, _)| p == path)
        .unwrap_or_else(|| panic!("no {path} in the tree"));
    Certificate::from_pem(pem).unwrap()
}

#[test]
fn the_fuzzed_54_character_node_name_gets_its_tree() {
    let fuzzed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/seeds/ffi_bytes/node-name-54-characters.txt"
    ))
    .unwrap();
    // The driver's node name is the first line; mixed case is no Kubernetes node name.
    let first = fuzzed.lines().next().unwrap();
    let (rc, message) = params(first).unwrap_err();
    assert_eq!(rc, kubepki_result::ClusterInvalidParameter);
    assert!(message.contains("lower-case"), "{message}");
    // The same length in lower case gets its whole tree.
    let files = generate(params(&first.to_ascii_lowercase()).unwrap());
    assert_eq!(files.len(), 27);
}

#[test]
fn a_253_character_node_name_gets_its_tree_and_254_is_refused() {
    let node = longest_node_name();
    let files = generate(params(&node).unwrap());
    let etcd = certificate(&files, "pki/etcd/server.crt");
    assert_eq!(
        etcd.tbs_certificate().subject().to_string(),
        format!("CN={node}")
    );
    let (_, kubelet_conf) = files.iter().find(|(p, _)| p == "kubelet.conf").unwrap();
    let kubelet_conf = Kubeconfig::from_yaml(std::str::from_utf8(kubelet_conf).unwrap()).unwrap();
    let (_, user) = kubelet_conf.current().unwrap();
    let kubelet = decode_data(&user.client_certificate_data).unwrap();
    assert_eq!(
        Certificate::from_pem(&kubelet)
            .unwrap()
            .tbs_certificate()
            .subject()
            .to_string(),
        format!("CN=system:node:{node},O=system:nodes")
    );

    let too_long = format!("{node}c");
    let (rc, message) = params(&too_long).unwrap_err();
    assert_eq!(rc, kubepki_result::ClusterInvalidParameter);
    assert!(
        message.contains("254 characters long, more than the limit of 253"),
        "{message}"
    );
}
