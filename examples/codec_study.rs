//! Codec study: what runlog's block codec costs on W1, measured against the usual alternatives,
//! so that `docs/format.md` can justify the choice with numbers.
//!
//! Run with `cargo run --release --example codec_study -- [steps]` (default 1_000_000 steps, the
//! full W1: 10 keys, 10 M points). It prints Markdown tables, sizes in bits per point (or value):
//!
//! 1. **runlog as implemented**: each key's points split into consecutive blocks of 128, 256, 512,
//!    1024 and 2048 points, each encoded with `runlog::metrics::fuzzing::encode_block` and parsed
//!    back into packed column bits, column headers (10 bytes FOR, 18 bytes DELTA), the 101-byte
//!    block header and the 9 bytes of record framing.
//! 2. **Values only**, blocks of 512: runlog FOR and DELTA on f32-ordered bits and runlog's pick
//!    between them, Gorilla XOR on f64 and on f32 bits, Chimp on f64 and on f32 bits, and "XOR with
//!    the previous value, then FOR of the XORs" on f32 bits.
//! 3. **Timestamps (and steps) only**, blocks of 512: runlog FOR, DELTA and pick, Gorilla
//!    delta-of-delta, zigzag varint of the deltas.
//! 4. **Encode throughput** of `encode_block` over all blocks of 512 (median of 5 runs).
//!
//! Conventions: every codec codes each block on its own and pays its own per-block state (runlog
//! its column header; the XOR codecs and delta-of-delta the first value raw), rounded up to whole
//! bytes per block. No codec writes an end marker: the block header carries the count.
//!
//! Self-checks: the alternative codecs really emit bits, and every block they code is decoded back
//! and compared (so the sizes are sizes of lossless encodings); runlog's FOR/DELTA size model used
//! in tables 2 and 3 is asserted equal to the column sizes `encode_block` produced.

use runlog::Points;
use runlog::metrics::fuzzing::encode_block;
use runlog_workloads::{SplitMix64, W1_KEYS, W1Columns};
use std::hint::black_box;
use std::time::Instant;

/// Block sizes of table 1.
const BLOCK_SIZES: [usize; 5] = [128, 256, 512, 1024, 2048];
/// Block size of tables 2 to 4 (runlog's default).
const STUDY_BLOCK: usize = 512;
/// Bytes of runlog's fixed block header.
const BLOCK_HEADER: u64 = 101;
/// Bytes of record framing around each block payload.
const FRAMING: u64 = 9;
const THROUGHPUT_RUNS: usize = 5;

// ---------------------------------------------------------------------------------------------
// Bit streams (LSB first) for the alternative codecs.

/// Appends bit fields to a word vector.
#[derive(Debug, Default)]
struct BitWriter {
    words: Vec<u64>,
    len: u64,
}

impl BitWriter {
    fn clear(&mut self) {
        self.words.clear();
        self.len = 0;
    }

    /// Appends the low `bits` bits of `value`; the value must fit.
    fn put(&mut self, value: u64, bits: u32) {
        assert!(bits <= 64 && (bits == 64 || value >> bits == 0));
        if bits == 0 {
            return;
        }
        let off = (self.len % 64) as u32;
        if off == 0 {
            self.words.push(value);
        } else {
            *self.words.last_mut().expect("a partial word") |= value << off;
            if off + bits > 64 {
                self.words.push(value >> (64 - off));
            }
        }
        self.len += u64::from(bits);
    }

    fn bit(&mut self, b: bool) {
        self.put(u64::from(b), 1);
    }
}

/// Reads back what a [`BitWriter`] wrote.
#[derive(Debug)]
struct BitReader<'a> {
    words: &'a [u64],
    pos: u64,
}

impl BitReader<'_> {
    fn get(&mut self, bits: u32) -> u64 {
        if bits == 0 {
            return 0;
        }
        let i = (self.pos / 64) as usize;
        let off = (self.pos % 64) as u32;
        let mut v = self.words[i] >> off;
        if off + bits > 64 {
            v |= self.words[i + 1] << (64 - off);
        }
        self.pos += u64::from(bits);
        if bits == 64 { v } else { v & ((1 << bits) - 1) }
    }

    fn bit(&mut self) -> bool {
        self.get(1) == 1
    }
}

type Encoder = fn(&[u64], u32, &mut BitWriter);
type Decoder = fn(&mut BitReader, usize, u32) -> Vec<u64>;

/// Encodes `vals` (words of `word` bits) into `w`, decodes them back and asserts the round trip;
/// returns the bits written.
fn coded_bits(w: &mut BitWriter, vals: &[u64], word: u32, enc: Encoder, dec: Decoder) -> u64 {
    w.clear();
    enc(vals, word, w);
    let mut r = BitReader {
        words: &w.words,
        pos: 0,
    };
    let back = dec(&mut r, vals.len(), word);
    assert_eq!(back, vals, "codec round trip");
    assert_eq!(r.pos, w.len, "decoder read every bit, and no more");
    w.len
}

