//! Every test vector of BOLT 8 Appendix A, parsed from the specification text at test time.

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use shandian_noise::{Act, Error, Initiator, Responder, Transport};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/bolts/08-transport.md");

/// One `name:` block of the appendix: its name and its `key: value` / `key=value` lines in order
/// (comments dropped).
struct Vector {
    name: String,
    lines: Vec<(String, String)>,
}

impl Vector {
    fn field(&self, key: &str) -> &str {
        self.lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{}: no field {key}", self.name))
    }

    /// The values of every line with this key, in order.
    fn all(&self, key: &str) -> Vec<&str> {
        self.lines.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }
}

fn vectors() -> Vec<Vector> {
    let text = std::fs::read_to_string(SPEC).expect("read BOLT 8");
    let appendix =
        text.split("# Appendix A: Transport Test Vectors").nth(1).expect("appendix heading");
    let mut out: Vec<Vector> = Vec::new();
    for line in appendix.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with("```") {
            continue;
        }
        let Some(split) = line.find([':', '=']) else {
            continue;
        };
        let (key, value) = (line[..split].trim(), line[split + 1..].trim());
        if key == "name" {
            out.push(Vector { name: value.to_owned(), lines: Vec::new() });
        } else if let Some(v) = out.last_mut() {
            v.lines.push((key.to_owned(), value.to_owned()));
        }
    }
    out
}

fn bytes(hex_str: &str) -> Vec<u8> {
    hex::decode(hex_str.trim_start_matches("0x")).expect("hex")
}

fn key32(hex_str: &str) -> [u8; 32] {
    bytes(hex_str).try_into().expect("32 bytes")
}

fn secret(hex_str: &str) -> SecretKey {
    SecretKey::from_slice(&bytes(hex_str)).expect("secret key")
}

fn public(hex_str: &str) -> PublicKey {
    PublicKey::from_slice(&bytes(hex_str)).expect("public key")
}

/// Parses `ERROR (ACT2_BAD_VERSION 1)` into the error we must return.
fn expected_error(output: &str) -> Option<Error> {
    let inner = output.strip_prefix("ERROR (")?.strip_suffix(')')?;
    let mut words = inner.split_whitespace();
    let code = words.next()?;
    let version: Option<u8> = words.next().map(|v| v.parse().expect("version"));
    let (act, what) = code.split_once('_')?;
    let act = match act {
        "ACT1" => Act::One,
        "ACT2" => Act::Two,
        "ACT3" => Act::Three,
        other => panic!("unknown act {other}"),
    };
    let expected = match act {
        Act::One | Act::Two => 50,
        Act::Three => 66,
    };
    Some(match what {
        "READ_FAILED" => Error::ActLength { act, expected, got: expected - 1 },
        "BAD_VERSION" => Error::BadVersion { act, version: version.unwrap_or(1) },
        "BAD_PUBKEY" => Error::BadPublicKey { act },
        "BAD_TAG" => Error::BadTag { act },
        "BAD_CIPHERTEXT" => Error::BadStaticKeyCiphertext,
        other => panic!("unknown error {other}"),
    })
}

/// The final `ck` of the vectors' handshake, given with the message-encryption test.
fn final_ck(all: &[Vector]) -> [u8; 32] {
    let v = all.iter().find(|v| v.name == "transport-message test").expect("message test");
    key32(v.field("ck"))
}

/// Checks that `transport` uses exactly these session keys, in both directions, across two
/// key rotations.
fn assert_keys(mut transport: Transport, ck: [u8; 32], sk: [u8; 32], rk: [u8; 32]) {
    let mut expected = Transport::from_keys(ck, sk, rk);
    let mut remote = Transport::from_keys(ck, rk, sk);
    for i in 0u32..1002 {
        let msg = i.to_be_bytes();
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        transport.encrypt(&msg, &mut ours).unwrap();
        expected.encrypt(&msg, &mut theirs).unwrap();
        assert_eq!(ours, theirs, "sending key differs at message {i}");
        let mut wire = Vec::new();
        remote.encrypt(&msg, &mut wire).unwrap();
        assert_eq!(transport.decrypt_length(&wire[..18]).unwrap(), 4);
        assert_eq!(transport.decrypt_body(&mut wire[18..]).unwrap(), msg);
    }
}

