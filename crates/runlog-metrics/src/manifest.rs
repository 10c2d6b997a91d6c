//! The run's `MANIFEST`: an append-only list of sealed segments with a copy of each one's footer
//! directory (per-series key and summary), so that opening a run reads one small file instead of
//! every segment, and a query opens only the segments whose ranges it touches.
//!
//! The manifest is a cache: every entry can be rebuilt from the segment it names. A reader that
//! finds a sealed segment missing from it (a crash between sealing and appending, a torn or
//! damaged manifest) opens that segment directly; the next writer appends what is missing.
//!
//! Layout: a 16-byte header (`RUNLOGMF`, version `u32`, reserved `u32`), then records framed as
//! in segments, of kind `Manifest`: `segment: u32, segment_len: u64, footer directory`.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{DecodeError, Error, Result};
use crate::record::{self, Kind};
use crate::segment::{self, FooterEntry};

const MAGIC: &[u8; 8] = b"RUNLOGMF";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 16;
pub(crate) const FILE_NAME: &str = "MANIFEST";

/// What the manifest says of one sealed segment.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub segment_len: u64,
    pub series: Vec<FooterEntry>,
}

/// The valid part of a manifest.
#[derive(Debug, Default)]
pub(crate) struct Manifest {
    pub entries: BTreeMap<u32, Entry>,
    /// Bytes of the valid prefix (0 when the file is missing or its header is bad).
    pub valid_len: u64,
    /// Why reading stopped before the end of the file, if it did.
    pub stopped: Option<DecodeError>,
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(FILE_NAME)
}

fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// Reads the manifest of run folder `dir`; a missing file is an empty manifest.
pub(crate) fn read(dir: &Path) -> Result<Manifest> {
    let path = path(dir);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifest::default()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut m = Manifest::default();
    if bytes.len() < HEADER_LEN || bytes[..HEADER_LEN] != header() {
        if bytes.len() >= 12 && &bytes[..8] == MAGIC {
            let found = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
            if found != VERSION {
                return Err(Error::UnsupportedVersion {
                    path,
                    found,
                    supported: VERSION,
                });
            }
        }
        m.stopped = (!bytes.is_empty()).then(|| DecodeError::new(0, "bad manifest header"));
        return Ok(m);
    }
    let mut at = HEADER_LEN;
    m.valid_len = at as u64;
    while at < bytes.len() {
        let parsed = record::read(&bytes, at)
            .map_err(|e| e.into_decode(at, bytes.len()))
            .and_then(|rec| {
                if rec.kind != Kind::Manifest || rec.payload.len() < 12 {
                    return Err(DecodeError::new(at, "not a manifest entry"));
                }
                let p = rec.payload;
                let segment = u32::from_le_bytes(p[..4].try_into().expect("4 bytes"));
                let segment_len = u64::from_le_bytes(p[4..12].try_into().expect("8 bytes"));
                let series = segment::parse_footer(&p[12..]).map_err(|e| {
                    DecodeError::new(at + record::HEADER_LEN + 12 + e.offset, e.what)
                })?;
                Ok((
                    rec.total_len(),
                    segment,
                    Entry {
                        segment_len,
                        series,
                    },
                ))
            });
        match parsed {
            Ok((len, segment, entry)) => {
                m.entries.insert(segment, entry);
                at += len;
                m.valid_len = at as u64;
            }
            Err(e) => {
                m.stopped = Some(e);
                break;
            }
        }
    }
    Ok(m)
}

/// The bytes of one manifest entry.
pub(crate) fn entry_bytes(segment: u32, segment_len: u64, footer: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(footer.len() + 32);
    record::append(&mut out, Kind::Manifest, |o| {
        o.extend_from_slice(&segment.to_le_bytes());
        o.extend_from_slice(&segment_len.to_le_bytes());
        o.extend_from_slice(footer);
    });
    out
}

/// Opens the manifest for appending, cutting off anything after `valid_len` (a torn tail, which
/// would hide later entries) and writing the header into a new file.
pub(crate) fn open_for_append(dir: &Path, valid_len: u64) -> std::io::Result<File> {
    let path = path(dir);
    let mut f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)?;
    let len = f.metadata()?.len();
    if valid_len < HEADER_LEN as u64 {
        f.set_len(0)?;
        f.write_all(&header())?;
    } else if len > valid_len {
        f.set_len(valid_len)?;
    }
    drop(f);
    let f = OpenOptions::new().append(true).open(&path)?;
    f.sync_all()?;
    File::open(dir)?.sync_all()?;
    Ok(f)
}
