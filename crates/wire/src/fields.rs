//! Reading and writing the BOLT 1 "fundamental types" that need validation: `point`,
//! `signature`, `chain_hash`, `short_channel_id` and the 32-byte ids and hashes.
//!
//! Every reader validates what it returns, so an invalid point or signature is a
//! [`DecodeError`], never a panic later on.

use crate::error::DecodeError;
use crate::reader::Reader;
use crate::writer::WriteExt;
use bitcoin::constants::ChainHash;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::{Amount, ScriptBuf, Txid};
use shandian_types::{ChannelId, Msat, NodeId, PaymentHash, ShortChannelId};

/// Typed field reads on top of [`Reader`].
pub(crate) trait ReadFields<'a> {
    /// A 33-byte compressed point (BOLT 1 `point`), validated on the curve.
    fn read_point(&mut self) -> Result<PublicKey, DecodeError>;
    /// A node id: a validated `point`.
    fn read_node_id(&mut self) -> Result<NodeId, DecodeError>;
    /// A 64-byte compact ECDSA signature (BOLT 1 `signature`); `r` and `s` must be below the
    /// curve order.
    fn read_signature(&mut self) -> Result<Signature, DecodeError>;
    /// A `chain_hash`.
    fn read_chain_hash(&mut self) -> Result<ChainHash, DecodeError>;
    /// A `channel_id`.
    fn read_channel_id(&mut self) -> Result<ChannelId, DecodeError>;
    /// A `short_channel_id`.
    fn read_scid(&mut self) -> Result<ShortChannelId, DecodeError>;
    /// A `sha256` payment hash.
    fn read_payment_hash(&mut self) -> Result<PaymentHash, DecodeError>;
    /// A `sha256` transaction id, in the internal byte order Bitcoin serializes.
    fn read_txid(&mut self) -> Result<Txid, DecodeError>;
    /// A `u16`-prefixed script.
    fn read_script(&mut self) -> Result<ScriptBuf, DecodeError>;
    /// A `u64` amount of satoshis.
    fn read_sat(&mut self) -> Result<Amount, DecodeError>;
    /// A `u64` amount of millisatoshis.
    fn read_msat(&mut self) -> Result<Msat, DecodeError>;
}

impl<'a> ReadFields<'a> for Reader<'a> {
    fn read_point(&mut self) -> Result<PublicKey, DecodeError> {
        let bytes = self.read_bytes(33)?;
        PublicKey::from_slice(bytes).map_err(|_| DecodeError::InvalidPoint)
    }

    fn read_node_id(&mut self) -> Result<NodeId, DecodeError> {
        let bytes = self.read_bytes(33)?;
        NodeId::from_slice(bytes).map_err(|_| DecodeError::InvalidPoint)
    }

    fn read_signature(&mut self) -> Result<Signature, DecodeError> {
        let bytes = self.read_bytes(64)?;
        Signature::from_compact(bytes).map_err(|_| DecodeError::InvalidSignature)
    }

    fn read_chain_hash(&mut self) -> Result<ChainHash, DecodeError> {
        Ok(ChainHash::from(self.read_array::<32>()?))
    }

    fn read_channel_id(&mut self) -> Result<ChannelId, DecodeError> {
        Ok(ChannelId(self.read_array()?))
    }

    fn read_scid(&mut self) -> Result<ShortChannelId, DecodeError> {
        Ok(ShortChannelId(self.read_u64()?))
    }

    fn read_payment_hash(&mut self) -> Result<PaymentHash, DecodeError> {
        Ok(PaymentHash(self.read_array()?))
    }

    fn read_txid(&mut self) -> Result<Txid, DecodeError> {
        Ok(Txid::from_byte_array(self.read_array()?))
    }

    fn read_script(&mut self) -> Result<ScriptBuf, DecodeError> {
        Ok(ScriptBuf::from_bytes(self.read_u16_prefixed()?.to_vec()))
    }

    fn read_sat(&mut self) -> Result<Amount, DecodeError> {
        Ok(Amount::from_sat(self.read_u64()?))
    }

    fn read_msat(&mut self) -> Result<Msat, DecodeError> {
        Ok(Msat(self.read_u64()?))
    }
}

/// Typed field writes on top of [`WriteExt`].
pub(crate) trait WriteFields: WriteExt {
    /// Appends a compressed point.
    fn put_point(&mut self, point: &PublicKey);
    /// Appends a 64-byte compact signature.
    fn put_signature(&mut self, signature: &Signature);
    /// Appends a `chain_hash`.
    fn put_chain_hash(&mut self, chain_hash: &ChainHash);
    /// Appends a transaction id in Bitcoin's internal byte order.
    fn put_txid(&mut self, txid: &Txid);
    /// Appends a `u16` length and the bytes. A field longer than 65535 bytes cannot be part of
    /// a sendable message (BOLT 1: a whole message is at most 65535 bytes), so it is cut to
    /// its first 65535 bytes to keep the framing consistent; such a message is too long for
    /// the transport anyway.
    fn put_u16_prefixed_lossy(&mut self, bytes: &[u8]);
    /// Appends a `u16`-prefixed script.
    fn put_script(&mut self, script: &ScriptBuf) {
        self.put_u16_prefixed_lossy(script.as_bytes());
    }
}

impl WriteFields for Vec<u8> {
    fn put_point(&mut self, point: &PublicKey) {
        self.extend_from_slice(&point.serialize());
    }
    fn put_signature(&mut self, signature: &Signature) {
        self.extend_from_slice(&signature.serialize_compact());
    }
    fn put_chain_hash(&mut self, chain_hash: &ChainHash) {
        self.extend_from_slice(chain_hash.as_bytes());
    }
    fn put_txid(&mut self, txid: &Txid) {
        self.extend_from_slice(txid.as_byte_array());
    }
    fn put_u16_prefixed_lossy(&mut self, bytes: &[u8]) {
        let cut = bytes.get(..usize::from(u16::MAX)).unwrap_or(bytes);
        // Cannot fail: `cut` is at most 65535 bytes.
        let _ = self.put_u16_prefixed(cut);
    }
}
