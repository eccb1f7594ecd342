//! JSON Web Tokens the emulator reads or signs, and the little PEM/DER work
//! that needs: client assertions signed RS256 (verified against a public key
//! registered in the state file), the fake GitHub Actions OIDC tokens
//! (HS256 with a per-emulator secret) and certificate thumbprints.
//!
//! The emulator's own access tokens are not here: they are unsigned and live
//! in the `token` module.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::{digest, hmac, signature};
use serde_json::{Map, Value};

/// A compact JWS split into its parts. Nothing is verified by parsing.
#[derive(Debug, Clone)]
pub(crate) struct Jwt {
    /// The decoded JOSE header.
    pub header: Map<String, Value>,
    /// The decoded claims.
    pub claims: Map<String, Value>,
    /// `base64url(header) "." base64url(claims)`, the signed bytes.
    pub signing_input: String,
    /// The decoded signature (empty for an unsecured `alg: none` token).
    pub signature: Vec<u8>,
}

impl Jwt {
    /// Splits and decodes `header.claims.signature`; `None` when it is not a
    /// compact JWS with JSON-object header and claims.
    pub fn parse(token: &str) -> Option<Jwt> {
        let mut parts = token.trim().split('.');
        let (header, claims, sig) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let object = |s: &str| match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).ok()?) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        };
        Some(Jwt {
            header: object(header)?,
            claims: object(claims)?,
            signing_input: format!("{header}.{claims}"),
            signature: URL_SAFE_NO_PAD.decode(sig).ok()?,
        })
    }

    /// A string header parameter.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A string claim.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A numeric date claim (`exp`, `nbf`, `iat`), in seconds.
    pub fn claim_secs(&self, name: &str) -> Option<i64> {
        let v = self.claims.get(name)?;
        v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
    }

    /// The `aud` claim as a list (a single string or an array of strings).
    pub fn audiences(&self) -> Vec<String> {
        match self.claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// base64url without padding.
pub(crate) fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `header` and `claims` with HMAC-SHA256 under `secret`.
pub(crate) fn sign_hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64url(header.to_string()),
        b64url(claims.to_string())
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let tag = hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", b64url(tag.as_ref()))
}

/// Whether `jwt` is HS256-signed under `secret`.
pub(crate) fn verify_hs256(jwt: &Jwt, secret: &[u8]) -> bool {
    if jwt.header_str("alg") != Some("HS256") {
        return false;
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    hmac::verify(&key, jwt.signing_input.as_bytes(), &jwt.signature).is_ok()
}

/// Whether `jwt` carries a valid RS256 (RSASSA-PKCS1-v1_5 with SHA-256)
/// signature by the key `rsa_public_key` (PKCS#1 `RSAPublicKey` DER).
pub(crate) fn verify_rs256(jwt: &Jwt, rsa_public_key: &[u8]) -> bool {
    signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, rsa_public_key)
        .verify(jwt.signing_input.as_bytes(), &jwt.signature)
        .is_ok()
}

/// The DER inside the first PEM block labelled `label` (e.g. `PUBLIC KEY`).
pub(crate) fn pem_to_der(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).ok()
}

/// SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA256, bytes).as_ref().to_vec()
}

/// SHA-1 of `bytes` (the legacy `x5t` certificate thumbprint).
pub(crate) fn sha1(bytes: &[u8]) -> Vec<u8> {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
        .as_ref()
        .to_vec()
}

/// Decodes a certificate thumbprint written as hex (the Entra portal's form,
/// colons and spaces allowed) or as base64url/base64 (the `x5t` form).
pub(crate) fn decode_thumbprint(text: &str) -> Option<Vec<u8>> {
    let hex: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    if (hex.len() == 40 || hex.len() == 64) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
            .collect();
    }
    let unpadded = text.trim().trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(unpadded)
        .ok()
        .or_else(|| STANDARD.decode(text.trim()).ok())
}

/// Upper-case hex, as Entra prints thumbprints in error messages.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// OID 1.2.840.113549.1.1.1 (rsaEncryption), DER-encoded with its tag.
const RSA_ENCRYPTION_OID: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

