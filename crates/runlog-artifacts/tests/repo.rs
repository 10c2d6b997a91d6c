//! `ArtifactRepo` through its public API: MLflow's listing semantics, logging files and
//! folders, downloads, and everything hostile refused.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use runlog_artifacts::{ArtifactError, ArtifactRepo, FileInfo};

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

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mlflow-run-artifacts")
}

#[test]
fn a_run_written_by_mlflow_lists_as_mlflow_listed_it() {
    // MLflow 3.17.2's `list_artifacts(run_id)` of this run (shared/fixtures/
    // mlruns-sample.expected.json, `artifacts_root`): ["model", "notes.txt", "reports"].
    let repo = ArtifactRepo::new(fixture());
    assert_eq!(
        repo.list_artifacts(None).unwrap(),
        [folder("model"), file("notes.txt", 18), folder("reports")]
    );
    assert_eq!(
        repo.list_artifacts(Some("reports")).unwrap(),
        [file("reports/a.json", 19), folder("reports/sub")]
    );
    assert_eq!(
        repo.list_artifacts(Some("reports/sub")).unwrap(),
        [file("reports/sub/b.csv", 8)]
    );
    // MLflow normalises the path it lists (os.path.normpath).
    for p in ["reports/", "./reports", "reports//.", "reports/sub/.."] {
        if p.contains("..") {
            assert!(repo.list_artifacts(Some(p)).is_err(), "{p}");
        } else {
            assert_eq!(repo.list_artifacts(Some(p)).unwrap().len(), 2, "{p}");
        }
    }
    // A file or a missing path lists nothing.
    assert!(repo.list_artifacts(Some("notes.txt")).unwrap().is_empty());
    assert!(repo.list_artifacts(Some("nope")).unwrap().is_empty());
    assert!(repo.list_artifacts(Some("notes.txt/x")).unwrap().is_empty());
    assert_eq!(repo.read("model/weights.txt").unwrap().len(), 12);
}

#[test]
fn a_missing_root_lists_nothing_and_reads_name_the_path() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = ArtifactRepo::new(tmp.path().join("not/yet"));
    assert!(repo.list_artifacts(None).unwrap().is_empty());
    let e = repo.read("a.txt").unwrap_err();
    assert!(matches!(e, ArtifactError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("\"a.txt\""), "{e}");
    assert!(!tmp.path().join("not").exists(), "reading created folders");
}

#[test]
fn listings_are_sorted_by_code_point_as_python_sorts_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = ArtifactRepo::new(tmp.path().join("root"));
    let names = [
        "b", "a.txt", "a", "A", "ä", "_", "Z", "😀", "日本", "a b", "a-b", "a.b", ".hidden",
    ];
    for n in names {
        repo.log_text(n, &format!("d/{n}")).unwrap();
    }
    fs::create_dir(tmp.path().join("root/d/a c")).unwrap();
    // Python: sorted(...) of the paths.
    let want = [
        "d/.hidden",
        "d/A",
        "d/Z",
        "d/_",
        "d/a",
        "d/a b",
        "d/a c",
        "d/a-b",
        "d/a.b",
        "d/a.txt",
        "d/b",
        "d/ä",
        "d/日本",
        "d/😀",
    ];
    let got = repo.list_artifacts(Some("d")).unwrap();
    assert_eq!(
        got.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
        want
    );
    for f in &got {
        let name = f.path.strip_prefix("d/").unwrap();
        if name == "a c" {
            assert_eq!(f, &folder("d/a c"));
        } else {
            assert_eq!(f, &file(&f.path, name.len() as u64));
        }
    }
}

