//! Which feature bits an invoice may require (BOLT 9 features for the `9` context).

use crate::Error;
use shandian_types::Features;

/// The even bit of every feature BOLT 9 allows in an invoice (context `9`), with the even bit
/// of the feature it depends on, if any.
const INVOICE_FEATURES: [(usize, Option<usize>); 6] = [
    (8, None),      // var_onion_optin
    (14, None),     // payment_secret
    (16, Some(14)), // basic_mpp: needs payment_secret
    (24, None),     // option_route_blinding
    (36, None),     // option_attribution_data
    (48, None),     // option_payment_metadata
];

/// The features a Shandian node puts in its invoices: var_onion_optin and payment_secret
/// required (BOLT 9 assumes both), basic_mpp optional.
pub fn default_invoice_features() -> Features {
    Features::from_bits([8, 14, 17])
}

/// BOLT 11: if the `9` field contains unknown even bits, MUST fail the payment (unknown odd
/// bits are ignored); if it does not set all known feature dependencies, MUST NOT pay.
pub(crate) fn check(features: &Features) -> Result<(), Error> {
    for bit in features.bits() {
        let even = bit & !1;
        let Some((_, dependency)) = INVOICE_FEATURES.iter().find(|(known, _)| *known == even)
        else {
            if bit % 2 == 0 {
                return Err(Error::UnknownRequiredFeature(bit));
            }
            continue;
        };
        if let Some(requires) = dependency {
            if !features.is_set(*requires) && !features.is_set(requires + 1) {
                return Err(Error::MissingFeatureDependency { feature: bit, requires: *requires });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_even_bits_fail_and_odd_ones_pass() {
        assert_eq!(check(&Features::from_bits([8, 14, 99])), Ok(()));
        assert_eq!(
            check(&Features::from_bits([8, 14, 100])),
            Err(Error::UnknownRequiredFeature(100))
        );
        assert_eq!(check(&Features::from_bits([2])), Err(Error::UnknownRequiredFeature(2)));
        assert_eq!(check(&default_invoice_features()), Ok(()));
    }

    #[test]
    fn dependencies_are_required() {
        assert_eq!(
            check(&Features::from_bits([17])),
            Err(Error::MissingFeatureDependency { feature: 17, requires: 14 })
        );
        assert_eq!(check(&Features::from_bits([15, 17])), Ok(()));
    }
}
