//! The few edwards25519 operations the precomputed-table path needs, on fiat-crypto's field
//! arithmetic (generated from a machine-checked proof of its bounds).
//!
//! Why not dalek's points: its tables hold full extended points, and adding one costs nine
//! field multiplications (convert, add, convert back). A table entry kept in affine "Niels"
//! form `(y+x, y-x, 2d·x·y)` is added with seven, and takes 120 bytes instead of 160; dalek
//! keeps that form private. Everything here is the textbook twisted Edwards arithmetic of
//! Hisil, Wong, Carter and Dawson (2008) with `a = -1`, whose unified addition is complete on
//! the whole curve (torsion points included, and adding a point to itself), so no special
//! case is ever taken. The results are held to dalek's point by point in the tests below and
//! in `multiples`.

use std::sync::LazyLock;

use fiat_crypto::curve25519_64 as fiat;

/// An element of GF(2^255 - 19) with tight limb bounds: fit to multiply, add or encode.
#[derive(Clone, Copy)]
pub(crate) struct Fe(fiat::fiat_25519_tight_field_element);

/// A sum or difference, with loose bounds: fit only to multiply (or to carry back to tight).
#[derive(Clone, Copy)]
struct Loose(fiat::fiat_25519_loose_field_element);

impl Fe {
    const ZERO: Fe = Fe(fiat::fiat_25519_tight_field_element([0; 5]));
    const ONE: Fe = Fe(fiat::fiat_25519_tight_field_element([1, 0, 0, 0, 0]));

    fn from_u64(n: u64) -> Fe {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        Fe::from_bytes(&bytes)
    }

    /// The element of 255 little-endian bits (the top bit of `bytes` is ignored); values of
    /// p and above are reduced.
    fn from_bytes(bytes: &[u8; 32]) -> Fe {
        let mut low = *bytes;
        low[31] &= 0x7f;
        let mut out = fiat::fiat_25519_tight_field_element([0; 5]);
        fiat::fiat_25519_from_bytes(&mut out, &low);
        Fe(out)
    }

    /// The canonical little-endian encoding (below p).
    fn to_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        fiat::fiat_25519_to_bytes(&mut out, &self.0);
        out
    }

    fn relax(self) -> Loose {
        let mut out = fiat::fiat_25519_loose_field_element([0; 5]);
        fiat::fiat_25519_relax(&mut out, &self.0);
        Loose(out)
    }

    fn add(self, other: Fe) -> Loose {
        let mut out = fiat::fiat_25519_loose_field_element([0; 5]);
        fiat::fiat_25519_add(&mut out, &self.0, &other.0);
        Loose(out)
    }

    fn sub(self, other: Fe) -> Loose {
        let mut out = fiat::fiat_25519_loose_field_element([0; 5]);
        fiat::fiat_25519_sub(&mut out, &self.0, &other.0);
        Loose(out)
    }

    fn neg(self) -> Fe {
        let mut out = fiat::fiat_25519_loose_field_element([0; 5]);
        fiat::fiat_25519_opp(&mut out, &self.0);
        Loose(out).carry()
    }

    fn mul(self, other: Fe) -> Fe {
        self.relax().mul(other.relax())
    }

    fn square(self) -> Fe {
        let mut out = fiat::fiat_25519_tight_field_element([0; 5]);
        fiat::fiat_25519_carry_square(&mut out, &self.relax().0);
        Fe(out)
    }

    /// `self^(2^k)`.
    fn square_times(self, k: u32) -> Fe {
        (0..k).fold(self, |acc, _| acc.square())
    }

    /// `(self^(2^250 - 1), self^11)`: the common start of an inversion and of a square root
    /// (254 squarings and 11 multiplications, the usual addition chain).
    fn pow_2_250_minus_1(self) -> (Fe, Fe) {
        let z2 = self.square();
        let z9 = z2.square_times(2).mul(self);
        let z11 = z2.mul(z9);
        let z_5_0 = z11.square().mul(z9); // 2^5 - 1
        let z_10_0 = z_5_0.square_times(5).mul(z_5_0);
        let z_20_0 = z_10_0.square_times(10).mul(z_10_0);
        let z_40_0 = z_20_0.square_times(20).mul(z_20_0);
        let z_50_0 = z_40_0.square_times(10).mul(z_10_0);
        let z_100_0 = z_50_0.square_times(50).mul(z_50_0);
        let z_200_0 = z_100_0.square_times(100).mul(z_100_0);
        let z_250_0 = z_200_0.square_times(50).mul(z_50_0);
        (z_250_0, z11)
    }

    /// `self^exponent`, the exponent in little-endian bytes: square and multiply, for the
    /// constants.
    fn pow(self, exponent: &[u8; 32]) -> Fe {
        let mut acc = Fe::ONE;
        for byte in exponent.iter().rev() {
            for bit in (0..8).rev() {
                acc = acc.square();
                if (byte >> bit) & 1 == 1 {
                    acc = acc.mul(self);
                }
            }
        }
        acc
    }

    /// `1/self` (Fermat: `self^(p-2)`, p - 2 = 2^255 - 21); zero for zero.
    fn invert(self) -> Fe {
        let (z_250_0, z11) = self.pow_2_250_minus_1();
        z_250_0.square_times(5).mul(z11)
    }

    /// `self^((p-5)/8)` = `self^(2^252 - 3)`.
    fn pow_p_minus_5_over_8(self) -> Fe {
        self.pow_2_250_minus_1().0.square_times(2).mul(self)
    }

    fn equals(self, other: Fe) -> bool {
        self.to_bytes() == other.to_bytes()
    }

    /// RFC 8032's sign of x: the low bit of its canonical encoding.
    fn is_negative(self) -> bool {
        self.to_bytes()[0] & 1 == 1
    }
}

