//! The node's long-term secret key, kept in the data directory.
//!
//! Created on first start with the OS's randomness, written atomically (temporary file, fsync,
//! rename, fsync of the directory) with mode 0600, and read back on every later start, so the
//! node id never changes.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use bitcoin::secp256k1::{rand, SecretKey};

use crate::Error;

/// The file name, inside the data directory.
pub const SECRET_FILE: &str = "node_secret";

/// Loads the node secret from `data_dir`, creating the directory and the secret if missing.
pub fn load_or_create(data_dir: &Path) -> Result<SecretKey, Error> {
    create_private_dir(data_dir)?;
    let path = data_dir.join(SECRET_FILE);
    match fs::read(&path) {
        Ok(bytes) => SecretKey::from_slice(&bytes).map_err(|_| Error::SecretCorrupt(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = SecretKey::new(&mut rand::thread_rng());
            write_atomically(data_dir, &path, &secret.secret_bytes())?;
            Ok(secret)
        }
        Err(source) => Err(Error::SecretIo { path, source }),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), Error> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| Error::DataDir { path: dir.to_path_buf(), source })
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp: PathBuf = dir.join(format!("{SECRET_FILE}.tmp"));
    let io = |source| Error::SecretIo { path: path.to_path_buf(), source };
    // A leftover from a crash mid-write holds nothing we need.
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        _ => {}
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    fs::rename(&tmp, path).map_err(io)?;
    // Make the rename itself durable.
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested/data");
        let first = load_or_create(&data).unwrap();
        let second = load_or_create(&data).unwrap();
        assert_eq!(first, second);
        assert!(!data.join(format!("{SECRET_FILE}.tmp")).exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(data.join(SECRET_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn corrupt_secret_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(SECRET_FILE), [0u8; 31]).unwrap();
        assert!(matches!(load_or_create(dir.path()), Err(Error::SecretCorrupt(_))));
        fs::write(dir.path().join(SECRET_FILE), [0u8; 32]).unwrap();
        assert!(matches!(load_or_create(dir.path()), Err(Error::SecretCorrupt(_))));
    }
}
