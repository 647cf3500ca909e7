//! The invoice as text: bech32 (BIP 173) without its 90-character limit.

use crate::Error;
use bech32::primitives::decode::{
    CharError, ChecksumError, UncheckedHrpstring, UncheckedHrpstringError,
};
use bech32::{Bech32, Checksum, Fe32, Fe32IterExt, Hrp};

/// Bech32's checksum with no practical length limit.
///
/// BOLT 11: a reader MUST parse the invoice as Bech32 "also without the character limit". The
/// `bech32` crate's own `Bech32` type refuses strings over 1023 characters (the length up to
/// which the code's error-detection guarantees hold); invoices with long route hints exceed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvoiceChecksum {}

impl Checksum for InvoiceChecksum {
    type MidstateRepr = <Bech32 as Checksum>::MidstateRepr;
    const CODE_LENGTH: usize = usize::MAX;
    const CHECKSUM_LENGTH: usize = <Bech32 as Checksum>::CHECKSUM_LENGTH;
    const GENERATOR_SH: [u32; 5] = <Bech32 as Checksum>::GENERATOR_SH;
    const TARGET_RESIDUE: u32 = <Bech32 as Checksum>::TARGET_RESIDUE;
}

/// Checks the bech32 string and splits it into the lowercase human-readable part and the data
/// words before the checksum.
pub(crate) fn decode(s: &str) -> Result<(String, Vec<Fe32>), Error> {
    let unchecked = UncheckedHrpstring::new(s).map_err(|e| match e {
        UncheckedHrpstringError::Char(CharError::MissingSeparator) => Error::MissingSeparator,
        UncheckedHrpstringError::Char(CharError::MixedCase) => Error::MixedCase,
        UncheckedHrpstringError::Char(CharError::InvalidChar(c)) => Error::InvalidChar(c),
        UncheckedHrpstringError::Char(_) => Error::TooShort,
        _ => Error::InvalidHrp,
    })?;
    let checked =
        unchecked.validate_and_remove_checksum::<InvoiceChecksum>().map_err(|e| match e {
            ChecksumError::InvalidLength => Error::TooShort,
            _ => Error::InvalidChecksum,
        })?;
    let hrp = checked.hrp().to_lowercase();
    let data = checked
        .data_part_ascii_no_checksum()
        .iter()
        .map(|&c| Fe32::from_char(char::from(c)).map_err(|_| Error::InvalidChar(char::from(c))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((hrp, data))
}

/// The bech32 string (lowercase) for a human-readable part and data words.
pub(crate) fn encode(hrp: &str, data: &[Fe32]) -> Result<String, Error> {
    let hrp = Hrp::parse(hrp).map_err(|_| Error::InvalidHrp)?;
    Ok(data.iter().copied().with_checksum::<InvoiceChecksum>(&hrp).chars().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_constants_are_consistent() {
        InvoiceChecksum::sanity_check();
    }

    #[test]
    fn accepts_strings_over_the_bip173_limits() {
        let data = vec![Fe32::P; 2000];
        let s = encode("lnbc", &data).unwrap();
        assert!(s.len() > 2000);
        assert_eq!(decode(&s), Ok(("lnbc".to_owned(), data.clone())));
        assert_eq!(decode(&s.to_uppercase()), Ok(("lnbc".to_owned(), data)));
    }

    #[test]
    fn reports_each_kind_of_malformed_string() {
        let s = encode("lnbc", &[Fe32::Q; 10]).unwrap();
        let data_part = s.split_once('1').unwrap().1;
        assert_eq!(decode(data_part), Err(Error::MissingSeparator));
        assert_eq!(decode(&s.replacen('l', "L", 1)), Err(Error::MixedCase));
        assert_eq!(decode(&s.replacen('q', "b", 1)), Err(Error::InvalidChar('b')));
        assert_eq!(decode(&s.replacen('q', "p", 1)), Err(Error::InvalidChecksum));
        assert_eq!(decode("lnbc1qqq"), Err(Error::TooShort));
    }
}
