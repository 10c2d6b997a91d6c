//! Segment files: header, the records they hold, and the sealed-segment footer.
//!
//! A segment is `NNNNNNNN.seg` in a run folder: a 16-byte header, then records. Only the newest
//! segment of a run is *active* (appended to); every older one is *sealed*: it ends with one
//! index record per series, a footer directory and a fixed-size seal record, and never changes
//! again, which is what makes memory-mapping it sound.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use memmap2::Mmap;
use rkyv::rancor;
use rkyv::util::AlignedVec;

use crate::block;
use crate::error::{DecodeError, Error, Result};
use crate::index::{AxisIndex, BlockRef, SeriesBlocks};
use crate::record::{self, Kind, ReadError};
use crate::summary::{Point, Summary};

/// Magic bytes opening every segment file.
pub(crate) const MAGIC: &[u8; 8] = b"RUNLOGSG";
/// Segment format version written by this build.
pub const SEGMENT_VERSION: u32 = 1;
/// Bytes of the segment header.
pub(crate) const HEADER_LEN: usize = 16;

/// The segment header bytes.
pub(crate) fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
    h
}

/// Checks a segment header.
pub(crate) fn check_header(path: &Path, bytes: &[u8]) -> Result<()> {
    if bytes.len() < HEADER_LEN {
        return Err(Error::corrupt(
            path,
            bytes.len() as u64,
            format!(
                "segment header needs {HEADER_LEN} bytes, the file holds {}",
                bytes.len()
            ),
        ));
    }
    if &bytes[..8] != MAGIC {
        return Err(Error::corrupt(
            path,
            0,
            format!(
                "segment files start with the magic {:?}, this one with {:?}",
                String::from_utf8_lossy(MAGIC),
                String::from_utf8_lossy(&bytes[..8])
            ),
        ));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != SEGMENT_VERSION {
        return Err(Error::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version,
            supported: SEGMENT_VERSION,
        });
    }
    let reserved = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
    if reserved != 0 {
        return Err(Error::corrupt(
            path,
            12,
            format!("reserved header bytes must be zero, found {reserved:#010x}"),
        ));
    }
    Ok(())
}

/// File name of segment number `n`.
pub(crate) fn file_name(n: u32) -> String {
    format!("{n:08}.seg")
}

/// Segment numbers present in a run folder, ascending.
pub(crate) fn list(dir: &Path) -> Result<Vec<u32>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(num) = name.strip_suffix(".seg")
            && num.len() == 8
            && let Ok(n) = num.parse::<u32>()
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Footer and index records (rkyv).

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone)]
struct SummaryRepr {
    count: u64,
    nan_count: u64,
    min_step: i64,
    max_step: i64,
    min_ts: i64,
    max_ts: i64,
    min_bits: u64,
    max_bits: u64,
    sum_bits: u64,
    latest_step: i64,
    latest_ts: i64,
    latest_bits: u64,
    latest_max_non_nan_bits: u64,
}

impl From<&Summary> for SummaryRepr {
    fn from(s: &Summary) -> Self {
        SummaryRepr {
            count: s.count,
            nan_count: s.nan_count,
            min_step: s.min_step,
            max_step: s.max_step,
            min_ts: s.min_timestamp_ms,
            max_ts: s.max_timestamp_ms,
            min_bits: s.min.to_bits(),
            max_bits: s.max.to_bits(),
            sum_bits: s.sum.to_bits(),
            latest_step: s.latest.step,
            latest_ts: s.latest.timestamp_ms,
            latest_bits: s.latest.value.to_bits(),
            latest_max_non_nan_bits: s.latest_max_non_nan.to_bits(),
        }
    }
}

impl From<&SummaryRepr> for Summary {
    fn from(s: &SummaryRepr) -> Self {
        Summary {
            count: s.count,
            nan_count: s.nan_count,
            min_step: s.min_step,
            max_step: s.max_step,
            min_timestamp_ms: s.min_ts,
            max_timestamp_ms: s.max_ts,
            min: f64::from_bits(s.min_bits),
            max: f64::from_bits(s.max_bits),
            sum: f64::from_bits(s.sum_bits),
            latest: Point::new(s.latest_step, s.latest_ts, f64::from_bits(s.latest_bits)),
            latest_max_non_nan: f64::from_bits(s.latest_max_non_nan_bits),
        }
    }
}

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone)]
struct FooterSeriesRepr {
    series_id: u32,
    key: String,
    /// Offset of this series' index record; `u64::MAX` when the series has no block here.
    index_offset: u64,
    summary: Option<SummaryRepr>,
}

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone)]
struct FooterRepr {
    series: Vec<FooterSeriesRepr>,
}

