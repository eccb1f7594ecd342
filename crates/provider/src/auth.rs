//! Credentials and how each one turns into an access token.
//!
//! Graph (app-only): client secret; certificate (a signed JWT client
//! assertion, from PEM or PFX); workload identity federation (a token file, or
//! GitHub Actions' OIDC token requested from the runner); managed identity;
//! and the Azure CLI's signed-in account. The portal API takes only a
//! delegated administrator's refresh token.
//!
//! Secrets live in [`Secret`], which never prints. Nothing here logs a token.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A secret string: never printed, never serialised.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself, for the one place that must send it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An app-only credential for the Graph surfaces.
#[derive(Clone, Debug)]
pub enum AppCredential {
    /// Client id and client secret.
    ClientSecret {
        /// Application (client) id.
        client_id: String,
        /// The secret.
        secret: Secret,
    },
    /// Client id and a certificate whose private key signs a client assertion.
    Certificate {
        /// Application (client) id.
        client_id: String,
        /// The signing key and the certificate's thumbprint.
        signer: Arc<CertificateSigner>,
    },
    /// Workload identity federation with a token file (re-read for every token:
    /// the platform rotates it).
    FederatedTokenFile {
        /// Application (client) id.
        client_id: String,
        /// The federated token file.
        path: PathBuf,
    },
    /// Workload identity federation with the GitHub Actions runner's OIDC token.
    GithubActions {
        /// Application (client) id.
        client_id: String,
        /// Audience to request (`api://AzureADTokenExchange` by default).
        audience: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_URL`.
        request_url: String,
        /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
        request_token: Secret,
    },
    /// An Azure managed identity, through the instance metadata service.
    ManagedIdentity {
        /// A user-assigned identity's client id.
        client_id: Option<String>,
        /// The token endpoint (IMDS, or an override for tests).
        endpoint: String,
    },
    /// `az account get-access-token`.
    AzureCli,
}

impl AppCredential {
    /// A short name for `doctor` and errors.
    pub fn method(&self) -> &'static str {
        match self {
            AppCredential::ClientSecret { .. } => "client secret",
            AppCredential::Certificate { .. } => "certificate",
            AppCredential::FederatedTokenFile { .. } => "workload identity (token file)",
            AppCredential::GithubActions { .. } => "workload identity (GitHub Actions OIDC)",
            AppCredential::ManagedIdentity { .. } => "managed identity",
            AppCredential::AzureCli => "Azure CLI",
        }
    }
}

/// The instance metadata service's token endpoint (the one plain-http,
/// non-loopback address ssprctl talks to: link-local, inside the VM).
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";

/// The assertion type for JWT client assertions.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

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

/// The claims of a JWT access token, without checking its signature (the
/// issuer does that); used to tell which roles or scopes a token carries.
pub fn token_claims(token: &str) -> Option<serde_json::Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whether a URL may be called: https anywhere; plain http only to loopback,
/// or to the instance metadata service.
pub fn allowed_url(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    host == "localhost"
        || host == "[::1]"
        || host == "169.254.169.254"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback_or_imds() {
        assert!(allowed_url("https://graph.microsoft.com/v1.0"));
        assert!(allowed_url("http://127.0.0.1:8400/v1.0"));
        assert!(allowed_url(IMDS_ENDPOINT));
        assert!(!allowed_url("http://graph.microsoft.com/v1.0"));
        assert!(!allowed_url("http://10.1.2.3:80/"));
        assert!(!allowed_url("ftp://127.0.0.1/"));
    }

    #[test]
    fn secrets_do_not_print() {
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }
}
