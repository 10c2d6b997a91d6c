//! Arbitrary bytes into the block decoder (`fuzzing::decode_block`). It must never panic, and
//! when it accepts a payload:
//! - the three columns (steps, timestamps, values) have the same length, which is the point
//!   count of the block header (bytes 4..8);
//! - re-encoding the decoded points and decoding again gives the same points, bit for bit
//!   (`decode ∘ encode` is the identity on anything the decoder produces).
//!
//! The replayed regressions `fuzz/regressions/block_decoder-huge-count-alloc*` once made the
//! decoder allocate 32 GiB; block counts are now bounded by `MAX_BLOCK_POINTS`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runlog_fuzz as _; // links the capped allocator (`runlog_fuzz::MAX_ALLOC`)
use runlog_metrics::Points;
use runlog_metrics::fuzzing::{decode_block, encode_block};

fn same_bits(a: &Points, b: &Points) -> bool {
    a.steps == b.steps
        && a.timestamps_ms == b.timestamps_ms
        && a.values.len() == b.values.len()
        && a.values
            .iter()
            .zip(&b.values)
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

fuzz_target!(|data: &[u8]| {
    let Ok(points) = decode_block(data) else {
        return;
    };
    let n = points.steps.len();
    assert_eq!(points.timestamps_ms.len(), n, "timestamps column length");
    assert_eq!(points.values.len(), n, "values column length");
    let count = u32::from_le_bytes(data[4..8].try_into().unwrap()) as usize;
    assert_eq!(
        n, count,
        "decoded point count differs from the header's count"
    );
    assert!(n > 0, "a block decoded to zero points");

    let again = encode_block(&points);
    let back = decode_block(&again).expect("re-encoded block must decode");
    assert!(
        same_bits(&points, &back),
        "decode(encode(points)) != points"
    );
});
