//! Client assertions on the client-credentials grant (docs/api-surfaces.md §10):
//! `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
//! with a JWT that is either
//!
//! * a **certificate assertion**: `iss` = `sub` = the client id, signed RS256
//!   by a key registered in the app's `certificates`, found by the header's
//!   `x5t#S256` (or `x5t`); or
//! * a **federated assertion** (workload identity federation): a token from
//!   another issuer that one of the app's `federatedCredentials` trusts
//!   (exact `iss` and `sub`, `aud` among its audiences). Only tokens signed
//!   by the emulator's own fake GitHub OIDC service can be verified.
//!
//! Error codes and texts follow real Entra ID where public reports quote
//! them; the rest are guesses in `quirks`.

use crate::jwt::{self, Jwt};
use crate::quirks;
use crate::state::{App, Certificate, FederatedCredential};
use crate::token::AadError;

fn invalid_client(code: u32, description: impl Into<String>) -> AadError {
    AadError::new(401, "invalid_client", code, description)
}

fn malformed(reason: &str) -> AadError {
    invalid_client(
        quirks::MALFORMED_ASSERTION_CODE,
        format!("JWT token is invalid or malformed. {reason}"),
    )
}

/// Checks `assertion` for `app` at the token endpoint of tenant `tid` at
/// `now`; `github_secret` verifies tokens of the fake GitHub OIDC service.
pub(crate) fn authenticate(
    app: &App,
    tid: &str,
    assertion: &str,
    now: i64,
    github_secret: &[u8],
) -> Result<(), AadError> {
    let jwt = Jwt::parse(assertion).ok_or_else(|| malformed("It is not a compact JWS."))?;
    let iss = jwt.claim_str("iss").unwrap_or_default();
    if iss.eq_ignore_ascii_case(&app.client_id) {
        certificate(app, tid, &jwt, now)
    } else {
        federated(app, &jwt, now, github_secret)
    }
}

/// `exp` in the future (with skew), `nbf` not in the future, lifetime bounded.
fn check_lifetime(jwt: &Jwt, now: i64) -> Result<(), AadError> {
    let skew = quirks::ASSERTION_CLOCK_SKEW_SECS;
    let exp = jwt
        .claim_secs("exp")
        .ok_or_else(|| malformed("The 'exp' claim is missing."))?;
    let nbf = jwt.claim_secs("nbf");
    let too_late = exp + skew <= now;
    let too_early = nbf.is_some_and(|nbf| nbf > now + skew);
    let too_long = exp - now > quirks::ASSERTION_MAX_LIFETIME_SECS + skew;
    if too_late || too_early || too_long {
        let (code, text) = quirks::ASSERTION_TIME_RANGE_ERROR;
        return Err(invalid_client(
            code,
            format!(
                "{text} Current time: {now}, assertion valid from {}, expiry time of assertion {exp}.",
                nbf.map(|n| n.to_string())
                    .unwrap_or_else(|| "(no nbf)".into())
            ),
        ));
    }
    Ok(())
}

/// Certificate credential: header thumbprint, signature, `aud`, `sub`, `jti`, times.
fn certificate(app: &App, tid: &str, jwt: &Jwt, now: i64) -> Result<(), AadError> {
    let client_id = &app.client_id;
    if !jwt
        .claim_str("sub")
        .is_some_and(|s| s.eq_ignore_ascii_case(client_id))
    {
        let (code, text) = quirks::ASSERTION_SUBJECT_MISMATCH;
        return Err(invalid_client(code, text));
    }
    let alg = jwt.header_str("alg").unwrap_or("none");
    if alg != "RS256" {
        return Err(malformed(&format!(
            "The signing algorithm '{alg}' is not supported; use RS256."
        )));
    }
    let (x5t_s256, x5t) = (jwt.header_str("x5t#S256"), jwt.header_str("x5t"));
    let presented = x5t_s256
        .or(x5t)
        .and_then(jwt::decode_thumbprint)
        .ok_or_else(|| malformed(quirks::ASSERTION_NO_THUMBPRINT))?;
    let sha256 = x5t_s256.is_some();
    let thumb_hex = jwt::hex_upper(&presented);
    let key_not_found = || {
        invalid_client(
            quirks::ASSERTION_SIGNATURE_CODE,
            quirks::assertion_key_not_found(&thumb_hex, client_id),
        )
    };
    let cert = app
        .certificates
        .iter()
        .find(|c| thumbprints(c, sha256).contains(&presented))
        .ok_or_else(key_not_found)?;
    let key = jwt::pem_to_der(&cert.public_key_pem, "PUBLIC KEY")
        .ok_or("publicKeyPem holds no PUBLIC KEY block")
        .and_then(|spki| jwt::rsa_public_key_from_spki(&spki))
        .map_err(|reason| {
            tracing::warn!(app = %client_id, reason, "unusable certificate public key in the state file");
            key_not_found()
        })?;
    if !jwt::verify_rs256(jwt, &key) {
        return Err(invalid_client(
            quirks::ASSERTION_SIGNATURE_CODE,
            quirks::assertion_bad_signature(&thumb_hex),
        ));
    }
    let aud_ok = jwt
        .audiences()
        .iter()
        .any(|aud| token_endpoint_audience(aud, tid));
    if !aud_ok {
        let (code, text) = quirks::ASSERTION_AUDIENCE_MISMATCH;
        return Err(invalid_client(code, text));
    }
    if jwt.claim_str("jti").is_none_or(str::is_empty) {
        return Err(malformed("The 'jti' claim is missing."));
    }
    check_lifetime(jwt, now)
}

