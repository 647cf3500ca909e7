//! Block and chain methods: getblockchaininfo, getblockcount, getbestblockhash, getblockhash,
//! getblockheader, getblock, invalidateblock.

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::{BlockHash, CompactTarget, Target};
use serde_json::{json, Map, Value};

use crate::chain::{unix_now, HeaderInfo, RegtestChain};
use crate::error::Error;
use crate::rpc::params::Args;
use crate::rpc::protocol::{code, Params, RpcError};
use crate::rpc::script_json;

/// Core's `GetDifficulty`: the target relative to difficulty 1 (bits 0x1d00ffff).
pub(crate) fn difficulty(bits: CompactTarget) -> f64 {
    let bits = bits.to_consensus();
    let mut shift = (bits >> 24) & 0xff;
    let mantissa = f64::from(bits & 0x00ff_ffff).max(1.0);
    let mut diff = f64::from(0x0000_ffffu32) / mantissa;
    while shift < 29 {
        diff *= 256.0;
        shift += 1;
    }
    while shift > 29 {
        diff /= 256.0;
        shift -= 1;
    }
    diff
}

fn target_hex(bits: CompactTarget) -> String {
    hex::encode(Target::from_compact(bits).to_be_bytes())
}

/// Core's `blockheaderToJSON`.
pub(crate) fn header_json(info: &HeaderInfo) -> Map<String, Value> {
    let h = &info.header;
    let mut obj = Map::new();
    obj.insert("hash".into(), json!(info.hash.to_string()));
    obj.insert("confirmations".into(), json!(info.confirmations));
    obj.insert("height".into(), json!(info.height));
    obj.insert("version".into(), json!(h.version.to_consensus()));
    obj.insert("versionHex".into(), json!(format!("{:08x}", h.version.to_consensus())));
    obj.insert("merkleroot".into(), json!(h.merkle_root.to_string()));
    obj.insert("time".into(), json!(h.time));
    obj.insert("mediantime".into(), json!(info.median_time));
    obj.insert("nonce".into(), json!(h.nonce));
    obj.insert("bits".into(), json!(format!("{:08x}", h.bits.to_consensus())));
    obj.insert("target".into(), json!(target_hex(h.bits)));
    obj.insert("difficulty".into(), json!(difficulty(h.bits)));
    obj.insert("chainwork".into(), json!(hex::encode(info.chainwork.to_be_bytes())));
    obj.insert("nTx".into(), json!(info.n_tx));
    if info.height > 0 {
        obj.insert("previousblockhash".into(), json!(h.prev_blockhash.to_string()));
    }
    if let Some(next) = info.next {
        obj.insert("nextblockhash".into(), json!(next.to_string()));
    }
    obj
}

fn block_not_found() -> RpcError {
    RpcError::new(code::INVALID_ADDRESS_OR_KEY, "Block not found")
}

pub(crate) fn getblockchaininfo(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    Args::new(params, &[], 0, "getblockchaininfo\n\nReturns an object containing various state info regarding blockchain processing.")?;
    let tip = chain.tip();
    let info = chain.header(&tip.hash).ok_or_else(block_not_found)?;
    // Core leaves initial block download once the tip is less than 24 hours old.
    let ibd = u64::from(info.header.time).saturating_add(24 * 3600) < unix_now();
    let size_on_disk: u64 = (0..=tip.height)
        .filter_map(|h| chain.block_hash(h))
        .filter_map(|hash| chain.header(&hash))
        .map(|i| i.size as u64)
        .sum();
    Ok(json!({
        "chain": "regtest",
        "blocks": tip.height,
        "headers": tip.height,
        "bestblockhash": tip.hash.to_string(),
        "bits": format!("{:08x}", info.header.bits.to_consensus()),
        "target": target_hex(info.header.bits),
        "difficulty": difficulty(info.header.bits),
        "time": info.header.time,
        "mediantime": info.median_time,
        "verificationprogress": 1.0,
        "initialblockdownload": ibd,
        "chainwork": hex::encode(info.chainwork.to_be_bytes()),
        "size_on_disk": size_on_disk,
        "pruned": false,
        "warnings": [],
    }))
}

pub(crate) fn getblockcount(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    Args::new(
        params,
        &[],
        0,
        "getblockcount\n\nReturns the height of the most-work fully-validated chain.",
    )?;
    Ok(json!(chain.tip().height))
}

pub(crate) fn getbestblockhash(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    Args::new(params, &[], 0, "getbestblockhash\n\nReturns the hash of the best (tip) block in the most-work fully-validated chain.")?;
    Ok(json!(chain.tip().hash.to_string()))
}