#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone)]
struct IndexRepr {
    offsets: Vec<u64>,
    lens: Vec<u32>,
    min_step: Vec<i64>,
    max_step: Vec<i64>,
    min_ts: Vec<i64>,
    max_ts: Vec<i64>,
}

fn from_rkyv<T>(payload: &[u8]) -> Result<T, DecodeError>
where
    T: rkyv::Archive,
    T::Archived: for<'a> rkyv::bytecheck::CheckBytes<rkyv::api::high::HighValidator<'a, rancor::Error>>
        + rkyv::Deserialize<T, rkyv::api::high::HighDeserializer<rancor::Error>>,
{
    let mut aligned = AlignedVec::<16>::with_capacity(payload.len());
    aligned.extend_from_slice(payload);
    rkyv::from_bytes::<T, rancor::Error>(&aligned)
        .map_err(|e| DecodeError::new(0, format!("invalid rkyv archive: {e}")))
}

/// A series as the writer hands it to [`append_seal`].
pub(crate) struct SealInput<'a> {
    pub series_id: u32,
    pub key: &'a str,
    pub blocks: &'a SeriesBlocks,
}

/// Appends the index records, the footer and the seal record of a segment to `out`. `base` is
/// the file offset at which `out[0]` will land.
/// Returns the footer directory's bytes, which the run's `MANIFEST` keeps a copy of.
pub(crate) fn append_seal(out: &mut Vec<u8>, base: u64, series: &[SealInput<'_>]) -> Vec<u8> {
    let mut entries = Vec::with_capacity(series.len());
    for s in series {
        let index_offset = if s.blocks.len() == 0 {
            u64::MAX
        } else {
            let at = base + out.len() as u64;
            let repr = IndexRepr {
                offsets: s.blocks.blocks.iter().map(|b| b.offset).collect(),
                lens: s.blocks.blocks.iter().map(|b| b.len).collect(),
                min_step: s.blocks.steps.min.clone(),
                max_step: s.blocks.steps.max.clone(),
                min_ts: s.blocks.times.min.clone(),
                max_ts: s.blocks.times.max.clone(),
            };
            let bytes = rkyv::to_bytes::<rancor::Error>(&repr).expect("serialising an index");
            record::append(out, Kind::Index, |o| o.extend_from_slice(&bytes));
            at
        };
        entries.push(FooterSeriesRepr {
            series_id: s.series_id,
            key: s.key.to_string(),
            index_offset,
            summary: s.blocks.total.as_ref().map(SummaryRepr::from),
        });
    }
    let footer_offset = base + out.len() as u64;
    let bytes = rkyv::to_bytes::<rancor::Error>(&FooterRepr { series: entries })
        .expect("serialising a footer");
    record::append(out, Kind::Footer, |o| o.extend_from_slice(&bytes));
    record::append(out, Kind::Seal, |o| {
        o.extend_from_slice(&footer_offset.to_le_bytes())
    });
    bytes.to_vec()
}

/// One series' entry in a footer directory.
#[derive(Debug, Clone)]
pub(crate) struct FooterEntry {
    pub series_id: u32,
    pub key: String,
    pub summary: Option<Summary>,
    /// Offset of the series' index record; `u64::MAX` when it has no block in the segment.
    pub index_offset: u64,
}

/// Parses a footer directory (the payload of a footer record, or of a manifest entry).
pub(crate) fn parse_footer(payload: &[u8]) -> Result<Vec<FooterEntry>, DecodeError> {
    let repr: FooterRepr = from_rkyv(payload)?;
    Ok(repr
        .series
        .into_iter()
        .map(|s| FooterEntry {
            series_id: s.series_id,
            key: s.key,
            summary: s.summary.as_ref().map(Summary::from),
            index_offset: s.index_offset,
        })
        .collect())
}

/// True when `bytes` (a whole segment file) ends with a valid seal record.
pub(crate) fn is_sealed(bytes: &[u8]) -> bool {
    bytes.len() >= HEADER_LEN + record::SEAL_LEN
        && matches!(
            record::read(bytes, bytes.len() - record::SEAL_LEN),
            Ok(r) if r.kind == Kind::Seal
        )
}

// ---------------------------------------------------------------------------------------------
// Sealed segments.

/// One series' entry in a sealed segment.
#[derive(Debug)]
pub(crate) struct SealedSeries {
    pub series_id: u32,
    pub key: String,
    pub summary: Option<Summary>,
    index_offset: u64,
    blocks: OnceLock<SeriesBlocks>,
}

/// A sealed, immutable, memory-mapped segment.
#[derive(Debug)]
pub(crate) struct SealedSegment {
    pub path: PathBuf,
    map: Mmap,
    /// Where the footer directory's bytes lie in the file.
    footer: std::ops::Range<usize>,
    pub series: Vec<SealedSeries>,
    by_id: HashMap<u32, usize>,
}

impl SealedSegment {
    /// Maps `path` and reads its footer directory. Fails with [`Error::Corrupt`] when the file
    /// does not end with a valid seal.
    pub fn open(path: PathBuf) -> Result<Self> {
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        // SAFETY: sealed segments are never written, truncated or replaced after sealing (the
        // writer only ever appends to the newest, unsealed segment), so the mapped bytes cannot
        // change underneath us. A user editing the file by hand breaks that contract, as it would
        // for any memory-mapped database.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
        let bytes: &[u8] = &map;
        check_header(&path, bytes)?;
        let seal_at = bytes
            .len()
            .checked_sub(record::SEAL_LEN)
            .filter(|&a| a >= HEADER_LEN);
        let Some(seal_at) = seal_at else {
            return Err(Error::corrupt(
                &path,
                bytes.len() as u64,
                "file too short to end with a seal record",
            ));
        };
        let seal = read_at(&path, bytes, seal_at, Kind::Seal)?;
        let footer_at = u64::from_le_bytes(seal.payload.try_into().map_err(|_| {
            Error::corrupt(&path, seal_at as u64, "seal record payload is not 8 bytes")
        })?);
        if footer_at < HEADER_LEN as u64 || footer_at >= seal_at as u64 {
            return Err(Error::corrupt(
                &path,
                seal_at as u64,
                format!("seal points at footer offset {footer_at}, outside the file's records"),
            ));
        }
        let footer = read_at(&path, bytes, footer_at as usize, Kind::Footer)?;
        if footer_at as usize + footer.total_len() != seal_at {
            return Err(Error::corrupt(
                &path,
                footer_at,
                "footer record does not end where the seal record starts",
            ));
        }
        let entries = parse_footer(footer.payload)
            .map_err(|e| e.at(&path, footer_at + record::HEADER_LEN as u64))?;
        let mut series = Vec::with_capacity(entries.len());
        let mut by_id = HashMap::with_capacity(entries.len());
        for s in entries {
            if s.index_offset != u64::MAX && s.index_offset >= footer_at {
                return Err(Error::corrupt(
                    &path,
                    footer_at,
                    format!(
                        "footer entry of series {} points past the footer (offset {})",
                        s.series_id, s.index_offset
                    ),
                ));
            }
            by_id.insert(s.series_id, series.len());
            series.push(SealedSeries {
                series_id: s.series_id,
                key: s.key,
                summary: s.summary,
                index_offset: s.index_offset,
                blocks: OnceLock::new(),
            });
        }
        let start = footer_at as usize + record::HEADER_LEN;
        let footer = start..start + footer.payload.len();
        Ok(SealedSegment {
            path,
            map,
            footer,
            series,
            by_id,
        })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// The footer directory's bytes (what the manifest keeps a copy of).
    pub fn footer_bytes(&self) -> &[u8] {
        &self.map[self.footer.clone()]
    }

    pub fn series(&self, id: u32) -> Option<&SealedSeries> {
        self.by_id.get(&id).map(|&i| &self.series[i])
    }

    /// The block index of a series, loaded and checked on first use.
    pub fn blocks<'a>(&'a self, s: &'a SealedSeries) -> Result<Option<&'a SeriesBlocks>> {
        if s.index_offset == u64::MAX {
            return Ok(None);
        }
        if let Some(b) = s.blocks.get() {
            return Ok(Some(b));
        }
        let at = s.index_offset;
        let rec = read_at(&self.path, self.bytes(), at as usize, Kind::Index)?;
        let repr: IndexRepr =
            from_rkyv(rec.payload).map_err(|e| e.at(&self.path, at + record::HEADER_LEN as u64))?;
        let n = repr.offsets.len();
        if [
            repr.lens.len(),
            repr.min_step.len(),
            repr.max_step.len(),
            repr.min_ts.len(),
            repr.max_ts.len(),
        ]
        .iter()
        .any(|&l| l != n)
        {
            return Err(Error::corrupt(
                &self.path,
                at,
                "index columns differ in length",
            ));
        }
        let blocks: Vec<BlockRef> = repr
            .offsets
            .iter()
            .zip(&repr.lens)
            .map(|(&offset, &len)| BlockRef { offset, len })
            .collect();
        if let Some(b) = blocks
            .iter()
            .find(|b| b.offset.saturating_add(b.len as u64) > at)
        {
            return Err(Error::corrupt(
                &self.path,
                at,
                format!(
                    "index points at a block (offset {}) beyond the data",
                    b.offset
                ),
            ));
        }
        let loaded = SeriesBlocks {
            blocks,
            summaries: Vec::new(),
            steps: AxisIndex::from_columns(repr.min_step, repr.max_step),
            times: AxisIndex::from_columns(repr.min_ts, repr.max_ts),
            total: s.summary,
        };
        Ok(Some(s.blocks.get_or_init(|| loaded)))
    }
}

/// Reads and checks the record of `kind` at `at` of a whole-file buffer.
pub(crate) fn read_at<'a>(
    path: &Path,
    bytes: &'a [u8],
    at: usize,
    kind: Kind,
) -> Result<record::Record<'a>> {
    let rec = record::read(bytes, at).map_err(|e| e.into_decode(at, bytes.len()).at(path, 0))?;
    if rec.kind != kind {
        return Err(Error::corrupt(
            path,
            at as u64,
            format!("expected a {kind:?} record, found a {:?} record", rec.kind),
        ));
    }
    Ok(rec)
}

