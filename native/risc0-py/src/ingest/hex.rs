//! Canonical hex parsing of JSON-RPC strings (byte strings and quantities) and
//! the decimal text of uint256 values, each read exactly as the Python path
//! reads it (`types.hex_bytes`, `int(s, 16)`, `str(int)`).

/// Value of each ASCII hex digit; 0xff for any other byte.
const HEX_DIGITS: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        table[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

fn hex_digit(c: u8) -> Option<u8> {
    let value = HEX_DIGITS[c as usize];
    (value != 0xff).then_some(value)
}

/// `0x` + an even number of hex digits (what `types.hex_bytes` reads the same way).
pub fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    let digits = s.as_bytes().strip_prefix(b"0x")?;
    if digits.len() % 2 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() / 2);
    let mut invalid = 0u8;
    for pair in digits.chunks_exact(2) {
        let (high, low) = (HEX_DIGITS[pair[0] as usize], HEX_DIGITS[pair[1] as usize]);
        invalid |= high | low;
        out.push(high << 4 | (low & 0x0f));
    }
    // any invalid digit has all bits set (0xff), valid ones never reach 0x10
    (invalid & 0xf0 == 0).then_some(out)
}

/// A quantity `0x` + at least one hex digit, as minimal big-endian bytes (zero is empty),
/// at most 32 bytes (what `int(s, 16)` reads the same way).
pub fn hex_quantity(s: &str) -> Option<Vec<u8>> {
    let mut digits = s.as_bytes().strip_prefix(b"0x")?;
    if digits.is_empty() {
        return None;
    }
    while digits.len() > 1 && digits[0] == b'0' {
        digits = &digits[1..];
    }
    let mut out = Vec::with_capacity(digits.len() / 2 + 1);
    let mut i = 0;
    if digits.len() % 2 == 1 {
        out.push(hex_digit(digits[0])?);
        i = 1;
    }
    while i < digits.len() {
        out.push(hex_digit(digits[i])? << 4 | hex_digit(digits[i + 1])?);
        i += 2;
    }
    let leading_zeros = out.iter().take_while(|&&b| b == 0).count();
    out.drain(..leading_zeros);
    if out.len() > 32 {
        return None;
    }
    Some(out)
}

/// A big-endian unsigned integer of at most 8 bytes.
pub fn u64_from_be(bytes: &[u8]) -> Option<u64> {
    if bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |acc, &b| acc << 8 | b as u64))
}

/// Decimal text of a big-endian unsigned integer of at most 32 bytes (Python's `str(int)`).
pub fn decimal_text(bytes: &[u8]) -> String {
    let mut limbs = [0u64; 4]; // little-endian limbs
    for (i, chunk) in bytes.rchunks(8).enumerate() {
        limbs[i] = chunk.iter().fold(0u64, |acc, &b| acc << 8 | b as u64);
    }
    if limbs[1] == 0 && limbs[2] == 0 && limbs[3] == 0 {
        return limbs[0].to_string();
    }
    // Divide by 10^19 (the largest power of ten below 2^64) repeatedly: each
    // remainder is 19 decimal digits, least significant first.
    const BASE: u128 = 10_000_000_000_000_000_000;
    let mut parts = Vec::new();
    while limbs.iter().any(|&limb| limb != 0) {
        let mut remainder: u128 = 0;
        for limb in limbs.iter_mut().rev() {
            let current = (remainder << 64) | *limb as u128;
            *limb = (current / BASE) as u64;
            remainder = current % BASE;
        }
        parts.push(remainder as u64);
    }
    let mut text = parts.last().unwrap().to_string();
    for part in parts.iter().rev().skip(1) {
        text.push_str(&format!("{part:019}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_matches_known_values() {
        assert_eq!(decimal_text(&[]), "0");
        assert_eq!(decimal_text(&[1, 0]), "256");
        let max = [0xffu8; 32];
        assert_eq!(
            decimal_text(&max),
            "115792089237316195423570985008687907853269984665640564039457584007913129639935"
        );
        let two_pow_128 = {
            let mut v = vec![1u8];
            v.extend([0u8; 16]);
            v
        };
        assert_eq!(
            decimal_text(&two_pow_128),
            "340282366920938463463374607431768211456"
        );
        let ten_pow_19 = 10_000_000_000_000_000_000u128.to_be_bytes();
        let leading_zeros = ten_pow_19.iter().take_while(|&&b| b == 0).count();
        assert_eq!(
            decimal_text(&ten_pow_19[leading_zeros..]),
            "10000000000000000000"
        );
    }

    #[test]
    fn hex_parsing_is_canonical_only() {
        assert_eq!(hex_quantity("0x0"), Some(vec![]));
        assert_eq!(hex_quantity("0x00ff"), Some(vec![0xff]));
        assert_eq!(hex_quantity("0x100"), Some(vec![1, 0]));
        assert_eq!(hex_quantity("0x"), None);
        assert_eq!(hex_quantity("ff"), None);
        assert_eq!(hex_quantity("0xg"), None);
        assert_eq!(hex_quantity(&format!("0x1{}", "0".repeat(64))), None);
        assert_eq!(hex_bytes("0x"), Some(vec![]));
        assert_eq!(hex_bytes("0xabc"), None);
        assert_eq!(hex_bytes("0xAbCd"), Some(vec![0xab, 0xcd]));
        assert_eq!(hex_bytes("0xzz"), None);
        assert_eq!(u64_from_be(&[1, 0]), Some(256));
        assert_eq!(u64_from_be(&[1; 9]), None);
    }
}
