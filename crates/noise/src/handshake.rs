//! The BOLT 8 `Noise_XK` handshake, one struct per state.
//!
//! ```text
//! initiator                                   responder
//! Initiator::new ──act_one()──▶ 50 bytes ──▶ Responder::new(..).read_act_one()
//! InitiatorActTwo ◀──────────── 50 bytes ◀── (act two, ResponderActThree)
//! read_act_two() ─────────────▶ 66 bytes ──▶ ResponderActThree::read_act_three()
//! Transport                                   (Transport, initiator's static key)
//! ```
//!
//! Each transition consumes its state, so a handshake can neither be replayed nor resumed
//! after a failure. Ephemeral keys are passed in: this crate draws no randomness.

use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};

use crate::crypto::{hkdf, sha256, CipherKey, MAC_LEN};
use crate::error::{Act, Error};
use crate::transport::Transport;

/// Size of act one (1-byte version, 33-byte ephemeral key, 16-byte tag).
pub const ACT_ONE_LEN: usize = 50;
/// Size of act two (same layout as act one).
pub const ACT_TWO_LEN: usize = 50;
/// Size of act three (1-byte version, 33-byte encrypted static key + 16-byte tag, 16-byte tag).
pub const ACT_THREE_LEN: usize = 66;

const PROTOCOL_NAME: &[u8] = b"Noise_XK_secp256k1_ChaChaPoly_SHA256";
const PROLOGUE: &[u8] = b"lightning";
/// BOLT 8: the only handshake version; any other MUST be rejected.
const VERSION: u8 = 0;

/// The running `ck` (chaining key) and `h` (handshake hash).
struct Symmetric {
    ck: [u8; 32],
    h: [u8; 32],
}

impl Symmetric {
    /// BOLT 8 "Handshake State Initialization", ending with the responder's static key mixed in.
    fn new(responder_static: &PublicKey) -> Self {
        let h = sha256(&[PROTOCOL_NAME]);
        let ck = h;
        let h = sha256(&[&h, PROLOGUE]);
        let mut state = Symmetric { ck, h };
        state.mix_hash(&responder_static.serialize());
        state
    }

    fn mix_hash(&mut self, data: &[u8]) {
        self.h = sha256(&[&self.h, data]);
    }

    /// `ck, temp_k = HKDF(ck, ikm)`; returns `temp_k`.
    fn mix_key(&mut self, ikm: &[u8]) -> [u8; 32] {
        let (ck, temp_k) = hkdf(&self.ck, ikm);
        self.ck = ck;
        temp_k
    }

    /// `encryptWithAD(temp_k, n, h, plaintext)` for a zero-length plaintext: just the tag.
    fn tag(&self, temp_k: &[u8; 32], n: u64) -> [u8; MAC_LEN] {
        CipherKey::new(temp_k).seal(n, &self.h, &mut [])
    }

    fn check_tag(&self, temp_k: &[u8; 32], n: u64, tag: &[u8; MAC_LEN]) -> bool {
        let mut buf = *tag;
        CipherKey::new(temp_k).open(n, &self.h, &mut buf).is_ok()
    }

    /// `sk, rk = HKDF(ck, zero)` (initiator's view) and the transport built from them.
    fn split(&self, initiator: bool) -> Transport {
        let (k1, k2) = hkdf(&self.ck, &[]);
        if initiator {
            Transport::from_keys(self.ck, k1, k2)
        } else {
            Transport::from_keys(self.ck, k2, k1)
        }
    }
}

/// `ECDH(k, rk)`: SHA-256 of the compressed shared point, which is libsecp256k1's default.
fn ecdh(secret: &SecretKey, point: &PublicKey) -> [u8; 32] {
    SharedSecret::new(point, secret).secret_bytes()
}

/// Splits a `0 || pubkey || tag` act (one or two) and checks its version and key.
fn parse_key_act(act: Act, bytes: &[u8]) -> Result<(PublicKey, [u8; MAC_LEN]), Error> {
    let m: &[u8; ACT_ONE_LEN] = bytes.try_into().map_err(|_| Error::ActLength {
        act,
        expected: ACT_ONE_LEN,
        got: bytes.len(),
    })?;
    check_version(act, m[0])?;
    let re = PublicKey::from_slice(&m[1..34]).map_err(|_| Error::BadPublicKey { act })?;
    let mut tag = [0u8; MAC_LEN];
    tag.copy_from_slice(&m[34..]);
    Ok((re, tag))
}