/// The thumbprints (SHA-256 or SHA-1) a certificate entry answers to.
fn thumbprints(c: &Certificate, sha256: bool) -> Vec<Vec<u8>> {
    let given = if sha256 {
        c.thumbprint_sha256.as_deref()
    } else {
        c.thumbprint.as_deref()
    };
    let mut out: Vec<Vec<u8>> = given.and_then(jwt::decode_thumbprint).into_iter().collect();
    if let Some(der) = c
        .certificate_pem
        .as_deref()
        .and_then(|pem| jwt::pem_to_der(pem, "CERTIFICATE"))
    {
        out.push(if sha256 {
            jwt::sha256(&der)
        } else {
            jwt::sha1(&der)
        });
    }
    out
}

/// Whether `aud` is the token endpoint of `tid`: any scheme and host, path
/// `/{tid}/oauth2/v2.0/token` (or the v1 `/{tid}/oauth2/token`).
fn token_endpoint_audience(aud: &str, tid: &str) -> bool {
    let without_scheme = aud.split_once("://").map_or(aud, |(_, rest)| rest);
    let path = without_scheme
        .find('/')
        .map_or("", |i| &without_scheme[i..]);
    let path = path.trim_end_matches('/');
    [
        format!("/{tid}/oauth2/v2.0/token"),
        format!("/{tid}/oauth2/token"),
    ]
    .iter()
    .any(|p| p.eq_ignore_ascii_case(path))
}

/// Federated credential: issuer, subject, audience, signature, times.
fn federated(app: &App, jwt: &Jwt, now: i64, github_secret: &[u8]) -> Result<(), AadError> {
    let iss = jwt.claim_str("iss").unwrap_or_default();
    let sub = jwt.claim_str("sub").unwrap_or_default();
    let by_issuer: Vec<&FederatedCredential> = app
        .federated_credentials
        .iter()
        .filter(|f| f.issuer == iss)
        .collect();
    if by_issuer.is_empty() {
        return Err(invalid_client(700_211, quirks::fic_no_match("issuer", iss)));
    }
    let by_subject: Vec<&FederatedCredential> = by_issuer
        .iter()
        .copied()
        .filter(|f| f.subject == sub)
        .collect();
    if by_subject.is_empty() {
        if by_issuer
            .iter()
            .any(|f| f.subject.eq_ignore_ascii_case(sub))
        {
            return Err(invalid_client(7_002_138, quirks::fic_case_mismatch(sub)));
        }
        return Err(invalid_client(
            700_213,
            quirks::fic_no_match("subject", sub),
        ));
    }
    let audiences = jwt.audiences();
    if !by_subject
        .iter()
        .any(|f| f.audiences.iter().any(|a| audiences.contains(a)))
    {
        let shown = audiences.first().map(String::as_str).unwrap_or_default();
        return Err(invalid_client(
            700_212,
            quirks::fic_no_match("audience", shown),
        ));
    }
    if !jwt::verify_hs256(jwt, github_secret) {
        let kid = jwt.header_str("kid").unwrap_or("(none)");
        let (code, text) = quirks::fic_bad_signature(kid, iss);
        return Err(invalid_client(code, text));
    }
    check_lifetime(jwt, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_path_must_name_the_tenants_token_endpoint() {
        let tid = "11111111-2222-4333-8444-555555555555";
        assert!(token_endpoint_audience(
            &format!("https://login.microsoftonline.com/{tid}/oauth2/v2.0/token"),
            tid
        ));
        assert!(token_endpoint_audience(
            &format!("http://127.0.0.1:8400/{tid}/oauth2/token/"),
            tid
        ));
        assert!(!token_endpoint_audience(
            &format!("https://login.microsoftonline.com/{tid}/v2.0"),
            tid
        ));
        assert!(!token_endpoint_audience(
            "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            tid
        ));
    }
}
