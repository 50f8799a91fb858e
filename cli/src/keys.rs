//! `act keygen` and loading keys given on the command line.

use crate::exit::{read, CmdResult, Failure, IO};
use act_core::{SigningKey, VerifyingKey};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `act keygen`.
#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Where to write the private key (PKCS#8 PEM, mode 0600).
    #[arg(long, short, default_value = "act-key.pem")]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// Writes a new key and prints its public key on stdout.
pub fn keygen(a: KeygenArgs) -> CmdResult {
    let key = SigningKey::generate()?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if a.force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&a.out).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (pass --force to overwrite)"
        } else {
            ""
        };
        Failure::new(IO, format!("{}: {e}{hint}", a.out.display()))
    })?;
    f.write_all(key.to_pkcs8_pem().as_bytes())
        .map_err(|e| Failure::new(IO, format!("{}: {e}", a.out.display())))?;
    println!("{}", key.verifying_key());
    eprintln!("wrote {} (kid {})", a.out.display(), key.kid());
    Ok(())
}

/// Loads a signing key from a PEM or JWK file.
pub fn load_signing(path: &Path) -> Result<SigningKey, Failure> {
    let text = read(path)?;
    let key = if text.trim_start().starts_with('{') {
        SigningKey::from_jwk(&text)
    } else {
        SigningKey::from_pkcs8_pem(&text)
    };
    key.map_err(|e| Failure::new(crate::exit::KEY, format!("{}: {e}", path.display())))
}

/// Parses a public key given as `ed25519:<base64url>`, a JWK, or a file holding either.
pub fn parse_public(text: &str) -> Result<VerifyingKey, Failure> {
    let t = text.trim();
    let parsed = if t.contains("BEGIN PRIVATE KEY") {
        SigningKey::from_pkcs8_pem(t).map(|k| k.verifying_key().clone())
    } else if t.starts_with("ed25519:") {
        VerifyingKey::parse(t)
    } else if t.starts_with('{') {
        VerifyingKey::from_jwk(t)
    } else if Path::new(t).is_file() {
        return parse_public(&read(Path::new(t))?);
    } else {
        VerifyingKey::parse(t)
    };
    parsed.map_err(|e| Failure::new(crate::exit::KEY, e.to_string()))
}
