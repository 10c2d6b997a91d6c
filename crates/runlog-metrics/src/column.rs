//! Integer column codecs. Every column of a block (steps, timestamps, values) is first mapped to
//! order-preserving `u64`s, then stored with whichever of two codecs is smaller:
//!
//! - **FOR** (frame of reference): `base = min`, then each `v - base` packed at the width of
//!   `max - min`. Best for noisy values around a level (metric values).
//! - **DELTA**: the first value, then each difference `v[i] - v[i-1]` (wrapping, read as `i64`)
//!   minus the smallest difference, packed at the width of the difference range. Best for
//!   counters and clocks (steps, timestamps): constant strides cost 0 bits.
//!
//! Layout (little-endian): `mode: u8` (0 FOR, 1 DELTA), `width: u8`, then FOR: `base: u64`;
//! DELTA: `first: u64, min_delta: u64`; then the packed bits.

use crate::bitpack::{bit_width, pack, packed_len, unpack_extend};
use crate::error::DecodeError;

const MODE_FOR: u8 = 0;
const MODE_DELTA: u8 = 1;

/// Order-preserving map from `i64` to `u64`.
#[inline]
pub(crate) fn i64_to_ordered(x: i64) -> u64 {
    (x as u64) ^ (1 << 63)
}

/// Inverse of [`i64_to_ordered`].
#[inline]
pub(crate) fn ordered_to_i64(x: u64) -> i64 {
    (x ^ (1 << 63)) as i64
}

