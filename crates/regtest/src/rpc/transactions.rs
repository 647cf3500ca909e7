//! Transaction and mempool methods: getrawtransaction, gettxout, sendrawtransaction,
//! testmempoolaccept, getrawmempool, getmempoolentry, getmempoolinfo, estimatesmartfee.

use bitcoin::consensus::deserialize;
use bitcoin::{Amount, BlockHash, OutPoint, Transaction, Txid};
use serde_json::{json, Map, Value};

use crate::chain::{MempoolEntryInfo, RegtestChain};
use crate::error::MempoolReject;
use crate::rpc::params::Args;
use crate::rpc::protocol::{code, Params, RpcError};
use crate::rpc::script_json;

/// Core's default `maxfeerate` for sendrawtransaction/testmempoolaccept: 0.10 BTC/kvB.
const DEFAULT_MAX_FEERATE_PER_KVB: u64 = 10_000_000;

pub(crate) fn decode_tx(hex_str: &str) -> Option<Transaction> {
    let bytes = hex::decode(hex_str).ok()?;
    deserialize(&bytes).ok()
}

fn max_feerate(args: &Args, i: usize) -> Result<Option<u64>, RpcError> {
    let Some(btc_per_kvb) = args.opt_f64(i)? else { return Ok(Some(DEFAULT_MAX_FEERATE_PER_KVB)) };
    let sat = Amount::from_btc(btc_per_kvb)
        .map_err(|_| RpcError::new(code::TYPE_ERROR, "Amount out of range"))?;
    Ok(Some(sat.to_sat()))
}

pub(crate) fn getrawtransaction(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(params, &["txid", "verbosity|verbose", "blockhash"], 1, "getrawtransaction \"txid\" ( verbosity \"blockhash\" )\n\nBy default, this call only returns a transaction if it is in the mempool. (This server keeps a transaction index, so confirmed transactions are found too.)")?;
    let txid: Txid = args.hash(0, "parameter 1")?;
    let verbosity = args.verbosity(1, 0)?;
    let in_block: Option<BlockHash> = match args.opt_str(2)? {
        Some(s) => Some(crate::rpc::params::parse_hash(s, "parameter 3")?),
        None => None,
    };
    if let Some(hash) = in_block {
        if chain.header(&hash).is_none() {
            return Err(RpcError::new(code::INVALID_ADDRESS_OR_KEY, "Block hash not found"));
        }
    }
    let found = chain.transaction(&txid).filter(|info| match in_block {
        Some(hash) => info.block.as_ref().map(|b| b.hash) == Some(hash),
        None => true,
    });
    let Some(info) = found else {
        let msg = if in_block.is_some() {
            "No such transaction found in the provided block. Use gettransaction for wallet transactions."
        } else {
            "No such mempool or blockchain transaction. Use gettransaction for wallet transactions."
        };
        return Err(RpcError::new(code::INVALID_ADDRESS_OR_KEY, msg));
    };
    if verbosity <= 0 {
        return Ok(json!(bitcoin::consensus::encode::serialize_hex(&info.tx)));
    }
    let mut obj = script_json::transaction(&info.tx, true);
    if in_block.is_some() {
        obj.insert("in_active_chain".into(), json!(true));
    }
    if let Some(block) = info.block {
        obj.insert("blockhash".into(), json!(block.hash.to_string()));
        obj.insert("confirmations".into(), json!(block.confirmations));
        obj.insert("time".into(), json!(block.header.time));
        obj.insert("blocktime".into(), json!(block.header.time));
    }
    Ok(Value::Object(obj))
}

pub(crate) fn gettxout(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(params, &["txid", "n", "include_mempool"], 2, "gettxout \"txid\" n ( include_mempool )\n\nReturns details about an unspent transaction output.")?;
    let txid: Txid = args.hash(0, "txid")?;
    let Ok(vout) = u32::try_from(args.i64(1)?) else { return Ok(Value::Null) };
    let include_mempool = args.opt_bool(2)?.unwrap_or(true);
    let Some(out) = chain.tx_out(&OutPoint { txid, vout }, include_mempool) else {
        return Ok(Value::Null);
    };
    Ok(json!({
        "bestblock": out.best_block.to_string(),
        "confirmations": out.confirmations,
        "value": out.txout.value.to_btc(),
        "scriptPubKey": script_json::script_pubkey(&out.txout.script_pubkey),
        "coinbase": out.coinbase,
    }))
}

