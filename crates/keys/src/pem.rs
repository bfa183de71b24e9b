//! PEM blocks: several to a file, as certificate chains and OpenSSL's EC keys come.

use crate::KeyError;

/// One decoded PEM block.
#[derive(Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The label, e.g. `CERTIFICATE`.
    pub label: String,
    /// The decoded bytes.
    pub der: Vec<u8>,
}

impl core::fmt::Debug for PemBlock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The bytes may be a private key: show only the label and the size.
        f.debug_struct("PemBlock")
            .field("label", &self.label)
            .field("len", &self.der.len())
            .finish()
    }
}

impl Drop for PemBlock {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.der);
    }
}

const BEGIN: &str = "-----BEGIN ";
const END: &str = "-----END ";

/// Splits `text` into its PEM blocks, in order, ignoring text between blocks (as OpenSSL does
/// with the `Certificate:` dumps that often precede a block).
///
/// # Errors
/// [`KeyError::Pem`] when there is no block, a block is not closed, or its base64 is bad.
pub fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, KeyError> {
    let blocks = pem_block_results(text).collect::<Result<Vec<_>, _>>()?;
    if blocks.is_empty() {
        return Err(KeyError::Pem("no PEM block found".to_owned()));
    }
    Ok(blocks)
}

/// The PEM blocks of `text` one by one, each decoded or with its own error, for callers that
/// keep the good blocks of a bundle (a certificate chain with one bad block). Text between
/// blocks is ignored; no block at all is an empty iterator. After a block that is not closed
/// (an unterminated BEGIN line, no END line) nothing more is read.
pub fn pem_block_results(text: &str) -> PemBlockResults<'_> {
    PemBlockResults { rest: Some(text) }
}

/// The iterator of [`pem_block_results`].
#[derive(Debug)]
pub struct PemBlockResults<'a> {
    /// The text still to split; `None` after a block that is not closed.
    rest: Option<&'a str>,
}

impl Iterator for PemBlockResults<'_> {
    type Item = Result<PemBlock, KeyError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest.take()?;
        let block = &rest[rest.find(BEGIN)?..];
        let Some(label_end) = block[BEGIN.len()..].find("-----") else {
            return Some(Err(KeyError::Pem("unterminated BEGIN line".to_owned())));
        };
        let label = &block[BEGIN.len()..BEGIN.len() + label_end];
        let end_marker = format!("{END}{label}-----");
        // The END line is looked for after the BEGIN line, which it may otherwise overlap
        // (`-----BEGIN X---------END X-----`, found by the cert_inspect fuzz target).
        let body_start = BEGIN.len() + label_end + "-----".len();
        let Some(end) = block[body_start..]
            .find(&end_marker)
            .map(|e| e + body_start)
        else {
            return Some(Err(KeyError::Pem(format!(
                "no END line for the {label} block"
            ))));
        };
        self.rest = Some(&block[end + end_marker.len()..]);
        let body = &block[body_start..end];
        Some(decode_body(label, body).map(|der| PemBlock {
            label: label.to_owned(),
            der,
        }))
    }
}

/// Decodes a block's body as RFC 7468's lax parser does: whitespace anywhere (so any line
/// length: 64 columns, the 76 of MIME tools, one long line) and CRLF or LF line ends. RFC 1421
/// headers are refused; the legacy OpenSSL encryption header gets its own error.
fn decode_body(label: &str, body: &str) -> Result<Vec<u8>, KeyError> {
    use base64ct::{Base64, Encoding};
    if body.lines().any(|l| l.contains(':')) {
        if body.lines().any(|l| {
            let l = l.trim();
            l.starts_with("Proc-Type:") && l.contains("ENCRYPTED")
        }) {
            return Err(KeyError::LegacyEncryptedPem {
                label: label.to_owned(),
            });
        }
        return Err(KeyError::Pem(format!(
            "{label} block: PEM headers are not allowed (RFC 7468)"
        )));
    }
    let mut clean: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let der = Base64::decode_vec(core::str::from_utf8(&clean).unwrap_or_default())
        .map_err(|e| KeyError::Pem(format!("{label} block: invalid Base64 ({e})")));
    // The body may be a private key.
    zeroize::Zeroize::zeroize(&mut clean);
    der
}

