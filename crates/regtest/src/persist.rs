//! What the chain keeps on disk besides Core's own chainstate: the mempool, written on close
//! and offered back to the mempool rules on open (`mempool.dat`, a versioned consensus-encoded
//! list of transactions).

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::Transaction;

use crate::error::Error;

const MEMPOOL_FILE: &str = "mempool.dat";
const MEMPOOL_VERSION: u8 = 1;

/// Saves `txs` (parents before children), atomically.
pub(crate) fn save_mempool(dir: &Path, txs: &[Transaction]) -> Result<(), Error> {
    let mut bytes = vec![MEMPOOL_VERSION];
    bytes.extend(serialize(&txs.to_vec()));
    let tmp = dir.join("mempool.dat.tmp");
    fs::write(&tmp, bytes)?;
    fs::rename(tmp, dir.join(MEMPOOL_FILE))?;
    Ok(())
}

/// Loads the saved mempool; a missing file, an unknown version or undecodable contents give an
/// empty list (the mempool is a cache: losing it loses nothing the chain needs).
pub(crate) fn load_mempool(dir: &Path) -> Result<Vec<Transaction>, Error> {
    let bytes = match fs::read(dir.join(MEMPOOL_FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    match bytes.split_first() {
        Some((&MEMPOOL_VERSION, rest)) => Ok(deserialize(rest).unwrap_or_default()),
        _ => Ok(Vec::new()),
    }
}
