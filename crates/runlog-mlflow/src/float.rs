//! Metric values as Python's `repr(float)` writes them, which is what MLflow puts in a
//! metric file: the shortest digits that round-trip, fixed notation for decimal exponents
//! -4 ≤ e < 16 (with `.0` when there is no fraction), otherwise `d.ddde±XX`; `nan`, `inf`,
//! `-inf`.

use std::fmt::Write;

/// Appends `value` to `out` exactly as Python's `repr(value)` would print it.
pub fn write_python_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("nan");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "inf" } else { "-inf" });
        return;
    }
    // Rust's `{:e}` prints the shortest round-trip digits: `1.2345e3`, `-0e0`, `5e-324`.
    // At most 17 digits, a sign, a point and a 4-character exponent: 32 bytes suffice.
    let mut buf = [0u8; 32];
    let len = {
        let mut cursor = std::io::Cursor::new(&mut buf[..]);
        std::io::Write::write_fmt(&mut cursor, format_args!("{value:e}"))
            .expect("an f64 in `{:e}` fits in 32 bytes");
        cursor.position() as usize
    };
    let sci = std::str::from_utf8(&buf[..len]).expect("`{:e}` writes ASCII");
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` always has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` writes a decimal exponent");
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let mut digit_buf = [0u8; 24];
    let mut n = 0;
    for b in mantissa.bytes().filter(|b| *b != b'.') {
        digit_buf[n] = b;
        n += 1;
    }
    let digits = std::str::from_utf8(&digit_buf[..n]).expect("ASCII digits");
    // Python's `decpt`: where the decimal point sits relative to the digits.
    let decpt = exp + 1;
    if negative {
        out.push('-');
    }
    if decpt <= -4 || decpt > 16 {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        write!(out, "e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
            .expect("writing to a String cannot fail");
    } else if decpt <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-decpt) as usize));
        out.push_str(digits);
    } else {
        let decpt = decpt as usize;
        if decpt >= digits.len() {
            out.push_str(digits);
            out.extend(std::iter::repeat_n('0', decpt - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..decpt]);
            out.push('.');
            out.push_str(&digits[decpt..]);
        }
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
            (f64::NAN, "nan"),
            (-f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, expected) in cases {
            assert_eq!(python_float(*value), *expected, "{value:?}");
        }
    }
}
