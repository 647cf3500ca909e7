//! BOLT 8: the `Noise_XK` handshake and the encrypted, length-prefixed Lightning transport,
//! sans-IO over byte slices.
//!
//! The caller owns the socket. It feeds in exactly the bytes each step needs (50, 50 and 66
//! bytes for the three acts; then an 18-byte header and `length + 16` body bytes per message)
//! and writes out the bytes each step returns. Ephemeral keys come from the caller, so the
//! crate is deterministic and testable against the BOLT 8 vectors.
//!
//! ```
//! use bitcoin::secp256k1::{Secp256k1, SecretKey, PublicKey};
//! use shandian_noise::{Initiator, Responder, MAC_LEN};
//!
//! let secp = Secp256k1::new();
//! let key = |b| SecretKey::from_slice(&[b; 32]).unwrap();
//! let responder_id = PublicKey::from_secret_key(&secp, &key(2));
//!
//! let (act1, initiator) = Initiator::new(&secp, key(1), responder_id, key(3)).act_one();
//! let (act2, responder) = Responder::new(&secp, key(2), key(4)).read_act_one(&act1)?;
//! let (act3, mut alice) = initiator.read_act_two(&act2)?;
//! let (mut bob, _alice_id) = responder.read_act_three(&act3)?;
//!
//! let mut wire = Vec::new();
//! alice.encrypt(b"hello", &mut wire)?;
//! let len = bob.decrypt_length(&wire[..18])?;
//! assert_eq!(usize::from(len) + MAC_LEN, wire.len() - 18);
//! assert_eq!(bob.decrypt_body(&mut wire[18..])?, b"hello");
//! # Ok::<(), shandian_noise::Error>(())
//! ```

mod crypto;
mod error;
mod handshake;
mod transport;

pub use crypto::MAC_LEN;
pub use error::{Act, Error};
pub use handshake::{
    Initiator, InitiatorActTwo, Responder, ResponderActThree, ACT_ONE_LEN, ACT_THREE_LEN,
    ACT_TWO_LEN,
};
pub use transport::{Decryptor, Encryptor, Transport, LENGTH_HEADER_LEN, MAX_MESSAGE_LEN};
