//! Several processes on one store through the facade (`Store`, `Run`): concurrent trainers and
//! readers, a trainer killed mid-run, a catalog writer killed at random moments, a second
//! writer refused, and a new store created by several processes at once.
//!
//! As in `processes.rs` and `crash.rs`, the test binary re-executes itself: `RUNLOG_MP_ROLE`
//! names what the child does (`writer`, `reader`, `catalog`, `resume`, `refused`, `create`), so
//! no extra binaries are needed. Children print one line per fact the parent checks (`RUN`,
//! `FLUSHED`, `ACK`, ...).
//!
//! Knobs: `RUNLOG_MP_POINTS` (points per writer, default 100 000), `RUNLOG_MP_WRITERS` (8),
//! `RUNLOG_MP_READERS` (2), `RUNLOG_MP_PAUSE_MS` (pause between a writer's 20 chunks, 60),
//! `RUNLOG_CATALOG_KILL_CYCLES` (30), `RUNLOG_MP_CREATE_ROUNDS` (3), `RUNLOG_MP_SEED`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use runlog::catalog::{Catalog, CatalogError, now_ms, random_run_id};
use runlog::{LatestMetric, LifecycleStage, NewRun, Points, RunStatus, Store, ViewType};
use runlog_workloads::SplitMix64;

const ROLE_ENV: &str = "RUNLOG_MP_ROLE";
const DIR_ENV: &str = "RUNLOG_MP_DIR";
const STOP_ENV: &str = "RUNLOG_MP_STOP_FILE";
const EXPERIMENT: &str = "mp";
const KEYS: [&str; 4] = ["loss", "acc", "lr", "grad/norm"];
const T0: i64 = 1_700_000_000_000;

// ---------------------------------------------------------------------------------------------
// What writers log: every point, param and tag follows from the writer's index.

fn ts(w: u64, step: i64) -> i64 {
    T0 + step * 10 + w as i64
}

