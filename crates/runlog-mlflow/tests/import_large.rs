//! A 3-million-line metric file imports in bounded memory: the file is streamed line by line
//! and appended in chunks (its own test binary, so that the process's peak RSS is this
//! test's alone).

use std::fs;
use std::io::{BufWriter, Write};

use runlog_catalog::Catalog;
use runlog_metrics::MetricStore;
use runlog_mlflow::{ImportOptions, import};

const EXP: &str = "123456789012345678";
const RUN: &str = "0123456789abcdef0123456789abcdef";
const LINES: i64 = 3_000_000;

/// `VmHWM` (peak resident set) of this process in bytes.
fn peak_rss() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

fn value(i: i64) -> f64 {
    (i % 1000) as f64 / 8.0 + (i / 1000) as f64
}

#[test]
fn a_three_million_line_metric_file_imports_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("mlruns");
    let run = src.join(EXP).join(RUN);
    fs::create_dir_all(run.join("metrics")).unwrap();
    fs::create_dir_all(run.join("params")).unwrap();
    fs::write(
        src.join(EXP).join("meta.yaml"),
        format!(
            "artifact_location: file:///x/{EXP}\ncreation_time: 1\nexperiment_id: '{EXP}'\n\
             last_update_time: 2\nlifecycle_stage: active\nname: big\n"
        ),
    )
    .unwrap();
    fs::write(
        run.join("meta.yaml"),
        format!(
            "artifact_uri: file:///x/{EXP}/{RUN}/artifacts\nend_time: null\nexperiment_id: \
             '{EXP}'\nlifecycle_stage: active\nrun_id: {RUN}\nrun_name: big-run\nstart_time: 5\n\
             status: 1\nuser_id: me\n"
        ),
    )
    .unwrap();
    let metric = run.join("metrics").join("loss");
    {
        let mut w = BufWriter::new(fs::File::create(&metric).unwrap());
        for i in 0..LINES {
            writeln!(w, "{} {:?} {}", 1_700_000_000_000 + i, value(i), i).unwrap();
        }
        w.flush().unwrap();
    }
    let file_size = fs::metadata(&metric).unwrap().len();
    assert!(file_size > 80 << 20, "{file_size}");

    let store = dir.path().join("store");
    let metrics = MetricStore::open(&store).unwrap();
    let catalog = Catalog::open(&store).unwrap();
    let before = peak_rss();
    let report = import(&src, &catalog, &metrics, &ImportOptions::default()).unwrap();
    let after = peak_rss();
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert_eq!(report.metric_points, LINES as u64);
    let growth = after.saturating_sub(before);
    eprintln!(
        "metric file {} MiB, peak RSS {} -> {} MiB (+{} MiB)",
        file_size >> 20,
        before >> 20,
        after >> 20,
        growth >> 20
    );
    assert!(
        growth < file_size / 4,
        "peak RSS grew by {growth} bytes importing a {file_size}-byte file"
    );

    let got = catalog.get_run(RUN).unwrap();
    let latest = got.metrics["loss"];
    assert_eq!(
        (latest.step, latest.timestamp_ms, latest.value),
        (LINES - 1, 1_700_000_000_000 + LINES - 1, value(LINES - 1))
    );
    let reader = metrics.reader(RUN).unwrap();
    let summary = reader.summary("loss").unwrap().unwrap();
    assert_eq!(summary.count, LINES as u64);
    let w = reader.step_window("loss", 1_234_567, 1_234_570).unwrap();
    assert_eq!(w.steps, [1_234_567, 1_234_568, 1_234_569]);
    for (i, v) in w.values.iter().enumerate() {
        assert_eq!(*v, value(1_234_567 + i as i64));
        assert_eq!(w.timestamps_ms[i], 1_700_000_000_000 + 1_234_567 + i as i64);
    }
}
