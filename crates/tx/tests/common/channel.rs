//! Two signers with a channel between them, and their commitments.

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{All, Secp256k1};
use bitcoin::{Amount, OutPoint, Txid};
use shandian_tx::commitment::obscuring_factor;
use shandian_tx::*;
use shandian_types::{CltvExpiry, FeeratePerKw, Msat, PaymentHash, PaymentPreimage};

pub struct Pair {
    pub secp: Secp256k1<All>,
    /// The funder.
    pub a: InMemorySigner,
    pub b: InMemorySigner,
    pub funding_outpoint: OutPoint,
    pub funding_amount: Amount,
    pub channel_type: ChannelType,
    pub to_self_delay: u16,
}

pub fn preimage(i: u8) -> PaymentPreimage {
    PaymentPreimage([i; 32])
}

pub fn hash(i: u8) -> PaymentHash {
    PaymentHash(sha256::Hash::hash(&[i; 32]).to_byte_array())
}

impl Pair {
    pub fn new(channel_type: ChannelType) -> Pair {
        Pair {
            secp: Secp256k1::new(),
            a: InMemorySigner::from_node_seed(&[1; 32], 0).unwrap(),
            b: InMemorySigner::from_node_seed(&[2; 32], 7).unwrap(),
            funding_outpoint: OutPoint { txid: Txid::from_byte_array([9; 32]), vout: 1 },
            funding_amount: Amount::from_sat(10_000_000),
            channel_type,
            to_self_delay: 144,
        }
    }

    /// The commitment owned by `a` (if `owner_is_a`) or `b`, number `n`, with HTLCs given from
    /// A's point of view (direction Offered = offered by A).
    pub fn commitment(
        &self,
        owner_is_a: bool,
        n: u64,
        a_balance: Msat,
        htlcs_from_a: &[Htlc],
        feerate: u32,
    ) -> CommitmentTx {
        self.try_commitment(owner_is_a, n, a_balance, htlcs_from_a, feerate).unwrap()
    }

    pub fn try_commitment(
        &self,
        owner_is_a: bool,
        n: u64,
        a_balance: Msat,
        htlcs_from_a: &[Htlc],
        feerate: u32,
    ) -> Result<CommitmentTx, Error> {
        let (owner, other) = if owner_is_a { (&self.a, &self.b) } else { (&self.b, &self.a) };
        let point = owner.per_commitment_point(n).unwrap();
        let keys =
            CommitmentKeys::derive(&self.secp, &point, owner.pubkeys(), other.pubkeys()).unwrap();
        let in_htlcs: u64 = htlcs_from_a.iter().map(|h| h.amount.0).sum();
        let total = self.funding_amount.to_sat() * 1000;
        let b_balance = Msat(total - a_balance.0 - in_htlcs);
        let flip = |d: HtlcDirection| match d {
            HtlcDirection::Offered => HtlcDirection::Received,
            HtlcDirection::Received => HtlcDirection::Offered,
        };
        let htlcs = htlcs_from_a
            .iter()
            .map(|h| Htlc {
                direction: if owner_is_a { h.direction } else { flip(h.direction) },
                ..*h
            })
            .collect();
        let (to_local, to_remote) =
            if owner_is_a { (a_balance, b_balance) } else { (b_balance, a_balance) };
        CommitmentSpec {
            channel_type: self.channel_type,
            funding_outpoint: self.funding_outpoint,
            funding_amount: self.funding_amount,
            local_funding_pubkey: owner.pubkeys().funding_pubkey,
            remote_funding_pubkey: other.pubkeys().funding_pubkey,
            commitment_number: n,
            obscuring_factor: obscuring_factor(
                &self.a.pubkeys().payment_basepoint,
                &self.b.pubkeys().payment_basepoint,
            ),
            feerate: FeeratePerKw(feerate),
            to_local,
            to_remote,
            htlcs,
            funder: if owner_is_a { Side::Local } else { Side::Remote },
            dust_limit: Amount::from_sat(546),
            to_self_delay: self.to_self_delay,
            keys,
        }
        .build()
    }
}

/// Four HTLCs: two offered by A, two by B, above the dust limit at moderate feerates.
pub fn sample_htlcs() -> Vec<Htlc> {
    let mk = |i: u8, direction, sat: u64, cltv: u32| Htlc {
        direction,
        amount: Msat(sat * 1000),
        payment_hash: hash(i),
        cltv_expiry: CltvExpiry(cltv),
    };
    vec![
        mk(1, HtlcDirection::Offered, 20_000, 600),
        mk(2, HtlcDirection::Received, 30_000, 610),
        mk(3, HtlcDirection::Offered, 40_000, 620),
        mk(4, HtlcDirection::Received, 50_000, 630),
    ]
}
