//! Sealing: turning the durable active segment into an immutable one.
//!
//! The segment file is scanned once more (it is in the page cache). If flushes left it full of
//! short blocks (a slow trainer flushing every second writes a few points per block), its
//! blocks are merged series by series into full ones and the segment is rewritten to
//! `NNNNNNNN.seg.compact`, synced and renamed over the original. Otherwise the index records,
//! footer and seal are appended in place. Either way the result is synced before it counts as
//! sealed, and the returned footer bytes go to the run's manifest.
//!
//! Crash safety: the unsealed original is durable before any of this starts. A crash before the
//! rename leaves it active (recovery removes the `.compact` leftover); a crash after the rename
//! leaves a sealed segment that the manifest may not list yet (readers open it directly, the
//! next writer lists it).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::block::{self, Points, Scratch};
use crate::index::{BlockRef, SeriesBlocks};
use crate::record::{self, Kind};
use crate::segment::{self, SealInput};

/// Suffix of a compacted segment being written.
pub(crate) const COMPACT_SUFFIX: &str = "seg.compact";

fn invalid(path: &Path, what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{}: {what}", path.display()),
    )
}

/// Seals segment `path` (durable, unsealed, written by this writer); returns the footer bytes.
pub(crate) fn seal(path: &Path, block_points: usize) -> io::Result<Vec<u8>> {
    let bytes = fs::read(path)?;
    let scan = segment::scan_bytes(path, &bytes).map_err(|e| invalid(path, e.to_string()))?;
    if let Some(stopped) = &scan.stopped {
        return Err(invalid(
            path,
            format!("cannot seal a segment with damaged records: {stopped}"),
        ));
    }
    let blocks: usize = scan.blocks.values().map(SeriesBlocks::len).sum();
    let ideal: usize = scan
        .blocks
        .values()
        .map(|b| {
            let points = b.total.map_or(0, |t| t.count as usize);
            points.div_ceil(block_points)
        })
        .sum();
    if blocks > ideal + (ideal / 8).max(4) {
        return compact(path, &bytes, &scan, block_points);
    }
    let series: Vec<SealInput<'_>> = scan
        .series
        .iter()
        .map(|(id, key)| SealInput {
            series_id: *id,
            key,
            blocks: scan.blocks.get(id).unwrap_or(&EMPTY),
        })
        .collect();
    let mut tail = Vec::new();
    let footer = segment::append_seal(&mut tail, bytes.len() as u64, &series);
    let mut f = OpenOptions::new().append(true).open(path)?;
    f.write_all(&tail)?;
    f.sync_data()?;
    Ok(footer)
}

static EMPTY: SeriesBlocks = SeriesBlocks::EMPTY;

/// Rewrites the segment with each series' points in full blocks, then the seal.
fn compact(
    path: &Path,
    bytes: &[u8],
    scan: &segment::Scan,
    block_points: usize,
) -> io::Result<Vec<u8>> {
    let tmp: PathBuf = path.with_extension(COMPACT_SUFFIX);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
    let mut offset = segment::HEADER_LEN as u64;
    out.write_all(&segment::header())?;
    let mut rebuilt: Vec<(u32, &str, SeriesBlocks)> = Vec::with_capacity(scan.series.len());
    let (mut points, mut chunk, mut scratch) =
        (Points::default(), Points::default(), Scratch::default());
    let mut rec = Vec::new();
    for (id, key) in &scan.series {
        rec.clear();
        record::append(&mut rec, Kind::Series, |o| {
            segment::series_payload(o, *id, key)
        });
        out.write_all(&rec)?;
        offset += rec.len() as u64;
        let mut index = SeriesBlocks::default();
        let mut emit = |pts: &Points, out: &mut BufWriter<File>| {
            rec.clear();
            record::append(&mut rec, Kind::Block, |o| {
                block::encode(*id, pts, o);
            });
            let summary = block::parse_header(&rec[record::HEADER_LEN..])
                .expect("a block just encoded parses")
                .summary;
            index.push(
                BlockRef {
                    offset,
                    len: rec.len() as u32,
                },
                summary,
            );
            offset += rec.len() as u64;
            out.write_all(&rec)
        };
        points.clear();
        for r in scan.blocks.get(id).map_or(&[][..], |b| &b.blocks[..]) {
            let at = r.offset as usize;
            let payload = record::read(bytes, at)
                .map_err(|e| invalid(path, e.into_decode(at, bytes.len()).to_string()))?
                .payload;
            block::decode(payload, &mut points, &mut scratch)
                .map_err(|e| invalid(path, e.to_string()))?;
            let mut start = 0;
            while points.len() - start >= block_points {
                chunk.clear();
                chunk.extend_from(&points, start..start + block_points);
                emit(&chunk, &mut out)?;
                start += block_points;
            }
            let rest = points.len() - start;
            chunk.clear();
            chunk.extend_from(&points, start..start + rest);
            std::mem::swap(&mut points, &mut chunk);
        }
        if !points.is_empty() {
            emit(&points, &mut out)?;
        }
        rebuilt.push((*id, key, index));
    }
    let series: Vec<SealInput<'_>> = rebuilt
        .iter()
        .map(|(id, key, blocks)| SealInput {
            series_id: *id,
            key,
            blocks,
        })
        .collect();
    let mut tail = Vec::new();
    let footer = segment::append_seal(&mut tail, offset, &series);
    out.write_all(&tail)?;
    let f = out.into_inner().map_err(|e| e.into_error())?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path)?;
    File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()?;
    Ok(footer)
}
