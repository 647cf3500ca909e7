//! Round trips between our own initiator and responder, and arbitrary input never panics.

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use proptest::prelude::*;
use shandian_noise::{
    Error, Initiator, Responder, Transport, ACT_ONE_LEN, ACT_THREE_LEN, LENGTH_HEADER_LEN, MAC_LEN,
    MAX_MESSAGE_LEN,
};

fn key(b: u8) -> SecretKey {
    SecretKey::from_slice(&[b; 32]).unwrap()
}

/// A completed handshake: (initiator's transport, responder's transport).
fn pair() -> (Transport, Transport) {
    let secp = Secp256k1::new();
    let responder_id = PublicKey::from_secret_key(&secp, &key(2));
    let (act1, initiator) = Initiator::new(&secp, key(1), responder_id, key(3)).act_one();
    let (act2, responder) = Responder::new(&secp, key(2), key(4)).read_act_one(&act1).unwrap();
    let (act3, a) = initiator.read_act_two(&act2).unwrap();
    let (b, initiator_id) = responder.read_act_three(&act3).unwrap();
    assert_eq!(initiator_id, PublicKey::from_secret_key(&secp, &key(1)));
    (a, b)
}

fn send(from: &mut Transport, to: &mut Transport, msg: &[u8]) -> Vec<u8> {
    let mut wire = Vec::new();
    from.encrypt(msg, &mut wire).unwrap();
    assert_eq!(wire.len(), LENGTH_HEADER_LEN + msg.len() + MAC_LEN);
    let len = to.decrypt_length(&wire[..LENGTH_HEADER_LEN]).unwrap();
    assert_eq!(usize::from(len), msg.len());
    to.decrypt_body(&mut wire[LENGTH_HEADER_LEN..]).unwrap().to_vec()
}

#[test]
fn both_directions_and_size_limits() {
    let (mut a, mut b) = pair();
    for size in [0, 1, 1024, MAX_MESSAGE_LEN] {
        let msg = vec![0xab; size];
        assert_eq!(send(&mut a, &mut b, &msg), msg);
        assert_eq!(send(&mut b, &mut a, &msg), msg);
    }
    let mut out = Vec::new();
    assert_eq!(
        a.encrypt(&vec![0; MAX_MESSAGE_LEN + 1], &mut out),
        Err(Error::MessageTooLong(MAX_MESSAGE_LEN + 1))
    );
    assert!(out.is_empty());
}

#[test]
fn calls_must_alternate_and_failure_is_permanent() {
    let (mut a, mut b) = pair();
    let mut wire = Vec::new();
    a.encrypt(b"hi", &mut wire).unwrap();
    assert_eq!(b.decrypt_body(&mut wire.clone()[18..]), Err(Error::NoPendingBody));
    assert_eq!(b.decrypt_length(&wire[..18]), Ok(2));
    assert_eq!(b.decrypt_length(&wire[..18]), Err(Error::BodyPending));
    assert_eq!(b.decrypt_body(&mut [0u8; 17]), Err(Error::BodyLength { expected: 18, got: 17 }));
    let mut body = wire[18..].to_vec();
    body[0] ^= 1;
    assert_eq!(b.decrypt_body(&mut body), Err(Error::BadBodyTag));
    // The untouched body no longer helps: the receiver failed for good.
    assert_eq!(b.decrypt_body(&mut wire[18..]), Err(Error::Failed));
}

#[test]
fn wrong_responder_key_fails_act_one() {
    let secp = Secp256k1::new();
    let wrong_id = PublicKey::from_secret_key(&secp, &key(9));
    let (act1, _) = Initiator::new(&secp, key(1), wrong_id, key(3)).act_one();
    let result = Responder::new(&secp, key(2), key(4)).read_act_one(&act1);
    assert!(matches!(result, Err(Error::BadTag { .. })));
}

proptest! {
    #[test]
    fn round_trip(msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..2000), 1..20)) {
        let (mut a, mut b) = pair();
        for msg in &msgs {
            prop_assert_eq!(&send(&mut a, &mut b, msg), msg);
            prop_assert_eq!(&send(&mut b, &mut a, msg), msg);
        }
    }

    #[test]
    fn arbitrary_transport_bytes_never_panic(header in proptest::collection::vec(any::<u8>(), 0..40),
                                             body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let (_, mut b) = pair();
        let _ = b.decrypt_length(&header);
        let mut body = body;
        prop_assert!(b.decrypt_body(&mut body).is_err());
    }

    #[test]
    fn arbitrary_acts_never_panic(act1 in proptest::collection::vec(any::<u8>(), 0..60),
                                  act2 in proptest::collection::vec(any::<u8>(), 0..60),
                                  act3 in proptest::collection::vec(any::<u8>(), 0..80),
                                  flip in 0..ACT_THREE_LEN) {
        let secp = Secp256k1::new();
        let id = PublicKey::from_secret_key(&secp, &key(2));
        prop_assert!(Responder::new(&secp, key(2), key(4)).read_act_one(&act1).is_err());
        let (_, initiator) = Initiator::new(&secp, key(1), id, key(3)).act_one();
        prop_assert!(initiator.read_act_two(&act2).is_err());

        // A valid act one, then arbitrary (or one-bit-corrupted) act three.
        let (good1, initiator) = Initiator::new(&secp, key(1), id, key(3)).act_one();
        prop_assert_eq!(good1.len(), ACT_ONE_LEN);
        let (good2, responder) = Responder::new(&secp, key(2), key(4)).read_act_one(&good1).unwrap();
        let (mut good3, _) = initiator.read_act_two(&good2).unwrap();
        let responder2 = Responder::new(&secp, key(2), key(4)).read_act_one(&good1).unwrap().1;
        prop_assert!(responder.read_act_three(&act3).is_err());
        good3[flip] ^= 0x80;
        prop_assert!(responder2.read_act_three(&good3).is_err());
    }
}
