//! [`ArtifactRepo`]: one run's artifact root, a local folder.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::copy::{self, is_temp_name};
use crate::error::{ArtifactError, Result};
use crate::path;
use crate::tree::{self, Entry};

/// An artifact or folder directly under a listed folder: MLflow's `FileInfo`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileInfo {
    /// Its path relative to the artifact root, `/`-separated (`reports/a.json`).
    pub path: String,
    /// Whether it is a folder.
    pub is_dir: bool,
    /// Its size in bytes; `None` for a folder.
    pub file_size: Option<u64>,
}

/// A run's artifact root: a local folder that need not exist until something is logged.
///
/// Semantics are MLflow's `LocalArtifactRepository`. Every file is written through a
/// temporary file in its destination folder (streamed through a 1 MiB buffer, CRC-32 computed
/// while copying, synced, read back and compared, then renamed), so a file under its final
/// name is always complete and a failed copy leaves nothing visible. Paths are refused when
/// absolute, with a `..` component or a NUL byte; links are never followed out of the root.
#[derive(Debug, Clone)]
pub struct ArtifactRepo {
    root: PathBuf,
}

impl ArtifactRepo {
    /// The repository rooted at the local folder `root`.
    pub fn new(root: impl Into<PathBuf>) -> ArtifactRepo {
        ArtifactRepo { root: root.into() }
    }

    /// The repository of an artifact URI: `file:///…` (percent-escapes decoded, as MLflow
    /// does) or a plain path. Other schemes are refused with
    /// [`ArtifactError::UnsupportedUri`].
    pub fn from_uri(uri: &str) -> Result<ArtifactRepo> {
        Ok(ArtifactRepo::new(path::uri_to_path(uri)?))
    }

    /// The repository of a run of the store at `store_root` whose recorded artifact URI is
    /// `artifact_uri`, for reading. When the recorded root is gone and the store holds the
    /// run's artifacts in its default place (`<store>/artifacts/<experiment>/<run>/artifacts`),
    /// that is used: the store folder was moved.
    pub fn for_run(
        store_root: &Path,
        artifact_uri: &str,
        experiment_id: &str,
        run_id: &str,
    ) -> Result<ArtifactRepo> {
        let repo = ArtifactRepo::from_uri(artifact_uri)?;
        if !repo.root().exists() {
            // Both ids come from the catalog, which validated them: [A-Za-z0-9_-].
            let local = store_root
                .join("artifacts")
                .join(experiment_id)
                .join(run_id)
                .join("artifacts");
            if local.exists() {
                return Ok(ArtifactRepo::new(local));
            }
        }
        Ok(repo)
    }

    /// The artifact root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Copies the local file `local_file` into the folder `artifact_path` (the root when
    /// `None`) under its own name, replacing an artifact of that name (MLflow's
    /// `log_artifact`).
    pub fn log_artifact(
        &self,
        local_file: impl AsRef<Path>,
        artifact_path: Option<&str>,
    ) -> Result<()> {
        let local_file = local_file.as_ref();
        let dir = path::write_dir(artifact_path)?;
        let meta = fs::metadata(local_file).map_err(|e| ArtifactError::BadLocalPath {
            path: local_file.to_path_buf(),
            what: format!("cannot log it: {e}"),
        })?;
        if !meta.is_file() {
            return Err(ArtifactError::BadLocalPath {
                path: local_file.to_path_buf(),
                what: if meta.is_dir() {
                    "a folder; log it with log_artifacts".into()
                } else {
                    "not a regular file; it cannot be logged as an artifact".into()
                },
            });
        }
        let name = file_name(local_file)?;
        let dest = self.folder_for_writing(&dir)?;
        let src = File::open(local_file).map_err(ArtifactError::io("open", local_file))?;
        copy::write_atomic(&dest, &name, src, local_file, Some(meta.len()))?;
        Ok(())
    }

    /// Copies everything in the local folder `local_dir` (not the folder itself), recursively,
    /// into the folder `artifact_path` (the root when `None`), empty folders included
    /// (MLflow's `log_artifacts`). The whole folder is checked first: a link pointing outside
    /// it refuses it before anything is written. Each file appears whole or not at all; a
    /// failure part way leaves the files copied before it.
    pub fn log_artifacts(
        &self,
        local_dir: impl AsRef<Path>,
        artifact_path: Option<&str>,
    ) -> Result<()> {
        let local_dir = local_dir.as_ref();
        let dir = path::write_dir(artifact_path)?;
        let plan = tree::plan(local_dir)?;
        let base = self.folder_for_writing(&dir)?;
        for entry in plan {
            match entry {
                Entry::Folder(rel) => {
                    self.folder_for_writing(&join(&dir, &rel))?;
                }
                Entry::File { rel, src, len } => {
                    let (parent, name) = match rel.rsplit_once('/') {
                        Some((p, n)) => (base.join(p), n),
                        None => (base.clone(), rel.as_str()),
                    };
                    let f = File::open(&src).map_err(ArtifactError::io("open", &src))?;
                    copy::write_atomic(&parent, name, f, &src, Some(len))?;
                }
            }
        }
        Ok(())
    }

