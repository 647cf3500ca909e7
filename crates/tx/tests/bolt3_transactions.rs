//! BOLT 3 Appendix B (funding), C (static_remotekey commitments and HTLC transactions) and
//! F (anchors), every transaction byte-exact including both sides' signatures, parsed from
//! the spec text.

mod common;

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use bitcoin::sighash::EcdsaSighashType;
use bitcoin::{Amount, OutPoint, Transaction, Txid};
use common::*;
use shandian_tx::commitment::obscuring_factor;
use shandian_tx::htlc_tx::{counterparty_htlc_sighash, htlc_tx_witness};
use shandian_tx::keys::{derive_privkey, per_commitment_point};
use shandian_tx::sighash::sign_p2wsh;
use shandian_tx::*;
use shandian_types::{CltvExpiry, FeeratePerKw, Msat, PaymentHash, PaymentPreimage};
use std::str::FromStr;

/// The common parameters of Appendix C (also used by F).
struct Params {
    secp: Secp256k1<All>,
    funding_txid: Txid,
    funding_amount: Amount,
    commitment_number: u64,
    to_self_delay: u16,
    local_funding_key: SecretKey,
    remote_funding_key: SecretKey,
    local_htlc_key: SecretKey,
    remote_htlc_key: SecretKey,
    keys: CommitmentKeys,
    obscuring_factor: u64,
    htlcs: Vec<(Htlc, PaymentPreimage)>,
}

fn params() -> Params {
    let secp = Secp256k1::new();
    let c = appendix(&bolt3(), "# Appendix C");
    let header = &c[..c.find("name: simple commitment").unwrap()];
    let f = fields(header);
    let point = pubkey(field(&f, "local_per_commitment_point"));
    let secret = h32(field(&f, "x_local_per_commitment_secret"));
    assert_eq!(per_commitment_point(&secp, &secret).unwrap(), point);

    let keys = CommitmentKeys {
        per_commitment_point: point,
        revocation_pubkey: pubkey(field(&f, "local_revocation_pubkey")),
        local_htlc_pubkey: pubkey(field(&f, "local_htlcpubkey")),
        remote_htlc_pubkey: pubkey(field(&f, "remote_htlcpubkey")),
        local_delayed_pubkey: pubkey(field(&f, "local_delayedpubkey")),
        remote_payment_pubkey: pubkey(field(&f, "remote_payment_basepoint")),
    };
    // The keys derive from the basepoints as BOLT 3 says (local revocation and remote
    // delayed basepoints play no part in the local commitment; any key will do).
    let unused = pubkey(field(&f, "local_funding_pubkey"));
    let owner = ChannelPublicKeys {
        funding_pubkey: unused,
        revocation_basepoint: unused,
        payment_basepoint: pubkey(field(&f, "local_payment_basepoint")),
        delayed_payment_basepoint: pubkey(field(&f, "local_delayed_payment_basepoint")),
        htlc_basepoint: pubkey(field(&f, "local_htlc_basepoint")),
    };
    let other = ChannelPublicKeys {
        funding_pubkey: unused,
        revocation_basepoint: pubkey(field(&f, "remote_revocation_basepoint")),
        payment_basepoint: pubkey(field(&f, "remote_payment_basepoint")),
        delayed_payment_basepoint: unused,
        htlc_basepoint: pubkey(field(&f, "remote_htlc_basepoint")),
    };
    assert_eq!(CommitmentKeys::derive(&secp, &point, &owner, &other).unwrap(), keys);

    // The HTLC basepoints equal the payment basepoints in these vectors.
    let local_htlc_key =
        derive_privkey(&secp, &seckey(field(&f, "local_payment_basepoint_secret")), &point)
            .unwrap();
    assert_eq!(PublicKey::from_secret_key(&secp, &local_htlc_key), keys.local_htlc_pubkey);
    let remote_htlc_key =
        derive_privkey(&secp, &seckey(field(&f, "remote_payment_basepoint_secret")), &point)
            .unwrap();
    assert_eq!(PublicKey::from_secret_key(&secp, &remote_htlc_key), keys.remote_htlc_pubkey);

    let local_funding_key = seckey(field(&f, "local_funding_privkey"));
    let remote_funding_key = seckey(field(&f, "remote_funding_privkey"));
    assert_eq!(
        PublicKey::from_secret_key(&secp, &local_funding_key),
        pubkey(field(&f, "local_funding_pubkey"))
    );
    assert_eq!(
        PublicKey::from_secret_key(&secp, &remote_funding_key),
        pubkey(field(&f, "remote_funding_pubkey"))
    );

    let factor = obscuring_factor(
        &pubkey(field(&f, "local_payment_basepoint")),
        &pubkey(field(&f, "remote_payment_basepoint")),
    );
    assert_eq!(factor, 0x2bb0_3852_1914);

    let htlcs = (0..7)
        .map(|i| {
            let get = |what: &str| field(&f, &format!("htlc {i} {what}")).to_string();
            let preimage = PaymentPreimage(h32(&get("payment_preimage")));
            let direction = match get("direction").as_str() {
                "remote->local" => HtlcDirection::Received,
                "local->remote" => HtlcDirection::Offered,
                other => panic!("direction {other}"),
            };
            let htlc = Htlc {
                direction,
                amount: Msat(get("amount_msat").parse().unwrap()),
                payment_hash: PaymentHash(sha256::Hash::hash(&preimage.0).to_byte_array()),
                cltv_expiry: CltvExpiry(get("expiry").parse().unwrap()),
            };
            (htlc, preimage)
        })
        .collect();

    Params {
        funding_txid: Txid::from_str(field(&f, "funding_tx_id")).unwrap(),
        funding_amount: Amount::from_sat(field(&f, "funding_amount_satoshi").parse().unwrap()),
        commitment_number: field(&f, "commitment_number").parse().unwrap(),
        to_self_delay: field(&f, "local_delay").parse().unwrap(),
        secp,
        local_funding_key,
        remote_funding_key,
        local_htlc_key,
        remote_htlc_key,
        keys,
        obscuring_factor: factor,
        htlcs,
    }
}

