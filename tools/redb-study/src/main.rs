//! Multi-process study of redb 4.6 for runlog's catalog.
//!
//! One binary, subcommands. Worker subcommands (`init`, `writer`, `reader`, `probe`, `build`,
//! `verify`) are spawned as real processes by the driver subcommands (`exp1` .. `exp5`).

use redb::{
    Builder, ConcurrencyMode, Database, Durability, ReadTransaction, ReadableDatabase,
    ReadableTable, TableDefinition,
};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const RUNS: TableDefinition<&str, &str> = TableDefinition::new("runs");
const PARAMS: TableDefinition<(&str, &str), &str> = TableDefinition::new("params");
const METRICS: TableDefinition<(&str, &str), (u64, f64)> = TableDefinition::new("metric_latest");
const PROGRESS: TableDefinition<&str, u64> = TableDefinition::new("progress");
const BLOB: TableDefinition<u64, &[u8]> = TableDefinition::new("blob");

/// Transactions per run: 1 (run row + 20 params) + 100 latest-metric updates
const PER_RUN: u64 = 101;
const NPARAMS: u64 = 20;
const METRIC_NAMES: [&str; 3] = ["acc", "loss", "lr"];

// ---------------------------------------------------------------- small helpers

fn now_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis()
}

struct Args(HashMap<String, String>);
impl Args {
    fn parse(v: &[String]) -> Args {
        let mut m = HashMap::new();
        let mut i = 0;
        while i < v.len() {
            let k = v[i].trim_start_matches("--").to_string();
            if i + 1 < v.len() && !v[i + 1].starts_with("--") {
                m.insert(k, v[i + 1].clone());
                i += 2;
            } else {
                m.insert(k, "1".into());
                i += 1;
            }
        }
        Args(m)
    }
    fn s(&self, k: &str, d: &str) -> String {
        self.0.get(k).cloned().unwrap_or_else(|| d.to_string())
    }
    fn u(&self, k: &str, d: u64) -> u64 {
        self.0.get(k).map(|x| x.parse().unwrap()).unwrap_or(d)
    }
    fn b(&self, k: &str) -> bool {
        self.0.get(k).map(|x| x != "0").unwrap_or(false)
    }
}

