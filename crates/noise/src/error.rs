//! The one error type of this crate.

/// Which handshake act a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Act one: initiator → responder, `e, es`.
    One,
    /// Act two: responder → initiator, `e, ee`.
    Two,
    /// Act three: initiator → responder, `s, se`.
    Three,
}

impl core::fmt::Display for Act {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Act::One => f.write_str("act one"),
            Act::Two => f.write_str("act two"),
            Act::Three => f.write_str("act three"),
        }
    }
}

/// Everything that can go wrong in a BOLT 8 handshake or transport.
///
/// Every variant means the connection must be closed: BOLT 8 gives no way to recover.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A handshake act was not exactly its fixed size (50, 50 or 66 bytes).
    #[error("{act}: expected {expected} bytes, got {got}")]
    ActLength {
        /// The act being read.
        act: Act,
        /// Its fixed size.
        expected: usize,
        /// The number of bytes given.
        got: usize,
    },
    /// The act's leading version byte was not 0.
    #[error("{act}: unknown handshake version {version}")]
    BadVersion {
        /// The act being read.
        act: Act,
        /// The version byte received.
        version: u8,
    },
    /// The act carried bytes that are not a valid compressed secp256k1 public key.
    #[error("{act}: invalid public key")]
    BadPublicKey {
        /// The act being read.
        act: Act,
    },
    /// Act three's encrypted static key failed its MAC check.
    #[error("act three: static key ciphertext failed authentication")]
    BadStaticKeyCiphertext,
    /// The act's authentication tag did not verify.
    #[error("{act}: authentication tag mismatch")]
    BadTag {
        /// The act being read.
        act: Act,
    },
    /// An encrypted length header was not 18 bytes.
    #[error("length header must be 18 bytes, got {0}")]
    HeaderLength(usize),
    /// An encrypted length header failed authentication.
    #[error("length header failed authentication")]
    BadHeaderTag,
    /// A message body failed authentication.
    #[error("message body failed authentication")]
    BadBodyTag,
    /// The body ciphertext length does not match the decrypted length header plus the MAC.
    #[error("body ciphertext must be {expected} bytes, got {got}")]
    BodyLength {
        /// Length announced by the header, plus 16.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// `decrypt_body` was called without a preceding successful `decrypt_length`.
    #[error("no length header has been decrypted for this body")]
    NoPendingBody,
    /// `decrypt_length` was called while the previous message's body is still pending.
    #[error("the previous message body has not been decrypted yet")]
    BodyPending,
    /// A message to send is longer than 65535 bytes (BOLT 8 maximum).
    #[error("message of {0} bytes exceeds the 65535-byte maximum")]
    MessageTooLong(usize),
    /// The receiving half already failed; the connection must be closed.
    #[error("the receiving cipher failed earlier and cannot be used")]
    Failed,
}
