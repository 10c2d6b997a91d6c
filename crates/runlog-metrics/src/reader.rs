//! Reading a run folder: sealed segments through memory maps, the active segment with
//! positioned reads up to its last valid record.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::block::{self, Points, Scratch};
use crate::error::{Error, Result};
use crate::index::{AxisIndex, BlockRef, SeriesBlocks};
use crate::manifest;
use crate::record::{self, Kind};
use crate::segment::{self, Scan, SealedSegment};
use crate::summary::{Point, Summary};
use crate::writer::SeriesId;
use std::sync::OnceLock;

/// The axis of a window or of downsampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Training steps.
    Step,
    /// Timestamps in milliseconds.
    Time,
}

impl Axis {
    /// A point's value on this axis.
    fn of(self, p: &Point) -> i64 {
        match self {
            Axis::Step => p.step,
            Axis::Time => p.timestamp_ms,
        }
    }

    /// The column of this axis.
    fn column(self, pts: &Points) -> &[i64] {
        match self {
            Axis::Step => &pts.steps,
            Axis::Time => &pts.timestamps_ms,
        }
    }

    /// The smallest and largest value on this axis of the points `s` summarises.
    fn extent(self, s: &Summary) -> (i64, i64) {
        match self {
            Axis::Step => (s.min_step, s.max_step),
            Axis::Time => (s.min_timestamp_ms, s.max_timestamp_ms),
        }
    }

    /// The block index along this axis.
    fn index(self, blocks: &SeriesBlocks) -> &AxisIndex {
        match self {
            Axis::Step => &blocks.steps,
            Axis::Time => &blocks.times,
        }
    }
}

/// One bucket of a downsampled series: aggregates of the points whose axis value lies in
/// `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// First axis value of the bucket.
    pub start: i64,
    /// One past the last axis value of the bucket.
    pub end: i64,
    /// Points in the bucket.
    pub count: u64,
    /// Smallest non-NaN value (NaN if all are NaN).
    pub min: f64,
    /// Largest non-NaN value (NaN if all are NaN).
    pub max: f64,
    /// Mean of the non-NaN values (NaN if all are NaN).
    pub mean: f64,
    /// The bucket's last point by MLflow's rule (highest step, then timestamp, then value).
    pub last: Point,
}

/// A read-only view of a run folder. Cheap to keep open; [`RunReader::refresh`] picks up what
/// the writer flushed since.
#[derive(Debug)]
pub struct RunReader {
    dir: PathBuf,
    keys: HashMap<String, u32>,
    names: HashMap<u32, String>,
    sealed: Vec<(u32, Sealed)>,
    active: Option<Active>,
}

#[derive(Debug)]
struct Active {
    number: u32,
    path: PathBuf,
    file: File,
    scan: Scan,
}

/// A sealed segment, opened (mapped) only when a query needs its blocks. When the manifest
/// lists it, its per-series summaries come from there and the file stays closed until then.
#[derive(Debug)]
struct Sealed {
    path: PathBuf,
    listed: Option<manifest::Entry>,
    open: OnceLock<SealedSegment>,
}

impl Sealed {
    fn get(&self) -> Result<&SealedSegment> {
        if let Some(s) = self.open.get() {
            return Ok(s);
        }
        let seg = SealedSegment::open(self.path.clone())?;
        if let Some(entry) = &self.listed
            && entry.segment_len != seg.bytes().len() as u64
        {
            return Err(Error::corrupt(
                &self.path,
                seg.bytes().len() as u64,
                format!(
                    "the run's MANIFEST records this sealed segment as {} bytes long, the file has {}",
                    entry.segment_len,
                    seg.bytes().len()
                ),
            ));
        }
        Ok(self.open.get_or_init(|| seg))
    }

    fn total(&self, id: u32) -> Result<Option<Summary>> {
        if let Some(entry) = &self.listed {
            return Ok(entry
                .series
                .iter()
                .find(|s| s.series_id == id)
                .and_then(|s| s.summary));
        }
        Ok(self.get()?.series(id).and_then(|ss| ss.summary))
    }
}

