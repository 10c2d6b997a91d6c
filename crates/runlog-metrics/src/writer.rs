//! The writer of one run folder.
//!
//! Appends go to per-series buffers in memory. A full buffer joins a queue of blocks to encode;
//! the background thread encodes them (and the appending thread helps when the queue grows), and
//! each encoded block is committed, strictly in queue order, to the *pending* bytes of the
//! active segment. Encoding happens outside the locks, so on two cores appending and encoding
//! overlap. [`RunWriter::flush`] queues every partial buffer as a (short) block, waits until
//! everything queued is committed, writes everything pending and calls `fdatasync` once. The
//! background thread does the same every [`WriterOptions::flush_interval`], and writes (without
//! syncing) whenever the pending bytes pass [`WriterOptions::max_pending_bytes`], so memory
//! stays bounded however long the run is. When the active segment passes
//! [`WriterOptions::segment_bytes`] it ends and is sealed (`seal.rs`) and the next one begins.
//!
//! Three locks, taken in this order: `bufs` (per-series buffers; held for nanoseconds by every
//! append), `io` (the open segment file; held while writing and syncing) and `state` (the
//! encoding queue, pending bytes and segment bookkeeping; held briefly, once per block or
//! flush). Writing and syncing never hold `bufs` or `state`, so they never block appends.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::block::{self, MAX_BLOCK_POINTS, Points};
use crate::error::{Error, Result};
use crate::manifest;
use crate::record::{self, Kind};
use crate::seal;
use crate::segment::{self, SealedSegment};
use crate::store::{RunLock, sync_dir};
use crate::summary::{Point, Summary};

/// Tuning of a [`RunWriter`].
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Points per full block (default 512, at most [`crate::MAX_BLOCK_POINTS`]). Smaller blocks make step and time windows and
    /// downsampling cheaper; larger ones compress a little better.
    pub block_points: usize,
    /// Size at which the active segment is sealed and a new one begun (default 16 MiB). It
    /// bounds what a reader scans at open and the index a query loads.
    pub segment_bytes: u64,
    /// How often the writer's thread flushes (default 1 s): the most a crash can lose.
    /// `None` turns timed flushes off; then only [`RunWriter::flush`] and
    /// [`RunWriter::close`] make points durable (the thread still encodes blocks).
    pub flush_interval: Option<Duration>,
    /// Encoded bytes waiting in memory before they are written out without a sync
    /// (default 4 MiB). Bounds the writer's memory.
    pub max_pending_bytes: usize,
    /// Called after every successful durable flush (explicit, timed or at close) with the
    /// summary of the points each series received since the previous call, from the thread
    /// that flushed, while no other flush can run: calls arrive in order. Keep it short; it
    /// must not call back into the writer.
    pub on_flush: Option<FlushHook>,
    /// Checks a series key before [`RunWriter::series`] or [`RunWriter::append_key`] defines
    /// it; an `Err(why)` is reported as [`Error::InvalidKey`].
    pub key_check: Option<KeyCheck>,
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
            on_flush: None,
            key_check: None,
            faults: None,
        }
    }
}

/// What one series received between two durable flushes, as [`FlushHook`] reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesUpdate {
    /// The series.
    pub series: SeriesId,
    /// Its key.
    pub key: String,
    /// The summary of the points it received since the previous report, in arrival order;
    /// merge it into an earlier summary with [`Summary::merge`].
    pub summary: Summary,
}

/// A callback run after every durable flush; see [`WriterOptions::on_flush`].
#[derive(Clone)]
pub struct FlushHook(pub Arc<FlushFn>);

/// The function inside a [`FlushHook`].
pub type FlushFn = dyn Fn(&[SeriesUpdate]) + Send + Sync;

/// A check of series keys; see [`WriterOptions::key_check`]. `Err` says what is wrong.
pub type KeyCheck = fn(&str) -> std::result::Result<(), String>;

