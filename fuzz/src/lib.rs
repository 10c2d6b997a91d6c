//! Shared pieces of the fuzz targets: an allocation cap, the segment header, a record-CRC fixer
//! and a small reference model of the segment scanner. Formats: `docs/format.md` and
//! `crates/runlog-metrics/src/{record,segment,block}.rs`.

use std::alloc::{GlobalAlloc, Layout, System};

/// Largest single allocation the targets allow (256 MiB).
///
/// Without a sanitizer (`-s none`, the stable toolchain) libFuzzer cannot enforce
/// `-malloc_limit_mb`, and a decoder that trusts a length field could ask for tens of GiB and
/// take the whole machine down before `-rss_limit_mb` notices. Refusing such an allocation makes
/// Rust print `memory allocation of N bytes failed` and abort, which libFuzzer reports as a
/// crash with the input saved, like any other.
pub const MAX_ALLOC: usize = 256 << 20;

/// The global allocator of every fuzz target: the system allocator, capped at [`MAX_ALLOC`].
#[derive(Debug)]
pub struct CappedAlloc;

// SAFETY: forwards to `System` unchanged, except that oversized requests return null, which
// `GlobalAlloc` allows for any request.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOC {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > MAX_ALLOC {
            return std::ptr::null_mut();
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through us.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > MAX_ALLOC {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `System` through us; same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CappedAlloc = CappedAlloc;

/// A valid 16-byte segment header: `b"RUNLOGSG"`, the format version (u32 LE, 1 today),
/// reserved 0 (u32 LE).
pub const SEGMENT_HEADER: [u8; 16] = {
    let mut h = *b"RUNLOGSG\0\0\0\0\0\0\0\0";
    let v = runlog_metrics::SEGMENT_VERSION.to_le_bytes();
    h[8] = v[0];
    h[9] = v[1];
    h[10] = v[2];
    h[11] = v[3];
    h
};

/// Bytes before a record's payload: `len: u32 LE | crc32: u32 LE | kind: u8`.
pub const RECORD_HEADER: usize = 9;

/// Bytes of a block's fixed header.
pub const BLOCK_HEADER: usize = 101;

fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// The CRC a record with these length bytes, kind byte and payload must carry.
pub fn record_crc(len_bytes: &[u8], kind_and_payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len_bytes);
    h.update(kind_and_payload);
    h.finalize()
}

/// Rewrites the CRC of every complete record framed in `body` (from offset 0, each record
/// following the previous one), so that the scanner gets past the checksum to the payload
/// parsers. Stops at the first record whose declared length runs past the end.
pub fn fix_record_crcs(body: &mut [u8]) {
    let mut at = 0usize;
    while body.len() - at >= RECORD_HEADER {
        let len = le_u32(body, at) as usize;
        if len > body.len() - at - RECORD_HEADER {
            break;
        }
        let crc = record_crc(&body[at..at + 4], &body[at + 8..at + RECORD_HEADER + len]);
        body[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
        at += RECORD_HEADER + len;
    }
}

/// Appends one record (with a correct CRC) to `out`.
pub fn append_record(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    let len = (payload.len() as u32).to_le_bytes();
    let mut kp = Vec::with_capacity(1 + payload.len());
    kp.push(kind);
    kp.extend_from_slice(payload);
    out.extend_from_slice(&len);
    out.extend_from_slice(&record_crc(&len, &kp).to_le_bytes());
    out.extend_from_slice(&kp);
}

/// Record kinds this model knows (`record::Kind`): series, block, index, footer, seal,
/// manifest. A kind added to the format later is neither required nor forbidden by the model
/// (see [`Framing::UnknownKind`]), so the targets keep working while the format grows; add it
/// here (and to [`model_scan`] if the scanner parses its payload) to check it strictly.
pub const KNOWN_KINDS: std::ops::RangeInclusive<u8> = 1..=6;

/// What the model says of the bytes at the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Incomplete, too long, or a CRC mismatch: `record::read` must refuse it.
    Bad,
    /// A complete record with a correct CRC and a known kind: `record::read` must return it.
    Known { kind: u8, len: usize },
    /// A complete record with a correct CRC and a kind outside [`KNOWN_KINDS`]: `record::read`
    /// may refuse it or return exactly this.
    UnknownKind { kind: u8, len: usize },
}