enum Seg<'a> {
    Sealed(&'a Sealed),
    Active(&'a Active),
}

impl Seg<'_> {
    fn path(&self) -> &Path {
        match self {
            Seg::Sealed(s) => &s.path,
            Seg::Active(a) => &a.path,
        }
    }

    fn blocks(&self, id: u32) -> Result<Option<&SeriesBlocks>> {
        match self {
            Seg::Sealed(s) => {
                if s.listed.is_some() && s.total(id)?.is_none() {
                    return Ok(None);
                }
                let seg = s.get()?;
                match seg.series(id) {
                    Some(ss) => seg.blocks(ss),
                    None => Ok(None),
                }
            }
            Seg::Active(a) => Ok(a.scan.blocks.get(&id)),
        }
    }

    /// The blocks of series `id` when some of its points may lie in `[lo, hi)` on `axis`;
    /// a sealed segment's footer answers "no" without loading its index.
    fn blocks_overlapping(
        &self,
        id: u32,
        axis: Axis,
        lo: i64,
        hi: i64,
    ) -> Result<Option<&SeriesBlocks>> {
        if let Some(t) = self.total(id)? {
            let (min, max) = axis.extent(&t);
            if max < lo || min >= hi {
                return Ok(None);
            }
        }
        self.blocks(id)
    }

    fn total(&self, id: u32) -> Result<Option<Summary>> {
        match self {
            Seg::Sealed(s) => s.total(id),
            Seg::Active(a) => Ok(a.scan.blocks.get(&id).and_then(|b| b.total)),
        }
    }

    /// The checked payload of a block record.
    fn payload<'b>(&'b self, r: BlockRef, buf: &'b mut Vec<u8>) -> Result<&'b [u8]> {
        let bytes: &[u8] = match self {
            Seg::Sealed(s) => {
                let end = r.offset as usize + r.len as usize;
                s.get()?
                    .bytes()
                    .get(r.offset as usize..end)
                    .ok_or_else(|| {
                        Error::corrupt(&s.path, r.offset, "block lies beyond the end of the file")
                    })?
            }
            Seg::Active(a) => {
                buf.resize(r.len as usize, 0);
                a.file
                    .read_exact_at(buf, r.offset)
                    .map_err(|e| Error::io(&a.path, e))?;
                buf
            }
        };
        let rec = record::read(bytes, 0)
            .map_err(|e| e.into_decode(0, bytes.len()).at(self.path(), r.offset))?;
        if rec.kind != Kind::Block || rec.total_len() != r.len as usize {
            return Err(Error::corrupt(
                self.path(),
                r.offset,
                "index points at a record that is not the expected block",
            ));
        }
        Ok(rec.payload)
    }

    fn decode(
        &self,
        r: BlockRef,
        buf: &mut Vec<u8>,
        out: &mut Points,
        scratch: &mut Scratch,
    ) -> Result<()> {
        let payload = self.payload(r, buf)?;
        block::decode(payload, out, scratch)
            .map_err(|e| e.at(self.path(), r.offset + record::HEADER_LEN as u64))?;
        Ok(())
    }

    fn summary(&self, blocks: &SeriesBlocks, i: usize, buf: &mut Vec<u8>) -> Result<Summary> {
        if let Some(s) = blocks.summaries.get(i) {
            return Ok(*s);
        }
        let r = blocks.blocks[i];
        let payload = self.payload(r, buf)?;
        Ok(block::parse_header(payload)
            .map_err(|e| e.at(self.path(), r.offset + record::HEADER_LEN as u64))?
            .summary)
    }
}

