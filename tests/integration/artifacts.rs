//! Run artifacts through the facade: logging files, folders and text, listing, reading and
//! downloading them from any handle, where they live, hostile paths, deleted runs, failed
//! copies, and a file of hundreds of megabytes streamed with bounded memory.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use runlog::artifacts::ArtifactError;
use runlog::{Error, FileInfo, NewRun, RunStatus, Store};

fn file(path: &str, size: u64) -> FileInfo {
    FileInfo {
        path: path.into(),
        is_dir: false,
        file_size: Some(size),
    }
}

fn folder(path: &str) -> FileInfo {
    FileInfo {
        path: path.into(),
        is_dir: true,
        file_size: None,
    }
}

fn artifact_err(e: Error) -> ArtifactError {
    match e {
        Error::Artifacts(a) => a,
        other => panic!("expected an artifact error, got {other}"),
    }
}

/// Every file and folder under `dir`, relative, sorted; folders end in `/`.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let r = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            if e.file_type().unwrap().is_dir() {
                out.push(format!("{r}/"));
                walk(&e.path(), &r, out);
            } else {
                out.push(r);
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, "", &mut out);
    }
    out.sort();
    out
}

/// A local folder to log: nested folders, an empty file, an empty folder, unicode names.
fn sample_folder(dir: &Path) -> PathBuf {
    let src = dir.join("outputs");
    fs::create_dir_all(src.join("plots/2024")).unwrap();
    fs::create_dir_all(src.join("empty")).unwrap();
    fs::write(src.join("plots/2024/loss.svg"), "<svg/>").unwrap();
    fs::write(src.join("plots/größe 📈.txt"), "grand").unwrap();
    fs::write(src.join("empty.log"), "").unwrap();
    src
}

#[test]
fn a_run_logs_files_folders_and_text_and_any_handle_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let store = Store::open(&store_dir).unwrap();
    let exp = store.experiment("artifacts").unwrap();
    let run = exp.start_run("with-artifacts").unwrap();
    let id = run.id().to_string();
    let src = sample_folder(dir.path());
    let weights = dir.path().join("weights.bin");
    fs::write(&weights, [7u8; 4096]).unwrap();

    run.log_artifact(&weights, Some("model")).unwrap();
    run.log_artifacts(&src, None).unwrap();
    run.log_artifact(&src, Some("copies")).unwrap(); // a folder: logged as copies/outputs
    run.log_text("lr: 0.001\n", "config/params.yaml").unwrap();
    run.log_text("", "config/empty.txt").unwrap();

    // Where MLflow puts them: <artifact_location>/<run_id>/artifacts, the location being
    // <store>/artifacts/<experiment_id> by default.
    let info = store.get_run(&id).unwrap();
    let abs = std::path::absolute(&store_dir).unwrap();
    let root = abs
        .join("artifacts")
        .join(exp.id())
        .join(&id)
        .join("artifacts");
    assert_eq!(info.artifact_uri, format!("file://{}", root.display()));
    assert_eq!(
        tree(&root),
        [
            "config/",
            "config/empty.txt",
            "config/params.yaml",
            "copies/",
            "copies/outputs/",
            "copies/outputs/empty.log",
            "copies/outputs/empty/",
            "copies/outputs/plots/",
            "copies/outputs/plots/2024/",
            "copies/outputs/plots/2024/loss.svg",
            "copies/outputs/plots/größe 📈.txt",
            "empty.log",
            "empty/",
            "model/",
            "model/weights.bin",
            "plots/",
            "plots/2024/",
            "plots/2024/loss.svg",
            "plots/größe 📈.txt",
        ]
    );
    run.finish(RunStatus::Finished).unwrap();

    // Another handle, and a read-only one, see the same artifacts.
    drop(store);
    let other = Store::open(&store_dir).unwrap();
    let ro = Store::open_read_only(&store_dir).unwrap();
    for s in [&other, &ro] {
        assert_eq!(
            s.list_artifacts(&id, None).unwrap(),
            [
                folder("config"),
                folder("copies"),
                folder("empty"),
                file("empty.log", 0),
                folder("model"),
                folder("plots"),
            ]
        );
        assert_eq!(
            s.list_artifacts(&id, Some("plots")).unwrap(),
            [folder("plots/2024"), file("plots/größe 📈.txt", 5)]
        );
        assert!(s.list_artifacts(&id, Some("empty")).unwrap().is_empty());
        assert!(s.list_artifacts(&id, Some("empty.log")).unwrap().is_empty());
        assert_eq!(
            s.read_artifact(&id, "config/params.yaml").unwrap(),
            b"lr: 0.001\n"
        );
        let mut buf = Vec::new();
        s.open_artifact(&id, "model/weights.bin")
            .unwrap()
            .read_to_end(&mut buf)
            .unwrap();
        assert_eq!(buf, [7u8; 4096]);
    }

    let dst = dir.path().join("download");
    fs::create_dir(&dst).unwrap();
    assert_eq!(
        ro.download_artifacts(&id, "plots", &dst).unwrap(),
        dst.join("plots")
    );
    assert_eq!(
        ro.download_artifacts(&id, "empty", &dst).unwrap(),
        dst.join("empty")
    );
    assert_eq!(
        tree(&dst),
        [
            "empty/",
            "plots/",
            "plots/2024/",
            "plots/2024/loss.svg",
            "plots/größe 📈.txt"
        ]
    );
    let everything = dir.path().join("everything");
    fs::create_dir(&everything).unwrap();
    ro.download_artifacts(&id, "", &everything).unwrap();
    assert_eq!(tree(&everything), tree(&root));

    // Resuming the run from another handle adds to the same folder.
    let again = other.resume_run(&id).unwrap();
    again.log_text("more", "later.txt").unwrap();
    again.finish(RunStatus::Finished).unwrap();
    assert_eq!(ro.read_artifact(&id, "later.txt").unwrap(), b"more");
}

