//! Customer-facing codes: referral codes (derived from the customer id, so unique without a
//! lookup) and coupon codes (random); and the idempotency keys of referral rewards.

use rand::Rng;

/// Crockford's base-32 alphabet: no I, L, O or U, so codes read aloud without confusion.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn base32(mut v: u64, len: usize) -> String {
    let mut out = vec![b'0'; len];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(v & 31) as usize];
        v >>= 5;
    }
    String::from_utf8(out).expect("ASCII")
}

/// Ids are scrambled by multiplying with this odd number modulo 2⁴⁰ (a bijection).
const SCRAMBLE: u64 = 0x9E37_79B9_7F4A_7C15;
const MASK: u64 = (1 << 40) - 1;

/// The referral code of a customer: `R` and eight characters. The id is scrambled by a
/// bijection of 40-bit numbers, so codes are unique for every id below 2⁴⁰, need no lookup
/// table, and do not reveal how many customers the shop has.
pub fn referral_code(customer_id: i64) -> String {
    let scrambled = (customer_id as u64).wrapping_mul(SCRAMBLE) & MASK;
    format!("R{}", base32(scrambled, 8))
}

/// The customer id a referral code stands for (whether that customer exists is for the caller
/// to check); `None` for a string that is no referral code. Case and the letters O, I and L
/// read as 0, 1 and 1 are forgiven, as Crockford's alphabet intends.
pub fn customer_of_referral_code(code: &str) -> Option<i64> {
    let body = code.trim().to_ascii_uppercase();
    let body = body.strip_prefix('R')?;
    if body.len() != 8 {
        return None;
    }
    let mut v: u64 = 0;
    for c in body.bytes() {
        let c = match c {
            b'O' => b'0',
            b'I' | b'L' => b'1',
            other => other,
        };
        v = (v << 5) | ALPHABET.iter().position(|&a| a == c)? as u64;
    }
    // The inverse of SCRAMBLE modulo 2⁶⁴ by Newton's iteration (each step doubles the bits).
    let mut inverse = SCRAMBLE;
    for _ in 0..6 {
        inverse = inverse.wrapping_mul(2u64.wrapping_sub(SCRAMBLE.wrapping_mul(inverse)));
    }
    let id = (v.wrapping_mul(inverse) & MASK) as i64;
    (referral_code(id) == format!("R{body}")).then_some(id)
}

/// A new coupon code: `XXXX-XXXX-XXXX`, 60 random bits.
pub(crate) fn coupon_code() -> String {
    let v: u64 = rand::thread_rng().gen::<u64>() >> 4;
    let s = base32(v, 12);
    format!("{}-{}-{}", &s[0..4], &s[4..8], &s[8..12])
}

/// The existing customer a referral code stands for.
pub fn referrer_by_code(c: &mut dyn enishi_store::Conn, code: &str) -> Result<Option<i64>, enishi_store::StoreError> {
    match customer_of_referral_code(code) {
        Some(id) if enishi_store::repo::customers::exists(c, id)? => Ok(Some(id)),
        _ => Ok(None),
    }
}

/// How the idempotency key of a referred customer's referral reward begins.
pub(crate) const REFEREE_KEY: &str = "referee:";
/// How the idempotency key of a referrer's reward begins.
pub(crate) const REFERRER_KEY: &str = "referrer:";

/// The idempotency key of a referred customer's referral reward.
pub(crate) fn referee_key(customer_id: i64) -> String {
    format!("{REFEREE_KEY}{customer_id}")
}

/// The idempotency key of the referrer's reward for referring `customer_id`.
pub(crate) fn referrer_key(customer_id: i64) -> String {
    format!("{REFERRER_KEY}{customer_id}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn referral_codes_are_unique_and_stable() {
        let codes: HashSet<String> = (1..100_000).map(referral_code).collect();
        assert_eq!(codes.len(), 99_999);
        // Stable across versions: printed codes must keep working.
        assert_eq!((referral_code(1).as_str(), referral_code(42).as_str()), ("RQ5ZMMZ0N", "RDVH3GPVJ"));
        for id in [1, 2, 42, 99_999, 1 << 39] {
            assert_eq!(customer_of_referral_code(&referral_code(id)), Some(id));
            assert_eq!(customer_of_referral_code(&referral_code(id).to_lowercase()), Some(id));
        }
        assert_eq!(customer_of_referral_code("RNOSUCH00"), None);
        assert_eq!(customer_of_referral_code("X"), None);
    }

    #[test]
    fn coupon_codes_have_their_shape() {
        let c = coupon_code();
        assert_eq!(c.len(), 14);
        assert_eq!(c.matches('-').count(), 2);
    }
}
