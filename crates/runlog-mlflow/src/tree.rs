//! Writing inside the export folder only: names checked against MLflow's key rules before
//! they become paths, every folder created one component at a time and checked to be a real
//! folder (not a symbolic link) as it is walked, files written to a temporary name and renamed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use runlog_catalog::validation::ValidationError;

use crate::error::{Error, Result, io};

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
    Ok(parts)
}

/// A single safe path component: an experiment or run id (`^[A-Za-z0-9][\w\-]{0,255}$`, ASCII).
pub fn id_component(what: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 256
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

/// The export folder.
#[derive(Debug)]
pub struct Tree {
    root: PathBuf,
    sync: bool,
    files: u64,
}

impl Tree {
    /// Creates `root` if needed; refuses a folder that is not empty.
    pub fn create(root: &Path, sync: bool) -> Result<Tree> {
        match fs::create_dir(root) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let meta = fs::symlink_metadata(root).map_err(io("inspect", root))?;
                if !meta.is_dir() {
                    return Err(Error::Escape(root.to_path_buf()));
                }
                let mut entries = fs::read_dir(root).map_err(io("list", root))?;
                if entries.next().is_some() {
                    return Err(Error::TargetNotEmpty(root.to_path_buf()));
                }
            }
            Err(e) => return Err(io("create", root)(e)),
        }
        Ok(Tree {
            root: root.to_path_buf(),
            sync,
            files: 0,
        })
    }

    /// Files written so far.
    pub fn files(&self) -> u64 {
        self.files
    }

    /// Makes the folder `parts` (relative to the root), each component a real folder.
    pub fn dir(&self, parts: &[&str]) -> Result<PathBuf> {
        let mut path = self.root.clone();
        for part in parts {
            debug_assert!(!part.is_empty() && *part != "." && *part != ".." && !part.contains('/'));
            path.push(part);
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
        }
        Ok(path)
    }

    /// Writes the file `dir/…/name` whole or not at all: `fill` writes into a temporary file
    /// in the same folder, which is then renamed over the final name.
    pub fn file(
        &mut self,
        dir: &[&str],
        name_parts: &[&str],
        fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> Result<()> {
        let (name, sub) = name_parts.split_last().expect("a file has a name");
        let mut parts = dir.to_vec();
        parts.extend_from_slice(sub);
        let folder = self.dir(&parts)?;
        let path = folder.join(name);
        let tmp = folder.join(format!(".{name}.runlog-tmp"));
        let written = (|| {
            // `create_new` fails on anything already there, a symbolic link included.
            let file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(io("create", &tmp))?;
            let mut out = io::BufWriter::with_capacity(1 << 16, file);
            fill(&mut out).map_err(io("write", &tmp))?;
            let file: File = out
                .into_inner()
                .map_err(|e| io("write", &tmp)(e.into_error()))?;
            if self.sync {
                file.sync_data().map_err(io("sync", &tmp))?;
            }
            if fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_dir()) {
                return Err(Error::Escape(path.clone()));
            }
            fs::rename(&tmp, &path).map_err(io("rename into place", &path))
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written?;
        self.files += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use runlog_catalog::validation::ValidationError;

    use super::{Tree, key_components};
    use crate::error::Error;

    #[test]
    fn a_symbolic_link_planted_in_the_export_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let mut tree = Tree::create(&dir.path().join("mlruns"), false).unwrap();
        tree.dir(&["1", "r"]).unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("mlruns/1/r/params")).unwrap();
        let err = tree.file(&["1", "r", "params"], &["p"], |w| w.write_all(b"v"));
        assert!(matches!(err, Err(Error::Escape(_))), "{err:?}");
        let err = tree.file(&["1", "r"], &["params", "sub", "p"], |w| w.write_all(b"v"));
        assert!(matches!(err, Err(Error::Escape(_))), "{err:?}");
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
        assert_eq!(tree.files(), 0);
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
    }
}
