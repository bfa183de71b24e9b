//! The OCI image of `scripts/image.sh`, proven against the real control plane: the image's
//! own `kubepki`, in the image's own root and as its user 65532, runs `kubepki controller
//! --kubeconfig` with the ServiceAccount of `deploy/rbac.yaml` and leader election, and signs
//! a request a user created and the admin approved. The certificate chains to the cluster CA
//! (openssl) and kube-apiserver takes its holder for the name it asked for.
//!
//! `podman run --network=host` is refused on this machine (crun: `setrlimit RLIMIT_NOFILE:
//! Operation not permitted`, and with `--cgroups=disabled` RLIMIT_NPROC; without rlimits,
//! "cgroups in hybrid mode not supported"), so the image runs as a runtime would unpack it:
//! `buildah from` + `buildah mount` (a writable copy of its root), then `chroot
//! --userspec=65532:65532`, which shares the host's network as `--network=host` does.
//!
//! `scripts/test.sh` builds the image first; without buildah, root or the image the test prints
//! a loud SKIP (and fails under CI).
//!
//! `cargo test -p kubepki-cli --test control_plane --locked -- --test-threads=1 the_image`

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kubepki_test_support::{have, skip_unless};

use crate::TEST_BUDGET;
use crate::attacks::{Plane, certificate, openssl_csr};
use crate::common::succeeded;
use crate::harness::exclusive;

/// The tag `scripts/image.sh` gives the image of this workspace's version.
const IMAGE: &str = concat!("ghcr.io/kubepki/kubepki:", env!("CARGO_PKG_VERSION"));

/// The image's user (and group).
const NONROOT: u32 = 65532;

fn buildah(args: &[&str]) -> Output {
    Command::new("buildah")
        .args(args)
        .output()
        .expect("run buildah")
}

/// A working container of [`IMAGE`] with its root mounted; removed (and unmounted) on drop.
struct Container {
    name: String,
    root: PathBuf,
}

impl Container {
    /// The container, or `None` after a loud SKIP when buildah, root or the image is missing.
    fn of_image() -> Option<Self> {
        if !have("buildah") || !have("chroot") {
            return None;
        }
        let uid = Command::new("id").arg("-u").output().expect("run id -u");
        let root_user = String::from_utf8_lossy(&uid.stdout).trim() == "0";
        if !skip_unless(root_user, "the image test runs chroot and needs root") {
            return None;
        }
        let built = buildah(&["inspect", "--type", "image", IMAGE])
            .status
            .success();
        let message = format!("image {IMAGE} not built: run `bash scripts/image.sh`");
        if !skip_unless(built, &message) {
            return None;
        }
        let name = format!("kubepki-image-test-{}", std::process::id());
        let _ = buildah(&["rm", &name]);
        succeeded(
            "buildah from",
            buildah(&["from", "--pull-never", "--name", &name, IMAGE]),
        );
        let mut container = Container {
            name,
            root: PathBuf::new(),
        };
        container.root = succeeded("buildah mount", buildah(&["mount", &container.name]))
            .trim()
            .into();
        Some(container)
    }

