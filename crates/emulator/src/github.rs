//! A fake GitHub Actions OIDC token service, the `ACTIONS_ID_TOKEN_REQUEST_URL`
//! of a runner: `GET /_emulator/github/oidc?audience=X` with
//! `Authorization: bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>` answers
//! `{"value": "<jwt>"}`.
//!
//! The tokens carry GitHub's issuer and claim names but are signed HS256 with
//! a secret only this emulator knows, so its token endpoint can verify them
//! as federated client assertions and nothing else will accept them.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::jwt;
use crate::quirks;
use crate::server::Ctx;
use crate::wire::{Clock, Req, Resp};

/// The issuer of GitHub Actions OIDC tokens.
pub(crate) const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn error(status: u16, message: &str) -> Resp {
    Resp::json(status, json!({"message": message}))
}

/// `GET /_emulator/github/oidc[?api-version=2.0][&audience=X]`.
pub(crate) fn token(ctx: &Ctx, req: &Req) -> Resp {
    if req.method != "GET" {
        return error(405, "Method not allowed.");
    }
    let config = ctx.github_oidc();
    let presented = req
        .header("authorization")
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if presented != Some(config.request_token.as_str()) {
        return error(401, "Bad credentials");
    }
    let now = Clock::now().secs;
    let claims = claims(&config.subject, req.query_param("audience"), now);
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": "emulator-github-oidc"});
    let value = jwt::sign_hs256(&header, &claims, ctx.github_secret());
    Resp::json(200, json!({"value": value}))
}

/// GitHub's claims for `subject`, derived as far as the subject allows
/// (`repo:OWNER/REPO:ref:REF` or `repo:OWNER/REPO:environment:ENV`).
fn claims(subject: &str, audience: Option<&str>, now: i64) -> Value {
    let mut parts = subject.splitn(3, ':');
    let (kind, repository, rest) = (parts.next(), parts.next(), parts.next());
    let repository = if kind == Some("repo") {
        repository
    } else {
        None
    };
    let owner = repository.and_then(|r| r.split('/').next()).unwrap_or("");
    // Without `audience`, GitHub uses the owner's URL.
    let aud = audience
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("https://github.com/{owner}"));
    let mut claims = json!({
        "jti": Uuid::new_v4().to_string(),
        "sub": subject,
        "aud": aud,
        "repository": repository.unwrap_or(""),
        "repository_owner": owner,
        "event_name": "push",
        "iss": GITHUB_ISSUER,
        "nbf": now - quirks::GITHUB_OIDC_NBF_BACKDATE_SECS,
        "exp": now + quirks::GITHUB_OIDC_LIFETIME_SECS,
        "iat": now,
    });
    match rest.and_then(|r| r.split_once(':')) {
        Some(("ref", r)) => {
            claims["ref"] = json!(r);
            claims["ref_type"] = json!(if r.starts_with("refs/tags/") {
                "tag"
            } else {
                "branch"
            });
        }
        Some(("environment", env)) => claims["environment"] = json!(env),
        _ => {}
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_follow_the_subject() {
        let c = claims(
            "repo:contoso/identity-config:ref:refs/heads/main",
            Some("api://AzureADTokenExchange"),
            1000,
        );
        assert_eq!(c["repository"], "contoso/identity-config");
        assert_eq!(c["repository_owner"], "contoso");
        assert_eq!(c["ref"], "refs/heads/main");
        assert_eq!(c["ref_type"], "branch");
        assert_eq!(c["aud"], "api://AzureADTokenExchange");
        assert_eq!(c["iss"], GITHUB_ISSUER);
        let c = claims("repo:o/r:environment:prod", None, 1000);
        assert_eq!(c["environment"], "prod");
        assert_eq!(c["aud"], "https://github.com/o");
    }
}
