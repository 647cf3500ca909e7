//! How the RPC client proves who it is: user/password or Bitcoin Core's cookie file.

use std::path::{Path, PathBuf};

use crate::Error;

/// Credentials for HTTP basic auth.
#[derive(Clone, PartialEq, Eq)]
pub enum RpcAuth {
    /// No `Authorization` header.
    None,
    /// `-rpcuser` / `-rpcpassword`.
    UserPass {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// The `.cookie` file bitcoind writes into its data dir (`__cookie__:<hex>`). It is read
    /// when first needed and again whenever the server answers 401, since a restarted server
    /// writes a new cookie.
    CookieFile(PathBuf),
}

impl core::fmt::Debug for RpcAuth {
    // Never print the password.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RpcAuth::None => f.write_str("None"),
            RpcAuth::UserPass { user, .. } => write!(f, "UserPass({user}, ***)"),
            RpcAuth::CookieFile(path) => write!(f, "CookieFile({})", path.display()),
        }
    }
}

/// Reads a cookie file's `user:password` line.
pub(crate) fn read_cookie(path: &Path) -> Result<(String, String), Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| Error::CookieRead { path: path.display().to_string(), source })?;
    let line = text.lines().next().unwrap_or("").trim();
    match line.split_once(':') {
        Some((user, password)) if !user.is_empty() => Ok((user.to_owned(), password.to_owned())),
        _ => Err(Error::CookieFormat(path.display().to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_file_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".cookie");
        std::fs::write(&path, "__cookie__:abc:def\n").unwrap();
        assert_eq!(read_cookie(&path).unwrap(), ("__cookie__".into(), "abc:def".into()));
        std::fs::write(&path, "nocolon").unwrap();
        assert!(matches!(read_cookie(&path), Err(Error::CookieFormat(_))));
        assert!(matches!(read_cookie(&dir.path().join("missing")), Err(Error::CookieRead { .. })));
    }

    #[test]
    fn debug_hides_password() {
        let auth = RpcAuth::UserPass { user: "u".into(), password: "secret".into() };
        assert!(!format!("{auth:?}").contains("secret"));
    }
}
