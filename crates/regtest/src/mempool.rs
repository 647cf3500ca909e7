//! The mempool: transactions waiting for a block, with Core's acceptance rules.
//!
//! A conflicting spend is rejected (`txn-mempool-conflict`); BIP 125 replacement is not
//! implemented.

use std::collections::{HashMap, HashSet};

use bitcoin::{Amount, OutPoint, Transaction, TxOut, Txid, Wtxid};

use crate::error::MempoolReject;
use crate::locktime::{is_final, sequence_locks_ok, CoinAge};
use crate::policy::{check_transaction, MIN_RELAY_FEE_PER_KVB};
use crate::script_check::verify_inputs;
use crate::view::ChainView;

/// Confirmations a coinbase output needs before it may be spent.
const COINBASE_MATURITY: u32 = 100;
/// Core's default `-limitancestorcount`: a transaction and its unconfirmed ancestors.
const MAX_ANCESTORS: usize = 25;

/// A transaction in the mempool.
#[derive(Debug, Clone)]
pub struct MempoolEntry {
    /// The transaction.
    pub tx: Transaction,
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub wtxid: Wtxid,
    /// Fee paid.
    pub fee: Amount,
    /// Virtual size in vbytes.
    pub vsize: u64,
    /// Weight in weight units.
    pub weight: u64,
    /// UNIX time it entered the mempool.
    pub time: u64,
    /// Chain height when it entered.
    pub height: u32,
    /// In-mempool transactions it spends from.
    pub parents: Vec<Txid>,
    seq: u64,
}

impl MempoolEntry {
    /// Acceptance order: a parent always sorts before its children.
    pub(crate) fn order_key(&self) -> u64 {
        self.seq
    }

    /// Fee rate in sat per 1000 vB.
    pub fn feerate_per_kvb(&self) -> u64 {
        self.fee.to_sat().saturating_mul(1000) / self.vsize.max(1)
    }
}

/// The result of an acceptance check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Txid.
    pub txid: Txid,
    /// Wtxid.
    pub wtxid: Wtxid,
    /// Virtual size in vbytes.
    pub vsize: u64,
    /// Fee paid.
    pub fee: Amount,
}

/// The outputs a transaction spends, their ages (BIP 68) and its in-mempool parents.
type ResolvedInputs = (Vec<TxOut>, Vec<CoinAge>, Vec<Txid>);

/// The set of unconfirmed transactions.
#[derive(Debug, Default, Clone)]
pub(crate) struct Mempool {
    entries: HashMap<Txid, MempoolEntry>,
    spends: HashMap<OutPoint, Txid>,
    next_seq: u64,
}

/// Chain context for an acceptance check: the next block's height and the tip's MTP.
pub(crate) struct NextBlock {
    pub(crate) height: u32,
    pub(crate) tip_mtp: u32,
    pub(crate) now: u64,
}

impl Mempool {
    pub(crate) fn get(&self, txid: &Txid) -> Option<&MempoolEntry> {
        self.entries.get(txid)
    }

    /// The entry spending `outpoint`, if any.
    pub(crate) fn spender(&self, outpoint: &OutPoint) -> Option<Txid> {
        self.spends.get(outpoint).copied()
    }

    /// A mempool transaction's output, if it exists.
    pub(crate) fn output(&self, outpoint: &OutPoint) -> Option<&TxOut> {
        self.entries.get(&outpoint.txid)?.tx.output.get(outpoint.vout as usize)
    }

    /// Entries in acceptance order (parents before children).
    pub(crate) fn entries_in_order(&self) -> Vec<&MempoolEntry> {
        let mut all: Vec<&MempoolEntry> = self.entries.values().collect();
        all.sort_by_key(|e| e.seq);
        all
    }

    /// Checks `tx` against the rules and, unless `dry_run`, adds it.
    pub(crate) fn accept(
        &mut self,
        tx: Transaction,
        view: &ChainView,
        next: &NextBlock,
        max_feerate_per_kvb: Option<u64>,
        dry_run: bool,
    ) -> Result<Accepted, MempoolReject> {
        check_transaction(&tx)?;
        if !is_final(&tx, next.height, next.tip_mtp) {
            return Err(MempoolReject::NonFinal);
        }
        let txid = tx.compute_txid();
        if self.entries.contains_key(&txid) {
            return Err(MempoolReject::AlreadyInMempool);
        }
        for input in &tx.input {
            if let Some(conflicting) = self.spends.get(&input.previous_output) {
                return Err(MempoolReject::Conflict { conflicting: *conflicting });
            }
        }
        let (spent, ages, parents) = self.resolve_inputs(&tx, txid, view, next)?;
        let value_in = spent
            .iter()
            .try_fold(Amount::ZERO, |acc, o| acc.checked_add(o.value))
            .filter(|v| *v <= Amount::MAX_MONEY)
            .ok_or(MempoolReject::InputValuesOutOfRange)?;
        let value_out = tx.output.iter().try_fold(Amount::ZERO, |acc, o| acc.checked_add(o.value));
        let value_out = value_out.ok_or(MempoolReject::OutputTotalTooLarge)?;
        let fee = value_in
            .checked_sub(value_out)
            .ok_or(MempoolReject::InBelowOut { value_in, value_out })?;
        if !sequence_locks_ok(&tx, &ages, next.height, next.tip_mtp) {
            return Err(MempoolReject::NonBip68Final);
        }
        let vsize = tx.vsize() as u64;
        let required = vsize.saturating_mul(MIN_RELAY_FEE_PER_KVB) / 1000;
        if fee.to_sat() < required {
            return Err(MempoolReject::MinRelayFee { fee: fee.to_sat(), required });
        }
        if let Some(max) = max_feerate_per_kvb.filter(|m| *m > 0) {
            if fee.to_sat().saturating_mul(1000) > max.saturating_mul(vsize) {
                return Err(MempoolReject::MaxFeeExceeded);
            }
        }
        if !parents.is_empty() && self.ancestors_of_parents(&parents) + 1 > MAX_ANCESTORS {
            return Err(MempoolReject::TooLongMempoolChain);
        }
        verify_inputs(&tx, &spent)?;
        let accepted = Accepted { txid, wtxid: tx.compute_wtxid(), vsize, fee };
        if !dry_run {
            self.insert(tx, accepted.clone(), parents, next);
        }
        Ok(accepted)
    }