    /// A file of the image's root.
    fn file(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// Copies the host's `file` to the same absolute path in the image's root, owned by the
    /// image's user with `mode` (so that host paths in a kubeconfig hold there too).
    fn copy_in(&self, file: &Path, mode: u32) {
        let target = self.file(&file.display().to_string());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(file, &target).unwrap();
        std::os::unix::fs::chown(&target, Some(NONROOT), Some(NONROOT)).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    /// `program` of the image, run in its root as its user.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new("chroot");
        command
            .arg(format!("--userspec={NONROOT}:{NONROOT}"))
            .arg(&self.root)
            .arg(program)
            .env("HOME", "/home/nonroot");
        command
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = buildah(&["rm", &self.name]);
    }
}

/// What `scripts/image.sh` promises of the image: its user, entrypoint, labels, creation
/// time, and the files of its root.
fn image_as_built(container: &Container) {
    let json = succeeded(
        "buildah inspect",
        buildah(&["inspect", "--type", "image", IMAGE]),
    );
    let inspected: serde_json::Value = serde_json::from_str(&json).unwrap();
    let oci = &inspected["OCIv1"];
    let config = &oci["config"];
    assert_eq!(config["User"], format!("{NONROOT}:{NONROOT}"), "{json}");
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/bin/kubepki"])
    );
    let label = |name: &str| {
        config["Labels"][format!("org.opencontainers.image.{name}")]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(label("version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(label("source"), "https://github.com/kubepki/kubepki");
    let revision = label("revision");
    let commit = revision.trim_end_matches("-dirty");
    assert!(
        commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()),
        "revision label {revision:?} is not a commit"
    );
    // The creation time is SOURCE_DATE_EPOCH's, in the label and the image config alike.
    let created = label("created");
    assert!(
        oci["created"]
            .as_str()
            .unwrap()
            .starts_with(created.trim_end_matches('Z'))
    );
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");

    let passwd = std::fs::read_to_string(container.file("/etc/passwd")).unwrap();
    assert!(
        passwd.contains(&format!("nonroot:x:{NONROOT}:{NONROOT}:")),
        "{passwd}"
    );
    let bundle = std::fs::read_to_string(container.file("/etc/ssl/certs/ca-certificates.crt"))
        .expect("the CA bundle rustls-native-certs reads");
    assert!(bundle.matches("BEGIN CERTIFICATE").count() > 100);
    let help = succeeded(
        "kubepki --help in the image",
        container
            .command("/usr/bin/kubepki")
            .arg("--help")
            .output()
            .unwrap(),
    );
    assert!(help.contains("controller"), "{help}");
}

#[test]
fn the_image_signs_for_the_cluster() {
    let _machine = exclusive();
    let Some(container) = Container::of_image() else {
        return;
    };
    image_as_built(&container);
    let Some(plane) = Plane::boot(TEST_BUDGET) else {
        return;
    };
    let ca = plane.cp.tree.pki.join("ca.crt");
    container.copy_in(&plane.conf, 0o600);
    container.copy_in(&ca, 0o644);
    container.copy_in(&plane.cp.tree.pki.join("ca.key"), 0o600);

    let mut controller = plane.controller_run_by(
        "image-controller",
        container.command("/usr/bin/kubepki"),
        &["--leader-elect", "--leader-elect-identity", "image"],
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", controller.id())).unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid.split_whitespace().nth(1),
        Some(NONROOT.to_string().as_str()),
        "{uid}"
    );

    let name = "image-user";
    let (csr, key) = openssl_csr(plane.dir(), name, "/CN=image-user/O=image-team", &[]);
    let admin = plane.cp.tree.conf("super-admin.conf");
    succeeded(
        "kubectl create csr",
        plane.create_csr(
            &admin,
            name,
            &csr,
            "kubernetes.io/kube-apiserver-client",
            &["digital signature", "client auth"],
        ),
    );
    plane.approve(name);
    let lines = controller.decided(&plane.cp, name, &["issued", "failed"]);
    let pem = certificate(&plane.csr(name))
        .unwrap_or_else(|| panic!("no status.certificate; the controller said {lines:?}"));

    let file = plane.dir().join("image-user.crt");
    std::fs::write(&file, &pem).unwrap();
    let verified = succeeded(
        "openssl verify",
        Command::new("openssl")
            .args(["verify", "-purpose", "sslclient", "-CAfile"])
            .arg(&ca)
            .arg(&file)
            .output()
            .expect("run openssl verify"),
    );
    assert!(verified.trim_end().ends_with(": OK"), "{verified}");
    assert_eq!(
        plane.whoami_with(name, &pem, &key),
        (
            "image-user".to_owned(),
            crate::strings(&["image-team", "system:authenticated"])
        )
    );
}
