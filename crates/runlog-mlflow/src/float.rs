//! Metric values as Python's `repr(float)` writes them, which is what MLflow puts in a
//! metric file: the shortest digits that round-trip, fixed notation for decimal exponents
//! -4 ≤ e < 16 (with `.0` when there is no fraction), otherwise `d.ddde±XX`; `nan`, `inf`,
//! `-inf`.

use std::fmt::Write;

/// Appends `value` to `out` exactly as Python's `repr(value)` would print it.
pub fn write_python_float(out: &mut String, value: f64) {
    let mut buf = [0u8; 32];
    let len = format_python_float(value, &mut buf);
    out.push_str(std::str::from_utf8(&buf[..len]).expect("ASCII"));
}

/// Appends `value` to `out` exactly as Python's `repr(value)` would print it.
pub fn write_python_float_bytes(out: &mut Vec<u8>, value: f64) {
    let mut buf = [0u8; 32];
    let len = format_python_float(value, &mut buf);
    out.extend_from_slice(&buf[..len]);
}

/// A small cursor over a fixed buffer.
struct Out<'b> {
    buf: &'b mut [u8; 32],
    len: usize,
}

impl Out<'_> {
    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    fn push_all(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
}

/// Writes Python's `repr(value)` into `buf` (at most 24 bytes: `-1.7976931348623157e+308`);
/// returns its length.
fn format_python_float(value: f64, buf: &mut [u8; 32]) -> usize {
    let mut out = Out { buf, len: 0 };
    if value.is_nan() {
        out.push_all(b"nan");
        return out.len;
    }
    if value.is_infinite() {
        out.push_all(if value > 0.0 { b"inf" } else { b"-inf" });
        return out.len;
    }
    // Ryū prints the shortest round-trip digits: `0.1`, `1e-7`, `1.2345e16`, `-0.0`.
    let mut ryu = ryu::Buffer::new();
    let text = ryu.format_finite(value).as_bytes();
    let (negative, text) = match text.strip_prefix(b"-") {
        Some(t) => (true, t),
        None => (false, text),
    };
    let (mantissa, exp) = match text.iter().position(|&b| b == b'e') {
        Some(at) => {
            let exp: i32 = std::str::from_utf8(&text[at + 1..])
                .ok()
                .and_then(|e| e.parse().ok())
                .expect("Ryū writes a decimal exponent");
            (&text[..at], exp)
        }
        None => (text, 0),
    };
    let int_len = mantissa
        .iter()
        .position(|&b| b == b'.')
        .unwrap_or(mantissa.len());
    let mut digit_buf = [0u8; 24];
    let mut n = 0;
    // Where the decimal point sits relative to the first kept digit (Python's `decpt`).
    let mut decpt = int_len as i32 + exp;
    for &b in mantissa.iter().filter(|b| **b != b'.') {
        if n == 0 && b == b'0' {
            decpt -= 1; // a leading zero
            continue;
        }
        digit_buf[n] = b;
        n += 1;
    }
    while n > 1 && digit_buf[n - 1] == b'0' {
        n -= 1;
    }
    if n == 0 {
        // Zero: Python's digits "0" with the point after it.
        digit_buf[0] = b'0';
        n = 1;
        decpt = 1;
    }
    break_tie_to_even(value.abs(), &mut digit_buf[..n], decpt);
    let digits = &digit_buf[..n];
    if negative {
        out.push(b'-');
    }
    if decpt <= -4 || decpt > 16 {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.push_all(&digits[1..]);
        }
        let e = decpt - 1;
        out.push(b'e');
        out.push(if e < 0 { b'-' } else { b'+' });
        let e = e.unsigned_abs();
        if e >= 100 {
            out.push(b'0' + (e / 100) as u8);
        }
        out.push(b'0' + (e / 10 % 10) as u8);
        out.push(b'0' + (e % 10) as u8);
    } else if decpt <= 0 {
        out.push_all(b"0.");
        for _ in 0..-decpt {
            out.push(b'0');
        }
        out.push_all(digits);
    } else {
        let decpt = decpt as usize;
        if decpt >= digits.len() {
            out.push_all(digits);
            for _ in 0..decpt - digits.len() {
                out.push(b'0');
            }
            out.push_all(b".0");
        } else {
            out.push_all(&digits[..decpt]);
            out.push(b'.');
            out.push_all(&digits[decpt..]);
        }
    }
    out.len
}