    /// Finds the outputs `tx` spends (mempool first, then the chain), with their ages for
    /// BIP 68 and the in-mempool parents.
    fn resolve_inputs(
        &self,
        tx: &Transaction,
        txid: Txid,
        view: &ChainView,
        next: &NextBlock,
    ) -> Result<ResolvedInputs, MempoolReject> {
        let mut spent = Vec::with_capacity(tx.input.len());
        let mut ages = Vec::with_capacity(tx.input.len());
        let mut parents = Vec::new();
        for input in &tx.input {
            let op = input.previous_output;
            if let Some(out) = self.output(&op) {
                spent.push(out.clone());
                ages.push(CoinAge { height: next.height, prev_mtp: next.tip_mtp });
                if !parents.contains(&op.txid) {
                    parents.push(op.txid);
                }
                continue;
            }
            let Some(coin) = view.utxo(&op) else {
                if view.utxos.has_outputs_of(txid, tx.output.len()) {
                    return Err(MempoolReject::AlreadyInChain);
                }
                return Err(MempoolReject::MissingInputs);
            };
            if coin.is_coinbase {
                let depth = next.height.saturating_sub(coin.height);
                if depth < COINBASE_MATURITY {
                    return Err(MempoolReject::PrematureCoinbaseSpend { depth });
                }
            }
            spent.push(coin.txout.clone());
            let prev_mtp = view.median_time_past(coin.height.saturating_sub(1));
            ages.push(CoinAge { height: coin.height, prev_mtp });
        }
        Ok((spent, ages, parents))
    }

    fn insert(&mut self, tx: Transaction, acc: Accepted, parents: Vec<Txid>, next: &NextBlock) {
        for input in &tx.input {
            self.spends.insert(input.previous_output, acc.txid);
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        let entry = MempoolEntry {
            weight: tx.weight().to_wu(),
            tx,
            txid: acc.txid,
            wtxid: acc.wtxid,
            fee: acc.fee,
            vsize: acc.vsize,
            time: next.now,
            height: next.height.saturating_sub(1),
            parents,
            seq,
        };
        self.entries.insert(acc.txid, entry);
    }

    /// Removes `txid` and everything spending from it.
    pub(crate) fn remove_with_descendants(&mut self, txid: Txid) {
        let mut stack = vec![txid];
        while let Some(id) = stack.pop() {
            let Some(entry) = self.entries.remove(&id) else { continue };
            for input in &entry.tx.input {
                self.spends.remove(&input.previous_output);
            }
            stack.extend(self.children(&id));
        }
    }

    /// Mempool transactions spending outputs of `txid`.
    pub(crate) fn children(&self, txid: &Txid) -> Vec<Txid> {
        self.entries.values().filter(|e| e.parents.contains(txid)).map(|e| e.txid).collect()
    }

    /// Number of distinct transactions among `parents` and their ancestors.
    fn ancestors_of_parents(&self, parents: &[Txid]) -> usize {
        let mut all: HashSet<Txid> = parents.iter().copied().collect();
        for p in parents {
            all.extend(self.ancestors(p));
        }
        all.len()
    }

    /// All in-mempool ancestors of `txid` (not including itself).
    pub(crate) fn ancestors(&self, txid: &Txid) -> HashSet<Txid> {
        let mut seen = HashSet::new();
        let mut stack: Vec<Txid> = self.get(txid).map(|e| e.parents.clone()).unwrap_or_default();
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                if let Some(e) = self.entries.get(&id) {
                    stack.extend(e.parents.iter().copied());
                }
            }
        }
        seen
    }

    /// All in-mempool descendants of `txid` (not including itself).
    pub(crate) fn descendants(&self, txid: &Txid) -> HashSet<Txid> {
        let mut seen = HashSet::new();
        let mut stack = self.children(txid);
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                stack.extend(self.children(&id));
            }
        }
        seen
    }

    /// Drops the transactions a new block confirmed and those conflicting with it.
    pub(crate) fn remove_for_block(&mut self, block: &bitcoin::Block) {
        for tx in &block.txdata {
            let txid = tx.compute_txid();
            if let Some(entry) = self.entries.remove(&txid) {
                for input in &entry.tx.input {
                    self.spends.remove(&input.previous_output);
                }
                for e in self.entries.values_mut() {
                    e.parents.retain(|p| *p != txid);
                }
            }
        }
        for tx in block.txdata.iter().skip(1) {
            for input in &tx.input {
                if let Some(conflict) = self.spends.get(&input.previous_output).copied() {
                    self.remove_with_descendants(conflict);
                }
            }
        }
    }

    /// Empties the mempool, returning its transactions in acceptance order.
    pub(crate) fn drain(&mut self) -> Vec<Transaction> {
        let txs = self.entries_in_order().into_iter().map(|e| e.tx.clone()).collect();
        self.entries.clear();
        self.spends.clear();
        txs
    }
}
