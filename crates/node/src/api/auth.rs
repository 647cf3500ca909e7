//! The API's bearer token: 32 random bytes kept as hex in `<data_dir>/api-token` (mode 0600),
//! created at first start and reused after; every call must present it.

use std::io::Write;
use std::path::Path;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::secp256k1::rand::{thread_rng, RngCore};

use super::error::CommandError;
use super::{ApiState, ServeError};

/// The token file's name in the data directory.
pub const TOKEN_FILE: &str = "api-token";

/// The secret every API call must carry as `Authorization: Bearer <hex>`.
#[derive(Clone)]
pub struct ApiToken([u8; 32]);

impl ApiToken {
    /// Reads the token from `dir`, or creates it (readable by the owner only) if absent.
    pub fn load_or_create(dir: &Path) -> Result<ApiToken, ServeError> {
        let path = dir.join(TOKEN_FILE);
        let io = |source| ServeError::Token { path: path.clone(), source };
        match std::fs::read_to_string(&path) {
            Ok(text) => ApiToken::parse(text.trim()).ok_or(ServeError::TokenCorrupt(path.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                thread_rng().fill_bytes(&mut bytes);
                let mut file = create_private(&path).map_err(io)?;
                writeln!(file, "{}", bytes.to_lower_hex_string()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(ApiToken(bytes))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Parses 64 hex digits.
    pub fn parse(hex: &str) -> Option<ApiToken> {
        <[u8; 32]>::from_hex(hex).ok().map(ApiToken)
    }

    /// The token as 64 lowercase hex digits, as clients send it.
    pub fn to_hex(&self) -> String {
        self.0.to_lower_hex_string()
    }

    /// Whether `header` is `Bearer <this token>`, compared in constant time so a caller
    /// cannot learn the token byte by byte from response times.
    fn accepts(&self, header: &str) -> bool {
        let Some(given) = header.strip_prefix("Bearer ").and_then(|h| ApiToken::parse(h.trim()))
        else {
            return false;
        };
        self.0.iter().zip(given.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

/// Middleware: refuses any request without the right bearer token (401).
pub(super) async fn require_token(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let authorized = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| state.token.accepts(value));
    if authorized {
        next.run(request).await
    } else {
        CommandError::Unauthorized.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = ApiToken::load_or_create(dir.path()).unwrap();
        let second = ApiToken::load_or_create(dir.path()).unwrap();
        assert_eq!(first.to_hex(), second.to_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_FILE)).unwrap().permissions();
            assert_eq!(mode.mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn corrupt_token_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(TOKEN_FILE), "abcd").unwrap();
        assert!(matches!(ApiToken::load_or_create(dir.path()), Err(ServeError::TokenCorrupt(_))));
    }

    #[test]
    fn only_the_exact_bearer_token_is_accepted() {
        let token = ApiToken([7; 32]);
        assert!(token.accepts(&format!("Bearer {}", token.to_hex())));
        let mut other = [7; 32];
        other[31] = 8;
        for bad in [
            String::new(),
            token.to_hex(),
            format!("Basic {}", token.to_hex()),
            format!("Bearer {}", ApiToken(other).to_hex()),
            format!("Bearer {}", &token.to_hex()[..62]),
        ] {
            assert!(!token.accepts(&bad), "{bad}");
        }
    }
}
