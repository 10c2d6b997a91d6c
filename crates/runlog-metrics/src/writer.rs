//! The writer of one run folder.
//!
//! Appends go to per-series buffers in memory; a full buffer becomes a compressed block in the
//! *pending* bytes of the active segment. [`RunWriter::flush`] turns every partial buffer into a
//! (short) block, writes everything pending and calls `fdatasync` once. A background thread does
//! the same every [`WriterOptions::flush_interval`], and writes (without syncing) whenever the
//! pending bytes pass [`WriterOptions::max_pending_bytes`], so memory stays bounded however long
//! the run is. When the active segment passes [`WriterOptions::segment_bytes`] it is sealed
//! (index, footer, seal record, sync) and the next one begins.
//!
//! Two locks: `state` (buffers and pending bytes; held for nanoseconds by appends) and `io`
//! (the open segment file; held while writing and syncing). A flush takes `io`, then briefly
//! `state` to take the pending bytes, then writes and syncs without blocking appends.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::block::{self, MAX_BLOCK_POINTS, Points, Scratch};
use crate::error::{Error, Result};
use crate::manifest;
use crate::record::{self, Kind};
use crate::seal;
use crate::segment::{self, SealedSegment};
use crate::store::{RunLock, sync_dir};
use crate::summary::Point;

/// Tuning of a [`RunWriter`].
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Points per full block (default 512, at most [`crate::MAX_BLOCK_POINTS`]). Smaller blocks make step and time windows and
    /// downsampling cheaper; larger ones compress a little better.
    pub block_points: usize,
    /// Size at which the active segment is sealed and a new one begun (default 16 MiB). It
    /// bounds what a reader scans at open and the index a query loads.
    pub segment_bytes: u64,
    /// How often the background thread flushes (default 1 s): the most a crash can lose.
    /// `None` disables the background thread; then only [`RunWriter::flush`] and
    /// [`RunWriter::close`] make points durable.
    pub flush_interval: Option<Duration>,
    /// Encoded bytes waiting in memory before they are written out without a sync
    /// (default 4 MiB). Bounds the writer's memory.
    pub max_pending_bytes: usize,
    #[doc(hidden)]
    pub faults: Option<crate::fault::FaultPlan>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            block_points: 512,
            segment_bytes: 16 << 20,
            flush_interval: Some(Duration::from_secs(1)),
            max_pending_bytes: 4 << 20,
            faults: None,
        }
    }
}

/// Handle of a series inside one run, from [`RunWriter::series`]. Cheap to copy; appending by
/// handle skips the key lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(pub u32);

/// The one writer of a run folder. `Send + Sync`: share it by reference or `Arc`.
#[derive(Debug)]
pub struct RunWriter {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    opts: WriterOptions,
    state: Mutex<State>,
    io: Mutex<Io>,
    poisoned: AtomicBool,
    poison: Mutex<Option<String>>,
    wake: Mutex<Wake>,
    wake_cv: Condvar,
    _lock: RunLock,
}

#[derive(Debug, Default)]
struct Wake {
    kick: bool,
    shutdown: bool,
}

#[derive(Debug)]
struct SeriesState {
    key: String,
    buf: Points,
    /// A series record for this series is in the current segment.
    in_segment: bool,
}

#[derive(Debug)]
struct Chunk {
    segment: u32,
    bytes: Vec<u8>,
    /// The last bytes of their segment: seal it once they are durable.
    seals: bool,
}

#[derive(Debug)]
struct State {
    series: Vec<SeriesState>,
    keys: HashMap<String, u32>,
    /// Segment the pending bytes belong to.
    segment: u32,
    /// File offset at which `pending[0]` will land.
    base: u64,
    pending: Vec<u8>,
    /// Bytes of sealed segments not yet written.
    chunks: Vec<Chunk>,
    scratch: Scratch,
    block_points: usize,
    segment_bytes: u64,
    closed: bool,
}

#[derive(Debug)]
struct Io {
    segment: u32,
    file: Option<crate::fault::SegmentFile>,
    faults: Option<crate::fault::FaultPlan>,
    manifest: Option<File>,
    /// Valid length of the manifest found at open (its torn tail is cut before appending).
    manifest_valid_len: u64,
}

impl State {
    fn end(&self) -> u64 {
        self.base + self.pending.len() as u64
    }

