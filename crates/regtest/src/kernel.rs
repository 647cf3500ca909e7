//! The wrapper around Bitcoin Core's consensus engine (libbitcoinkernel).
//!
//! The kernel owns block validation and storage. Its C API (as of `bitcoinkernel` 0.3) has no
//! `invalidateblock` and no UTXO lookups, so this module adds a generational layout: the
//! chainstate lives in `<data dir>/kernel-<n>`, the file `<data dir>/CURRENT` names `n`, and
//! [`Kernel::rebuild`] replays the active chain up to a height into generation `n + 1`, which
//! is how a block is invalidated.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::{Amount, BlockHash, ScriptBuf, TxOut};
use bitcoinkernel::prelude::*;
use bitcoinkernel::{
    Block as KBlock, BlockValidationStateRef, ChainType, ChainstateManager, Context,
    ContextBuilder, ProcessBlockResult, ValidationMode,
};

use crate::error::Error;
use crate::utxo::Utxo;

const CURRENT_FILE: &str = "CURRENT";
const VALID: &str = "valid";

/// The last block the kernel checked, with Core's verdict (filled by a validation callback).
type LastChecked = Arc<Mutex<Option<(BlockHash, String)>>>;

/// A regtest `ChainstateManager` in a data directory.
pub(crate) struct Kernel {
    // Declared before `context` so it is dropped first.
    chainman: ChainstateManager,
    context: Arc<Context>,
    root: PathBuf,
    generation: u64,
    last_checked: LastChecked,
}

fn path_str(p: &Path) -> Result<&str, Error> {
    p.to_str().ok_or(Error::NonUtf8Path)
}

fn open_chainman(context: &Context, dir: &Path) -> Result<ChainstateManager, Error> {
    let blocks = dir.join("blocks");
    fs::create_dir_all(&blocks)?;
    let chainman = ChainstateManager::builder(context, path_str(dir)?, path_str(&blocks)?)?
        .worker_threads(0)
        .build()?;
    Ok(chainman)
}

fn from_kernel_hash(hash: &impl BlockHashExt) -> BlockHash {
    BlockHash::from_byte_array(hash.to_bytes())
}

