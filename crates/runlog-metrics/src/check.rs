//! Full verification of a run folder: every record's checksum, every block decoded, every
//! sealed segment's structure. Used by `runlog check` and by the corruption tests.

use std::fs;
use std::path::Path;

use crate::block::{self, Points, Scratch};
use crate::error::{Error, Result};
use crate::manifest;
use crate::record::{self, Kind};
use crate::segment::{self, SealedSegment};

/// What [`verify_run`] found.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Segments read.
    pub segments: usize,
    /// Blocks decoded.
    pub blocks: u64,
    /// Points decoded.
    pub points: u64,
    /// Damage found, each naming file and offset. Empty when the run is clean.
    pub problems: Vec<Error>,
}

/// Reads every byte of every segment of the run folder `dir` and reports damage. A torn tail of
/// the newest (unsealed) segment is reported too: it holds no acknowledged data, and the next
/// writer moves it aside.
pub fn verify_run(dir: &Path) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    let numbers = segment::list(dir)?;
    let listed = manifest::read(dir)?;
    let manifest_path = manifest::path(dir);
    if let Some(e) = &listed.stopped {
        report.problems.push(Error::corrupt(
            &manifest_path,
            e.offset as u64,
            format!(
                "{}; the manifest is only a cache of segment footers, the next writer rebuilds it",
                e.what
            ),
        ));
    }
    for n in listed.entries.keys() {
        if !numbers.contains(n) {
            report.problems.push(Error::corrupt(
                &manifest_path,
                0,
                format!("the manifest lists segment {n}, which does not exist"),
            ));
        }
    }
    let (mut points, mut scratch) = (Points::default(), Scratch::default());
    for (i, &n) in numbers.iter().enumerate() {
        let path = dir.join(segment::file_name(n));
        let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
        report.segments += 1;
        let last = i + 1 == numbers.len();
        if let Err(e) = segment::check_header(&path, &bytes) {
            report.problems.push(e);
            continue;
        }
        let sealed = segment::is_sealed(&bytes);
        if sealed
            && let Err(e) = SealedSegment::open(path.clone()).and_then(|s| {
                for ss in &s.series {
                    s.blocks(ss)?;
                }
                Ok(())
            })
        {
            report.problems.push(e);
        }
        let mut at = segment::HEADER_LEN;
        while at < bytes.len() {
            let rec = match record::read(&bytes, at) {
                Ok(r) => r,
                Err(e) => {
                    let mut e = e.into_decode(at, bytes.len()).at(&path, 0);
                    if let Error::Corrupt { what, .. } = &mut e {
                        what.push_str(if sealed || !last {
                            "; the records after this point cannot be read"
                        } else {
                            "; this is the torn or damaged tail of the active segment, which \
                             holds no flushed data unless the damage is elsewhere"
                        });
                    }
                    report.problems.push(e);
                    break;
                }
            };
            match rec.kind {
                Kind::Block => {
                    points.clear();
                    match block::decode(rec.payload, &mut points, &mut scratch) {
                        Ok(_) => {
                            report.blocks += 1;
                            report.points += points.len() as u64;
                        }
                        Err(e) => report
                            .problems
                            .push(e.at(&path, (at + record::HEADER_LEN) as u64)),
                    }
                }
                Kind::Series => {
                    if let Err(e) = segment::parse_series(rec.payload) {
                        report
                            .problems
                            .push(e.at(&path, (at + record::HEADER_LEN) as u64));
                    }
                }
                Kind::Index | Kind::Footer | Kind::Seal | Kind::Manifest => {}
            }
            at += rec.total_len();
        }
        if !sealed && !last {
            report.problems.push(Error::corrupt(
                &path,
                bytes.len() as u64,
                "segment is not sealed although a newer segment exists",
            ));
        }
    }
    Ok(report)
}
