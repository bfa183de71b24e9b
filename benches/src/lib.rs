#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::{Decode, Encode};
use kubepki_csr::{Csr, CsrBuilder, CsrError, San, Subject};
use kubepki_keys::{KeyAlgorithm, KeyError, KeyPair};
use kubepki_profile::{ClusterParams, Profile, ProfileError, builtin, ca_profile};
use kubepki_sign::{Ca, IssueOptions, SignError};
use pkcs8::DecodePrivateKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use sha2::Sha256;
use signature::{RandomizedSigner, SignatureEncoding, Signer as _, Verifier};

/// What can go wrong setting up or running a benchmark.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A key could not be made or loaded.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A request could not be built or parsed.
    #[error(transparent)]
    Csr(#[from] CsrError),
    /// A profile is missing.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// Issuing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// DER did not encode or decode.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// A raw RustCrypto key did not load.
    #[error("raw {algorithm} key: {reason}")]
    RawKey {
        /// The algorithm.
        algorithm: &'static str,
        /// Why.
        reason: String,
    },
    /// A raw RustCrypto signature operation failed.
    #[error("raw primitive: {0}")]
    Primitive(#[from] signature::Error),
}

/// The CA and request algorithms the benchmarks cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256.
    P256,
    /// ECDSA P-384 with SHA-384.
    P384,
    /// RSA-2048 PKCS#1 v1.5 with SHA-256.
    Rsa2048,
}

impl Algorithm {
    /// Every benchmarked algorithm.
    pub const ALL: [Algorithm; 3] = [Algorithm::P256, Algorithm::P384, Algorithm::Rsa2048];

    /// A short name for group ids, e.g. `P-256`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::P256 => "P-256",
            Algorithm::P384 => "P-384",
            Algorithm::Rsa2048 => "RSA-2048",
        }
    }

    /// The kubepki key algorithm.
    pub fn key_algorithm(self) -> KeyAlgorithm {
        match self {
            Algorithm::P256 => KeyAlgorithm::EcdsaP256,
            Algorithm::P384 => KeyAlgorithm::EcdsaP384,
            Algorithm::Rsa2048 => KeyAlgorithm::Rsa2048,
        }
    }
}

/// The CA's key as a raw RustCrypto signing key.
enum RawSigner {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Rsa(Box<rsa::pkcs1v15::SigningKey<Sha256>>),
}

/// The fixed time every benchmark issues at (2027-01-15), so runs are comparable.
pub fn bench_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// A CA and a matching request of one algorithm, and the same operations done with the raw
/// RustCrypto primitives.
pub struct Fixture {
    /// The algorithm of both the CA and the request.
    pub algorithm: Algorithm,
    /// The CA.
    pub ca: Ca,
    /// The profile requests are issued under (`server`).
    pub profile: Profile,
    /// When to issue.
    pub options: IssueOptions,
    /// The request as PEM.
    pub csr_pem: String,
    csr_info_der: Vec<u8>,
    csr_signature: Vec<u8>,
    csr_public_key: Vec<u8>,
    tbs_der: Vec<u8>,
    ca_raw: RawSigner,
}

fn raw_key(algorithm: &'static str) -> impl Fn(String) -> BenchError {
    move |reason| BenchError::RawKey { algorithm, reason }
}

/// A request for a server certificate with a key of `algorithm`, as PEM.
///
/// # Errors
/// [`BenchError::Key`] or [`BenchError::Csr`] when the key or request cannot be made.
pub fn server_request(algorithm: KeyAlgorithm, common_name: &str) -> Result<Csr, BenchError> {
    let key = KeyPair::generate(algorithm)?;
    Ok(
        CsrBuilder::new(Subject::from_parts::<&str>(common_name, &[]))
            .san(San::dns(common_name)?)
            .san(San::parse("IP:10.0.0.7")?)
            .build(&key)?,
    )
}