#[test]
fn a_run_without_artifacts_lists_nothing_and_reading_names_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    assert!(store.list_artifacts(run.id(), None).unwrap().is_empty());
    let e = artifact_err(store.read_artifact(run.id(), "model.bin").unwrap_err());
    assert!(matches!(e, ArtifactError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("\"model.bin\""), "{e}");
    assert!(
        store
            .list_artifacts("0123456789abcdef0123456789abcdef", None)
            .is_err(),
        "an unknown run"
    );
}

#[test]
fn a_deleted_run_refuses_new_artifacts_until_restored() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    run.log_text("before", "a.txt").unwrap();
    store.catalog().delete_run(run.id()).unwrap();
    let e = run.log_text("after", "b.txt").unwrap_err();
    assert!(e.to_string().contains("deleted"), "{e}");
    assert!(e.to_string().contains(run.id()), "{e}");
    let f = dir.path().join("f.txt");
    fs::write(&f, "x").unwrap();
    assert!(run.log_artifact(&f, None).is_err());
    assert!(run.log_artifacts(dir.path(), Some("x")).is_err());
    // What it had stays readable, as in MLflow.
    assert_eq!(
        store.list_artifacts(run.id(), None).unwrap(),
        [file("a.txt", 6)]
    );
    store.catalog().restore_run(run.id()).unwrap();
    run.log_text("after", "b.txt").unwrap();
    assert_eq!(store.list_artifacts(run.id(), None).unwrap().len(), 2);
}

#[test]
fn hostile_artifact_paths_are_refused_naming_the_path_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    let store = Store::open(&store_dir).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    let id = run.id().to_string();
    let f = dir.path().join("f.txt");
    fs::write(&f, "x").unwrap();
    let before = tree(dir.path());
    for p in [
        "../../../escape",
        "a/../../b",
        "/etc",
        "/tmp/x",
        "nul\0byte",
        "..",
        "x/..",
    ] {
        let named = format!("{p:?}");
        let errs = [
            run.log_artifact(&f, Some(p)).unwrap_err(),
            run.log_artifacts(dir.path(), Some(p)).unwrap_err(),
            run.log_text("x", p).unwrap_err(),
            store.list_artifacts(&id, Some(p)).unwrap_err(),
            store.read_artifact(&id, p).unwrap_err(),
            store.open_artifact(&id, p).unwrap_err(),
            store.download_artifacts(&id, p, dir.path()).unwrap_err(),
        ];
        for e in errs {
            let e = artifact_err(e);
            assert!(matches!(e, ArtifactError::InvalidPath { .. }), "{p:?}: {e}");
            assert!(e.to_string().contains(&named), "{e}");
        }
    }
    assert_eq!(tree(dir.path()), before, "a refused call changed files");

    // A folder holding a link out of it is refused before anything is logged.
    let src = dir.path().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("ok.txt"), "ok").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", src.join("passwd")).unwrap();
    let e = artifact_err(run.log_artifacts(&src, None).unwrap_err());
    assert!(matches!(e, ArtifactError::SymlinkOutside { .. }), "{e}");
    assert!(e.to_string().contains("passwd"), "{e}");
    assert!(store.list_artifacts(&id, None).unwrap().is_empty());
}

