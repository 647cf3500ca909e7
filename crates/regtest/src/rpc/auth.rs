//! HTTP Basic authentication as bitcoind does it: a configured user and password, or a
//! `.cookie` file (`__cookie__:<64 hex>`) written to the data directory for the server's life.

use std::fs;
use std::path::{Path, PathBuf};

use base64::prelude::{Engine, BASE64_STANDARD};
use rand::RngCore;

/// How clients authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcAuth {
    /// `--rpc-user` / `--rpc-password`.
    UserPassword {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// A random password in `<data dir>/.cookie`, user `__cookie__`.
    Cookie,
}

/// The credentials the server checks.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    expected: String,
    cookie_file: Option<PathBuf>,
}

const COOKIE_USER: &str = "__cookie__";

impl Credentials {
    /// For cookie auth, writes the cookie file.
    pub(crate) fn set_up(auth: &RpcAuth, data_dir: &Path) -> std::io::Result<Credentials> {
        match auth {
            RpcAuth::UserPassword { user, password } => {
                Ok(Credentials { expected: format!("{user}:{password}"), cookie_file: None })
            }
            RpcAuth::Cookie => {
                let mut secret = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut secret);
                let expected = format!("{COOKIE_USER}:{}", hex::encode(secret));
                let path = data_dir.join(".cookie");
                let tmp = data_dir.join(".cookie.tmp");
                fs::write(&tmp, &expected)?;
                fs::rename(&tmp, &path)?;
                Ok(Credentials { expected, cookie_file: Some(path) })
            }
        }
    }

    /// Whether an `Authorization` header value carries the right credentials.
    pub(crate) fn check(&self, header: Option<&str>) -> bool {
        let Some(encoded) = header.and_then(|h| h.strip_prefix("Basic ")) else { return false };
        let Ok(decoded) = BASE64_STANDARD.decode(encoded.trim()) else { return false };
        constant_time_eq(&decoded, self.expected.as_bytes())
    }

    /// Removes the cookie file, as bitcoind does on shutdown.
    pub(crate) fn tear_down(&self) {
        if let Some(path) = &self.cookie_file {
            let _ = fs::remove_file(path);
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_basic_header() {
        let auth = RpcAuth::UserPassword { user: "user".into(), password: "pass".into() };
        let creds = Credentials::set_up(&auth, Path::new("/nonexistent")).unwrap();
        assert!(creds.check(Some("Basic dXNlcjpwYXNz")));
        assert!(!creds.check(Some("Basic dXNlcjpwYXN4")));
        assert!(!creds.check(Some("Bearer x")));
        assert!(!creds.check(Some("Basic dXNlcjpwYXNz=")), "bad padding");
        assert!(!creds.check(Some("Basic dXNl$3pwYXNz")), "not base64");
        assert!(!creds.check(None));
    }
}