/// [`coded_bits`] rounded up to whole bytes.
fn coded_bytes(w: &mut BitWriter, vals: &[u64], word: u32, enc: Encoder, dec: Decoder) -> u64 {
    coded_bits(w, vals, word, enc, dec).div_ceil(8)
}

// ---------------------------------------------------------------------------------------------
// Gorilla XOR (Pelkonen et al., VLDB 2015, section 4.1.2).

/// Gorilla value compression of `word`-bit values (64: f64 bits; 32: f32 bits). First value raw;
/// then XOR with the previous value: '0' if zero; '10' + the meaningful bits when they fall inside
/// the previous window; else '11' + 5 bits of leading zeros (capped at 31) + the meaningful length
/// (6 bits for 64-bit words, 5 for 32; a full word is written as 0) + the meaningful bits.
fn gorilla_encode(vals: &[u64], word: u32, w: &mut BitWriter) {
    let len_bits = word.trailing_zeros(); // 6 for 64, 5 for 32
    w.put(vals[0], word);
    let mut window: Option<(u32, u32)> = None;
    for pair in vals.windows(2) {
        let x = pair[0] ^ pair[1];
        if x == 0 {
            w.bit(false);
            continue;
        }
        w.bit(true);
        let lead = (x.leading_zeros() - (64 - word)).min(31);
        let trail = x.trailing_zeros();
        match window {
            Some((pl, pt)) if lead >= pl && trail >= pt => {
                w.bit(false);
                w.put(x >> pt, word - pl - pt);
            }
            _ => {
                w.bit(true);
                let sig = word - lead - trail;
                w.put(u64::from(lead), 5);
                w.put(u64::from(sig % word), len_bits);
                w.put(x >> trail, sig);
                window = Some((lead, trail));
            }
        }
    }
}