/// When the value lies exactly halfway between two shortest candidates, Rust keeps the upper
/// one and Python (David Gay's `dtoa`, mode 0) the one with the even last digit:
/// `1864467722013891.25` is `...891.2` in Python. Only the last digit can change (a carry
/// would have given a shorter candidate, which both would have picked).
fn break_tie_to_even(value: f64, digits: &mut [u8], decpt: i32) {
    let n = digits.len();
    let last = digits[n - 1] - b'0';
    // Halfway cases need a digit count where the double's spacing is that of the digits.
    if n < 15 || last.is_multiple_of(2) || value == 0.0 {
        return;
    }
    // A midpoint is M × 10^k with M = 10·D ± 5 odd and k = decpt - n - 1, so its power of
    // two is exactly 2^k: with value = mant × 2^e, e + trailing_zeros(mant) must equal k.
    // Almost every value fails this at once.
    let k = decpt - n as i32 - 1;
    let (mant, e) = decompose(value);
    if e + mant.trailing_zeros() as i32 != k {
        return;
    }
    let d: u128 = digits
        .iter()
        .fold(0, |acc, b| acc * 10 + u128::from(b - b'0'));
    // The midpoints D ± ½ unit, as integers times 10^k.
    for (midpoint, neighbour) in [(d * 10 - 5, last - 1), (d * 10 + 5, last + 1)] {
        if neighbour > 9 || !equals_decimal(value, midpoint, k) {
            continue;
        }
        let kept = digits[n - 1];
        digits[n - 1] = b'0' + neighbour;
        let mut text = String::with_capacity(32);
        text.push_str(std::str::from_utf8(digits).expect("ASCII digits"));
        write!(text, "e{}", decpt - n as i32).expect("writing to a String cannot fail");
        if text.parse::<f64>().map(f64::to_bits) != Ok(value.to_bits()) {
            digits[n - 1] = kept;
        }
        return;
    }
}

/// `(mant, e)` with the positive finite `value` = mant × 2^e exactly.
fn decompose(value: f64) -> (u64, i32) {
    let bits = value.to_bits();
    let exp_bits = ((bits >> 52) & 0x7FF) as i32;
    let frac = bits & ((1 << 52) - 1);
    if exp_bits == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), exp_bits - 1075)
    }
}

/// Whether the positive finite `value` is exactly `m × 10^k`.
fn equals_decimal(value: f64, m: u128, k: i32) -> bool {
    let (mant, e) = decompose(value);
    let pow5 = |p: i32| 5u128.checked_pow(p as u32);
    // Compare a × 2^shift with b.
    let (a, shift, b) = if k >= 0 {
        let Some(b) = pow5(k).and_then(|p| m.checked_mul(p)) else {
            return false;
        };
        (u128::from(mant), e - k, b)
    } else {
        let Some(a) = pow5(-k).and_then(|p| u128::from(mant).checked_mul(p)) else {
            return false;
        };
        (a, e - k, m)
    };
    let shifted = |x: u128, s: i32| -> Option<u128> {
        let s = u32::try_from(s).ok()?;
        (s < 128 && x.leading_zeros() >= s).then(|| x << s)
    };
    if shift >= 0 {
        shifted(a, shift) == Some(b)
    } else {
        shifted(b, -shift) == Some(a)
    }
}

/// `repr(value)` in Python.
pub fn python_float(value: f64) -> String {
    let mut s = String::new();
    write_python_float(&mut s, value);
    s
}

#[cfg(test)]
mod tests {
    use super::python_float;

    /// Every right-hand side was printed by CPython 3.11 (`repr(float(x))`).
    #[test]
    fn values_print_as_python_repr() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (5.0, "5.0"),
            (0.1, "0.1"),
            (0.35, "0.35"),
            (0.9500000000000001, "0.9500000000000001"),
            (0.39999999999999997, "0.39999999999999997"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e-7, "1e-07"),
            (1e-5, "1e-05"),
            (1e-4, "0.0001"),
            (0.00012345, "0.00012345"),
            (1.5e-5, "1.5e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345e16, "1.2345e+16"),
            (123456789012345.6, "123456789012345.6"),
            (1234567890123456.7, "1234567890123456.8"),
            (9007199254740993.0, "9007199254740992.0"),
            (1e20, "1e+20"),
            (1e100, "1e+100"),
            (-2.5e-300, "-2.5e-300"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (-123.456, "-123.456"),
            // Exactly halfway between two shortest candidates: Python keeps the even digit.
            (f64::from_bits(0xc31a7ee4e110330d), "-1864467722013891.2"),
            (f64::from_bits(0xc28500115942e440), "-2886254405724.5312"),
            (f64::from_bits(0x42e88614b3168384), "215713215722524.12"),
            (f64::from_bits(0x43165356dc2405a9), "1571020503318890.2"),
            (f64::NAN, "nan"),
            (-f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(python_float(*value), *expected, "{value:?}");
        }
    }

    /// Every spelling parses back to the same bits (NaN to a NaN), over bit patterns from
    /// every exponent range.
    #[test]
    fn every_value_round_trips() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..200_000 {
            // SplitMix64.
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            let value = f64::from_bits(z ^ (z >> 31));
            let text = python_float(value);
            let back: f64 = text.parse().unwrap();
            if value.is_nan() {
                assert!(back.is_nan(), "{text}");
            } else {
                assert_eq!(back.to_bits(), value.to_bits(), "{text}");
            }
        }
    }
}
