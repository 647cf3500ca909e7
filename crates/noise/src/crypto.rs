//! The three primitives BOLT 8 is built from: SHA-256, HKDF-SHA-256 with 64 bytes of output, and
//! ChaCha20-Poly1305 (RFC 8439) with Noise's little-endian nonce.
//!
//! `ring` provides all three: measured in `benches/noise.rs`, its AEAD is several times faster
//! than RustCrypto's on this hardware, and its HMAC keeps the handshake cheap.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use ring::{digest, hmac};

/// Length of a Poly1305 tag.
pub const MAC_LEN: usize = 16;

/// SHA-256 of the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// `HKDF(salt, ikm)` as BOLT 8 defines it: RFC 5869 extract-and-expand with an empty `info`,
/// returning the two 32-byte halves of the 64-byte output.
pub(crate) fn hkdf(salt: &[u8; 32], ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let prk = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, salt), ikm);
    let prk = hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref());
    let t1 = hmac::sign(&prk, &[1u8]);
    let mut ctx = hmac::Context::with_key(&prk);
    ctx.update(t1.as_ref());
    ctx.update(&[2u8]);
    let t2 = ctx.sign();
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    a.copy_from_slice(t1.as_ref());
    b.copy_from_slice(t2.as_ref());
    (a, b)
}

/// Noise's nonce encoding: 32 zero bits, then the 64-bit counter little-endian.
fn nonce(n: u64) -> Nonce {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&n.to_le_bytes());
    Nonce::assume_unique_for_key(bytes)
}

/// A ChaCha20-Poly1305 key.
pub(crate) struct CipherKey(LessSafeKey);

/// The AEAD rejected a ciphertext.
#[derive(Debug)]
pub(crate) struct TagMismatch;

impl CipherKey {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, key)
            .expect("ChaCha20-Poly1305 takes a 32-byte key");
        CipherKey(LessSafeKey::new(unbound))
    }

    /// Encrypts `buf` in place and returns its tag.
    pub(crate) fn seal(&self, n: u64, ad: &[u8], buf: &mut [u8]) -> [u8; MAC_LEN] {
        let tag = self
            .0
            .seal_in_place_separate_tag(nonce(n), Aad::from(ad), buf)
            // ring fails only for inputs longer than ChaCha20's 256 GiB block-counter limit;
            // BOLT 8 messages are at most 64 KiB.
            .expect("sealing at most 64 KiB cannot fail");
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Decrypts `buf` (ciphertext followed by its 16-byte tag) in place; on success the first
    /// `buf.len() - 16` bytes hold the plaintext.
    pub(crate) fn open(&self, n: u64, ad: &[u8], buf: &mut [u8]) -> Result<usize, TagMismatch> {
        let plain = self.0.open_in_place(nonce(n), Aad::from(ad), buf).map_err(|_| TagMismatch)?;
        Ok(plain.len())
    }
}