impl Loose {
    fn mul(self, other: Loose) -> Fe {
        let mut out = fiat::fiat_25519_tight_field_element([0; 5]);
        fiat::fiat_25519_carry_mul(&mut out, &self.0, &other.0);
        Fe(out)
    }

    fn carry(self) -> Fe {
        let mut out = fiat::fiat_25519_tight_field_element([0; 5]);
        fiat::fiat_25519_carry(&mut out, &self.0);
        Fe(out)
    }
}

/// p - 2 = 2^255 - 21, little-endian (the tests hold the addition chain of `invert` to it).
#[cfg(test)]
const P_MINUS_2: [u8; 32] = exponent(0xeb, 0x7f);
/// (p - 5) / 8 = 2^252 - 3, little-endian (likewise for the square root's chain).
#[cfg(test)]
const P_MINUS_5_OVER_8: [u8; 32] = exponent(0xfd, 0x0f);
/// (p - 1) / 4 = 2^253 - 5, little-endian: 2 to this power is a square root of -1.
const P_MINUS_1_OVER_4: [u8; 32] = exponent(0xfb, 0x1f);

/// The little-endian bytes `low, 0xff, ..., 0xff, high`: the exponents above are all of
/// this shape (a power of two less a small number).
const fn exponent(low: u8, high: u8) -> [u8; 32] {
    let mut bytes = [0xff; 32];
    bytes[0] = low;
    bytes[31] = high;
    bytes
}

/// The curve's constants, derived from their definitions rather than written out.
struct Constants {
    /// d = -121665/121666.
    d: Fe,
    /// 2·d.
    d2: Fe,
    /// A square root of -1.
    sqrt_minus_1: Fe,
}

static CONSTANTS: LazyLock<Constants> = LazyLock::new(|| {
    let d = Fe::from_u64(121_665)
        .neg()
        .mul(Fe::from_u64(121_666).invert());
    Constants {
        d,
        d2: d.add(d).carry(),
        sqrt_minus_1: Fe::from_u64(2).pow(&P_MINUS_1_OVER_4),
    }
});

/// A point in extended coordinates: x = X/Z, y = Y/Z, x·y = T/Z.
#[derive(Clone, Copy)]
pub(crate) struct Extended {
    x: Fe,
    y: Fe,
    z: Fe,
    t: Fe,
}

/// An affine point kept for adding: `(y + x, y - x, 2d·x·y)`.
#[derive(Clone, Copy)]
pub(crate) struct Niels {
    y_plus_x: Fe,
    y_minus_x: Fe,
    xy2d: Fe,
}

impl Extended {
    pub(crate) const IDENTITY: Extended = Extended {
        x: Fe::ZERO,
        y: Fe::ONE,
        z: Fe::ONE,
        t: Fe::ZERO,
    };