impl RunReader {
    /// Opens a run folder for reading. Cost: the footers of sealed segments plus a scan of the
    /// active segment; it does not grow with the number of points in sealed segments.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        if !dir.is_dir() {
            return Err(Error::NotAStore {
                path: dir,
                why: "no such run folder".into(),
            });
        }
        let mut r = RunReader {
            dir,
            keys: HashMap::new(),
            names: HashMap::new(),
            sealed: Vec::new(),
            active: None,
        };
        r.refresh()?;
        Ok(r)
    }

    /// The run folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Picks up everything flushed since the last open or refresh.
    pub fn refresh(&mut self) -> Result<()> {
        let numbers = segment::list(&self.dir)?;
        let known = self.sealed.last().map_or(0, |(n, _)| *n);
        if numbers.iter().any(|&n| n > known) {
            // The manifest only matters for segments not already followed as the active one:
            // a live reader polling its active segment does not re-read it.
            let active = self.active.as_ref().map(|a| a.number);
            let mut listed = if numbers.iter().any(|&n| n > known && Some(n) != active) {
                manifest::read(&self.dir)?.entries
            } else {
                Default::default()
            };
            for (i, &n) in numbers.iter().enumerate() {
                if n <= known {
                    continue;
                }
                let path = self.dir.join(segment::file_name(n));
                let last = i + 1 == numbers.len();
                let entry = listed.remove(&n);
                if entry.is_some() || !last || ends_with_seal(&path)? {
                    if self.active.as_ref().is_some_and(|a| a.number == n) {
                        self.active = None;
                    }
                    let sealed = Sealed {
                        path,
                        listed: entry,
                        open: OnceLock::new(),
                    };
                    match &sealed.listed {
                        Some(e) => {
                            for s in &e.series {
                                self.learn(s.series_id, &s.key);
                            }
                        }
                        None => {
                            for s in &sealed.get()?.series {
                                self.learn(s.series_id, &s.key);
                            }
                        }
                    }
                    self.sealed.push((n, sealed));
                    continue;
                }
                self.refresh_active(n, path)?;
            }
        }
        Ok(())
    }

    fn refresh_active(&mut self, n: u32, path: PathBuf) -> Result<()> {
        match &mut self.active {
            Some(a) if a.number == n => {
                let len = a.file.metadata().map_err(|e| Error::io(&a.path, e))?.len();
                let from = a.scan.valid_len;
                if len > from {
                    let mut tail = vec![0; (len - from) as usize];
                    a.file
                        .read_exact_at(&mut tail, from)
                        .map_err(|e| Error::io(&a.path, e))?;
                    let before = a.scan.series.len();
                    segment::scan_records(&tail, from, &mut a.scan);
                    let new: Vec<(u32, String)> = a.scan.series[before..].to_vec();
                    for (id, key) in new {
                        self.learn(id, &key);
                    }
                }
            }
            _ => {
                let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
                let scan = segment::scan(&path)?;
                for (id, key) in &scan.series {
                    self.learn(*id, key);
                }
                self.active = Some(Active {
                    number: n,
                    path,
                    file,
                    scan,
                });
            }
        }
        Ok(())
    }

    fn learn(&mut self, id: u32, key: &str) {
        if let std::collections::hash_map::Entry::Vacant(e) = self.names.entry(id) {
            e.insert(key.to_string());
            self.keys.insert(key.to_string(), id);
        }
    }

    fn segments(&self) -> impl Iterator<Item = Seg<'_>> {
        self.sealed
            .iter()
            .map(|(_, s)| Seg::Sealed(s))
            .chain(self.active.iter().map(Seg::Active))
    }

    /// Every series of the run, by id.
    pub fn series(&self) -> Vec<(SeriesId, String)> {
        let mut v: Vec<(SeriesId, String)> = self
            .names
            .iter()
            .map(|(&id, k)| (SeriesId(id), k.clone()))
            .collect();
        v.sort();
        v
    }

    /// The id of series `key`, if the run has it.
    pub fn series_id(&self, key: &str) -> Option<SeriesId> {
        self.keys.get(key).map(|&id| SeriesId(id))
    }

    fn id(&self, key: &str) -> Result<u32> {
        self.keys
            .get(key)
            .copied()
            .ok_or_else(|| Error::NoSuchSeries {
                key: key.to_string(),
                run: self.dir.clone(),
            })
    }

    /// Count, min, max, sum, NaN count and MLflow's latest point of series `key`, from block
    /// summaries alone. `None` when the series has no flushed points.
    pub fn summary(&self, key: &str) -> Result<Option<Summary>> {
        let id = self.id(key)?;
        let mut acc: Option<Summary> = None;
        for seg in self.segments() {
            if let Some(t) = seg.total(id)? {
                match &mut acc {
                    None => acc = Some(t),
                    Some(a) => a.merge(&t),
                }
            }
        }
        Ok(acc)
    }

    /// MLflow's latest point of `key`: highest step, then timestamp, then value.
    pub fn latest(&self, key: &str) -> Result<Option<Point>> {
        Ok(self.summary(key)?.map(|s| s.latest))
    }

    /// Every point of `key` in arrival order.
    pub fn history(&self, key: &str) -> Result<Points> {
        let mut out = Points::default();
        self.history_into(key, &mut out)?;
        Ok(out)
    }

    /// Like [`RunReader::history`], into a buffer the caller reuses across calls (cleared
    /// first): saves the allocation and page faults of a fresh result every time.
    pub fn history_into(&self, key: &str, out: &mut Points) -> Result<()> {
        let id = self.id(key)?;
        out.clear();
        let total = self.summary(key)?.map_or(0, |s| s.count as usize);
        out.steps.reserve(total);
        out.timestamps_ms.reserve(total);
        out.values.reserve(total);
        let (mut buf, mut scratch) = (Vec::new(), Scratch::default());
        for seg in self.segments() {
            if let Some(blocks) = seg.blocks(id)? {
                for &r in &blocks.blocks {
                    seg.decode(r, &mut buf, out, &mut scratch)?;
                }
            }
        }
        Ok(())
    }

    /// The points of `key` with `lo <= step < hi`, in arrival order.
    pub fn step_window(&self, key: &str, lo: i64, hi: i64) -> Result<Points> {
        self.window(key, Axis::Step, lo, hi)
    }

    /// The points of `key` with `from_ms <= timestamp < to_ms`, in arrival order.
    pub fn time_window(&self, key: &str, from_ms: i64, to_ms: i64) -> Result<Points> {
        self.window(key, Axis::Time, from_ms, to_ms)
    }

    /// The points of `key` whose `axis` value lies in `[lo, hi)`, in arrival order.
    pub fn window(&self, key: &str, axis: Axis, lo: i64, hi: i64) -> Result<Points> {
        let id = self.id(key)?;
        let mut out = Points::default();
        let mut tmp = Points::default();
        let (mut buf, mut scratch) = (Vec::new(), Scratch::default());
        self.for_each_block(id, axis, lo, hi, |seg, blocks, i| {
            let (r, idx) = (blocks.blocks[i], axis.index(blocks));
            if idx.min[i] >= lo && idx.max[i] < hi {
                return seg.decode(r, &mut buf, &mut out, &mut scratch);
            }
            tmp.clear();
            seg.decode(r, &mut buf, &mut tmp, &mut scratch)?;
            let col = axis.column(&tmp);
            // Copy each stretch of consecutive matching points at once.
            let mut j = 0;
            while j < col.len() {
                if col[j] < lo || col[j] >= hi {
                    j += 1;
                    continue;
                }
                let start = j;
                while j < col.len() && col[j] >= lo && col[j] < hi {
                    j += 1;
                }
                out.extend_from(&tmp, start..j);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Calls `f(segment, blocks, i)`, in arrival order, for every block `i` of series `id`
    /// that may hold points whose `axis` value lies in `[lo, hi)`; stops at the first error.
    fn for_each_block(
        &self,
        id: u32,
        axis: Axis,
        lo: i64,
        hi: i64,
        mut f: impl FnMut(&Seg<'_>, &SeriesBlocks, usize) -> Result<()>,
    ) -> Result<()> {
        for seg in self.segments() {
            if let Some(blocks) = seg.blocks_overlapping(id, axis, lo, hi)? {
                axis.index(blocks)
                    .for_each_overlapping(lo, hi, |i| f(&seg, blocks, i))?;
            }
        }
        Ok(())
    }

    /// Downsamples `key` to at most `buckets` equal-width buckets over `axis`, covering
    /// `range` (`[lo, hi)`; default: the series' whole extent). Empty buckets are left out.
    ///
    /// A block that falls inside one bucket is answered from its summary without decoding;
    /// only blocks that straddle bucket edges are decoded. The result is exact.
    pub fn downsample(
        &self,
        key: &str,
        axis: Axis,
        buckets: usize,
        range: Option<(i64, i64)>,
    ) -> Result<Vec<Bucket>> {
        if buckets == 0 {
            return Err(Error::InvalidArgument(
                "downsampling needs at least one bucket".into(),
            ));
        }
        let id = self.id(key)?;
        let (lo, hi) = match range {
            Some(r) => r,
            None => match self.summary(key)? {
                None => return Ok(Vec::new()),
                Some(s) => {
                    let (min, max) = axis.extent(&s);
                    (min, max.saturating_add(1))
                }
            },
        };
        if lo >= hi {
            return Ok(Vec::new());
        }
        let span = hi as i128 - lo as i128;
        let width = ((span + buckets as i128 - 1) / buckets as i128).max(1);
        // Offsets from `lo` fit in u64 because lo <= x < hi.
        let bucket_of = |x: i64| ((x as u64).wrapping_sub(lo as u64) / width as u64) as usize;
        // Bucket b covers [start(b), start(b + 1)), the last one cut at `hi`.
        let start = |b: usize| (lo as i128 + b as i128 * width).min(hi as i128) as i64;
        let mut acc: Vec<Option<Summary>> = vec![None; bucket_of(hi - 1) + 1];
        let mut tmp = Points::default();
        let (mut buf, mut scratch) = (Vec::new(), Scratch::default());
        self.for_each_block(id, axis, lo, hi, |seg, blocks, i| {
            let idx = axis.index(blocks);
            let (bmin, bmax) = (idx.min[i], idx.max[i]);
            if bmin >= lo && bmax < hi && bucket_of(bmin) == bucket_of(bmax) {
                let s = seg.summary(blocks, i, &mut buf)?;
                match &mut acc[bucket_of(bmin)] {
                    Some(a) => a.merge(&s),
                    slot => *slot = Some(s),
                }
                return Ok(());
            }
            tmp.clear();
            seg.decode(blocks.blocks[i], &mut buf, &mut tmp, &mut scratch)?;
            // Points mostly come in axis order: keep the current bucket's bounds and divide
            // only when a point leaves them.
            let (mut b, mut b_lo, mut b_hi) = (0usize, 1i64, 0i64);
            for p in tmp.iter() {
                let x = axis.of(&p);
                if x < lo || x >= hi {
                    continue;
                }
                if x < b_lo || x >= b_hi {
                    b = bucket_of(x);
                    (b_lo, b_hi) = (start(b), start(b + 1));
                }
                match &mut acc[b] {
                    Some(a) => a.push(p),
                    slot => *slot = Some(Summary::of(p)),
                }
            }
            Ok(())
        })?;
        Ok(acc
            .into_iter()
            .enumerate()
            .filter_map(|(b, s)| {
                let s = s?;
                Some(Bucket {
                    start: start(b),
                    end: start(b + 1),
                    count: s.count,
                    min: s.min,
                    max: s.max,
                    mean: s.mean(),
                    last: s.latest,
                })
            })
            .collect())
    }
}

/// True when the file ends with a valid seal record (read without mapping the file).
fn ends_with_seal(path: &Path) -> Result<bool> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len < (segment::HEADER_LEN + record::SEAL_LEN) as u64 {
        return Ok(false);
    }
    let mut tail = [0u8; record::SEAL_LEN];
    file.read_exact_at(&mut tail, len - record::SEAL_LEN as u64)
        .map_err(|e| Error::io(path, e))?;
    Ok(matches!(record::read(&tail, 0), Ok(r) if r.kind == Kind::Seal))
}