/// The framing of the record at offset 0 of `buf`:
/// `len: u32 LE | crc32: u32 LE | kind: u8 | payload[len]`, `len <= 2^30`, CRC (IEEE) over the
/// length bytes, the kind byte and the payload.
pub fn model_framing(buf: &[u8]) -> Framing {
    if buf.len() < RECORD_HEADER {
        return Framing::Bad;
    }
    let len = le_u32(buf, 0) as usize;
    if len > (1 << 30) || buf.len() - RECORD_HEADER < len {
        return Framing::Bad;
    }
    if le_u32(buf, 4) != record_crc(&buf[0..4], &buf[8..RECORD_HEADER + len]) {
        return Framing::Bad;
    }
    let kind = buf[8];
    if KNOWN_KINDS.contains(&kind) {
        Framing::Known { kind, len }
    } else {
        Framing::UnknownKind { kind, len }
    }
}

/// Panics unless `got` (the answer of `fuzzing::read_record(buf)`) agrees with the model.
pub fn check_read_record(buf: &[u8], got: Option<(u8, usize)>) {
    match model_framing(buf) {
        Framing::Bad => assert_eq!(got, None, "read_record accepted a bad record"),
        Framing::Known { kind, len } => {
            assert_eq!(
                got,
                Some((kind, len)),
                "read_record disagrees with the model"
            )
        }
        Framing::UnknownKind { kind, len } => assert!(
            got.is_none() || got == Some((kind, len)),
            "read_record returned {got:?} for a record of kind {kind}, length {len}"
        ),
    }
}

/// Whether the scanner must accept a block record's payload: the checks of
/// `block::parse_header` (length, count in 1..=MAX_BLOCK_POINTS, known flags,
/// NaN count <= count).
pub fn model_block_header_ok(p: &[u8]) -> bool {
    if p.len() < BLOCK_HEADER {
        return false;
    }
    let count = le_u32(p, 4);
    count != 0
        && count as usize <= runlog_metrics::MAX_BLOCK_POINTS
        && p[8] & !1 == 0
        && le_u32(p, 65) <= count
}

/// The valid length `segment::scan_bytes` must report for a whole segment image whose first
/// 16 bytes are [`SEGMENT_HEADER`], as an inclusive range: the end of the last record before
/// the first one that is incomplete, fails its CRC, has an unknown kind, or whose payload does
/// not parse (a series record: `id: u32` + UTF-8 key; a block record: a valid block header).
/// Index, footer, seal and manifest records are not looked into by the scanner. The range is a
/// single value unless a record of a kind outside [`KNOWN_KINDS`] is met; from there on the
/// model only bounds the answer.
pub fn model_scan(image: &[u8]) -> std::ops::RangeInclusive<u64> {
    assert!(image.starts_with(&SEGMENT_HEADER));
    let mut at = SEGMENT_HEADER.len();
    while at < image.len() {
        let (kind, len) = match model_framing(&image[at..]) {
            Framing::Bad => break,
            Framing::Known { kind, len } => (kind, len),
            Framing::UnknownKind { .. } => return at as u64..=image.len() as u64,
        };
        let payload = &image[at + RECORD_HEADER..at + RECORD_HEADER + len];
        let ok = match kind {
            1 => payload.len() >= 4 && std::str::from_utf8(&payload[4..]).is_ok(),
            2 => model_block_header_ok(payload),
            _ => true,
        };
        if !ok {
            break;
        }
        at += RECORD_HEADER + len;
    }
    at as u64..=at as u64
}

