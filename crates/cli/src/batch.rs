//! `kubepki sign-batch`: issue many CSRs at once, on all cores.

use std::io::Read;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::Args;
use kubepki::IssueOptions;
use kubepki::keys::pem::{looks_like_pem, pem_blocks};
use kubepki::sign::issue_batch;
use kubepki_fs::{FileKind, Overwrite, write_atomic};

use crate::error::{CliError, CliResult};
use crate::files::read_file;
use crate::issuer::IssuerArgs;

#[derive(Debug, Args)]
pub(crate) struct SignBatchArgs {
    #[command(flatten)]
    pub(crate) issuer: IssuerArgs,
    /// The profile every request is issued under (see `kubepki profiles`).
    #[arg(long, short = 'p')]
    pub(crate) profile: String,
    /// A folder of CSRs (files ending .csr, .pem, .der or .req, PEM or DER); each NAME.csr
    /// becomes NAME.crt.
    #[arg(long, required_unless_present = "stream", conflicts_with = "stream")]
    pub(crate) in_dir: Option<PathBuf>,
    /// A file of concatenated PEM CSRs (`-` for standard input); the Nth becomes
    /// csr-000N.crt.
    #[arg(long)]
    pub(crate) stream: Option<PathBuf>,
    /// Where to write the certificates.
    #[arg(long)]
    pub(crate) out_dir: PathBuf,
    /// Threads to issue on (default: every core).
    #[arg(long)]
    pub(crate) threads: Option<NonZeroUsize>,
    /// Append the CA chain (for an intermediate CA) after each certificate.
    #[arg(long)]
    pub(crate) chain: bool,
    /// Replace certificates that already exist in --out-dir.
    #[arg(long)]
    pub(crate) force: bool,
}

/// One request to issue: the name its certificate is written under, and its bytes.
struct Item {
    name: String,
    bytes: Vec<u8>,
}

fn from_dir(dir: &Path) -> CliResult<Vec<Item>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| CliError(format!("cannot read folder {}: {e}", dir.display())))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| CliError(format!("cannot read folder {}: {e}", dir.display())))?
            .path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["csr", "pem", "der", "req"].contains(&e));
        if wanted && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(Item {
                name,
                bytes: read_file(&path)?,
            })
        })
        .collect()
}

fn from_stream(path: &Path) -> CliResult<Vec<Item>> {
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| CliError(format!("cannot read standard input: {e}")))?;
        buf
    } else {
        read_file(path)?
    };
    if !looks_like_pem(&bytes) {
        return Err(CliError(format!(
            "{}: a stream holds PEM CSRs one after another",
            path.display()
        )));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| CliError(format!("{}: PEM text is not valid UTF-8", path.display())))?;
    let blocks = pem_blocks(text).map_err(|e| CliError(format!("{}: {e}", path.display())))?;
    Ok(blocks
        .into_iter()
        .enumerate()
        .map(|(i, block)| Item {
            name: format!("csr-{:04}", i + 1),
            // A block of another label fails alone, with the CSR parser's message.
            bytes: kubepki::keys::pem::pem_encode(&block.label, &block.der).into_bytes(),
        })
        .collect())
}

