//! The credential types under their first path; they live in
//! [`crate::credentials`] (one module per kind of credential).

pub use crate::client::transport::allowed_url;
pub use crate::credentials::{
    AppCredential, CertificateSigner, CredentialError, IMDS_ENDPOINT, JWT_BEARER, Secret,
    token_claims,
};
