//! A local folder to log, checked whole before anything is written.
//!
//! Every folder (empty ones too, as MLflow's copy keeps them) and every regular file is
//! listed with its path relative to the folder. Symbolic links are followed only when they
//! resolve inside the folder; one pointing outside, a dangling one, a loop, a FIFO, socket or
//! device, or a name that is not UTF-8 refuses the whole folder, naming the entry.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{ArtifactError, Result};

/// One thing to create, in an order where folders come before what they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A folder, relative to the logged folder.
    Folder(String),
    /// A file: its relative path, where to read it, and its size when listed.
    File { rel: String, src: PathBuf, len: u64 },
}

/// The entries of `root`, which must be a folder (links to one are fine).
pub(crate) fn plan(root: &Path) -> Result<Vec<Entry>> {
    let meta = fs::metadata(root).map_err(|e| ArtifactError::BadLocalPath {
        path: root.to_path_buf(),
        what: format!("cannot log it as a folder of artifacts: {e}"),
    })?;
    if !meta.is_dir() {
        return Err(ArtifactError::BadLocalPath {
            path: root.to_path_buf(),
            what: "not a folder; log a single file with log_artifact".into(),
        });
    }
    let canon = fs::canonicalize(root).map_err(ArtifactError::io("resolve", root))?;
    let mut out = Vec::new();
    let mut stack = vec![canon.clone()];
    walk(root, "", &canon, &mut stack, &mut out)?;
    Ok(out)
}

fn walk(
    dir: &Path,
    rel: &str,
    root: &Path,
    stack: &mut Vec<PathBuf>,
    out: &mut Vec<Entry>,
) -> Result<()> {
    let mut entries: Vec<(String, PathBuf, fs::FileType)> = Vec::new();
    for e in fs::read_dir(dir).map_err(ArtifactError::io("list", dir))? {
        let e = e.map_err(ArtifactError::io("list", dir))?;
        let path = e.path();
        let name = e
            .file_name()
            .into_string()
            .map_err(|_| ArtifactError::NotUnicode { path: path.clone() })?;
        let ft = e.file_type().map_err(ArtifactError::io("inspect", &path))?;
        entries.push((name, path, ft));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, path, ft) in entries {
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let (target, meta) = if ft.is_symlink() {
            let target = fs::canonicalize(&path).map_err(|e| ArtifactError::BadLocalPath {
                path: path.clone(),
                what: format!("a symbolic link that cannot be followed ({e}); remove it"),
            })?;
            if !target.starts_with(root) {
                return Err(ArtifactError::SymlinkOutside {
                    link: path,
                    target,
                    root: root.to_path_buf(),
                });
            }
            let meta = fs::metadata(&target).map_err(ArtifactError::io("inspect", &target))?;
            (Some(target), meta)
        } else {
            let meta = fs::symlink_metadata(&path).map_err(ArtifactError::io("inspect", &path))?;
            (None, meta)
        };
        if meta.is_dir() {
            let canon = match target {
                Some(t) => t,
                None => fs::canonicalize(&path).map_err(ArtifactError::io("resolve", &path))?,
            };
            if stack.contains(&canon) {
                return Err(ArtifactError::SymlinkLoop {
                    link: path,
                    target: canon,
                });
            }
            out.push(Entry::Folder(child.clone()));
            stack.push(canon);
            walk(&path, &child, root, stack, out)?;
            stack.pop();
        } else if meta.is_file() {
            out.push(Entry::File {
                rel: child,
                src: path,
                len: meta.len(),
            });
        } else {
            return Err(ArtifactError::BadLocalPath {
                path,
                what: "not a regular file or folder (a FIFO, socket or device); it cannot be \
                       logged as an artifact"
                    .into(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn rels(plan: &[Entry]) -> Vec<String> {
        plan.iter()
            .map(|e| match e {
                Entry::Folder(r) => format!("{r}/"),
                Entry::File { rel, .. } => rel.clone(),
            })
            .collect()
    }

    #[test]
    fn folders_come_before_their_files_and_empty_ones_are_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        fs::create_dir_all(r.join("b/c")).unwrap();
        fs::create_dir_all(r.join("empty")).unwrap();
        fs::write(r.join("a.txt"), b"1").unwrap();
        fs::write(r.join("b/c/d.txt"), b"22").unwrap();
        let p = plan(r).unwrap();
        assert_eq!(rels(&p), ["a.txt", "b/", "b/c/", "b/c/d.txt", "empty/"]);
    }

    #[test]
    fn links_inside_are_followed_and_links_outside_refuse_the_folder() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), b"s").unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        fs::create_dir(r.join("d")).unwrap();
        fs::write(r.join("d/f"), b"f").unwrap();
        symlink(r.join("d/f"), r.join("to_f")).unwrap();
        symlink("d", r.join("to_d")).unwrap();
        assert_eq!(
            rels(&plan(r).unwrap()),
            ["d/", "d/f", "to_d/", "to_d/f", "to_f"]
        );

        symlink(outside.path().join("secret"), r.join("d/leak")).unwrap();
        let e = plan(r).unwrap_err();
        assert!(matches!(e, ArtifactError::SymlinkOutside { .. }), "{e}");
        assert!(e.to_string().contains("leak"), "{e}");
    }

    #[test]
    fn loops_and_dangling_links_are_refused_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        fs::create_dir(r.join("d")).unwrap();
        symlink("..", r.join("d/up")).unwrap();
        let e = plan(r).unwrap_err();
        assert!(matches!(e, ArtifactError::SymlinkLoop { .. }), "{e}");
        fs::remove_file(r.join("d/up")).unwrap();
        symlink("nowhere", r.join("d/dangling")).unwrap();
        let e = plan(r).unwrap_err();
        assert!(e.to_string().contains("dangling"), "{e}");
    }

    #[test]
    fn a_file_is_not_a_folder() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("f"), b"").unwrap();
        assert!(matches!(
            plan(&tmp.path().join("f")),
            Err(ArtifactError::BadLocalPath { .. })
        ));
        assert!(plan(&tmp.path().join("missing")).is_err());
    }
}