/// Yields `ok` bytes, then fails.
struct FailAfter(u64);

impl Read for FailAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("upload interrupted"));
        }
        let n = buf.len().min(self.0 as usize);
        buf[..n].fill(3);
        self.0 -= n as u64;
        Ok(n)
    }
}

#[test]
fn a_failed_copy_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    run.log_text("v1", "ckpt/model.bin").unwrap();
    let repo = store.artifacts(run.id()).unwrap();
    let files_before = tree(repo.root());
    for n in [0, 100, 3 << 20] {
        let e = repo
            .copy_from_reader(FailAfter(n), "ckpt/model.bin")
            .unwrap_err();
        assert!(e.to_string().contains("upload interrupted"), "{e}");
        assert!(repo.copy_from_reader(FailAfter(n), "ckpt/new.bin").is_err());
        assert!(
            repo.copy_from_reader(FailAfter(n), "fresh/dir/new.bin")
                .is_err()
        );
    }
    // No temporary file, no partial file; the earlier artifact intact. (The folders of the
    // failed copy to `fresh/dir` were made, as MLflow makes them before copying.)
    let mut want = files_before;
    want.extend(["fresh/".to_string(), "fresh/dir/".to_string()]);
    want.sort();
    assert_eq!(tree(repo.root()), want);
    assert_eq!(
        store.read_artifact(run.id(), "ckpt/model.bin").unwrap(),
        b"v1"
    );
}

#[test]
fn artifact_uris_given_at_creation_are_honoured_and_decoded_as_mlflow_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    // MLflow writes file URIs percent-encoded (pathlib's as_uri).
    let elsewhere = dir.path().join("elsewhere dü");
    let encoded = format!(
        "file://{}",
        dir.path().join("elsewhere%20d%C3%BC").display()
    );
    let run = store
        .start_run(NewRun {
            artifact_uri: Some(encoded),
            ..NewRun::default()
        })
        .unwrap();
    run.log_text("x", "a.txt").unwrap();
    assert_eq!(fs::read(elsewhere.join("a.txt")).unwrap(), b"x");
    assert_eq!(
        store.list_artifacts(run.id(), None).unwrap(),
        [file("a.txt", 1)]
    );

    let run = store
        .start_run(NewRun {
            artifact_uri: Some("s3://bucket/run/artifacts".into()),
            ..NewRun::default()
        })
        .unwrap();
    let e = artifact_err(run.log_text("x", "a.txt").unwrap_err());
    assert!(matches!(e, ArtifactError::UnsupportedUri { .. }), "{e}");
    assert!(e.to_string().contains("s3://bucket/run/artifacts"), "{e}");
}

#[test]
fn a_store_in_a_folder_with_spaces_percent_signs_and_unicode_keeps_its_artifacts_inside() {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("my store %41 ü");
    let store = Store::open(&store_dir).unwrap();
    let run = store.start_run(NewRun::default()).unwrap();
    run.log_text("x", "a.txt").unwrap();
    let want = store_dir
        .join("artifacts/0")
        .join(run.id())
        .join("artifacts/a.txt");
    assert_eq!(fs::read(want).unwrap(), b"x");
    assert_eq!(
        tree(dir.path())
            .iter()
            .filter(|p| !p.starts_with("my store"))
            .count(),
        0
    );
}