// ---------------------------------------------------------------------------------------------
// Active segments.

/// What a scan of an active segment found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Series definitions, in order.
    pub series: Vec<(u32, String)>,
    /// Blocks per series id.
    pub blocks: HashMap<u32, SeriesBlocks>,
    /// Offset just past the last valid record.
    pub valid_len: u64,
    /// Why the scan stopped before the end of the file, if it did.
    pub stopped: Option<DecodeError>,
    /// The file ends with a seal record.
    pub sealed: bool,
}

/// Reads an unsealed segment up to its last valid record.
pub(crate) fn scan(path: &Path) -> Result<Scan> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    scan_bytes(path, &bytes)
}

pub(crate) fn scan_bytes(path: &Path, bytes: &[u8]) -> Result<Scan> {
    let mut out = Scan::default();
    if bytes.len() < HEADER_LEN {
        // A header torn by a crash right after the file was created.
        if !header().starts_with(bytes) {
            check_header(path, bytes)?;
        }
        out.stopped =
            (!bytes.is_empty()).then(|| DecodeError::new(0, "segment header is incomplete"));
        return Ok(out);
    }
    check_header(path, bytes)?;
    scan_records(&bytes[HEADER_LEN..], HEADER_LEN as u64, &mut out);
    Ok(out)
}

