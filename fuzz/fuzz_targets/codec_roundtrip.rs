//! Structured round trip of the block codec: a non-empty list of points built with `arbitrary`
//! goes through `fuzzing::encode_block` then `fuzzing::decode_block`, and must come back
//! bit-exact and in order: steps, timestamps and `value.to_bits()` (so NaN payloads and signs,
//! ±inf, -0.0 and subnormals all count).
//!
//! Values mix arbitrary f64 bits, explicit NaNs (quiet and signalling, any payload, either
//! sign), ±inf, ±0.0, f32-exact values (small integers, any f32 bits) and decimal-looking values
//! that are not f32-exact. A flag can turn a whole block into f32-exact values, so both value
//! encodings (f32 and f64 columns) are covered. Steps and timestamps are either arbitrary or a
//! (wrapping) stride with optional jitter, so both column codecs (FOR and DELTA, every width
//! 0..=64) are reached.
//!
//! Also checked: the encoded payload is refused when truncated by one byte or extended by one.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use runlog_metrics::Points;
use runlog_metrics::fuzzing::{decode_block, encode_block};

// Links the capped allocator (see `runlog_fuzz::MAX_ALLOC`).
use runlog_fuzz as _;

/// How one value is made.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum ValueGen {
    /// Any f64 bit pattern.
    Bits(u64),
    /// A NaN: sign, quiet bit and the remaining 51 payload bits chosen freely.
    Nan {
        negative: bool,
        quiet: bool,
        payload: u64,
    },
    PosInf,
    NegInf,
    PosZero,
    NegZero,
    /// Any f32 bit pattern, widened (f32-exact unless it is a signalling f32 NaN).
    F32Bits(u32),
    /// A small integer: f32-exact.
    SmallInt(i16),
    /// `mantissa * 10^-exp`: loss-like decimals, mostly not f32-exact.
    Decimal {
        mantissa: i32,
        exp: u8,
    },
    /// Smallest subnormals.
    Subnormal(u8),
}

impl ValueGen {
    fn value(self) -> f64 {
        match self {
            ValueGen::Bits(b) => f64::from_bits(b),
            ValueGen::Nan {
                negative,
                quiet,
                payload,
            } => {
                let mut mant = payload & ((1 << 51) - 1);
                if quiet {
                    mant |= 1 << 51;
                } else if mant == 0 {
                    mant = 1; // a zero mantissa would be infinity
                }
                let sign = (negative as u64) << 63;
                let v = f64::from_bits(sign | (0x7ff << 52) | mant);
                debug_assert!(v.is_nan());
                v
            }
            ValueGen::PosInf => f64::INFINITY,
            ValueGen::NegInf => f64::NEG_INFINITY,
            ValueGen::PosZero => 0.0,
            ValueGen::NegZero => -0.0,
            ValueGen::F32Bits(b) => f32::from_bits(b) as f64,
            ValueGen::SmallInt(i) => i as f64,
            ValueGen::Decimal { mantissa, exp } => mantissa as f64 / 10f64.powi((exp % 20) as i32),
            ValueGen::Subnormal(k) => f64::from_bits(k as u64),
        }
    }
}

/// How one integer column (steps or timestamps) is made.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum AxisGen {
    /// The per-point raw values.
    Raw,
    /// `start + i * stride`, wrapping; jitter adds the low byte of the raw value (signed).
    Stride {
        start: i64,
        stride: i64,
        jitter: bool,
    },
}

impl AxisGen {
    fn at(self, i: usize, raw: i64) -> i64 {
        match self {
            AxisGen::Raw => raw,
            AxisGen::Stride {
                start,
                stride,
                jitter,
            } => {
                let v = start.wrapping_add((i as i64).wrapping_mul(stride));
                if jitter {
                    v.wrapping_add(raw as i8 as i64)
                } else {
                    v
                }
            }
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
struct PointGen {
    step: i64,
    ts: i64,
    value: ValueGen,
}

#[derive(Arbitrary, Debug)]
struct Input {
    steps: AxisGen,
    timestamps: AxisGen,
    /// Narrow every value to f32 and back first, so the block is stored as f32.
    all_f32: bool,
    first: PointGen,
    rest: Vec<PointGen>,
}

fn build(input: &Input) -> Points {
    let mut pts = Points::default();
    for (i, p) in std::iter::once(&input.first).chain(&input.rest).enumerate() {
        let mut v = p.value.value();
        if input.all_f32 {
            v = v as f32 as f64;
        }
        pts.steps.push(input.steps.at(i, p.step));
        pts.timestamps_ms.push(input.timestamps.at(i, p.ts));
        pts.values.push(v);
    }
    pts
}

fuzz_target!(|input: Input| {
    let pts = build(&input);
    let n = pts.len();
    assert!(n > 0);

    let payload = encode_block(&pts);
    assert_eq!(
        u32::from_le_bytes(payload[4..8].try_into().unwrap()) as usize,
        n,
        "header point count"
    );
    let back = match decode_block(&payload) {
        Ok(b) => b,
        Err(e) => panic!("a block just encoded does not decode: {e}\npoints: {pts:?}"),
    };
    assert_eq!(back.steps.len(), n, "steps column length");
    assert_eq!(back.timestamps_ms.len(), n, "timestamps column length");
    assert_eq!(back.values.len(), n, "values column length");
    for i in 0..n {
        assert_eq!(back.steps[i], pts.steps[i], "step of point {i}");
        assert_eq!(
            back.timestamps_ms[i], pts.timestamps_ms[i],
            "timestamp of point {i}"
        );
        assert_eq!(
            back.values[i].to_bits(),
            pts.values[i].to_bits(),
            "value bits of point {i}: wrote {:?} ({:#018x}), read {:?} ({:#018x})",
            pts.values[i],
            pts.values[i].to_bits(),
            back.values[i],
            back.values[i].to_bits()
        );
    }

    // The framing is exact: one byte less or one byte more is an error, never a panic.
    assert!(
        decode_block(&payload[..payload.len() - 1]).is_err(),
        "a block truncated by one byte decoded"
    );
    let mut longer = payload.clone();
    longer.push(0);
    assert!(
        decode_block(&longer).is_err(),
        "a block with a trailing byte decoded"
    );
});