fn gorilla_decode(r: &mut BitReader, n: usize, word: u32) -> Vec<u64> {
    let len_bits = word.trailing_zeros();
    let mut out = vec![r.get(word)];
    let (mut lead, mut trail) = (0, 0);
    while out.len() < n {
        let prev = out[out.len() - 1];
        if !r.bit() {
            out.push(prev);
            continue;
        }
        if r.bit() {
            lead = r.get(5) as u32;
            let sig = match r.get(len_bits) as u32 {
                0 => word,
                s => s,
            };
            trail = word - lead - sig;
        }
        out.push(prev ^ (r.get(word - lead - trail) << trail));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Chimp (Liakos et al., VLDB 2022), as in the authors' Chimp and Chimp32 classes.

/// Leading-zero counts Chimp can represent (3-bit code = index); counts are rounded down.
const CHIMP_LEADING: [u32; 8] = [0, 8, 12, 16, 18, 20, 22, 24];

fn chimp_lead_code(leading_zeros: u32) -> usize {
    CHIMP_LEADING
        .iter()
        .rposition(|&l| l <= leading_zeros)
        .expect("CHIMP_LEADING[0] is 0")
}

/// Chimp of `word`-bit values. First value raw; then XOR with the previous value: '00' if zero;
/// '01' + 3-bit leading code + significant length (6 bits, 5 for 32-bit words) + the significant
/// bits when the XOR has more than 6 (5) trailing zeros; '10' + the bits below the leading zeros
/// when the rounded leading count equals the previous one; else '11' + 3-bit code + those bits.
fn chimp_encode(vals: &[u64], word: u32, w: &mut BitWriter) {
    let (threshold, len_bits) = if word == 64 { (6, 6) } else { (5, 5) };
    w.put(vals[0], word);
    let mut stored_lead = u32::MAX;
    for pair in vals.windows(2) {
        let x = pair[0] ^ pair[1];
        if x == 0 {
            w.put(0, 2);
            stored_lead = u32::MAX;
            continue;
        }
        let code = chimp_lead_code(x.leading_zeros() - (64 - word));
        let lead = CHIMP_LEADING[code];
        let trail = x.trailing_zeros();
        if trail > threshold {
            let sig = word - lead - trail;
            w.bit(false);
            w.bit(true);
            w.put(code as u64, 3);
            w.put(u64::from(sig), len_bits);
            w.put(x >> trail, sig);
            stored_lead = u32::MAX;
        } else if lead == stored_lead {
            w.bit(true);
            w.bit(false);
            w.put(x, word - lead);
        } else {
            w.bit(true);
            w.bit(true);
            w.put(code as u64, 3);
            w.put(x, word - lead);
            stored_lead = lead;
        }
    }
}

fn chimp_decode(r: &mut BitReader, n: usize, word: u32) -> Vec<u64> {
    let len_bits = if word == 64 { 6 } else { 5 };
    let mut out = vec![r.get(word)];
    let mut stored_lead = 0;
    while out.len() < n {
        let prev = out[out.len() - 1];
        let x = match (r.bit(), r.bit()) {
            (false, false) => 0,
            (false, true) => {
                let lead = CHIMP_LEADING[r.get(3) as usize];
                let sig = r.get(len_bits) as u32;
                r.get(sig) << (word - lead - sig)
            }
            (true, false) => r.get(word - stored_lead),
            (true, true) => {
                stored_lead = CHIMP_LEADING[r.get(3) as usize];
                r.get(word - stored_lead)
            }
        };
        out.push(prev ^ x);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Gorilla delta-of-delta timestamps (section 4.1.1) and a zigzag varint of deltas.

/// Gorilla timestamps of `vals` (i64 bit patterns): the first raw (64 bits), then each
/// delta-of-delta (the first delta's "previous delta" is 0): '0' for 0, '10' + 7 bits for
/// [-63, 64], '110' + 9 bits for [-255, 256], '1110' + 12 bits for [-2047, 2048], else '1111' + 32.
fn dod_encode(vals: &[u64], _word: u32, w: &mut BitWriter) {
    w.put(vals[0], 64);
    let mut prev_delta = 0i64;
    for pair in vals.windows(2) {
        let delta = (pair[1] as i64).wrapping_sub(pair[0] as i64);
        let dod = delta.wrapping_sub(prev_delta);
        prev_delta = delta;
        let (ones, bits, bias) = match dod {
            0 => (0, 0, 0),
            -63..=64 => (1, 7, 63),
            -255..=256 => (2, 9, 255),
            -2047..=2048 => (3, 12, 2047),
            _ => (4, 32, 0),
        };
        for _ in 0..ones {
            w.bit(true);
        }
        if ones < 4 {
            w.bit(false);
        }
        if ones == 4 {
            let d = i32::try_from(dod).expect("Gorilla's 32-bit delta-of-delta bucket overflowed");
            w.put(u64::from(d as u32), 32);
        } else if bits > 0 {
            w.put((dod + bias) as u64, bits);
        }
    }
}

fn dod_decode(r: &mut BitReader, n: usize, _word: u32) -> Vec<u64> {
    let mut out = vec![r.get(64)];
    let mut delta = 0i64;
    while out.len() < n {
        let mut ones = 0;
        while ones < 4 && r.bit() {
            ones += 1;
        }
        let dod = match ones {
            0 => 0,
            1 => r.get(7) as i64 - 63,
            2 => r.get(9) as i64 - 255,
            3 => r.get(12) as i64 - 2047,
            _ => i64::from(r.get(32) as u32 as i32),
        };
        delta = delta.wrapping_add(dod);
        out.push((out[out.len() - 1] as i64).wrapping_add(delta) as u64);
    }
    out
}

fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

/// Bytes of the LEB128 varint of `x`.
fn varint_len(x: u64) -> u64 {
    u64::from(bit_width(x).max(1)).div_ceil(7)
}

/// Zigzag varint of the first value, then of each delta.
fn varint_delta_bytes(vals: &[i64]) -> u64 {
    varint_len(zigzag(vals[0]))
        + vals
            .windows(2)
            .map(|p| varint_len(zigzag(p[1].wrapping_sub(p[0]))))
            .sum::<u64>()
}

// ---------------------------------------------------------------------------------------------
// runlog's column codec, as a size model (checked against `encode_block`).

fn bit_width(x: u64) -> u32 {
    64 - x.leading_zeros()
}

fn packed_bytes(n: usize, width: u32) -> u64 {
    (n as u64 * u64::from(width)).div_ceil(8)
}

fn i64_to_ordered(x: i64) -> u64 {
    (x as u64) ^ (1 << 63)
}

fn f32_bits_to_ordered(bits: u32) -> u64 {
    u64::from(if bits >> 31 == 1 {
        !bits
    } else {
        bits | (1 << 31)
    })
}

/// Bytes of one runlog column (header included) under each mode, and the mode runlog picks.
#[derive(Debug, Clone, Copy)]
struct RunlogCost {
    for_bytes: u64,
    delta_bytes: u64,
    picks_delta: bool,
}

impl RunlogCost {
    fn of(vals: &[u64]) -> Self {
        let min = *vals.iter().min().expect("non-empty column");
        let max = *vals.iter().max().expect("non-empty column");
        let for_width = bit_width(max - min);
        let (mut dmin, mut dmax) = (i64::MAX, i64::MIN);
        for p in vals.windows(2) {
            let d = p[1].wrapping_sub(p[0]) as i64;
            dmin = dmin.min(d);
            dmax = dmax.max(d);
        }
        let delta_width = if vals.len() > 1 {
            bit_width(dmax.wrapping_sub(dmin) as u64)
        } else {
            0
        };
        RunlogCost {
            for_bytes: 10 + packed_bytes(vals.len(), for_width),
            delta_bytes: 18 + packed_bytes(vals.len() - 1, delta_width),
            picks_delta: vals.len() > 1 && for_width > delta_width,
        }
    }

    fn picked(&self) -> u64 {
        if self.picks_delta {
            self.delta_bytes
        } else {
            self.for_bytes
        }
    }
}

/// One column of an encoded block payload.
#[derive(Debug, Clone, Copy, Default)]
struct ColumnSize {
    header: u64,
    packed: u64,
    delta: bool,
}

/// Splits a block payload of `n` points into its columns (steps, timestamps, values).
fn parse_columns(payload: &[u8], n: usize) -> [ColumnSize; 3] {
    let count = u32::from_le_bytes(payload[4..8].try_into().expect("4 bytes"));
    assert_eq!(count as usize, n, "block count");
    let mut at = BLOCK_HEADER as usize;
    let mut cols = [ColumnSize::default(); 3];
    for c in &mut cols {
        let (mode, width) = (payload[at], u32::from(payload[at + 1]));
        let (header, packed_count) = match mode {
            0 => (10, n),
            1 => (18, n - 1),
            m => panic!("unknown column mode {m}"),
        };
        *c = ColumnSize {
            header,
            packed: packed_bytes(packed_count, width),
            delta: mode == 1,
        };
        at += (c.header + c.packed) as usize;
    }
    assert_eq!(at, payload.len(), "columns fill the payload");
    cols
}

// ---------------------------------------------------------------------------------------------
// Per-block studies.

const VALUE_CODECS: [&str; 8] = [
    "runlog FOR (f32)",
    "runlog DELTA (f32)",
    "runlog pick",
    "Gorilla f64",
    "Gorilla f32",
    "Chimp f64",
    "Chimp f32",
    "XOR+FOR f32",
];
const V_PICK: usize = 2;
/// The non-runlog value codecs (indices into `VALUE_CODECS`).
const V_ALTERNATIVES: [usize; 5] = [3, 4, 5, 6, 7];

/// Bytes of one block of values under each of `VALUE_CODECS`.
fn study_values(vals: &[f64], w: &mut BitWriter) -> ([u64; 8], RunlogCost) {
    let f32_bits: Vec<u64> = vals
        .iter()
        .map(|&v| {
            let f = v as f32;
            assert_eq!(
                f64::from(f).to_bits(),
                v.to_bits(),
                "W1 values are f32-exact"
            );
            u64::from(f.to_bits())
        })
        .collect();
    let f64_bits: Vec<u64> = vals.iter().map(|v| v.to_bits()).collect();
    let ordered: Vec<u64> = f32_bits
        .iter()
        .map(|&b| f32_bits_to_ordered(b as u32))
        .collect();
    let rl = RunlogCost::of(&ordered);
    let xors: Vec<u64> = f32_bits.windows(2).map(|p| p[0] ^ p[1]).collect();
    let (xmin, xmax) = (
        xors.iter().copied().min().unwrap_or(0),
        xors.iter().copied().max().unwrap_or(0),
    );
    // width byte + first value (32 bits) + FOR base (32 bits) + the packed XORs - base.
    let xor_for = 1 + 4 + 4 + packed_bytes(xors.len(), bit_width(xmax - xmin));
    let costs = [
        rl.for_bytes,
        rl.delta_bytes,
        rl.picked(),
        coded_bytes(w, &f64_bits, 64, gorilla_encode, gorilla_decode),
        coded_bytes(w, &f32_bits, 32, gorilla_encode, gorilla_decode),
        coded_bytes(w, &f64_bits, 64, chimp_encode, chimp_decode),
        coded_bytes(w, &f32_bits, 32, chimp_encode, chimp_decode),
        xor_for,
    ];
    (costs, rl)
}

const INT_CODECS: [&str; 5] = [
    "runlog FOR",
    "runlog DELTA",
    "runlog pick",
    "Gorilla delta-of-delta",
    "zigzag varint of deltas",
];
const I_PICK: usize = 2;

/// Bytes of one block of an integer column (timestamps, steps) under each of `INT_CODECS`.
fn study_ints(vals: &[i64], w: &mut BitWriter) -> [u64; 5] {
    let ordered: Vec<u64> = vals.iter().map(|&x| i64_to_ordered(x)).collect();
    let raw: Vec<u64> = vals.iter().map(|&x| x as u64).collect();
    let rl = RunlogCost::of(&ordered);
    [
        rl.for_bytes,
        rl.delta_bytes,
        rl.picked(),
        coded_bytes(w, &raw, 64, dod_encode, dod_decode),
        varint_delta_bytes(vals),
    ]
}

// ---------------------------------------------------------------------------------------------
// Self-check of the bit counting on series whose cost is known by hand.

fn self_check() {
    let mut w = BitWriter::default();
    let mut check =
        |vals: &[u64], word, enc: Encoder, dec: Decoder| coded_bits(&mut w, vals, word, enc, dec);
    // A constant series: the first value raw, then 1 bit (Gorilla) or 2 bits (Chimp) per value.
    let c64 = vec![1.5f64.to_bits(); 512];
    let c32 = vec![u64::from(1.5f32.to_bits()); 512];
    assert_eq!(check(&c64, 64, gorilla_encode, gorilla_decode), 64 + 511);
    assert_eq!(check(&c32, 32, gorilla_encode, gorilla_decode), 32 + 511);
    assert_eq!(check(&c64, 64, chimp_encode, chimp_decode), 64 + 2 * 511);
    assert_eq!(check(&c32, 32, chimp_encode, chimp_decode), 32 + 2 * 511);
    // The lowest bit toggling: every XOR is 1. Gorilla caps leading zeros at 31, so a 64-bit
    // window is 33 bits wide: '11' + 5 + 6 + 33 once, then '10' + 33. At 32 bits the window is 1
    // bit: '11' + 5 + 5 + 1, then '10' + 1. Chimp rounds 63 (31) leading zeros down to 24:
    // '11' + 3 + 40 (8) once, then '10' + 40 (8).
    let toggle: Vec<u64> = (0..100).map(|i| i % 2).collect();
    assert_eq!(
        check(&toggle, 64, gorilla_encode, gorilla_decode),
        64 + 46 + 98 * 35
    );
    assert_eq!(
        check(&toggle, 32, gorilla_encode, gorilla_decode),
        32 + 13 + 98 * 3
    );
    assert_eq!(
        check(&toggle, 64, chimp_encode, chimp_decode),
        64 + 45 + 98 * 42
    );
    assert_eq!(
        check(&toggle, 32, chimp_encode, chimp_decode),
        32 + 13 + 98 * 10
    );
    // Constant stride 10: first raw, the first delta-of-delta (10) in '10' + 7, then '0' each.
    let stride: Vec<u64> = (0..512).map(|i| 1_700_000_000_000u64 + 10 * i).collect();
    assert_eq!(check(&stride, 64, dod_encode, dod_decode), 64 + 9 + 510);
    assert_eq!(varint_len(0), 1);
    assert_eq!(varint_len(127), 1);
    assert_eq!(varint_len(128), 2);
    assert_eq!(varint_len(u64::MAX), 10);
    assert_eq!(zigzag(-1), 1);
    assert_eq!(zigzag(1), 2);
    // Random round trips: arbitrary bits, special floats, repeats, every delta-of-delta bucket.
    let mut rng = SplitMix64::new(7);
    for round in 0..200 {
        let n = 1 + rng.below(600) as usize;
        let mut v64 = Vec::with_capacity(n);
        let mut ts = Vec::with_capacity(n);
        let mut t = rng.next_u64() as i64 >> 2;
        for _ in 0..n {
            let x = match rng.below(6) {
                0 => rng.next_u64(),
                1 => v64.last().copied().unwrap_or(0),
                2 => [0.0f64, -0.0, f64::NAN, f64::INFINITY, f64::MIN_POSITIVE]
                    [rng.below(5) as usize]
                    .to_bits(),
                3 => v64.last().copied().unwrap_or(0) ^ (1 << rng.below(64)),
                _ => (rng.normal() * 1e3).to_bits(),
            };
            v64.push(x);
            let step = 1i64 << rng.below(if round % 2 == 0 { 12 } else { 28 });
            t += rng.below(step as u64) as i64 - step / 3;
            ts.push(t as u64);
        }
        let v32: Vec<u64> = v64.iter().map(|&x| x >> 32).collect();
        check(&v64, 64, gorilla_encode, gorilla_decode);
        check(&v32, 32, gorilla_encode, gorilla_decode);
        check(&v64, 64, chimp_encode, chimp_decode);
        check(&v32, 32, chimp_encode, chimp_decode);
        check(&ts, 64, dod_encode, dod_decode);
    }
}

// ---------------------------------------------------------------------------------------------
// Tallies and output.

/// runlog as implemented, one key at one block size: byte counts.
#[derive(Debug, Clone, Copy, Default)]
struct BlockTally {
    blocks: u64,
    points: u64,
    packed: [u64; 3],
    col_headers: u64,
    payload: u64,
}

impl BlockTally {
    fn add(&mut self, o: &BlockTally) {
        self.blocks += o.blocks;
        self.points += o.points;
        for c in 0..3 {
            self.packed[c] += o.packed[c];
        }
        self.col_headers += o.col_headers;
        self.payload += o.payload;
    }

    fn packed_all(&self) -> u64 {
        self.packed.iter().sum()
    }

    fn on_disk(&self) -> u64 {
        self.payload + FRAMING * self.blocks
    }
}

/// Bits per point of `bytes` over `points`.
fn bpp(bytes: u64, points: u64) -> f64 {
    bytes as f64 * 8.0 / points as f64
}

fn print_table(header: &[String], rows: &[Vec<String>]) {
    println!("| {} |", header.join(" | "));
    let rule: Vec<&str> = header
        .iter()
        .enumerate()
        .map(|(i, _)| if i == 0 { "---" } else { "---:" })
        .collect();
    println!("|{}|", rule.join("|"));
    for r in rows {
        println!("| {} |", r.join(" | "));
    }
    println!();
}

fn strings(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

fn main() {
    let steps: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("steps must be a number"))
        .unwrap_or(1_000_000);
    self_check();
    let w1 = W1Columns::generate(steps);
    let nkeys = W1_KEYS.len();
    let total_points: usize = w1.steps.iter().map(Vec::len).sum();
    println!("# runlog codec study on W1 ({steps} steps, {nkeys} keys, {total_points} points)\n");

    // Table 1 tallies [block size][key]; tables 2 and 3 at STUDY_BLOCK.
    let mut t1 = vec![vec![BlockTally::default(); nkeys]; BLOCK_SIZES.len()];
    let mut values = vec![[0u64; 8]; nkeys];
    let mut value_delta_blocks = vec![0u64; nkeys];
    let mut timestamps = vec![[0u64; 5]; nkeys];
    let mut step_cols = [0u64; 5];
    let mut study_blocks = 0u64;
    let mut pick_not_smallest = [0u64; 3];
    let mut w = BitWriter::default();
    for (bi, &b) in BLOCK_SIZES.iter().enumerate() {
        for key in 0..nkeys {
            let (s, t, v) = (&w1.steps[key], &w1.timestamps_ms[key], &w1.values[key]);
            for start in (0..s.len()).step_by(b) {
                let end = (start + b).min(s.len());
                let pts = Points {
                    steps: s[start..end].to_vec(),
                    timestamps_ms: t[start..end].to_vec(),
                    values: v[start..end].to_vec(),
                };
                let payload = encode_block(&pts);
                let cols = parse_columns(&payload, end - start);
                let tally = &mut t1[bi][key];
                tally.blocks += 1;
                tally.points += (end - start) as u64;
                tally.payload += payload.len() as u64;
                for (c, col) in cols.iter().enumerate() {
                    tally.packed[c] += col.packed;
                    tally.col_headers += col.header;
                }
                if b != STUDY_BLOCK {
                    continue;
                }
                study_blocks += 1;
                let (vc, rl) = study_values(&pts.values, &mut w);
                let tc = study_ints(&pts.timestamps_ms, &mut w);
                let sc = study_ints(&pts.steps, &mut w);
                // The size model of tables 2 and 3 is runlog's encoder, byte for byte.
                for (c, cost) in [sc, tc].iter().enumerate() {
                    assert_eq!(cost[I_PICK], cols[c].header + cols[c].packed);
                }
                assert_eq!(vc[V_PICK], cols[2].header + cols[2].packed);
                assert_eq!(rl.picks_delta, cols[2].delta);
                for (c, cost) in [sc[..2].to_vec(), tc[..2].to_vec(), vc[..2].to_vec()]
                    .iter()
                    .enumerate()
                {
                    let picked = [sc[I_PICK], tc[I_PICK], vc[V_PICK]][c];
                    if picked > cost[0].min(cost[1]) {
                        pick_not_smallest[c] += 1;
                    }
                }
                value_delta_blocks[key] += u64::from(rl.picks_delta);
                for i in 0..8 {
                    values[key][i] += vc[i];
                }
                for i in 0..5 {
                    timestamps[key][i] += tc[i];
                    step_cols[i] += sc[i];
                }
            }
        }
    }
    let totals: Vec<BlockTally> = t1
        .iter()
        .map(|per_key| {
            let mut sum = BlockTally::default();
            per_key.iter().for_each(|t| sum.add(t));
            sum
        })
        .collect();
    for t in &totals {
        assert_eq!(
            t.payload,
            BLOCK_HEADER * t.blocks + t.col_headers + t.packed_all()
        );
    }

    // Table 1a: the breakdown by block size, all keys.
    println!("## 1. runlog as implemented, by block size (all keys; bits per point)\n");
    println!(
        "Cumulative: packed column data; + column headers (10 B FOR / 18 B DELTA per column); \
         + {BLOCK_HEADER} B block header and {FRAMING} B record framing per block = on disk.\n"
    );
    let header = strings(&[
        "block size",
        "blocks",
        "steps packed",
        "timestamps packed",
        "values packed",
        "all columns packed",
        "+ column headers",
        "+ block header & framing (on disk)",
        "overhead share",
        "bytes/point on disk",
    ]);
    let rows: Vec<Vec<String>> = BLOCK_SIZES
        .iter()
        .zip(&totals)
        .map(|(b, t)| {
            let p = t.points;
            vec![
                b.to_string(),
                t.blocks.to_string(),
                format!("{:.3}", bpp(t.packed[0], p)),
                format!("{:.3}", bpp(t.packed[1], p)),
                format!("{:.3}", bpp(t.packed[2], p)),
                format!("{:.3}", bpp(t.packed_all(), p)),
                format!("{:.3}", bpp(t.packed_all() + t.col_headers, p)),
                format!("{:.3}", bpp(t.on_disk(), p)),
                format!(
                    "{:.1} %",
                    100.0 * (1.0 - t.packed_all() as f64 / t.on_disk() as f64)
                ),
                format!("{:.3}", t.on_disk() as f64 / p as f64),
            ]
        })
        .collect();
    print_table(&header, &rows);

    // Table 1b: per key, packed only / on disk.
    println!("### 1b. Per key: all columns packed / on disk (bits per point)\n");
    let mut header = vec!["key".to_string()];
    header.extend(BLOCK_SIZES.iter().map(|b| format!("B={b}")));
    let mut rows: Vec<Vec<String>> = (0..nkeys)
        .map(|key| {
            let mut r = vec![W1_KEYS[key].to_string()];
            r.extend(t1.iter().map(|per_key| {
                let t = &per_key[key];
                format!(
                    "{:.3} / {:.3}",
                    bpp(t.packed_all(), t.points),
                    bpp(t.on_disk(), t.points)
                )
            }));
            r
        })
        .collect();
    let mut r = vec!["**total**".to_string()];
    r.extend(totals.iter().map(|t| {
        format!(
            "**{:.3} / {:.3}**",
            bpp(t.packed_all(), t.points),
            bpp(t.on_disk(), t.points)
        )
    }));
    rows.push(r);
    print_table(&header, &rows);

    // Table 2: values.
    let per_key_points: Vec<u64> = w1.steps.iter().map(|s| s.len() as u64).collect();
    let points = total_points as u64;
    println!(
        "## 2. Values only, blocks of {STUDY_BLOCK} (bits per value, per-block state included)\n"
    );
    println!(
        "runlog columns include their 10 B (FOR) / 18 B (DELTA) header; \"runlog pick\" is FOR \
         when its width is <= DELTA's, as `encode_block` does (asserted equal to its output). \
         Gorilla/Chimp start with the first value raw. XOR+FOR: width byte, first value, base \
         (4 B each), then the XORs with the previous f32 minus their minimum, fixed width.\n"
    );
    let mut header = vec!["key".to_string()];
    header.extend(VALUE_CODECS.iter().map(|s| s.to_string()));
    header.push("blocks runlog codes DELTA".to_string());
    let mut value_sums = [0u64; 8];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for key in 0..nkeys {
        let mut r = vec![W1_KEYS[key].to_string()];
        for i in 0..8 {
            value_sums[i] += values[key][i];
            r.push(format!("{:.3}", bpp(values[key][i], per_key_points[key])));
        }
        let blocks = t1[BLOCK_SIZES
            .iter()
            .position(|&b| b == STUDY_BLOCK)
            .expect("512")][key]
            .blocks;
        r.push(format!(
            "{:.0} %",
            100.0 * value_delta_blocks[key] as f64 / blocks as f64
        ));
        rows.push(r);
    }
    let mut r = vec!["**total**".to_string()];
    r.extend(
        value_sums
            .iter()
            .map(|&x| format!("**{:.3}**", bpp(x, points))),
    );
    r.push(format!(
        "{:.0} %",
        100.0 * value_delta_blocks.iter().sum::<u64>() as f64 / (study_blocks as f64)
    ));
    rows.push(r);
    print_table(&header, &rows);

    // Table 3: timestamps (per key) and steps (all keys).
    println!("## 3. Timestamps and steps only, blocks of {STUDY_BLOCK} (bits per value)\n");
    println!(
        "Delta-of-delta and varint start with the first value (raw 64 bits / zigzag varint); \
         runlog columns include their header.\n"
    );
    let mut header = vec!["column".to_string()];
    header.extend(INT_CODECS.iter().map(|s| s.to_string()));
    let mut ts_sums = [0u64; 5];
    let mut rows: Vec<Vec<String>> = Vec::new();
    for key in 0..nkeys {
        let mut r = vec![format!("timestamps {}", W1_KEYS[key])];
        for i in 0..5 {
            ts_sums[i] += timestamps[key][i];
            r.push(format!(
                "{:.3}",
                bpp(timestamps[key][i], per_key_points[key])
            ));
        }
        rows.push(r);
    }
    let mut r = vec!["**timestamps, total**".to_string()];
    r.extend(
        ts_sums
            .iter()
            .map(|&x| format!("**{:.3}**", bpp(x, points))),
    );
    rows.push(r);
    let mut r = vec!["**steps, total**".to_string()];
    r.extend(
        step_cols
            .iter()
            .map(|&x| format!("**{:.3}**", bpp(x, points))),
    );
    rows.push(r);
    print_table(&header, &rows);
    println!(
        "Blocks where runlog's pick is larger than the smaller of its two modes: steps {}, \
         timestamps {}, values {} (of {study_blocks}).\n",
        pick_not_smallest[0], pick_not_smallest[1], pick_not_smallest[2]
    );

    // Table 4: throughput.
    let blocks: Vec<Points> = (0..nkeys)
        .flat_map(|key| {
            let (s, t, v) = (&w1.steps[key], &w1.timestamps_ms[key], &w1.values[key]);
            (0..s.len()).step_by(STUDY_BLOCK).map(move |start| {
                let end = (start + STUDY_BLOCK).min(s.len());
                Points {
                    steps: s[start..end].to_vec(),
                    timestamps_ms: t[start..end].to_vec(),
                    values: v[start..end].to_vec(),
                }
            })
        })
        .collect();
    let mut rates: Vec<f64> = (0..THROUGHPUT_RUNS)
        .map(|_| {
            let t = Instant::now();
            let mut bytes = 0usize;
            for b in &blocks {
                bytes += black_box(encode_block(black_box(b))).len();
            }
            black_box(bytes);
            total_points as f64 / t.elapsed().as_secs_f64() / 1e6
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!("## 4. Encode throughput (reference)\n");
    print_table(
        &strings(&["what", "M points/s (median)", "min", "max", "runs"]),
        &[vec![
            format!("`encode_block`, {} blocks of {STUDY_BLOCK}", blocks.len()),
            format!("{median:.1}"),
            format!("{:.1}", rates[0]),
            format!("{:.1}", rates[rates.len() - 1]),
            THROUGHPUT_RUNS.to_string(),
        ]],
    );
    println!(
        "(`encode_block` allocates its output and scratch per call; the writer reuses them.)\n"
    );

    // Summary.
    println!("## Summary\n");
    let pick_v = bpp(value_sums[V_PICK], points);
    let (best_v, best_v_bits) = V_ALTERNATIVES
        .iter()
        .map(|&i| (i, bpp(value_sums[i], points)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .expect("alternatives");
    let keys_won = (0..nkeys)
        .filter(|&k| {
            V_ALTERNATIVES
                .iter()
                .all(|&i| values[k][V_PICK] <= values[k][i])
        })
        .count();
    println!(
        "- **Values**: runlog {pick_v:.3} bits/value vs the best alternative, {} at {best_v_bits:.3}: \
         runlog is {} by {:.3} bits/value ({:.0} %); runlog is smallest on {keys_won} of {nkeys} keys.",
        VALUE_CODECS[best_v],
        if pick_v <= best_v_bits {
            "smaller"
        } else {
            "larger"
        },
        (best_v_bits - pick_v).abs(),
        100.0 * (best_v_bits - pick_v).abs() / best_v_bits.max(pick_v),
    );
    for (name, col) in [("Timestamps", &ts_sums), ("Steps", &step_cols)] {
        let pick = bpp(col[I_PICK], points);
        let (best, best_bits) = (3..5)
            .map(|i| (i, bpp(col[i], points)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("alternatives");
        println!(
            "- **{name}**: runlog {pick:.3} bits/value vs {} at {best_bits:.3}: runlog is {} by {:.3} \
             bits/value.",
            INT_CODECS[best],
            if pick <= best_bits {
                "smaller"
            } else {
                "larger"
            },
            (best_bits - pick).abs(),
        );
    }
    let (best_b, best_t) = BLOCK_SIZES
        .iter()
        .zip(&totals)
        .min_by(|a, b| bpp(a.1.on_disk(), a.1.points).total_cmp(&bpp(b.1.on_disk(), b.1.points)))
        .expect("block sizes");
    let study = &totals[BLOCK_SIZES
        .iter()
        .position(|&b| b == STUDY_BLOCK)
        .expect("512")];
    println!(
        "- **Block size**: on disk {} bits/point at {STUDY_BLOCK} (of which {:.3} fixed per-block \
         overhead); smallest at {best_b}: {:.3} bits/point.",
        format_args!("{:.3}", bpp(study.on_disk(), study.points)),
        bpp(study.on_disk() - study.packed_all(), study.points),
        bpp(best_t.on_disk(), best_t.points),
    );
    println!("- **Encode**: {median:.1} M points/s (median of {THROUGHPUT_RUNS}).");
}