    fn define(&mut self, id: u32) {
        let key = &self.series[id as usize].key;
        record::append(&mut self.pending, Kind::Series, |o| {
            segment::series_payload(o, id, key)
        });
        self.series[id as usize].in_segment = true;
    }

    /// Encodes the buffer of series `id` (non-empty) as a block.
    fn encode(&mut self, id: u32) {
        if !self.series[id as usize].in_segment {
            self.define(id);
        }
        let s = &mut self.series[id as usize];
        record::append(&mut self.pending, Kind::Block, |o| {
            block::encode(id, &s.buf, o, &mut self.scratch)
        });
        s.buf.clear();
        if self.end() >= self.segment_bytes {
            self.seal();
        }
    }

    fn encode_partials(&mut self) {
        for id in 0..self.series.len() as u32 {
            if !self.series[id as usize].buf.is_empty() {
                self.encode(id);
            }
        }
    }

    fn has_records(&self) -> bool {
        self.end() > segment::HEADER_LEN as u64
    }

    /// Ends the current segment (the io side seals it once its bytes are durable) and starts
    /// the next one.
    fn seal(&mut self) {
        self.chunks.push(Chunk {
            segment: self.segment,
            bytes: std::mem::take(&mut self.pending),
            seals: true,
        });
        self.segment += 1;
        self.base = 0;
        self.pending = segment::header().to_vec();
        for s in &mut self.series {
            s.in_segment = false;
        }
    }

    fn pending_bytes(&self) -> usize {
        self.pending.len() + self.chunks.iter().map(|c| c.bytes.len()).sum::<usize>()
    }

    /// Takes everything waiting to be written, in order.
    fn take(&mut self) -> Vec<Chunk> {
        let mut out = std::mem::take(&mut self.chunks);
        // A segment that holds nothing but its header is not worth a file yet.
        let only_header = self.base == 0 && self.pending.len() <= segment::HEADER_LEN;
        if !self.pending.is_empty() && !only_header {
            let bytes = std::mem::take(&mut self.pending);
            self.base += bytes.len() as u64;
            out.push(Chunk {
                segment: self.segment,
                bytes,
                seals: false,
            });
        }
        out
    }
}

impl RunWriter {
    /// Opens (creating if needed) the run folder `dir` for writing; see
    /// [`crate::MetricStore::writer`].
    pub fn open(dir: impl Into<PathBuf>, opts: WriterOptions) -> Result<Self> {
        let dir = dir.into();
        if opts.block_points == 0 || opts.block_points > MAX_BLOCK_POINTS {
            return Err(Error::InvalidArgument(format!(
                "block_points must be between 1 and {MAX_BLOCK_POINTS}, got {}",
                opts.block_points
            )));
        }
        fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let lock = RunLock::acquire(&dir)?;
        let (state, io) = recover(&dir, &opts)?;
        let shared = Arc::new(Shared {
            io: Mutex::new(io),
            dir,
            state: Mutex::new(state),
            poisoned: AtomicBool::new(false),
            poison: Mutex::new(None),
            wake: Mutex::new(Wake::default()),
            wake_cv: Condvar::new(),
            _lock: lock,
            opts,
        });
        let flusher = match shared.opts.flush_interval {
            Some(interval) => {
                let s = Arc::clone(&shared);
                Some(
                    std::thread::Builder::new()
                        .name("runlog-flush".into())
                        .spawn(move || s.background(interval))
                        .map_err(|e| Error::io(&shared.dir, e))?,
                )
            }
            None => None,
        };
        Ok(RunWriter { shared, flusher })
    }

    /// The run folder.
    pub fn path(&self) -> &Path {
        &self.shared.dir
    }

    /// The handle of series `key`, defining it on first use. Keys are non-empty UTF-8 of at
    /// most 65 535 bytes.
    pub fn series(&self, key: &str) -> Result<SeriesId> {
        self.shared.check()?;
        let mut st = self.shared.lock_state()?;
        if let Some(&id) = st.keys.get(key) {
            return Ok(SeriesId(id));
        }
        if key.is_empty() || key.len() > u16::MAX as usize {
            return Err(Error::InvalidKey {
                key: key.chars().take(80).collect(),
                why: format!(
                    "a series key must be 1 to {} bytes long, this one has {}",
                    u16::MAX,
                    key.len()
                ),
            });
        }
        let id = st.series.len() as u32;
        st.series.push(SeriesState {
            key: key.to_string(),
            buf: Points::default(),
            in_segment: false,
        });
        st.keys.insert(key.to_string(), id);
        st.define(id);
        Ok(SeriesId(id))
    }

