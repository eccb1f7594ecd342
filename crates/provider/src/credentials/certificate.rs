//! Certificate credentials: a PEM or PFX file whose RSA key signs a JWT client
//! assertion (`x5t#S256` names the certificate).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::Secret;

/// A certificate credential: an RSA private key and the certificate's SHA-256
/// thumbprint (sent as `x5t#S256`).
pub struct CertificateSigner {
    key: ring::rsa::KeyPair,
    thumbprint_s256: String,
}

impl std::fmt::Debug for CertificateSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateSigner")
            .field("thumbprint_s256", &self.thumbprint_s256)
            .finish_non_exhaustive()
    }
}

/// Why a credential could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The certificate file is not usable.
    #[error("{path}: {detail}")]
    Certificate {
        /// The file.
        path: String,
        /// What is wrong with it.
        detail: String,
    },
}

impl CertificateSigner {
    /// Loads a PEM (certificate + RSA private key, PKCS#8 or PKCS#1) or a PFX /
    /// PKCS#12 file (with its password).
    pub fn from_file(
        path: &Path,
        password: Option<&Secret>,
    ) -> Result<CertificateSigner, CredentialError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| CredentialError::Read {
            path: shown.clone(),
            source,
        })?;
        let bad = |detail: String| CredentialError::Certificate {
            path: shown.clone(),
            detail,
        };
        if bytes.starts_with(b"-----")
            || std::str::from_utf8(&bytes).is_ok_and(|t| t.contains("-----BEGIN"))
        {
            let text = String::from_utf8_lossy(&bytes);
            Self::from_pem(&text).map_err(bad)
        } else {
            let password = password.map(Secret::expose).unwrap_or_default();
            Self::from_pfx(&bytes, password).map_err(bad)
        }
    }

    fn from_pem(text: &str) -> Result<CertificateSigner, String> {
        let mut cert = None;
        let mut key = None;
        for (label, der) in pem_blocks(text)? {
            match label.as_str() {
                "CERTIFICATE" if cert.is_none() => cert = Some(der),
                "PRIVATE KEY" => {
                    key = Some(
                        ring::rsa::KeyPair::from_pkcs8(&der)
                            .map_err(|e| format!("the private key is not a usable RSA key: {e}"))?,
                    )
                }
                "RSA PRIVATE KEY" => {
                    key = Some(
                        ring::rsa::KeyPair::from_der(&der)
                            .map_err(|e| format!("the private key is not a usable RSA key: {e}"))?,
                    )
                }
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(
                        "encrypted PEM keys are not supported; use a PFX file with a password"
                            .into(),
                    );
                }
                _ => {}
            }
        }
        let cert = cert.ok_or(
            "no CERTIFICATE block (the PEM file needs the certificate and its private key)",
        )?;
        let key = key.ok_or(
            "no PRIVATE KEY block (the PEM file needs the certificate and its private key)",
        )?;
        Ok(CertificateSigner {
            key,
            thumbprint_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&cert)),
        })
    }

    fn from_pfx(bytes: &[u8], password: &str) -> Result<CertificateSigner, String> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            bytes,
            password,
            p12_keystore::Pkcs12ImportPolicy::default(),
        )
        .map_err(|e| format!("not a readable PFX file (wrong password?): {e}"))?;
        for (_, entry) in store.entries() {
            if let p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) = entry {
                let cert = chain
                    .certs()
                    .first()
                    .ok_or("the PFX key has no certificate")?;
                let key = ring::rsa::KeyPair::from_pkcs8(chain.key().as_der())
                    .map_err(|e| format!("the PFX private key is not a usable RSA key: {e}"))?;
                return Ok(CertificateSigner {
                    key,
                    thumbprint_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(cert.as_der())),
                });
            }
        }
        Err("the PFX file holds no private key".into())
    }

    /// The certificate's SHA-256 thumbprint, base64url (`x5t#S256`).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint_s256
    }

    /// A client assertion for `client_id` at `token_url`, valid for ten minutes.
    pub fn assertion(&self, client_id: &str, token_url: &str) -> Result<String, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let header =
            serde_json::json!({ "alg": "RS256", "typ": "JWT", "x5t#S256": self.thumbprint_s256 });
        let claims = serde_json::json!({
            "aud": token_url,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let rng = ring::rand::SystemRandom::new();
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &rng,
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing the client assertion failed".to_string())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// The PEM blocks of a text: (label, DER bytes).
fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            current = Some((label.to_string(), String::new()));
        } else if line.starts_with("-----END ") {
            if let Some((label, body)) = current.take() {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .map_err(|e| format!("the {label} block is not valid base64: {e}"))?;
                out.push((label, der));
            }
        } else if let Some((_, body)) = current.as_mut()
            && !line.contains(':')
        {
            body.push_str(line);
        }
    }
    Ok(out)
}
