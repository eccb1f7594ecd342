//! Where `ssprctl login` keeps administrators' refresh tokens: one JSON file
//! under the user's config directory, readable by its owner only (0600 in a
//! 0700 directory), rewritten atomically. Rotated refresh tokens are saved
//! back, so a signed-in session keeps working.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::credentials::Secret;

/// The token store file.
#[derive(Clone, Debug)]
pub struct TokenStore {
    path: PathBuf,
}

#[derive(Default, Serialize, Deserialize)]
struct StoreFile {
    /// Portal refresh tokens by tenant id.
    #[serde(default)]
    portal: BTreeMap<String, StoredToken>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredToken {
    client_id: String,
    refresh_token: String,
    user: Option<String>,
}

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
#[error("token store {path}: {detail}")]
pub struct StoreError {
    /// The store file.
    pub path: String,
    /// What went wrong.
    pub detail: String,
}

impl TokenStore {
    /// The store at its default place: `$SSPRCTL_CONFIG_DIR`, else
    /// `$XDG_CONFIG_HOME/ssprctl`, else `~/.config/ssprctl`; file `tokens.json`.
    pub fn default_location() -> Option<TokenStore> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = env("SSPRCTL_CONFIG_DIR")
            .or_else(|| env("XDG_CONFIG_HOME").map(|d| d.join("ssprctl")))
            .or_else(|| env("HOME").map(|h| h.join(".config/ssprctl")))?;
        Some(TokenStore {
            path: dir.join("tokens.json"),
        })
    }

    /// A store at an explicit path.
    pub fn at(path: impl Into<PathBuf>) -> TokenStore {
        TokenStore { path: path.into() }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, detail: impl Into<String>) -> StoreError {
        StoreError {
            path: self.path.display().to_string(),
            detail: detail.into(),
        }
    }

    fn read(&self) -> Result<StoreFile, StoreError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| self.error(format!("not a token store: {e}"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoreFile::default()),
            Err(e) => Err(self.error(e.to_string())),
        }
    }

    /// The stored portal refresh token of a tenant: (client id, token).
    pub fn portal(&self, tenant_id: &str) -> Result<Option<(String, Secret)>, StoreError> {
        Ok(self
            .read()?
            .portal
            .get(&tenant_id.to_lowercase())
            .map(|t| (t.client_id.clone(), Secret::new(t.refresh_token.clone()))))
    }

    /// Saves (or replaces) a tenant's portal refresh token.
    pub fn save_portal(
        &self,
        tenant_id: &str,
        client_id: &str,
        token: &Secret,
        user: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut file = self.read()?;
        file.portal.insert(
            tenant_id.to_lowercase(),
            StoredToken {
                client_id: client_id.to_string(),
                refresh_token: token.expose().to_string(),
                user: user.map(str::to_string),
            },
        );
        self.write(&file)
    }

    fn write(&self, file: &StoreFile) -> Result<(), StoreError> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.error(e.to_string()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let tmp = dir.join(format!(".tokens.{}.tmp", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let text = serde_json::to_vec_pretty(file).map_err(|e| self.error(e.to_string()))?;
        let mut f = options.open(&tmp).map_err(|e| self.error(e.to_string()))?;
        f.write_all(&text)
            .and_then(|()| f.sync_all())
            .map_err(|e| self.error(e.to_string()))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.error(e.to_string()))
    }
}
