//! Smaller methods bitcoind clients commonly call: submitblock, getchaintips,
//! decoderawtransaction, getdifficulty, getconnectioncount, ping.

use bitcoin::consensus::deserialize;
use bitcoin::Block;
use serde_json::{json, Value};

use crate::chain::RegtestChain;
use crate::error::Error;
use crate::rpc::blockchain::difficulty;
use crate::rpc::params::Args;
use crate::rpc::protocol::{code, Params, RpcError};
use crate::rpc::script_json;
use crate::rpc::transactions::decode_tx;

/// Like Core, the verdict is the result (`null` when accepted), not a JSON-RPC error.
pub(crate) fn submitblock(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(
        params,
        &["hexdata", "dummy"],
        1,
        "submitblock \"hexdata\" ( \"dummy\" )\n\nAttempts to submit new block to network.",
    )?;
    let block: Block = hex::decode(args.str(0)?)
        .ok()
        .and_then(|bytes| deserialize(&bytes).ok())
        .ok_or_else(|| RpcError::new(code::DESERIALIZATION_ERROR, "Block decode failed"))?;
    match chain.submit_block(&block) {
        Ok(_) => Ok(Value::Null),
        Err(Error::DuplicateBlock) => Ok(json!("duplicate")),
        Err(Error::NotOnActiveChain(_)) => Ok(json!("inconclusive")),
        Err(Error::BlockRejected { reason, .. }) => Ok(json!(reason)),
        Err(e) => Err(RpcError::new(code::MISC_ERROR, e.to_string())),
    }
}

pub(crate) fn getchaintips(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    Args::new(
        params,
        &[],
        0,
        "getchaintips\n\nReturn information about all known tips in the block tree.",
    )?;
    let tip = chain.tip();
    Ok(
        json!([{ "height": tip.height, "hash": tip.hash.to_string(), "branchlen": 0, "status": "active" }]),
    )
}

pub(crate) fn decoderawtransaction(
    _chain: &RegtestChain,
    params: Params,
) -> Result<Value, RpcError> {
    let args = Args::new(params, &["hexstring", "iswitness"], 1, "decoderawtransaction \"hexstring\" ( iswitness )\n\nReturn a JSON object representing the serialized, hex-encoded transaction.")?;
    let tx = decode_tx(args.str(0)?)
        .ok_or_else(|| RpcError::new(code::DESERIALIZATION_ERROR, "TX decode failed"))?;
    Ok(Value::Object(script_json::transaction(&tx, false)))
}

pub(crate) fn getdifficulty(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    Args::new(params, &[], 0, "getdifficulty\n\nReturns the proof-of-work difficulty as a multiple of the minimum difficulty.")?;
    let tip = chain.tip();
    let header = chain.header(&tip.hash).map(|h| h.header.bits);
    Ok(json!(header.map(difficulty).unwrap_or(0.0)))
}

pub(crate) fn getconnectioncount(_chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    Args::new(
        params,
        &[],
        0,
        "getconnectioncount\n\nReturns the number of connections to other nodes.",
    )?;
    Ok(json!(0))
}

pub(crate) fn ping(_chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    Args::new(params, &[], 0, "ping\n\nRequests that a ping be sent to all other nodes.")?;
    Ok(Value::Null)
}
