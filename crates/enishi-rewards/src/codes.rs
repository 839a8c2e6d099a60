//! Customer-facing codes: referral codes (derived from the customer id, so unique without a
//! lookup) and coupon codes (random).

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

/// The referral code of a customer: `R` and eight characters. The id is scrambled by a
/// bijection of 40-bit numbers (multiplication by an odd constant), so codes are unique for
/// every id below 2⁴⁰ and do not reveal how many customers the shop has.
pub fn referral_code(customer_id: i64) -> String {
    const MASK: u64 = (1 << 40) - 1;
    let scrambled = (customer_id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15 | 1) & MASK;
    format!("R{}", base32(scrambled, 8))
}

/// A new coupon code: `XXXX-XXXX-XXXX`, 60 random bits.
pub(crate) fn coupon_code() -> String {
    let v: u64 = rand::thread_rng().gen::<u64>() >> 4;
    let s = base32(v, 12);
    format!("{}-{}-{}", &s[0..4], &s[4..8], &s[8..12])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn referral_codes_are_unique_and_stable() {
        let codes: HashSet<String> = (1..100_000).map(referral_code).collect();
        assert_eq!(codes.len(), 99_999);
        assert_eq!(referral_code(42), referral_code(42));
        assert_eq!(referral_code(42).len(), 9);
    }

    #[test]
    fn coupon_codes_have_their_shape() {
        let c = coupon_code();
        assert_eq!(c.len(), 14);
        assert_eq!(c.matches('-').count(), 2);
    }
}