/// Order-preserving map from f64 bits to `u64` (negative floats reversed below positives).
#[inline]
pub(crate) fn f64_bits_to_ordered(bits: u64) -> u64 {
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// Inverse of [`f64_bits_to_ordered`].
#[inline]
pub(crate) fn ordered_to_f64_bits(x: u64) -> u64 {
    if x >> 63 == 1 { x & !(1 << 63) } else { !x }
}

/// Order-preserving map from f32 bits to `u64` (uses the low 32 bits).
#[inline]
pub(crate) fn f32_bits_to_ordered(bits: u32) -> u64 {
    (if bits >> 31 == 1 {
        !bits
    } else {
        bits | (1 << 31)
    }) as u64
}

/// Inverse of [`f32_bits_to_ordered`].
#[inline]
pub(crate) fn ordered_to_f32_bits(x: u64) -> u32 {
    let x = x as u32;
    if x >> 31 == 1 { x & !(1 << 31) } else { !x }
}

/// Encodes `map(v)` for each of `values` (at least one) into `out`.
#[inline(always)]
pub(crate) fn encode<T: Copy>(values: &[T], map: impl Fn(T) -> u64, out: &mut Vec<u8>) {
    debug_assert!(!values.is_empty());
    let n = values.len();
    let first = map(values[0]);
    let (mut min, mut max, mut prev) = (first, first, first);
    let (mut dmin, mut dmax) = (i64::MAX, i64::MIN);
    for &x in &values[1..] {
        let v = map(x);
        min = min.min(v);
        max = max.max(v);
        let d = v.wrapping_sub(prev) as i64;
        dmin = dmin.min(d);
        dmax = dmax.max(d);
        prev = v;
    }
    let for_width = bit_width(max - min);
    // A single value has no differences: FOR (width 0) always wins.
    let delta_width = if n > 1 {
        bit_width(dmax.wrapping_sub(dmin) as u64)
    } else {
        u32::MAX
    };
    if for_width <= delta_width {
        out.push(MODE_FOR);
        out.push(for_width as u8);
        out.extend_from_slice(&min.to_le_bytes());
        pack(values.iter().map(|&x| map(x) - min), n, for_width, out);
    } else {
        out.push(MODE_DELTA);
        out.push(delta_width as u8);
        out.extend_from_slice(&first.to_le_bytes());
        out.extend_from_slice(&(dmin as u64).to_le_bytes());
        let mut prev = first;
        let deltas = values[1..].iter().map(|&x| {
            let v = map(x);
            let d = (v.wrapping_sub(prev) as i64).wrapping_sub(dmin) as u64;
            prev = v;
            d
        });
        pack(deltas, n - 1, delta_width, out);
    }
}

/// Decodes a column of `n` values from the front of `buf`, pushing `map(v)` for each value `v`
/// onto `out`; returns the bytes consumed. `pad` is scratch space. On error `out` is unchanged.
#[inline(always)]
pub(crate) fn decode<T>(
    buf: &[u8],
    n: usize,
    out: &mut Vec<T>,
    pad: &mut Vec<u8>,
    map: impl Fn(u64) -> T,
) -> Result<usize, DecodeError> {
    let header = |len: usize| -> Result<(), DecodeError> {
        if buf.len() < len {
            Err(DecodeError::new(
                buf.len(),
                format!("column header needs {len} bytes, only {} remain", buf.len()),
            ))
        } else {
            Ok(())
        }
    };
    header(2)?;
    let mode = buf[0];
    let width = buf[1] as u32;
    if width > 64 {
        return Err(DecodeError::new(
            1,
            format!("column bit width {width} exceeds 64"),
        ));
    }
    let u64_at = |at: usize| u64::from_le_bytes(buf[at..at + 8].try_into().expect("8 bytes"));
    match mode {
        MODE_FOR => {
            header(10)?;
            let base = u64_at(2);
            let len = packed_len(n, width);
            check_len(buf, 10, len)?;
            unpack_extend(&buf[10..10 + len], width, n, out, pad, |x| {
                map(x.wrapping_add(base))
            });
            Ok(10 + len)
        }
        MODE_DELTA => {
            header(18)?;
            if n == 0 {
                return Err(DecodeError::new(0, "DELTA column with no values"));
            }
            let first = u64_at(2);
            let dmin = u64_at(10);
            let len = packed_len(n - 1, width);
            check_len(buf, 18, len)?;
            out.push(map(first));
            let mut acc = first;
            unpack_extend(&buf[18..18 + len], width, n - 1, out, pad, |x| {
                acc = acc.wrapping_add(x.wrapping_add(dmin));
                map(acc)
            });
            Ok(18 + len)
        }
        other => Err(DecodeError::new(
            0,
            format!("unknown column codec {other} (expected 0 = FOR or 1 = DELTA)"),
        )),
    }
}

fn check_len(buf: &[u8], at: usize, len: usize) -> Result<(), DecodeError> {
    if buf.len() - at < len {
        Err(DecodeError::new(
            at,
            format!(
                "column needs {len} packed bytes, only {} remain",
                buf.len() - at
            ),
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[u64]) -> usize {
        let mut out = Vec::new();
        encode(values, |x| x, &mut out);
        let mut back = Vec::new();
        let used = decode(&out, values.len(), &mut back, &mut Vec::new(), |x| x).unwrap();
        assert_eq!(used, out.len());
        assert_eq!(back, values);
        out.len()
    }

    #[test]
    fn constant_stride_costs_no_packed_bits() {
        let steps: Vec<u64> = (0..512).map(|s| i64_to_ordered(s * 10 - 40)).collect();
        assert_eq!(round_trip(&steps), 18);
    }

    #[test]
    fn extremes_round_trip() {
        round_trip(&[0, u64::MAX, 0, u64::MAX]);
        round_trip(&[u64::MAX]);
        round_trip(&[5, 5, 5]);
        round_trip(&[i64_to_ordered(i64::MIN), i64_to_ordered(i64::MAX)]);
    }

    #[test]
    fn float_maps_preserve_order_and_bits() {
        let xs = [
            f64::NEG_INFINITY,
            -1.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            f64::INFINITY,
        ];
        let ord: Vec<u64> = xs
            .iter()
            .map(|x| f64_bits_to_ordered(x.to_bits()))
            .collect();
        assert!(ord.windows(2).all(|w| w[0] < w[1]));
        for x in xs {
            assert_eq!(
                ordered_to_f64_bits(f64_bits_to_ordered(x.to_bits())),
                x.to_bits()
            );
            let f = x as f32;
            assert_eq!(
                ordered_to_f32_bits(f32_bits_to_ordered(f.to_bits())),
                f.to_bits()
            );
        }
    }

    #[test]
    fn truncated_column_is_an_error_not_a_panic() {
        let values: Vec<u64> = (0..100).map(|i| i * 7919 % 1000).collect();
        let mut out = Vec::new();
        encode(&values, |x| x, &mut out);
        let mut back = Vec::new();
        for cut in 0..out.len() {
            assert!(
                decode(&out[..cut], values.len(), &mut back, &mut Vec::new(), |x| x).is_err(),
                "cut {cut}"
            );
        }
    }
}