    /// Writes what `reader` yields, to its end, as the artifact `artifact_file` (`dir/name`),
    /// atomically: on any error, the reader's included, nothing new is visible and an earlier
    /// artifact of that name is kept. Returns the artifact's size.
    pub fn copy_from_reader(&self, reader: impl Read, artifact_file: &str) -> Result<u64> {
        let (dir, name) = path::write_file(artifact_file)?;
        let dest = self.folder_for_writing(&dir)?;
        let source = PathBuf::from(format!("the source of artifact {artifact_file:?}"));
        Ok(copy::write_atomic(&dest, &name, reader, &source, None)?.bytes)
    }

    /// Writes `text` (UTF-8) as the artifact `artifact_file` (MLflow's `log_text`).
    pub fn log_text(&self, text: &str, artifact_file: &str) -> Result<()> {
        self.copy_from_reader(text.as_bytes(), artifact_file)?;
        Ok(())
    }

    /// What is directly in the folder `path` (the root when `None` or `""`): files with their
    /// size, folders with none, paths relative to the root, sorted by path. A path that is a
    /// file or does not exist lists nothing (MLflow's `list_artifacts`). Entries resolving
    /// outside the root through a link, dangling links and temporary files are left out.
    pub fn list_artifacts(&self, path: Option<&str>) -> Result<Vec<FileInfo>> {
        let rel = path::read_path(path.unwrap_or(""))?;
        let dir = match self.resolve(&rel) {
            Ok(real) => real,
            Err(ArtifactError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let root = self.real_root()?;
        let mut out = Vec::new();
        for e in fs::read_dir(&dir).map_err(ArtifactError::io("list", &dir))? {
            let e = e.map_err(ArtifactError::io("list", &dir))?;
            let p = e.path();
            let name = e
                .file_name()
                .into_string()
                .map_err(|_| ArtifactError::NotUnicode { path: p.clone() })?;
            if is_temp_name(&name) {
                continue;
            }
            let ft = e.file_type().map_err(ArtifactError::io("inspect", &p))?;
            let meta = if ft.is_symlink() {
                match fs::canonicalize(&p) {
                    Ok(t) if t.starts_with(&root) => fs::metadata(&t),
                    _ => continue,
                }
            } else {
                fs::symlink_metadata(&p)
            };
            let meta = match meta {
                Ok(m) => m,
                // Removed since it was listed.
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(err) => return Err(ArtifactError::io("inspect", &p)(err)),
            };
            out.push(FileInfo {
                path: join(&rel, &name),
                is_dir: meta.is_dir(),
                file_size: (!meta.is_dir()).then_some(meta.len()),
            });
        }
        out.sort();
        Ok(out)
    }

    /// Opens the artifact file `path` for reading.
    pub fn open(&self, path: &str) -> Result<File> {
        let rel = path::read_path(path)?;
        let real = self.resolve(&rel)?;
        if real.is_dir() {
            return Err(ArtifactError::IsAFolder { path: rel });
        }
        File::open(&real).map_err(ArtifactError::io("open", real))
    }

    /// The bytes of the artifact file `path`.
    pub fn read(&self, path: &str) -> Result<Vec<u8>> {
        let mut f = self.open(path)?;
        let mut out = Vec::new();
        f.read_to_end(&mut out)
            .map_err(ArtifactError::io("read", self.root.join(path)))?;
        Ok(out)
    }

    /// Copies the artifact file or folder `path` (`""`: everything) into the existing local
    /// folder `dst`, keeping its path: `reports/a.json` lands in `dst/reports/a.json`
    /// (MLflow's `download_artifacts`). Folders are copied recursively, empty ones included;
    /// each file is written atomically. Returns `dst/path`.
    pub fn download(&self, path: &str, dst: impl AsRef<Path>) -> Result<PathBuf> {
        let dst = dst.as_ref();
        let rel = path::read_path(path)?;
        match fs::metadata(dst) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(ArtifactError::BadLocalPath {
                    path: dst.to_path_buf(),
                    what: "the download destination must be a folder".into(),
                });
            }
            Err(e) => {
                return Err(ArtifactError::BadLocalPath {
                    path: dst.to_path_buf(),
                    what: format!("the download destination must be an existing folder: {e}"),
                });
            }
        }
        let real = self.resolve(&rel)?;
        let out = if rel.is_empty() {
            dst.to_path_buf()
        } else {
            dst.join(&rel)
        };
        if real.is_dir() {
            copy::create_dirs(&out)?;
            self.download_folder(&rel, dst, &mut vec![real])?;
        } else {
            if let Some(parent) = out.parent() {
                copy::create_dirs(parent)?;
            }
            download_file(&real, &out)?;
        }
        Ok(out)
    }

