//! Certificate serial numbers: random, positive, never zero.

use x509_cert::serial_number::SerialNumber;

use crate::SignError;

/// A random positive serial of 128 bits with the top bit clear (127 bits of entropy, well
/// above CA/B Forum's 64), never zero.
///
/// # Errors
/// [`SignError::Encode`] if the operating system's RNG fails.
pub fn random_serial() -> Result<SerialNumber, SignError> {
    let mut bytes = [0u8; 16];
    loop {
        getrandom::fill(&mut bytes)
            .map_err(|e| SignError::Encode(format!("random serial: {e}")))?;
        bytes[0] &= 0x7f;
        // A leading zero byte would make the DER INTEGER shorter; demand a full-width value.
        if bytes[0] != 0 {
            break;
        }
    }
    SerialNumber::new(&bytes).map_err(|e| SignError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_positive_sixteen_bytes_and_distinct() {
        let a = random_serial().unwrap();
        let b = random_serial().unwrap();
        assert_ne!(a, b);
        for s in [a, b] {
            assert_eq!(s.as_bytes().len(), 16);
            assert!(s.as_bytes()[0] & 0x80 == 0 && s.as_bytes()[0] != 0);
        }
    }
}
