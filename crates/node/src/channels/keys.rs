//! Channel key indexes: every channel's keys are derived from the node seed at a fresh index,
//! never reused. The highest index handed out is kept in a small file in the data directory
//! (written and fsynced before the index is used), so a channel that never reached the
//! store (an open that failed, or a crash mid-open) does not give its index away again.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::ChannelsError;

/// The file holding the highest channel key index handed out.
pub const KEY_INDEX_FILE: &str = "channel-key-index";

pub(crate) struct KeyIndexes {
    path: PathBuf,
    /// The highest index handed out (0: none; index 0 is never used).
    highest: u32,
}

impl KeyIndexes {
    /// Reads the file in `data_dir` and takes the highest of it and `stored` (the indexes
    /// the store's records use).
    pub(crate) fn open(
        data_dir: &Path,
        stored: impl IntoIterator<Item = u32>,
    ) -> Result<KeyIndexes, ChannelsError> {
        let path = data_dir.join(KEY_INDEX_FILE);
        let from_file = match fs::read_to_string(&path) {
            Ok(text) => text.trim().parse::<u32>().map_err(|e| {
                ChannelsError::KeyIndex(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(ChannelsError::KeyIndex(e)),
        };
        let highest = stored.into_iter().fold(from_file, u32::max);
        Ok(KeyIndexes { path, highest })
    }

    /// A fresh index, durably recorded before it is returned.
    pub(crate) fn allocate(&mut self) -> Result<u32, ChannelsError> {
        let next = self.highest.checked_add(1).ok_or(ChannelsError::KeyIndexExhausted)?;
        let tmp = self.path.with_extension("tmp");
        let mut file = File::create(&tmp).map_err(ChannelsError::KeyIndex)?;
        file.write_all(next.to_string().as_bytes()).map_err(ChannelsError::KeyIndex)?;
        file.sync_all().map_err(ChannelsError::KeyIndex)?;
        fs::rename(&tmp, &self.path).map_err(ChannelsError::KeyIndex)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir).and_then(|d| d.sync_all()).map_err(ChannelsError::KeyIndex)?;
        }
        self.highest = next;
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut keys = KeyIndexes::open(dir.path(), [4, 2]).unwrap();
        assert_eq!(keys.allocate().unwrap(), 5);
        assert_eq!(keys.allocate().unwrap(), 6);
        // Restart: the file remembers 6 even though the store only knows 4.
        let mut keys = KeyIndexes::open(dir.path(), [4]).unwrap();
        assert_eq!(keys.allocate().unwrap(), 7);
        // The store may know more than the file (an older data dir).
        let mut keys = KeyIndexes::open(dir.path(), [20]).unwrap();
        assert_eq!(keys.allocate().unwrap(), 21);
    }
}