#[test]
fn files_and_folders_are_logged_where_mlflow_puts_them() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("nested/deeper/deepest")).unwrap();
    fs::create_dir_all(src.join("empty/also empty")).unwrap();
    fs::write(src.join("top.txt"), b"top").unwrap();
    fs::write(src.join("zero"), b"").unwrap();
    fs::write(
        src.join("nested/deeper/deepest/ünï cødé.txt"),
        "ü".repeat(100),
    )
    .unwrap();
    let one = tmp.path().join("model.bin");
    fs::write(&one, [9u8; 1000]).unwrap();

    let root = tmp.path().join("artifacts");
    let repo = ArtifactRepo::from_uri(&format!("file://{}", root.display())).unwrap();
    repo.log_artifact(&one, None).unwrap();
    repo.log_artifact(&one, Some("models/v1")).unwrap();
    repo.log_artifacts(&src, Some("out")).unwrap();
    repo.log_artifacts(&src, None).unwrap();
    assert_eq!(
        tree(&root),
        [
            "empty/",
            "empty/also empty/",
            "model.bin",
            "models/",
            "models/v1/",
            "models/v1/model.bin",
            "nested/",
            "nested/deeper/",
            "nested/deeper/deepest/",
            "nested/deeper/deepest/ünï cødé.txt",
            "out/",
            "out/empty/",
            "out/empty/also empty/",
            "out/nested/",
            "out/nested/deeper/",
            "out/nested/deeper/deepest/",
            "out/nested/deeper/deepest/ünï cødé.txt",
            "out/top.txt",
            "out/zero",
            "top.txt",
            "zero",
        ]
    );
    assert_eq!(
        repo.list_artifacts(Some("out")).unwrap(),
        [
            folder("out/empty"),
            folder("out/nested"),
            file("out/top.txt", 3),
            file("out/zero", 0)
        ]
    );
    assert_eq!(repo.read("out/zero").unwrap(), b"");
    assert_eq!(
        repo.read("nested/deeper/deepest/ünï cødé.txt").unwrap(),
        "ü".repeat(100).as_bytes()
    );

    // Logging again replaces, and merges folders (MLflow's copytree(dirs_exist_ok=True)).
    fs::write(&one, b"new").unwrap();
    repo.log_artifact(&one, None).unwrap();
    assert_eq!(repo.read("model.bin").unwrap(), b"new");
    fs::write(src.join("second.txt"), b"2").unwrap();
    repo.log_artifacts(&src, Some("out")).unwrap();
    assert_eq!(repo.list_artifacts(Some("out")).unwrap().len(), 5);

    // A folder is not a file and the other way round.
    assert!(matches!(
        repo.log_artifact(&src, None),
        Err(ArtifactError::BadLocalPath { .. })
    ));
    assert!(matches!(
        repo.log_artifacts(&one, None),
        Err(ArtifactError::BadLocalPath { .. })
    ));
    let e = repo.log_artifact(&one, Some("model.bin")).unwrap_err();
    assert!(matches!(e, ArtifactError::InTheWay { .. }), "{e}");
    let e = repo.open("out").unwrap_err();
    assert!(matches!(e, ArtifactError::IsAFolder { .. }), "{e}");
}

#[test]
fn downloads_keep_the_artifact_path_and_empty_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = ArtifactRepo::new(fixture());
    let dst = tmp.path().join("dst");
    fs::create_dir(&dst).unwrap();
    assert_eq!(repo.download("reports", &dst).unwrap(), dst.join("reports"));
    assert_eq!(
        tree(&dst),
        [
            "reports/",
            "reports/a.json",
            "reports/sub/",
            "reports/sub/b.csv"
        ]
    );
    assert_eq!(
        repo.download("model/MLmodel", &dst).unwrap(),
        dst.join("model/MLmodel")
    );
    assert_eq!(
        fs::read(dst.join("model/MLmodel")).unwrap(),
        repo.read("model/MLmodel").unwrap()
    );

    let all = tmp.path().join("all");
    fs::create_dir(&all).unwrap();
    assert_eq!(repo.download("", &all).unwrap(), all);
    assert_eq!(tree(&all), tree(&fixture()));

    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("e/f")).unwrap();
    let r2 = ArtifactRepo::new(tmp.path().join("r2"));
    r2.log_artifacts(&src, Some("x")).unwrap();
    let d2 = tmp.path().join("d2");
    fs::create_dir(&d2).unwrap();
    r2.download("x", &d2).unwrap();
    assert_eq!(tree(&d2), ["x/", "x/e/", "x/e/f/"]);

    // The destination must be an existing folder (MLflow's rule).
    for bad in [tmp.path().join("missing"), dst.join("model/MLmodel")] {
        let e = repo.download("notes.txt", &bad).unwrap_err();
        assert!(matches!(e, ArtifactError::BadLocalPath { .. }), "{e}");
    }
    let e = repo.download("nope", &dst).unwrap_err();
    assert!(matches!(e, ArtifactError::NotFound { .. }), "{e}");
}

#[test]
fn hostile_paths_are_refused_with_the_path_named_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("store/artifacts");
    let repo = ArtifactRepo::new(&root);
    let f = tmp.path().join("f.txt");
    fs::write(&f, b"x").unwrap();
    let hostile = [
        "../escape",
        "a/../../escape",
        "/etc",
        "/tmp/x",
        "a\0b",
        "..",
        "a/..",
    ];
    for p in hostile {
        let named = format!("{p:?}");
        let errs = [
            repo.log_artifact(&f, Some(p)).unwrap_err(),
            repo.log_artifacts(tmp.path(), Some(p)).unwrap_err(),
            repo.log_text("x", &format!("{p}/t.txt")).unwrap_err(),
            repo.copy_from_reader(&b"x"[..], p).unwrap_err(),
            repo.list_artifacts(Some(p)).unwrap_err(),
            repo.read(p).unwrap_err(),
            repo.open(p).unwrap_err(),
            repo.download(p, tmp.path()).unwrap_err(),
        ];
        for e in errs {
            assert!(matches!(e, ArtifactError::InvalidPath { .. }), "{p:?}: {e}");
            let msg = e.to_string();
            assert!(
                msg.contains(&named) || msg.contains(&format!("{:?}", format!("{p}/t.txt"))),
                "{msg}"
            );
        }
    }
    // MLflow's verify_artifact_path: folders to write into must be normalised.
    for p in ["a//b", "a/", "./a", "..a"] {
        let e = repo.log_artifact(&f, Some(p)).unwrap_err();
        assert!(e.to_string().contains(&format!("{p:?}")), "{e}");
    }
    assert_eq!(
        tree(tmp.path()),
        ["f.txt"],
        "a refused call wrote something"
    );
}