impl Fixture {
    /// Makes a self-signed CA and a matching request, and one certificate to learn the size
    /// of the TBS the primitives sign.
    ///
    /// # Errors
    /// Any [`BenchError`] when setting up fails.
    pub fn new(algorithm: Algorithm) -> Result<Fixture, BenchError> {
        let ca_key = KeyPair::generate(algorithm.key_algorithm())?;
        let pkcs8 = ca_key.to_pkcs8_der()?;
        let ca_raw = match algorithm {
            Algorithm::P256 => RawSigner::P256(
                p256::ecdsa::SigningKey::from_pkcs8_der(&pkcs8)
                    .map_err(|e| raw_key("P-256")(e.to_string()))?,
            ),
            Algorithm::P384 => RawSigner::P384(
                p384::ecdsa::SigningKey::from_pkcs8_der(&pkcs8)
                    .map_err(|e| raw_key("P-384")(e.to_string()))?,
            ),
            Algorithm::Rsa2048 => RawSigner::Rsa(Box::new(rsa::pkcs1v15::SigningKey::new(
                rsa::PrivateKey::from_pkcs8_der(&pkcs8)
                    .map_err(|e| raw_key("RSA")(e.to_string()))?,
            ))),
        };
        let options = IssueOptions::at(bench_now());
        let ca = Ca::self_signed(
            Box::new(ca_key),
            &Subject::from_parts::<&str>("kubernetes", &[]),
            &ca_profile("ca", "kubernetes"),
            &options,
        )?;
        let profile = builtin("server", &ClusterParams::default())?;
        let csr = server_request(algorithm.key_algorithm(), "bench.example")?;
        let request = x509_cert::request::CertReq::from_der(csr.to_der())?;
        let issued = ca.issue(&csr, &profile, &options)?;
        let cert = x509_cert::Certificate::from_der(issued.der())?;
        Ok(Fixture {
            algorithm,
            csr_info_der: request.info.to_der()?,
            csr_signature: request.signature.raw_bytes().to_vec(),
            csr_public_key: request
                .info
                .public_key
                .subject_public_key
                .raw_bytes()
                .to_vec(),
            tbs_der: cert.tbs_certificate().to_der()?,
            csr_pem: csr.to_pem(),
            ca,
            profile,
            options,
            ca_raw,
        })
    }

    /// Our path: PEM request in (parse + proof of possession), PEM certificate out.
    ///
    /// # Errors
    /// [`BenchError::Csr`] or [`BenchError::Sign`].
    pub fn issue_from_pem(&self) -> Result<String, BenchError> {
        let csr = Csr::from_pem(&self.csr_pem)?;
        Ok(self.ca.issue(&csr, &self.profile, &self.options)?.pem())
    }

    /// Our path for reading a request: PEM parse + proof of possession.
    ///
    /// # Errors
    /// [`BenchError::Csr`].
    pub fn parse_request(&self) -> Result<Csr, BenchError> {
        Ok(Csr::from_pem(&self.csr_pem)?)
    }

    /// The floor of reading a request: decode the public key point (or RSA modulus) and
    /// verify the request's signature over its CertificationRequestInfo, with RustCrypto
    /// directly.
    ///
    /// # Errors
    /// [`BenchError::Primitive`] if the signature does not verify.
    pub fn verify_request(&self) -> Result<(), BenchError> {
        raw_verify(
            self.algorithm,
            &self.csr_public_key,
            &self.csr_info_der,
            &self.csr_signature,
        )
    }

    /// The floor of signing: sign a TBSCertificate of the size we issue with the CA key, with
    /// RustCrypto directly (RSA blinded with fresh randomness, as kubepki signs).
    ///
    /// # Errors
    /// [`BenchError::Primitive`] if signing fails.
    pub fn sign_tbs(&self) -> Result<Vec<u8>, BenchError> {
        let tbs = &self.tbs_der;
        Ok(match &self.ca_raw {
            RawSigner::P256(key) => {
                let sig: p256::ecdsa::Signature = key.try_sign(tbs)?;
                sig.to_der().to_vec()
            }
            RawSigner::P384(key) => {
                let sig: p384::ecdsa::Signature = key.try_sign(tbs)?;
                sig.to_der().to_vec()
            }
            RawSigner::Rsa(key) => key.try_sign_with_rng(&mut getrandom::SysRng, tbs)?.to_vec(),
        })
    }

