//! secp256k1 ECDSA public-key recovery on RISC Zero's bigint2 accelerator
//! (`risc0-bigint2`: 256-bit modular multiplication and inversion, affine
//! point addition and doubling), used by [`super::recover_address`] in zkVM
//! guests built with the `zkvm-secp256k1` feature.
//!
//! The k256 software path ([`super::recover_address_software`]) is the
//! reference: for every input this gives the same address or the same
//! rejection ([`Error::InvalidSignature`]), check for check:
//! - high `s` (`s > n/2`) is rejected unless the caller allows it, and then
//!   replaced by `n - s` with the parity bit flipped (k256 wants low `s`);
//! - `r` and `s` must lie in `[1, n)`; the recovery id in `0..=3`;
//! - `R = (x, y)` with `x = r` (`r + n` when bit 1 of the recovery id is set;
//!   rejected if that is not below p), `y = sqrt(x³ + 7)` of the id's parity,
//!   rejected when `x³ + 7` is not a square;
//! - `Q = u1·G + u2·R` with `u1 = -z/r`, `u2 = s/r (mod n)`, `z` the hash
//!   reduced mod n; `Q` at infinity is rejected.
//!
//! The accelerator's preconditions hold by construction: every point handed
//! to it is on the curve (G, or R whose y was checked by squaring), and the
//! scalar multiplication is our own double-and-add (Shamir's trick, both
//! products at once) over its `add`/`double`, which handle the identity and
//! equal-x cases themselves; `r` is inverted only once known non-zero mod n.
//! The accelerator checks that each result it returns is below its modulus.
//!
//! Natively (unit tests only) the same algorithm runs over a slow software
//! backend, so it is checked against k256 without a guest build.

use super::SigningData;
use crate::keccak::keccak256;
use crate::{Address, Error, Result};

/// A 256-bit number as eight 32-bit words, least significant first (the
/// accelerator's layout).
type Words = [u32; 8];

