//! Writing inside the export folder only: names checked against MLflow's key rules before
//! they become paths, every folder created one component at a time and checked to be a real
//! folder (not a symbolic link) as it is walked, files written whole to a temporary file and
//! renamed into place, metric files appended without following links.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use runlog_catalog::validation::ValidationError;

use crate::error::{Error, Result, io};

/// The file at the export's root recording what earlier exports wrote; MLflow ignores plain
/// files at the root of a file store.
pub const STATE_FILE: &str = ".runlog-export.json";

/// Prefix of the temporary files, also plain files at the root (MLflow reads every file
/// under a run's `metrics/`, `params/` and `tags/` as a key, so they cannot live there).
const TEMP_PREFIX: &str = ".runlog-export.tmp.";

/// MLflow's key rule (§8 of the spec): characters `[/\w.\- :]` (`\w` of any script), already
/// path-normalised (no empty, `.` or `..` component, no leading `/`, not starting with `..`),
/// not empty. Returns the `/`-separated components.
///
/// `mlflow_rule` is the catalog's exact MLflow validator for this kind of key (a name MLflow
/// refuses would make the whole run unreadable to it); the checks here are the exporter's own
/// last line of defence for paths, whatever the validator says.
pub fn key_components<'k>(
    what: &dyn Fn() -> String,
    key: &'k str,
    mlflow_rule: fn(&str) -> Result<(), ValidationError>,
) -> Result<Vec<&'k str>> {
    if let Err(e) = mlflow_rule(key) {
        return Err(Error::InvalidName {
            what: what(),
            name: key.to_string(),
            reason: e.to_string(),
        });
    }
    let refuse = |reason: &str| Error::InvalidName {
        what: what(),
        name: key.to_string(),
        reason: reason.to_string(),
    };
    if key.is_empty() {
        return Err(refuse("it is empty"));
    }
    if !key
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | ' ' | ':'))
    {
        return Err(refuse(
            "MLflow allows only letters, digits, `_`, `-`, `.`, ` `, `:` and `/` in keys",
        ));
    }
    if key.starts_with('/') || key.starts_with("..") {
        return Err(refuse("a key may not start with `/` or `..`"));
    }
    let parts: Vec<&str> = key.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err(refuse(
            "a key must be a normalised relative path (no empty, `.` or `..` part, no trailing `/`)",
        ));
    }
    if let Some(long) = parts.iter().find(|p| p.len() > 255) {
        return Err(refuse(&format!(
            "the part {long:?} is longer than the 255 bytes a file name may have"
        )));
    }
    Ok(parts)
}

/// A single safe path component: an experiment or run id (`^[A-Za-z0-9][\w\-]{0,255}$`, ASCII).
pub fn id_component(what: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 255
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName {
            what: what.to_string(),
            name: id.to_string(),
            reason:
                "an id must be ASCII letters, digits, `_` and `-`, starting with a letter or digit"
                    .into(),
        })
    }
}

/// A name that becomes one folder (a registered model's, an alias): not empty, not `.` or
/// `..`, no `/` or NUL, at most 255 bytes.
pub fn name_component(what: &dyn Fn() -> String, name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name == "." || name == ".." {
        "`.` and `..` are not names"
    } else if name.contains('/') || name.contains('\0') {
        "it contains `/` or a NUL byte"
    } else if name.len() > 255 {
        "it is longer than the 255 bytes a file name may have"
    } else {
        return Ok(());
    };
    Err(Error::InvalidName {
        what: what(),
        name: name.to_string(),
        reason: reason.into(),
    })
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Its content was already there.
    Unchanged,
    /// Written (created or replaced).
    Written,
}

/// The export folder.
#[derive(Debug)]
pub struct Tree {
    root: PathBuf,
    temp_counter: u64,
    /// Folders made or checked by this export (checked once each).
    checked: std::cell::RefCell<std::collections::HashSet<PathBuf>>,
    /// A folder no reader looks into yet (a run whose `meta.yaml` is not written): files in
    /// it are written in place, without a temporary file.
    fresh: Option<PathBuf>,
    /// Files written.
    pub written: u64,
    /// Files whose content was already there.
    pub unchanged: u64,
    /// Files and folders removed (tags deleted since the last export, …).
    pub removed: u64,
}

/// How the export folder was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Created, or empty.
    Fresh,
    /// Holds an earlier export (its state file is there).
    Earlier,
}