/// `output: sk,rk=0x..,0x..` (or `rk,sk=`) → (first, second) keys.
fn key_pair(output: &str) -> (&str, [u8; 32], [u8; 32]) {
    let (names, keys) = output.split_once('=').expect("keys");
    let (a, b) = keys.split_once(',').expect("two keys");
    (names, key32(a), key32(b))
}

#[test]
fn initiator_vectors() {
    let all = vectors();
    let ck = final_ck(&all);
    let secp = Secp256k1::new();
    let mut count = 0;
    for v in all.iter().filter(|v| v.name.starts_with("transport-initiator")) {
        count += 1;
        let initiator = Initiator::new(
            &secp,
            secret(v.field("ls.priv")),
            public(v.field("rs.pub")),
            secret(v.field("e.priv")),
        );
        let outputs = v.all("output");
        let (act1, state) = initiator.act_one();
        assert_eq!(act1.to_vec(), bytes(outputs[0]), "{}: act one", v.name);
        let result = state.read_act_two(&bytes(v.field("input")));
        match expected_error(outputs[1]) {
            Some(err) => assert_eq!(result.err(), Some(err), "{}", v.name),
            None => {
                let (act3, transport) = result.unwrap_or_else(|e| panic!("{}: {e}", v.name));
                assert_eq!(act3.to_vec(), bytes(outputs[1]), "{}: act three", v.name);
                let (names, sk, rk) = key_pair(outputs[2]);
                assert_eq!(names, "sk,rk");
                assert_keys(transport, ck, sk, rk);
            }
        }
    }
    assert_eq!(count, 5, "BOLT 8 lists five initiator vectors");
}

#[test]
fn responder_vectors() {
    let all = vectors();
    let ck = final_ck(&all);
    let secp = Secp256k1::new();
    let mut count = 0;
    for v in all.iter().filter(|v| v.name.starts_with("transport-responder")) {
        count += 1;
        let responder =
            Responder::new(&secp, secret(v.field("ls.priv")), secret(v.field("e.priv")));
        let inputs = v.all("input");
        let outputs = v.all("output");
        let result = responder.read_act_one(&bytes(inputs[0]));
        if let Some(err) = expected_error(outputs[0]) {
            assert_eq!(result.err(), Some(err), "{}", v.name);
            continue;
        }
        let (act2, state) = result.unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(act2.to_vec(), bytes(outputs[0]), "{}: act two", v.name);
        let result = state.read_act_three(&bytes(inputs[1]));
        match expected_error(outputs[1]) {
            Some(err) => assert_eq!(result.err(), Some(err), "{}", v.name),
            None => {
                let (transport, remote) = result.unwrap_or_else(|e| panic!("{}: {e}", v.name));
                let initiator_id = all
                    .iter()
                    .find(|i| i.name == "transport-initiator successful handshake")
                    .expect("initiator vector")
                    .field("ls.pub");
                assert_eq!(remote, public(initiator_id), "{}: rs", v.name);
                let (names, rk, sk) = key_pair(outputs[1]);
                assert_eq!(names, "rk,sk");
                assert_keys(transport, ck, sk, rk);
            }
        }
    }
    assert_eq!(count, 10, "BOLT 8 lists ten responder vectors");
}

#[test]
fn message_encryption_vectors() {
    let all = vectors();
    let v = all.iter().find(|v| v.name == "transport-message test").expect("message test");
    let (ck, sk, rk) = (key32(v.field("ck")), key32(v.field("sk")), key32(v.field("rk")));
    let expected: Vec<(usize, Vec<u8>)> = v
        .lines
        .iter()
        .filter_map(|(k, val)| {
            let n = k.strip_prefix("output ")?.parse().expect("message number");
            Some((n, bytes(val)))
        })
        .collect();
    let numbers: Vec<usize> = expected.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, [0, 1, 500, 501, 1000, 1001]);

    let mut sender = Transport::from_keys(ck, sk, rk);
    let mut receiver = Transport::from_keys(ck, rk, sk);
    for i in 0..=1001 {
        let mut wire = Vec::new();
        sender.encrypt(b"hello", &mut wire).unwrap();
        if let Some((_, want)) = expected.iter().find(|(n, _)| *n == i) {
            assert_eq!(&wire, want, "output {i}");
        }
        assert_eq!(receiver.decrypt_length(&wire[..18]).unwrap(), 5);
        assert_eq!(receiver.decrypt_body(&mut wire[18..]).unwrap(), b"hello");
    }
}