/// Field prime p = 2^256 - 2^32 - 977.
const P: Words = be_words(&[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xfc, 0x2f,
]);
/// Group order n.
const N: Words = be_words(&[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);
/// Generator G, x coordinate.
const GX: Words = be_words(&[
    0x79, 0xbe, 0x66, 0x7e, 0xf9, 0xdc, 0xbb, 0xac, 0x55, 0xa0, 0x62, 0x95, 0xce, 0x87, 0x0b, 0x07,
    0x02, 0x9b, 0xfc, 0xdb, 0x2d, 0xce, 0x28, 0xd9, 0x59, 0xf2, 0x81, 0x5b, 0x16, 0xf8, 0x17, 0x98,
]);
/// Generator G, y coordinate.
const GY: Words = be_words(&[
    0x48, 0x3a, 0xda, 0x77, 0x26, 0xa3, 0xc4, 0x65, 0x5d, 0xa4, 0xfb, 0xfc, 0x0e, 0x11, 0x08, 0xa8,
    0xfd, 0x17, 0xb4, 0x48, 0xa6, 0x85, 0x54, 0x19, 0x9c, 0x47, 0xd0, 0x8f, 0xfb, 0x10, 0xd4, 0xb8,
]);
const ZERO: Words = [0; 8];
const SEVEN: Words = [7, 0, 0, 0, 0, 0, 0, 0];

/// Address that signed `d.signing_hash` with (r, s, recovery id): the same
/// result as the k256 software path for every input.
pub(crate) fn recover_address(d: &SigningData, allow_high_s: bool) -> Result<Address> {
    let r = be_words(&d.r);
    let mut s = be_words(&d.s);
    let high_s = less(&half_n(), &s);
    if high_s && !allow_high_s {
        return Err(Error::InvalidSignature);
    }
    if !is_scalar(&r) || !is_scalar(&s) {
        return Err(Error::InvalidSignature);
    }
    let mut recovery_id = d.y_parity;
    if high_s {
        // (r, s, id) and (r, n - s, id ^ 1) recover the same key
        s = sub(&N, &s);
        recovery_id ^= 1;
    }
    if recovery_id > 3 {
        return Err(Error::InvalidSignature);
    }
    let x = if recovery_id & 2 != 0 {
        add_checked(&r, &N).ok_or(Error::InvalidSignature)?
    } else {
        r
    };
    let point_r = decompress(&x, recovery_id & 1 == 1).ok_or(Error::InvalidSignature)?;
    // the hash is below 2^256 < 2n: one subtraction reduces it
    let mut z = be_words(&d.signing_hash);
    if !less(&z, &N) {
        z = sub(&z, &N);
    }
    let r_inv = backend::modinv(&r, &N);
    let u1 = negate_mod_n(&backend::modmul(&r_inv, &z, &N));
    let u2 = backend::modmul(&r_inv, &s, &N);
    let generator = backend::point(GX, GY);
    let q = lincomb(&u1, &generator, &u2, &point_r);
    let (qx, qy) = backend::affine(&q).ok_or(Error::InvalidSignature)?;
    let mut public_key = [0u8; 64];
    public_key[..32].copy_from_slice(&to_be_bytes(&qx));
    public_key[32..].copy_from_slice(&to_be_bytes(&qy));
    let hash = keccak256(&public_key);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    Ok(out)
}

/// The curve point with this x and y of this parity; `None` when x is not
/// below p or `x³ + 7` has no square root mod p.
fn decompress(x: &Words, y_is_odd: bool) -> Option<backend::Point> {
    if !less(x, &P) {
        return None;
    }
    let x3 = backend::modmul(&backend::modmul(x, x, &P), x, &P);
    // x³ < p and p + 6 < 2^256: no overflow, at most one subtraction
    let mut alpha = add_checked(&x3, &SEVEN)?;
    if !less(&alpha, &P) {
        alpha = sub(&alpha, &P);
    }
    let mut y = sqrt_candidate(&alpha);
    if backend::modmul(&y, &y, &P) != alpha {
        return None;
    }
    if (y[0] & 1 == 1) != y_is_odd && y != ZERO {
        y = sub(&P, &y);
    }
    Some(backend::point(*x, y))
}

/// `a^((p+1)/4) mod p`, the square root of `a` when it has one (p ≡ 3 mod 4);
/// k256's addition chain: 253 squarings, 13 multiplications.
fn sqrt_candidate(a: &Words) -> Words {
    let mul = |x: &Words, y: &Words| backend::modmul(x, y, &P);
    let pow2k = |x: &Words, k: usize| {
        let mut out = *x;
        for _ in 0..k {
            out = mul(&out, &out);
        }
        out
    };
    let x2 = mul(&pow2k(a, 1), a);
    let x3 = mul(&pow2k(&x2, 1), a);
    let x6 = mul(&pow2k(&x3, 3), &x3);
    let x9 = mul(&pow2k(&x6, 3), &x3);
    let x11 = mul(&pow2k(&x9, 2), &x2);
    let x22 = mul(&pow2k(&x11, 11), &x11);
    let x44 = mul(&pow2k(&x22, 22), &x22);
    let x88 = mul(&pow2k(&x44, 44), &x44);
    let x176 = mul(&pow2k(&x88, 88), &x88);
    let x220 = mul(&pow2k(&x176, 44), &x44);
    let x223 = mul(&pow2k(&x220, 3), &x3);
    let t = mul(&pow2k(&x223, 23), &x22);
    let t = mul(&pow2k(&t, 6), &x2);
    pow2k(&t, 2)
}

/// `a·p + b·q` by one double-and-add pass over both scalars (Shamir's trick).
fn lincomb(a: &Words, p: &backend::Point, b: &Words, q: &backend::Point) -> backend::Point {
    let sum = backend::add(p, q);
    let mut acc = backend::IDENTITY;
    for i in (0..256).rev() {
        acc = backend::double(&acc);
        let addend = match (bit(a, i), bit(b, i)) {
            (true, true) => &sum,
            (true, false) => p,
            (false, true) => q,
            (false, false) => continue,
        };
        acc = backend::add(&acc, addend);
    }
    acc
}

// ------------------------------------------------------------------ 256-bit helpers (software)

const fn be_words(bytes: &[u8; 32]) -> Words {
    let mut out = [0u32; 8];
    let mut i = 0;
    while i < 8 {
        let k = 28 - 4 * i;
        out[i] = u32::from_be_bytes([bytes[k], bytes[k + 1], bytes[k + 2], bytes[k + 3]]);
        i += 1;
    }
    out
}

fn to_be_bytes(w: &Words) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, word) in w.iter().enumerate() {
        let k = 28 - 4 * i;
        out[k..k + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn less(a: &Words, b: &Words) -> bool {
    for i in (0..8).rev() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
    }
    false
}

/// `a - b` for `a >= b`.
fn sub(a: &Words, b: &Words) -> Words {
    let mut out = [0u32; 8];
    let mut borrow = 0u64;
    for i in 0..8 {
        let d = (a[i] as u64).wrapping_sub(b[i] as u64 + borrow);
        out[i] = d as u32;
        borrow = (d >> 63) & 1;
    }
    out
}

/// `a + b`, `None` on overflow past 2^256.
fn add_checked(a: &Words, b: &Words) -> Option<Words> {
    let mut out = [0u32; 8];
    let mut carry = 0u64;
    for i in 0..8 {
        let s = a[i] as u64 + b[i] as u64 + carry;
        out[i] = s as u32;
        carry = s >> 32;
    }
    (carry == 0).then_some(out)
}

/// `(n - 1) / 2`: the largest low `s` (EIP-2).
fn half_n() -> Words {
    let mut out = [0u32; 8];
    for i in 0..8 {
        let high = if i < 7 { N[i + 1] << 31 } else { 0 };
        out[i] = (N[i] >> 1) | high;
    }
    out
}

/// `1 <= v < n`.
fn is_scalar(v: &Words) -> bool {
    *v != ZERO && less(v, &N)
}

/// `-v mod n` for `v < n`.
fn negate_mod_n(v: &Words) -> Words {
    if *v == ZERO {
        ZERO
    } else {
        sub(&N, v)
    }
}

fn bit(v: &Words, i: usize) -> bool {
    (v[i / 32] >> (i % 32)) & 1 == 1
}

// ------------------------------------------------------------------ backends

/// The accelerator: every call is one bigint2 ecall, its result checked to be
/// below the modulus by risc0-bigint2.
#[cfg(target_os = "zkvm")]
mod backend {
    use super::Words;
    use risc0_bigint2::ec::{AffinePoint, Secp256k1Curve};
    use risc0_bigint2::field::{modinv_256, modmul_256};

    pub type Point = AffinePoint<8, Secp256k1Curve>;
    pub const IDENTITY: Point = Point::IDENTITY;

    /// A point known to be on the curve.
    pub fn point(x: Words, y: Words) -> Point {
        Point::new_unchecked(x, y)
    }

    pub fn affine(p: &Point) -> Option<(Words, Words)> {
        p.as_u32s().map(|c| (c[0], c[1]))
    }

    pub fn add(a: &Point, b: &Point) -> Point {
        let mut out = IDENTITY;
        a.add(b, &mut out);
        out
    }

    pub fn double(a: &Point) -> Point {
        let mut out = IDENTITY;
        a.double(&mut out);
        out
    }

    pub fn modmul(a: &Words, b: &Words, modulus: &Words) -> Words {
        let mut out = [0u32; 8];
        modmul_256(a, b, modulus, &mut out);
        out
    }

    /// Inverse of `a`, which must be invertible (non-zero mod the prime).
    pub fn modinv(a: &Words, modulus: &Words) -> Words {
        let mut out = [0u32; 8];
        modinv_256(a, modulus, &mut out);
        out
    }
}

/// Software stand-in with the accelerator's semantics (affine points,
/// `None` = identity), for native unit tests of the algorithm.
#[cfg(not(target_os = "zkvm"))]
mod backend {
    use super::{Words, P};
    use ruint::aliases::U256;

    pub type Point = Option<(Words, Words)>;
    pub const IDENTITY: Point = None;

    pub fn point(x: Words, y: Words) -> Point {
        Some((x, y))
    }

    pub fn affine(p: &Point) -> Option<(Words, Words)> {
        *p
    }

    fn big(w: &Words) -> U256 {
        let mut limbs = [0u64; 4];
        for (i, limb) in limbs.iter_mut().enumerate() {
            *limb = w[2 * i] as u64 | (w[2 * i + 1] as u64) << 32;
        }
        U256::from_limbs(limbs)
    }

    fn words(v: U256) -> Words {
        let mut out = [0u32; 8];
        for (i, limb) in v.as_limbs().iter().enumerate() {
            out[2 * i] = *limb as u32;
            out[2 * i + 1] = (*limb >> 32) as u32;
        }
        out
    }

    fn sub_p(a: U256, b: U256) -> U256 {
        let p = big(&P);
        a.add_mod(p - b, p)
    }

    fn from_slope(lambda: U256, x1: U256, y1: U256, x2: U256) -> Point {
        let p = big(&P);
        let x3 = sub_p(sub_p(lambda.mul_mod(lambda, p), x1), x2);
        let y3 = sub_p(lambda.mul_mod(sub_p(x1, x3), p), y1);
        Some((words(x3), words(y3)))
    }

    pub fn add(a: &Point, b: &Point) -> Point {
        let (Some((x1, y1)), Some((x2, y2))) = (a, b) else {
            return a.or(*b);
        };
        if x1 == x2 {
            return if y1 == y2 { double(a) } else { None };
        }
        let p = big(&P);
        let (x1, y1, x2, y2) = (big(x1), big(y1), big(x2), big(y2));
        let inv = sub_p(x2, x1).inv_mod(p).expect("distinct x");
        from_slope(sub_p(y2, y1).mul_mod(inv, p), x1, y1, x2)
    }

    pub fn double(a: &Point) -> Point {
        let (x, y) = (*a)?;
        if y == [0; 8] {
            return None;
        }
        let p = big(&P);
        let (x, y) = (big(&x), big(&y));
        let inv = y.add_mod(y, p).inv_mod(p).expect("y non-zero");
        let three_x2 = U256::from(3u8).mul_mod(x.mul_mod(x, p), p);
        from_slope(three_x2.mul_mod(inv, p), x, y, x)
    }

    pub fn modmul(a: &Words, b: &Words, modulus: &Words) -> Words {
        words(big(a).mul_mod(big(b), big(modulus)))
    }

    pub fn modinv(a: &Words, modulus: &Words) -> Words {
        words(big(a).inv_mod(big(modulus)).expect("invertible"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::recover_address_software;
    use proptest::prelude::*;

    fn data(hash: [u8; 32], r: [u8; 32], s: [u8; 32], y: u8) -> SigningData {
        SigningData {
            signing_hash: hash,
            r,
            s,
            y_parity: y,
        }
    }

    fn same_verdict(d: &SigningData) {
        for allow_high_s in [false, true] {
            assert_eq!(
                recover_address(d, allow_high_s),
                recover_address_software(d, allow_high_s),
                "{d:?} allow_high_s={allow_high_s}"
            );
        }
    }

    /// A real signature by a known key (k256 signs), so recovery succeeds.
    fn signed(key_byte: u8, hash: [u8; 32]) -> SigningData {
        use k256::ecdsa::SigningKey;
        let key = SigningKey::from_slice(&[key_byte; 32]).unwrap();
        let (sig, rid) = key.sign_prehash_recoverable(&hash).unwrap();
        let (r, s) = sig.split_bytes();
        data(hash, r.into(), s.into(), rid.to_byte())
    }

    #[test]
    fn constants() {
        assert_eq!(to_be_bytes(&half_n()), crate::transaction::SECP256K1_HALF_N);
        assert_eq!(be_words(&to_be_bytes(&GX)), GX);
        // G is on the curve
        let y2 = backend::modmul(&GY, &GY, &P);
        let x3 = backend::modmul(&backend::modmul(&GX, &GX, &P), &GX, &P);
        assert_eq!(y2, add_checked(&x3, &SEVEN).unwrap());
    }

    #[test]
    fn real_signatures_recover_the_same_address() {
        for k in 1..12u8 {
            let d = signed(k, keccak256(&[k; 7]));
            assert!(recover_address(&d, false).is_ok());
            same_verdict(&d);
            // the high-s twin: rejected unless allowed, then the same key
            let high = SigningData {
                s: to_be_bytes(&sub(&N, &be_words(&d.s))),
                y_parity: d.y_parity ^ 1,
                ..d.clone()
            };
            same_verdict(&high);
            assert_eq!(recover_address(&high, false), Err(Error::InvalidSignature));
            assert_eq!(recover_address(&high, true), recover_address(&d, false));
            // wrong parity: another key, same verdict
            same_verdict(&SigningData {
                y_parity: d.y_parity ^ 1,
                ..d.clone()
            });
            for y in 2..=5 {
                same_verdict(&SigningData {
                    y_parity: y,
                    ..d.clone()
                });
            }
        }
    }

    #[test]
    fn edge_cases_match_software() {
        let d = signed(7, [0x42; 32]);
        let n = to_be_bytes(&N);
        let n_minus_1 = to_be_bytes(&sub(&N, &[1, 0, 0, 0, 0, 0, 0, 0]));
        let half = to_be_bytes(&half_n());
        let half_plus_1 = to_be_bytes(&add_checked(&half_n(), &[1, 0, 0, 0, 0, 0, 0, 0]).unwrap());
        let values = [[0u8; 32], n, [0xff; 32], n_minus_1, half, half_plus_1, {
            let mut one = [0u8; 32];
            one[31] = 1;
            one
        }];
        for r in values.iter().chain([&d.r]) {
            for s in values.iter().chain([&d.s]) {
                for y in 0..4 {
                    for hash in [d.signing_hash, [0; 32], n, [0xff; 32]] {
                        same_verdict(&data(hash, *r, *s, y));
                    }
                }
            }
        }
    }

    #[test]
    fn x_without_square_root_is_rejected() {
        // x = 5: 5³ + 7 = 132 is not a square mod p
        let mut r = [0u8; 32];
        r[31] = 5;
        assert!(decompress(&be_words(&r), false).is_none());
        let d = data([0x11; 32], r, signed(3, [1; 32]).s, 0);
        assert_eq!(recover_address(&d, false), Err(Error::InvalidSignature));
        same_verdict(&d);
    }

    #[test]
    fn hash_zero_mod_n_skips_the_generator() {
        // z = n ≡ 0: u1 = 0, Q = u2·R only
        let d = signed(9, [0x33; 32]);
        for hash in [[0u8; 32], to_be_bytes(&N)] {
            let d = SigningData {
                signing_hash: hash,
                ..d.clone()
            };
            assert!(recover_address(&d, false).is_ok());
            same_verdict(&d);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn random_inputs_match_software(
            hash in any::<[u8; 32]>(),
            r in any::<[u8; 32]>(),
            s in any::<[u8; 32]>(),
            y in 0u8..4,
        ) {
            same_verdict(&data(hash, r, s, y));
        }

        #[test]
        fn random_small_r_match_software(
            hash in any::<[u8; 32]>(),
            r_low in any::<[u8; 16]>(),
            s in any::<[u8; 32]>(),
            y in 0u8..4,
        ) {
            // r < p - n: the x = r + n recovery ids (2, 3) can succeed
            let mut r = [0u8; 32];
            r[16..].copy_from_slice(&r_low);
            same_verdict(&data(hash, r, s, y));
        }
    }
}