/// Scans the records in `bytes`, which start at file offset `base`, adding what they define to
/// `out` and advancing `out.valid_len` past each valid record.
pub(crate) fn scan_records(bytes: &[u8], base: u64, out: &mut Scan) {
    let mut at = 0usize;
    out.valid_len = base;
    out.stopped = None;
    while at < bytes.len() {
        let rec = match record::read(bytes, at) {
            Ok(r) => r,
            Err(e) => {
                let e = match e {
                    ReadError::Bad(e) => e,
                    incomplete => incomplete.into_decode(at, bytes.len()),
                };
                out.stopped = Some(DecodeError::new(base as usize + e.offset, e.what));
                break;
            }
        };
        let file_at = base + at as u64;
        let ok = match rec.kind {
            Kind::Series => parse_series(rec.payload).map(|(id, key)| out.series.push((id, key))),
            Kind::Block => block::parse_header(rec.payload).map(|h| {
                out.blocks.entry(h.series_id).or_default().push(
                    BlockRef {
                        offset: file_at,
                        len: rec.total_len() as u32,
                    },
                    h.summary,
                )
            }),
            Kind::Index | Kind::Footer | Kind::Manifest => Ok(()),
            Kind::Seal => {
                out.sealed = at + rec.total_len() == bytes.len();
                Ok(())
            }
        };
        if let Err(e) = ok {
            out.stopped = Some(DecodeError::new(
                (file_at as usize) + record::HEADER_LEN + e.offset,
                e.what,
            ));
            break;
        }
        at += rec.total_len();
        out.valid_len = base + at as u64;
    }
}

/// Series record payload: `series_id: u32 LE`, then the key as UTF-8.
pub(crate) fn series_payload(out: &mut Vec<u8>, id: u32, key: &str) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(key.as_bytes());
}

pub(crate) fn parse_series(payload: &[u8]) -> Result<(u32, String), DecodeError> {
    if payload.len() < 4 {
        return Err(DecodeError::new(0, "series record shorter than 4 bytes"));
    }
    let id = u32::from_le_bytes(payload[..4].try_into().expect("4 bytes"));
    let key = std::str::from_utf8(&payload[4..])
        .map_err(|e| DecodeError::new(4 + e.valid_up_to(), "series key is not valid UTF-8"))?;
    Ok((id, key.to_string()))
}
