//! The encrypted, length-prefixed message stream that follows the handshake.
//!
//! On the wire each message is `encrypted length (2) || MAC (16) || encrypted body || MAC (16)`.
//! A reader first decrypts the 18-byte header with [`Decryptor::decrypt_length`], then reads
//! exactly `length + 16` more bytes and decrypts them with [`Decryptor::decrypt_body`].

use crate::crypto::{hkdf, CipherKey, MAC_LEN};
use crate::error::Error;

/// Size of the encrypted length header: the 2-byte length and its MAC.
pub const LENGTH_HEADER_LEN: usize = 2 + MAC_LEN;
/// BOLT 8: the maximum size of any Lightning message.
pub const MAX_MESSAGE_LEN: usize = 65535;
/// BOLT 8: a key is rotated once its nonce reaches 1000 (every 500 messages).
const ROTATE_AT: u64 = 1000;

/// One direction's key, nonce and chaining key.
struct CipherState {
    ck: [u8; 32],
    k: [u8; 32],
    key: CipherKey,
    n: u64,
}

impl CipherState {
    fn new(ck: [u8; 32], k: [u8; 32]) -> Self {
        CipherState { ck, k, key: CipherKey::new(&k), n: 0 }
    }

    /// BOLT 8: the nonce MUST be incremented after each use; once it reaches 1000,
    /// `ck', k' = HKDF(ck, k)` and the nonce restarts at 0.
    fn advance(&mut self) {
        self.n += 1;
        if self.n == ROTATE_AT {
            let (ck, k) = hkdf(&self.ck, &self.k);
            *self = CipherState::new(ck, k);
        }
    }

    fn seal(&mut self, buf: &mut [u8]) -> [u8; MAC_LEN] {
        let tag = self.key.seal(self.n, &[], buf);
        self.advance();
        tag
    }

    fn open(&mut self, buf: &mut [u8]) -> Option<usize> {
        let len = self.key.open(self.n, &[], buf).ok()?;
        self.advance();
        Some(len)
    }
}

/// The sending half of a transport.
pub struct Encryptor {
    state: CipherState,
}

impl Encryptor {
    /// Appends the encrypted form of `message` (`LENGTH_HEADER_LEN + message.len() + 16` bytes)
    /// to `out`.
    pub fn encrypt(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        // BOLT 8: the maximum size of any Lightning message MUST NOT exceed 65535 bytes.
        let len = u16::try_from(message.len()).map_err(|_| Error::MessageTooLong(message.len()))?;
        let start = out.len();
        out.reserve(LENGTH_HEADER_LEN + message.len() + MAC_LEN);
        out.extend_from_slice(&len.to_be_bytes());
        let tag = self.state.seal(&mut out[start..]);
        out.extend_from_slice(&tag);
        let body = out.len();
        out.extend_from_slice(message);
        let tag = self.state.seal(&mut out[body..]);
        out.extend_from_slice(&tag);
        Ok(())
    }
}

/// The receiving half of a transport.
///
/// Calls must alternate `decrypt_length`, `decrypt_body`. Any authentication failure is
/// permanent: the nonces are out of step with the peer and the connection must be closed.
pub struct Decryptor {
    state: CipherState,
    pending_body: Option<u16>,
    failed: bool,
}

impl Decryptor {
    /// Decrypts an 18-byte length header and returns the body length `l`; the caller then reads
    /// exactly `l + 16` bytes for [`Decryptor::decrypt_body`].
    pub fn decrypt_length(&mut self, header: &[u8]) -> Result<u16, Error> {
        self.usable()?;
        if self.pending_body.is_some() {
            return Err(Error::BodyPending);
        }
        let mut buf: [u8; LENGTH_HEADER_LEN] =
            header.try_into().map_err(|_| Error::HeaderLength(header.len()))?;
        if self.state.open(&mut buf).is_none() {
            self.failed = true;
            return Err(Error::BadHeaderTag);
        }
        let len = u16::from_be_bytes([buf[0], buf[1]]);
        self.pending_body = Some(len);
        Ok(len)
    }

    /// Decrypts a body (ciphertext and MAC, `l + 16` bytes) in place and returns the plaintext.
    pub fn decrypt_body<'a>(&mut self, ciphertext: &'a mut [u8]) -> Result<&'a [u8], Error> {
        self.usable()?;
        let len = self.pending_body.ok_or(Error::NoPendingBody)?;
        let expected = usize::from(len) + MAC_LEN;
        if ciphertext.len() != expected {
            return Err(Error::BodyLength { expected, got: ciphertext.len() });
        }
        match self.state.open(ciphertext) {
            Some(plain_len) => {
                self.pending_body = None;
                Ok(&ciphertext[..plain_len])
            }
            None => {
                self.failed = true;
                Err(Error::BadBodyTag)
            }
        }
    }

    /// The body length announced by the last decrypted header, if its body is still awaited.
    pub fn pending_body_len(&self) -> Option<u16> {
        self.pending_body
    }

    fn usable(&self) -> Result<(), Error> {
        if self.failed {
            Err(Error::Failed)
        } else {
            Ok(())
        }
    }
}

/// Both directions of an established BOLT 8 session.
pub struct Transport {
    encryptor: Encryptor,
    decryptor: Decryptor,
}

impl Transport {
    /// A transport from raw session keys; [`crate::Initiator`] and [`crate::Responder`] build
    /// it at the end of the handshake. Both directions start from the same chaining key `ck`.
    pub fn from_keys(ck: [u8; 32], sending_key: [u8; 32], receiving_key: [u8; 32]) -> Self {
        Transport {
            encryptor: Encryptor { state: CipherState::new(ck, sending_key) },
            decryptor: Decryptor {
                state: CipherState::new(ck, receiving_key),
                pending_body: None,
                failed: false,
            },
        }
    }

    /// Separates the two directions, e.g. for a reader task and a writer task.
    pub fn split(self) -> (Encryptor, Decryptor) {
        (self.encryptor, self.decryptor)
    }

    /// See [`Encryptor::encrypt`].
    pub fn encrypt(&mut self, message: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.encryptor.encrypt(message, out)
    }

    /// See [`Decryptor::decrypt_length`].
    pub fn decrypt_length(&mut self, header: &[u8]) -> Result<u16, Error> {
        self.decryptor.decrypt_length(header)
    }

    /// See [`Decryptor::decrypt_body`].
    pub fn decrypt_body<'a>(&mut self, ciphertext: &'a mut [u8]) -> Result<&'a [u8], Error> {
        self.decryptor.decrypt_body(ciphertext)
    }
}
