//! Blocks: the points of one series, columnar and compressed, behind a fixed header that carries
//! the block's [`Summary`]. Layout in `docs/format.md`.

use crate::column::{self, f32_bits_to_ordered, f64_bits_to_ordered, i64_to_ordered};
use crate::error::DecodeError;
use crate::summary::{Point, Summary};

/// Bytes of the fixed block header, before the columns.
pub(crate) const HEADER_LEN: usize = 101;
/// Most points a block may hold. A header claiming more is damage: decoding would otherwise
/// allocate whatever a corrupt count asks for (a width-0 column stores any count in 10 bytes).
pub const MAX_BLOCK_POINTS: usize = 1 << 16;
const FLAG_F32: u8 = 1;

/// Points as three columns. Queries return this; [`Points::iter`] gives [`Point`]s.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Points {
    /// Steps.
    pub steps: Vec<i64>,
    /// Timestamps in milliseconds.
    pub timestamps_ms: Vec<i64>,
    /// Values.
    pub values: Vec<f64>,
}

impl Points {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The points in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Point> + '_ {
        (0..self.len()).map(|i| Point::new(self.steps[i], self.timestamps_ms[i], self.values[i]))
    }

    /// Appends one point.
    pub fn push(&mut self, p: Point) {
        self.steps.push(p.step);
        self.timestamps_ms.push(p.timestamp_ms);
        self.values.push(p.value);
    }

    /// Removes every point.
    pub fn clear(&mut self) {
        self.steps.clear();
        self.timestamps_ms.clear();
        self.values.clear();
    }

    /// Appends `other[range]`.
    pub(crate) fn extend_from(&mut self, other: &Points, range: std::ops::Range<usize>) {
        self.steps.extend_from_slice(&other.steps[range.clone()]);
        self.timestamps_ms
            .extend_from_slice(&other.timestamps_ms[range.clone()]);
        self.values.extend_from_slice(&other.values[range]);
    }
}

/// The fixed header of a block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BlockHeader {
    pub series_id: u32,
    pub count: u32,
    pub f32_values: bool,
    pub summary: Summary,
}

/// True when `v` survives a round trip through f32 bit for bit.
#[inline]
fn is_f32_exact(v: f64) -> bool {
    ((v as f32) as f64).to_bits() == v.to_bits()
}

/// Appends the block payload for `pts` (1 ..= u32::MAX points) of `series_id` to `out`;
/// returns the block's summary.
pub(crate) fn encode(series_id: u32, pts: &Points, out: &mut Vec<u8>) -> Summary {
    let n = pts.len();
    debug_assert!(n > 0 && n <= MAX_BLOCK_POINTS);
    let summary = Summary::of_columns(&pts.steps, &pts.timestamps_ms, &pts.values);
    let f32_values = pts.values.iter().all(|&v| is_f32_exact(v));

    out.extend_from_slice(&series_id.to_le_bytes());
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.push(if f32_values { FLAG_F32 } else { 0 });
    for x in [
        summary.min_step,
        summary.max_step,
        summary.min_timestamp_ms,
        summary.max_timestamp_ms,
    ] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    for x in [summary.min, summary.max, summary.sum] {
        out.extend_from_slice(&x.to_bits().to_le_bytes());
    }
    out.extend_from_slice(&(summary.nan_count as u32).to_le_bytes());
    out.extend_from_slice(&summary.latest.step.to_le_bytes());
    out.extend_from_slice(&summary.latest.timestamp_ms.to_le_bytes());
    out.extend_from_slice(&summary.latest.value.to_bits().to_le_bytes());
    out.extend_from_slice(&summary.latest_max_non_nan.to_bits().to_le_bytes());

    column::encode(&pts.steps, i64_to_ordered, out);
    column::encode(&pts.timestamps_ms, i64_to_ordered, out);
    if f32_values {
        column::encode(
            &pts.values,
            |v: f64| f32_bits_to_ordered((v as f32).to_bits()),
            out,
        );
    } else {
        column::encode(&pts.values, |v: f64| f64_bits_to_ordered(v.to_bits()), out);
    }
    summary
}

