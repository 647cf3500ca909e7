//! Scripts and transactions as Bitcoin Core's RPCs print them: `asm` in Core's notation, script
//! types by Core's names, inferred descriptors with their checksum, amounts in BTC.

use bitcoin::script::Instruction;
use bitcoin::{Address, Network, Script, Transaction};
use serde_json::{json, Map, Value};

use crate::rpc::descriptor::with_checksum;

/// Core's `ScriptToAsmStr`; `sighash_decode` prints signatures as `<hex>[ALL]` (scriptSigs).
pub(crate) fn asm(script: &Script, sighash_decode: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    for instruction in script.instructions() {
        match instruction {
            Ok(Instruction::PushBytes(bytes)) => {
                let bytes = bytes.as_bytes();
                if bytes.len() <= 4 {
                    parts.push(script_num(bytes).to_string());
                } else if sighash_decode && !script.is_op_return() {
                    parts.push(signature_or_hex(bytes));
                } else {
                    parts.push(hex::encode(bytes));
                }
            }
            Ok(Instruction::Op(op)) => parts.push(op_name(op)),
            Err(_) => {
                parts.push("[error]".to_owned());
                break;
            }
        }
    }
    parts.join(" ")
}

/// A minimally or non-minimally encoded script number of up to 4 bytes.
fn script_num(bytes: &[u8]) -> i64 {
    let Some((&last, _)) = bytes.split_last() else { return 0 };
    let mut value: i64 = 0;
    for (i, b) in bytes.iter().enumerate() {
        value |= i64::from(*b) << (8 * i);
    }
    if last & 0x80 != 0 {
        let shift = 8 * (bytes.len() - 1);
        -(value & !(0x80i64 << shift))
    } else {
        value
    }
}

fn signature_or_hex(bytes: &[u8]) -> String {
    match bitcoin::ecdsa::Signature::from_slice(bytes) {
        Ok(sig) => {
            let name = sig
                .sighash_type
                .to_string()
                .replace("SIGHASH_", "")
                .replace("_ANYONECANPAY", "|ANYONECANPAY");
            format!("{}[{}]", hex::encode(sig.signature.serialize_der()), name)
        }
        Err(_) => hex::encode(bytes),
    }
}

fn op_name(op: bitcoin::Opcode) -> String {
    use bitcoin::opcodes::all::*;
    let code = op.to_u8();
    if op == OP_PUSHNUM_NEG1 {
        return "-1".to_owned();
    }
    if (OP_PUSHNUM_1.to_u8()..=OP_PUSHNUM_16.to_u8()).contains(&code) {
        return (code - OP_PUSHNUM_1.to_u8() + 1).to_string();
    }
    if op == OP_CLTV {
        return "OP_CHECKLOCKTIMEVERIFY".to_owned();
    }
    if op == OP_CSV {
        return "OP_CHECKSEQUENCEVERIFY".to_owned();
    }
    let name = op.to_string();
    if name.starts_with("OP_RETURN_") {
        return "OP_UNKNOWN".to_owned();
    }
    name
}

/// Core's script type names.
pub(crate) fn script_type(script: &Script) -> &'static str {
    if script.is_p2pk() {
        "pubkey"
    } else if script.is_p2pkh() {
        "pubkeyhash"
    } else if script.is_p2sh() {
        "scripthash"
    } else if script.is_multisig() {
        "multisig"
    } else if script.is_op_return() {
        "nulldata"
    } else if script.is_p2wpkh() {
        "witness_v0_keyhash"
    } else if script.is_p2wsh() {
        "witness_v0_scripthash"
    } else if script.is_p2tr() {
        "witness_v1_taproot"
    } else if script.as_bytes() == [0x51, 0x02, 0x4e, 0x73] {
        "anchor"
    } else if script.is_witness_program() {
        "witness_unknown"
    } else {
        "nonstandard"
    }
}

