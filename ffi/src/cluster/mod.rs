//! The kubeadm tree: `kubepki init` as parameters and one call, in memory or on disk;
//! expiration, renewal and user kubeconfig files.

// The submodules in the order of the header: cbindgen writes the functions in source order
// (and the types as the functions reach them), so this order is the header's. A blank line
// keeps rustfmt from sorting them.
mod params; // kubepki_cluster_params and its setters

mod report; // kubepki_report: what init and renew did

mod init; // kubepki_cluster_init, kubepki_cluster_generate and kubepki_bundle

mod expiration; // kubepki_check_expiration

mod renew; // kubepki_renew

mod kubeconfig; // kubepki_kubeconfig_user

pub use expiration::*;
pub use init::*;
pub use kubeconfig::*;
pub use params::*;
pub use renew::*;
pub use report::*;

use crate::error::{Failure, kubepki_result};
use crate::util::str_arg;

/// A borrowed text: `len` bytes of UTF-8 at `data`, not NUL-terminated. Lists of texts
/// (groups, certificate names) are arrays of these.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct kubepki_str {
    /// The first byte (may be NULL when `len` is 0).
    pub data: *const u8,
    /// The number of bytes.
    pub len: usize,
}

/// Reads an array of texts; `what` names it in errors. As for bytes, a count of 0 is an
/// empty list whatever the pointer, and each item of length 0 is empty text.
///
/// # Safety
/// `items` is NULL (then `count` must be 0) or points to `count` `kubepki_str`, each pointing
/// to its `len` bytes.
pub(super) unsafe fn str_list(
    items: *const kubepki_str,
    count: usize,
    what: &str,
) -> Result<Vec<String>, Failure> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if items.is_null() {
        return Err(Failure::new(
            kubepki_result::NullParameter,
            format!("{what} is NULL with a count of {count}"),
        ));
    }
    // SAFETY: not NULL, and the caller promises `count` items.
    let items = unsafe { std::slice::from_raw_parts(items, count) };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            // SAFETY: the caller promises each item points to its `len` bytes.
            unsafe { str_arg(item.data, item.len, &format!("{what}[{i}]")) }.map(str::to_owned)
        })
        .collect()
}
