//! Builds commitment, HTLC, sweep and closing transactions from arbitrary amounts, feerates,
//! dust limits and HTLC sets (values a peer influences), and feeds arbitrary secrets to the
//! shachain store. Nothing may panic; a commitment that builds accounts for every satoshi.
#![no_main]

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::{Amount, OutPoint, ScriptBuf, Txid};
use libfuzzer_sys::fuzz_target;
use shandian_tx::shachain::ShachainStore;
use shandian_tx::{
    ChannelType, ClosingOutput, ClosingSpec, CommitmentKeys, CommitmentSpec, Htlc, HtlcDirection,
    Side,
};
use shandian_types::{CltvExpiry, FeeratePerKw, Msat, PaymentHash};

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u64(&mut self) -> u64 {
        let mut buf = [0u8; 8];
        let n = self.0.len().min(8);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        u64::from_le_bytes(buf)
    }
}

fn key(byte: u8) -> PublicKey {
    let secp = Secp256k1::signing_only();
    PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[byte.max(1); 32]).unwrap())
}

fuzz_target!(|data: &[u8]| {
    let mut b = Bytes(data);
    let flags = b.u64();
    let channel_type = if flags & 1 == 0 {
        ChannelType::StaticRemoteKey
    } else {
        ChannelType::AnchorsZeroFeeHtlcTx
    };
    let keys = CommitmentKeys {
        per_commitment_point: key(1),
        revocation_pubkey: key(2),
        local_htlc_pubkey: key(3),
        remote_htlc_pubkey: key(4),
        local_delayed_pubkey: key(5),
        remote_payment_pubkey: key(6),
    };
    let funding = b.u64();
    let n = (b.u64() % 32) as usize;
    let htlcs = (0..n)
        .map(|i| Htlc {
            direction: if b.u64() & 1 == 0 { HtlcDirection::Offered } else { HtlcDirection::Received },
            amount: Msat(b.u64()),
            payment_hash: PaymentHash([i as u8; 32]),
            cltv_expiry: CltvExpiry(b.u64() as u32),
        })
        .collect();
    let spec = CommitmentSpec {
        channel_type,
        funding_outpoint: OutPoint { txid: Txid::all_zeros(), vout: 0 },
        funding_amount: Amount::from_sat(funding),
        local_funding_pubkey: key(7),
        remote_funding_pubkey: key(8),
        commitment_number: b.u64(),
        obscuring_factor: b.u64(),
        feerate: FeeratePerKw(b.u64() as u32),
        to_local: Msat(b.u64()),
        to_remote: Msat(b.u64()),
        htlcs,
        funder: if flags & 2 == 0 { Side::Local } else { Side::Remote },
        dust_limit: Amount::from_sat(b.u64()),
        to_self_delay: b.u64() as u16,
        keys,
    };
    if let Ok(c) = spec.build() {
        let outputs = c.tx.output.iter().map(|o| o.value.to_sat()).sum::<u64>();
        assert_eq!(outputs + c.fee.to_sat(), funding);
        let _ = c.htlc_txs();
        if let Ok(inputs) = c.justice_inputs([3; 32]) {
            let sweep = shandian_tx::Sweep {
                inputs,
                destination: ScriptBuf::new_op_return([0u8; 4]),
                feerate: FeeratePerKw(b.u64() as u32),
                min_locktime: 0,
            };
            let _ = sweep.build();
        }
    }
    let closing = ClosingSpec {
        funding_outpoint: OutPoint::null(),
        local: Some(ClosingOutput { script_pubkey: ScriptBuf::new(), balance: Msat(b.u64()) }),
        remote: Some(ClosingOutput { script_pubkey: ScriptBuf::new(), balance: Msat(b.u64()) }),
        fee: Amount::from_sat(b.u64()),
        fee_payer: Side::Local,
        dust_limit: Amount::from_sat(b.u64()),
    };
    let _ = closing.legacy_tx();
    let mut store = ShachainStore::new();
    while !b.0.is_empty() {
        let index = b.u64();
        let mut secret = [0u8; 32];
        for chunk in secret.chunks_mut(8) {
            chunk.copy_from_slice(&b.u64().to_le_bytes());
        }
        let _ = store.insert(index, secret);
        let _ = store.get(index);
    }
});