/// `scriptPubKey` object: asm, desc, hex, address (when there is one), type.
pub(crate) fn script_pubkey(script: &Script) -> Value {
    let mut obj = Map::new();
    obj.insert("asm".into(), json!(asm(script, false)));
    let address = Address::from_script(script, Network::Regtest).ok();
    let desc = match (&address, script.p2pk_public_key()) {
        (Some(addr), _) => format!("addr({addr})"),
        (None, Some(pk)) => format!("pk({pk})"),
        (None, None) => format!("raw({})", hex::encode(script.as_bytes())),
    };
    obj.insert("desc".into(), json!(with_checksum(&desc)));
    obj.insert("hex".into(), json!(hex::encode(script.as_bytes())));
    if let Some(addr) = address {
        obj.insert("address".into(), json!(addr.to_string()));
    }
    obj.insert("type".into(), json!(script_type(script)));
    Value::Object(obj)
}

/// Core's `TxToUniv` (without prevouts or fee): the decoded transaction, with `hex` if asked.
pub(crate) fn transaction(tx: &Transaction, include_hex: bool) -> Map<String, Value> {
    let mut obj = Map::new();
    obj.insert("txid".into(), json!(tx.compute_txid().to_string()));
    obj.insert("hash".into(), json!(tx.compute_wtxid().to_string()));
    obj.insert("version".into(), json!(tx.version.0));
    obj.insert("size".into(), json!(tx.total_size()));
    obj.insert("vsize".into(), json!(tx.vsize()));
    obj.insert("weight".into(), json!(tx.weight().to_wu()));
    obj.insert("locktime".into(), json!(tx.lock_time.to_consensus_u32()));
    let vin: Vec<Value> = tx
        .input
        .iter()
        .map(|input| {
            let mut i = Map::new();
            if tx.is_coinbase() {
                i.insert("coinbase".into(), json!(hex::encode(input.script_sig.as_bytes())));
            } else {
                i.insert("txid".into(), json!(input.previous_output.txid.to_string()));
                i.insert("vout".into(), json!(input.previous_output.vout));
                i.insert(
                    "scriptSig".into(),
                    json!({
                        "asm": asm(&input.script_sig, true),
                        "hex": hex::encode(input.script_sig.as_bytes()),
                    }),
                );
            }
            if !input.witness.is_empty() {
                let items: Vec<String> = input.witness.iter().map(hex::encode).collect();
                i.insert("txinwitness".into(), json!(items));
            }
            i.insert("sequence".into(), json!(input.sequence.0));
            Value::Object(i)
        })
        .collect();
    obj.insert("vin".into(), Value::Array(vin));
    let vout: Vec<Value> = tx
        .output
        .iter()
        .enumerate()
        .map(|(n, out)| {
            json!({
                "value": out.value.to_btc(),
                "n": n,
                "scriptPubKey": script_pubkey(&out.script_pubkey),
            })
        })
        .collect();
    obj.insert("vout".into(), Value::Array(vout));
    if include_hex {
        obj.insert("hex".into(), json!(bitcoin::consensus::encode::serialize_hex(tx)));
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::ScriptBuf;

    #[test]
    fn asm_matches_core_notation() {
        let p2pkh =
            ScriptBuf::from_hex("76a91489abcdefabbaabbaabbaabbaabbaabbaabbaabba88ac").unwrap();
        assert_eq!(
            asm(&p2pkh, false),
            "OP_DUP OP_HASH160 89abcdefabbaabbaabbaabbaabbaabbaabbaabba OP_EQUALVERIFY OP_CHECKSIG"
        );
        // Small pushes print as numbers, OP_N as N, OP_0 as 0.
        let s = ScriptBuf::from_hex("0003a08601b1755193").unwrap();
        assert_eq!(asm(&s, false), "0 100000 OP_CHECKLOCKTIMEVERIFY OP_DROP 1 OP_ADD");
        assert_eq!(script_num(&[0x81]), -1);
        assert_eq!(script_num(&[0xff, 0x00]), 255);
    }

    #[test]
    fn types_match_core_names() {
        let p2wpkh = ScriptBuf::from_hex("001489abcdefabbaabbaabbaabbaabbaabbaabbaabba").unwrap();
        assert_eq!(script_type(&p2wpkh), "witness_v0_keyhash");
        let v = script_pubkey(&p2wpkh);
        assert!(v["address"].as_str().unwrap().starts_with("bcrt1q"));
        assert!(v["desc"].as_str().unwrap().starts_with("addr(bcrt1q"));
    }
}
