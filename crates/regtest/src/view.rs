//! The active chain as we track it next to the kernel: headers, cumulative work, the UTXO set,
//! undo data, a transaction index and per-block fee rates.

use std::collections::HashMap;

use bitcoin::block::Header;
use bitcoin::pow::Work;
use bitcoin::{Block, BlockHash, OutPoint, Transaction, Txid};

use crate::error::Error;
use crate::utxo::{BlockUndo, Utxo, UtxoSet};

/// What we remember about each block of the active chain.
#[derive(Debug, Clone)]
pub struct BlockMeta {
    /// Block hash.
    pub hash: BlockHash,
    /// Its header.
    pub header: Header,
    /// Cumulative work up to and including this block.
    pub chainwork: Work,
    /// Number of transactions.
    pub n_tx: usize,
    /// Serialized size with witnesses.
    pub size: usize,
    /// Serialized size without witnesses.
    pub stripped_size: usize,
    /// Block weight.
    pub weight: u64,
    /// Fee rates (sat/kvB) of its non-coinbase transactions, for fee estimation.
    pub feerates: Vec<u64>,
}

/// The active chain, genesis at index 0.
#[derive(Debug, Default)]
pub(crate) struct ChainView {
    blocks: Vec<BlockMeta>,
    by_hash: HashMap<BlockHash, u32>,
    pub(crate) utxos: UtxoSet,
    undo: Vec<BlockUndo>,
    tx_index: HashMap<Txid, u32>,
}

/// Sum of the values of `undo` entries spent by `tx` (its input total), if all are present.
fn input_value(tx: &Transaction, spent: &HashMap<OutPoint, u64>) -> Option<u64> {
    tx.input.iter().try_fold(0u64, |acc, i| acc.checked_add(*spent.get(&i.previous_output)?))
}

impl ChainView {
    pub(crate) fn height(&self) -> u32 {
        u32::try_from(self.blocks.len().saturating_sub(1)).unwrap_or(u32::MAX)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    pub(crate) fn tip(&self) -> Option<&BlockMeta> {
        self.blocks.last()
    }

    pub(crate) fn meta(&self, height: u32) -> Option<&BlockMeta> {
        self.blocks.get(height as usize)
    }

    pub(crate) fn height_of(&self, hash: &BlockHash) -> Option<u32> {
        self.by_hash.get(hash).copied()
    }

    pub(crate) fn tx_height(&self, txid: &Txid) -> Option<u32> {
        self.tx_index.get(txid).copied()
    }

    pub(crate) fn utxo(&self, outpoint: &OutPoint) -> Option<&Utxo> {
        self.utxos.get(outpoint)
    }

    /// BIP 113 median time past of the block at `height` (median of it and its 10 ancestors).
    pub(crate) fn median_time_past(&self, height: u32) -> u32 {
        let end = (height as usize).saturating_add(1).min(self.blocks.len());
        let start = end.saturating_sub(11);
        let mut times: Vec<u32> = self.blocks[start..end].iter().map(|b| b.header.time).collect();
        times.sort_unstable();
        times.get(times.len() / 2).copied().unwrap_or(0)
    }

    /// Connects `block` on top of the tip. Only blocks the kernel connected arrive here.
    pub(crate) fn connect(&mut self, block: &Block) -> Result<(), Error> {
        let height = u32::try_from(self.blocks.len())
            .map_err(|_| Error::InconsistentView { height: u32::MAX })?;
        let prev_work = match self.blocks.last() {
            Some(tip) if tip.hash == block.header.prev_blockhash => tip.chainwork,
            Some(_) => return Err(Error::InconsistentView { height }),
            None => Work::from_be_bytes([0; 32]),
        };
        let mut undo = BlockUndo::new();
        if height > 0 {
            for (i, tx) in block.txdata.iter().enumerate() {
                if !self.utxos.apply(tx, height, &mut undo) {
                    let applied = block.txdata.get(..i).unwrap_or_default();
                    self.utxos.revert(applied, std::mem::take(&mut undo));
                    return Err(Error::InconsistentView { height });
                }
            }
        }
        let feerates = block_feerates(block, &undo);
        for tx in &block.txdata {
            self.tx_index.insert(tx.compute_txid(), height);
        }
        let hash = block.block_hash();
        self.blocks.push(BlockMeta {
            hash,
            header: block.header,
            chainwork: prev_work + block.header.work(),
            n_tx: block.txdata.len(),
            size: block.total_size(),
            stripped_size: stripped_size(block),
            weight: block.weight().to_wu(),
            feerates,
        });
        self.by_hash.insert(hash, height);
        self.undo.push(undo);
        Ok(())
    }

    /// Disconnects the tip, which must be `block`.
    pub(crate) fn disconnect_tip(&mut self, block: &Block) -> Result<(), Error> {
        let height = self.height();
        match self.blocks.last() {
            Some(tip) if tip.hash == block.block_hash() && height > 0 => {}
            _ => return Err(Error::InconsistentView { height }),
        }
        let undo = self.undo.pop().unwrap_or_default();
        self.utxos.revert(&block.txdata, undo);
        for tx in &block.txdata {
            self.tx_index.remove(&tx.compute_txid());
        }
        if let Some(meta) = self.blocks.pop() {
            self.by_hash.remove(&meta.hash);
        }
        Ok(())
    }
}

/// Fee rates (sat/kvB) of a block's transactions, from the outputs it spent.
fn block_feerates(block: &Block, undo: &BlockUndo) -> Vec<u64> {
    let spent: HashMap<OutPoint, u64> =
        undo.iter().map(|(op, u)| (*op, u.txout.value.to_sat())).collect();
    block
        .txdata
        .iter()
        .skip(1)
        .filter_map(|tx| {
            let value_in = input_value(tx, &spent)?;
            let value_out =
                tx.output.iter().try_fold(0u64, |a, o| a.checked_add(o.value.to_sat()))?;
            let fee = value_in.checked_sub(value_out)?;
            let vsize = tx.vsize() as u64;
            fee.checked_mul(1000)?.checked_div(vsize)
        })
        .collect()
}

/// Block size without witness data.
fn stripped_size(block: &Block) -> usize {
    let count = bitcoin::VarInt::from(block.txdata.len()).size();
    block.txdata.iter().fold(80 + count, |acc, tx| acc.saturating_add(tx.base_size()))
}