#[test]
fn links_never_lead_out_of_the_artifact_root() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("secret"), b"secret").unwrap();
    let root = tmp.path().join("root");
    let repo = ArtifactRepo::new(&root);
    repo.log_text("fine", "ok.txt").unwrap();
    repo.log_text("inner", "inner/f.txt").unwrap();
    symlink(&outside, root.join("evil_dir")).unwrap();
    symlink(outside.join("secret"), root.join("evil_file")).unwrap();
    symlink("inner/f.txt", root.join("good_link")).unwrap();
    symlink("nowhere", root.join("dangling")).unwrap();

    // Listed: what resolves inside; left out: links out and dangling links.
    assert_eq!(
        repo.list_artifacts(None).unwrap(),
        [file("good_link", 5), folder("inner"), file("ok.txt", 4)]
    );
    for p in ["evil_file", "evil_dir/secret"] {
        let e = repo.read(p).unwrap_err();
        assert!(matches!(e, ArtifactError::OutsideRoot { .. }), "{p}: {e}");
        assert!(e.to_string().contains(&format!("{p:?}")), "{e}");
        assert!(repo.download(p, tmp.path()).is_err());
    }
    assert!(repo.list_artifacts(Some("evil_dir")).is_err());
    assert_eq!(repo.read("good_link").unwrap(), b"inner");

    // Writing through a link out of the root is refused; nothing lands outside.
    let e = repo.log_text("x", "evil_dir/new.txt").unwrap_err();
    assert!(matches!(e, ArtifactError::OutsideRoot { .. }), "{e}");
    let e = repo.log_text("x", "evil_dir/sub/new.txt").unwrap_err();
    assert!(matches!(e, ArtifactError::OutsideRoot { .. }), "{e}");
    // Replacing a link by a file replaces the link, never its target.
    repo.log_text("replaced", "evil_file").unwrap();
    assert_eq!(fs::read(outside.join("secret")).unwrap(), b"secret");
    assert_eq!(tree(&outside), ["secret"]);

    // A downloaded root copies what is inside and nothing else.
    let dst = tmp.path().join("dst");
    fs::create_dir(&dst).unwrap();
    repo.download("", &dst).unwrap();
    assert_eq!(
        tree(&dst),
        ["evil_file", "good_link", "inner/", "inner/f.txt", "ok.txt"]
    );
}

#[test]
fn a_folder_with_a_link_outside_it_is_refused_whole() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("secret"), b"s").unwrap();
    let src = tmp.path().join("src");
    fs::create_dir_all(src.join("a")).unwrap();
    fs::write(src.join("a/fine.txt"), b"f").unwrap();
    symlink(tmp.path().join("secret"), src.join("z_leak")).unwrap();
    let root = tmp.path().join("root");
    let repo = ArtifactRepo::new(&root);
    let e = repo.log_artifacts(&src, Some("out")).unwrap_err();
    assert!(matches!(e, ArtifactError::SymlinkOutside { .. }), "{e}");
    assert!(e.to_string().contains("z_leak"), "{e}");
    assert!(!root.exists(), "something was logged: {:?}", tree(&root));
}

/// Yields `ok` bytes, then fails.
struct FailAfter(u64);

impl Read for FailAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("network gone"));
        }
        let n = buf.len().min(self.0 as usize);
        buf[..n].fill(1);
        self.0 -= n as u64;
        Ok(n)
    }
}

#[test]
fn a_failed_copy_leaves_nothing_visible_and_keeps_the_earlier_artifact() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let repo = ArtifactRepo::new(&root);
    repo.log_text("v1", "ckpt/model.bin").unwrap();
    for n in [0, 1, 5 << 20] {
        let e = repo
            .copy_from_reader(FailAfter(n), "ckpt/model.bin")
            .unwrap_err();
        assert!(e.to_string().contains("network gone"), "{e}");
        let e = repo
            .copy_from_reader(FailAfter(n), "ckpt/other.bin")
            .unwrap_err();
        assert!(e.to_string().contains("\"ckpt/other.bin\""), "{e}");
    }
    assert_eq!(tree(&root), ["ckpt/", "ckpt/model.bin"]);
    assert_eq!(repo.read("ckpt/model.bin").unwrap(), b"v1");
    assert_eq!(repo.copy_from_reader(FailAfter(0).take(0), "e").unwrap(), 0);
}

#[test]
fn temporary_files_of_copies_in_flight_are_never_listed_or_read() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let repo = ArtifactRepo::new(&root);
    repo.log_text("a", "a.txt").unwrap();
    fs::write(root.join(".runlog-tmp-1-1"), b"partial").unwrap();
    assert_eq!(repo.list_artifacts(None).unwrap(), [file("a.txt", 1)]);
    assert!(repo.read(".runlog-tmp-1-1").is_err());
}
