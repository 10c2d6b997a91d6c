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

/// Appends the `n` values of `values` packed at `width` bits each. Every value must fit in
/// `width` bits.
#[inline(always)]
pub(crate) fn pack(values: impl IntoIterator<Item = u64>, n: usize, width: u32, out: &mut Vec<u8>) {
    debug_assert!(width <= 64);
    if width == 0 {
        return;
    }
    let start = out.len();
    let total = packed_len(n, width);
    // Whole 64-bit words are stored as they fill; 8 spare bytes take the last partial word.
    out.resize(start + total + 8, 0);
    let buf = &mut out[start..];
    let (mut acc, mut nbits, mut pos) = (0u64, 0u32, 0usize);
    for v in values {
        debug_assert!(width == 64 || v >> width == 0);
        acc |= v << nbits;
        let used = nbits + width;
        if used >= 64 {
            buf[pos..pos + 8].copy_from_slice(&acc.to_le_bytes());
            pos += 8;
            nbits = used - 64;
            // The bits of `v` that did not fit in the word just stored.
            acc = if nbits == 0 { 0 } else { v >> (width - nbits) };
        } else {
            nbits = used;
        }
    }
    buf[pos..pos + 8].copy_from_slice(&acc.to_le_bytes());
    out.truncate(start + total);
}

/// Unpacks `n` values of `width` bits from `buf` (at least `packed_len(n, width)` bytes),
/// pushing `f(raw_i)` onto `out` in order (`f` may carry state, such as a running sum).
/// The packed bytes are first copied into `pad` with 16 zero bytes behind them, so that every
/// value is one unaligned load, with no end-of-buffer special case.
#[inline(always)]
pub(crate) fn unpack_extend<T>(
    buf: &[u8],
    width: u32,
    n: usize,
    out: &mut Vec<T>,
    pad: &mut Vec<u8>,
    mut f: impl FnMut(u64) -> T,
) {
    let len = packed_len(n, width);
    debug_assert!(buf.len() >= len);
    if width == 0 {
        out.extend((0..n).map(|_| f(0)));
        return;
    }
    pad.clear();
    pad.extend_from_slice(&buf[..len]);
    pad.extend_from_slice(&[0; 16]);
    let words: &[u8] = pad;
    let w = width as usize;
    let mask = if width == 64 {
        u64::MAX
    } else {
        (1u64 << width) - 1
    };
    // Value i occupies bits [i*w, i*w + w): its first byte is at most len - 1 and, being at most
    // 64 bits wide at a shift of at most 7, it ends within 9 bytes of that: the 16 zero bytes
    // appended above keep every 8- or 16-byte load below inside `words`.
    debug_assert!(n == 0 || (((n - 1) * w) >> 3) + 16 <= words.len());
    if width <= 56 {
        out.extend((0..n).map(|i| {
            let bit = i * w;
            // SAFETY: bit >> 3 <= len - 1 and words.len() == len + 16 (see above), so the 8 bytes
            // read lie inside `words`; read_unaligned has no alignment requirement.
            let word =
                unsafe { std::ptr::read_unaligned(words.as_ptr().add(bit >> 3).cast::<u64>()) };
            f((u64::from_le(word) >> (bit & 7)) & mask)
        }));
    } else {
        out.extend((0..n).map(|i| {
            let bit = i * w;
            // SAFETY: as above, with 16 bytes read (len + 16 bytes available).
            let word =
                unsafe { std::ptr::read_unaligned(words.as_ptr().add(bit >> 3).cast::<u128>()) };
            f((u128::from_le(word) >> (bit & 7)) as u64 & mask)
        }));
    }
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
                pack(values.iter().copied(), values.len(), width, &mut buf);
                assert_eq!(buf.len(), packed_len(n, width));
                let mut out = Vec::new();
                unpack_extend(&buf, width, n, &mut out, &mut Vec::new(), |x| x);
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
