//! Every BOLT 1 test vector, parsed at test time from the spec text in
//! `../shared/bolts/01-messaging.md`: Appendix A (BigSize decoding and encoding), Appendix B
//! (TLV decoding failures and successes in the `n1` and `n2` namespaces, and stream failures)
//! and Appendix C (`init` message extensions).

use bitcoin::secp256k1::PublicKey;
use shandian_types::ShortChannelId;
use shandian_wire::{bigsize, read_truncated, DecodeError, Message, Reader, TlvStream};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/bolts/01-messaging.md");

fn spec() -> String {
    std::fs::read_to_string(SPEC).expect("BOLT 1 spec text is readable")
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.trim().trim_start_matches("0x").split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The text of the section starting at `heading`, up to the next heading of any level.
fn section<'a>(text: &'a str, heading: &str) -> &'a str {
    let start = text.find(heading).unwrap_or_else(|| panic!("no section {heading}"));
    let body = &text[start + heading.len()..];
    let end = body.find("\n#").unwrap_or(body.len());
    &body[..end]
}

/// The first ```json block in `text`.
fn json_block(text: &str) -> serde_json::Value {
    let start = text.find("```json").expect("json block") + "```json".len();
    let end = text[start..].find("```").expect("end of json block") + start;
    serde_json::from_str(&text[start..end]).expect("valid json")
}

#[test]
fn bigsize_decoding_vectors() {
    let text = spec();
    let vectors = json_block(section(&text, "### BigSize Decoding Tests"));
    let vectors = vectors.as_array().unwrap();
    assert_eq!(vectors.len(), 18);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let bytes = hex(v["bytes"].as_str().unwrap());
        let result = bigsize::decode(&bytes);
        match v.get("exp_error").and_then(|e| e.as_str()) {
            Some(err) if err.contains("canonical") => {
                assert_eq!(result, Err(DecodeError::NonCanonicalBigSize), "{name}")
            }
            Some(_eof) => {
                assert!(matches!(result, Err(DecodeError::ShortRead { .. })), "{name}: {result:?}")
            }
            None => {
                assert_eq!(result, Ok((v["value"].as_u64().unwrap(), bytes.len())), "{name}")
            }
        }
    }
}

#[test]
fn bigsize_encoding_vectors() {
    let text = spec();
    let vectors = json_block(section(&text, "### BigSize Encoding Tests"));
    let vectors = vectors.as_array().unwrap();
    assert_eq!(vectors.len(), 8);
    for v in vectors {
        let value = v["value"].as_u64().unwrap();
        let mut out = Vec::new();
        bigsize::encode(value, &mut out);
        assert_eq!(out, hex(v["bytes"].as_str().unwrap()), "{}", v["name"]);
        assert_eq!(bigsize::encoded_len(value), out.len());
    }
}

/// The `n1` and `n2` namespaces of Appendix B, decoded into a canonical text form of their
/// known records (`tlv1 amount_msat=1` ...), so results compare with the spec's "Values".
#[derive(Clone, Copy, Debug, PartialEq)]
enum Namespace {
    N1,
    N2,
}

fn exact<'a, T>(
    value: &'a [u8],
    read: impl FnOnce(&mut Reader<'a>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let mut reader = Reader::new(value);
    let out = read(&mut reader)?;
    if !reader.is_empty() {
        return Err(DecodeError::InvalidField("length"));
    }
    Ok(out)
}

fn decode_namespace(ns: Namespace, bytes: &[u8]) -> Result<Vec<String>, DecodeError> {
    let known: &[u64] = match ns {
        Namespace::N1 => &[1, 2, 3, 254],
        Namespace::N2 => &[0, 11],
    };
    let stream = TlvStream::decode(bytes, known)?;
    let mut values = Vec::new();
    for record in stream.records() {
        let v = record.value;
        let text = match (ns, record.tlv_type) {
            (Namespace::N1, 1) => format!("tlv1 amount_msat={}", read_truncated(v, 8)?),
            (Namespace::N1, 2) => {
                let scid = exact(v, |r| r.read_u64())?;
                format!("tlv2 scid={}", ShortChannelId(scid))
            }
            (Namespace::N1, 3) => exact(v, |r| {
                let point = PublicKey::from_slice(r.read_bytes(33)?)
                    .map_err(|_| DecodeError::InvalidPoint)?;
                let (a, b) = (r.read_u64()?, r.read_u64()?);
                Ok(format!("tlv3 node_id={point} amount_msat_1={a} amount_msat_2={b}"))
            })?,
            (Namespace::N1, 254) => format!("tlv4 cltv_delta={}", exact(v, |r| r.read_u16())?),
            (Namespace::N2, 0) => format!("tlv1 amount_msat={}", read_truncated(v, 8)?),
            (Namespace::N2, 11) => format!("tlv2 cltv_expiry={}", read_truncated(v, 4)?),
            _ => continue, // unknown odd: ignored
        };
        values.push(text);
    }
    Ok(values)
}