/// The HTLCs a named case uses: none, #1/#5/#6 for the "same amount and preimage" case,
/// else #0 to #4.
fn case_htlcs(p: &Params, name: &str, use_htlcs: bool) -> Vec<(Htlc, PaymentPreimage)> {
    let picks: &[usize] = if !use_htlcs {
        &[]
    } else if name.contains("same amount and preimage") {
        &[1, 5, 6]
    } else {
        &[0, 1, 2, 3, 4]
    };
    picks.iter().map(|i| p.htlcs[*i]).collect()
}

fn spec(
    p: &Params,
    channel_type: ChannelType,
    to_local: u64,
    to_remote: u64,
    feerate: u32,
    dust: u64,
    htlcs: &[(Htlc, PaymentPreimage)],
) -> CommitmentSpec {
    CommitmentSpec {
        channel_type,
        funding_outpoint: OutPoint { txid: p.funding_txid, vout: 0 },
        funding_amount: p.funding_amount,
        local_funding_pubkey: PublicKey::from_secret_key(&p.secp, &p.local_funding_key),
        remote_funding_pubkey: PublicKey::from_secret_key(&p.secp, &p.remote_funding_key),
        commitment_number: p.commitment_number,
        obscuring_factor: p.obscuring_factor,
        feerate: FeeratePerKw(feerate),
        to_local: Msat(to_local),
        to_remote: Msat(to_remote),
        htlcs: htlcs.iter().map(|(h, _)| *h).collect(),
        funder: Side::Local,
        dust_limit: Amount::from_sat(dust),
        to_self_delay: p.to_self_delay,
        keys: p.keys,
    }
}

/// Signs the commitment with both funding keys; returns (signed tx, local sig, remote sig).
fn sign_commitment(p: &Params, c: &CommitmentTx) -> (Transaction, String, String) {
    let script = c.spec.funding_script();
    let sign = |key: &SecretKey| {
        sign_p2wsh(&p.secp, &c.tx, 0, &script, c.spec.funding_amount, EcdsaSighashType::All, key)
            .unwrap()
    };
    let (local, remote) = (sign(&p.local_funding_key), sign(&p.remote_funding_key));
    let funding = Funding {
        outpoint: c.spec.funding_outpoint,
        amount: c.spec.funding_amount,
        local_pubkey: c.spec.local_funding_pubkey,
        remote_pubkey: c.spec.remote_funding_pubkey,
    };
    let mut tx = c.tx.clone();
    tx.input[0].witness = funding.witness(&local, &remote);
    (tx, hex::encode(local.serialize_der()), hex::encode(remote.serialize_der()))
}

