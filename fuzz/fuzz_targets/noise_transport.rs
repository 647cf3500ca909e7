//! Arbitrary bytes as an incoming BOLT 8 stream: headers and bodies are decrypted in turn until
//! the input runs out or authentication fails. Nothing may panic; a failure must stay a failure.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shandian_noise::{Transport, LENGTH_HEADER_LEN, MAC_LEN};

fuzz_target!(|data: &[u8]| {
    // The first byte chooses between raw garbage and a valid stream with one flipped bit, so the
    // fuzzer also reaches the body path and key rotation.
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut stream = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let mut sender = Transport::from_keys([1; 32], [2; 32], [3; 32]);
        let mut wire = Vec::new();
        for chunk in rest.chunks(usize::from(mode >> 1).max(1)) {
            sender.encrypt(chunk, &mut wire).expect("chunks are short");
        }
        if let Some(byte) = wire.get_mut(usize::from(mode) * 7 % rest.len().max(1)) {
            *byte ^= mode;
        }
        wire
    };
    let mut receiver = Transport::from_keys([1; 32], [3; 32], [2; 32]);
    let mut pos = 0;
    loop {
        let Some(header) = stream.get(pos..pos + LENGTH_HEADER_LEN) else {
            return;
        };
        let Ok(len) = receiver.decrypt_length(header) else {
            assert!(receiver.decrypt_length(header).is_err());
            return;
        };
        pos += LENGTH_HEADER_LEN;
        let end = pos + usize::from(len) + MAC_LEN;
        let Some(body) = stream.get_mut(pos..end) else {
            return;
        };
        if receiver.decrypt_body(body).is_err() {
            return;
        }
        pos = end;
    }
});