    /// The primitives issuing cannot avoid: verify the request, sign the certificate.
    ///
    /// # Errors
    /// As [`Fixture::verify_request`] and [`Fixture::sign_tbs`].
    pub fn primitives(&self) -> Result<Vec<u8>, BenchError> {
        self.verify_request()?;
        self.sign_tbs()
    }

    /// The size of the TBSCertificate the primitives sign, in bytes.
    pub fn tbs_len(&self) -> usize {
        self.tbs_der.len()
    }
}

/// Verifies `signature` over `message` with RustCrypto directly: decode the public key (SEC1
/// point or PKCS#1 RSA key, the SPKI's bit string), then ECDSA with SHA-256/384 or RSA PKCS#1
/// v1.5 with SHA-256.
///
/// # Errors
/// [`BenchError::Primitive`] if the signature does not verify, [`BenchError::RawKey`] for a
/// key that does not decode.
pub fn raw_verify(
    algorithm: Algorithm,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), BenchError> {
    RawVerifyingKey::decode(algorithm, public_key)?.verify(message, signature)
}

/// A public key decoded with RustCrypto directly, to verify signatures with.
pub enum RawVerifyingKey {
    /// ECDSA P-256 (SHA-256).
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA P-384 (SHA-384).
    P384(p384::ecdsa::VerifyingKey),
    /// RSA PKCS#1 v1.5 with SHA-256.
    Rsa(Box<rsa::pkcs1v15::VerifyingKey<Sha256>>),
}

impl RawVerifyingKey {
    /// Decodes a SEC1 point or a PKCS#1 RSA key (the SPKI's bit string).
    ///
    /// # Errors
    /// [`BenchError::RawKey`] or [`BenchError::Primitive`] for a key that does not decode.
    pub fn decode(algorithm: Algorithm, public_key: &[u8]) -> Result<Self, BenchError> {
        Ok(match algorithm {
            Algorithm::P256 => Self::P256(p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key)?),
            Algorithm::P384 => Self::P384(p384::ecdsa::VerifyingKey::from_sec1_bytes(public_key)?),
            Algorithm::Rsa2048 => {
                let key = rsa::PublicKey::from_pkcs1_der(public_key)
                    .map_err(|e| raw_key("RSA public")(e.to_string()))?;
                Self::Rsa(Box::new(rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)))
            }
        })
    }

    /// Verifies a DER (ECDSA) or raw (RSA) signature over `message`.
    ///
    /// # Errors
    /// [`BenchError::Primitive`] if the signature does not verify.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), BenchError> {
        match self {
            Self::P256(key) => {
                key.verify(message, &p256::ecdsa::Signature::from_der(signature)?)?
            }
            Self::P384(key) => {
                key.verify(message, &p384::ecdsa::Signature::from_der(signature)?)?
            }
            Self::Rsa(key) => {
                key.verify(message, &rsa::pkcs1v15::Signature::try_from(signature)?)?
            }
        }
        Ok(())
    }
}

/// A raw RustCrypto key, as [`raw_generate`] makes it.
pub enum RawKey {
    /// An ECDSA P-256 key.
    P256(p256::ecdsa::SigningKey),
    /// An ECDSA P-384 key.
    P384(p384::ecdsa::SigningKey),
    /// An RSA key.
    Rsa(Box<rsa::PrivateKey>),
}

/// Generates a key of `algorithm` with RustCrypto's own generators and the system RNG: the
/// floor of [`KeyPair::generate`].
///
/// # Errors
/// [`BenchError::RawKey`] when the generator fails.
pub fn raw_generate(algorithm: KeyAlgorithm) -> Result<RawKey, BenchError> {
    use p256::elliptic_curve::Generate;
    let mut rng = getrandom::SysRng;
    let failed = |e: &dyn std::fmt::Display| BenchError::RawKey {
        algorithm: algorithm.name(),
        reason: e.to_string(),
    };
    Ok(match algorithm {
        KeyAlgorithm::EcdsaP256 => RawKey::P256(
            p256::ecdsa::SigningKey::try_generate_from_rng(&mut rng).map_err(|e| failed(&e))?,
        ),
        KeyAlgorithm::EcdsaP384 => RawKey::P384(
            p384::ecdsa::SigningKey::try_generate_from_rng(&mut rng).map_err(|e| failed(&e))?,
        ),
        _ => {
            let bits = algorithm
                .rsa_bits()
                .ok_or_else(|| failed(&"not an RSA size"))?;
            RawKey::Rsa(Box::new(
                rsa::PrivateKey::new(&mut rng, bits).map_err(|e| failed(&e))?,
            ))
        }
    })
}

