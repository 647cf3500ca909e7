//! The human-readable part: `ln`, the currency prefix and an optional amount.

use crate::{Currency, Error};
use shandian_types::Msat;

/// Millisatoshis per bitcoin.
const MSAT_PER_BTC: u128 = 100_000_000_000;

/// The multipliers, largest first, with how many millisatoshis one unit of each is worth
/// (`p` is a tenth of a millisatoshi, so it is handled apart).
const MULTIPLIERS: [(char, u128); 3] = [
    ('m', MSAT_PER_BTC / 1_000),
    ('u', MSAT_PER_BTC / 1_000_000),
    ('n', MSAT_PER_BTC / 1_000_000_000),
];

/// Splits a lowercase human-readable part into its currency and amount.
pub(crate) fn parse(hrp: &str) -> Result<(Currency, Option<Msat>), Error> {
    let unknown = || Error::UnknownPrefix(hrp.to_owned());
    let rest = hrp.strip_prefix("ln").ok_or_else(unknown)?;
    // Longest prefix first: `bcrt` before `bc`, `tbs` before `tb`. An amount starts with a
    // digit, so the remaining text cannot be mistaken for a longer prefix.
    let (currency, amount) = Currency::ALL
        .iter()
        .find_map(|c| rest.strip_prefix(c.prefix()).map(|amount| (*c, amount)))
        .ok_or_else(unknown)?;
    if let Some(first) = amount.chars().next() {
        if !first.is_ascii_digit() {
            return Err(unknown());
        }
    }
    Ok((currency, parse_amount(amount)?))
}

/// BOLT 11: a positive decimal integer with no leading 0s, then an optional multiplier.
fn parse_amount(amount: &str) -> Result<Option<Msat>, Error> {
    if amount.is_empty() {
        return Ok(None);
    }
    let (digits, multiplier) = match amount.char_indices().last() {
        Some((i, c)) if !c.is_ascii_digit() => (amount.get(..i).unwrap_or(""), Some(c)),
        _ => (amount, None),
    };
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidAmount);
    }
    // u128 holds any number of up to 38 digits; more certainly overflow a u64 of msat.
    let value: u128 = if digits.len() > 38 {
        return Err(Error::AmountOverflow);
    } else {
        digits.parse().map_err(|_| Error::InvalidAmount)?
    };
    let msat = match multiplier {
        None => value.checked_mul(MSAT_PER_BTC),
        // BOLT 11: if multiplier is `p` and the last decimal of `amount` is not 0: MUST fail.
        Some('p') if value % 10 != 0 => return Err(Error::SubMillisatoshiAmount),
        Some('p') => Some(value / 10),
        Some(m) => {
            let (_, unit) =
                MULTIPLIERS.iter().find(|(c, _)| *c == m).ok_or(Error::InvalidMultiplier(m))?;
            value.checked_mul(*unit)
        }
    };
    let msat = msat.and_then(|v| u64::try_from(v).ok()).ok_or(Error::AmountOverflow)?;
    Ok(Some(Msat(msat)))
}

/// The human-readable part for `currency` and `amount`, using the largest multiplier that
/// keeps the amount whole (BOLT 11: SHOULD use the shortest representation).
pub(crate) fn encode(currency: Currency, amount: Option<Msat>) -> Result<String, Error> {
    let mut hrp = format!("ln{}", currency.prefix());
    if let Some(Msat(msat)) = amount {
        if msat == 0 {
            return Err(Error::ZeroAmount);
        }
        let msat = u128::from(msat);
        if msat % MSAT_PER_BTC == 0 {
            hrp.push_str(&(msat / MSAT_PER_BTC).to_string());
        } else if let Some((c, unit)) = MULTIPLIERS.iter().find(|(_, unit)| msat % unit == 0) {
            hrp.push_str(&(msat / unit).to_string());
            hrp.push(*c);
        } else {
            // Ten pico-bitcoin per millisatoshi.
            hrp.push_str(&(msat * 10).to_string());
            hrp.push('p');
        }
    }
    Ok(hrp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_prefix() {
        assert_eq!(parse("lnbc"), Ok((Currency::Bitcoin, None)));
        assert_eq!(parse("lntb"), Ok((Currency::Testnet, None)));
        assert_eq!(parse("lntbs"), Ok((Currency::Signet, None)));
        assert_eq!(parse("lnbcrt"), Ok((Currency::Regtest, None)));
        assert_eq!(parse("lnbcrt5u"), Ok((Currency::Regtest, Some(Msat(500_000)))));
        assert_eq!(parse("lntbs1m"), Ok((Currency::Signet, Some(Msat(100_000_000)))));
        for bad in ["bc", "lnxy", "ln", "lnbcx", "lntbx1", "lnbcr", "lnbcrtx"] {
            assert!(matches!(parse(bad), Err(Error::UnknownPrefix(_))), "{bad}");
        }
    }

    #[test]
    fn amounts_and_multipliers() {
        let amount = |s: &str| parse_amount(s);
        assert_eq!(amount("1"), Ok(Some(Msat(100_000_000_000))));
        assert_eq!(amount("2500u"), Ok(Some(Msat(250_000_000))));
        assert_eq!(amount("20m"), Ok(Some(Msat(2_000_000_000))));
        assert_eq!(amount("1n"), Ok(Some(Msat(100))));
        assert_eq!(amount("10p"), Ok(Some(Msat(1))));
        assert_eq!(amount("9678785340p"), Ok(Some(Msat(967_878_534))));
        assert_eq!(amount("2500x"), Err(Error::InvalidMultiplier('x')));
        assert_eq!(amount("2500000001p"), Err(Error::SubMillisatoshiAmount));
        assert_eq!(amount("0"), Err(Error::InvalidAmount));
        assert_eq!(amount("01m"), Err(Error::InvalidAmount));
        assert_eq!(amount("m"), Err(Error::InvalidAmount));
        assert_eq!(amount("1mm"), Err(Error::InvalidAmount));
        assert_eq!(amount("1m1"), Err(Error::InvalidAmount));
        assert_eq!(amount("184467440737"), Err(Error::AmountOverflow));
        assert_eq!(amount(&"9".repeat(60)), Err(Error::AmountOverflow));
        assert_eq!(amount("18446744073709551615p"), Err(Error::SubMillisatoshiAmount));
        assert_eq!(amount("184467440737095516150p"), Ok(Some(Msat(u64::MAX))));
    }

    #[test]
    fn encodes_the_shortest_form() {
        let hrp = |msat| encode(Currency::Bitcoin, Some(Msat(msat))).unwrap();
        assert_eq!(hrp(250_000_000), "lnbc2500u");
        assert_eq!(hrp(2_000_000_000), "lnbc20m");
        assert_eq!(hrp(967_878_534), "lnbc9678785340p");
        assert_eq!(hrp(300_000_000_000), "lnbc3");
        assert_eq!(hrp(100), "lnbc1n");
        assert_eq!(encode(Currency::Regtest, None).unwrap(), "lnbcrt");
        assert_eq!(encode(Currency::Bitcoin, Some(Msat(0))), Err(Error::ZeroAmount));
        for msat in [1, 99, 100, 12_345_678_901, u64::MAX] {
            assert_eq!(parse(&hrp(msat)), Ok((Currency::Bitcoin, Some(Msat(msat)))));
        }
    }
}