    /// Appends one point. Never waits for the disk.
    #[inline]
    pub fn append(&self, series: SeriesId, p: Point) -> Result<()> {
        self.shared.check()?;
        let mut st = self.shared.lock_state()?;
        let limit = st.block_points;
        let s = st
            .series
            .get_mut(series.0 as usize)
            .ok_or(Error::UnknownSeries(series.0))?;
        s.buf.push(p);
        if s.buf.len() >= limit {
            st.encode(series.0);
            self.shared.after_encode(st)?;
        }
        Ok(())
    }

    /// Appends many points of one series.
    pub fn append_batch(&self, series: SeriesId, points: &[Point]) -> Result<()> {
        self.shared.check()?;
        let mut st = self.shared.lock_state()?;
        let limit = st.block_points;
        if st.series.get(series.0 as usize).is_none() {
            return Err(Error::UnknownSeries(series.0));
        }
        let mut rest = points;
        while !rest.is_empty() {
            let s = &mut st.series[series.0 as usize];
            let take = (limit - s.buf.len()).min(rest.len());
            let (now, later) = rest.split_at(take);
            s.buf.steps.extend(now.iter().map(|p| p.step));
            s.buf
                .timestamps_ms
                .extend(now.iter().map(|p| p.timestamp_ms));
            s.buf.values.extend(now.iter().map(|p| p.value));
            rest = later;
            if s.buf.len() >= limit {
                st.encode(series.0);
                if st.pending_bytes() >= self.shared.opts.max_pending_bytes {
                    self.shared.after_encode(st)?;
                    st = self.shared.lock_state()?;
                }
            }
        }
        Ok(())
    }

    /// Appends one value for each of several series at the same step and time (one training
    /// step's metrics).
    pub fn append_step(
        &self,
        step: i64,
        timestamp_ms: i64,
        values: &[(SeriesId, f64)],
    ) -> Result<()> {
        self.shared.check()?;
        let mut st = self.shared.lock_state()?;
        let limit = st.block_points;
        let n = st.series.len();
        if let Some((bad, _)) = values.iter().find(|(s, _)| s.0 as usize >= n) {
            return Err(Error::UnknownSeries(bad.0));
        }
        let mut encoded = false;
        for &(s, v) in values {
            let ss = &mut st.series[s.0 as usize];
            ss.buf.push(Point::new(step, timestamp_ms, v));
            if ss.buf.len() >= limit {
                st.encode(s.0);
                encoded = true;
            }
        }
        if encoded {
            self.shared.after_encode(st)?;
        }
        Ok(())
    }

    /// Makes every point appended so far durable: writes all buffered points and calls
    /// `fdatasync` once. After it returns `Ok`, those points survive a crash or power loss.
    pub fn flush(&self) -> Result<()> {
        self.shared.write_out(true)
    }

    /// Flushes, seals the active segment and releases the run. Dropping the writer does the
    /// same but cannot report errors.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if let Some(h) = self.flusher.take() {
            {
                let mut w = self.shared.wake.lock().unwrap_or_else(|e| e.into_inner());
                w.shutdown = true;
            }
            self.shared.wake_cv.notify_all();
            let _ = h.join();
        }
        {
            let mut st = self.shared.lock_state()?;
            if st.closed {
                return Ok(());
            }
            st.closed = true;
            if self.shared.poisoned.load(Ordering::Acquire) {
                return Err(self.shared.poison_error());
            }
            st.encode_partials();
            if st.has_records() {
                st.seal();
            }
        }
        self.shared.write_out(true)
    }
}

impl Drop for RunWriter {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

impl Shared {
    #[inline]
    fn check(&self) -> Result<()> {
        if self.poisoned.load(Ordering::Relaxed) {
            return Err(self.poison_error());
        }
        Ok(())
    }

    #[inline]
    fn lock_state(&self) -> Result<MutexGuard<'_, State>> {
        let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.closed {
            return Err(Error::Closed(self.dir.clone()));
        }
        Ok(st)
    }

    fn poison_error(&self) -> Error {
        let cause = self
            .poison
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_else(|| "unknown failure".into());
        Error::Poisoned {
            path: self.dir.clone(),
            cause,
        }
    }

