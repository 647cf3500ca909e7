//! Arbitrary bytes as handshake acts, to both the responder (acts one and three) and the
//! initiator (act two). Nothing may panic, and garbage must never complete a handshake.
#![no_main]

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use libfuzzer_sys::fuzz_target;
use shandian_noise::{Initiator, Responder, ACT_ONE_LEN, ACT_THREE_LEN};

fn key(b: u8) -> SecretKey {
    SecretKey::from_slice(&[b; 32]).expect("constant key")
}

fuzz_target!(|data: &[u8]| {
    let secp = Secp256k1::new();
    let responder_id = PublicKey::from_secret_key(&secp, &key(2));

    // Garbage act one and act two.
    let (act1, rest) = data.split_at(data.len().min(ACT_ONE_LEN));
    let _ = Responder::new(&secp, key(2), key(4)).read_act_one(act1);
    let (_, initiator) = Initiator::new(&secp, key(1), responder_id, key(3)).act_one();
    let _ = initiator.read_act_two(act1);

    // A genuine act one, then garbage act three: it can only succeed if it equals the real one.
    let (good1, initiator) = Initiator::new(&secp, key(1), responder_id, key(3)).act_one();
    let Ok((good2, responder)) = Responder::new(&secp, key(2), key(4)).read_act_one(&good1) else {
        panic!("a genuine act one must be accepted");
    };
    let Ok((good3, _)) = initiator.read_act_two(&good2) else {
        panic!("a genuine act two must be accepted");
    };
    let act3 = &rest[..rest.len().min(ACT_THREE_LEN)];
    if responder.read_act_three(act3).is_ok() {
        assert_eq!(act3, &good3[..]);
    }
});