pub(crate) fn getblockhash(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(
        params,
        &["height"],
        1,
        "getblockhash height\n\nReturns hash of block in best-block-chain at height provided.",
    )?;
    let height = args.i64(0)?;
    let out_of_range = || RpcError::new(code::INVALID_PARAMETER, "Block height out of range");
    let height = u32::try_from(height).map_err(|_| out_of_range())?;
    let hash = chain.block_hash(height).ok_or_else(out_of_range)?;
    Ok(json!(hash.to_string()))
}

pub(crate) fn getblockheader(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(params, &["blockhash", "verbose"], 1, "getblockheader \"blockhash\" ( verbose )\n\nIf verbose is false, returns a string that is serialized, hex-encoded data for blockheader 'hash'.\nIf verbose is true, returns an Object with information about blockheader <hash>.")?;
    let hash: BlockHash = args.hash(0, "hash")?;
    let verbose = args.opt_bool(1)?.unwrap_or(true);
    let info = chain.header(&hash).ok_or_else(block_not_found)?;
    if verbose {
        Ok(Value::Object(header_json(&info)))
    } else {
        Ok(json!(serialize_hex(&info.header)))
    }
}

pub(crate) fn getblock(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(params, &["blockhash", "verbosity|verbose"], 1, "getblock \"blockhash\" ( verbosity )\n\nIf verbosity is 0, returns a string that is serialized, hex-encoded data for block 'hash'.\nIf verbosity is 1, returns an Object with information about block <hash>.\nIf verbosity is 2, returns an Object with information about block <hash> and information about each transaction.")?;
    let hash: BlockHash = args.hash(0, "blockhash")?;
    let verbosity = args.verbosity(1, 1)?;
    let info = chain.header(&hash).ok_or_else(block_not_found)?;
    let block = chain.block(&hash).map_err(|_| block_not_found())?;
    if verbosity <= 0 {
        return Ok(json!(serialize_hex(&block)));
    }
    let mut obj = header_json(&info);
    obj.insert("strippedsize".into(), json!(info.stripped_size));
    obj.insert("size".into(), json!(info.size));
    obj.insert("weight".into(), json!(info.weight));
    let txs: Vec<Value> = if verbosity == 1 {
        block.txdata.iter().map(|tx| json!(tx.compute_txid().to_string())).collect()
    } else {
        let spent = chain.block_spent_outputs(&hash).unwrap_or_default();
        block
            .txdata
            .iter()
            .enumerate()
            .map(|(i, tx)| {
                let prevouts = i.checked_sub(1).and_then(|j| spent.get(j));
                Value::Object(tx_with_prevouts(tx, prevouts, verbosity >= 3))
            })
            .collect()
    };
    obj.insert("tx".into(), Value::Array(txs));
    Ok(Value::Object(obj))
}

/// A block transaction at verbosity 2 (with `fee`) or 3 (also each input's `prevout`).
fn tx_with_prevouts(
    tx: &bitcoin::Transaction,
    prevouts: Option<&Vec<crate::utxo::Utxo>>,
    with_prevout: bool,
) -> Map<String, Value> {
    let mut obj = script_json::transaction(tx, true);
    let Some(prevouts) = prevouts.filter(|p| p.len() == tx.input.len()) else { return obj };
    let value_in = prevouts.iter().try_fold(0u64, |a, p| a.checked_add(p.txout.value.to_sat()));
    let value_out = tx.output.iter().try_fold(0u64, |a, o| a.checked_add(o.value.to_sat()));
    if let Some(fee) = value_in.zip(value_out).and_then(|(i, o)| i.checked_sub(o)) {
        obj.insert("fee".into(), json!(bitcoin::Amount::from_sat(fee).to_btc()));
    }
    if with_prevout {
        if let Some(Value::Array(vin)) = obj.get_mut("vin") {
            for (input, prev) in vin.iter_mut().zip(prevouts) {
                if let Value::Object(input) = input {
                    input.insert(
                        "prevout".into(),
                        json!({
                            "generated": prev.is_coinbase,
                            "height": prev.height,
                            "value": prev.txout.value.to_btc(),
                            "scriptPubKey": script_json::script_pubkey(&prev.txout.script_pubkey),
                        }),
                    );
                }
            }
        }
    }
    obj
}

pub(crate) fn invalidateblock(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(params, &["blockhash"], 1, "invalidateblock \"blockhash\"\n\nPermanently marks a block as invalid, as if it violated a consensus rule.")?;
    let hash: BlockHash = args.hash(0, "blockhash")?;
    match chain.invalidate(&hash) {
        Ok(()) => Ok(Value::Null),
        Err(Error::BlockNotFound(_)) => Err(block_not_found()),
        Err(e) => Err(RpcError::new(code::DATABASE_ERROR, e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regtest_difficulty_matches_core() {
        let d = difficulty(CompactTarget::from_consensus(0x207f_ffff));
        assert!((d - 4.656542373906925e-10).abs() < 1e-24);
        assert_eq!(difficulty(CompactTarget::from_consensus(0x1d00_ffff)), 1.0);
    }
}