struct Case {
    namespaces: Vec<Namespace>,
    stream: Vec<u8>,
    valid: bool,
    /// For successes in `n1`: the spec's "Values" line, normalised.
    values: Option<String>,
}

/// Reads every "Invalid stream:"/"Valid stream:" item of Appendix B, with the namespaces the
/// paragraph above it names.
fn tlv_cases(text: &str) -> Vec<Case> {
    let appendix = &text[text.find("## Appendix B").unwrap()..text.find("## Appendix C").unwrap()];
    let mut namespaces = vec![];
    let mut cases: Vec<Case> = Vec::new();
    for line in appendix.lines() {
        let line = line.trim();
        if line.starts_with("The following") || line.starts_with("In addition") {
            namespaces = if line.contains("`n1`") {
                vec![Namespace::N1]
            } else if line.contains("`n2`") {
                vec![Namespace::N2]
            } else {
                vec![Namespace::N1, Namespace::N2]
            };
        } else if let Some(s) = line.strip_prefix("1. Invalid stream:") {
            cases.push(Case {
                namespaces: namespaces.clone(),
                stream: hex(s),
                valid: false,
                values: None,
            });
        } else if let Some(s) = line.strip_prefix("1. Valid stream:") {
            cases.push(Case {
                namespaces: namespaces.clone(),
                stream: hex(s),
                valid: true,
                values: None,
            });
        } else if let Some(s) = line.strip_prefix("2. Values:") {
            cases.last_mut().unwrap().values = Some(s.replace('`', "").trim().to_string());
        }
    }
    cases
}

#[test]
fn tlv_decoding_vectors() {
    let cases = tlv_cases(&spec());
    // 9 + 4 + 20 failures, 7 + 12 successes, 4 + 1 stream failures.
    assert_eq!(cases.iter().filter(|c| !c.valid).count(), 38);
    assert_eq!(cases.iter().filter(|c| c.valid).count(), 19);
    for case in &cases {
        for &ns in &case.namespaces {
            let result = decode_namespace(ns, &case.stream);
            if !case.valid {
                assert!(result.is_err(), "{ns:?} {:02x?} should fail, got {result:?}", case.stream);
                continue;
            }
            let values = result.unwrap_or_else(|e| panic!("{ns:?} {:02x?}: {e}", case.stream));
            match &case.values {
                Some(expected) => assert_eq!(values.join(" "), *expected),
                None => assert!(values.is_empty(), "ignored records decoded: {values:?}"),
            }
        }
    }
}

fn first_type(stream: &[u8]) -> Option<u64> {
    bigsize::decode(stream).ok().map(|(t, _)| t)
}

#[test]
fn tlv_stream_concatenation_rules() {
    let cases = tlv_cases(&spec());
    let in_n1 = |c: &&Case| c.namespaces.contains(&Namespace::N1);
    let valid: Vec<&Case> = cases.iter().filter(|c| c.valid).filter(in_n1).collect();
    let invalid: Vec<&Case> = cases.iter().filter(|c| !c.valid).filter(in_n1).collect();
    let mut checked = 0;
    for v in &valid {
        // "Any appending of an invalid stream to a valid stream should trigger a decoding
        // failure."
        for i in &invalid {
            let joined = [v.stream.as_slice(), &i.stream].concat();
            assert!(decode_namespace(Namespace::N1, &joined).is_err(), "{joined:02x?}");
            checked += 1;
        }
        // "Any appending of a higher-numbered valid stream to a lower-numbered valid stream
        // should not trigger a decoding failure."
        for w in &valid {
            if let (Some(a), Some(b)) = (first_type(&v.stream), first_type(&w.stream)) {
                if a < b {
                    let joined = [v.stream.as_slice(), &w.stream].concat();
                    assert!(decode_namespace(Namespace::N1, &joined).is_ok(), "{joined:02x?}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 500);
}

#[test]
fn init_extension_vectors() {
    let text = spec();
    let appendix = section(&text, "## Appendix C: Message Extension");
    let (mut valid, mut invalid) = (0, 0);
    let mut expect_valid = None;
    for line in appendix.lines() {
        if line.contains("messages are valid") {
            expect_valid = Some(true);
        } else if line.contains("messages are invalid") {
            expect_valid = Some(false);
        } else if let Some(rest) = line.strip_prefix("- `0x") {
            let bytes = hex(&rest[..rest.find('`').unwrap()]);
            let result = Message::decode(&bytes);
            if expect_valid.unwrap() {
                assert!(matches!(result, Ok(Message::Init(_))), "{bytes:02x?}: {result:?}");
                valid += 1;
            } else {
                assert!(result.is_err(), "{bytes:02x?} should fail");
                invalid += 1;
            }
        }
    }
    assert_eq!((valid, invalid), (2, 3));
}
