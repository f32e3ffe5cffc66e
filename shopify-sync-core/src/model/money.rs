//! [`Money`]: an exact decimal amount, never a float.

use crate::error::{Error, Result};
use rust_decimal::Decimal;
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An exact decimal amount of money in the shop's currency, as Shopify's `Money` and
/// `Decimal` scalars carry it (`"19.99"`, `"10.0"`, `"10"`).
///
/// Equality, ordering and hashing are by value (`10 == 10.00`); `Display` and
/// serialization keep the digits as given (`"10.0"` stays `"10.0"`), so a value read from
/// Shopify is written back unchanged. Serializes as a JSON string, never a number.
///
/// ```
/// use shopify_sync::model::Money;
///
/// let price: Money = "19.99".parse()?;
/// assert_eq!(price.to_string(), "19.99");
/// assert_eq!(Money::parse("10")?, Money::parse("10.00")?);
/// assert!(Money::parse("NaN").is_err());
/// assert_eq!(serde_json::to_string(&price).unwrap(), r#""19.99""#);
/// # Ok::<(), shopify_sync::error::Error>(())
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// Parse a decimal string: an optional `-`, digits, and optionally `.` and more
    /// digits. Anything else (empty, whitespace, `+`, exponents, `_`, `NaN`, `Infinity`,
    /// more than 28 significant digits) fails with
    /// [`ErrorKind::InvalidInput`](crate::error::ErrorKind::InvalidInput).
    pub fn parse(input: &str) -> Result<Money> {
        let fail = |why: &str| {
            let shown = match input.char_indices().nth(40) {
                Some((cut, _)) => format!("{:?}...", &input[..cut]),
                None => format!("{input:?}"),
            };
            Error::invalid_input(format!("invalid money amount {shown}: {why}"))
        };
        let unsigned = input.strip_prefix('-').unwrap_or(input);
        let (whole, frac) = match unsigned.split_once('.') {
            Some((whole, frac)) => (whole, Some(frac)),
            None => (unsigned, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !frac.is_none_or(digits) {
            return Err(fail(
                "expected a decimal number such as \"19.99\" (digits, an optional '.' and digits)",
            ));
        }
        let scale = frac.map_or(0, str::len);
        let mut value = Decimal::from_str(input).map_err(|_| fail("too many digits"))?;
        // rust_decimal rounds digits past its 28-29 digit precision: refuse rather than
        // silently change the amount.
        if value.scale() as usize != scale {
            return Err(fail("too many digits"));
        }
        if value.is_zero() {
            value.set_sign_positive(true);
        }
        Ok(Money(value))
    }

    /// The amount as a [`Decimal`].
    pub fn amount(self) -> Decimal {
        self.0
    }

    /// The same value without trailing fractional zeros (`"10.50"` becomes `"10.5"`):
    /// a canonical form for fingerprints.
    pub fn normalized(self) -> Money {
        Money(self.0.normalize())
    }

    /// Whether the amount is zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Whether the amount is below zero.
    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
}

impl From<Decimal> for Money {
    fn from(amount: Decimal) -> Money {
        Money(amount)
    }
}

impl From<Money> for Decimal {
    fn from(money: Money) -> Decimal {
        money.0
    }
}

impl FromStr for Money {
    type Err = Error;

    fn from_str(s: &str) -> Result<Money> {
        Money::parse(s)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({})", self.0)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Money {
    /// Accepts only a decimal string: a JSON number would already have been through a
    /// float.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_str(MoneyVisitor)
    }
}

struct MoneyVisitor;

impl Visitor<'_> for MoneyVisitor {
    type Value = Money;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal string such as \"19.99\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Money, E> {
        Money::parse(v).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::collections::HashSet;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn parses_shopify_decimal_strings_exactly() {
        assert_eq!(m("19.99").amount(), Decimal::new(1999, 2));
        assert_eq!(m("10.0").to_string(), "10.0");
        assert_eq!(m("10").to_string(), "10");
        assert_eq!(m("0.00").to_string(), "0.00");
        assert_eq!(m("912.34").to_string(), "912.34");
        assert_eq!(m("-5").to_string(), "-5");
        assert!(m("-5").is_negative());
        assert_eq!(m("-0.00").to_string(), "0.00");
        assert!(!m("-0.00").is_negative());
        assert!(m("0").is_zero());
        // 0.1 + 0.2 is exactly 0.3: no float on the way.
        assert_eq!(m("0.1").amount() + m("0.2").amount(), m("0.3").amount());
        assert_eq!(m("1000000000000000000").to_string(), "1000000000000000000");
        assert_eq!(
            m("0.0000000000000000000000000001").to_string(),
            "0.0000000000000000000000000001"
        );
    }

    #[test]
    fn compares_by_value() {
        assert_eq!(m("10"), m("10.00"));
        assert_eq!(m("10.0"), m("10.000"));
        assert_ne!(m("10.01"), m("10.1"));
        assert!(m("9.99") < m("10"));
        assert!(m("-1") < Money::ZERO);
        let set: HashSet<Money> = [m("10"), m("10.00"), m("10.0")].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert_eq!(m("10.50").normalized().to_string(), "10.5");
        assert_eq!(Money::default(), Money::ZERO);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            " ",
            " 1",
            "1 ",
            "NaN",
            "nan",
            "inf",
            "Infinity",
            "-Infinity",
            "1e5",
            "1E5",
            "+1",
            "1_000",
            "1,00",
            "1.",
            ".5",
            "-",
            "-.5",
            "--1",
            "1.2.3",
            "0x10",
            "١",
            "$10",
            "10 USD",
            "12345678901234567890123456789012",
            "1.00000000000000000000000000001",
            "0.00000000000000000000000000001",
        ] {
            let e = Money::parse(bad).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
            assert!(e.to_string().starts_with("invalid money amount"), "{e}");
        }
        assert!(
            Money::parse(&"9".repeat(100_000))
                .unwrap_err()
                .to_string()
                .len()
                < 200
        );
    }

    #[test]
    fn serde_is_a_string_and_round_trips() {
        for s in ["19.99", "10.0", "10", "0.00", "-3.5"] {
            let json = serde_json::to_string(&m(s)).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            let back: Money = serde_json::from_str(&json).unwrap();
            assert_eq!(back.to_string(), s);
        }
        assert!(serde_json::from_str::<Money>("19.99").is_err());
        assert!(serde_json::from_str::<Money>("null").is_err());
        assert!(serde_json::from_str::<Money>("\"abc\"").is_err());
        assert_eq!(format!("{:?}", m("1.50")), "Money(1.50)");
    }

    #[test]
    fn never_panics_and_round_trips_what_it_accepts() {
        let mut accepted = 0;
        for s in crate::model::test_support::arbitrary_strings(20_000) {
            if let Ok(money) = Money::parse(&s) {
                accepted += 1;
                let back = Money::parse(&money.to_string()).unwrap();
                assert_eq!(back, money);
                assert_eq!(back.to_string(), money.to_string());
            }
        }
        assert!(accepted > 100, "{accepted}");
    }
}
