//! A signing key in a PEM file, read and written the same way from every SDK: written once
//! (never over an existing file, which may be another service's key) and readable by its owner
//! only (`0600` on Unix), since it is a secret.

use crate::error::{Error, Result};
use crate::keys::SigningKey;
use std::io::Write;
use std::path::Path;

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads a PKCS#8 PEM `PRIVATE KEY` file (as `save_signing_key` or OpenSSL writes it).
pub fn load_signing_key(path: &Path) -> Result<SigningKey> {
    SigningKey::from_pkcs8_pem(&std::fs::read_to_string(path).map_err(io(path))?)
}

/// Writes `key` as PKCS#8 PEM to a new file `path`, owner-readable only; an existing file is
/// an error, not overwritten.
pub fn save_signing_key(key: &SigningKey, path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(key.to_pkcs8_pem().as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_key_loads_back_and_is_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("act-key-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("issuer.pem");
        let _ = std::fs::remove_file(&path);
        let key = SigningKey::generate().unwrap();
        save_signing_key(&key, &path).unwrap();
        assert_eq!(load_signing_key(&path).unwrap().kid(), key.kid());
        assert!(matches!(save_signing_key(&key, &path), Err(Error::Io { .. })));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