/// BOLT 8: if `v` is an unrecognized handshake version, MUST abort the connection attempt.
fn check_version(act: Act, version: u8) -> Result<(), Error> {
    if version == VERSION {
        Ok(())
    } else {
        Err(Error::BadVersion { act, version })
    }
}

fn key_act(key: &PublicKey, tag: &[u8; MAC_LEN]) -> [u8; ACT_ONE_LEN] {
    let mut m = [0u8; ACT_ONE_LEN];
    m[0] = VERSION;
    m[1..34].copy_from_slice(&key.serialize());
    m[34..].copy_from_slice(tag);
    m
}

/// The initiator before act one: knows its static key, the responder's static key and its
/// ephemeral key.
pub struct Initiator {
    local_secret: SecretKey,
    local_public: PublicKey,
    remote_static: PublicKey,
    ephemeral_secret: SecretKey,
    ephemeral_public: PublicKey,
}

impl Initiator {
    /// Prepares a handshake with `remote_static` (the responder's node id). `ephemeral` MUST be
    /// fresh, strongly random key material for every connection (BOLT 8).
    pub fn new<C: Signing>(
        secp: &Secp256k1<C>,
        local_secret: SecretKey,
        remote_static: PublicKey,
        ephemeral: SecretKey,
    ) -> Self {
        Initiator {
            local_public: PublicKey::from_secret_key(secp, &local_secret),
            local_secret,
            remote_static,
            ephemeral_public: PublicKey::from_secret_key(secp, &ephemeral),
            ephemeral_secret: ephemeral,
        }
    }

    /// Act one (`-> e, es`): the 50 bytes to send, and the state awaiting act two.
    pub fn act_one(self) -> ([u8; ACT_ONE_LEN], InitiatorActTwo) {
        let mut state = Symmetric::new(&self.remote_static);
        state.mix_hash(&self.ephemeral_public.serialize());
        let es = ecdh(&self.ephemeral_secret, &self.remote_static);
        let temp_k1 = state.mix_key(&es);
        let c = state.tag(&temp_k1, 0);
        state.mix_hash(&c);
        let act = key_act(&self.ephemeral_public, &c);
        let next = InitiatorActTwo {
            state,
            local_secret: self.local_secret,
            local_public: self.local_public,
            remote_static: self.remote_static,
            ephemeral_secret: self.ephemeral_secret,
        };
        (act, next)
    }
}

/// The initiator after sending act one, waiting for the responder's act two.
pub struct InitiatorActTwo {
    state: Symmetric,
    local_secret: SecretKey,
    local_public: PublicKey,
    remote_static: PublicKey,
    ephemeral_secret: SecretKey,
}

impl InitiatorActTwo {
    /// The responder this handshake authenticates.
    pub fn remote_static(&self) -> PublicKey {
        self.remote_static
    }

    /// Reads act two (`<- e, ee`) and produces act three (`-> s, se`) and the transport.
    ///
    /// BOLT 8: on any error the initiator MUST close the connection without sending anything.
    pub fn read_act_two(mut self, act: &[u8]) -> Result<([u8; ACT_THREE_LEN], Transport), Error> {
        let (re, c) = parse_key_act(Act::Two, act)?;
        let state = &mut self.state;
        state.mix_hash(&re.serialize());
        let ee = ecdh(&self.ephemeral_secret, &re);
        let temp_k2 = state.mix_key(&ee);
        if !state.check_tag(&temp_k2, 0, &c) {
            return Err(Error::BadTag { act: Act::Two });
        }
        state.mix_hash(&c);

        // Act three.
        let mut c = [0u8; 33 + MAC_LEN];
        let (enc_key, key_tag) = c.split_at_mut(33);
        enc_key.copy_from_slice(&self.local_public.serialize());
        key_tag.copy_from_slice(&CipherKey::new(&temp_k2).seal(1, &state.h, enc_key));
        state.mix_hash(&c);
        let se = ecdh(&self.local_secret, &re);
        let temp_k3 = state.mix_key(&se);
        let mut out = [0u8; ACT_THREE_LEN];
        out[0] = VERSION;
        out[1..50].copy_from_slice(&c);
        out[50..].copy_from_slice(&state.tag(&temp_k3, 0));
        Ok((out, state.split(true)))
    }
}