fn reject_error(reject: &MempoolReject) -> RpcError {
    RpcError::new(reject.rpc_code(), reject.to_string())
}

pub(crate) fn sendrawtransaction(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(params, &["hexstring", "maxfeerate", "maxburnamount"], 1, "sendrawtransaction \"hexstring\" ( maxfeerate maxburnamount )\n\nSubmit a raw transaction (serialized, hex-encoded) to local node and network.")?;
    let tx = decode_tx(args.str(0)?).ok_or_else(|| {
        RpcError::new(
            code::DESERIALIZATION_ERROR,
            "TX decode failed. Make sure the tx has at least one input.",
        )
    })?;
    let max = max_feerate(&args, 1)?;
    let max_burn = match args.opt_f64(2)? {
        Some(btc) => Amount::from_btc(btc)
            .map_err(|_| RpcError::new(code::TYPE_ERROR, "Amount out of range"))?,
        None => Amount::ZERO,
    };
    let burns = tx.output.iter().any(|o| {
        (o.script_pubkey.is_op_return() || o.script_pubkey.len() > 10_000) && o.value > max_burn
    });
    if burns {
        return Err(reject_error(&MempoolReject::MaxBurnExceeded));
    }
    match chain.submit_tx_with_max_feerate(tx, max) {
        Ok(txid) => Ok(json!(txid.to_string())),
        Err(reject) => Err(reject_error(&reject)),
    }
}

pub(crate) fn testmempoolaccept(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(params, &["rawtxs", "maxfeerate"], 1, "testmempoolaccept [\"rawtx\",...] ( maxfeerate )\n\nReturns result of mempool acceptance tests indicating if raw transaction(s) (serialized, hex-encoded) would be accepted by mempool.")?;
    let raw = args.array(0)?;
    if raw.is_empty() || raw.len() > 25 {
        return Err(RpcError::new(
            code::INVALID_PARAMETER,
            "Array must contain between 1 and 25 transactions.",
        ));
    }
    let max = max_feerate(&args, 1)?;
    let mut txs = Vec::with_capacity(raw.len());
    for item in raw {
        let s = item.as_str().ok_or_else(|| crate::rpc::params::type_error(item, "string"))?;
        let tx = decode_tx(s).ok_or_else(|| {
            RpcError::new(
                code::DESERIALIZATION_ERROR,
                format!("TX decode failed: {s} Make sure the tx has at least one input."),
            )
        })?;
        txs.push(tx);
    }
    let ids: Vec<(Txid, bitcoin::Wtxid)> =
        txs.iter().map(|tx| (tx.compute_txid(), tx.compute_wtxid())).collect();
    let outcomes = chain.test_package(txs, max);
    let results = ids.into_iter().zip(outcomes).map(|((txid, wtxid), outcome)| {
        let mut obj = Map::new();
        obj.insert("txid".into(), json!(txid.to_string()));
        obj.insert("wtxid".into(), json!(wtxid.to_string()));
        match outcome {
            Ok(acc) => {
                obj.insert("allowed".into(), json!(true));
                obj.insert("vsize".into(), json!(acc.vsize));
                let rate =
                    Amount::from_sat(acc.fee.to_sat().saturating_mul(1000) / acc.vsize.max(1));
                obj.insert(
                    "fees".into(),
                    json!({
                        "base": acc.fee.to_btc(),
                        "effective-feerate": rate.to_btc(),
                        "effective-includes": [wtxid.to_string()],
                    }),
                );
            }
            Err(reject) => {
                obj.insert("allowed".into(), json!(false));
                obj.insert("reject-reason".into(), json!(reject.reject_reason()));
            }
        }
        Value::Object(obj)
    });
    Ok(Value::Array(results.collect()))
}