impl std::fmt::Debug for FlushHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlushHook(..)")
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
    /// The appending side: per-series buffers. Locked for every append.
    bufs: Mutex<Bufs>,
    /// The encoding side: the queue, pending bytes, segments. Locked once per block. Lock
    /// order: `bufs`, then `state`; `io`, then `state`.
    state: Mutex<State>,
    /// Signalled whenever encoded blocks are committed.
    committed: Condvar,
    io: Mutex<Io>,
    poisoned: AtomicBool,
    poison: Mutex<Option<String>>,
    wake: Mutex<Wake>,
    wake_cv: Condvar,
    _lock: RunLock,
}

#[derive(Debug, Default)]
struct Wake {
    /// Pending bytes should be written out.
    kick: bool,
    /// Blocks are waiting to be encoded.
    work: bool,
    shutdown: bool,
}

/// The encoder thread is woken once this many blocks wait.
const WAKE_AT: usize = 4;
/// Past this many waiting blocks the appending thread encodes one per block it adds.
const HELP_AT: usize = 16;

/// A full buffer waiting to be encoded; `seq` orders commits.
#[derive(Debug)]
struct Job {
    seq: u64,
    series: u32,
    points: Points,
}

/// An encoded block record waiting for its turn to be committed.
#[derive(Debug)]
struct Encoded {
    series: u32,
    record: Vec<u8>,
    points: Points,
    summary: Summary,
}

#[derive(Debug)]
struct SeriesState {
    key: String,
    /// A series record for this series is in the current segment.
    in_segment: bool,
    /// Summary of the blocks committed since the last durable flush reported them.
    fresh: Option<Summary>,
}

#[derive(Debug)]
struct Bufs {
    /// Per series id: the points not yet queued for encoding.
    bufs: Vec<Points>,
    keys: HashMap<String, u32>,
    block_points: usize,
    closed: bool,
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
    /// Segment the pending bytes belong to.
    segment: u32,
    /// File offset at which `pending[0]` will land.
    base: u64,
    pending: Vec<u8>,
    /// Bytes of sealed segments not yet written.
    chunks: Vec<Chunk>,
    /// Full buffers waiting to be encoded, in arrival order.
    queue: std::collections::VecDeque<Job>,
    /// Sequence number of the next job queued.
    next_seq: u64,
    /// Sequence number of the next job to commit.
    next_commit: u64,
    /// Jobs encoded ahead of their turn.
    done: std::collections::BTreeMap<u64, Encoded>,
    /// Emptied buffers, reused.
    spare: Vec<Points>,
    segment_bytes: u64,
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

    /// Queues the (non-empty) points of series `id` for encoding; returns an empty buffer to
    /// fill next.
    fn enqueue(&mut self, id: u32, points: Points) -> Points {
        self.queue.push_back(Job {
            seq: self.next_seq,
            series: id,
            points,
        });
        self.next_seq += 1;
        self.spare.pop().unwrap_or_default()
    }