impl Tree {
    /// Opens the export folder `root`: created when missing, accepted when empty or when it
    /// holds an earlier export; anything else is refused.
    pub fn open(root: &Path) -> Result<(Tree, Found)> {
        let found = match fs::create_dir(root) {
            Ok(()) => Found::Fresh,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let meta = fs::symlink_metadata(root).map_err(io("inspect", root))?;
                if !meta.is_dir() {
                    let (what, hint) = if meta.file_type().is_symlink() {
                        (
                            "a symbolic link",
                            "an export never follows links: give the folder it points to",
                        )
                    } else {
                        ("a file", "give a new or empty folder")
                    };
                    let path = root.to_path_buf();
                    return Err(Error::TargetNotFolder { path, what, hint });
                }
                let mut entries = fs::read_dir(root).map_err(io("list", root))?;
                if entries.next().is_none() {
                    Found::Fresh
                } else if fs::symlink_metadata(root.join(STATE_FILE)).is_ok_and(|m| m.is_file()) {
                    Found::Earlier
                } else {
                    return Err(Error::TargetNotEmpty(root.to_path_buf()));
                }
            }
            Err(e) => return Err(io("create", root)(e)),
        };
        let tree = Tree {
            root: root.to_path_buf(),
            temp_counter: 0,
            checked: Default::default(),
            fresh: None,
            written: 0,
            unchanged: 0,
            removed: 0,
        };
        // Temporary files left by an export that was killed.
        for entry in fs::read_dir(root).map_err(io("list", root))? {
            let entry = entry.map_err(io("list", root))?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok((tree, found))
    }

