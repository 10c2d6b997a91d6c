//! W1 through runlog, JSONL, SQLite and redb: ingest rate, bytes per point, full-history (Q1)
//! and step-window (Q2) figures side by side.
//!
//! ```text
//! cargo run --release -p runlog-bench-compare -- --json <path> [--scale <fraction of W1>] [--repeat N]
//! ```
//!
//! Every engine gets the same data, in the same order (keys interleaved 10 000 points at a time),
//! in a fresh temporary folder. Ingest is timed from opening the store to its durable close; the
//! size is every file left in the folder. The queries run on a store opened once beforehand,
//! with its files in the page cache (they were just written). Every answer is checked, bit for
//! bit, against runlog's, and runlog's against the generated data.

mod engine;
mod jsonl;
mod redb_engine;
mod runlog_engine;
mod sqlite;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use runlog_metrics::Points;
use runlog_workloads::{W1_KEYS, W1_STEPS, W1Columns};

use crate::engine::{Engine, Queries, Result};

const USAGE: &str = "\
usage: runlog-bench-compare --json <path> [--scale <fraction of W1>] [--repeat N] [--repeat-ingest N]

  --json <path>     where to write the figures as JSON (required)
  --scale <f>       fraction of W1's 1,000,000 steps to use (default 1.0; 0.1 = 100,000 steps
                    of 10 keys = 1,000,000 points)
  --repeat <N>      runs of Q1 whose median is reported (default 5)
  --repeat-ingest <N>  ingest runs per engine whose median is reported (default 3)
";

/// The key both queries read.
const QUERY_KEY: &str = "train/loss";
/// Points in the Q2 window.
const WINDOW: i64 = 1000;
/// Q2 runs whose median is reported...
const Q2_RUNS: usize = 200;
/// ...unless they take longer than this (after at least `Q2_MIN_RUNS`): JSONL scans the file.
const Q2_BUDGET: Duration = Duration::from_secs(10);
const Q2_MIN_RUNS: usize = 3;

#[derive(Debug)]
struct Args {
    json: PathBuf,
    scale: f64,
    repeat: usize,
    repeat_ingest: usize,
}

/// A positive whole number given to option `name`.
fn positive(name: &str, v: &str) -> std::result::Result<usize, String> {
    v.parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(format!("{name} {v:?} is not a positive integer"))
}