/// Whether `bytes` look like PEM text rather than DER.
pub fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(BEGIN.len()).any(|w| w == BEGIN.as_bytes())
}

/// Encodes `der` as a PEM block with LF line endings and 64-column base64.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    // Encoding fails only for a label with characters PEM forbids; ours are constants.
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_end_line_overlapping_the_begin_line_is_an_error_not_a_panic() {
        for text in [
            "-----BEGIN CERTIFICATE---------END CERTIFICATE-----\n",
            "-----BEGIN X---------END X-----",
            "-----BEGIN -----",
        ] {
            assert!(
                matches!(pem_blocks(text), Err(KeyError::Pem(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn several_blocks_with_text_between() {
        let a = pem_encode("EC PARAMETERS", &[6, 3, 1, 2, 3]);
        let b = pem_encode("CERTIFICATE", &[1, 2, 3, 4]);
        let text = format!("junk\n{a}comment line\n{b}");
        let blocks = pem_blocks(&text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "EC PARAMETERS");
        assert_eq!(blocks[1].der, vec![1, 2, 3, 4]);
    }

    #[test]
    fn any_line_length_is_read() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = pem_encode("CERTIFICATE", &der);
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        for width in [76, 40, 1000] {
            let lines: Vec<String> = body
                .as_bytes()
                .chunks(width)
                .map(|c| String::from_utf8(c.to_vec()).unwrap())
                .collect();
            let text = format!(
                "-----BEGIN CERTIFICATE-----\r\n{}\r\n-----END CERTIFICATE-----\r\n",
                lines.join("\r\n")
            );
            let blocks = pem_blocks(&text).unwrap();
            assert_eq!(blocks[0].der, der, "width {width}");
        }
        let bad = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(matches!(pem_blocks(bad), Err(KeyError::Pem(m)) if m.contains("invalid Base64")));
    }

    #[test]
    fn legacy_encrypted_keys_get_the_conversion_command() {
        let text = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let err = pem_blocks(text).unwrap_err();
        assert!(
            matches!(&err, KeyError::LegacyEncryptedPem { label } if label == "RSA PRIVATE KEY"),
            "{err}"
        );
        let message = err.to_string();
        assert!(message.contains("legacy encrypted format"), "{message}");
        assert!(message.contains("openssl pkcs8 -topk8"), "{message}");
    }

    #[test]
    fn one_bad_block_does_not_hide_the_next() {
        let good = pem_encode("CERTIFICATE", &[1, 2, 3, 4]);
        let bad = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        let text = format!("{bad}{good}");
        let results: Vec<_> = pem_block_results(&text).collect();
        assert_eq!(results.len(), 2);
        assert!(
            matches!(&results[0], Err(KeyError::Pem(m)) if m.contains("CERTIFICATE block: invalid Base64")),
            "{results:?}"
        );
        assert!(matches!(&results[1], Ok(b) if b.der == [1, 2, 3, 4]));
        assert!(matches!(pem_blocks(&text), Err(KeyError::Pem(m)) if m.contains("invalid Base64")));
        // An unclosed block ends the iteration.
        let cut = format!("{good}{}", &good[..good.len() - 10]);
        let results: Vec<_> = pem_block_results(&cut).collect();
        assert_eq!(results.len(), 2);
        assert!(matches!(&results[1], Err(KeyError::Pem(m)) if m.contains("no END line")));
        assert_eq!(pem_block_results("no PEM here").count(), 0);
    }

    #[test]
    fn no_block_is_an_error() {
        assert!(matches!(pem_blocks("hello"), Err(KeyError::Pem(m)) if m.contains("no PEM block")));
    }

    #[test]
    fn truncated_block_is_an_error() {
        let a = pem_encode("CERTIFICATE", &[1, 2, 3, 4]);
        let cut = &a[..a.len() - 10];
        assert!(matches!(pem_blocks(cut), Err(KeyError::Pem(m)) if m.contains("no END line")));
    }
}