/// The responder before act one: knows its static key and the ephemeral key it will use.
pub struct Responder {
    local_secret: SecretKey,
    local_public: PublicKey,
    ephemeral_secret: SecretKey,
    ephemeral_public: PublicKey,
}

impl Responder {
    /// Prepares to answer one inbound connection. `ephemeral` MUST be fresh, strongly random
    /// key material for every connection (BOLT 8).
    pub fn new<C: Signing>(
        secp: &Secp256k1<C>,
        local_secret: SecretKey,
        ephemeral: SecretKey,
    ) -> Self {
        Responder {
            local_public: PublicKey::from_secret_key(secp, &local_secret),
            local_secret,
            ephemeral_public: PublicKey::from_secret_key(secp, &ephemeral),
            ephemeral_secret: ephemeral,
        }
    }

    /// Reads act one (`-> e, es`) and produces act two (`<- e, ee`).
    ///
    /// BOLT 8: on any error the responder MUST close the connection without further messages.
    pub fn read_act_one(self, act: &[u8]) -> Result<([u8; ACT_TWO_LEN], ResponderActThree), Error> {
        let (re, c) = parse_key_act(Act::One, act)?;
        let mut state = Symmetric::new(&self.local_public);
        state.mix_hash(&re.serialize());
        let es = ecdh(&self.local_secret, &re);
        let temp_k1 = state.mix_key(&es);
        if !state.check_tag(&temp_k1, 0, &c) {
            return Err(Error::BadTag { act: Act::One });
        }
        state.mix_hash(&c);

        // Act two.
        state.mix_hash(&self.ephemeral_public.serialize());
        let ee = ecdh(&self.ephemeral_secret, &re);
        let temp_k2 = state.mix_key(&ee);
        let c = state.tag(&temp_k2, 0);
        state.mix_hash(&c);
        let act = key_act(&self.ephemeral_public, &c);
        let next = ResponderActThree { state, temp_k2, ephemeral_secret: self.ephemeral_secret };
        Ok((act, next))
    }
}

/// The responder after sending act two, waiting for the initiator's act three.
pub struct ResponderActThree {
    state: Symmetric,
    temp_k2: [u8; 32],
    ephemeral_secret: SecretKey,
}

impl ResponderActThree {
    /// Reads act three (`-> s, se`): the transport and the initiator's static key (its node id).
    ///
    /// BOLT 8: on any error the responder MUST close the connection without further messages.
    pub fn read_act_three(mut self, act: &[u8]) -> Result<(Transport, PublicKey), Error> {
        let m: &[u8; ACT_THREE_LEN] = act.try_into().map_err(|_| Error::ActLength {
            act: Act::Three,
            expected: ACT_THREE_LEN,
            got: act.len(),
        })?;
        check_version(Act::Three, m[0])?;
        let (c, t) = m[1..].split_at(33 + MAC_LEN);
        let state = &mut self.state;

        let mut key = [0u8; 33 + MAC_LEN];
        key.copy_from_slice(c);
        CipherKey::new(&self.temp_k2)
            .open(1, &state.h, &mut key)
            .map_err(|_| Error::BadStaticKeyCiphertext)?;
        let rs = PublicKey::from_slice(&key[..33])
            .map_err(|_| Error::BadPublicKey { act: Act::Three })?;
        state.mix_hash(c);
        let se = ecdh(&self.ephemeral_secret, &rs);
        let temp_k3 = state.mix_key(&se);
        let mut tag = [0u8; MAC_LEN];
        tag.copy_from_slice(t);
        if !state.check_tag(&temp_k3, 0, &tag) {
            return Err(Error::BadTag { act: Act::Three });
        }
        Ok((state.split(false), rs))
    }
}
