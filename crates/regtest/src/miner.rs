//! The miner: picks mempool transactions by ancestor fee rate, builds the coinbase (BIP 34
//! height, subsidy plus fees, BIP 141 witness commitment) and grinds the regtest nonce.

use std::collections::HashSet;

use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::script::{Builder, PushBytesBuf};
use bitcoin::transaction::Version;
use bitcoin::{
    absolute, Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxMerkleNode, TxOut, Txid, Witness,
};

use crate::error::Error;
use crate::mempool::{Mempool, MempoolEntry};

/// Regtest halves the subsidy every 150 blocks.
const HALVING_INTERVAL: u32 = 150;
/// Weight limit of a block (BIP 141), less room for the coinbase.
const MAX_TEMPLATE_WEIGHT: u64 = 4_000_000 - 4_000;
/// Regtest's fixed difficulty.
pub(crate) const REGTEST_BITS: u32 = 0x207f_ffff;

/// The block subsidy at `height` on regtest.
pub(crate) fn subsidy(height: u32) -> Amount {
    let halvings = height / HALVING_INTERVAL;
    if halvings >= 64 {
        return Amount::ZERO;
    }
    Amount::from_sat((50 * 100_000_000u64) >> halvings)
}

/// Mempool transactions for the next block: highest ancestor fee rate first, each preceded by
/// its unconfirmed ancestors, within the block weight limit.
pub(crate) fn select_transactions(mempool: &Mempool) -> Vec<&MempoolEntry> {
    let entries = mempool.entries_in_order();
    let mut scored: Vec<(u64, u64, &MempoolEntry)> = entries
        .iter()
        .map(|e| {
            let (fee, vsize) = mempool
                .ancestors(&e.txid)
                .iter()
                .filter_map(|a| mempool.get(a))
                .fold((e.fee.to_sat(), e.vsize), |(f, s), a| {
                    (f.saturating_add(a.fee.to_sat()), s.saturating_add(a.vsize))
                });
            (fee, vsize.max(1), *e)
        })
        .collect();
    // Descending by fee/vsize, compared without division.
    scored.sort_by(|a, b| {
        (u128::from(b.0) * u128::from(a.1)).cmp(&(u128::from(a.0) * u128::from(b.1)))
    });
    let mut chosen: Vec<&MempoolEntry> = Vec::new();
    let mut included: HashSet<Txid> = HashSet::new();
    let mut weight = 0u64;
    for (_, _, entry) in scored {
        if included.contains(&entry.txid) {
            continue;
        }
        let mut package: Vec<&MempoolEntry> = mempool
            .ancestors(&entry.txid)
            .iter()
            .filter(|a| !included.contains(*a))
            .filter_map(|a| mempool.get(a))
            .collect();
        package.push(entry);
        package.sort_by_key(|e| e.order_key());
        let package_weight: u64 = package.iter().map(|e| e.weight).sum();
        if weight.saturating_add(package_weight) > MAX_TEMPLATE_WEIGHT {
            continue;
        }
        weight = weight.saturating_add(package_weight);
        for e in package {
            included.insert(e.txid);
            chosen.push(e);
        }
    }
    chosen
}

/// The coinbase for `height` paying `value` to `script`, with a witness commitment output if
/// `commitment` is given.
fn coinbase(
    height: u32,
    extra_nonce: u64,
    script: &ScriptBuf,
    value: Amount,
    commitment: Option<[u8; 32]>,
) -> Transaction {
    // BIP 34: the height first; then an extra nonce, so that a block re-mined at the same
    // height after a reorg differs from the one it replaces.
    let script_sig = Builder::new()
        .push_int(i64::from(height))
        .push_slice(extra_nonce.to_le_bytes())
        .into_script();
    let mut output = vec![TxOut { value, script_pubkey: script.clone() }];
    let mut witness = Witness::new();
    if let Some(commitment) = commitment {
        // BIP 141: OP_RETURN 0xaa21a9ed || commitment; the coinbase witness is 32 zero bytes.
        let mut payload = vec![0xaa, 0x21, 0xa9, 0xed];
        payload.extend_from_slice(&commitment);
        let data = PushBytesBuf::try_from(payload).unwrap_or_default();
        output.push(TxOut { value: Amount::ZERO, script_pubkey: ScriptBuf::new_op_return(data) });
        witness.push([0u8; 32]);
    }
    Transaction {
        version: Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig,
            sequence: Sequence::MAX,
            witness,
        }],
        output,
    }
}

/// Builds and solves a block on `prev` at `height` with `txs`, paying `fees` plus the subsidy to
/// `script`.
pub(crate) fn build_block(
    prev: BlockHash,
    height: u32,
    time: u32,
    script: &ScriptBuf,
    txs: Vec<Transaction>,
    fees: Amount,
) -> Result<Block, Error> {
    let value = subsidy(height).checked_add(fees).unwrap_or(Amount::MAX_MONEY);
    let has_witness = txs.iter().any(|tx| tx.input.iter().any(|i| !i.witness.is_empty()));
    let mut block = Block {
        header: Header {
            version: BlockVersion::from_consensus(0x2000_0000),
            prev_blockhash: prev,
            merkle_root: TxMerkleNode::all_zeros(),
            time,
            bits: CompactTarget::from_consensus(REGTEST_BITS),
            nonce: 0,
        },
        txdata: Vec::with_capacity(txs.len().saturating_add(1)),
    };
    let extra_nonce: u64 = rand::random();
    block.txdata.push(coinbase(height, extra_nonce, script, value, None));
    block.txdata.extend(txs);
    if has_witness {
        // The witness root treats the coinbase's wtxid as zero, so it can be computed first.
        let root = block.witness_root().ok_or(Error::EmptyBlock)?;
        let commitment = Block::compute_witness_commitment(&root, &[0u8; 32]);
        if let Some(first) = block.txdata.first_mut() {
            *first = coinbase(height, extra_nonce, script, value, Some(commitment.to_byte_array()));
        }
    }
    block.header.merkle_root = block.compute_merkle_root().ok_or(Error::EmptyBlock)?;
    solve(&mut block.header)?;
    Ok(block)
}

/// Grinds the nonce until the header hash meets its target.
fn solve(header: &mut Header) -> Result<(), Error> {
    let target = header.target();
    for nonce in 0..=u32::MAX {
        header.nonce = nonce;
        if target.is_met_by(header.block_hash()) {
            return Ok(());
        }
    }
    Err(Error::PowExhausted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regtest_subsidy_halves_every_150_blocks() {
        assert_eq!(subsidy(1), Amount::from_btc(50.0).unwrap());
        assert_eq!(subsidy(149), Amount::from_btc(50.0).unwrap());
        assert_eq!(subsidy(150), Amount::from_btc(25.0).unwrap());
        assert_eq!(subsidy(150 * 64), Amount::ZERO);
    }
}