    /// Takes in an encoded job and commits, in sequence order, every job whose turn has come.
    fn commit(&mut self, seq: u64, encoded: Encoded) {
        self.done.insert(seq, encoded);
        while let Some(e) = self.done.remove(&self.next_commit) {
            if !self.series[e.series as usize].in_segment {
                self.define(e.series);
            }
            self.pending.extend_from_slice(&e.record);
            let s = &mut self.series[e.series as usize];
            match &mut s.fresh {
                Some(f) => f.merge(&e.summary),
                None => s.fresh = Some(e.summary),
            }
            self.next_commit += 1;
            let mut points = e.points;
            if self.spare.len() < HELP_AT * 2 {
                points.clear();
                self.spare.push(points);
            }
            if self.end() >= self.segment_bytes {
                self.seal();
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

    /// The fresh summaries of every series, emptied.
    fn take_updates(&mut self) -> Vec<SeriesUpdate> {
        let mut out = Vec::new();
        for (id, s) in self.series.iter_mut().enumerate() {
            if let Some(summary) = s.fresh.take() {
                out.push(SeriesUpdate {
                    series: SeriesId(id as u32),
                    key: s.key.clone(),
                    summary,
                });
            }
        }
        out
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
        let (bufs, state, io) = recover(&dir, &opts)?;
        let shared = Arc::new(Shared {
            io: Mutex::new(io),
            dir,
            bufs: Mutex::new(bufs),
            state: Mutex::new(state),
            committed: Condvar::new(),
            poisoned: AtomicBool::new(false),
            poison: Mutex::new(None),
            wake: Mutex::new(Wake::default()),
            wake_cv: Condvar::new(),
            _lock: lock,
            opts,
        });
        let s = Arc::clone(&shared);
        let flusher = Some(
            std::thread::Builder::new()
                .name("runlog-writer".into())
                .spawn(move || s.background())
                .map_err(|e| Error::io(&shared.dir, e))?,
        );
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
        let mut b = self.shared.lock_bufs()?;
        if let Some(&id) = b.keys.get(key) {
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
        if let Some(check) = self.shared.opts.key_check {
            check(key).map_err(|why| Error::InvalidKey {
                key: key.chars().take(250).collect(),
                why,
            })?;
        }
        let id = b.bufs.len() as u32;
        b.bufs.push(Points::default());
        b.keys.insert(key.to_string(), id);
        let mut st = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        st.series.push(SeriesState {
            key: key.to_string(),
            in_segment: false,
            fresh: None,
        });
        st.define(id);
        Ok(SeriesId(id))
    }

    /// Appends one point to the series named `key`, defining it on first use: one lock and one
    /// hash lookup per point. Never waits for the disk.
    #[inline]
    pub fn append_key(&self, key: &str, p: Point) -> Result<()> {
        self.shared.check()?;
        {
            let mut b = self.shared.lock_bufs()?;
            if let Some(&id) = b.keys.get(key) {
                let limit = b.block_points;
                let buf = &mut b.bufs[id as usize];
                buf.push(p);
                if buf.len() >= limit {
                    self.shared.enqueue(&mut b, id)?;
                }
                return Ok(());
            }
        }
        let id = self.series(key)?;
        self.append(id, p)
    }

    /// The keys of every series of the run, by series id.
    pub fn keys(&self) -> Vec<String> {
        let st = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        st.series.iter().map(|s| s.key.clone()).collect()
    }

    /// Appends one point. Never waits for the disk.
    #[inline]
    pub fn append(&self, series: SeriesId, p: Point) -> Result<()> {
        self.shared.check()?;
        let mut b = self.shared.lock_bufs()?;
        let limit = b.block_points;
        let buf = b
            .bufs
            .get_mut(series.0 as usize)
            .ok_or(Error::UnknownSeries(series.0))?;
        buf.push(p);
        if buf.len() >= limit {
            self.shared.enqueue(&mut b, series.0)?;
        }
        Ok(())
    }

    /// Appends many points of one series.
    pub fn append_batch(&self, series: SeriesId, points: &[Point]) -> Result<()> {
        self.shared.check()?;
        let mut b = self.shared.lock_bufs()?;
        let limit = b.block_points;
        if b.bufs.get(series.0 as usize).is_none() {
            return Err(Error::UnknownSeries(series.0));
        }
        let mut rest = points;
        while !rest.is_empty() {
            let buf = &mut b.bufs[series.0 as usize];
            let take = (limit - buf.len()).min(rest.len());
            let (now, later) = rest.split_at(take);
            buf.steps.extend(now.iter().map(|p| p.step));
            buf.timestamps_ms.extend(now.iter().map(|p| p.timestamp_ms));
            buf.values.extend(now.iter().map(|p| p.value));
            rest = later;
            if buf.len() >= limit {
                self.shared.enqueue(&mut b, series.0)?;
            }
        }
        Ok(())
    }

    /// Appends many points of one series given as columns (`steps[i]`, `timestamps_ms[i]`,
    /// `values[i]`), the cheapest way in for columnar sources such as importers.
    pub fn append_columns(
        &self,
        series: SeriesId,
        steps: &[i64],
        timestamps_ms: &[i64],
        values: &[f64],
    ) -> Result<()> {
        if steps.len() != timestamps_ms.len() || steps.len() != values.len() {
            return Err(Error::InvalidArgument(format!(
                "append_columns needs columns of one length, got {} steps, {} timestamps and {} values",
                steps.len(),
                timestamps_ms.len(),
                values.len()
            )));
        }
        self.shared.check()?;
        let mut b = self.shared.lock_bufs()?;
        let limit = b.block_points;
        if b.bufs.get(series.0 as usize).is_none() {
            return Err(Error::UnknownSeries(series.0));
        }
        let mut at = 0;
        while at < steps.len() {
            let buf = &mut b.bufs[series.0 as usize];
            let end = at + (limit - buf.len()).min(steps.len() - at);
            buf.steps.extend_from_slice(&steps[at..end]);
            buf.timestamps_ms.extend_from_slice(&timestamps_ms[at..end]);
            buf.values.extend_from_slice(&values[at..end]);
            at = end;
            if buf.len() >= limit {
                self.shared.enqueue(&mut b, series.0)?;
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
        let mut b = self.shared.lock_bufs()?;
        let limit = b.block_points;
        let n = b.bufs.len();
        if let Some((bad, _)) = values.iter().find(|(s, _)| s.0 as usize >= n) {
            return Err(Error::UnknownSeries(bad.0));
        }
        for &(s, v) in values {
            let buf = &mut b.bufs[s.0 as usize];
            buf.push(Point::new(step, timestamp_ms, v));
            if buf.len() >= limit {
                self.shared.enqueue(&mut b, s.0)?;
            }
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
        self.shared.lock_bufs()?.closed = true;
        if self.shared.poisoned.load(Ordering::Acquire) {
            return Err(self.shared.poison_error());
        }
        let target = self.shared.enqueue_partials();
        self.shared.drain_until(target);
        {
            let mut st = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
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
    fn lock_bufs(&self) -> Result<MutexGuard<'_, Bufs>> {
        let b = self.bufs.lock().unwrap_or_else(|e| e.into_inner());
        if b.closed {
            return Err(Error::Closed(self.dir.clone()));
        }
        Ok(b)
    }

    /// Queues the full buffer of series `id` for encoding (with the `bufs` lock held).
    fn enqueue(&self, b: &mut MutexGuard<'_, Bufs>, id: u32) -> Result<()> {
        let full = std::mem::take(&mut b.bufs[id as usize]);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        b.bufs[id as usize] = st.enqueue(id, full);
        self.after_enqueue(st)
    }

    /// Queues every partial buffer; returns the sequence number all of them are below.
    fn enqueue_partials(&self) -> u64 {
        let mut b = self.bufs.lock().unwrap_or_else(|e| e.into_inner());
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for id in 0..b.bufs.len() {
            if !b.bufs[id].is_empty() {
                let points = std::mem::take(&mut b.bufs[id]);
                b.bufs[id] = st.enqueue(id as u32, points);
            }
        }
        st.next_seq
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

    /// Called with the state lock after a buffer was queued: wakes or helps the encoder, and
    /// keeps pending memory bounded.
    fn after_enqueue(&self, st: MutexGuard<'_, State>) -> Result<()> {
        let backlog = st.queue.len();
        let pending = st.pending_bytes();
        drop(st);
        if backlog == WAKE_AT {
            self.wake.lock().unwrap_or_else(|e| e.into_inner()).work = true;
            self.wake_cv.notify_one();
        }
        if backlog >= HELP_AT {
            self.encode_one();
        }
        let soft = self.opts.max_pending_bytes;
        if pending >= soft * 4 {
            // The background thread cannot keep up: write here.
            self.write_out(false)?;
        } else if pending >= soft {
            self.wake.lock().unwrap_or_else(|e| e.into_inner()).kick = true;
            self.wake_cv.notify_one();
        }
        Ok(())
    }

    /// Encodes the oldest queued blocks (a few at a time, to take the lock less often) outside
    /// the state lock and commits what it can; false when nothing was queued.
    fn encode_one(&self) -> bool {
        const BATCH: usize = 4;
        let jobs: Vec<Job> = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let n = st.queue.len().min(BATCH);
            st.queue.drain(..n).collect()
        };
        if jobs.is_empty() {
            return false;
        }
        let encoded: Vec<(u64, Encoded)> = jobs
            .into_iter()
            .map(|job| {
                let mut record = Vec::with_capacity(job.points.len() * 4 + 256);
                let mut summary = None;
                record::append(&mut record, Kind::Block, |o| {
                    summary = Some(block::encode(job.series, &job.points, o));
                });
                let e = Encoded {
                    series: job.series,
                    record,
                    points: job.points,
                    summary: summary.expect("encode ran"),
                };
                (job.seq, e)
            })
            .collect();
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            for (seq, e) in encoded {
                st.commit(seq, e);
            }
        }
        self.committed.notify_all();
        true
    }

    /// Encodes queued blocks, helped by whoever else is encoding, until every job numbered
    /// below `target` is committed.
    fn drain_until(&self, target: u64) {
        loop {
            if self.encode_one() {
                continue;
            }
            let st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if st.next_commit >= target {
                return;
            }
            // The last jobs are being encoded by another thread.
            let _ = self
                .committed
                .wait_timeout(st, Duration::from_millis(10))
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Writes everything pending; with `sync`, first encodes partial buffers and ends with one
    /// `fdatasync`.
    fn write_out(&self, sync: bool) -> Result<()> {
        self.check()?;
        if sync {
            let target = self.enqueue_partials();
            self.drain_until(target);
        }
        let mut io = self.io.lock().unwrap_or_else(|e| e.into_inner());
        self.check()?;
        let (chunks, updates) = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let updates = if sync && self.opts.on_flush.is_some() {
                st.take_updates()
            } else {
                Vec::new()
            };
            (st.take(), updates)
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
        })?;
        if let Some(hook) = &self.opts.on_flush
            && !updates.is_empty()
        {
            (hook.0)(&updates);
        }
        Ok(())
    }

    /// The writer's thread: encodes queued blocks, writes pending bytes out when they pile up,
    /// and flushes every `flush_interval`.
    fn background(&self) {
        let interval = self.opts.flush_interval;
        let mut last = Instant::now();
        loop {
            let (kicked, due) = {
                let mut w = self.wake.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    if w.shutdown {
                        return;
                    }
                    let due = interval.is_some_and(|i| last.elapsed() >= i);
                    if w.kick || w.work || due {
                        break;
                    }
                    let wait = interval.map_or(Duration::from_secs(3600), |i| {
                        i.saturating_sub(last.elapsed())
                    });
                    w = self
                        .wake_cv
                        .wait_timeout(w, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                w.work = false;
                (
                    std::mem::take(&mut w.kick),
                    interval.is_some_and(|i| last.elapsed() >= i),
                )
            };
            while self.encode_one() {}
            if self.poisoned.load(Ordering::Acquire) {
                continue;
            }
            // Errors poison the writer; the next append or flush reports them.
            if due {
                let _ = self.write_out(true);
                last = Instant::now();
            } else if kicked {
                let _ = self.write_out(false);
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
fn recover(dir: &Path, opts: &WriterOptions) -> Result<(Bufs, State, Io)> {
    let segments = segment::list(dir)?;
    let mut keys: HashMap<u32, String> = HashMap::new();
    let mut state = State {
        series: Vec::new(),
        segment: 1,
        base: 0,
        pending: segment::header().to_vec(),
        chunks: Vec::new(),
        queue: Default::default(),
        next_seq: 0,
        next_commit: 0,
        done: Default::default(),
        spare: Vec::new(),
        segment_bytes: opts.segment_bytes.max(4096),
    };
    let mut bufs = Bufs {
        bufs: Vec::new(),
        keys: HashMap::new(),
        block_points: opts.block_points,
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
            bufs.keys.insert(key.clone(), id);
            bufs.bufs.push(Points::default());
            state.series.push(SeriesState {
                key,
                in_segment: false,
                fresh: None,
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
    Ok((bufs, state, io))
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
