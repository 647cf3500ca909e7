//! Output descriptor checksums (BIP 380), for the `desc` fields Core prints.

const INPUT_CHARSET: &str =
    "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ ";
const CHECKSUM_CHARSET: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATOR: [u64; 5] = [0xf5dee51989, 0xa9fdca3312, 0x1bab10e32d, 0x3706b1677a, 0x644d626ffd];

fn polymod(chk: u64, value: u64) -> u64 {
    let top = chk >> 35;
    let mut chk = ((chk & 0x7_ffff_ffff) << 5) ^ value;
    for (i, g) in GENERATOR.iter().enumerate() {
        if (top >> i) & 1 == 1 {
            chk ^= g;
        }
    }
    chk
}

/// `desc#checksum`; a descriptor with characters outside the charset is returned unchanged.
pub(crate) fn with_checksum(desc: &str) -> String {
    let mut chk = 1u64;
    let mut groups = Vec::with_capacity(3);
    for c in desc.chars() {
        let Some(pos) = INPUT_CHARSET.find(c) else { return desc.to_owned() };
        let pos = pos as u64;
        chk = polymod(chk, pos & 31);
        groups.push(pos >> 5);
        if let [a, b, c] = groups.as_slice() {
            chk = polymod(chk, a * 9 + b * 3 + c);
            groups.clear();
        }
    }
    match groups.as_slice() {
        [a] => chk = polymod(chk, *a),
        [a, b] => chk = polymod(chk, a * 3 + b),
        _ => {}
    }
    for _ in 0..8 {
        chk = polymod(chk, 0);
    }
    chk ^= 1;
    let sum: String = (0..8)
        .map(|i| char::from(CHECKSUM_CHARSET[((chk >> (5 * (7 - i))) & 31) as usize]))
        .collect();
    format!("{desc}#{sum}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_core_docs() {
        // From Bitcoin Core's doc/descriptors.md.
        assert_eq!(with_checksum("raw(deadbeef)"), "raw(deadbeef)#89f8spxm");
    }
}