/// Signs HTLC transaction `i` with both HTLC keys; returns (signed tx, remote sig).
fn sign_htlc(
    p: &Params,
    c: &CommitmentTx,
    i: usize,
    htlcs: &[(Htlc, PaymentPreimage)],
) -> (Transaction, String, String) {
    let out = &c.htlc_outputs[i];
    let mut tx = c.htlc_tx(i).unwrap();
    let value = out.htlc.amount.to_sat_floor();
    let remote_flag = counterparty_htlc_sighash(c.spec.channel_type);
    let remote =
        sign_p2wsh(&p.secp, &tx, 0, &out.witness_script, value, remote_flag, &p.remote_htlc_key)
            .unwrap();
    let local = sign_p2wsh(
        &p.secp,
        &tx,
        0,
        &out.witness_script,
        value,
        EcdsaSighashType::All,
        &p.local_htlc_key,
    )
    .unwrap();
    let preimage = htlcs[out.spec_index].1;
    tx.input[0].witness =
        htlc_tx_witness(out, c.spec.channel_type, &remote, &local, Some(&preimage)).unwrap();
    (tx, hex::encode(remote.serialize_der()), hex::encode(local.serialize_der()))
}

#[test]
fn appendix_c_static_remotekey() {
    let p = params();
    let c = appendix(&bolt3(), "# Appendix C");
    let cases: Vec<&str> = c.split("\n    name: ").skip(1).collect();
    assert_eq!(cases.len(), 16);
    let mut htlc_txs_checked = 0;
    for case in cases {
        let name = case.lines().next().unwrap();
        let f = fields(case);
        let num_htlcs: usize = field(&f, "num_htlcs").parse().unwrap();
        let htlcs = case_htlcs(&p, name, !name.contains("no HTLCs"));
        let s = spec(
            &p,
            ChannelType::StaticRemoteKey,
            field(&f, "to_local_msat").parse().unwrap(),
            field(&f, "to_remote_msat").parse().unwrap(),
            field(&f, "local_feerate_per_kw").parse().unwrap(),
            546,
            &htlcs,
        );
        let built = s.build().unwrap();
        // Most cases state the base and actual fees; the last one does not.
        for (key, value) in &f {
            if key == "base commitment transaction fee" {
                assert_eq!(built.base_fee.to_sat().to_string(), *value, "{name}");
            }
            if key == "actual commitment transaction fee" {
                assert_eq!(built.fee.to_sat().to_string(), *value, "{name}");
            }
        }
        assert_eq!(built.htlc_outputs.len(), num_htlcs, "{name}");
        let (tx, local_sig, remote_sig) = sign_commitment(&p, &built);
        assert_eq!(local_sig, field(&f, "local_signature"), "{name}");
        assert_eq!(remote_sig, field(&f, "remote_signature"), "{name}");
        assert_eq!(serialize_hex(&tx), field(&f, "output commit_tx"), "{name}");

        let remote_sigs: Vec<_> = f.iter().filter(|(k, _)| k == "remote_htlc_signature").collect();
        let local_sigs: Vec<_> = f.iter().filter(|(k, _)| k == "local_htlc_signature").collect();
        let txs: Vec<_> = f
            .iter()
            .filter(|(k, _)| k.starts_with("htlc_success_tx") || k.starts_with("htlc_timeout_tx"))
            .collect();
        assert_eq!(txs.len(), num_htlcs, "{name}");
        for i in 0..num_htlcs {
            let (htlc_tx, remote, local) = sign_htlc(&p, &built, i, &htlcs);
            let kind = match built.htlc_outputs[i].htlc.direction {
                HtlcDirection::Offered => "htlc_timeout_tx",
                HtlcDirection::Received => "htlc_success_tx",
            };
            assert!(txs[i].0.starts_with(kind), "{name} #{i}");
            assert_eq!(remote, remote_sigs[i].1, "{name} #{i}");
            assert_eq!(local, local_sigs[i].1, "{name} #{i}");
            assert_eq!(serialize_hex(&htlc_tx), txs[i].1, "{name} #{i}");
            htlc_txs_checked += 1;
        }
    }
    assert_eq!(htlc_txs_checked, 5 + 5 + 4 + 4 + 3 + 3 + 2 + 2 + 1 + 1 + 3);
}

