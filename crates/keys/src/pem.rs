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
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let block = &rest[start..];
        let label_end = block[BEGIN.len()..]
            .find("-----")
            .ok_or_else(|| KeyError::Pem("unterminated BEGIN line".to_owned()))?;
        let label = &block[BEGIN.len()..BEGIN.len() + label_end];
        let end_marker = format!("{END}{label}-----");
        let end = block
            .find(&end_marker)
            .ok_or_else(|| KeyError::Pem(format!("no END line for the {label} block")))?;
        let whole = &block[..end + end_marker.len()];
        let (decoded_label, der) = der::pem::decode_vec(whole.as_bytes())
            .map_err(|e| KeyError::Pem(format!("{label} block: {e}")))?;
        blocks.push(PemBlock {
            label: decoded_label.to_owned(),
            der,
        });
        rest = &block[end + end_marker.len()..];
    }
    if blocks.is_empty() {
        return Err(KeyError::Pem("no PEM block found".to_owned()));
    }
    Ok(blocks)
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
