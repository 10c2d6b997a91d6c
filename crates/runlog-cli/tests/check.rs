//! `runlog check [--repair]` and `runlog stats`, end to end: a clean store, a flipped byte in a
//! sealed segment, a torn tail of an active segment (left by a killed writer) repaired.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use runlog::{RunStatus, Store};

const CHILD_ENV: &str = "RUNLOG_CLI_TEST_CHILD_STORE";

fn runlog(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runlog"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A store with one finished run of 3 000 points of `loss` and `acc`; returns the run id.
fn finished_store(dir: &Path) -> String {
    let store = Store::open(dir).unwrap();
    let run = store.experiment("exp").unwrap().start_run("r1").unwrap();
    for step in 0..3000 {
        run.log_metrics(
            step,
            &[
                ("loss", 1.0 / (step + 1) as f64),
                ("acc", step as f64 / 3000.0),
            ],
        )
        .unwrap();
    }
    let id = run.id().to_string();
    run.finish(RunStatus::Finished).unwrap();
    id
}

fn segments(run_dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(run_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    v.sort();
    v
}

#[test]
fn clean_store_exits_0_and_stats_count_it() {
    let tmp = tempfile::tempdir().unwrap();
    finished_store(tmp.path());
    let out = runlog(tmp.path(), &["check"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("checked 1 runs"), "{stdout}");
    assert!(stdout.contains("6000 points"), "{stdout}");
    assert!(stdout.contains("clean"), "{stdout}");
    assert!(
        out.stderr.is_empty(),
        "no progress bar when stderr is not a terminal: {}",
        text(&out.stderr)
    );

    let out = runlog(tmp.path(), &["--format", "json", "stats"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["runs"], 1);
    assert_eq!(v[0]["series"], 2);
    assert_eq!(v[0]["points"], 6000);
    assert!(v[0]["bytes_on_disk"].as_u64().unwrap() > v[0]["metric_bytes"].as_u64().unwrap());
    assert!(v[0]["bytes_per_point"].as_f64().unwrap() > 0.0);
    let out = runlog(tmp.path(), &["--format", "csv", "stats"]);
    assert!(
        text(&out.stdout).starts_with(
            "runs,series,points,bytes_on_disk,metric_bytes,bytes_per_point\n1,2,6000,"
        )
    );
}

#[test]
fn flipped_byte_in_a_sealed_segment_is_reported_and_not_repaired_away() {
    let tmp = tempfile::tempdir().unwrap();
    let id = finished_store(tmp.path());
    let run_dir = tmp.path().join("runs").join(&id);
    let seg = segments(&run_dir).remove(0);
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    std::fs::write(&seg, &bytes).unwrap();

    let out = runlog(tmp.path(), &["check"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let name = seg.file_name().unwrap().to_str().unwrap();
    let line = stdout
        .lines()
        .find(|l| l.contains(name) && l.contains("at byte offset"))
        .unwrap_or_else(|| panic!("no line names {name} with an offset: {stdout}"));
    assert!(line.contains(&id), "{line}");

    // `show` still shows the run and the undamaged series, marks the damaged one and says so.
    let out = runlog(tmp.path(), &["show", &id]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("loss ") || l.starts_with("acc "))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    let damaged: Vec<&&str> = rows.iter().filter(|l| l.ends_with("(damaged)")).collect();
    assert_eq!(damaged.len(), 1, "one series is damaged: {stdout}");
    let whole = rows.iter().find(|l| !l.ends_with("(damaged)")).unwrap();
    assert!(whole.contains("3000") && whole.contains('█'), "{whole}");
    assert!(
        stderr.starts_with("warning: the metric data of ")
            && stderr.contains("at byte offset")
            && stderr.contains("hint: `runlog check`"),
        "{stderr}"
    );
    let key = damaged[0].split_whitespace().next().unwrap();
    let out = runlog(tmp.path(), &["--format", "json", "show", &id]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let marked: Vec<&str> = v["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["damaged"].is_string())
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert_eq!(marked, [key]);
    // Reading the damaged series itself is an error with the same advice.
    let out = runlog(tmp.path(), &["metrics", &id, key]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("corrupt data") && stderr.contains("hint: `runlog check`"),
        "{stderr}"
    );

    // An export goes on without the damaged series, lists it and exits with 1.
    let mlruns = tmp.path().join("mlruns");
    let out = runlog(
        tmp.path(),
        &[
            "--format",
            "json",
            "export",
            "mlflow",
            mlruns.to_str().unwrap(),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["damaged_series"], 1);
    assert_eq!(v["damaged"][0]["run_id"], id.as_str());
    assert_eq!(v["damaged"][0]["key"], key);
    assert_eq!(v["metric_keys"], 1, "the other series is exported");
    assert!(
        stderr.starts_with("warning: 1 series not exported") && stderr.contains(key),
        "{stderr}"
    );

    // --repair cannot fix sealed data without losing it: it says so, and deletes nothing.
    let out = runlog(tmp.path(), &["check", "--repair"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("not repaired"), "{stdout}");
    assert_eq!(std::fs::read(&seg).unwrap(), bytes);
}

#[test]
fn damaged_journal_line_is_reported_with_its_offset() {
    let tmp = tempfile::tempdir().unwrap();
    finished_store(tmp.path());
    let journal = tmp.path().join("experiments.log");
    let mut bytes = std::fs::read(&journal).unwrap();
    let nl = bytes.iter().position(|&b| b == b'\n').unwrap();
    bytes[nl - 2] ^= 0x01;
    std::fs::write(&journal, &bytes).unwrap();
    let out = runlog(tmp.path(), &["check"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("experiments.log at byte offset 0: checksum mismatch"),
        "{stdout}"
    );
}

#[test]
fn missing_catalog_is_rebuilt_by_repair() {
    let tmp = tempfile::tempdir().unwrap();
    finished_store(tmp.path());
    std::fs::remove_file(tmp.path().join("catalog.redb")).unwrap();
    let out = runlog(tmp.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let out = runlog(tmp.path(), &["check", "--repair"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("catalog: rebuilt"), "{stdout}");
    let store = Store::open_read_only(tmp.path()).unwrap();
    assert_eq!(store.catalog().run_count().unwrap(), 1);
}

/// The child side of `torn_tail_is_repaired`: logs, flushes, says so, then waits to be killed.
fn child(dir: &Path) -> ! {
    let store = Store::open(dir).unwrap();
    let run = store
        .experiment("exp")
        .unwrap()
        .start_run("killed")
        .unwrap();
    for step in 0..2000 {
        run.log_metric("loss", step, step as f64).unwrap();
    }
    run.flush().unwrap();
    println!("ACK {}", run.id());
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

#[test]
fn torn_tail_is_repaired() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir));
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut c = Command::new(std::env::current_exe().unwrap())
        .args([
            "torn_tail_is_repaired",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut id = String::new();
    for line in BufReader::new(c.stdout.take().unwrap()).lines() {
        // libtest may have written "test NAME ... " on the same line first.
        if let Some((_, rest)) = line.unwrap().split_once("ACK ") {
            id = rest.trim().to_string();
            break;
        }
    }
    c.kill().unwrap();
    c.wait().unwrap();
    assert!(!id.is_empty(), "the child never acknowledged");
    let run_dir = tmp.path().join("runs").join(&id);
    let seg = segments(&run_dir).pop().unwrap();
    let good_len = std::fs::metadata(&seg).unwrap().len();
    // A record torn mid-write: a header promising more bytes than follow.
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    f.write_all(&[0x02, 0xff, 0x00, 0x00, 0x7a, 0x11, 0x22])
        .unwrap();
    drop(f);

    let out = runlog(tmp.path(), &["check"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let name = seg.file_name().unwrap().to_str().unwrap();
    assert!(
        stdout.contains(&format!("{name} at byte offset {good_len}")),
        "{stdout}"
    );

    let out = runlog(tmp.path(), &["check", "--repair"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("recovered by its writer"), "{stdout}");
    assert!(stdout.trim_end().ends_with("clean"), "{stdout}");
    // The cut bytes are kept aside, and every acknowledged point is still there.
    assert!(
        std::fs::read_dir(&run_dir).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".seg.tail-")),
        "the torn tail is kept"
    );
    let store = Store::open_read_only(tmp.path()).unwrap();
    let h = store.reader(&id).unwrap().history("loss").unwrap();
    assert_eq!(h.len(), 2000);
    assert_eq!(runlog(tmp.path(), &["check"]).status.code(), Some(0));
}

#[test]
fn check_of_a_missing_store_says_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let out = runlog(&tmp.path().join("nope"), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("no store at") && err.contains("hint: "),
        "{err}"
    );
}

#[test]
fn check_reports_as_json_and_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let id = finished_store(tmp.path());
    let out = runlog(tmp.path(), &["--format", "json", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let clean: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(clean["clean"], true);
    assert_eq!(clean["found"]["runs"], 1);
    assert!(clean["found"]["points"].as_u64().unwrap() > 0, "{clean}");
    assert_eq!(clean["found"]["problems"], serde_json::json!([]));
    assert_eq!(clean["after_repair"], serde_json::Value::Null);

    let seg = segments(&tmp.path().join("runs").join(&id)).remove(0);
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x40;
    std::fs::write(&seg, &bytes).unwrap();
    let out = runlog(tmp.path(), &["--format", "json", "check", "--repair"]);
    assert_eq!(out.status.code(), Some(1));
    let damaged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(damaged["clean"], false);
    let problem = &damaged["found"]["problems"][0];
    assert_eq!(problem["run"], id.as_str());
    assert_eq!(problem["path"], seg.display().to_string());
    assert!(problem["offset"].as_u64().is_some(), "{damaged}");
    let repairs = damaged["repairs"].as_array().unwrap();
    assert!(
        repairs[0].as_str().unwrap().contains("not repaired"),
        "{damaged}"
    );
    assert_eq!(damaged["after_repair"]["problems"][0]["run"], id.as_str());

    let out = runlog(tmp.path(), &["--format", "csv", "check"]);
    assert_eq!(out.status.code(), Some(1));
    let csv = text(&out.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "pass,path,offset,run,what");
    assert!(
        lines[1].starts_with(&format!("check,{},", seg.display())) && lines[1].contains(&id),
        "{csv}"
    );
}