struct Rng(u64);
impl Rng {
    fn new() -> Rng {
        Rng(now_ms() as u64 ^ ((std::process::id() as u64) << 32) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn us(d: Duration) -> u64 {
    d.as_micros() as u64
}

/// Error kind: the variant name of redb::Error's Debug output
fn kind(e: &redb::Error) -> String {
    let s = format!("{e:?}");
    let k: String = s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    if k == "Io" || k == "Corrupted" {
        s.chars().take(120).collect()
    } else {
        k
    }
}

fn mode_of(s: &str) -> ConcurrencyMode {
    match s {
        "mw" => ConcurrencyMode::MultiWriter,
        "sw" => ConcurrencyMode::SingleWriter,
        "excl" => ConcurrencyMode::ExclusiveWriter,
        _ => panic!("mode {s}"),
    }
}

fn builder(mode: ConcurrencyMode) -> (Builder, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let mut b = Builder::new();
    b.set_concurrency_mode(mode);
    // small cache: the catalog is small, and 8 processes x 1 GiB default is silly
    b.set_cache_size(64 << 20);
    b.set_repair_callback(move |_s| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    (b, calls)
}

fn wkey(wid: u64) -> String {
    format!("w{wid:02}")
}
fn runkey(wid: u64, r: u64) -> String {
    format!("w{wid:02}/r{r:05}")
}

/// One catalog transaction of writer `wid` applying its updates number `s..s+batch` (1-based)
fn write_seq(db: &Database, wid: u64, s: u64, quick: bool, none: bool) -> Result<(), redb::Error> {
    write_batch(db, wid, s, 1, quick, none)
}

fn write_batch(
    db: &Database,
    wid: u64,
    s0: u64,
    batch: u64,
    quick: bool,
    none: bool,
) -> Result<(), redb::Error> {
    let mut txn = db.begin_write()?;
    if quick {
        txn.set_quick_repair(true);
    }
    if none {
        txn.set_durability(Durability::None)?;
    }
    {
        let mut runs = txn.open_table(RUNS)?;
        let mut params = txn.open_table(PARAMS)?;
        let mut m = txn.open_table(METRICS)?;
        for s in s0..s0 + batch {
            let r = (s - 1) / PER_RUN;
            let sub = (s - 1) % PER_RUN;
            let run = runkey(wid, r);
            if sub == 0 {
                runs.insert(run.as_str(), format!("seq={s}").as_str())?;
                for j in 0..NPARAMS {
                    let p = format!("p{j:02}");
                    params.insert((run.as_str(), p.as_str()), format!("v{s}-{j}").as_str())?;
                }
            } else {
                for name in METRIC_NAMES {
                    m.insert((run.as_str(), name), (sub, s as f64))?;
                }
            }
        }
        let mut p = txn.open_table(PROGRESS)?;
        p.insert(wkey(wid).as_str(), s0 + batch - 1)?;
    }
    txn.commit()?;
    Ok(())
}

fn read_progress(rtx: &ReadTransaction, wid: u64) -> Result<u64, redb::Error> {
    let t = rtx.open_table(PROGRESS)?;
    Ok(t.get(wkey(wid).as_str())?.map(|g| g.value()).unwrap_or(0))
}

#[derive(Default, Debug, Clone)]
struct Snap {
    runs: u64,
    params: u64,
    metrics: u64,
    txns: u64,
    writers: u64,
    progress: Vec<u64>,
}

/// Checks that a snapshot holds, for every writer, exactly the effects of transactions
/// 1..=progress and nothing else. Err(String) starting with "INCONSISTENT" on a mismatch.
fn check_snapshot(rtx: &ReadTransaction) -> Result<Result<Snap, String>, redb::Error> {
    let mut prog: BTreeMap<u64, u64> = BTreeMap::new();
    for e in rtx.open_table(PROGRESS)?.iter()? {
        let (k, v) = e?;
        prog.insert(k.value()[1..].parse().unwrap(), v.value());
    }
    // per writer: run index -> (row seq, params, metrics entries)
    let mut runs: BTreeMap<(u64, u64), (u64, u64, Vec<(u64, f64)>)> = BTreeMap::new();
    let parse = |k: &str| -> (u64, u64) {
        let (w, r) = k.split_once('/').unwrap();
        (w[1..].parse().unwrap(), r[1..].parse().unwrap())
    };
    let mut snap = Snap::default();
    for e in rtx.open_table(RUNS)?.iter()? {
        let (k, v) = e?;
        if !k.value().starts_with('w') {
            snap.runs += 1;
            continue; // a prefilled catalog's rows
        }
        let seq: u64 = v.value().trim_start_matches("seq=").parse().unwrap();
        runs.entry(parse(k.value())).or_default().0 = seq;
        snap.runs += 1;
    }
    for e in rtx.open_table(PARAMS)?.iter()? {
        let (k, _v) = e?;
        snap.params += 1;
        if !k.value().0.starts_with('w') {
            continue;
        }
        runs.entry(parse(k.value().0)).or_default().1 += 1;
    }
    for e in rtx.open_table(METRICS)?.iter()? {
        let (k, v) = e?;
        snap.metrics += 1;
        if !k.value().0.starts_with('w') {
            continue;
        }
        runs.entry(parse(k.value().0)).or_default().2.push(v.value());
    }
    snap.writers = prog.len() as u64;
    snap.txns = prog.values().sum();
    snap.progress = prog.values().copied().collect();
    // expected
    let mut expected: BTreeMap<(u64, u64), (u64, u64, Vec<(u64, f64)>)> = BTreeMap::new();
    for (&w, &n) in &prog {
        if n == 0 {
            continue;
        }
        let nruns = (n - 1) / PER_RUN + 1;
        for r in 0..nruns {
            let first = r * PER_RUN + 1;
            let last = (first + PER_RUN - 1).min(n);
            let sub = last - first;
            let m = if sub == 0 { vec![] } else { vec![(sub, last as f64); 3] };
            expected.insert((w, r), (first, NPARAMS, m));
        }
    }
    if expected != runs {
        let diff: Vec<String> = expected
            .iter()
            .filter(|(k, v)| runs.get(k) != Some(v))
            .map(|(k, v)| format!("{k:?} want {v:?} got {:?}", runs.get(k)))
            .chain(
                runs.iter()
                    .filter(|(k, _)| !expected.contains_key(k))
                    .map(|(k, v)| format!("{k:?} unexpected {v:?}")),
            )
            .take(3)
            .collect();
        return Ok(Err(format!("INCONSISTENT progress={prog:?} {diff:?}")));
    }
    Ok(Ok(snap))
}

fn append_line(path: &Path, line: &str) {
    let mut f = OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(line.as_bytes()).unwrap();
}

fn last_logged(path: &Path) -> u64 {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
}

// ---------------------------------------------------------------- worker subcommands

fn cmd_init(a: &Args) {
    let path = PathBuf::from(a.s("db", ""));
    let (b, _) = builder(mode_of(&a.s("mode", "mw")));
    let db = b.create(&path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        txn.open_table(RUNS).unwrap();
        txn.open_table(PARAMS).unwrap();
        txn.open_table(METRICS).unwrap();
        txn.open_table(PROGRESS).unwrap();
        let mut blob = txn.open_table(BLOB).unwrap();
        let mb = a.u("prefill-mb", 0);
        let chunk = vec![0xabu8; 3900];
        for i in 0..mb * 1_000_000 / 3900 {
            blob.insert(i, chunk.as_slice()).unwrap();
        }
    }
    txn.commit().unwrap();
    db.close().unwrap();
    let len = fs::metadata(&path).unwrap().len();
    println!("INIT len={len}");
}

/// Opens writable with retries; returns (db, open time, repair calls, failed attempts by kind)
fn open_rw(
    path: &Path,
    mode: ConcurrencyMode,
    errs: &mut BTreeMap<String, u64>,
) -> (Database, Duration, usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (b, calls) = builder(mode);
        let t = Instant::now();
        match b.open(path) {
            Ok(db) => return (db, t.elapsed(), calls.load(Ordering::SeqCst)),
            Err(e) => {
                *errs.entry(format!("open:{}", kind(&e.into()))).or_default() += 1;
                if Instant::now() > deadline {
                    panic!("open never succeeded: {errs:?}");
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

fn cmd_writer(a: &Args) {
    let path = PathBuf::from(a.s("db", ""));
    let proto = a.s("proto", "mw"); // mw | sw | flock
    let wid = a.u("id", 0);
    let txns = a.u("txns", u64::MAX);
    let max_secs = a.u("max-secs", 50);
    let quick = a.b("quick");
    let none = a.b("none");
    let per_open = a.u("per-open", 1);
    let stop = PathBuf::from(a.s("stop", "/nonexistent"));
    let log = PathBuf::from(a.s("log", "/dev/null"));
    let latf = a.s("lat", "");
    let start = Instant::now();
    let mut errs: BTreeMap<String, u64> = BTreeMap::new();
    let mut lat = Vec::new();
    let mut opens = Vec::new();
    let mut commits_t = Vec::new();
    let mut closes = Vec::new();
    let mut waits = Vec::new();
    let logged = last_logged(&log);
    let mut done = 0u64;

    if proto == "mw" || proto == "sw" {
        let mode = mode_of(&proto);
        let (db, od, calls) = open_rw(&path, mode, &mut errs);
        let mut s = read_progress(&db.begin_read().unwrap(), wid).unwrap();
        println!(
            "OPEN wid={wid} open_us={} repair_calls={calls} db_progress={s} last_logged={logged} ok={} open_errs={errs:?}",
            us(od),
            s >= logged
        );
        std::io::stdout().flush().unwrap();
        let batch = a.u("batch", 1);
        while done < txns && !stop.exists() && start.elapsed().as_secs() < max_secs {
            let s0 = s + 1;
            s += batch;
            let t = Instant::now();
            let mut tries = 0;
            loop {
                match write_batch(&db, wid, s0, batch, quick, none) {
                    Ok(()) => break,
                    Err(e) => {
                        *errs.entry(kind(&e)).or_default() += 1;
                        tries += 1;
                        if tries > 1000 {
                            panic!("giving up: {errs:?}");
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                }
            }
            lat.push(us(t.elapsed()));
            append_line(&log, &format!("{s}\n"));
            done += batch;
        }
        let t = Instant::now();
        if let Err(e) = db.close() {
            *errs.entry(format!("close:{}", kind(&e.into()))).or_default() += 1;
        }
        closes.push(us(t.elapsed()));
    } else if proto == "flock" {
        let lockf = File::create(format!("{}.lock", path.display())).unwrap();
        let mut s = u64::MAX;
        while done < txns && !stop.exists() && start.elapsed().as_secs() < max_secs {
            let t = Instant::now();
            lockf.lock().unwrap();
            waits.push(us(t.elapsed()));
            let (db, od, calls) = open_rw(&path, ConcurrencyMode::ExclusiveWriter, &mut errs);
            opens.push(us(od));
            if calls > 0 {
                *errs.entry("repair_on_open".into()).or_default() += 1;
            }
            if s == u64::MAX {
                s = read_progress(&db.begin_read().unwrap(), wid).unwrap();
                println!(
                    "OPEN wid={wid} open_us={} repair_calls={calls} db_progress={s} last_logged={logged} ok={}",
                    us(od),
                    s >= logged
                );
                std::io::stdout().flush().unwrap();
            }
            let mut batch = Vec::new();
            for _ in 0..per_open {
                s += 1;
                let tc = Instant::now();
                if let Err(e) = write_seq(&db, wid, s, quick, none) {
                    *errs.entry(kind(&e)).or_default() += 1;
                    panic!("flock commit failed {errs:?}");
                }
                commits_t.push(us(tc.elapsed()));
                batch.push(s);
            }
            let tcl = Instant::now();
            if let Err(e) = db.close() {
                *errs.entry(format!("close:{}", kind(&e.into()))).or_default() += 1;
            }
            closes.push(us(tcl.elapsed()));
            lockf.unlock().unwrap();
            let l = us(t.elapsed());
            for b in batch {
                lat.push(l);
                append_line(&log, &format!("{b}\n"));
                done += 1;
            }
        }
    }
    let el = start.elapsed().as_secs_f64();
    if !latf.is_empty() {
        let txt: String = lat.iter().map(|x| format!("{x}\n")).collect();
        fs::write(&latf, txt).unwrap();
    }
    let mut sl = lat.clone();
    sl.sort();
    let st = |v: &mut Vec<u64>| {
        v.sort();
        format!("{}/{}/{}", pct(v, 0.5), pct(v, 0.99), v.last().copied().unwrap_or(0))
    };
    println!(
        "SUMMARY wid={wid} proto={proto} commits={done} secs={el:.3} cps={:.1} p50_us={} p99_us={} max_us={} errs={errs:?} open_us_p50/p99/max={} commit_us={} close_us={} lockwait_us={}",
        done as f64 / el,
        pct(&sl, 0.5),
        pct(&sl, 0.99),
        sl.last().copied().unwrap_or(0),
        st(&mut opens),
        st(&mut commits_t),
        st(&mut closes),
        st(&mut waits)
    );
}

enum RHandle {
    Ro(redb::ReadOnlyDatabase),
}

fn cmd_reader(a: &Args) {
    let path = PathBuf::from(a.s("db", ""));
    let proto = a.s("proto", "mw");
    let reopen = a.b("reopen");
    let fallback = a.b("fallback-repair");
    let stop = PathBuf::from(a.s("stop", "/nonexistent"));
    let max_secs = a.u("max-secs", 50);
    let interval = a.u("interval-ms", 2);
    let rid = a.u("id", 0);
    let start = Instant::now();
    let mut errs: BTreeMap<String, u64> = BTreeMap::new();
    let mut lat = Vec::new();
    let mut opens = Vec::new();
    let mut ok = 0u64;
    let mut inconsistent = 0u64;
    let mut first_inconsistent = String::new();
    let mut last_txns = 0u64;
    let mut went_back = 0u64;
    let mut last_outcome = String::new();
    let mut handle: Option<RHandle> = None;
    let mut fallback_repairs: Vec<u64> = Vec::new();
    let lockf = if proto == "flock" {
        Some(File::create(format!("{}.lock", path.display())).unwrap())
    } else {
        None
    };
    let mode = if proto == "flock" { ConcurrencyMode::ExclusiveWriter } else { mode_of(&proto) };
    let mut last_snap = Snap::default();
    while !stop.exists() && start.elapsed().as_secs() < max_secs {
        let t = Instant::now();
        if let Some(l) = &lockf {
            l.lock_shared().unwrap();
        }
        let outcome: Result<Snap, String> = (|| {
            if handle.is_none() || reopen || lockf.is_some() {
                handle = None;
                let (b, _) = builder(mode);
                let to = Instant::now();
                let mut r = b.open_read_only(&path);
                if fallback && matches!(r, Err(redb::DatabaseError::RepairAborted)) {
                    // the recommended reader protocol: a writable open (same mode) recovers the
                    // file a dead writer left, then read-only again
                    let (b2, _) = builder(mode);
                    let tf = Instant::now();
                    match b2.open(&path) {
                        Ok(db) => {
                            drop(db);
                            fallback_repairs.push(us(tf.elapsed()));
                        }
                        Err(e) => return Err(format!("fallback-open:{}", kind(&e.into()))),
                    }
                    r = b.open_read_only(&path);
                }
                match r {
                    Ok(h) => {
                        opens.push(us(to.elapsed()));
                        handle = Some(RHandle::Ro(h));
                    }
                    Err(e) => return Err(format!("open:{}", kind(&e.into()))),
                }
            }
            let RHandle::Ro(h) = handle.as_ref().unwrap();
            let rtx = h.begin_read().map_err(|e| format!("begin_read:{}", kind(&e.into())))?;
            match check_snapshot(&rtx) {
                Ok(Ok(s)) => Ok(s),
                Ok(Err(msg)) => Err(msg),
                Err(e) => Err(format!("read:{}", kind(&e))),
            }
        })();
        if lockf.is_some() {
            handle = None;
            lockf.as_ref().unwrap().unlock().unwrap();
        }
        let o = match outcome {
            Ok(s) => {
                lat.push(us(t.elapsed()));
                ok += 1;
                if s.txns < last_txns {
                    went_back += 1;
                }
                last_txns = s.txns;
                last_snap = s;
                "ok".to_string()
            }
            Err(m) if m.starts_with("INCONSISTENT") => {
                inconsistent += 1;
                if first_inconsistent.is_empty() {
                    first_inconsistent = m.clone();
                }
                "INCONSISTENT".to_string()
            }
            Err(m) => {
                *errs.entry(m.clone()).or_default() += 1;
                m
            }
        };
        if o != last_outcome {
            println!("TRANS rid={rid} t={} outcome={o}", now_ms());
            std::io::stdout().flush().unwrap();
            last_outcome = o;
        }
        std::thread::sleep(Duration::from_millis(interval));
    }
    lat.sort();
    opens.sort();
    fallback_repairs.sort();
    println!(
        "RSUMMARY rid={rid} proto={proto} reopen={reopen} fallback_repairs={} fallback_p50/max_us={}/{} polls_ok={ok} p50_us={} p99_us={} open_p50_us={} errs={errs:?} inconsistent={inconsistent} went_back={went_back} last={last_snap:?} {}",
        fallback_repairs.len(),
        pct(&fallback_repairs, 0.5),
        fallback_repairs.last().copied().unwrap_or(0),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        pct(&opens, 0.5),
        first_inconsistent
    );
}

/// One open attempt; prints what happened
fn cmd_probe(a: &Args) {
    let path = PathBuf::from(a.s("db", ""));
    let mode = mode_of(&a.s("mode", "mw"));
    let rw = a.s("kind", "ro") == "rw";
    let scan = a.b("scan");
    if a.b("fadvise") {
        // evict this file's clean pages from the page cache (cold-ish open), file-local
        let f = File::open(&path).unwrap();
        use std::os::fd::AsRawFd;
        unsafe {
            libc::fsync(f.as_raw_fd());
            libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        }
    }
    let (b, calls) = builder(mode);
    let t = Instant::now();
    let res: Result<Box<dyn Fn() -> Result<ReadTransaction, redb::Error>>, redb::Error> = if rw {
        b.open(&path).map(|db| {
            let db = Arc::new(db);
            Box::new(move || db.begin_read().map_err(Into::into)) as Box<dyn Fn() -> _>
        })
    } else {
        b.open_read_only(&path).map(|db| {
            Box::new(move || db.begin_read().map_err(Into::into)) as Box<dyn Fn() -> _>
        })
    }
    .map_err(Into::into);
    let od = t.elapsed();
    match res {
        Err(e) => println!(
            "PROBE kind={} result=ERR:{} open_us={} repair_calls={}",
            if rw { "rw" } else { "ro" },
            kind(&e),
            us(od),
            calls.load(Ordering::SeqCst)
        ),
        Ok(begin) => {
            let extra;
            if scan {
                let t = Instant::now();
                let rtx = begin().unwrap();
                let mut n = 0u64;
                for e in rtx.open_table(RUNS).unwrap().iter().unwrap() {
                    let (k, v) = e.unwrap();
                    n += (k.value().len() + v.value().len()) as u64 * 0 + 1;
                }
                let d1 = t.elapsed();
                let t = Instant::now();
                let mut np = 0u64;
                for e in rtx.open_table(PARAMS).unwrap().iter().unwrap() {
                    let (_k, _v) = e.unwrap();
                    np += 1;
                }
                let d2 = t.elapsed();
                let t = Instant::now();
                let rtx2 = begin().unwrap();
                let mut n2 = 0u64;
                for e in rtx2.open_table(RUNS).unwrap().iter().unwrap() {
                    e.unwrap();
                    n2 += 1;
                }
                let d3 = t.elapsed();
                extra = format!(
                    "scan_runs_rows={n} scan_runs_us={} scan_params_rows={np} scan_params_us={} rescan_runs_us={} (n2={n2})",
                    us(d1),
                    us(d2),
                    us(d3)
                );
            } else {
                let rtx = begin().unwrap();
                match check_snapshot(&rtx) {
                    Ok(Ok(s)) => extra = format!("consistent {s:?}"),
                    Ok(Err(m)) => extra = m,
                    Err(e) => extra = format!("read error {}", kind(&e)),
                }
            }
            println!(
                "PROBE kind={} result=OK open_us={} repair_calls={} {extra}",
                if rw { "rw" } else { "ro" },
                us(od),
                calls.load(Ordering::SeqCst)
            );
        }
    }
}

/// Builds a catalog of N runs x 20 params (+ metrics) in batches
fn cmd_build(a: &Args) {
    let path = PathBuf::from(a.s("db", ""));
    let n = a.u("runs", 10000);
    let (b, _) = builder(mode_of(&a.s("mode", "mw")));
    let db = b.create(&path).unwrap();
    let t = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let txn = db.begin_write().unwrap();
        {
            let mut runs = txn.open_table(RUNS).unwrap();
            let mut params = txn.open_table(PARAMS).unwrap();
            let mut metrics = txn.open_table(METRICS).unwrap();
            txn.open_table(PROGRESS).unwrap();
            for &r in chunk {
                let run = format!("exp{:03}/run-{r:06}-0123456789abcdef", r % 50);
                let row = format!(
                    "{{\"status\":\"FINISHED\",\"start\":1700000000{r},\"end\":1700003600{r},\"user\":\"alice\",\"name\":\"sweep-{r}\"}}"
                );
                runs.insert(run.as_str(), row.as_str()).unwrap();
                for j in 0..NPARAMS {
                    let p = format!("param_name_{j:02}");
                    params
                        .insert((run.as_str(), p.as_str()), format!("value-{r}-{j}-xxxxxxxx").as_str())
                        .unwrap();
                }
                for m in METRIC_NAMES {
                    metrics.insert((run.as_str(), m), (1000u64, r as f64 * 0.001)).unwrap();
                }
            }
        }
        txn.commit().unwrap();
    }
    let mb = a.u("prefill-mb", 0);
    if mb > 0 {
        let txn = db.begin_write().unwrap();
        {
            let mut blob = txn.open_table(BLOB).unwrap();
            let chunk = vec![0xabu8; 3900];
            for i in 0..mb * 1_000_000 / 3900 {
                blob.insert(i, chunk.as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
    }
    db.close().unwrap();
    println!(
        "BUILD runs={n} secs={:.2} len={}",
        t.elapsed().as_secs_f64(),
        fs::metadata(&path).unwrap().len()
    );
}

// ---------------------------------------------------------------- driver helpers

fn exe() -> PathBuf {
    std::env::current_exe().unwrap()
}

fn spawn(args: &[String]) -> Child {
    Command::new(exe())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn run(args: &[String]) -> String {
    let o = Command::new(exe()).args(args).output().unwrap();
    let mut s = String::from_utf8_lossy(&o.stdout).to_string();
    if !o.status.success() {
        s += &format!("\n[exit {:?}] {}", o.status, String::from_utf8_lossy(&o.stderr));
    }
    s
}

fn collect(mut c: Child) -> String {
    let st = c.wait().unwrap();
    let mut s = String::new();
    c.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    let mut e = String::new();
    c.stderr.take().unwrap().read_to_string(&mut e).unwrap();
    if !st.success() {
        s += &format!("[exit {st:?}] {}", e.lines().take(5).collect::<Vec<_>>().join(" | "));
    }
    s
}

fn kill9(mut c: Child) -> String {
    c.kill().unwrap(); // SIGKILL on unix
    collect(c)
}

fn sv(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn field(line: &str, key: &str) -> Option<String> {
    line.split_whitespace()
        .find_map(|t| t.strip_prefix(&format!("{key}=")).map(|s| s.to_string()))
}

/// "k=v,k2=v2" -> --k v --k2 v2 (a value starting with "--" would be taken as a flag here)
fn parse_extra(a: &Args) -> Vec<String> {
    a.s("writer-extra", "")
        .split(',')
        .filter(|x| !x.is_empty())
        .flat_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, "1"));
            [format!("--{k}"), v.to_string()]
        })
        .collect()
}

fn fresh_dir(a: &Args, name: &str) -> PathBuf {
    let d = PathBuf::from(a.s("dir", "/tmp/redb-study/work")).join(name);
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

// ---------------------------------------------------------------- experiments

/// 1 and 5: N writers x (runs x 101 txns) + readers, one protocol
fn exp_throughput(a: &Args) {
    let proto = a.s("proto", "mw");
    let nw = a.u("writers", 8);
    let nr = a.u("readers", 2);
    let runs = a.u("runs", 5);
    let extra = parse_extra(a);
    let d = fresh_dir(a, &format!("tp-{proto}-{nw}w{}", a.s("tag", "")));
    let db = d.join("catalog.redb").display().to_string();
    let stop = d.join("stop").display().to_string();
    let initmode = if proto == "flock" { "excl" } else { proto.as_str() };
    let from = a.s("from", "");
    if from.is_empty() {
        print!("{}", run(&sv(&["init", "--db", &db, "--mode", initmode])));
    } else {
        fs::copy(&from, &db).unwrap();
    }
    let readers: Vec<Child> = (0..nr)
        .map(|i| {
            let mut v = sv(&["reader", "--db", &db, "--proto", &proto, "--stop", &stop, "--id", &i.to_string()]);
            if i % 2 == 1 {
                v.push("--reopen".into());
            }
            spawn(&v)
        })
        .collect();
    let t = Instant::now();
    let writers: Vec<Child> = (0..nw)
        .map(|i| {
            let mut v = sv(&[
                "writer", "--db", &db, "--proto", &proto, "--id", &i.to_string(),
                "--txns", &(runs * PER_RUN).to_string(),
                "--lat", &d.join(format!("lat{i}")).display().to_string(),
                "--log", &d.join(format!("log{i}")).display().to_string(),
            ]);
            v.extend(extra.iter().cloned());
            spawn(&v)
        })
        .collect();
    let mut total = 0u64;
    for w in writers {
        let out = collect(w);
        for l in out.lines().filter(|l| l.starts_with("SUMMARY") || l.contains("[exit")) {
            println!("  {l}");
            total += field(l, "commits").and_then(|x| x.parse().ok()).unwrap_or(0);
        }
    }
    let wall = t.elapsed().as_secs_f64();
    fs::write(&stop, "").unwrap();
    for r in readers {
        let out = collect(r);
        let trans = out.lines().filter(|l| l.starts_with("TRANS")).count();
        for l in out.lines().filter(|l| l.starts_with("RSUMMARY") || l.contains("[exit")) {
            println!("  {l} transitions={trans}");
        }
    }
    let mut all: Vec<u64> = (0..nw)
        .flat_map(|i| {
            fs::read_to_string(d.join(format!("lat{i}")))
                .unwrap_or_default()
                .lines()
                .map(|x| x.parse::<u64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    all.sort();
    println!(
        "RESULT proto={proto} writers={nw} readers={nr} commits={total} wall_s={wall:.2} overall_cps={:.0} lat_p50_us={} lat_p99_us={} lat_max_us={}",
        total as f64 / wall,
        pct(&all, 0.5),
        pct(&all, 0.99),
        all.last().copied().unwrap_or(0)
    );
    let vmode = if proto == "flock" { "excl" } else { "mw" };
    let _ = vmode;
    // final verification in a fresh process (ExclusiveWriter for flock, the same mode otherwise)
    print!("  final: {}", run(&sv(&["probe", "--db", &db, "--mode", initmode, "--kind", "ro"])));
    println!("  file_len={}", fs::metadata(&db).unwrap().len());
}

/// 2: kill -9 writers at random moments while others write and readers poll
fn exp_kill(a: &Args) {
    let proto = a.s("proto", "mw");
    let nw = a.u("writers", 4);
    let nr = a.u("readers", 2);
    let cycles = a.u("cycles", 30);
    let d = fresh_dir(a, &format!("kill-{proto}{}", a.s("tag", "")));
    let db = d.join("catalog.redb").display().to_string();
    let stop = d.join("stop").display().to_string();
    let initmode = if proto == "flock" { "excl" } else { "mw" };
    print!("{}", run(&sv(&["init", "--db", &db, "--mode", initmode])));
    let readers: Vec<Child> = (0..nr)
        .map(|i| {
            let mut v = sv(&["reader", "--db", &db, "--proto", &proto, "--stop", &stop, "--id", &i.to_string()]);
            if i % 2 == 1 {
                v.push("--reopen".into());
            }
            if a.b("fallback") {
                v.push("--fallback-repair".into());
            }
            spawn(&v)
        })
        .collect();
    let extra = parse_extra(a);
    let wargs = |i: u64| {
        let mut v = sv(&[
            "writer", "--db", &db, "--proto", &proto, "--id", &i.to_string(), "--stop", &stop,
            "--log", &d.join(format!("log{i}")).display().to_string(),
        ]);
        v.extend(extra.iter().cloned());
        v
    };
    let mut writers: Vec<Option<Child>> = (0..nw).map(|i| Some(spawn(&wargs(i)))).collect();
    let mut rng = Rng::new();
    let mut open_lines: Vec<String> = Vec::new();
    let mut killed_summaries = 0;
    let mut at_kill: BTreeMap<String, u64> = BTreeMap::new();
    let (slo, shi) = (a.u("sleep-lo", 30), a.u("sleep-hi", 400));
    for _c in 0..cycles {
        std::thread::sleep(Duration::from_millis(rng.range(slo, shi)));
        let i = rng.range(0, nw) as usize;
        let victim = writers[i].take().unwrap();
        // what the victim is doing at the moment of the kill (syscall number, or "running")
        let sc = fs::read_to_string(format!("/proc/{}/syscall", victim.id())).unwrap_or_default();
        let sc = match sc.split_whitespace().next().unwrap_or("?") {
            "72" => "fcntl(lock wait)".to_string(),
            "74" => "fsync".to_string(),
            "75" => "fdatasync".to_string(),
            "18" => "pwrite".to_string(),
            "17" => "pread".to_string(),
            "1" => "write".to_string(),
            "35" | "230" => "sleep".to_string(),
            "202" => "futex".to_string(),
            "running" => "running(user)".to_string(),
            x => format!("sys{x}"),
        };
        *at_kill.entry(sc).or_insert(0u64) += 1;
        let out = kill9(victim);
        open_lines.extend(out.lines().filter(|l| l.starts_with("OPEN")).map(String::from));
        killed_summaries += out.lines().filter(|l| l.starts_with("SUMMARY")).count();
        writers[i] = Some(spawn(&wargs(i as u64)));
    }
    std::thread::sleep(Duration::from_millis(300));
    fs::write(&stop, "").unwrap();
    for w in writers.into_iter() {
        let out = collect(w.unwrap());
        for l in out.lines() {
            if l.starts_with("SUMMARY") || l.contains("[exit") {
                println!("  {l}");
            }
        }
        open_lines.extend(out.lines().filter(|l| l.starts_with("OPEN")).map(String::from));
    }
    for r in readers {
        let out = collect(r);
        for l in out.lines().filter(|l| l.starts_with("RSUMMARY") || l.contains("[exit")) {
            println!("  {l}");
        }
    }
    // every incarnation's open: time, repair callback calls, acknowledged-vs-db check
    let mut ous: Vec<u64> = open_lines.iter().filter_map(|l| field(l, "open_us")?.parse().ok()).collect();
    ous.sort();
    let repairs = open_lines.iter().filter(|l| field(l, "repair_calls").as_deref() != Some("0")).count();
    let bad: Vec<&String> = open_lines.iter().filter(|l| !l.contains("ok=true")).collect();
    let ahead = open_lines
        .iter()
        .filter(|l| field(l, "db_progress") != field(l, "last_logged"))
        .count();
    println!(
        "  incarnations={} (killed={cycles}, killed ones that printed SUMMARY={killed_summaries}) open_us p50={} p99={} max={} opens_with_repair_callback={repairs} db_ahead_of_log_by_1={ahead} log_db_violations={}",
        open_lines.len(), pct(&ous, 0.5), pct(&ous, 0.99), ous.last().copied().unwrap_or(0), bad.len()
    );
    println!("  victim state at kill: {at_kill:?}");
    for b in bad.iter().take(5) {
        println!("  VIOLATION {b}");
    }
    let fin = run(&sv(&["probe", "--db", &db, "--mode", initmode, "--kind", "ro"]));
    print!("  final ro probe: {fin}");
    let logs: Vec<u64> = (0..nw).map(|i| last_logged(&d.join(format!("log{i}")))).collect();
    println!("  last acknowledged per writer (logs): {logs:?}");

    // phase B: every writer killed at once, nobody left holding the file
    if proto != "flock" {
        let _ = fs::remove_file(&stop);
        let ws: Vec<Child> = (0..nw).map(|i| spawn(&wargs(i))).collect();
        std::thread::sleep(Duration::from_millis(400));
        for w in ws {
            kill9(w);
        }
        for step in ["ro", "ro", "rw", "ro"] {
            print!("  all-killed {step}: {}", run(&sv(&["probe", "--db", &db, "--mode", initmode, "--kind", step])));
        }
        let logs: Vec<u64> = (0..nw).map(|i| last_logged(&d.join(format!("log{i}")))).collect();
        println!("  last acknowledged per writer (logs): {logs:?}");
    }
}

/// 3: SingleWriter + open_read_only readers, the single writer killed
fn exp_sw(a: &Args) {
    let quick = a.b("quick");
    let mb = a.u("prefill-mb", 0);
    let cycles = a.u("cycles", 5);
    let d = fresh_dir(a, &format!("sw-q{}-{mb}mb", quick as u8));
    let db = d.join("catalog.redb").display().to_string();
    let stop = d.join("stop").display().to_string();
    let t0 = now_ms();
    let ev = |m: String| println!("  [t={:>6}ms] {m}", now_ms() - t0);
    print!("{}", run(&sv(&["init", "--db", &db, "--mode", "sw", "--prefill-mb", &mb.to_string()])));
    let readers: Vec<Child> = (0..2)
        .map(|i| {
            let mut v = sv(&["reader", "--db", &db, "--proto", "sw", "--stop", &stop, "--id", &i.to_string(), "--interval-ms", "5"]);
            if i == 1 {
                v.push("--reopen".into());
            }
            spawn(&v)
        })
        .collect();
    let mut wargs = sv(&["writer", "--db", &db, "--proto", "sw", "--id", "0", "--stop", &stop, "--log", &d.join("log0").display().to_string()]);
    if quick {
        wargs.push("--quick".into());
    }
    let mut w = spawn(&wargs);
    for c in 0..cycles {
        std::thread::sleep(Duration::from_millis(600));
        if c == 0 {
            ev(format!("second SingleWriter rw open while writer live: {}", run(&sv(&["probe", "--db", &db, "--mode", "sw", "--kind", "rw"])).trim()));
            ev(format!("MultiWriter rw open while SW writer live: {}", run(&sv(&["probe", "--db", &db, "--mode", "mw", "--kind", "rw"])).trim()));
            ev(format!("ExclusiveWriter ro open while SW writer live: {}", run(&sv(&["probe", "--db", &db, "--mode", "excl", "--kind", "ro"])).trim()));
        }
        let sc = fs::read_to_string(format!("/proc/{}/syscall", w.id())).unwrap_or_default();
        let out = kill9(w);
        ev(format!(
            "cycle {c}: killed writer (syscall at kill: {}); its {}",
            sc.split_whitespace().next().unwrap_or("?"),
            out.lines().find(|l| l.starts_with("OPEN")).unwrap_or("no OPEN line")
        ));
        std::thread::sleep(Duration::from_millis(300));
        ev(format!("ro open with writer dead: {}", run(&sv(&["probe", "--db", &db, "--mode", "sw", "--kind", "ro"])).trim()));
        w = spawn(&wargs);
        ev("respawned writer".into());
    }
    std::thread::sleep(Duration::from_millis(600));
    fs::write(&stop, "").unwrap();
    let out = collect(w);
    for l in out.lines().filter(|l| l.starts_with("OPEN") || l.starts_with("SUMMARY")) {
        ev(format!("last writer: {}", &l[..l.len().min(250)]));
    }
    for r in readers {
        let out = collect(r);
        for l in out.lines() {
            if let Some(t) = field(l, "t") {
                let t: u128 = t.parse().unwrap();
                println!("  [t={:>6}ms] reader {} -> {}", t - t0, field(l, "rid").unwrap(), field(l, "outcome").unwrap());
            } else if l.starts_with("RSUMMARY") || l.contains("[exit") {
                println!("  {}", &l[..l.len().min(330)]);
            }
        }
    }
    print!("  final: {}", run(&sv(&["probe", "--db", &db, "--mode", "sw", "--kind", "ro"])));
    println!("  last acknowledged: {}", last_logged(&d.join("log0")));
}

fn wait_timeout(mut c: Child, ms: u64) -> Option<String> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(ms) {
        if c.try_wait().unwrap().is_some() {
            return Some(collect(c));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    kill9(c);
    None
}

fn progress_of(out: &str) -> Vec<u64> {
    out.split("progress: [")
        .nth(1)
        .map(|x| x.split(']').next().unwrap().split(", ").filter_map(|v| v.parse().ok()).collect())
        .unwrap_or_default()
}

/// A writer SIGSTOPped (not killed) at random moments: does it stall the others?
fn exp_stop(a: &Args) {
    let cycles = a.u("cycles", 15);
    let d = fresh_dir(a, "stop");
    let db = d.join("catalog.redb").display().to_string();
    let stop = d.join("stop").display().to_string();
    print!("{}", run(&sv(&["init", "--db", &db, "--mode", "mw"])));
    let reader = spawn(&sv(&["reader", "--db", &db, "--proto", "mw", "--stop", &stop, "--id", "0"]));
    let ws: Vec<Child> = (0..2)
        .map(|i| spawn(&sv(&["writer", "--db", &db, "--proto", "mw", "--id", &i.to_string(), "--stop", &stop])))
        .collect();
    let mut rng = Rng::new();
    let mut stalls = 0;
    let mut probe_blocked = 0;
    let mut ro_open_blocked = 0;
    for c in 0..cycles {
        std::thread::sleep(Duration::from_millis(rng.range(50, 200)));
        let pid = ws[0].id() as i32;
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        std::thread::sleep(Duration::from_millis(20));
        let sc = fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        let p1 = wait_timeout(spawn(&sv(&["probe", "--db", &db, "--mode", "mw", "--kind", "ro"])), 2000);
        std::thread::sleep(Duration::from_millis(300));
        let p2 = wait_timeout(spawn(&sv(&["probe", "--db", &db, "--mode", "mw", "--kind", "ro"])), 2000);
        // a writable open of a new process while w0 is stopped
        let t = Instant::now();
        let rw = wait_timeout(spawn(&sv(&["probe", "--db", &db, "--mode", "mw", "--kind", "rw"])), 1000);
        let rwt = t.elapsed();
        let (a1, a2) = (p1.as_deref().map(progress_of), p2.as_deref().map(progress_of));
        let stalled = matches!((&a1, &a2), (Some(x), Some(y)) if x.len() == 2 && y.len() == 2 && x[1] == y[1]);
        if a1.is_none() || a2.is_none() {
            probe_blocked += 1;
        }
        if rw.is_none() {
            ro_open_blocked += 1;
        }
        stalls += stalled as u32;
        println!(
            "  cycle {c}: w0 stopped in syscall {:?}; w1 progress {:?} -> {:?} stalled={stalled}; new rw open {}",
            sc.split_whitespace().next().unwrap_or("?"),
            a1.map(|v| v.get(1).copied()),
            a2.map(|v| v.get(1).copied()),
            if rw.is_some() { format!("ok in {} ms", rwt.as_millis()) } else { "BLOCKED >1 s".into() }
        );
        unsafe { libc::kill(pid, libc::SIGCONT) };
    }
    fs::write(&stop, "").unwrap();
    for w in ws {
        let out = collect(w);
        for l in out.lines().filter(|l| l.starts_with("SUMMARY")) {
            println!("  {}", &l[..l.len().min(250)]);
        }
    }
    let out = collect(reader);
    for l in out.lines().filter(|l| l.starts_with("RSUMMARY")) {
        println!("  {}", &l[..l.len().min(250)]);
    }
    println!("  STOP RESULT cycles={cycles} w1_stalled={stalls} ro_probe_blocked={probe_blocked} rw_open_blocked={ro_open_blocked}");
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let a = Args::parse(&argv[2..]);
    match argv[1].as_str() {
        "init" => cmd_init(&a),
        "writer" => cmd_writer(&a),
        "reader" => cmd_reader(&a),
        "probe" => cmd_probe(&a),
        "build" => cmd_build(&a),
        "tp" => exp_throughput(&a),
        "kill" => exp_kill(&a),
        "sw" => exp_sw(&a),
        "stopx" => exp_stop(&a),
        c => panic!("unknown {c}"),
    }
}