fn parse_args(mut args: impl Iterator<Item = String>) -> std::result::Result<Args, String> {
    let (mut json, mut scale, mut repeat, mut repeat_ingest) = (None, 1.0, 5, 3);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--json" => json = Some(PathBuf::from(value("--json")?)),
            "--scale" => {
                let v = value("--scale")?;
                scale = v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .ok_or(format!("--scale {v:?} is not a positive number"))?;
            }
            "--repeat" => repeat = positive("--repeat", &value("--repeat")?)?,
            "--repeat-ingest" => {
                repeat_ingest = positive("--repeat-ingest", &value("--repeat-ingest")?)?
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    let json = json.ok_or("--json <path> is required")?;
    Ok(Args {
        json,
        scale,
        repeat,
        repeat_ingest,
    })
}

/// The four figures of one engine.
#[derive(Debug, Clone, Copy)]
struct Figures {
    ingest_points_per_s: f64,
    bytes_per_point: f64,
    q1_points_per_s: f64,
    q2_us: f64,
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(why) if why.is_empty() => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("error: {why}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<()> {
    let steps = (W1_STEPS as f64 * args.scale).round() as u64;
    let lo = (500_000.0 * args.scale) as i64;
    let hi = lo + WINDOW;
    if (steps as i64) < hi {
        return Err(format!(
            "--scale {} gives {steps} steps, too few for the Q2 window [{lo}, {hi})",
            args.scale
        )
        .into());
    }
    let total = steps as usize * W1_KEYS.len();
    eprintln!(
        "generating W1: {} keys x {steps} steps = {total} points",
        W1_KEYS.len()
    );
    let data = W1Columns::generate(steps);
    let key = engine::key_index(QUERY_KEY)?;
    let expected_q1 = Points {
        steps: data.steps[key].clone(),
        timestamps_ms: data.timestamps_ms[key].clone(),
        values: data.values[key].clone(),
    };
    let expected_q2 = window_of(&expected_q1, lo, hi);

    let engines: [Box<dyn Engine>; 4] = [
        Box::new(runlog_engine::Runlog),
        Box::new(jsonl::Jsonl),
        Box::new(sqlite::Sqlite),
        Box::new(redb_engine::Redb),
    ];
    let mut results: Vec<(&'static str, Figures)> = Vec::new();
    // runlog's answers, checked against the data; every other engine must match them.
    let mut reference: Option<(Points, Points)> = None;
    for engine in &engines {
        let name = engine.name();
        // Ingest `--repeat-ingest` times into fresh folders; report the median and query the
        // store the last run left.
        let mut ingest_times = Vec::with_capacity(args.repeat_ingest);
        let mut kept = None;
        for run in 0..args.repeat_ingest {
            let tmp = tempfile::Builder::new()
                .prefix(&format!("runlog-compare-{name}-"))
                .tempdir()?;
            eprintln!(
                "[{name}] ingest {}/{}: {total} points into {}",
                run + 1,
                args.repeat_ingest,
                tmp.path().display()
            );
            let t = Instant::now();
            engine.ingest(tmp.path(), &data)?;
            let secs = t.elapsed().as_secs_f64();
            eprintln!(
                "[{name}]   {secs:.3} s ({:.2} M points/s)",
                total as f64 / secs / 1e6
            );
            ingest_times.push(secs);
            kept = Some(tmp); // the previous folder is deleted here
        }
        ingest_times.sort_by(f64::total_cmp);
        let ingest_s = ingest_times[ingest_times.len() / 2];
        let tmp = kept.expect("at least one ingest run");
        let dir = tmp.path();
        let bytes = dir_bytes(dir)?;
        eprintln!(
            "[{name}] ingest median {ingest_s:.3} s ({:.2} M points/s), {bytes} bytes on disk",
            total as f64 / ingest_s / 1e6
        );

        let mut q = engine.open(dir)?;
        let (want_q1, want_q2) = match &reference {
            Some((q1, q2)) => (q1, q2),
            None => (&expected_q1, &expected_q2),
        };
        let (q1_s, q1) = time_q1(q.as_mut(), args.repeat, name, want_q1)?;
        eprintln!(
            "[{name}] Q1 history({QUERY_KEY:?}): {} points, median {:.3} ms over {} runs",
            q1.len(),
            q1_s * 1e3,
            args.repeat
        );
        let (q2_us, q2, runs) = time_q2(q.as_mut(), lo, hi, name, want_q2)?;
        eprintln!(
            "[{name}] Q2 step_window({QUERY_KEY:?}, {lo}, {hi}): {} points, median {q2_us:.1} us \
             over {runs} runs",
            q2.len()
        );
        drop(q);
        if reference.is_none() {
            reference = Some((q1, q2));
        }
        results.push((
            name,
            Figures {
                ingest_points_per_s: total as f64 / ingest_s,
                bytes_per_point: bytes as f64 / total as f64,
                q1_points_per_s: steps as f64 / q1_s,
                q2_us,
            },
        ));
        tmp.close()?;
    }

    print!("{}", table(&results, args, steps, total, lo, hi));
    std::fs::write(&args.json, json(&results))
        .map_err(|e| format!("writing {}: {e}", args.json.display()))?;
    eprintln!("wrote {}", args.json.display());
    Ok(())
}

/// Runs Q1 `repeat` times, checking every answer; returns the median seconds and one answer.
fn time_q1(q: &mut dyn Queries, repeat: usize, name: &str, want: &Points) -> Result<(f64, Points)> {
    let mut times = Vec::with_capacity(repeat);
    let mut last = Points::default();
    for _ in 0..repeat {
        let t = Instant::now();
        let got = q.history(QUERY_KEY)?;
        times.push(t.elapsed().as_secs_f64());
        check(name, "Q1", &got, want)?;
        last = got;
    }
    Ok((median(&mut times), last))
}

/// Runs Q2 up to [`Q2_RUNS`] times (fewer when they pass [`Q2_BUDGET`]) after one warm-up run,
/// checking every answer; returns the median microseconds, one answer and the number of timed
/// runs.
fn time_q2(
    q: &mut dyn Queries,
    lo: i64,
    hi: i64,
    name: &str,
    want: &Points,
) -> Result<(f64, Points, usize)> {
    let first = q.step_window(QUERY_KEY, lo, hi)?;
    check(name, "Q2", &first, want)?;
    let mut times = Vec::with_capacity(Q2_RUNS);
    let started = Instant::now();
    while times.len() < Q2_RUNS && (times.len() < Q2_MIN_RUNS || started.elapsed() < Q2_BUDGET) {
        let t = Instant::now();
        let got = q.step_window(QUERY_KEY, lo, hi)?;
        times.push(t.elapsed().as_secs_f64() * 1e6);
        check(name, "Q2", &got, want)?;
    }
    let runs = times.len();
    Ok((median(&mut times), first, runs))
}

/// The points of `all` with `lo <= step < hi`.
fn window_of(all: &Points, lo: i64, hi: i64) -> Points {
    let mut out = Points::default();
    for p in all.iter().filter(|p| p.step >= lo && p.step < hi) {
        out.push(p);
    }
    out
}

/// Fails unless `got` equals `want` point for point, bit for bit.
fn check(engine: &str, query: &str, got: &Points, want: &Points) -> Result<()> {
    if got.len() != want.len() {
        return Err(format!(
            "{engine} {query} returned {} points, expected {}",
            got.len(),
            want.len()
        )
        .into());
    }
    let differs = |i: usize| {
        got.steps[i] != want.steps[i]
            || got.timestamps_ms[i] != want.timestamps_ms[i]
            || got.values[i].to_bits() != want.values[i].to_bits()
    };
    if let Some(i) = (0..got.len()).find(|&i| differs(i)) {
        return Err(format!(
            "{engine} {query} point {i} is (step {}, ts {}, value {:?}), expected (step {}, ts {}, \
             value {:?})",
            got.steps[i],
            got.timestamps_ms[i],
            got.values[i],
            want.steps[i],
            want.timestamps_ms[i],
            want.values[i]
        )
        .into());
    }
    Ok(())
}

fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Bytes of every file under `dir`.
fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// The figures table and runlog's ratios against each other engine.
fn table(
    results: &[(&str, Figures)],
    args: &Args,
    steps: u64,
    total: usize,
    lo: i64,
    hi: i64,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "W1 at scale {}: {} keys x {steps} steps = {total} points; Q1 = history({QUERY_KEY:?}) \
         ({steps} points, median of {}), Q2 = step_window({QUERY_KEY:?}, {lo}, {hi}) (median)\n",
        args.scale,
        W1_KEYS.len(),
        args.repeat
    );
    let _ = writeln!(
        s,
        "{:<8} {:>16} {:>12} {:>16} {:>12}",
        "engine", "ingest Mpts/s", "bytes/point", "Q1 Mpts/s", "Q2 us"
    );
    for (name, f) in results {
        let _ = writeln!(
            s,
            "{:<8} {:>16.2} {:>12.2} {:>16.2} {:>12.1}",
            name,
            f.ingest_points_per_s / 1e6,
            f.bytes_per_point,
            f.q1_points_per_s / 1e6,
            f.q2_us
        );
    }
    let Some((_, r)) = results.iter().find(|(n, _)| *n == "runlog") else {
        return s;
    };
    let _ = writeln!(
        s,
        "\nrunlog against each engine (above 1x: runlog is better):"
    );
    let _ = writeln!(
        s,
        "{:<8} {:>12} {:>12} {:>12} {:>12}",
        "vs", "ingest", "size", "Q1", "Q2"
    );
    for (name, f) in results.iter().filter(|(n, _)| *n != "runlog") {
        let _ = writeln!(
            s,
            "{:<8} {:>11.1}x {:>11.1}x {:>11.1}x {:>11.1}x",
            name,
            r.ingest_points_per_s / f.ingest_points_per_s,
            f.bytes_per_point / r.bytes_per_point,
            r.q1_points_per_s / f.q1_points_per_s,
            f.q2_us / r.q2_us
        );
    }
    s.push('\n');
    for (name, f) in results.iter().filter(|(n, _)| *n != "runlog") {
        let _ = writeln!(
            s,
            "runlog ingest is {:.1}x {name}, {name} needs {:.1}x runlog's bytes, runlog Q1 is \
             {:.1}x {name}, runlog Q2 is {:.1}x faster than {name}",
            r.ingest_points_per_s / f.ingest_points_per_s,
            f.bytes_per_point / r.bytes_per_point,
            r.q1_points_per_s / f.q1_points_per_s,
            f.q2_us / r.q2_us
        );
    }
    s
}

/// `{"engine": {"figure": number, ...}, ...}`, written by hand.
fn json(results: &[(&str, Figures)]) -> String {
    let num = |x: f64| {
        if x.is_finite() {
            format!("{x}")
        } else {
            "null".to_string()
        }
    };
    let mut s = String::from("{\n");
    for (i, (name, f)) in results.iter().enumerate() {
        let _ = write!(
            s,
            "  \"{name}\": {{\"ingest_points_per_s\": {}, \"bytes_per_point\": {}, \
             \"q1_points_per_s\": {}, \"q2_us\": {}}}",
            num(f.ingest_points_per_s),
            num(f.bytes_per_point),
            num(f.q1_points_per_s),
            num(f.q2_us)
        );
        s.push_str(if i + 1 < results.len() { ",\n" } else { "\n" });
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> std::result::Result<Args, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn args() {
        let a = parse(&["--json", "x.json", "--scale", "0.1", "--repeat", "3"]).unwrap();
        assert_eq!(
            (a.json, a.scale, a.repeat),
            (PathBuf::from("x.json"), 0.1, 3)
        );
        assert!(parse(&[]).is_err());
        assert!(parse(&["--json"]).is_err());
        assert!(parse(&["--json", "x", "--scale", "-1"]).is_err());
        assert!(parse(&["--json", "x", "--repeat", "0"]).is_err());
        assert!(parse(&["--json", "x", "--what"]).is_err());
    }

    #[test]
    fn json_shape() {
        let f = Figures {
            ingest_points_per_s: 5.1e7,
            bytes_per_point: 2.5,
            q1_points_per_s: 1e8,
            q2_us: 12.0,
        };
        let s = json(&[("runlog", f), ("redb", f)]);
        assert!(s.starts_with("{\n  \"runlog\": {\"ingest_points_per_s\": 51000000, "));
        assert!(s.ends_with("\"q2_us\": 12}\n}\n"));
    }
}
