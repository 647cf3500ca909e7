//! Our own view of the unspent outputs of the active chain.
//!
//! libbitcoinkernel 0.3 validates against its own coins database but offers no lookup into
//! it, so the mempool and `gettxout` use this set, updated on every connect and disconnect.

use std::collections::HashMap;

use bitcoin::{OutPoint, Transaction, TxOut, Txid};

/// An unspent output and where it was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utxo {
    /// The output.
    pub txout: TxOut,
    /// Height of the block that created it.
    pub height: u32,
    /// Whether it is a coinbase output (spendable after 100 confirmations).
    pub is_coinbase: bool,
}

/// The spent outputs of one block, for undoing it.
pub(crate) type BlockUndo = Vec<(OutPoint, Utxo)>;

/// The unspent outputs, keyed by outpoint.
#[derive(Debug, Default)]
pub(crate) struct UtxoSet {
    coins: HashMap<OutPoint, Utxo>,
}

impl UtxoSet {
    pub(crate) fn get(&self, outpoint: &OutPoint) -> Option<&Utxo> {
        self.coins.get(outpoint)
    }

    pub(crate) fn len(&self) -> usize {
        self.coins.len()
    }

    /// Whether any output of `txid` (up to `n_outputs`) is unspent.
    pub(crate) fn has_outputs_of(&self, txid: Txid, n_outputs: usize) -> bool {
        (0..n_outputs).any(|vout| {
            u32::try_from(vout)
                .map(|vout| self.coins.contains_key(&OutPoint { txid, vout }))
                .unwrap_or(false)
        })
    }

    /// Applies one transaction; returns `false` (changing nothing further) if an input is
    /// missing, which would mean our view and the kernel disagree.
    pub(crate) fn apply(&mut self, tx: &Transaction, height: u32, undo: &mut BlockUndo) -> bool {
        let is_coinbase = tx.is_coinbase();
        if !is_coinbase {
            if tx.input.iter().any(|i| !self.coins.contains_key(&i.previous_output)) {
                return false;
            }
            for input in &tx.input {
                match self.coins.remove(&input.previous_output) {
                    Some(spent) => undo.push((input.previous_output, spent)),
                    None => return false,
                }
            }
        }
        let txid = tx.compute_txid();
        for (vout, txout) in tx.output.iter().enumerate() {
            // Core never adds provably unspendable outputs to its coins database.
            if txout.script_pubkey.is_op_return() {
                continue;
            }
            let Ok(vout) = u32::try_from(vout) else { continue };
            let utxo = Utxo { txout: txout.clone(), height, is_coinbase };
            self.coins.insert(OutPoint { txid, vout }, utxo);
        }
        true
    }

    /// Reverts a block: removes what its transactions created, restores what they spent.
    pub(crate) fn revert(&mut self, txs: &[Transaction], undo: BlockUndo) {
        for tx in txs.iter().rev() {
            let txid = tx.compute_txid();
            for vout in 0..tx.output.len() {
                if let Ok(vout) = u32::try_from(vout) {
                    self.coins.remove(&OutPoint { txid, vout });
                }
            }
        }
        for (outpoint, utxo) in undo {
            self.coins.insert(outpoint, utxo);
        }
    }
}
