//! TLS to PostgreSQL and Redis: one rustls crypto provider for the process, and CA
//! files checked before any connection uses them.

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::AwsError;

/// Installs rustls's aws-lc-rs crypto provider as the process default, unless one
/// is installed already (then it does nothing).
///
/// rustls picks its provider from its crate features only while exactly one is
/// built in; with two (an application that also builds `ring`), the first
/// handshake that needs the default panics. KCL's hosts call this first thing,
/// and so do [`PgStore::connect`](crate::PgStore::connect) and
/// [`RedisCache::connect`](crate::RedisCache::connect): an application that
/// prefers another provider installs it before.
///
/// ```
/// kcl_aws::install_crypto_provider();
/// kcl_aws::install_crypto_provider(); // idempotent
/// assert!(rustls::crypto::CryptoProvider::get_default().is_some());
/// ```
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread's install is fine: one is installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

/// Reads a PEM file of CA certificates and checks it holds at least one, so a
/// wrong path or a wrong file fails at start, not at the first connection. The
/// error ([`AwsError::Config`]) names `what` (the setting), the file and why,
/// never its contents.
pub(crate) fn read_ca_file(what: &str, path: &Path) -> Result<Vec<u8>, AwsError> {
    let fail = |why: String| AwsError::Config(format!("{what}: CA file {}: {why}", path.display()));
    let pem = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        cert.map_err(|e| fail(format!("not valid PEM: {e}")))?;
        count += 1;
    }
    if count == 0 {
        return Err(fail(
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_exist_and_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let missing = read_ca_file("sslrootcert", &dir.path().join("nope.pem")).unwrap_err();
        assert!(missing.to_string().contains("nope.pem"), "{missing}");
        assert!(missing.to_string().contains("sslrootcert"), "{missing}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = read_ca_file("ca", &empty).unwrap_err();
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
    }
}