/// Reusable buffers for encoding and decoding.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    pad: Vec<u8>,
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Reads the header of a block payload.
pub(crate) fn parse_header(payload: &[u8]) -> Result<BlockHeader, DecodeError> {
    if payload.len() < HEADER_LEN {
        return Err(DecodeError::new(
            0,
            format!(
                "block header needs {HEADER_LEN} bytes, the record holds {}",
                payload.len()
            ),
        ));
    }
    let count = le_u32(payload, 4);
    if count == 0 || count as usize > MAX_BLOCK_POINTS {
        return Err(DecodeError::new(
            4,
            format!("block point count {count} is outside 1..={MAX_BLOCK_POINTS}"),
        ));
    }
    let flags = payload[8];
    if flags & !FLAG_F32 != 0 {
        return Err(DecodeError::new(
            8,
            format!("unknown block flags {flags:#04x}"),
        ));
    }
    let i = |at| le_u64(payload, at) as i64;
    let f = |at| f64::from_bits(le_u64(payload, at));
    let nan_count = le_u32(payload, 65);
    if nan_count > count {
        return Err(DecodeError::new(
            65,
            format!("NaN count {nan_count} exceeds point count {count}"),
        ));
    }
    Ok(BlockHeader {
        series_id: le_u32(payload, 0),
        count,
        f32_values: flags & FLAG_F32 != 0,
        summary: Summary {
            count: count as u64,
            nan_count: nan_count as u64,
            min_step: i(9),
            max_step: i(17),
            min_timestamp_ms: i(25),
            max_timestamp_ms: i(33),
            min: f(41),
            max: f(49),
            sum: f(57),
            latest: Point::new(i(69), i(77), f(85)),
            latest_max_non_nan: f(93),
        },
    })
}

/// Decodes a whole block payload, appending its points to `out`. On error `out` is unchanged.
pub(crate) fn decode(
    payload: &[u8],
    out: &mut Points,
    scratch: &mut Scratch,
) -> Result<BlockHeader, DecodeError> {
    let keep = out.len();
    let result = decode_columns(payload, out, scratch);
    if result.is_err() {
        out.steps.truncate(keep);
        out.timestamps_ms.truncate(keep);
        out.values.truncate(keep);
    }
    result
}

fn decode_columns(
    payload: &[u8],
    out: &mut Points,
    scratch: &mut Scratch,
) -> Result<BlockHeader, DecodeError> {
    let header = parse_header(payload)?;
    let n = header.count as usize;
    let pad = &mut scratch.pad;
    let shift = |at: usize| {
        move |e: DecodeError| DecodeError {
            offset: e.offset + at,
            what: e.what,
        }
    };
    let mut at = HEADER_LEN;
    at += column::decode(
        &payload[at..],
        n,
        &mut out.steps,
        pad,
        column::ordered_to_i64,
    )
    .map_err(shift(at))?;
    at += column::decode(
        &payload[at..],
        n,
        &mut out.timestamps_ms,
        pad,
        column::ordered_to_i64,
    )
    .map_err(shift(at))?;
    let values = &mut out.values;
    at += if header.f32_values {
        column::decode(&payload[at..], n, values, pad, |x| {
            f32::from_bits(column::ordered_to_f32_bits(x)) as f64
        })
    } else {
        column::decode(&payload[at..], n, values, pad, |x| {
            f64::from_bits(column::ordered_to_f64_bits(x))
        })
    }
    .map_err(shift(at))?;
    if at != payload.len() {
        return Err(DecodeError::new(
            at,
            format!(
                "{} trailing bytes after the block's columns",
                payload.len() - at
            ),
        ));
    }
    Ok(header)
}
