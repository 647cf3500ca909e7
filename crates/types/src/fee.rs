use bitcoin::{Amount, Weight};
use core::fmt;

/// A feerate in satoshis per 1,000 weight units, the unit BOLT 2 and BOLT 3 use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeeratePerKw(pub u32);

impl FeeratePerKw {
    /// The floor Bitcoin Core relays at: 253 sat/kw (1 sat/vB rounded up after the /4).
    pub const MIN_RELAY: FeeratePerKw = FeeratePerKw(253);

    /// Converts from sat/vB (1 vB = 4 weight units), saturating.
    pub fn from_sat_per_vb(sat_per_vb: u32) -> FeeratePerKw {
        FeeratePerKw(sat_per_vb.saturating_mul(250))
    }

    /// The fee for a transaction of `weight`, rounded down as BOLT 3 does
    /// (`fee = feerate_per_kw * weight / 1000`).
    pub fn fee_for_weight(self, weight: Weight) -> Amount {
        let fee = u128::from(self.0) * u128::from(weight.to_wu()) / 1000;
        Amount::from_sat(u64::try_from(fee).unwrap_or(u64::MAX))
    }

    /// The raw value in sat/kw.
    pub fn to_u32(self) -> u32 {
        self.0
    }
}

impl fmt::Display for FeeratePerKw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}sat/kw", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fee_rounds_down() {
        // BOLT 3 Appendix C: 15000 sat/kw on a 724-weight commitment pays 10860 sat.
        assert_eq!(
            FeeratePerKw(15000).fee_for_weight(Weight::from_wu(724)),
            Amount::from_sat(10860)
        );
        assert_eq!(FeeratePerKw(253).fee_for_weight(Weight::from_wu(3)), Amount::from_sat(0));
    }

    #[test]
    fn sat_per_vb_conversion() {
        assert_eq!(FeeratePerKw::from_sat_per_vb(1), FeeratePerKw(250));
        assert_eq!(FeeratePerKw::from_sat_per_vb(u32::MAX), FeeratePerKw(u32::MAX));
    }
}