    /// Called with the state lock after a block was encoded: keeps pending memory bounded.
    fn after_encode(&self, st: MutexGuard<'_, State>) -> Result<()> {
        let pending = st.pending_bytes();
        let soft = self.opts.max_pending_bytes;
        if pending < soft {
            return Ok(());
        }
        if self.opts.flush_interval.is_some() && pending < soft * 4 {
            drop(st);
            self.wake.lock().unwrap_or_else(|e| e.into_inner()).kick = true;
            self.wake_cv.notify_one();
        } else {
            // No background thread, or it cannot keep up: write here.
            drop(st);
            self.write_out(false)?;
        }
        Ok(())
    }

    /// Writes everything pending; with `sync`, first encodes partial buffers and ends with one
    /// `fdatasync`.
    fn write_out(&self, sync: bool) -> Result<()> {
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        self.check()?;
        let chunks = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if sync {
                st.encode_partials();
            }
            st.take()
        };
        let result = (|| -> io::Result<()> {
            for chunk in chunks {
                io.write_chunk(&self.dir, chunk, self.opts.block_points)?;
            }
            if sync && let Some(f) = io.file.as_mut() {
                f.sync_data()?;
            }
            Ok(())
        })();
        result.map_err(|e| {
            let cause = format!("{e}");
            *self.poison.lock().unwrap_or_else(|p| p.into_inner()) = Some(cause);
            self.poisoned.store(true, Ordering::Release);
            Error::io(self.dir.join(segment::file_name(io.segment)), e)
        })
    }

    fn background(&self, interval: Duration) {
        let mut last = Instant::now();
        loop {
            let kicked = {
                let mut w = self.wake.lock().unwrap_or_else(|e| e.into_inner());
                let due = last + interval;
                while !w.kick && !w.shutdown {
                    let now = Instant::now();
                    if now >= due {
                        break;
                    }
                    w = self
                        .wake_cv
                        .wait_timeout(w, due - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                if w.shutdown {
                    return;
                }
                std::mem::take(&mut w.kick)
            };
            if self.poisoned.load(Ordering::Acquire) {
                return;
            }
            let due = Instant::now() >= last + interval;
            // Errors poison the writer; the next append or flush reports them.
            let _ = self.write_out(due || !kicked);
            if due || !kicked {
                last = Instant::now();
            }
        }
    }
}

impl Io {
    fn write_chunk(&mut self, dir: &Path, chunk: Chunk, block_points: usize) -> io::Result<()> {
        let path = dir.join(segment::file_name(chunk.segment));
        if self.file.is_none() || self.segment != chunk.segment {
            let existed = path.exists();
            let f = OpenOptions::new().create(true).append(true).open(&path)?;
            self.file = Some(crate::fault::SegmentFile::new(f, self.faults.clone()));
            self.segment = chunk.segment;
            if !existed {
                File::open(dir)?.sync_all()?;
            }
        }
        let f = self.file.as_mut().expect("opened above");
        f.write_all(&chunk.bytes)?;
        if chunk.seals {
            f.sync_data()?;
            self.file = None;
            // Only a durable seal gets a manifest entry; a crash in between leaves a sealed
            // segment that readers open directly and the next writer lists.
            let footer = seal::seal(&path, block_points)?;
            let len = fs::metadata(&path)?.len();
            self.append_manifest(dir, &manifest::entry_bytes(chunk.segment, len, &footer))?;
        }
        Ok(())
    }

    fn append_manifest(&mut self, dir: &Path, entry: &[u8]) -> io::Result<()> {
        if self.manifest.is_none() {
            self.manifest = Some(manifest::open_for_append(dir, self.manifest_valid_len)?);
        }
        let m = self.manifest.as_mut().expect("opened above");
        m.write_all(entry)?;
        m.sync_data()
    }
}

/// Rebuilds the writer state from the run folder: series keys from every segment, and the
/// active segment's blocks; drops (after saving them aside) the bytes of a torn tail.
fn recover(dir: &Path, opts: &WriterOptions) -> Result<(State, Io)> {
    let segments = segment::list(dir)?;
    let mut keys: HashMap<u32, String> = HashMap::new();
    let mut state = State {
        series: Vec::new(),
        keys: HashMap::new(),
        segment: 1,
        base: 0,
        pending: segment::header().to_vec(),
        chunks: Vec::new(),
        scratch: Scratch::default(),
        block_points: opts.block_points,
        segment_bytes: opts.segment_bytes.max(4096),
        closed: false,
    };
    // A compaction that a crash interrupted: its segment is still the active original.
    for e in fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        if e.file_name()
            .to_str()
            .is_some_and(|n| n.ends_with(seal::COMPACT_SUFFIX))
        {
            fs::remove_file(e.path()).map_err(|err| Error::io(e.path(), err))?;
        }
    }
    let listed = manifest::read(dir)?;
    let mut unlisted: Vec<Vec<u8>> = Vec::new();
    let mut active: Option<segment::Scan> = None;
    for (i, &n) in segments.iter().enumerate() {
        let path = dir.join(segment::file_name(n));
        if let Some(entry) = listed.entries.get(&n) {
            for s in &entry.series {
                keys.insert(s.series_id, s.key.clone());
            }
            state.segment = n + 1;
            continue;
        }
        let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
        if segment::is_sealed(&bytes) {
            drop(bytes);
            let sealed = SealedSegment::open(path)?;
            for s in &sealed.series {
                keys.insert(s.series_id, s.key.clone());
            }
            unlisted.push(manifest::entry_bytes(
                n,
                sealed.bytes().len() as u64,
                sealed.footer_bytes(),
            ));
            state.segment = n + 1;
            continue;
        }
        if i + 1 != segments.len() {
            return Err(Error::corrupt(
                &path,
                bytes.len() as u64,
                "segment is not sealed but a newer segment exists; only the newest segment may \
                 be unsealed (run `runlog check` to see what is damaged)",
            ));
        }
        let scan = segment::scan_bytes(&path, &bytes)?;
        if let Some(stopped) = &scan.stopped {
            quarantine_tail(&path, &bytes, scan.valid_len, stopped)?;
        }
        for (id, key) in &scan.series {
            keys.insert(*id, key.clone());
        }
        state.segment = n;
        if scan.valid_len < segment::HEADER_LEN as u64 {
            // Nothing valid but possibly a torn header: the file holds nothing; the next write
            // creates it again.
            fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
            sync_dir(dir)?;
        } else {
            state.base = scan.valid_len;
            state.pending.clear();
        }
        active = Some(scan);
    }
    let max_id = keys.keys().copied().max();
    if let Some(max_id) = max_id {
        for id in 0..=max_id {
            let key = keys
                .remove(&id)
                .unwrap_or_else(|| format!("<series {id} whose definition is lost>"));
            state.keys.insert(key.clone(), id);
            state.series.push(SeriesState {
                key,
                buf: Points::default(),
                in_segment: false,
            });
        }
    }
    if let Some(scan) = active {
        for (id, _) in &scan.series {
            if let Some(s) = state.series.get_mut(*id as usize) {
                s.in_segment = true;
            }
        }
    }
    let mut io = Io {
        segment: state.segment,
        file: None,
        faults: opts.faults.clone(),
        manifest: None,
        manifest_valid_len: listed.valid_len,
    };
    if !unlisted.is_empty() || listed.stopped.is_some() {
        // Repair the manifest: cut its torn tail, list the sealed segments it misses.
        let mut m = manifest::open_for_append(dir, listed.valid_len)
            .map_err(|e| Error::io(manifest::path(dir), e))?;
        for entry in &unlisted {
            m.write_all(entry)
                .map_err(|e| Error::io(manifest::path(dir), e))?;
        }
        m.sync_data()
            .map_err(|e| Error::io(manifest::path(dir), e))?;
        io.manifest = Some(m);
    }
    Ok((state, io))
}

/// Truncates a torn or damaged tail off the active segment, keeping the cut bytes in a side file
/// `NNNNNNNN.seg.tail-<offset>` so that nothing is destroyed.
fn quarantine_tail(
    path: &Path,
    bytes: &[u8],
    valid_len: u64,
    why: &crate::DecodeError,
) -> Result<()> {
    let keep = valid_len as usize;
    if keep >= bytes.len() {
        return Ok(());
    }
    let side = path.with_extension(format!("seg.tail-{keep}"));
    let mut f = File::create(&side).map_err(|e| Error::io(&side, e))?;
    let _ = why;
    f.write_all(&bytes[keep..])
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::io(&side, e))?;
    let seg = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    seg.set_len(keep as u64)
        .and_then(|_| seg.sync_all())
        .map_err(|e| Error::io(path, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}
