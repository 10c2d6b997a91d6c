//! The store folder: its `FORMAT` file, the `runs/` folder of run folders, and the per-run
//! writer lock.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::reader::RunReader;
use crate::writer::{RunWriter, WriterOptions};

/// Store format version written into `FORMAT`.
pub const STORE_VERSION: u32 = 1;
const FORMAT_PREFIX: &str = "runlog store format ";

/// A store folder holding the metric data of many runs.
///
/// ```
/// # fn main() -> runlog_metrics::Result<()> {
/// use runlog_metrics::{MetricStore, Point, WriterOptions};
/// let dir = tempfile::tempdir().unwrap();
/// let store = MetricStore::open(dir.path())?;
/// let writer = store.writer("run1", WriterOptions::default())?;
/// let loss = writer.series("train/loss")?;
/// for step in 0..1000 {
///     writer.append(loss, Point::new(step, 1_700_000_000_000 + step, 1.0 / (step + 1) as f64))?;
/// }
/// writer.flush()?;
/// let reader = store.reader("run1")?;
/// let window = reader.step_window("train/loss", 10, 20)?;
/// assert_eq!(window.len(), 10);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MetricStore {
    root: PathBuf,
}

impl MetricStore {
    /// Opens the store at `root`, creating it (and its `FORMAT` file) when the folder does not
    /// exist or is empty. A non-empty folder without `FORMAT`, or with another format version,
    /// is refused.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        let format = root.join("FORMAT");
        match fs::read_to_string(&format) {
            Ok(text) => check_format(&format, &text)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if root.exists() {
                    let entries = fs::read_dir(&root).map_err(|e| Error::io(&root, e))?;
                    let mut leftovers_only = root.is_dir();
                    for e in entries {
                        let e = e.map_err(|e| Error::io(&root, e))?;
                        let name = e.file_name();
                        let name = name.to_string_lossy();
                        let ok = name.starts_with("FORMAT.tmp")
                            || (name == "runs"
                                && fs::read_dir(e.path()).is_ok_and(|mut d| d.next().is_none()));
                        leftovers_only &= ok;
                    }
                    if !leftovers_only && format.exists() {
                        // Another process created it meanwhile.
                        let text =
                            fs::read_to_string(&format).map_err(|e| Error::io(&format, e))?;
                        check_format(&format, &text)?;
                        return Ok(MetricStore { root });
                    }
                    if !leftovers_only {
                        return Err(Error::NotAStore {
                            path: root,
                            why: "it has no FORMAT file and is not empty; point runlog at an \
                                  existing store or at a new or empty folder"
                                .into(),
                        });
                    }
                }
                fs::create_dir_all(root.join("runs")).map_err(|e| Error::io(&root, e))?;
                let tmp = root.join(format!("FORMAT.tmp.{}", std::process::id()));
                let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
                f.write_all(format!("{FORMAT_PREFIX}{STORE_VERSION}\n").as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(|e| Error::io(&tmp, e))?;
                fs::rename(&tmp, &format).map_err(|e| Error::io(&format, e))?;
                sync_dir(&root)?;
            }
            Err(e) => return Err(Error::io(&format, e)),
        }
        fs::create_dir_all(root.join("runs")).map_err(|e| Error::io(&root, e))?;
        Ok(MetricStore { root })
    }

    /// The store folder.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The folder of run `run_id`.
    pub fn run_dir(&self, run_id: &str) -> Result<PathBuf> {
        check_run_id(run_id)?;
        Ok(self.root.join("runs").join(run_id))
    }

    /// Opens the run for writing (creating it if needed). Only one writer per run may exist
    /// across all processes; a second one gets [`Error::Locked`] naming the holder.
    pub fn writer(&self, run_id: &str, options: WriterOptions) -> Result<RunWriter> {
        RunWriter::open(self.run_dir(run_id)?, options)
    }

    /// Opens the run for reading. Works while a writer appends, in this or another process;
    /// [`RunReader::refresh`] picks up what was flushed since.
    pub fn reader(&self, run_id: &str) -> Result<RunReader> {
        RunReader::open(self.run_dir(run_id)?)
    }

    /// Ids of the runs that have a folder in this store, sorted.
    pub fn runs(&self) -> Result<Vec<String>> {
        let dir = self.root.join("runs");
        let mut out = Vec::new();
        for e in fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let e = e.map_err(|e| Error::io(&dir, e))?;
            if let Some(name) = e.file_name().to_str()
                && check_run_id(name).is_ok()
            {
                out.push(name.to_string());
            }
        }
        out.sort();
        Ok(out)
    }
}

fn check_format(path: &Path, text: &str) -> Result<()> {
    let Some(v) = text.trim_end().strip_prefix(FORMAT_PREFIX) else {
        return Err(Error::NotAStore {
            path: path.to_path_buf(),
            why: format!("FORMAT does not start with {FORMAT_PREFIX:?}"),
        });
    };
    let found: u32 = v.parse().map_err(|_| Error::NotAStore {
        path: path.to_path_buf(),
        why: format!("FORMAT names an unreadable version {v:?}"),
    })?;
    if found != STORE_VERSION {
        return Err(Error::UnsupportedVersion {
            path: path.to_path_buf(),
            found,
            supported: STORE_VERSION,
        });
    }
    Ok(())
}

/// Run ids name folders, so they are restricted to `[A-Za-z0-9_-]{1,64}`.
pub fn check_run_id(run_id: &str) -> Result<()> {
    let ok = !run_id.is_empty()
        && run_id.len() <= 64
        && run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "run id {run_id:?} must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'"
        )))
    }
}

/// Makes a folder's entries (new or renamed files) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))
}

/// An exclusive, advisory, cross-process lock on a run folder, released when dropped (or when
/// the holding process dies).
#[derive(Debug)]
pub(crate) struct RunLock {
    _file: File,
}

impl RunLock {
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join("LOCK");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        // A child process forked by this one holds a copy of every open descriptor until it
        // calls exec, which may briefly keep a just-released lock alive: retry for a moment
        // before naming the holder.
        let mut attempt = 0;
        let locked = loop {
            match file.try_lock() {
                Err(std::fs::TryLockError::WouldBlock) if attempt < 50 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                other => break other,
            }
        };
        match locked {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(Error::Locked {
                    path: dir.to_path_buf(),
                    holder: if holder.is_empty() {
                        "another process (it has not written its name yet)".into()
                    } else {
                        holder.to_string()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let host = fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "this host".into());
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let who = format!(
            "process {} on {host} (since unix time {since})\n",
            std::process::id()
        );
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(who.as_bytes()))
            .map_err(|e| Error::io(&path, e))?;
        Ok(RunLock { _file: file })
    }
}