/// Extracts the PKCS#1 `RSAPublicKey` (what ring verifies with) from an
/// X.509 `SubjectPublicKeyInfo` (what `-----BEGIN PUBLIC KEY-----` holds):
///
/// ```text
/// SubjectPublicKeyInfo ::= SEQUENCE {
///     algorithm        SEQUENCE { OID rsaEncryption, NULL },
///     subjectPublicKey BIT STRING  -- 0 unused bits, then RSAPublicKey DER
/// }
/// ```
pub(crate) fn rsa_public_key_from_spki(spki: &[u8]) -> Result<Vec<u8>, &'static str> {
    /// Reads one DER TLV: (tag, contents, rest).
    fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), &'static str> {
        let (&tag, rest) = input.split_first().ok_or("truncated DER")?;
        let (&first, rest) = rest.split_first().ok_or("truncated DER length")?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return Err("unsupported DER length");
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return Err("DER value longer than its input");
        }
        Ok((tag, &rest[..len], &rest[len..]))
    }

    let (tag, spki_body, trailing) = tlv(spki)?;
    if tag != 0x30 || !trailing.is_empty() {
        return Err("not a SubjectPublicKeyInfo SEQUENCE");
    }
    let (tag, algorithm, rest) = tlv(spki_body)?;
    if tag != 0x30 || !algorithm.starts_with(&RSA_ENCRYPTION_OID) {
        return Err("not an RSA public key (algorithm is not rsaEncryption)");
    }
    let (tag, bits, trailing) = tlv(rest)?;
    if tag != 0x03 || !trailing.is_empty() {
        return Err("subjectPublicKey is not a BIT STRING");
    }
    match bits.split_first() {
        Some((0, key)) if !key.is_empty() => Ok(key.to_vec()),
        _ => Err("subjectPublicKey has unused bits or is empty"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2048-bit test key's SPKI, as `openssl pkey -pubout` writes it.
    const PUBLIC_KEY_PEM: &str = include_str!("../tests/fixtures/assertion-pubkey.pem");

    #[test]
    fn spki_walk_yields_the_pkcs1_key_ring_accepts() {
        let spki = pem_to_der(PUBLIC_KEY_PEM, "PUBLIC KEY").expect("PEM decodes");
        let pkcs1 = rsa_public_key_from_spki(&spki).expect("RSA SPKI");
        // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
        assert_eq!(pkcs1[0], 0x30);
        assert!(spki.ends_with(&pkcs1), "the key is the BIT STRING's tail");
        assert_eq!(spki.len() - pkcs1.len(), 24, "2048-bit SPKI header size");
        // ring parses it (a wrong signature fails cleanly rather than erroring on the key).
        let jwt = Jwt::parse("eyJhbGciOiJSUzI1NiJ9.e30.c2ln").expect("shape");
        assert!(!verify_rs256(&jwt, &pkcs1));
    }

    #[test]
    fn spki_walk_rejects_other_shapes() {
        assert!(rsa_public_key_from_spki(&[]).is_err());
        assert!(rsa_public_key_from_spki(&[0x30, 0x05, 0x01]).is_err());
        // An EC key's SPKI (id-ecPublicKey) is refused.
        let ec = [
            0x30, 0x13, 0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x03,
            0x06, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04,
        ];
        assert!(rsa_public_key_from_spki(&ec).is_err());
        // Trailing garbage after the SEQUENCE is refused.
        let spki = pem_to_der(PUBLIC_KEY_PEM, "PUBLIC KEY").expect("PEM decodes");
        let mut longer = spki.clone();
        longer.push(0);
        assert!(rsa_public_key_from_spki(&longer).is_err());
    }

    #[test]
    fn hs256_round_trips_and_rejects_other_secrets() {
        let token = sign_hs256(
            &serde_json::json!({"alg": "HS256", "typ": "JWT"}),
            &serde_json::json!({"sub": "x"}),
            b"secret",
        );
        let jwt = Jwt::parse(&token).expect("parses");
        assert_eq!(jwt.claim_str("sub"), Some("x"));
        assert!(verify_hs256(&jwt, b"secret"));
        assert!(!verify_hs256(&jwt, b"other"));
    }

    #[test]
    fn thumbprints_decode_from_hex_or_base64url() {
        let bytes = sha1(b"cert");
        assert_eq!(decode_thumbprint(&hex_upper(&bytes)), Some(bytes.clone()));
        assert_eq!(decode_thumbprint(&b64url(&bytes)), Some(bytes.clone()));
        let long = sha256(b"cert");
        assert_eq!(decode_thumbprint(&b64url(&long)), Some(long));
    }
}