fn value(w: u64, k: usize, step: i64) -> f64 {
    let noise = ((step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f64 / 16_777_216.0;
    w as f64 * 1_000.0 + k as f64 * 100.0 + step as f64 / 1_000.0 + noise / 7.0
}

fn expected_params(w: u64) -> BTreeMap<String, String> {
    (0..20)
        .map(|p| (format!("p{p:02}"), format!("w{w}-p{p}")))
        .collect()
}

fn expected_tags(w: u64) -> BTreeMap<String, String> {
    (0..5)
        .map(|t| (format!("t{t}"), format!("w{w}-t{t}")))
        .collect()
}

fn new_run(experiment_id: &str, w: u64) -> NewRun {
    let mut new = NewRun::in_experiment(experiment_id).name(format!("writer-{w}"));
    for (k, v) in expected_params(w) {
        new = new.param(k, v);
    }
    for (k, v) in expected_tags(w) {
        new = new.tag(k, v);
    }
    new
}

/// Checks that `pts` is exactly the first `pts.len()` points writer `w` logs to key `k`.
fn check_points(pts: &Points, w: u64, k: usize) -> Result<(), String> {
    for i in 0..pts.len() {
        let step = i as i64;
        if pts.steps[i] != step
            || pts.timestamps_ms[i] != ts(w, step)
            || pts.values[i].to_bits() != value(w, k, step).to_bits()
        {
            return Err(format!(
                "writer {w} key {}: point {i} is ({}, {}, {}), expected ({step}, {}, {})",
                KEYS[k],
                pts.steps[i],
                pts.timestamps_ms[i],
                pts.values[i],
                ts(w, step),
                value(w, k, step)
            ));
        }
    }
    Ok(())
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Steps per key of one writer (`RUNLOG_MP_POINTS` / 4).
fn steps_per_key() -> i64 {
    (env_u64("RUNLOG_MP_POINTS", 100_000) / KEYS.len() as u64).max(8) as i64
}

/// The seed of the parent's random moments: `RUNLOG_MP_SEED`, else from the clock (printed, so
/// a failure can be replayed, as far as timing allows).
fn seed() -> u64 {
    let seed = env_u64("RUNLOG_MP_SEED", now_ms() as u64 % 1_000_000);
    eprintln!("multiprocess: RUNLOG_MP_SEED={seed}");
    seed
}

/// Sleeps until `RUNLOG_MP_START_AT` (ms since the epoch), so children start together.
fn wait_for_start() {
    if let Some(at) = std::env::var("RUNLOG_MP_START_AT")
        .ok()
        .and_then(|v| v.parse::<i64>().ok())
    {
        let now = now_ms();
        if at > now {
            std::thread::sleep(Duration::from_millis((at - now) as u64));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Child processes, seen from the parent.

#[derive(Default)]
struct OutState {
    lines: Vec<String>,
    stderr: String,
    closed: bool,
}

#[derive(Default)]
struct Output {
    state: Mutex<OutState>,
    cv: Condvar,
}

/// A child process: its stdout lines as they come, its stderr, its exit. Killed when dropped
/// still running (a failing parent leaves no orphan).
struct Proc {
    name: String,
    child: Child,
    out: Arc<Output>,
    exit: Option<ExitStatus>,
}

fn spawn(test: &str, name: &str, role: &str, dir: &Path, envs: &[(&str, String)]) -> Proc {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    // --include-ignored: the parent may run an ignored test (`-- --ignored`).
    cmd.args([
        test,
        "--exact",
        "--include-ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(ROLE_ENV, role)
    .env(DIR_ENV, dir)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let out = Arc::new(Output::default());
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let o = Arc::clone(&out);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            o.state.lock().unwrap().lines.push(line);
            o.cv.notify_all();
        }
        o.state.lock().unwrap().closed = true;
        o.cv.notify_all();
    });
    let o = Arc::clone(&out);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut st = o.state.lock().unwrap();
            st.stderr.push_str(&line);
            st.stderr.push('\n');
        }
    });
    Proc {
        name: name.to_string(),
        child,
        out,
        exit: None,
    }
}

impl Proc {
    fn lines(&self) -> Vec<String> {
        self.out.state.lock().unwrap().lines.clone()
    }

    /// The values after `prefix ` on every stdout line that starts with it.
    fn values(&self, prefix: &str) -> Vec<String> {
        let p = format!("{prefix} ");
        self.lines()
            .iter()
            .filter_map(|l| l.strip_prefix(&p).map(str::to_string))
            .collect()
    }

    fn value(&self, prefix: &str) -> String {
        self.values(prefix)
            .pop()
            .unwrap_or_else(|| panic!("no {prefix} line: {}", self.report()))
    }

    /// Waits for a stdout line matching `pred`; `None` when the child ended or time ran out.
    fn wait_for(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut st = self.out.state.lock().unwrap();
        loop {
            if let Some(l) = st.lines.iter().find(|l| pred(l)) {
                return Some(l.clone());
            }
            let now = Instant::now();
            if st.closed || now >= deadline {
                return None;
            }
            st = self.out.cv.wait_timeout(st, deadline - now).unwrap().0;
        }
    }

    fn drain(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut st = self.out.state.lock().unwrap();
        while !st.closed && Instant::now() < deadline {
            st = self
                .out
                .cv
                .wait_timeout(st, Duration::from_millis(50))
                .unwrap()
                .0;
        }
    }

    /// Waits for the child to exit; kills it and fails after `timeout`.
    fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                self.exit = Some(s);
                self.drain();
                return s;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.exit = self.child.try_wait().ok().flatten();
                self.drain();
                panic!(
                    "{} did not finish within {timeout:?}: {}",
                    self.name,
                    self.report()
                );
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for a successful exit.
    fn wait_ok(&mut self, timeout: Duration) {
        let s = self.wait(timeout);
        assert!(s.success(), "{} failed: {}", self.name, self.report());
    }

    /// `kill -9`, then reaps it.
    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.exit = Some(self.child.wait().unwrap());
        self.drain();
    }

    fn report(&self) -> String {
        let st = self.out.state.lock().unwrap();
        let tail = |s: &str| -> String {
            let start = s.len().saturating_sub(6_000);
            let start = (start..s.len())
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(s.len());
            s[start..].to_string()
        };
        format!(
            "{} (pid {}, exit {:?})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.name,
            self.child.id(),
            self.exit,
            tail(&st.lines.join("\n")),
            tail(&st.stderr)
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exit.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the child role named by `RUNLOG_MP_ROLE`, if any; true when this process is a child.
fn child_role() -> bool {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return false;
    };
    let dir = PathBuf::from(std::env::var(DIR_ENV).expect("RUNLOG_MP_DIR"));
    // The test harness has printed "test <name> ... " without a newline: end that line.
    println!();
    match role.as_str() {
        "writer" => writer_role(&dir),
        "reader" => reader_role(&dir),
        "catalog" => catalog_role(&dir),
        "resume" => resume_role(&dir),
        "refused" => refused_role(&dir),
        "create" => create_role(&dir),
        other => panic!("unknown role {other}"),
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Writers and readers.

/// A trainer: `Store::open`, `set_experiment`, one run with 20 params and 5 tags, the points of
/// every key in chunks with an explicit flush every `RUNLOG_MP_FLUSH_EVERY` chunks (printing
/// `FLUSHED <steps per key>` once it returned), FINISHED. With `RUNLOG_MP_PARK_AFTER`, it logs
/// one more chunk after the first flush at or past that step, prints `PARKED`, and waits to be
/// killed.
fn writer_role(dir: &Path) {
    let w = env_u64("RUNLOG_MP_WRITER", 0);
    let steps = steps_per_key();
    let chunks = env_u64("RUNLOG_MP_CHUNKS", 20).max(1) as i64;
    let flush_every = env_u64("RUNLOG_MP_FLUSH_EVERY", 4).max(1) as i64;
    let pause = Duration::from_millis(env_u64("RUNLOG_MP_PAUSE_MS", 60));
    let park_after = std::env::var("RUNLOG_MP_PARK_AFTER")
        .ok()
        .and_then(|v| v.parse::<i64>().ok());
    wait_for_start();
    let started = Instant::now();
    let store = Store::open(dir).expect("Store::open");
    let exp = store.set_experiment(EXPERIMENT).expect("set_experiment");
    println!("EXP {}", exp.experiment_id);
    let run = store
        .start_run(new_run(&exp.experiment_id, w))
        .expect("start_run");
    println!("RUN {}", run.id());
    let setup = started.elapsed();
    let log_start = now_ms();
    let metrics: Vec<_> = KEYS.iter().map(|k| run.metric(k).unwrap()).collect();
    let log = |from: i64, to: i64| {
        for step in from..to {
            for (k, m) in metrics.iter().enumerate() {
                m.log_at(step, ts(w, step), value(w, k, step)).unwrap();
            }
        }
    };
    let (mut log_time, mut flush_time) = (Duration::ZERO, Duration::ZERO);
    let mut done = 0;
    for c in 0..chunks {
        let end = steps * (c + 1) / chunks;
        let t = Instant::now();
        log(done, end);
        log_time += t.elapsed();
        done = end;
        if (c + 1) % flush_every == 0 && c + 1 < chunks {
            let t = Instant::now();
            run.flush().expect("flush");
            flush_time += t.elapsed();
            println!("FLUSHED {done}");
            if park_after.is_some_and(|p| done >= p) {
                // Points the parent was never promised: logged, not explicitly flushed.
                let more = (done + steps / chunks).min(steps);
                log(done, more);
                println!("PARKED {more}");
                std::thread::sleep(Duration::from_secs(120));
                std::process::exit(3); // the parent should have killed us long ago
            }
        }
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    let id = run.id().to_string();
    let t = Instant::now();
    run.finish(RunStatus::Finished).expect("finish");
    println!(
        "DONE {id} setup_ms={} log_ms={} flush_ms={} finish_ms={} total_ms={} start={log_start} \
         end={}",
        setup.as_millis(),
        log_time.as_millis(),
        flush_time.as_millis(),
        t.elapsed().as_millis(),
        started.elapsed().as_millis(),
        now_ms()
    );
}

/// What a reader saw of one run in earlier polls.
struct Seen {
    finished: bool,
    points: [usize; 4],
    catalog_step: [i64; 4],
}

#[derive(Default)]
struct ReaderState {
    runs: HashMap<String, Seen>,
    max_runs: usize,
    max_finished: usize,
}

#[derive(Default, Debug)]
struct PollSummary {
    runs: usize,
    finished: usize,
    points: usize,
}

/// One poll: open the store, search the experiment's runs, read every key's history of every
/// run found, and check it against what earlier polls saw (nothing goes back) and against
/// what the writers log (exact values).
fn poll(
    dir: &Path,
    read_only: bool,
    steps: i64,
    st: &mut ReaderState,
) -> Result<PollSummary, String> {
    let store = if read_only {
        Store::open_read_only(dir)
    } else {
        Store::open(dir)
    }
    .map_err(|e| format!("open: {e}"))?;
    let c = store.catalog();
    let Some(exp) = c
        .get_experiment_by_name(EXPERIMENT)
        .map_err(|e| format!("get_experiment_by_name: {e}"))?
    else {
        if st.max_runs > 0 {
            return Err("the experiment disappeared".into());
        }
        return Ok(PollSummary::default());
    };
    let eid = exp.experiment_id.as_str();
    let runs = c
        .search_runs(&[eid], None, ViewType::All, &[], usize::MAX, None)
        .map_err(|e| format!("search_runs: {e}"))?
        .runs;
    if runs.len() < st.max_runs {
        return Err(format!(
            "search found {} runs after finding {}",
            runs.len(),
            st.max_runs
        ));
    }
    st.max_runs = runs.len();
    let finished_here = runs
        .iter()
        .filter(|r| r.status == RunStatus::Finished)
        .count();
    // A filtered search, later than the first: it sees at least as many finished runs.
    let finished = c
        .search_runs(
            &[eid],
            Some("attributes.status = 'FINISHED'"),
            ViewType::ActiveOnly,
            &["params.p00 ASC"],
            1_000,
            None,
        )
        .map_err(|e| format!("filtered search_runs: {e}"))?
        .runs
        .len();
    if finished < finished_here.max(st.max_finished) {
        return Err(format!(
            "the filtered search found {finished} finished runs, fewer than seen before \
             ({finished_here} in this poll, {} in earlier ones)",
            st.max_finished
        ));
    }
    st.max_finished = finished;
    let mut summary = PollSummary {
        runs: runs.len(),
        finished: finished_here,
        points: 0,
    };
    for run in &runs {
        let id = &run.run_id;
        let w: u64 = run
            .run_name
            .strip_prefix("writer-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("run {id} has an unexpected name {:?}", run.run_name))?;
        if run.params != expected_params(w) {
            return Err(format!(
                "run {id} is visible with params {:?}, not all 20 at once",
                run.params
            ));
        }
        for (k, v) in expected_tags(w) {
            if run.tags.get(&k) != Some(&v) {
                return Err(format!("run {id}: tag {k} is {:?}", run.tags.get(&k)));
            }
        }
        let seen = st.runs.entry(id.clone()).or_insert(Seen {
            finished: false,
            points: [0; 4],
            catalog_step: [-1; 4],
        });
        let is_finished = run.status == RunStatus::Finished;
        if seen.finished && !is_finished {
            return Err(format!(
                "run {id} was FINISHED and now is {}",
                run.status.as_str()
            ));
        }
        if !matches!(run.status, RunStatus::Running | RunStatus::Finished) {
            return Err(format!("run {id} is {}", run.status.as_str()));
        }
        seen.finished |= is_finished;
        let mut catalog_step = [-1i64; 4];
        for (k, key) in KEYS.iter().enumerate() {
            match run.metrics.get(*key) {
                Some(m) => {
                    if m.step < seen.catalog_step[k] {
                        return Err(format!(
                            "run {id} {key}: the catalog's latest step went back from {} to {}",
                            seen.catalog_step[k], m.step
                        ));
                    }
                    if m.timestamp_ms != ts(w, m.step)
                        || m.value.to_bits() != value(w, k, m.step).to_bits()
                    {
                        return Err(format!(
                            "run {id} {key}: the catalog has a wrong latest {m:?}"
                        ));
                    }
                    catalog_step[k] = m.step;
                }
                None if seen.catalog_step[k] >= 0 => {
                    return Err(format!("run {id} {key}: the latest metric vanished"));
                }
                None => {}
            }
            if is_finished && catalog_step[k] != steps - 1 {
                return Err(format!(
                    "run {id} is FINISHED but the catalog's latest {key} is at step {}",
                    catalog_step[k]
                ));
            }
        }
        seen.catalog_step = catalog_step;
        let reader = store.reader(id).map_err(|e| format!("reader({id}): {e}"))?;
        for (k, key) in KEYS.iter().enumerate() {
            let n = if reader.series_id(key).is_none() {
                0
            } else {
                let pts = reader
                    .history(key)
                    .map_err(|e| format!("history({id}, {key}): {e}"))?;
                check_points(&pts, w, k)?;
                pts.len()
            };
            if n < seen.points[k] {
                return Err(format!(
                    "run {id} {key}: {n} readable points after {} were",
                    seen.points[k]
                ));
            }
            if catalog_step[k] >= n as i64 {
                return Err(format!(
                    "run {id} {key}: the catalog's latest step {} is not readable ({n} points)",
                    catalog_step[k]
                ));
            }
            if is_finished && n as i64 != steps {
                return Err(format!(
                    "run {id} is FINISHED with {n} readable {key} points of {steps}"
                ));
            }
            seen.points[k] = n;
            summary.points += n;
        }
    }
    Ok(summary)
}

/// Polls until the stop file appears, then once more. Even readers open the store for writing
/// at every poll (`Store::open`), odd ones read-only. Prints each error, then `POLLS <n> LIVE
/// <polls that saw a run not finished yet> ERRORS <e> RUNS <r> FINISHED <f> POINTS <p> P50_MS
/// <ms> MAX_MS <ms>` (the last poll's counts; times of polls that found runs).
fn reader_role(dir: &Path) {
    let j = env_u64("RUNLOG_MP_READER", 0);
    let stop = PathBuf::from(std::env::var(STOP_ENV).expect("stop file"));
    let read_only = j % 2 == 1;
    let steps = steps_per_key();
    let mut st = ReaderState::default();
    let deadline = Instant::now() + Duration::from_secs(300);
    let (mut polls, mut live, mut errors) = (0u64, 0u64, 0u64);
    let mut times = vec![Duration::ZERO];
    let mut last = PollSummary::default();
    loop {
        let stopping = stop.exists() || Instant::now() > deadline;
        let t = Instant::now();
        match poll(dir, read_only, steps, &mut st) {
            Ok(s) => {
                if s.runs > 0 {
                    times.push(t.elapsed());
                }
                if s.finished < s.runs {
                    live += 1;
                }
                last = s;
            }
            Err(e) => {
                errors += 1;
                println!("ERROR poll {polls}: {e}");
            }
        }
        polls += 1;
        if stopping {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    times.sort();
    println!(
        "POLLS {polls} LIVE {live} ERRORS {errors} RUNS {} FINISHED {} POINTS {} P50_MS {:.1} \
         MAX_MS {:.1}",
        last.runs,
        last.finished,
        last.points,
        times[times.len() / 2].as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
}

/// A key=value field of a line.
fn field(line: &str, key: &str) -> u64 {
    line.split(' ')
        .find_map(|f| f.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

/// The word after `key` in a line (`POLLS 12 ERRORS 0` → `POLLS` → 12).
fn word_after(line: &str, key: &str) -> u64 {
    let words: Vec<&str> = line.split(' ').collect();
    words
        .iter()
        .position(|w| *w == key)
        .and_then(|i| words.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

/// Checks a finished run of writer `w` in full: catalog and every point.
fn verify_finished_run(store: &Store, run_id: &str, w: u64, steps: i64) {
    let info = store.get_run(run_id).unwrap();
    assert_eq!(
        info.status,
        RunStatus::Finished,
        "writer {w}'s run {run_id}"
    );
    assert!(info.end_time.is_some(), "writer {w}: no end time");
    assert_eq!(info.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(info.run_name, format!("writer-{w}"));
    assert_eq!(info.params, expected_params(w), "writer {w}'s params");
    for (k, v) in expected_tags(w) {
        assert_eq!(info.tags.get(&k), Some(&v), "writer {w}'s tag {k}");
    }
    let reader = store.reader(run_id).unwrap();
    for (k, key) in KEYS.iter().enumerate() {
        let last = steps - 1;
        assert_eq!(
            info.metrics.get(*key),
            Some(&LatestMetric {
                step: last,
                timestamp_ms: ts(w, last),
                value: value(w, k, last),
            }),
            "writer {w}: the catalog's latest {key}"
        );
        let pts = reader.history(key).unwrap();
        assert_eq!(pts.len() as i64, steps, "writer {w}: {key} points");
        check_points(&pts, w, k).unwrap();
    }
}

fn start_writers(
    test: &str,
    dir: &Path,
    writers: u64,
    start_at: i64,
    extra: impl Fn(u64) -> Vec<(&'static str, String)>,
) -> Vec<Proc> {
    (0..writers)
        .map(|w| {
            let mut envs = vec![
                ("RUNLOG_MP_WRITER", w.to_string()),
                ("RUNLOG_MP_START_AT", start_at.to_string()),
            ];
            envs.extend(extra(w));
            spawn(test, &format!("writer {w}"), "writer", dir, &envs)
        })
        .collect()
}

const T_EIGHT: &str = "multiprocess::eight_writers_and_two_readers_share_one_store";

/// 8 trainers log 100 000 points each into one store while 2 readers poll searches and
/// histories; nothing a reader sees ever goes back or is wrong, no error reaches anyone, and
/// at the end every run, param, tag, latest value and point is there.
#[test]
fn eight_writers_and_two_readers_share_one_store() {
    if child_role() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let stop = tmp.path().join("STOP");
    // The store exists; the experiment does not: the writers race to create it.
    drop(Store::open(&dir).unwrap());
    let writers = env_u64("RUNLOG_MP_WRITERS", 8);
    let n_readers = env_u64("RUNLOG_MP_READERS", 2);
    let steps = steps_per_key();
    let started = Instant::now();
    let mut readers: Vec<Proc> = (0..n_readers)
        .map(|j| {
            spawn(
                T_EIGHT,
                &format!("reader {j}"),
                "reader",
                &dir,
                &[
                    ("RUNLOG_MP_READER", j.to_string()),
                    (STOP_ENV, stop.display().to_string()),
                ],
            )
        })
        .collect();
    let start_at = now_ms() + 500;
    let mut ws = start_writers(T_EIGHT, &dir, writers, start_at, |_| vec![]);
    for w in &mut ws {
        w.wait_ok(Duration::from_secs(180));
    }
    std::fs::write(&stop, b"").unwrap();
    for r in &mut readers {
        r.wait_ok(Duration::from_secs(60));
    }

    // Every writer got the same experiment.
    let exp_ids: BTreeSet<String> = ws.iter().map(|w| w.value("EXP")).collect();
    assert_eq!(
        exp_ids.len(),
        1,
        "writers got different experiments: {exp_ids:?}"
    );
    // Readers: no error, never anything going back, and the final state in full.
    let mut polls = Vec::new();
    for r in &readers {
        let errors: Vec<String> = r.values("ERROR");
        assert!(errors.is_empty(), "{} saw errors: {}", r.name, r.report());
        let line = r.value("POLLS");
        let line = format!("POLLS {line}");
        assert_eq!(word_after(&line, "ERRORS"), 0, "{}", r.report());
        assert!(
            word_after(&line, "LIVE") > 0,
            "{} never saw a run being written: the test proves little",
            r.name
        );
        assert_eq!(word_after(&line, "RUNS"), writers, "{}: final poll", r.name);
        assert_eq!(
            word_after(&line, "FINISHED"),
            writers,
            "{}: final poll",
            r.name
        );
        assert_eq!(
            word_after(&line, "POINTS") as i64,
            writers as i64 * steps * KEYS.len() as i64,
            "{}: final poll",
            r.name
        );
        polls.push(line);
    }

    let store = Store::open(&dir).unwrap();
    let c = store.catalog();
    let exp = c.get_experiment_by_name(EXPERIMENT).unwrap().unwrap();
    assert!(exp_ids.contains(&exp.experiment_id));
    assert_eq!(
        c.list_experiments(ViewType::All).unwrap().len(),
        2,
        "Default and mp only"
    );
    let eid = exp.experiment_id.as_str();
    let found = store.search_runs(&[eid], "", &[], 1_000).unwrap();
    assert_eq!(found.len() as u64, writers, "search finds every run");
    for (w, p) in ws.iter().enumerate() {
        let w = w as u64;
        let id = p.value("RUN");
        assert!(
            found.iter().any(|r| r.run_id == id),
            "writer {w}'s run not found"
        );
        verify_finished_run(&store, &id, w, steps);
        let by_param = store
            .search_runs(&[eid], &format!("params.p07 = 'w{w}-p7'"), &[], 10)
            .unwrap();
        assert_eq!(by_param.len(), 1);
        assert_eq!(by_param[0].run_id, id);
    }
    let last = value(0, 0, steps - 1);
    let by_metric = store
        .search_runs(&[eid], &format!("metrics.loss > {last}"), &[], 100)
        .unwrap();
    assert_eq!(by_metric.len() as u64, writers - 1, "every writer but 0");

    let total = writers as i64 * steps * KEYS.len() as i64;
    let done: Vec<String> = ws.iter().map(|w| w.value("DONE")).collect();
    let max = |k: &str| done.iter().map(|d| field(d, k)).max().unwrap_or(0);
    let first = done.iter().map(|d| field(d, "start")).min().unwrap_or(0);
    let span = max("end").saturating_sub(first).max(1);
    let busy: u64 = done
        .iter()
        .map(|d| field(d, "log_ms") + field(d, "flush_ms") + field(d, "finish_ms"))
        .sum();
    eprintln!(
        "multiprocess: {writers} writers x {} points, {n_readers} readers; from the first point \
         to the last finish {span} ms ({:.0} points/s, pauses included); writers busy {busy} ms \
         in all ({:.0} points/s of logging, flushing and finishing); per writer at most: setup \
         {} ms, log {} ms, flushes {} ms, finish {} ms; whole test {:.1} s",
        steps * KEYS.len() as i64,
        total as f64 / (span as f64 / 1e3),
        total as f64 / (busy.max(1) as f64 / 1e3),
        max("setup_ms"),
        max("log_ms"),
        max("flush_ms"),
        max("finish_ms"),
        started.elapsed().as_secs_f64()
    );
    for (r, p) in readers.iter().zip(&polls) {
        eprintln!("multiprocess: {}: {p}", r.name);
    }
}

// ---------------------------------------------------------------------------------------------
// A writer killed mid-run.

/// Resumes run `RUNLOG_MP_RUN` of writer `RUNLOG_MP_WRITER` and logs what it lacks.
fn resume_role(dir: &Path) {
    let run_id = std::env::var("RUNLOG_MP_RUN").unwrap();
    let w = env_u64("RUNLOG_MP_WRITER", 0);
    let steps = steps_per_key();
    let store = Store::open(dir).expect("Store::open");
    let run = store.resume_run(&run_id).expect("resume_run");
    println!("STATUS {}", store.get_run(&run_id).unwrap().status.as_str());
    let reader = run.reader().unwrap();
    for (k, key) in KEYS.iter().enumerate() {
        let have = if reader.series_id(key).is_none() {
            0
        } else {
            reader.history(key).unwrap().len() as i64
        };
        println!("HAVE {key} {have}");
        let m = run.metric(key).unwrap();
        for step in have..steps {
            m.log_at(step, ts(w, step), value(w, k, step)).unwrap();
        }
    }
    run.flush().unwrap();
    run.finish(RunStatus::Finished).unwrap();
    println!("RESUMED");
}

const T_KILLED: &str =
    "multiprocess::a_writer_killed_mid_run_keeps_its_flushed_points_and_resumes_elsewhere";

/// Among 8 trainers, one is `kill -9`ed after its flushes of the first half: the store stays
/// usable, the other 7 finish with all their data, the killed run stays RUNNING with every
/// flushed point (and the catalog's latest values never ahead of what is readable), and a new
/// process resumes it and completes it.
#[test]
fn a_writer_killed_mid_run_keeps_its_flushed_points_and_resumes_elsewhere() {
    if child_role() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    drop(Store::open(&dir).unwrap());
    let writers = env_u64("RUNLOG_MP_WRITERS", 8).max(2);
    let steps = steps_per_key();
    let half = steps / 2;
    let mut rng = SplitMix64::new(seed());
    let start_at = now_ms() + 500;
    let mut ws = start_writers(T_KILLED, &dir, writers, start_at, |w| {
        if w == 0 {
            vec![("RUNLOG_MP_PARK_AFTER", half.to_string())]
        } else {
            vec![]
        }
    });
    let victim = &mut ws[0];
    let line = victim
        .wait_for(
            |l| {
                l.strip_prefix("FLUSHED ")
                    .and_then(|n| n.parse::<i64>().ok())
                    .is_some_and(|n| n >= half)
            },
            Duration::from_secs(120),
        )
        .unwrap_or_else(|| panic!("the victim never flushed half: {}", victim.report()));
    let flushed: i64 = line["FLUSHED ".len()..].parse().unwrap();
    // A random moment while it logs its unflushed chunk or waits (its thread flushes every
    // second: sometimes the extra chunk is durable too).
    let delay = rng.below(1_500);
    std::thread::sleep(Duration::from_millis(delay));
    victim.kill9();
    let victim_id = victim.value("RUN");
    let flushes = victim.values("FLUSHED").len();

    // The store, right away, with the other writers still going.
    let check_victim = |store: &Store| -> i64 {
        let info = store.get_run(&victim_id).unwrap();
        assert_eq!(
            info.status,
            RunStatus::Running,
            "the killed run stays RUNNING"
        );
        assert_eq!(info.params, expected_params(0));
        let reader = store.reader(&victim_id).unwrap();
        let mut readable = i64::MAX;
        for (k, key) in KEYS.iter().enumerate() {
            let pts = reader.history(key).unwrap();
            assert!(
                pts.len() as i64 >= flushed,
                "{key}: {} points readable, {flushed} were flushed",
                pts.len()
            );
            check_points(&pts, 0, k).unwrap();
            let m = info
                .metrics
                .get(*key)
                .expect("the catalog has a latest value");
            assert!(
                m.step >= flushed - 1,
                "{key}: Run::flush returned, so the catalog has step {} at least; it has {}",
                flushed - 1,
                m.step
            );
            assert!(
                m.step < pts.len() as i64,
                "{key}: the catalog's latest step {} is not readable ({} points)",
                m.step,
                pts.len()
            );
            readable = readable.min(pts.len() as i64);
        }
        readable
    };
    {
        let store = Store::open(&dir).unwrap();
        let exp = store.set_experiment(EXPERIMENT).unwrap();
        let all = store
            .catalog()
            .search_runs(
                &[&exp.experiment_id],
                None,
                ViewType::All,
                &[],
                usize::MAX,
                None,
            )
            .unwrap();
        assert!(all.runs.iter().any(|r| r.run_id == victim_id));
        check_victim(&store);
    }
    for w in ws.iter_mut().skip(1) {
        w.wait_ok(Duration::from_secs(180));
    }
    let store = Store::open(&dir).unwrap();
    let exp = store.set_experiment(EXPERIMENT).unwrap();
    let eid = exp.experiment_id.as_str();
    let running = store
        .search_runs(&[eid], "attributes.status = 'RUNNING'", &[], 100)
        .unwrap();
    assert_eq!(running.len(), 1, "only the killed run is RUNNING");
    assert_eq!(running[0].run_id, victim_id);
    let finished = store
        .search_runs(&[eid], "attributes.status = 'FINISHED'", &[], 100)
        .unwrap();
    assert_eq!(finished.len() as u64, writers - 1);
    for (w, p) in ws.iter().enumerate().skip(1) {
        verify_finished_run(&store, &p.value("RUN"), w as u64, steps);
    }
    let readable = check_victim(&store);
    drop(store);

    // A new process resumes the killed run and completes it.
    let mut resumer = spawn(
        T_KILLED,
        "resumer",
        "resume",
        &dir,
        &[
            ("RUNLOG_MP_RUN", victim_id.clone()),
            ("RUNLOG_MP_WRITER", "0".into()),
        ],
    );
    resumer.wait_ok(Duration::from_secs(120));
    assert_eq!(resumer.value("STATUS"), "RUNNING", "{}", resumer.report());
    let store = Store::open(&dir).unwrap();
    verify_finished_run(&store, &victim_id, 0, steps);
    eprintln!(
        "multiprocess: killed writer 0 {delay} ms after its flush {flushes} ({flushed} steps per key flushed, \
         {readable} readable after the kill, {steps} in all); resumed and completed"
    );
}

// ---------------------------------------------------------------------------------------------
// A second writer to the same run.

/// Tries `resume_run(RUNLOG_MP_RUN)`: prints `REFUSED <kind> <message>`, or logs 100 more
/// points per key and finishes (`RESUMED`).
fn refused_role(dir: &Path) {
    let run_id = std::env::var("RUNLOG_MP_RUN").unwrap();
    let store = Store::open(dir).expect("Store::open");
    match store.resume_run(&run_id) {
        Err(e) => {
            let kind = match &e {
                runlog::Error::Metrics(runlog::metrics::Error::Locked { .. }) => "locked",
                _ => "other",
            };
            println!("REFUSED {kind} {e}");
        }
        Ok(run) => {
            let have = run.reader().unwrap().history("loss").unwrap().len() as i64;
            for step in have..have + 100 {
                run.log_metric_at("loss", step, ts(9, step), value(9, 0, step))
                    .unwrap();
            }
            run.finish(RunStatus::Finished).unwrap();
            println!("RESUMED");
        }
    }
}

const T_REFUSED: &str = "multiprocess::resuming_a_run_another_process_writes_is_refused_naming_it";

/// While this process writes a run, another process's `resume_run` is refused with an error
/// naming this process, and changes nothing; once the run is finished, that process resumes it.
#[test]
fn resuming_a_run_another_process_writes_is_refused_naming_it() {
    if child_role() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = Store::open(&dir).unwrap();
    let exp = store.set_experiment(EXPERIMENT).unwrap();
    let run = store.start_run(new_run(&exp.experiment_id, 9)).unwrap();
    let loss = run.metric("loss").unwrap();
    for step in 0..1_000 {
        loss.log_at(step, ts(9, step), value(9, 0, step)).unwrap();
    }
    run.flush().unwrap();
    let id = run.id().to_string();
    let before = store.get_run(&id).unwrap();

    let env = [("RUNLOG_MP_RUN", id.clone())];
    let mut child = spawn(T_REFUSED, "second writer", "refused", &dir, &env);
    child.wait_ok(Duration::from_secs(60));
    let said = child.value("REFUSED");
    let me = format!("process {} on", std::process::id());
    assert!(said.starts_with("locked "), "{}", child.report());
    assert!(
        said.contains(&me),
        "the error names the holder ({me}): {said}"
    );
    assert!(said.contains("already being written"), "{said}");
    assert_eq!(
        store.get_run(&id).unwrap(),
        before,
        "a refused resume changes nothing"
    );
    // This process still writes.
    loss.log_at(1_000, ts(9, 1_000), value(9, 0, 1_000))
        .unwrap();
    run.finish(RunStatus::Finished).unwrap();

    // Once it is released, the other process may resume it.
    let mut child = spawn(T_REFUSED, "resumer", "refused", &dir, &env);
    child.wait_ok(Duration::from_secs(60));
    assert!(
        child.lines().iter().any(|l| l == "RESUMED"),
        "{}",
        child.report()
    );
    let info = store.get_run(&id).unwrap();
    assert_eq!(info.status, RunStatus::Finished);
    let pts = store.reader(&id).unwrap().history("loss").unwrap();
    assert_eq!(pts.len(), 1_101);
    check_points(&pts, 9, 0).unwrap();
    assert_eq!(info.metrics["loss"].step, 1_100);
}

// ---------------------------------------------------------------------------------------------
// A new store, created by several processes at once.

fn create_role(dir: &Path) {
    let w = env_u64("RUNLOG_MP_WRITER", 0);
    wait_for_start();
    let store = match Store::open(dir) {
        Ok(s) => s,
        Err(e) => {
            println!("FAILED Store::open: {e}");
            std::process::exit(2);
        }
    };
    let exp = match store.set_experiment(EXPERIMENT) {
        Ok(e) => e,
        Err(e) => {
            println!("FAILED set_experiment: {e}");
            std::process::exit(2);
        }
    };
    let run = store.start_run(new_run(&exp.experiment_id, w)).unwrap();
    for (k, key) in KEYS.iter().enumerate() {
        run.log_metric_at(key, 0, ts(w, 0), value(w, k, 0)).unwrap();
    }
    println!("OK {} {}", exp.experiment_id, run.id());
    run.finish(RunStatus::Finished).unwrap();
}

const T_CREATE: &str = "multiprocess::processes_creating_the_same_new_store_at_once_all_succeed";

/// 8 processes open the same store folder, which does not exist yet, at the same moment, and
/// set the same experiment: all succeed, with one experiment and 8 runs.
#[test]
fn processes_creating_the_same_new_store_at_once_all_succeed() {
    if child_role() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let writers = env_u64("RUNLOG_MP_WRITERS", 8);
    let rounds = env_u64("RUNLOG_MP_CREATE_ROUNDS", 3);
    for round in 0..rounds {
        let dir = tmp.path().join(format!("store-{round}"));
        let start_at = now_ms() + 400;
        let mut ps: Vec<Proc> = (0..writers)
            .map(|w| {
                spawn(
                    T_CREATE,
                    &format!("creator {w}"),
                    "create",
                    &dir,
                    &[
                        ("RUNLOG_MP_WRITER", w.to_string()),
                        ("RUNLOG_MP_START_AT", start_at.to_string()),
                    ],
                )
            })
            .collect();
        for p in &mut ps {
            p.wait(Duration::from_secs(60));
        }
        let failed: Vec<String> = ps
            .iter()
            .filter(|p| !p.exit.is_some_and(|s| s.success()))
            .map(Proc::report)
            .collect();
        assert!(
            failed.is_empty(),
            "round {round}: {} of {writers} processes failed to create the store together:\n{}",
            failed.len(),
            failed.join("\n")
        );
        let store = Store::open(&dir).unwrap();
        let exp = store
            .catalog()
            .get_experiment_by_name(EXPERIMENT)
            .unwrap()
            .unwrap();
        let runs = store
            .search_runs(&[&exp.experiment_id], "", &[], 100)
            .unwrap();
        assert_eq!(runs.len() as u64, writers);
        assert!(runs.iter().all(|r| r.status == RunStatus::Finished));
    }
}

// ---------------------------------------------------------------------------------------------
// A catalog writer killed at random moments.

/// Applies one catalog operation, as the `catalog` child prints it; returns the new
/// experiment's id for `exp`.
///
/// * `exp <name> <tag value>`: create an experiment with tag `k`;
/// * `etag <exp id> <key> <value>`: set an experiment tag;
/// * `run <run id> <exp id> <name> <v>`: create a run, params `p0..p2` = `<v>-<i>`, tags
///   `a` = `<v>`, `b` = `<v>-b`;
/// * `tag <run id> <key> <value>`, `param <run id> <key> <value>`, `status <run id> <STATUS>`,
///   `del <run id>`, `restore <run id>`.
fn execute(c: &Catalog, op: &str) -> Result<Option<String>, CatalogError> {
    let f: Vec<&str> = op.split(' ').collect();
    match f[0] {
        "exp" => c.create_experiment(f[1], None, &[("k", f[2])]).map(Some),
        "etag" => c.set_experiment_tag(f[1], f[2], f[3]).map(|_| None),
        "run" => {
            let mut new = NewRun::in_experiment(f[2]).name(f[3]);
            new.run_id = Some(f[1].to_string());
            new.user = Some("mp".into());
            for i in 0..3 {
                new = new.param(format!("p{i}"), format!("{}-{i}", f[4]));
            }
            new = new.tag("a", f[4]).tag("b", format!("{}-b", f[4]));
            c.create_run(new).map(|_| None)
        }
        "tag" => c.set_tags(f[1], &[(f[2], f[3])]).map(|_| None),
        "param" => c.log_params(f[1], &[(f[2], f[3])]).map(|_| None),
        "status" => c
            .set_status(f[1], f[2].parse().unwrap(), None)
            .map(|_| None),
        "del" => c.delete_run(f[1]).map(|_| None),
        "restore" => c.restore_run(f[1]).map(|_| None),
        other => panic!("unknown operation {other}"),
    }
}

/// Catalog operations in a tight loop, each printed as `BEGIN <op>` before and `ACK <op>
/// [<result>]` once acknowledged, until killed.
fn catalog_role(dir: &Path) {
    let cycle = env_u64("RUNLOG_MP_CYCLE", 0);
    let mut rng = SplitMix64::new(0xC0FF_EE00 ^ cycle);
    let store = Store::open(dir).expect("Store::open");
    let c = store.catalog();
    let exps = c.list_experiments(ViewType::All).unwrap();
    let mut exp_ids: Vec<String> = exps.iter().map(|e| e.experiment_id.clone()).collect();
    let ids: Vec<&str> = exp_ids.iter().map(String::as_str).collect();
    let runs = c.list_runs(&ids, ViewType::All).unwrap();
    let (mut active, mut deleted): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    for r in runs.iter() {
        match r.lifecycle_stage {
            LifecycleStage::Active => active.push(r.run_id.clone()),
            LifecycleStage::Deleted => deleted.push(r.run_id.clone()),
        }
    }
    println!("READY");
    let pick = |rng: &mut SplitMix64, v: &[String]| v[rng.below(v.len() as u64) as usize].clone();
    for n in 0..1_000_000u64 {
        let roll = rng.below(100);
        let u = format!("c{cycle}n{n}");
        let op = if roll < 8 {
            format!("exp x-{u} {u}")
        } else if roll < 14 && exp_ids.len() > 1 {
            let e = pick(&mut rng, &exp_ids[1..]);
            format!("etag {e} k{} {u}", rng.below(3))
        } else if roll < 38 || active.is_empty() {
            let e = pick(&mut rng, &exp_ids);
            format!("run {} {e} r-{u} {u}", random_run_id())
        } else if roll < 62 {
            format!("tag {} t{} {u}", pick(&mut rng, &active), rng.below(4))
        } else if roll < 70 {
            format!("param {} q-{u} {u}", pick(&mut rng, &active))
        } else if roll < 84 {
            let st = RunStatus::ALL[rng.below(5) as usize];
            format!("status {} {}", pick(&mut rng, &active), st.as_str())
        } else if roll < 93 || deleted.is_empty() {
            format!("del {}", pick(&mut rng, &active))
        } else {
            format!("restore {}", pick(&mut rng, &deleted))
        };
        println!("BEGIN {op}");
        let result = execute(c, &op).unwrap_or_else(|e| panic!("{op}: {e}"));
        match &result {
            Some(r) => println!("ACK {op} {r}"),
            None => println!("ACK {op}"),
        }
        let f: Vec<&str> = op.split(' ').collect();
        match f[0] {
            "exp" => exp_ids.push(result.unwrap()),
            "run" => active.push(f[1].to_string()),
            "del" => {
                active.retain(|r| r != f[1]);
                deleted.push(f[1].to_string());
            }
            "restore" => {
                deleted.retain(|r| r != f[1]);
                active.push(f[1].to_string());
            }
            _ => {}
        }
    }
}

/// What the catalog must hold, from the acknowledged operations.
#[derive(Debug, Clone, Default, PartialEq)]
struct CatalogModel {
    /// Experiment name → (id once known, tags).
    exps: BTreeMap<String, (Option<String>, BTreeMap<String, String>)>,
    runs: BTreeMap<String, RunModel>,
}

#[derive(Debug, Clone, PartialEq)]
struct RunModel {
    exp: String,
    name: String,
    status: RunStatus,
    deleted: bool,
    params: BTreeMap<String, String>,
    /// Tags but MLflow's system ones.
    tags: BTreeMap<String, String>,
}

impl CatalogModel {
    fn apply(&mut self, op: &str, result: Option<&str>) {
        let f: Vec<&str> = op.split(' ').collect();
        fn run<'m>(m: &'m mut CatalogModel, id: &str) -> &'m mut RunModel {
            m.runs.get_mut(id).expect("an operation on a known run")
        }
        match f[0] {
            "exp" => {
                let tags = BTreeMap::from([("k".to_string(), f[2].to_string())]);
                self.exps
                    .insert(f[1].into(), (result.map(str::to_string), tags));
            }
            "etag" => {
                let (_, tags) = self
                    .exps
                    .values_mut()
                    .find(|(id, _)| id.as_deref() == Some(f[1]))
                    .expect("a known experiment");
                tags.insert(f[2].into(), f[3].into());
            }
            "run" => {
                let v = f[4];
                self.runs.insert(
                    f[1].into(),
                    RunModel {
                        exp: f[2].into(),
                        name: f[3].into(),
                        status: RunStatus::Running,
                        deleted: false,
                        params: (0..3)
                            .map(|i| (format!("p{i}"), format!("{v}-{i}")))
                            .collect(),
                        tags: BTreeMap::from([
                            ("a".to_string(), v.to_string()),
                            ("b".to_string(), format!("{v}-b")),
                        ]),
                    },
                );
            }
            "tag" => {
                run(self, f[1]).tags.insert(f[2].into(), f[3].into());
            }
            "param" => {
                run(self, f[1]).params.insert(f[2].into(), f[3].into());
            }
            "status" => run(self, f[1]).status = f[2].parse().unwrap(),
            "del" => run(self, f[1]).deleted = true,
            "restore" => run(self, f[1]).deleted = false,
            other => panic!("unknown operation {other}"),
        }
    }

    /// Whether catalog `c` holds exactly this (for what the model covers).
    fn check(&self, c: &Catalog) -> Result<(), String> {
        let exps = c
            .list_experiments(ViewType::All)
            .map_err(|e| e.to_string())?;
        let names: BTreeSet<&str> = exps
            .iter()
            .map(|e| e.name.as_str())
            .filter(|n| *n != "Default")
            .collect();
        let want: BTreeSet<&str> = self.exps.keys().map(String::as_str).collect();
        if names != want {
            return Err(format!("experiments {names:?}, expected {want:?}"));
        }
        for e in &exps {
            let Some((id, tags)) = self.exps.get(&e.name) else {
                continue;
            };
            if id.as_ref().is_some_and(|id| *id != e.experiment_id) || e.tags != *tags {
                return Err(format!(
                    "experiment {e:?}, expected id {id:?} tags {tags:?}"
                ));
            }
            if e.lifecycle_stage != LifecycleStage::Active {
                return Err(format!("experiment {e:?} is deleted"));
            }
        }
        let ids: Vec<&str> = exps.iter().map(|e| e.experiment_id.as_str()).collect();
        let runs = c
            .list_runs(&ids, ViewType::All)
            .map_err(|e| e.to_string())?;
        let have: BTreeSet<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
        let want: BTreeSet<&str> = self.runs.keys().map(String::as_str).collect();
        if have != want {
            return Err(format!(
                "runs: missing {:?}, unexpected {:?}",
                want.difference(&have).collect::<Vec<_>>(),
                have.difference(&want).collect::<Vec<_>>()
            ));
        }
        for (id, m) in &self.runs {
            let r = c.get_run(id).map_err(|e| format!("get_run({id}): {e}"))?;
            let tags: BTreeMap<String, String> = r
                .tags
                .iter()
                .filter(|(k, _)| !k.starts_with("mlflow."))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let stage = if m.deleted {
                LifecycleStage::Deleted
            } else {
                LifecycleStage::Active
            };
            if r.experiment_id != m.exp
                || r.run_name != m.name
                || r.status != m.status
                || r.lifecycle_stage != stage
                || r.params != m.params
                || tags != m.tags
            {
                return Err(format!("run {id} is {r:?}, expected {m:?}"));
            }
        }
        Ok(())
    }

    /// Learns the ids of experiments created by an operation that was in flight.
    fn learn_ids(&mut self, c: &Catalog) {
        for (name, (id, _)) in self.exps.iter_mut() {
            if id.is_none() {
                *id = c
                    .get_experiment_by_name(name)
                    .unwrap()
                    .map(|e| e.experiment_id);
            }
        }
    }
}

fn copy_dir(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&src, &dst, &[]);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// How the store's catalog differs from one rebuilt from its journals (opened on a copy of the
/// folder without `catalog.redb`): every experiment, and `get_run` of every run either knows of or
/// that has a folder.
fn rebuild_differences(dir: &Path, live: &Catalog, rebuilt: &Catalog) -> Vec<String> {
    let mut diffs = Vec::new();
    let exps = live.list_experiments(ViewType::All).unwrap();
    let rebuilt_exps = rebuilt.list_experiments(ViewType::All).unwrap();
    if exps != rebuilt_exps {
        diffs.push(format!(
            "experiments in the catalog: {exps:?}\nrebuilt from the journals: {rebuilt_exps:?}"
        ));
    }
    let mut ids: Vec<&str> = exps.iter().map(|e| e.experiment_id.as_str()).collect();
    ids.extend(rebuilt_exps.iter().map(|e| e.experiment_id.as_str()));
    ids.sort();
    ids.dedup();
    let mut run_ids: BTreeSet<String> = BTreeSet::new();
    for c in [live, rebuilt] {
        for r in c.list_runs(&ids, ViewType::All).unwrap() {
            run_ids.insert(r.run_id.clone());
        }
    }
    for e in std::fs::read_dir(dir.join("runs")).unwrap() {
        run_ids.insert(e.unwrap().file_name().to_string_lossy().into_owned());
    }
    for id in &run_ids {
        let (a, b) = (live.get_run(id), rebuilt.get_run(id));
        match (&a, &b) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(CatalogError::NotFound { .. }), Err(CatalogError::NotFound { .. })) => {}
            _ => diffs.push(format!(
                "run {id} in the catalog: {a:?}\nrebuilt from the journals: {b:?}"
            )),
        }
    }
    diffs
}

const T_CATALOG: &str =
    "multiprocess::a_catalog_writer_killed_at_random_moments_loses_no_acknowledged_change";

/// A process changes the catalog in a tight loop and is `kill -9`ed at random moments, 30
/// times; after each kill the store opens (read-only and for writing), every acknowledged
/// change is there (the one in flight may or may not be), and the catalog is exactly what a
/// rebuild from the journals gives.
#[test]
fn a_catalog_writer_killed_at_random_moments_loses_no_acknowledged_change() {
    if child_role() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    drop(Store::open(&dir).unwrap());
    let cycles = env_u64("RUNLOG_CATALOG_KILL_CYCLES", 30);
    let mut rng = SplitMix64::new(seed());
    let mut model = CatalogModel::default();
    let (mut acked, mut in_flight_applied, mut in_flight_dropped, mut early) = (0, 0, 0, 0);
    for cycle in 0..cycles {
        let mut child = spawn(
            T_CATALOG,
            &format!("catalog writer {cycle}"),
            "catalog",
            &dir,
            &[("RUNLOG_MP_CYCLE", cycle.to_string())],
        );
        if rng.below(6) == 0 {
            // Somewhere in its start-up, maybe inside `Store::open`.
            early += 1;
            std::thread::sleep(Duration::from_millis(rng.below(40)));
        } else {
            child
                .wait_for(|l| l == "READY", Duration::from_secs(30))
                .unwrap_or_else(|| panic!("never ready: {}", child.report()));
            std::thread::sleep(Duration::from_micros(rng.below(80_000)));
        }
        child.kill9();
        let what = format!("cycle {cycle}");
        assert!(
            !child.out.state.lock().unwrap().stderr.contains("panicked"),
            "{what}: the child failed: {}",
            child.report()
        );

        // The acknowledged operations, and the one in flight.
        let mut in_flight: Option<String> = None;
        for line in child.lines() {
            if let Some(op) = line.strip_prefix("BEGIN ") {
                in_flight = Some(op.to_string());
            } else if let Some(rest) = line.strip_prefix("ACK ") {
                let op = in_flight.take().expect("ACK after BEGIN");
                let result = rest.strip_prefix(op.as_str()).map(str::trim);
                assert!(result.is_some(), "{rest:?} acknowledges {op:?}");
                let result = result.filter(|r| !r.is_empty());
                model.apply(&op, result);
                acked += 1;
            }
        }

        // The store opens, read-only first (its only writer was killed), then for writing.
        let ro = Store::open_read_only(&dir)
            .unwrap_or_else(|e| panic!("{what}: read-only open after the kill: {e}"));
        drop(ro);
        let store = Store::open(&dir).unwrap_or_else(|e| panic!("{what}: open: {e}"));
        let live = store.catalog();
        let copy = tmp.path().join(format!("rebuild-{cycle}"));
        copy_dir(&dir, &copy, &["catalog.redb", "catalog.redb.old"]);
        let rebuilt = Catalog::open(&copy).unwrap();

        // The journals decide whether the operation in flight happened.
        let with = in_flight.as_deref().map(|op| {
            let mut with = model.clone();
            with.apply(op, None);
            with
        });
        let truth = match (model.check(&rebuilt), &with) {
            (Ok(()), _) => {
                if in_flight.is_some() {
                    in_flight_dropped += 1;
                }
                model.clone()
            }
            (Err(without), None) => {
                panic!("{what}: acknowledged changes are missing from the journals: {without}")
            }
            (Err(without), Some(with)) => {
                if let Err(e) = with.check(&rebuilt) {
                    panic!(
                        "{what}: the journals hold neither the acknowledged changes nor them \
                         plus {in_flight:?}:\nwithout: {without}\nwith: {e}"
                    );
                }
                in_flight_applied += 1;
                let mut with = with.clone();
                with.learn_ids(&rebuilt);
                with
            }
        };
        // Every acknowledged change is in the catalog (the one in flight may be or not).
        if let Err(e) = model.check(live)
            && with.as_ref().is_none_or(|w| w.check(live).is_err())
        {
            panic!(
                "{what}: acknowledged changes are missing from the catalog (in flight: \
                 {in_flight:?}): {e}"
            );
        }
        model = truth;
        // And the catalog is the replay of the journals.
        let diffs = rebuild_differences(&dir, live, &rebuilt);
        drop(rebuilt);
        std::fs::remove_dir_all(&copy).unwrap();
        assert!(
            diffs.is_empty(),
            "{what}: the catalog is not what a rebuild from the journals gives (the operation \
             in flight was {in_flight:?}):\n{}",
            diffs.join("\n")
        );
    }
    eprintln!(
        "multiprocess: {cycles} kills ({early} during start-up), {acked} acknowledged \
         operations; the operation in flight was found applied {in_flight_applied} times, \
         not applied {in_flight_dropped} times; {} experiments, {} runs",
        model.exps.len(),
        model.runs.len()
    );
    assert!(
        acked >= cycles,
        "only {acked} acknowledged operations in {cycles} cycles: the test proves little"
    );
}

fn last_line(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().last().unwrap().to_string() + "\n"
}

fn append(path: &Path, line: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(line.as_bytes()).unwrap();
}

/// The deterministic form of what the kill test above checks: a process journals a change and
/// dies before its catalog commit (simulated by appending, to the journals, the very lines
/// such a process leaves, and leaving its unlocked presence file). The journals are the source of truth, so the next process to open
/// the store must see what a rebuild gives: the run deleted, the experiment and the run
/// created.
#[test]
fn changes_journaled_by_a_process_killed_before_its_commit_reach_the_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let donor = tmp.path().join("donor");
    let store = Store::open(&dir).unwrap();
    let c = store.catalog();
    let exp = c.create_experiment("real", None, &[]).unwrap();
    let a = c.create_run(NewRun::in_experiment(&exp).name("a")).unwrap();
    let b = c.create_run(NewRun::in_experiment(&exp).name("b")).unwrap();
    // The journal line of `delete_run`: an operation that names no run.
    c.delete_run(&a.run_id).unwrap();
    let delete_line = last_line(&dir.join("runs").join(&a.run_id).join("RUN.log"));
    c.restore_run(&a.run_id).unwrap();
    drop(store);
    // The lines of `create_experiment("ghost")` (the next id, 2) and of a new run, from a
    // store with the same history.
    let d = Store::open(&donor).unwrap();
    assert_eq!(
        d.catalog().create_experiment("real", None, &[]).unwrap(),
        exp
    );
    assert_eq!(
        d.catalog().create_experiment("ghost", None, &[]).unwrap(),
        "2"
    );
    let ghost_line = last_line(&donor.join("experiments.log"));
    let ghost_run = d
        .catalog()
        .create_run(NewRun::in_experiment(&exp).name("ghost-run"))
        .unwrap()
        .run_id;
    drop(d);

    // Processes that journaled delete_run(b), create_experiment("ghost") and that run, then
    // were killed before their commits: their lines, and the presence file each leaves in
    // `writers/` (no longer locked by anyone).
    std::fs::write(dir.join("writers").join("4242-dead"), b"").unwrap();
    append(
        &dir.join("runs").join(&b.run_id).join("RUN.log"),
        &delete_line,
    );
    append(&dir.join("experiments.log"), &ghost_line);
    copy_dir(
        &donor.join("runs").join(&ghost_run),
        &dir.join("runs").join(&ghost_run),
        &[],
    );

    let copy = tmp.path().join("rebuilt");
    copy_dir(&dir, &copy, &["catalog.redb"]);
    let rebuilt = Catalog::open(&copy).unwrap();
    assert_eq!(
        rebuilt.get_run(&b.run_id).unwrap().lifecycle_stage,
        LifecycleStage::Deleted
    );
    assert!(rebuilt.get_experiment_by_name("ghost").unwrap().is_some());
    assert_eq!(rebuilt.get_run(&ghost_run).unwrap().run_name, "ghost-run");

    // The next process to open the store.
    let store = Store::open(&dir).unwrap();
    let diffs = rebuild_differences(&dir, store.catalog(), &rebuilt);
    assert!(
        diffs.is_empty(),
        "the catalog is not what the journals say:\n{}",
        diffs.join("\n")
    );
    let active = store.search_runs(&[&exp], "", &[], 100).unwrap();
    let names: BTreeSet<&str> = active.iter().map(|r| r.run_name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["a", "ghost-run"]));
}
