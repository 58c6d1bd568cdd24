//! The operating system's random generator behind the domain's `SecretSource` port.

use credence_domain::ports::{SecretSource, StoreError};

/// `getrandom`: the kernel's CSPRNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsSecrets;

impl SecretSource for OsSecrets {
    fn random_bytes(&self) -> Result<[u8; 32], StoreError> {
        let mut bytes = [0_u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| StoreError::Unexpected(format!("no randomness: {e}").into()))?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_fresh_bytes_each_time() {
        let (a, b) = (
            OsSecrets.random_bytes().unwrap(),
            OsSecrets.random_bytes().unwrap(),
        );
        assert_ne!(a, b);
    }
}