    /// Copies what is under the folder `rel` into `dst`; `stack` holds the real folders being
    /// copied, so that a link back up the tree is not followed round.
    fn download_folder(&self, rel: &str, dst: &Path, stack: &mut Vec<PathBuf>) -> Result<()> {
        for info in self.list_artifacts(Some(rel))? {
            let real = self.resolve(&info.path)?;
            let target = dst.join(&info.path);
            if !info.is_dir {
                download_file(&real, &target)?;
            } else if !stack.contains(&real) {
                copy::create_dirs(&target)?;
                stack.push(real);
                self.download_folder(&info.path, dst, stack)?;
                stack.pop();
            }
        }
        Ok(())
    }

    /// Creates the folder `rel` (normalised) under the root, root included, and returns it.
    /// An existing component that is a link must stay inside the root.
    fn folder_for_writing(&self, rel: &str) -> Result<PathBuf> {
        copy::create_dirs(&self.root)?;
        if rel.is_empty() {
            return Ok(self.root.clone());
        }
        let root = self.real_root()?;
        let mut cur = self.root.clone();
        for comp in rel.split('/') {
            cur.push(comp);
            match fs::symlink_metadata(&cur) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    let real =
                        fs::canonicalize(&cur).map_err(ArtifactError::io("resolve", &cur))?;
                    if !real.starts_with(&root) {
                        return Err(ArtifactError::OutsideRoot {
                            path: rel.to_string(),
                            resolved: real,
                            root: self.root.clone(),
                        });
                    }
                    if !real.is_dir() {
                        return Err(ArtifactError::InTheWay {
                            path: cur,
                            what: "a file is where a folder should go",
                        });
                    }
                }
                Ok(_) => {
                    return Err(ArtifactError::InTheWay {
                        path: cur,
                        what: "a file is where a folder should go",
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => copy::create_one_dir(&cur)?,
                Err(e) => return Err(ArtifactError::io("inspect", &cur)(e)),
            }
        }
        Ok(cur)
    }

    fn real_root(&self) -> Result<PathBuf> {
        fs::canonicalize(&self.root).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ArtifactError::NotFound {
                path: String::new(),
                root: self.root.clone(),
            },
            _ => ArtifactError::io("resolve", &self.root)(e),
        })
    }

    /// The real location of `rel` (normalised), which must exist and lie inside the root.
    fn resolve(&self, rel: &str) -> Result<PathBuf> {
        let not_found = || ArtifactError::NotFound {
            path: rel.to_string(),
            root: self.root.clone(),
        };
        let root = self.real_root().map_err(|e| match e {
            ArtifactError::NotFound { .. } => not_found(),
            e => e,
        })?;
        if rel.split('/').any(is_temp_name) {
            return Err(not_found());
        }
        let asked = self.root.join(rel);
        let real = fs::canonicalize(&asked).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => not_found(),
            _ => ArtifactError::io("resolve", &asked)(e),
        })?;
        if !real.starts_with(&root) {
            return Err(ArtifactError::OutsideRoot {
                path: rel.to_string(),
                resolved: real,
                root: self.root.clone(),
            });
        }
        Ok(real)
    }
}

fn download_file(src: &Path, dst: &Path) -> Result<()> {
    let meta = fs::metadata(src).map_err(ArtifactError::io("inspect", src))?;
    if !meta.is_file() {
        return Err(ArtifactError::BadLocalPath {
            path: src.to_path_buf(),
            what: "not a regular file; it cannot be downloaded".into(),
        });
    }
    let f = File::open(src).map_err(ArtifactError::io("open", src))?;
    let dir = dst.parent().unwrap_or(Path::new("."));
    let name = file_name(dst)?;
    copy::write_atomic(dir, &name, f, src, Some(meta.len()))?;
    Ok(())
}

fn file_name(p: &Path) -> Result<String> {
    p.file_name()
        .ok_or_else(|| ArtifactError::BadLocalPath {
            path: p.to_path_buf(),
            what: "names no file".into(),
        })?
        .to_str()
        .map(str::to_string)
        .ok_or_else(|| ArtifactError::NotUnicode {
            path: p.to_path_buf(),
        })
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}
