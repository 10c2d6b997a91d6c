//! Fixed-width bit packing: `n` unsigned integers of `width` bits each, little-endian bit order,
//! packed back to back into `ceil(n * width / 8)` bytes.

/// Number of bytes that `n` values of `width` bits occupy.
pub(crate) fn packed_len(n: usize, width: u32) -> usize {
    (n * width as usize).div_ceil(8)
}

/// Bits needed to represent `x` (0 for 0).
pub(crate) fn bit_width(x: u64) -> u32 {
    64 - x.leading_zeros()
}

/// Appends `values` packed at `width` bits each. Every value must fit in `width` bits.
pub(crate) fn pack(values: &[u64], width: u32, out: &mut Vec<u8>) {
    debug_assert!(width <= 64);
    if width == 0 {
        return;
    }
    let start = out.len();
    let total = packed_len(values.len(), width);
    out.reserve(total + 8);
    let mut acc: u128 = 0;
    let mut nbits: u32 = 0;
    for &v in values {
        debug_assert!(width == 64 || v >> width == 0);
        acc |= (v as u128) << nbits;
        nbits += width;
        if nbits >= 64 {
            out.extend_from_slice(&(acc as u64).to_le_bytes());
            acc >>= 64;
            nbits -= 64;
        }
    }
    let tail = nbits.div_ceil(8) as usize;
    out.extend_from_slice(&(acc as u64).to_le_bytes()[..tail]);
    debug_assert_eq!(out.len() - start, total);
}

/// Unpacks `out.len()` values of `width` bits from `buf`, calling `out[i] = f(raw_i)`.
/// `buf` must hold at least `packed_len(out.len(), width)` bytes (checked by the caller).
#[inline]
pub(crate) fn unpack_map(buf: &[u8], width: u32, out: &mut [u64], f: impl Fn(u64) -> u64) {
    let n = out.len();
    debug_assert!(buf.len() >= packed_len(n, width));
    if width == 0 {
        let z = f(0);
        out.iter_mut().for_each(|o| *o = z);
        return;
    }
    let w = width as usize;
    let mask = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    if width <= 56 {
        // Fast path: one unaligned 8-byte load per value while 8 bytes remain.
        let fast = if buf.len() >= 8 {
            // Values whose 8-byte window starts at or before len - 8.
            (((buf.len() - 8) * 8) / w + 1).min(n)
        } else {
            0
        };
        for (i, o) in out[..fast].iter_mut().enumerate() {
            let bit = i * w;
            let byte = bit >> 3;
            let word = u64::from_le_bytes(buf[byte..byte + 8].try_into().expect("8 bytes"));
            *o = f((word >> (bit & 7)) & mask);
        }
        for (i, o) in out.iter_mut().enumerate().skip(fast) {
            *o = f(read_slow(buf, i * w, width) & mask);
        }
    } else {
        for (i, o) in out.iter_mut().enumerate() {
            *o = f(read_slow(buf, i * w, width) & mask);
        }
    }
}

/// Reads up to 64 bits starting at bit `bit`, tolerating the end of the buffer.
fn read_slow(buf: &[u8], bit: usize, width: u32) -> u64 {
    let byte = bit >> 3;
    let shift = (bit & 7) as u32;
    let need = (shift + width).div_ceil(8) as usize;
    let mut tmp = [0u8; 16];
    let avail = buf.len().saturating_sub(byte).min(need);
    tmp[..avail].copy_from_slice(&buf[byte..byte + avail]);
    (u128::from_le_bytes(tmp) >> shift) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_width() {
        for width in 0..=64u32 {
            for n in [0usize, 1, 7, 8, 9, 63, 64, 65, 300] {
                let mask = if width == 64 {
                    u64::MAX
                } else {
                    (1u64 << width) - 1
                };
                let values: Vec<u64> = (0..n as u64)
                    .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & mask)
                    .collect();
                let mut buf = Vec::new();
                pack(&values, width, &mut buf);
                assert_eq!(buf.len(), packed_len(n, width));
                let mut out = vec![0; n];
                unpack_map(&buf, width, &mut out, |x| x);
                assert_eq!(out, values, "width {width} n {n}");
            }
        }
    }

    #[test]
    fn bit_width_matches_definition() {
        assert_eq!(bit_width(0), 0);
        assert_eq!(bit_width(1), 1);
        assert_eq!(bit_width(255), 8);
        assert_eq!(bit_width(256), 9);
        assert_eq!(bit_width(u64::MAX), 64);
    }
}