#[test]
fn a_moved_store_still_finds_its_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let id = {
        let store = Store::open(&a).unwrap();
        let run = store.start_run(NewRun::default()).unwrap();
        run.log_text("kept", "notes.txt").unwrap();
        let id = run.id().to_string();
        run.finish(RunStatus::Finished).unwrap();
        id
    };
    fs::rename(&a, &b).unwrap();
    let store = Store::open(&b).unwrap();
    assert!(
        store
            .get_run(&id)
            .unwrap()
            .artifact_uri
            .contains("/a/artifacts/")
    );
    assert_eq!(store.read_artifact(&id, "notes.txt").unwrap(), b"kept");
    assert_eq!(
        store.list_artifacts(&id, None).unwrap(),
        [file("notes.txt", 4)]
    );
}

// ---------------------------------------------------------------------------------------------
// A big file, in a child process so that its peak memory is its own.

const BIG_ENV: &str = "RUNLOG_ARTIFACTS_BIG_CHILD";
const BIG_TEST: &str = "artifacts::a_file_of_hundreds_of_megabytes_is_streamed_with_bounded_memory";
/// Allowed growth of the peak resident set while logging, downloading and verifying it.
const MAX_GROWTH_KIB: u64 = 64 * 1024;

/// Pseudo-random bytes (SplitMix64), `len` of them, never held in memory.
struct Generated {
    left: u64,
    state: u64,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// This process's peak resident set (`VmHWM`), KiB.
fn peak_rss_kib() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

/// Size and CRC-32 of what `r` yields, read through a 1 MiB buffer.
fn crc_of(mut r: impl Read) -> (u64, u32) {
    let mut buf = vec![0u8; 1 << 20];
    let mut h = crc32fast::Hasher::new();
    let mut n = 0u64;
    loop {
        let k = r.read(&mut buf).unwrap();
        if k == 0 {
            return (n, h.finalize());
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
}

fn big_child(dir: &Path) {
    // The harness printed "test … " without a newline.
    println!();
    let mb: u64 = std::env::var("RUNLOG_BIG_ARTIFACT_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let len = mb << 20;
    let store = Store::open(dir.join("store")).unwrap();
    let run = store.start_run(NewRun::default().name("big")).unwrap();
    let id = run.id().to_string();
    let before = peak_rss_kib();

    let src = dir.join("checkpoint.bin");
    let t = Instant::now();
    let mut out = fs::File::create(&src).unwrap();
    io::copy(
        &mut Generated {
            left: len,
            state: 42,
        },
        &mut out,
    )
    .unwrap();
    drop(out);
    let generated = crc_of(Generated {
        left: len,
        state: 42,
    });
    let gen_secs = t.elapsed().as_secs_f64();

    let t = Instant::now();
    run.log_artifact(&src, Some("ckpt")).unwrap();
    let log_secs = t.elapsed().as_secs_f64();
    fs::remove_file(&src).unwrap();
    run.finish(RunStatus::Finished).unwrap();
    assert_eq!(
        store.list_artifacts(&id, Some("ckpt")).unwrap(),
        [file("ckpt/checkpoint.bin", len)]
    );
    assert_eq!(
        crc_of(store.open_artifact(&id, "ckpt/checkpoint.bin").unwrap()),
        generated
    );

    let t = Instant::now();
    let dst = dir.join("dst");
    fs::create_dir(&dst).unwrap();
    let got = store.download_artifacts(&id, "ckpt", &dst).unwrap();
    let download_secs = t.elapsed().as_secs_f64();
    assert_eq!(
        crc_of(fs::File::open(got.join("checkpoint.bin")).unwrap()),
        generated
    );
    let growth = peak_rss_kib().saturating_sub(before);
    println!(
        "BIG mb={mb} growth_kib={growth} before_kib={before} generate_s={gen_secs:.2} \
         log_s={log_secs:.2} download_s={download_secs:.2}"
    );
}

#[test]
fn a_file_of_hundreds_of_megabytes_is_streamed_with_bounded_memory() {
    if let Ok(dir) = std::env::var(BIG_ENV) {
        big_child(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([BIG_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(BIG_ENV, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("BIG "))
        .unwrap_or_else(|| panic!("child said {stdout}"));
    println!("{line}");
    let growth: u64 = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("growth_kib="))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(
        growth < MAX_GROWTH_KIB,
        "peak RSS grew by {growth} KiB streaming the file: {line}"
    );
}
