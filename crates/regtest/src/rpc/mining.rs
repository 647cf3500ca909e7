//! Mining and node methods: generatetoaddress, generateblock, getnetworkinfo, uptime.

use std::str::FromStr;

use bitcoin::{Address, Network, ScriptBuf, Transaction, Txid};
use serde_json::{json, Value};

use crate::chain::RegtestChain;
use crate::error::Error;
use crate::rpc::params::Args;
use crate::rpc::protocol::{code, Params, RpcError};
use crate::rpc::transactions::decode_tx;

fn parse_address(s: &str) -> Option<ScriptBuf> {
    let addr = Address::from_str(s).ok()?.require_network(Network::Regtest).ok()?;
    Some(addr.script_pubkey())
}

/// An address, or the descriptors `addr(ADDRESS)` and `raw(HEX)` (checksum optional).
fn parse_output(s: &str) -> Option<ScriptBuf> {
    let body = s.split_once('#').map_or(s, |(d, _)| d);
    if let Some(inner) = body.strip_prefix("addr(").and_then(|r| r.strip_suffix(')')) {
        return parse_address(inner);
    }
    if let Some(inner) = body.strip_prefix("raw(").and_then(|r| r.strip_suffix(')')) {
        return hex::decode(inner).ok().map(ScriptBuf::from_bytes);
    }
    parse_address(s)
}

fn mining_error(e: Error) -> RpcError {
    match e {
        Error::BlockRejected { reason, .. } => {
            RpcError::new(code::VERIFY_ERROR, format!("TestBlockValidity failed: {reason}"))
        }
        other => RpcError::new(code::MISC_ERROR, other.to_string()),
    }
}

pub(crate) fn generatetoaddress(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(params, &["nblocks", "address", "maxtries"], 2, "generatetoaddress nblocks \"address\" ( maxtries )\n\nMine to a specified address and return the block hashes.")?;
    let n = args.i64(0)?;
    let script = parse_address(args.str(1)?)
        .ok_or_else(|| RpcError::new(code::INVALID_ADDRESS_OR_KEY, "Error: Invalid address"))?;
    args.opt_i64(2)?;
    let n = u32::try_from(n.max(0)).unwrap_or(u32::MAX);
    let hashes = chain.mine(n, &script).map_err(mining_error)?;
    Ok(json!(hashes.iter().map(|h| h.to_string()).collect::<Vec<_>>()))
}

fn resolve_tx(chain: &RegtestChain, s: &str) -> Result<Transaction, RpcError> {
    if s.len() == 64 {
        if let Ok(txid) = Txid::from_str(s) {
            return chain
                .transaction(&txid)
                .filter(|info| info.block.is_none())
                .map(|info| info.tx)
                .ok_or_else(|| {
                    RpcError::new(
                        code::INVALID_ADDRESS_OR_KEY,
                        format!("Transaction {s} not in mempool."),
                    )
                });
        }
    }
    decode_tx(s).ok_or_else(|| {
        RpcError::new(
            code::DESERIALIZATION_ERROR,
            format!("Transaction decode failed for {s}. Make sure the tx has at least one input."),
        )
    })
}

pub(crate) fn generateblock(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    let args = Args::new(params, &["output", "transactions", "submit"], 2, "generateblock \"output\" [\"rawtx/txid\",...] ( submit )\n\nMine a set of ordered transactions to a specified address or descriptor and return the block hash.")?;
    let script = parse_output(args.str(0)?).ok_or_else(|| {
        RpcError::new(code::INVALID_ADDRESS_OR_KEY, "Error: Invalid address or descriptor")
    })?;
    let mut txs = Vec::new();
    for item in args.array(1)? {
        let s = item.as_str().ok_or_else(|| crate::rpc::params::type_error(item, "string"))?;
        txs.push(resolve_tx(chain, s)?);
    }
    let submit = args.opt_bool(2)?.unwrap_or(true);
    let block = chain.create_block(&script, Some(txs)).map_err(mining_error)?;
    let hash = block.block_hash();
    if !submit {
        return Ok(json!({
            "hash": hash.to_string(),
            "hex": bitcoin::consensus::encode::serialize_hex(&block),
        }));
    }
    chain.submit_block(&block).map_err(mining_error)?;
    Ok(json!({ "hash": hash.to_string() }))
}

pub(crate) fn getnetworkinfo(_chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    Args::new(params, &[], 0, "getnetworkinfo\n\nReturns an object containing various state info regarding P2P networking.")?;
    Ok(json!({
        "version": 280000,
        "subversion": concat!("/Shandian:", env!("CARGO_PKG_VERSION"), "/"),
        "protocolversion": 70016,
        "localservices": "0000000000000409",
        "localservicesnames": ["NETWORK", "WITNESS", "NETWORK_LIMITED"],
        "localrelay": true,
        "timeoffset": 0,
        "networkactive": true,
        "connections": 0,
        "connections_in": 0,
        "connections_out": 0,
        "networks": [],
        "relayfee": 0.00001,
        "incrementalfee": 0.00001,
        "localaddresses": [],
        "warnings": [],
    }))
}

pub(crate) fn uptime(chain: &RegtestChain, params: Params) -> Result<Value, RpcError> {
    Args::new(params, &[], 0, "uptime\n\nReturns the total uptime of the server.")?;
    Ok(json!(chain.uptime()))
}
