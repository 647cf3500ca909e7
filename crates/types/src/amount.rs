use crate::error::ParseError;
use bitcoin::Amount;
use core::fmt;
use core::str::FromStr;

/// An amount in millisatoshis, the unit of Lightning balances and HTLCs.
///
/// Arithmetic is checked: a peer-supplied amount can never wrap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Msat(pub u64);

impl Msat {
    /// Zero millisatoshis.
    pub const ZERO: Msat = Msat(0);
    /// The largest representable amount.
    pub const MAX: Msat = Msat(u64::MAX);

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Msat) -> Option<Msat> {
        self.0.checked_add(other.0).map(Msat)
    }

    /// `self - other`, or `None` if `other` is larger.
    pub fn checked_sub(self, other: Msat) -> Option<Msat> {
        self.0.checked_sub(other.0).map(Msat)
    }

    /// `self - other`, clamped at zero.
    pub fn saturating_sub(self, other: Msat) -> Msat {
        Msat(self.0.saturating_sub(other.0))
    }

    /// `self * factor`, or `None` on overflow.
    pub fn checked_mul(self, factor: u64) -> Option<Msat> {
        self.0.checked_mul(factor).map(Msat)
    }

    /// The proportional part of a fee: `self * millionths / 1_000_000`, rounded down
    /// (BOLT 7 `fee_proportional_millionths`). Computed in 128 bits, so it cannot overflow.
    pub fn proportional_millionths(self, millionths: u32) -> Msat {
        let product = u128::from(self.0) * u128::from(millionths) / 1_000_000;
        // The quotient is at most `self.0 * (2^32 - 1) / 10^6 < self.0 * 4295`; saturate when it
        // does not fit rather than wrap.
        Msat(u64::try_from(product).unwrap_or(u64::MAX))
    }

    /// Converts whole satoshis, or `None` if the result would overflow.
    pub fn from_sat(amount: Amount) -> Option<Msat> {
        amount.to_sat().checked_mul(1000).map(Msat)
    }

    /// The whole satoshis in this amount, rounding down (how BOLT 3 trims sub-satoshi value).
    pub fn to_sat_floor(self) -> Amount {
        Amount::from_sat(self.0 / 1000)
    }

    /// The raw value in millisatoshis.
    pub fn to_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Msat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}msat", self.0)
    }
}

/// Accepts a plain number of millisatoshis, optionally suffixed with `msat`.
impl FromStr for Msat {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_suffix("msat").unwrap_or(s);
        digits.parse::<u64>().map(Msat).map_err(|e| ParseError::Number(format!("{s:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_arithmetic_refuses_overflow() {
        assert_eq!(Msat::MAX.checked_add(Msat(1)), None);
        assert_eq!(Msat(1).checked_sub(Msat(2)), None);
        assert_eq!(Msat(5).checked_sub(Msat(2)), Some(Msat(3)));
        assert_eq!(Msat::from_sat(Amount::from_sat(u64::MAX)), None);
        assert_eq!(Msat::from_sat(Amount::from_sat(7)), Some(Msat(7000)));
    }

    #[test]
    fn sat_conversion_rounds_down() {
        assert_eq!(Msat(1999).to_sat_floor(), Amount::from_sat(1));
    }

    #[test]
    fn proportional_fee() {
        assert_eq!(Msat(1_000_000).proportional_millionths(1), Msat(1));
        assert_eq!(Msat(999_999).proportional_millionths(1), Msat(0));
        assert_eq!(Msat::MAX.proportional_millionths(u32::MAX), Msat::MAX);
    }

    #[test]
    fn parse_and_display() {
        assert_eq!("1500".parse::<Msat>(), Ok(Msat(1500)));
        assert_eq!("1500msat".parse::<Msat>(), Ok(Msat(1500)));
        assert!("-1".parse::<Msat>().is_err());
        assert_eq!(Msat(42).to_string(), "42msat");
    }
}