#[test]
fn appendix_f_anchors() {
    let p = params();
    let text = appendix(&bolt3(), "# Appendix F");
    let start = text.find("```yaml").unwrap() + "```yaml".len();
    let end = start + text[start..].find("```").unwrap();
    let cases: serde_json::Value = serde_json::from_str(&text[start..end]).unwrap();
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for case in cases {
        let name = case["Name"].as_str().unwrap();
        let htlcs = case_htlcs(&p, name, case["UseTestHtlcs"].as_bool().unwrap());
        let s = spec(
            &p,
            ChannelType::AnchorsZeroFeeHtlcTx,
            case["LocalBalance"].as_u64().unwrap(),
            case["RemoteBalance"].as_u64().unwrap(),
            case["FeePerKw"].as_u64().unwrap() as u32,
            case["DustLimitSatoshis"].as_u64().unwrap(),
            &htlcs,
        );
        let built = s.build().unwrap();
        let (tx, _, remote_sig) = sign_commitment(&p, &built);
        assert_eq!(remote_sig, case["RemoteSigHex"].as_str().unwrap(), "{name}");
        assert_eq!(serialize_hex(&tx), case["ExpectedCommitmentTxHex"].as_str().unwrap(), "{name}");
        let descs = case["HtlcDescs"].as_array().unwrap();
        assert_eq!(descs.len(), built.htlc_outputs.len(), "{name}");
        for (i, desc) in descs.iter().enumerate() {
            let (htlc_tx, remote, _) = sign_htlc(&p, &built, i, &htlcs);
            assert_eq!(remote, desc["RemoteSigHex"].as_str().unwrap(), "{name} #{i}");
            assert_eq!(
                serialize_hex(&htlc_tx),
                desc["ResolutionTxHex"].as_str().unwrap(),
                "{name} #{i}"
            );
        }
    }
}

#[test]
fn appendix_b_funding() {
    use bitcoin::consensus::deserialize;
    use bitcoin::secp256k1::Message;
    use bitcoin::sighash::SighashCache;
    use bitcoin::transaction::Version;
    use bitcoin::{absolute, ScriptBuf, Sequence, TxIn, TxOut, Witness};

    let secp = Secp256k1::new();
    let b = appendix(&bolt3(), "# Appendix B");
    let f = fields(&b);
    let funding = Funding {
        outpoint: OutPoint::null(),
        amount: Amount::from_sat(field(&f, "funding satoshis").parse().unwrap()),
        local_pubkey: pubkey(field(&f, "local_funding_pubkey")),
        remote_pubkey: pubkey(field(&f, "remote_funding_pubkey")),
    };
    assert_eq!(
        hex::encode(funding.witness_script().as_bytes()),
        field(&f, "funding witness script")
    );
    let coinbase: Transaction =
        deserialize(&unhex(field(&f, "Block 1 coinbase transaction"))).unwrap();
    let key = seckey(field(&f, "Block 1 coinbase privkey"));
    let pk = bitcoin::CompressedPublicKey(PublicKey::from_secret_key(&secp, &key));
    let spent = &coinbase.output[0];
    assert_eq!(spent.value.to_sat().to_string(), field(&f, "input satoshis"));
    let mut outputs = vec![
        funding.txout(),
        TxOut {
            value: Amount::from_sat(field(&f, "change satoshis").parse().unwrap()),
            script_pubkey: ScriptBuf::new_p2wpkh(&pk.wpubkey_hash()),
        },
    ];
    // BIP 69: by value, then script.
    outputs.sort_by(|a, b| {
        (a.value, a.script_pubkey.as_bytes()).cmp(&(b.value, b.script_pubkey.as_bytes()))
    });
    let mut tx = Transaction {
        version: Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint { txid: coinbase.compute_txid(), vout: 0 },
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: outputs,
    };
    assert_eq!(tx.input[0].previous_output.txid.to_string(), field(&f, "input txid"));
    let hash = SighashCache::new(&tx).legacy_signature_hash(0, &spent.script_pubkey, 1).unwrap();
    let sig = secp.sign_ecdsa(&Message::from(hash), &key);
    let sig = bitcoin::ecdsa::Signature::sighash_all(sig);
    tx.input[0].script_sig = bitcoin::script::Builder::new()
        .push_slice(sig.serialize())
        .push_slice(pk.to_bytes())
        .into_script();
    assert_eq!(serialize_hex(&tx), field(&f, "funding tx"));
    assert_eq!(tx.compute_txid().to_string(), field(&f, "txid"));
    let funding_output = tx.output.iter().position(|o| *o == funding.txout()).unwrap();
    assert_eq!(funding_output.to_string(), field(&f, "funding output"));
}