    /// The point of a canonical encoding (RFC 8032 §5.1.3), or `None` when the bytes are not
    /// one.
    pub(crate) fn decode(bytes: &[u8; 32]) -> Option<Extended> {
        let constants = &*CONSTANTS;
        let y = Fe::from_bytes(bytes);
        let mut y_bytes = *bytes;
        y_bytes[31] &= 0x7f;
        if y.to_bytes() != y_bytes {
            return None;
        }
        let x_is_negative = bytes[31] >> 7 == 1;
        // x^2 = u/v with u = y^2 - 1 and v = d·y^2 + 1; x = u·v^3·(u·v^7)^((p-5)/8), times
        // sqrt(-1) when that squares to -u/v instead.
        let yy = y.square();
        let u = yy.sub(Fe::ONE).carry();
        let v = constants.d.mul(yy).add(Fe::ONE).carry();
        let v3 = v.square().mul(v);
        let v7 = v3.square().mul(v);
        let mut x = u.mul(v3).mul(u.mul(v7).pow_p_minus_5_over_8());
        let vxx = v.mul(x.square());
        if !vxx.equals(u) {
            if !vxx.equals(u.neg()) {
                return None;
            }
            x = x.mul(constants.sqrt_minus_1);
        }
        if x.equals(Fe::ZERO) && x_is_negative {
            return None;
        }
        if x.is_negative() != x_is_negative {
            x = x.neg();
        }
        Some(Extended {
            x,
            y,
            z: Fe::ONE,
            t: x.mul(y),
        })
    }

    /// The canonical encoding of this point (one inversion; [`encode_all`] shares one among
    /// many).
    #[cfg(test)]
    pub(crate) fn encode(&self) -> [u8; 32] {
        let z_inverse = self.z.invert();
        encoding_of(self.x.mul(z_inverse), self.y.mul(z_inverse))
    }

    /// This point in the form that is cheapest to add (one inversion).
    pub(crate) fn niels(&self) -> Niels {
        let z_inverse = self.z.invert();
        niels_of(self.x.mul(z_inverse), self.y.mul(z_inverse))
    }

    /// `self + q`.
    pub(crate) fn add(&self, q: &Niels) -> Extended {
        let pp = self.y.add(self.x).mul(q.y_plus_x.relax());
        let mm = self.y.sub(self.x).mul(q.y_minus_x.relax());
        let txy2d = self.t.mul(q.xy2d);
        let z2 = self.z.add(self.z).carry();
        completed(pp.sub(mm), pp.add(mm), z2.add(txy2d), z2.sub(txy2d))
    }

    /// `self - q`: the same with q's negative `(-x, y)`, whose Niels form swaps `y + x` with
    /// `y - x` and negates `2d·x·y`.
    pub(crate) fn sub(&self, q: &Niels) -> Extended {
        let pm = self.y.add(self.x).mul(q.y_minus_x.relax());
        let mp = self.y.sub(self.x).mul(q.y_plus_x.relax());
        let txy2d = self.t.mul(q.xy2d);
        let z2 = self.z.add(self.z).carry();
        completed(pm.sub(mp), pm.add(mp), z2.sub(txy2d), z2.add(txy2d))
    }
}

/// The extended point of completed coordinates `((X/Z), (Y/T))`.
fn completed(x: Loose, y: Loose, z: Loose, t: Loose) -> Extended {
    Extended {
        x: x.mul(t),
        y: y.mul(z),
        z: z.mul(t),
        t: x.mul(y),
    }
}

/// The inverses of the Z of every point, with one field inversion (Montgomery's trick:
/// three multiplications per point instead of an inversion each).
fn inverted_zs(points: &[Extended]) -> Vec<Fe> {
    let mut prefix = Vec::with_capacity(points.len());
    let mut acc = Fe::ONE;
    for p in points {
        prefix.push(acc);
        acc = acc.mul(p.z);
    }
    // Z is never zero for a point on the curve, so neither is the product.
    let mut inverse = acc.invert();
    let mut out = vec![Fe::ZERO; points.len()];
    for (i, p) in points.iter().enumerate().rev() {
        out[i] = inverse.mul(prefix[i]);
        inverse = inverse.mul(p.z);
    }
    out
}

/// The canonical encodings of `points` (RFC 8032 §5.1.2), sharing one inversion.
pub(crate) fn encode_all(points: &[Extended]) -> Vec<[u8; 32]> {
    points
        .iter()
        .zip(inverted_zs(points))
        .map(|(p, z_inverse)| encoding_of(p.x.mul(z_inverse), p.y.mul(z_inverse)))
        .collect()
}

/// y's canonical bytes, with x's sign in the top bit.
fn encoding_of(x: Fe, y: Fe) -> [u8; 32] {
    let mut bytes = y.to_bytes();
    bytes[31] |= u8::from(x.is_negative()) << 7;
    bytes
}

/// The Niels forms of `points`, sharing one inversion.
pub(crate) fn niels_all(points: &[Extended]) -> Vec<Niels> {
    points
        .iter()
        .zip(inverted_zs(points))
        .map(|(p, z_inverse)| niels_of(p.x.mul(z_inverse), p.y.mul(z_inverse)))
        .collect()
}

