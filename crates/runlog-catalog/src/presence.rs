//! Which processes have the catalog open for writing, so that one that died can be noticed.
//!
//! A catalog transaction journals its change (synced) before it commits. A process killed in
//! between leaves a journal line the database has not applied. Any later transaction on the
//! same run or on experiments catches it up, but until then the catalog lags its journals. To
//! bound that, every process with a writable catalog holds a locked file in
//! `<store>/writers/`; a writable open that finds such a file unlocked (its process died: the
//! kernel released its lock) replays every journal that is ahead of the database, then
//! removes the file. Files appear only already locked (created under a temporary name, locked,
//! then renamed), so a live process is never mistaken for a dead one.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The folder of presence files inside a store.
pub const WRITERS_DIR: &str = "writers";

/// This process's presence file, locked while it lives; removed on drop.
#[derive(Debug)]
pub(crate) struct Presence {
    path: PathBuf,
    _file: File,
}

impl Presence {
    pub fn register(root: &Path) -> io::Result<Presence> {
        let dir = root.join(WRITERS_DIR);
        fs::create_dir_all(&dir)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!("{}-{nanos:x}", std::process::id());
        let tmp = dir.join(format!(".tmp-{name}"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.lock()?;
        let path = dir.join(name);
        fs::rename(&tmp, &path)?;
        Ok(Presence { path, _file: file })
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The presence files of processes that died, each returned locked by us (so nobody else
/// mistakes them for live ones while we recover); remove them once recovered.
pub(crate) fn dead_writers(root: &Path) -> io::Result<Vec<(PathBuf, File)>> {
    let dir = root.join(WRITERS_DIR);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut dead = Vec::new();
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            // A presence being registered: not locked yet for a moment. Left behind only by a
            // process killed in that moment (it never opened the catalog): remove it when old.
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() > 60));
            if old {
                let _ = fs::remove_file(&path);
            }
            continue;
        }
        let file = match File::open(&path) {
            Ok(f) => f,
            // Removed meanwhile by its owner or another recoverer.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        match file.try_lock() {
            Ok(()) => dead.push((path, file)),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
    }
    Ok(dead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_presence_is_not_dead_and_a_released_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let me = Presence::register(dir.path()).unwrap();
        assert!(dead_writers(dir.path()).unwrap().is_empty());
        // A file nobody holds: what a killed process leaves.
        fs::write(dir.path().join(WRITERS_DIR).join("123-abc"), b"").unwrap();
        // A presence being registered (not locked for a moment) is not taken for dead.
        fs::write(dir.path().join(WRITERS_DIR).join(".tmp-77-abc"), b"").unwrap();
        let dead = dead_writers(dir.path()).unwrap();
        assert_eq!(dead.len(), 1);
        assert!(dead[0].0.ends_with("123-abc"));
        drop(dead);
        let path = me.path.clone();
        drop(me);
        assert!(!path.exists());
    }
}