impl Kernel {
    /// Opens (or creates) the chainstate in `root`.
    pub(crate) fn open(root: &Path) -> Result<Kernel, Error> {
        fs::create_dir_all(root)?;
        let last_checked: LastChecked = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&last_checked);
        let context = ContextBuilder::new()
            .chain_type(ChainType::Regtest)
            .with_block_checked_validation(
                move |block: KBlock, state: BlockValidationStateRef<'_>| {
                    let verdict = match state.mode() {
                        ValidationMode::Valid => VALID.to_owned(),
                        _ => format!("{:?}", state.result()),
                    };
                    if let Ok(mut slot) = sink.lock() {
                        *slot = Some((from_kernel_hash(&block.hash()), verdict));
                    }
                },
            )
            .build()?;
        let context = Arc::new(context);
        let generation = read_generation(root)?;
        let chainman = open_chainman(&context, &generation_dir(root, generation))?;
        remove_stale_generations(root, generation)?;
        Ok(Kernel { chainman, context, root: root.to_path_buf(), generation, last_checked })
    }

    /// Validates `block` with Core and connects it if it extends the most-work chain.
    pub(crate) fn submit(&self, block: &bitcoin::Block) -> Result<(), Error> {
        let hash = block.block_hash();
        let kblock = KBlock::new(&serialize(block))?;
        if let Ok(mut slot) = self.last_checked.lock() {
            *slot = None;
        }
        let result = self.chainman.process_block(&kblock);
        // `NewBlock` only means "stored": scripts are checked when the block is connected, and
        // the block-checked callback reports that verdict.
        let verdict = self
            .last_checked
            .lock()
            .ok()
            .and_then(|slot| slot.clone())
            .filter(|(h, _)| *h == hash)
            .map(|(_, r)| r);
        match (result, verdict) {
            (ProcessBlockResult::Duplicate, _) => Err(Error::DuplicateBlock),
            (ProcessBlockResult::Rejected, reason) => Err(Error::BlockRejected {
                hash,
                reason: reason.unwrap_or_else(|| "rejected".to_owned()),
            }),
            (ProcessBlockResult::NewBlock, Some(reason)) if reason != VALID => {
                Err(Error::BlockRejected { hash, reason })
            }
            (ProcessBlockResult::NewBlock, _) => Ok(()),
        }
    }

    /// Height of the active tip.
    pub(crate) fn tip_height(&self) -> u32 {
        u32::try_from(self.chainman.active_chain().height()).unwrap_or(0)
    }

    /// Hash of the active-chain block at `height`.
    pub(crate) fn hash_at(&self, height: u32) -> Option<BlockHash> {
        let entry = self.chainman.active_chain().at_height(height as usize)?;
        Some(from_kernel_hash(&entry.block_hash()))
    }

    /// Raw bytes of the active-chain block at `height`.
    pub(crate) fn raw_block_at(&self, height: u32) -> Result<Vec<u8>, Error> {
        let entry = self
            .chainman
            .active_chain()
            .at_height(height as usize)
            .ok_or(Error::HeightOutOfRange(height))?;
        Ok(self.chainman.read_block_data(&entry)?.consensus_encode()?)
    }

    /// The active-chain block at `height`, decoded.
    pub(crate) fn block_at(&self, height: u32) -> Result<bitcoin::Block, Error> {
        Ok(deserialize(&self.raw_block_at(height)?)?)
    }

    /// The outputs spent by each non-coinbase transaction of the active-chain block at
    /// `height`, in input order (Core's undo data).
    pub(crate) fn spent_outputs_at(&self, height: u32) -> Result<Vec<Vec<Utxo>>, Error> {
        if height == 0 {
            return Ok(Vec::new());
        }
        let entry = self
            .chainman
            .active_chain()
            .at_height(height as usize)
            .ok_or(Error::HeightOutOfRange(height))?;
        let undo = self.chainman.read_spent_outputs(&entry)?;
        let mut per_tx = Vec::with_capacity(undo.count());
        for tx in undo.iter() {
            let coins = tx
                .coins()
                .map(|coin| {
                    let out = coin.output();
                    Utxo {
                        txout: TxOut {
                            value: Amount::from_sat(u64::try_from(out.value()).unwrap_or(0)),
                            script_pubkey: ScriptBuf::from_bytes(out.script_pubkey().to_bytes()),
                        },
                        height: coin.confirmation_height(),
                        is_coinbase: coin.is_coinbase(),
                    }
                })
                .collect();
            per_tx.push(coins);
        }
        Ok(per_tx)
    }

    /// Replays the active chain up to `keep_height` into a fresh chainstate and switches to it:
    /// every block above `keep_height` is forgotten, which is how `invalidateblock` works here.
    pub(crate) fn rebuild(&mut self, keep_height: u32) -> Result<(), Error> {
        let next = self.generation.saturating_add(1);
        let dir = generation_dir(&self.root, next);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        let fresh = open_chainman(&self.context, &dir)?;
        for height in 1..=keep_height {
            let raw = self.raw_block_at(height)?;
            let block = KBlock::new(&raw)?;
            if fresh.process_block(&block).is_rejected() {
                let hash = self.hash_at(height).unwrap_or_else(BlockHash::all_zeros);
                return Err(Error::BlockRejected { hash, reason: "replay".to_owned() });
            }
        }
        // Switch in memory first (drops the old chainstate), then on disk.
        self.chainman = fresh;
        let old = self.generation;
        self.generation = next;
        write_generation(&self.root, next)?;
        fs::remove_dir_all(generation_dir(&self.root, old))?;
        Ok(())
    }
}

fn generation_dir(root: &Path, generation: u64) -> PathBuf {
    root.join(format!("kernel-{generation}"))
}

fn read_generation(root: &Path) -> Result<u64, Error> {
    match fs::read_to_string(root.join(CURRENT_FILE)) {
        Ok(text) => Ok(text.trim().parse().unwrap_or(0)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e.into()),
    }
}

fn write_generation(root: &Path, generation: u64) -> Result<(), Error> {
    let tmp = root.join("CURRENT.tmp");
    fs::write(&tmp, generation.to_string())?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(tmp, root.join(CURRENT_FILE))?;
    Ok(())
}

/// Deletes chainstates of other generations (left behind by a crash during a rebuild).
fn remove_stale_generations(root: &Path, current: u64) -> Result<(), Error> {
    let keep = format!("kernel-{current}");
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("kernel-") && name != keep && entry.path().is_dir() {
            fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}