    /// The path of `parts` below the root, for messages and reads; nothing is checked.
    pub fn path(&self, parts: &[&str]) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(parts);
        path
    }

    /// Makes the folder `parts` (relative to the root), each component a real folder.
    pub fn dir(&self, parts: &[&str]) -> Result<PathBuf> {
        let mut path = self.root.clone();
        for part in parts {
            debug_assert!(!part.is_empty() && *part != "." && *part != ".." && !part.contains('/'));
            path.push(part);
            if self.checked.borrow().contains(&path) {
                continue;
            }
            match fs::create_dir(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io("create folder", &path)(e)),
            }
            // Re-checked at write time: whatever the names, a link planted in the tree is
            // never followed out of it.
            let meta = fs::symlink_metadata(&path).map_err(io("inspect", &path))?;
            if !meta.is_dir() {
                return Err(Error::Escape(path));
            }
            self.checked.borrow_mut().insert(path.clone());
        }
        Ok(path)
    }

    /// Files under the folder `parts` (until the next call) are written in place: nobody
    /// reads that folder yet. `None` ends it.
    pub fn set_fresh(&mut self, parts: Option<&[&str]>) {
        self.fresh = parts.map(|p| self.path(p));
    }

    fn is_fresh(&self, path: &Path) -> bool {
        self.fresh.as_ref().is_some_and(|f| path.starts_with(f))
    }

    /// Makes everything written so far durable: one `syncfs` of the export's file system
    /// rather than an `fsync` per file (an export of a sweep writes hundreds of thousands of
    /// small files). Until then a crash can leave files short or empty, never a half-renamed
    /// tree; the next export compares every file and rewrites what is not right.
    pub fn sync(&self) -> Result<()> {
        let dir = File::open(&self.root).map_err(io("open", &self.root))?;
        rustix::fs::syncfs(&dir).map_err(|e| io("sync", &self.root)(e.into()))
    }

    /// Whether `parts` is a real folder (not a link).
    pub fn is_dir(&self, parts: &[&str]) -> bool {
        fs::symlink_metadata(self.path(parts)).is_ok_and(|m| m.is_dir())
    }

    /// The folder of `dir` + all but the last of `name_parts`, and the file's path in it.
    fn target(&self, dir: &[&str], name_parts: &[&str]) -> Result<PathBuf> {
        let (name, sub) = name_parts.split_last().expect("a file has a name");
        let mut parts = dir.to_vec();
        parts.extend_from_slice(sub);
        let path = self.dir(&parts)?.join(name);
        if fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_dir()) {
            return Err(Error::Escape(path));
        }
        Ok(path)
    }

    /// Writes the small file `dir/…/name` with `content` unless it already holds exactly
    /// that; whole or not at all.
    pub fn put(&mut self, dir: &[&str], name_parts: &[&str], content: &[u8]) -> Result<Written> {
        let path = self.target(dir, name_parts)?;
        if !self.is_fresh(&path)
            && read_no_follow(&path, content.len()).is_some_and(|old| old == content)
        {
            self.unchanged += 1;
            return Ok(Written::Unchanged);
        }
        self.replace(&path, |w| w.write_all(content), None)?;
        Ok(Written::Written)
    }

    /// Writes the file `dir/…/name` whole or not at all: `fill` writes into a temporary file,
    /// which is then renamed over the final name (a link there is replaced, not followed).
    /// `modified` sets the file's modification time.
    pub fn write(
        &mut self,
        dir: &[&str],
        name_parts: &[&str],
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
        modified: Option<std::time::SystemTime>,
    ) -> Result<()> {
        let path = self.target(dir, name_parts)?;
        self.replace(&path, fill, modified)
    }

    fn replace(
        &mut self,
        path: &Path,
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
        modified: Option<std::time::SystemTime>,
    ) -> Result<()> {
        if self.is_fresh(path) {
            // `create_new` fails on anything already there, a symbolic link included: then
            // the file is replaced the safe way below.
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(file) => {
                    let written = fill_file(file, path, fill, modified);
                    if written.is_err() {
                        let _ = fs::remove_file(path);
                    }
                    written?;
                    self.written += 1;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io("create", path)(e)),
            }
        }
        self.temp_counter += 1;
        let tmp = self.root.join(format!(
            "{TEMP_PREFIX}{}.{}",
            std::process::id(),
            self.temp_counter
        ));
        let written = (|| {
            // `create_new` fails on anything already there, a symbolic link included.
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(io("create", &tmp))?;
            fill_file(file, &tmp, fill, modified)?;
            fs::rename(&tmp, path).map_err(io("rename into place", path))
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written?;
        self.written += 1;
        Ok(())
    }

    /// Appends `bytes` to the existing file `dir/…/name` (never through a link).
    pub fn append(&mut self, dir: &[&str], name_parts: &[&str], bytes: &[u8]) -> Result<()> {
        let path = self.target(dir, name_parts)?;
        let mut file = OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io("open for appending", &path))?;
        file.write_all(bytes).map_err(io("append to", &path))?;
        self.written += 1;
        Ok(())
    }

    /// The length of the regular file `parts` (not through a link), if there is one.
    pub fn file_len(&self, parts: &[&str]) -> Option<u64> {
        fs::symlink_metadata(self.path(parts))
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len())
    }

    /// Removes every file below the folder `dir` whose `/`-joined path relative to `dir` is
    /// not in `files`, and folders left empty unless in `folders`; links are removed, never
    /// followed.
    pub fn prune(
        &mut self,
        dir: &[&str],
        files: &BTreeSet<String>,
        folders: &BTreeSet<String>,
    ) -> Result<()> {
        let base = self.path(dir);
        if !self.is_dir(dir) {
            return Ok(());
        }
        self.prune_in(&base, "", files, folders)?;
        Ok(())
    }

    /// Returns whether `folder` is empty afterwards.
    fn prune_in(
        &mut self,
        folder: &Path,
        prefix: &str,
        files: &BTreeSet<String>,
        folders: &BTreeSet<String>,
    ) -> Result<bool> {
        let mut empty = true;
        for entry in fs::read_dir(folder).map_err(io("list", folder))? {
            let entry = entry.map_err(io("list", folder))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let kind = entry.file_type().map_err(io("inspect", &path))?;
            if kind.is_dir() {
                if self.prune_in(&path, &rel, files, folders)? && !folders.contains(&rel) {
                    self.checked.get_mut().clear();
                    fs::remove_dir(&path).map_err(io("remove", &path))?;
                    self.removed += 1;
                } else {
                    empty = false;
                }
            } else if files.contains(&rel) {
                empty = false;
            } else {
                fs::remove_file(&path).map_err(io("remove", &path))?;
                self.removed += 1;
            }
        }
        Ok(empty)
    }

    /// Removes the folder `parts` and everything in it (links inside are removed, not
    /// followed).
    pub fn remove_dir(&mut self, parts: &[&str]) -> Result<()> {
        let path = self.path(parts);
        if self.is_dir(parts) {
            self.checked.get_mut().clear();
            fs::remove_dir_all(&path).map_err(io("remove", &path))?;
            self.removed += 1;
        }
        Ok(())
    }

    /// Moves the folder `from` to `to` (which must not exist) in one rename.
    pub fn move_dir(&mut self, from: &[&str], to: &[&str]) -> Result<()> {
        let (_, parent) = to.split_last().expect("a folder has a name");
        self.dir(parent)?;
        let (src, dst) = (self.path(from), self.path(to));
        if fs::symlink_metadata(&dst).is_ok() {
            return Err(Error::Conflict(dst));
        }
        self.checked.get_mut().clear();
        fs::rename(&src, &dst).map_err(io("move", &src))
    }

    /// The names in the folder `parts` that are real folders.
    pub fn subdirs(&self, parts: &[&str]) -> Result<Vec<String>> {
        let path = self.path(parts);
        if !self.is_dir(parts) {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in fs::read_dir(&path).map_err(io("list", &path))? {
            let entry = entry.map_err(io("list", &path))?;
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Reads a file at the root (the state file), not through a link.
    pub fn read_root_file(&self, name: &str) -> Option<Vec<u8>> {
        read_no_follow(&self.root.join(name), usize::MAX)
    }
}

/// Fills the new `file` (at `path`, for messages) and sets its modification time.
fn fill_file(
    file: File,
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    modified: Option<std::time::SystemTime>,
) -> Result<()> {
    let mut out = io::BufWriter::with_capacity(1 << 16, file);
    fill(&mut out).map_err(io("write", path))?;
    let file: File = out
        .into_inner()
        .map_err(|e| io("write", path)(e.into_error()))?;
    if let Some(time) = modified {
        file.set_modified(time)
            .map_err(io("set the time of", path))?;
    }
    Ok(())
}

/// The content of the regular file `path` if it is at most `limit` bytes (more would differ
/// from what is compared anyway), never through a link.
fn read_no_follow(path: &Path, limit: usize) -> Option<Vec<u8>> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() > limit as u64 {
        return None;
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    file.read_to_end(&mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::fs;

    use runlog_catalog::validation::ValidationError;

    use super::{Found, Tree, Written, key_components, name_component};
    use crate::error::Error;

    #[test]
    fn a_symbolic_link_planted_in_the_export_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("f"), b"keep").unwrap();
        let (mut tree, found) = Tree::open(&dir.path().join("mlruns")).unwrap();
        assert_eq!(found, Found::Fresh);
        tree.dir(&["1", "r"]).unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("mlruns/1/r/params")).unwrap();
        let err = tree.put(&["1", "r", "params"], &["p"], b"v");
        assert!(matches!(err, Err(Error::Escape(_))), "{err:?}");
        let err = tree.put(&["1", "r"], &["params", "sub", "p"], b"v");
        assert!(matches!(err, Err(Error::Escape(_))), "{err:?}");
        // A link in place of a file is replaced, its target untouched.
        tree.dir(&["1", "r", "tags"]).unwrap();
        std::os::unix::fs::symlink(outside.join("f"), dir.path().join("mlruns/1/r/tags/t"))
            .unwrap();
        let err = tree.append(&["1", "r", "tags"], &["t"], b"x");
        assert!(err.is_err(), "appending through a link: {err:?}");
        assert_eq!(
            tree.put(&["1", "r", "tags"], &["t"], b"v").unwrap(),
            Written::Written
        );
        assert!(
            !fs::symlink_metadata(dir.path().join("mlruns/1/r/tags/t"))
                .unwrap()
                .is_symlink()
        );
        // Pruning removes links, never what they point at.
        std::os::unix::fs::symlink(&outside, dir.path().join("mlruns/1/r/tags/l")).unwrap();
        tree.prune(&["1", "r", "tags"], &BTreeSet::new(), &BTreeSet::new())
            .unwrap();
        assert_eq!(fs::read(outside.join("f")).unwrap(), b"keep");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
    }

    #[test]
    fn unchanged_files_are_not_rewritten_and_stale_ones_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let (mut tree, _) = Tree::open(&dir.path().join("mlruns")).unwrap();
        assert_eq!(tree.put(&["t"], &["a"], b"1").unwrap(), Written::Written);
        assert_eq!(
            tree.put(&["t"], &["b", "c"], b"2").unwrap(),
            Written::Written
        );
        assert_eq!(tree.put(&["t"], &["a"], b"1").unwrap(), Written::Unchanged);
        assert_eq!(tree.put(&["t"], &["a"], b"11").unwrap(), Written::Written);
        tree.prune(&["t"], &BTreeSet::from(["a".to_string()]), &BTreeSet::new())
            .unwrap();
        assert!(!dir.path().join("mlruns/t/b").exists());
        assert_eq!(fs::read(dir.path().join("mlruns/t/a")).unwrap(), b"11");
        // No temporary file is left at the root.
        let names: Vec<_> = fs::read_dir(dir.path().join("mlruns"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["t"]);
    }

    #[test]
    fn names_become_single_components() {
        let what = || "model".to_string();
        for bad in ["", ".", "..", "a/b", "a\0b"] {
            assert!(name_component(&what, bad).is_err(), "{bad:?}");
        }
        assert!(name_component(&what, &"x".repeat(256)).is_err());
        for ok in ["m", "my model", "naïve", "..a", "a.."] {
            assert!(name_component(&what, ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn keys_follow_mlflow_rules() {
        let what = || "key".to_string();
        // Without MLflow's validator: the exporter's own path rules alone.
        let any: fn(&str) -> Result<(), ValidationError> = |_| Ok(());
        assert_eq!(
            key_components(&what, "train/loss", any).unwrap(),
            ["train", "loss"]
        );
        for ok in ["a b", "a..b", " a", "colon:key", "größe", "x.y-z_1"] {
            assert!(key_components(&what, ok, any).is_ok(), "{ok:?}");
        }
        for bad in [
            "", "/a", "../a", "..a", "a/../b", "a//b", "a/", ".", "./a", "a*", "a\\b",
        ] {
            assert!(key_components(&what, bad, any).is_err(), "{bad:?}");
        }
        assert!(key_components(&what, &"x".repeat(256), any).is_err());
    }
}
