//! The keys of a rotation: the one that signs today (a file, or on a PKCS#11 token), which
//! CA in a trust file is its CA, and the algorithm of a new key.

use kubepki_keys::{KeyAlgorithm, PublicKeyKind, Signer};

use super::state::{Anchor, Paths, parse_anchors, read_key, rotation_file};
use super::{RotatedCa, TokenKey};
use crate::ClusterError;
use crate::files::read;

/// The key that signs today (`<base>.key`, or the token key `ca.key.uri` names, given in
/// `token`) and its CA in `trust`.
pub(super) fn current<'a>(
    paths: &Paths,
    trust: &'a [Anchor],
    token: Option<TokenKey>,
) -> Result<(Box<dyn Signer>, &'a Anchor), ClusterError> {
    let (key, name): (Box<dyn Signer>, &std::path::Path) = if paths.key.exists() {
        (Box::new(read_key(&paths.key)?), &paths.key)
    } else if paths.key_uri.exists() {
        let token = token.ok_or_else(|| {
            rotation_file(
                &paths.key_uri,
                "names the key that signs today, on a PKCS#11 token: open it to rotate (the CLI does, with the PIN in KUBEPKI_PKCS11_PIN)",
            )
        })?;
        (token.signer, &paths.key_uri)
    } else {
        return Err(rotation_file(
            &paths.key,
            "is missing: rotation needs the key that signs today",
        ));
    };
    let spki = key.public_key().to_der();
    let anchor = trust.iter().find(|a| a.spki == spki).ok_or_else(|| {
        rotation_file(
            &paths.trust,
            format!("holds no certificate or public key of {}", name.display()),
        )
    })?;
    Ok((key, anchor))
}

/// The CA in `trust` whose key signs today, without opening a key on a token: the one
/// certificate of `rotation/ca/signing.crt` then names it (or `trust` holds only it).
pub(super) fn signing_anchor<'a>(
    paths: &Paths,
    trust: &'a [Anchor],
) -> Result<&'a Anchor, ClusterError> {
    if paths.key.exists() || !paths.key_uri.exists() {
        let key = read_key(&paths.key)?;
        let spki = key.public_key().to_der();
        return trust.iter().find(|a| a.spki == spki).ok_or_else(|| {
            rotation_file(
                &paths.trust,
                format!(
                    "holds no certificate or public key of {}",
                    paths.key.display()
                ),
            )
        });
    }
    if let [only] = trust {
        return Ok(only);
    }
    let signing = paths.dir.join("signing.crt");
    let named = parse_anchors(RotatedCa::Cluster, &signing, &read(&signing)?)?;
    let spki = named
        .first()
        .map(|a| a.spki.clone())
        .ok_or_else(|| rotation_file(&signing, "is empty"))?;
    trust.iter().find(|a| a.spki == spki).ok_or_else(|| {
        rotation_file(
            &paths.trust,
            format!("holds no certificate of {}", signing.display()),
        )
    })
}

/// The key algorithm of a public key (the new key's, when none is asked for).
pub(super) fn algorithm_of(key: &kubepki_keys::PublicKey) -> KeyAlgorithm {
    match key.kind() {
        PublicKeyKind::Rsa { bits } if bits >= 4096 => KeyAlgorithm::Rsa4096,
        PublicKeyKind::Rsa { bits } if bits >= 3072 => KeyAlgorithm::Rsa3072,
        PublicKeyKind::Rsa { .. } => KeyAlgorithm::Rsa2048,
        PublicKeyKind::EcdsaP384 => KeyAlgorithm::EcdsaP384,
        _ => KeyAlgorithm::EcdsaP256,
    }
}
