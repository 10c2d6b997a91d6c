//! The one way a file is written: streamed through a fixed-size buffer into a temporary file
//! in the destination folder, checksummed, synced, verified, then renamed over the final name.
//!
//! Invariant: a file under its final name is always complete. A failed or interrupted copy
//! leaves at most a temporary file (`.runlog-tmp-…`), which the failing call removes and which
//! listings never show.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{ArtifactError, Result};

/// The copy buffer: memory use of a copy, whatever the file's size.
pub(crate) const BUFFER_SIZE: usize = 1 << 20;

/// Names of temporary files start with this; listings skip them.
pub(crate) const TEMP_PREFIX: &str = ".runlog-tmp-";

/// Whether a file name is one of runlog's temporary files.
pub(crate) fn is_temp_name(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

/// What a copy wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Copied {
    pub bytes: u64,
    pub crc32: u32,
}

/// Removes the temporary file unless the copy was published.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn create_temp(dir: &Path) -> Result<(File, TempFile)> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("{TEMP_PREFIX}{}-{n}", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((f, TempFile { path, armed: true })),
            // Left by a crashed process that had our pid: take the next number.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(ArtifactError::io("create a temporary file in", dir)(e)),
        }
    }
}

/// Reads `reader` to its end into `dir/name`, atomically. `source` names the reader in errors.
/// When `expected_len` is given (the source file's size when the copy began) a different count
/// of bytes read is refused: the source changed while it was copied.
pub(crate) fn write_atomic(
    dir: &Path,
    name: &str,
    mut reader: impl Read,
    source: &Path,
    expected_len: Option<u64>,
) -> Result<Copied> {
    let dest = dir.join(name);
    let (mut file, temp) = create_temp(dir)?;
    let mut buf = vec![0u8; BUFFER_SIZE];
    let mut hasher = crc32fast::Hasher::new();
    let mut bytes = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ArtifactError::io("read", source)(e)),
        };
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .map_err(ArtifactError::io("write", &temp.path))?;
        bytes += n as u64;
    }
    let read = Copied {
        bytes,
        crc32: hasher.finalize(),
    };
    if let Some(len) = expected_len
        && len != bytes
    {
        return Err(ArtifactError::Mismatch {
            path: dest,
            read_bytes: bytes,
            read_crc: read.crc32,
            what: "but the source's size was",
            got_bytes: len,
            got_crc: 0,
        });
    }
    file.sync_data()
        .map_err(ArtifactError::io("sync", &temp.path))?;
    drop(file);
    let back = checksum(&temp.path, &mut buf)?;
    if back != read {
        return Err(ArtifactError::Mismatch {
            path: dest,
            read_bytes: read.bytes,
            read_crc: read.crc32,
            what: "but the written copy reads back as",
            got_bytes: back.bytes,
            got_crc: back.crc32,
        });
    }
    let mut temp = temp;
    fs::rename(&temp.path, &dest).map_err(|e| match fs::symlink_metadata(&dest) {
        Ok(m) if m.is_dir() => ArtifactError::InTheWay {
            path: dest.clone(),
            what: "a folder is where the file should go",
        },
        _ => ArtifactError::io("rename a temporary file to", &dest)(e),
    })?;
    temp.armed = false;
    sync_dir(dir)?;
    Ok(read)
}

/// Size and CRC-32 of a file, read through `buf`.
pub(crate) fn checksum(path: &Path, buf: &mut [u8]) -> Result<Copied> {
    let mut f = File::open(path).map_err(ArtifactError::io("open", path))?;
    let mut hasher = crc32fast::Hasher::new();
    let mut bytes = 0u64;
    loop {
        let n = match f.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ArtifactError::io("read", path)(e)),
        };
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(Copied {
        bytes,
        crc32: hasher.finalize(),
    })
}

/// Makes a folder's entries durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(ArtifactError::io("sync folder", dir))
}

/// Creates `dir` and its missing ancestors, syncing the parent of each folder it creates.
pub(crate) fn create_dirs(dir: &Path) -> Result<()> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(ArtifactError::InTheWay {
                path: dir.to_path_buf(),
                what: "a file is where a folder should go",
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ArtifactError::io("inspect", dir)(e)),
    }
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dirs(parent)?;
    }
    create_one_dir(dir)
}

/// Creates one folder whose parent exists (fine when another process just did) and syncs the
/// parent.
pub(crate) fn create_one_dir(dir: &Path) -> Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return if fs::metadata(dir).is_ok_and(|m| m.is_dir()) {
                Ok(())
            } else {
                Err(ArtifactError::InTheWay {
                    path: dir.to_path_buf(),
                    what: "a file is where a folder should go",
                })
            };
        }
        Err(e) => return Err(ArtifactError::io("create folder", dir)(e)),
    }
    match dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => sync_dir(parent),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Yields `ok` bytes, then fails.
    struct FailAfter {
        ok: u64,
    }

    impl Read for FailAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(io::Error::other("the disk fell off"));
            }
            let n = buf.len().min(self.ok as usize);
            buf[..n].fill(7);
            self.ok -= n as u64;
            Ok(n)
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_copy_publishes_the_whole_file_and_its_checksum() {
        let tmp = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..3 * BUFFER_SIZE + 17).map(|i| i as u8).collect();
        let got = write_atomic(
            tmp.path(),
            "f",
            &data[..],
            Path::new("src"),
            Some(data.len() as u64),
        )
        .unwrap();
        assert_eq!(got.bytes, data.len() as u64);
        assert_eq!(got.crc32, crc32fast::hash(&data));
        assert_eq!(fs::read(tmp.path().join("f")).unwrap(), data);
        assert_eq!(names(tmp.path()), ["f"]);
    }

    #[test]
    fn a_failing_source_leaves_nothing_behind_and_keeps_the_old_file() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("f"), b"old").unwrap();
        let e = write_atomic(
            tmp.path(),
            "f",
            FailAfter {
                ok: 2 * BUFFER_SIZE as u64 + 5,
            },
            Path::new("/the/source"),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("/the/source"), "{e}");
        assert!(e.to_string().contains("the disk fell off"), "{e}");
        assert_eq!(names(tmp.path()), ["f"]);
        assert_eq!(fs::read(tmp.path().join("f")).unwrap(), b"old");
    }

    #[test]
    fn a_source_that_changed_size_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let e = write_atomic(tmp.path(), "f", &b"12345"[..], Path::new("s"), Some(4)).unwrap_err();
        assert!(
            matches!(
                e,
                ArtifactError::Mismatch {
                    read_bytes: 5,
                    got_bytes: 4,
                    ..
                }
            ),
            "{e}"
        );
        assert!(names(tmp.path()).is_empty());
    }

    #[test]
    fn a_folder_in_the_way_is_named_and_nothing_is_left() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("f")).unwrap();
        fs::write(tmp.path().join("f/inner"), b"x").unwrap();
        let e = write_atomic(tmp.path(), "f", &b"1"[..], Path::new("s"), None).unwrap_err();
        assert!(matches!(e, ArtifactError::InTheWay { .. }), "{e}");
        assert_eq!(names(tmp.path()), ["f"]);
    }

    #[test]
    fn folders_are_created_with_their_ancestors() {
        let tmp = tempfile::tempdir().unwrap();
        create_dirs(&tmp.path().join("a/b/c")).unwrap();
        create_dirs(&tmp.path().join("a/b/c")).unwrap();
        assert!(tmp.path().join("a/b/c").is_dir());
        fs::write(tmp.path().join("file"), b"").unwrap();
        assert!(create_dirs(&tmp.path().join("file/x")).is_err());
    }
}