fn niels_of(x: Fe, y: Fe) -> Niels {
    Niels {
        y_plus_x: y.add(x).carry(),
        y_minus_x: y.sub(x).carry(),
        xy2d: x.mul(y).mul(CONSTANTS.d2),
    }
}

/// The base point B of RFC 8032 (y = 4/5, x even), from dalek's encoding of it. That
/// encoding always decodes; the identity in its place would make every check fail, never
/// pass, and a test holds it to dalek's.
pub(crate) static BASEPOINT: LazyLock<Extended> = LazyLock::new(|| {
    Extended::decode(curve25519_dalek::constants::ED25519_BASEPOINT_COMPRESSED.as_bytes())
        .unwrap_or(Extended::IDENTITY)
});

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
    use curve25519_dalek::{Scalar, traits::Identity as _};

    fn ours(point: &EdwardsPoint) -> Extended {
        Extended::decode(point.compress().as_bytes()).expect("a valid point decodes")
    }

    fn encoding(point: &Extended) -> [u8; 32] {
        let one = point.encode();
        assert_eq!(encode_all(std::slice::from_ref(point)), [one]);
        one
    }

    fn sample_points() -> Vec<EdwardsPoint> {
        let mut points = vec![EdwardsPoint::identity(), ED25519_BASEPOINT_POINT];
        points.extend(EIGHT_TORSION);
        for i in 1..20u64 {
            let p = EdwardsPoint::mul_base(&Scalar::from(i.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
            points.push(p);
            points.push(p + EIGHT_TORSION[(i % 8) as usize]);
        }
        points
    }

    #[test]
    fn the_basepoint_is_dalek_s() {
        assert_eq!(
            encoding(&BASEPOINT),
            ED25519_BASEPOINT_POINT.compress().to_bytes()
        );
        assert_eq!(
            encoding(&BASEPOINT.add(&BASEPOINT.niels())),
            (ED25519_BASEPOINT_POINT + ED25519_BASEPOINT_POINT)
                .compress()
                .to_bytes()
        );
    }

    #[test]
    fn the_constants_are_the_curves() {
        let c = &*CONSTANTS;
        // d itself is checked by every decoding below: a wrong d finds other points.
        assert!(
            c.d.mul(Fe::from_u64(121_666))
                .equals(Fe::from_u64(121_665).neg())
        );
        assert!(c.sqrt_minus_1.square().equals(Fe::ONE.neg()));
        assert!(c.d2.equals(c.d.add(c.d).carry()));
        let x = Fe::from_u64(123_456_789);
        assert!(x.mul(x.invert()).equals(Fe::ONE));
        // The addition chains are the exponents they stand for.
        for x in [x, c.d, c.sqrt_minus_1, Fe::from_u64(2)] {
            assert!(x.invert().equals(x.pow(&P_MINUS_2)));
            assert!(x.pow_p_minus_5_over_8().equals(x.pow(&P_MINUS_5_OVER_8)));
        }
    }

    #[test]
    fn decoding_and_encoding_agree_with_dalek() {
        for p in sample_points() {
            let bytes = p.compress().to_bytes();
            assert_eq!(encoding(&ours(&p)), bytes);
        }
        // Not on the curve (y = 2 has no x, as dalek agrees), and not canonical (y = p + 1
        // spells 1).
        let mut two = [0u8; 32];
        two[0] = 2;
        assert!(CompressedEdwardsY(two).decompress().is_none());
        assert!(Extended::decode(&two).is_none());
        let mut p_plus_1 = [0xffu8; 32];
        p_plus_1[0] = 0xee;
        p_plus_1[31] = 0x7f;
        assert!(Extended::decode(&p_plus_1).is_none());
        // x = 0 with the sign bit set.
        let mut negative_zero = [0u8; 32];
        negative_zero[0] = 1;
        negative_zero[31] = 0x80;
        assert!(Extended::decode(&negative_zero).is_none());
    }

    #[test]
    fn sums_and_differences_agree_with_dalek() {
        let points = sample_points();
        let extended: Vec<Extended> = points.iter().map(ours).collect();
        let niels = niels_all(&extended);
        for (i, p) in points.iter().enumerate() {
            for (j, q) in points.iter().enumerate() {
                assert_eq!(
                    encoding(&extended[i].add(&niels[j])),
                    (p + q).compress().to_bytes(),
                    "{i} + {j}"
                );
                assert_eq!(
                    encoding(&extended[i].sub(&niels[j])),
                    (p - q).compress().to_bytes(),
                    "{i} - {j}"
                );
            }
        }
    }
}