pub(crate) fn sign_batch(args: &SignBatchArgs, now: SystemTime) -> CliResult<()> {
    let (ca, profile, validity) = args.issuer.load(&args.profile)?;
    let items = match (&args.in_dir, &args.stream) {
        (Some(dir), _) => from_dir(dir)?,
        (None, Some(stream)) => from_stream(stream)?,
        (None, None) => return Err(CliError("give --in-dir or --stream".to_owned())),
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN));
    kubepki_fs::create_dir_all(&args.out_dir, FileKind::Public)?;
    let requests: Vec<&[u8]> = items.iter().map(|i| i.bytes.as_slice()).collect();
    let results = issue_batch(
        &ca,
        &requests,
        &profile,
        &IssueOptions { now, validity },
        threads,
    );
    let overwrite = if args.force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    };
    let mut failed = 0usize;
    for (item, result) in items.iter().zip(results) {
        let written = result.map_err(CliError::from).and_then(|issued| {
            for warning in issued.warnings() {
                eprintln!("warning: {}: {warning}", item.name);
            }
            let pem = if args.chain {
                issued.chain_pem()
            } else {
                issued.pem()
            };
            let out = args.out_dir.join(format!("{}.crt", item.name));
            write_atomic(&out, pem.as_bytes(), FileKind::Public, overwrite)?;
            Ok(out)
        });
        match written {
            Ok(out) => eprintln!("wrote {}", out.display()),
            Err(e) => {
                failed += 1;
                eprintln!("error: {}: {e}", item.name);
            }
        }
    }
    eprintln!(
        "issued {} of {} under profile {} on {threads} threads",
        items.len() - failed,
        items.len(),
        profile.name
    );
    if failed > 0 {
        return Err(CliError(format!(
            "{failed} of {} requests failed",
            items.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kubepki::{CsrBuilder, KeyAlgorithm, KeyFormat, KeyPair, San, Subject};

    use super::*;

    fn args(dir: &Path, in_dir: Option<PathBuf>, stream: Option<PathBuf>) -> SignBatchArgs {
        SignBatchArgs {
            issuer: IssuerArgs {
                ca_cert: dir.join("ca.crt"),
                ca_key: dir.join("ca.key"),
                ca_passphrase_file: None,
                profiles_file: None,
                validity: None,
                node_name: None,
            },
            profile: "server".to_owned(),
            in_dir,
            stream,
            out_dir: dir.join("out"),
            threads: NonZeroUsize::new(2),
            chain: false,
            force: false,
        }
    }

    #[test]
    fn a_folder_and_a_stream_are_issued_and_a_bad_request_fails_alone() {
        let now = kubepki_test_support::pinned();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let (ca, key_pem) = kubepki::new_root_ca(
            KeyAlgorithm::EcdsaP256,
            &Subject::from_parts::<&str>("kubernetes", &[]),
            &kubepki::profile::ca_profile("ca", "kubernetes"),
            &IssueOptions::at(now),
            KeyFormat::Pkcs8,
        )
        .unwrap();
        std::fs::write(dir.join("ca.crt"), ca.certificate_pem()).unwrap();
        std::fs::write(dir.join("ca.key"), key_pem.as_bytes()).unwrap();
        let input = dir.join("in");
        std::fs::create_dir(&input).unwrap();
        let mut stream = String::new();
        for name in ["a", "b"] {
            let key = KeyPair::generate(KeyAlgorithm::EcdsaP256).unwrap();
            let pem = CsrBuilder::new(Subject::from_parts::<&str>(name, &[]))
                .san(San::dns(&format!("{name}.example")).unwrap())
                .build(&key)
                .unwrap()
                .to_pem();
            std::fs::write(input.join(format!("{name}.csr")), &pem).unwrap();
            stream.push_str(&pem);
        }
        std::fs::write(input.join("c.csr"), "not a request").unwrap();
        std::fs::write(input.join("notes.txt"), "ignored").unwrap();

        let err = sign_batch(&args(dir, Some(input), None), now).unwrap_err();
        assert!(err.0.contains("1 of 3 requests failed"), "{err}");
        assert!(dir.join("out/a.crt").exists() && dir.join("out/b.crt").exists());
        assert!(!dir.join("out/c.crt").exists());

        std::fs::write(dir.join("stream.pem"), &stream).unwrap();
        std::fs::remove_dir_all(dir.join("out")).unwrap();
        sign_batch(&args(dir, None, Some(dir.join("stream.pem"))), now).unwrap();
        let second = std::fs::read(dir.join("out/csr-0002.crt")).unwrap();
        let info = kubepki::CertificateInfo::from_der(
            &kubepki::sign::certificates_from_bytes(&second).unwrap()[0],
        )
        .unwrap();
        assert_eq!(info.subject.common_name(), Some("b"));
    }
}
