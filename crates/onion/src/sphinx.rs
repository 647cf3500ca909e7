//! The Sphinx primitives of BOLT 4: shared secrets, key derivation, the ChaCha20 stream and
//! HMACs. Packet construction, peeling and failure messages are built from these.

use bitcoin::hashes::{hmac, sha256, Hash, HashEngine};
use bitcoin::secp256k1::{ecdh, PublicKey, SecretKey};
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20::ChaCha20;
use core::fmt;

/// The 32-byte secret a hop shares with the origin node: SHA-256 of the compressed ECDH point
/// (BOLT 4 "Shared Secret"). Every key of the hop, forward and backward, derives from it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SharedSecret(pub [u8; 32]);

impl SharedSecret {
    /// ECDH between a public key and a secret key, hashed with SHA-256 as BOLT 4 requires
    /// (libsecp256k1's default ECDH hash is exactly SHA-256 of the compressed point).
    pub fn new(point: &PublicKey, scalar: &SecretKey) -> SharedSecret {
        SharedSecret(ecdh::SharedSecret::new(point, scalar).secret_bytes())
    }

    /// The raw secret.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// One of the keys BOLT 4 derives from this secret.
    pub fn key(&self, key_type: KeyType) -> [u8; 32] {
        derive_key(key_type, &self.0)
    }
}

/// Secrets are not printed; the type name is enough to read a test failure.
impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}

/// The key types of BOLT 4 "Key Generation" (plus `ammag` and `ammagext` from "Returning
/// Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// Obfuscates the hop payloads.
    Rho,
    /// Authenticates the forward packet.
    Mu,
    /// Authenticates a failure message.
    Um,
    /// Generates the packet's initial random filling (keyed with the session key).
    Pad,
    /// Obfuscates a failure message on its way back.
    Ammag,
    /// Obfuscates `attribution_data` on its way back (BOLT 4 "Returning Errors").
    AmmagExt,
}

impl KeyType {
    /// The HMAC key naming this key type: ASCII, with no terminating zero byte.
    pub fn label(self) -> &'static [u8] {
        match self {
            KeyType::Rho => b"rho",
            KeyType::Mu => b"mu",
            KeyType::Um => b"um",
            KeyType::Pad => b"pad",
            KeyType::Ammag => b"ammag",
            KeyType::AmmagExt => b"ammagext",
        }
    }
}

/// BOLT 4 key generation: HMAC-SHA256 keyed with the key type's label over the 32-byte secret.
pub fn derive_key(key_type: KeyType, secret: &[u8; 32]) -> [u8; 32] {
    hmac_sha256(key_type.label(), &[secret])
}

/// HMAC-SHA256 of the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut engine = hmac::HmacEngine::<sha256::Hash>::new(key);
    for part in parts {
        engine.input(part);
    }
    hmac::Hmac::<sha256::Hash>::from_engine(engine).to_byte_array()
}

/// SHA-256 of the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    for part in parts {
        engine.input(part);
    }
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// A ChaCha20 keystream with the all-zero 96-bit nonce (BOLT 4 "Pseudo Random Byte Stream").
/// A fixed nonce is safe because every key is used for one stream only.
pub(crate) struct Stream(ChaCha20);

impl Stream {
    /// The stream for `key`, positioned at its first byte.
    pub(crate) fn new(key: &[u8; 32]) -> Stream {
        Stream(ChaCha20::new(key.into(), &[0u8; 12].into()))
    }

    /// The stream for `key`, positioned `offset` bytes in.
    pub(crate) fn at(key: &[u8; 32], offset: usize) -> Stream {
        let mut stream = Stream::new(key);
        // The offsets used here are below 2 * 1300 bytes, far inside ChaCha20's 256 GiB limit.
        stream.0.seek(offset as u64);
        stream
    }

    /// XORs the next `data.len()` bytes of the stream into `data`.
    pub(crate) fn apply(&mut self, data: &mut [u8]) {
        self.0.apply_keystream(data);
    }
}

/// XORs the stream of `key`, from its start, into `data`.
pub(crate) fn xor_stream(key: &[u8; 32], data: &mut [u8]) {
    Stream::new(key).apply(data);
}

/// Compares two MACs in time independent of where they differ (BOLT 4: "MUST use a constant
/// time comparison").
pub(crate) fn macs_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// BOLT 4 "Blinding Ephemeral Onion Keys": SHA-256 of the compressed ephemeral public key and
/// the shared secret.
pub(crate) fn blinding_factor(ephemeral_key: &[u8; 33], secret: &SharedSecret) -> [u8; 32] {
    sha256(&[ephemeral_key, &secret.0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_at_offset_matches_the_tail_of_the_whole_stream() {
        let key = [7u8; 32];
        let mut whole = [0u8; 200];
        xor_stream(&key, &mut whole);
        let mut tail = [0u8; 77];
        Stream::at(&key, 123).apply(&mut tail);
        assert_eq!(&whole[123..], &tail[..]);
    }

    #[test]
    fn mac_comparison() {
        let a = [1u8; 32];
        let mut b = a;
        assert!(macs_equal(&a, &b));
        b[31] ^= 1;
        assert!(!macs_equal(&a, &b));
    }
}