/// Core's `entryToJSON`.
fn entry_json(info: &MempoolEntryInfo) -> Value {
    let e = &info.entry;
    let depends: Vec<String> = e.parents.iter().map(|t| t.to_string()).collect();
    let spent_by: Vec<String> = info.spent_by.iter().map(|t| t.to_string()).collect();
    json!({
        "vsize": e.vsize,
        "weight": e.weight,
        "time": e.time,
        "height": e.height,
        "descendantcount": info.descendant.0,
        "descendantsize": info.descendant.1,
        "ancestorcount": info.ancestor.0,
        "ancestorsize": info.ancestor.1,
        "wtxid": e.wtxid.to_string(),
        "fees": {
            "base": e.fee.to_btc(),
            "modified": e.fee.to_btc(),
            "ancestor": info.ancestor.2.to_btc(),
            "descendant": info.descendant.2.to_btc(),
        },
        "depends": depends,
        "spentby": spent_by,
        "bip125-replaceable": false,
        "unbroadcast": false,
    })
}

pub(crate) fn getrawmempool(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(params, &["verbose", "mempool_sequence"], 0, "getrawmempool ( verbose mempool_sequence )\n\nReturns all transaction ids in memory pool as a json array of string transaction ids.")?;
    let verbose = args.opt_bool(0)?.unwrap_or(false);
    let txids = chain.mempool_txids();
    if !verbose {
        let ids: Vec<String> = txids.iter().map(|t| t.to_string()).collect();
        if args.opt_bool(1)?.unwrap_or(false) {
            return Ok(json!({ "txids": ids, "mempool_sequence": 0 }));
        }
        return Ok(json!(ids));
    }
    let mut obj = Map::new();
    for txid in txids {
        if let Some(info) = chain.mempool_entry(&txid) {
            obj.insert(txid.to_string(), entry_json(&info));
        }
    }
    Ok(Value::Object(obj))
}

pub(crate) fn getmempoolentry(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(
        params,
        &["txid"],
        1,
        "getmempoolentry \"txid\"\n\nReturns mempool data for given transaction",
    )?;
    let txid: Txid = args.hash(0, "parameter 1")?;
    let info = chain
        .mempool_entry(&txid)
        .ok_or_else(|| RpcError::new(code::INVALID_ADDRESS_OR_KEY, "Transaction not in mempool"))?;
    Ok(entry_json(&info))
}

pub(crate) fn getmempoolinfo(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    Args::new(
        params,
        &[],
        0,
        "getmempoolinfo\n\nReturns details on the active state of the TX memory pool.",
    )?;
    let info = chain.mempool_info();
    Ok(json!({
        "loaded": true,
        "size": info.size,
        "bytes": info.bytes,
        "usage": info.bytes,
        "total_fee": info.total_fee.to_btc(),
        "maxmempool": 300_000_000u64,
        "mempoolminfee": 0.00001,
        "minrelaytxfee": 0.00001,
        "incrementalrelayfee": 0.00001,
        "unbroadcastcount": 0,
        "fullrbf": false,
    }))
}

pub(crate) fn estimatesmartfee(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(params, &["conf_target", "estimate_mode"], 1, "estimatesmartfee conf_target ( \"estimate_mode\" )\n\nEstimates the approximate fee per kilobyte needed for a transaction to begin confirmation within conf_target blocks if possible.")?;
    let target = args.i64(0)?;
    let target =
        u16::try_from(target).ok().filter(|t| (1..=1008).contains(t)).ok_or_else(|| {
            RpcError::new(
                code::INVALID_PARAMETER,
                "Invalid conf_target, must be between 1 and 1008",
            )
        })?;
    if let Some(mode) = args.opt_str(1)? {
        if !["unset", "economical", "conservative"].contains(&mode.to_ascii_lowercase().as_str()) {
            return Err(RpcError::new(code::INVALID_PARAMETER, "Invalid estimate_mode parameter, must be one of: \"unset\", \"economical\", \"conservative\""));
        }
    }
    let estimate = chain.estimate_fee(target);
    Ok(json!({
        "feerate": Amount::from_sat(estimate.feerate_per_kvb).to_btc(),
        "blocks": estimate.blocks,
    }))
}