/// One signature check of a chain: the issuer's public key bytes, the TBS DER, the signature.
type SignatureCheck = (Vec<u8>, Vec<u8>, Vec<u8>);

/// A root, an intermediate and a leaf of one algorithm, for chain verification.
pub struct Chain {
    /// The algorithm of every key in the chain.
    pub algorithm: Algorithm,
    /// The root's DER.
    pub root: Vec<u8>,
    /// The intermediate's DER.
    pub intermediate: Vec<u8>,
    /// The leaf's DER.
    pub leaf: Vec<u8>,
    checks: Vec<SignatureCheck>,
    /// The root's key decoded once, as a trust store keeps it.
    root_key: RawVerifyingKey,
}

fn signature_check(
    issuer: &x509_cert::Certificate,
    cert: &x509_cert::Certificate,
) -> Result<SignatureCheck, BenchError> {
    Ok((
        issuer
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes()
            .to_vec(),
        cert.tbs_certificate().to_der()?,
        cert.signature().raw_bytes().to_vec(),
    ))
}

impl Chain {
    /// Makes a root, an intermediate under it and a server leaf under that, all of `algorithm`.
    ///
    /// # Errors
    /// Any [`BenchError`] when setting up fails.
    pub fn new(algorithm: Algorithm) -> Result<Chain, BenchError> {
        let options = IssueOptions::at(bench_now());
        let root = Ca::self_signed(
            Box::new(KeyPair::generate(algorithm.key_algorithm())?),
            &Subject::from_parts::<&str>("kubernetes", &[]),
            &ca_profile("ca", "kubernetes"),
            &options,
        )?;
        let intermediate = root.issue_intermediate(
            Box::new(KeyPair::generate(algorithm.key_algorithm())?),
            &Subject::from_parts::<&str>("kubepki-intermediate", &[]),
            &ca_profile("intermediate", "kubepki-intermediate"),
            &options,
        )?;
        let csr = server_request(algorithm.key_algorithm(), "bench.example")?;
        let profile = builtin("server", &ClusterParams::default())?;
        let leaf = intermediate.issue(&csr, &profile, &options)?;
        let parse = |der: &[u8]| x509_cert::Certificate::from_der(der);
        let root_cert = parse(root.certificate_der())?;
        let int_cert = parse(intermediate.certificate_der())?;
        let leaf_cert = parse(leaf.der())?;
        let checks = vec![
            signature_check(&int_cert, &leaf_cert)?,
            signature_check(&root_cert, &int_cert)?,
        ];
        Ok(Chain {
            algorithm,
            root_key: RawVerifyingKey::decode(algorithm, &checks[1].0)?,
            checks,
            root: root.certificate_der().to_vec(),
            intermediate: intermediate.certificate_der().to_vec(),
            leaf: leaf.der().to_vec(),
        })
    }

    /// The floor of verifying the chain: the two signature checks (leaf by intermediate,
    /// intermediate by root) with RustCrypto directly.
    ///
    /// # Errors
    /// As [`raw_verify`].
    pub fn primitives(&self) -> Result<(), BenchError> {
        for (key, tbs, signature) in &self.checks {
            raw_verify(self.algorithm, key, tbs, signature)?;
        }
        Ok(())
    }

    /// The same two checks with the root's key decoded once beforehand, as a trust store
    /// that outlives one verification keeps it (and as `kubepki_verify::Cert` keeps it).
    ///
    /// # Errors
    /// As [`raw_verify`].
    pub fn primitives_root_key_kept(&self) -> Result<(), BenchError> {
        let (key, tbs, signature) = &self.checks[0];
        raw_verify(self.algorithm, key, tbs, signature)?;
        let (_, tbs, signature) = &self.checks[1];
        self.root_key.verify(tbs, signature)
    }
}
