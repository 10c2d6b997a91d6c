//! Journals: the append-only files that are the catalog's source of truth.
//!
//! Every change to an experiment goes to `<store>/experiments.log`, every change to a run to
//! `<store>/runs/<run_id>/RUN.log`, before the catalog database applies it. One line per
//! transaction: the CRC-32 of the JSON text as 8 hex digits, a space, a JSON array of
//! operations, a newline. JSON escapes newlines inside strings, so a line never contains one.
//!
//! Lines are appended with one `write` each, inside a catalog write transaction (which
//! serialises appenders across processes), and synced before the transaction commits. A
//! process killed mid-append leaves a line without its newline; the next appender starts a
//! new line first, so the torn line reads back as one damaged line and is skipped, and every
//! other line stays readable. The catalog records, per journal, how many bytes it has applied;
//! a journal longer than that (a transaction that synced its line but whose process died
//! before its commit) is caught up by the next transaction on it, or by the next writable
//! open after such a death (`presence.rs`), so the database is the replay of its journals. A
//! transaction that fails before its commit cuts its line off again. (A failed *commit*, an
//! I/O error inside redb, leaves the line: the change is applied at the next catch-up.)

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// One damaged line found while reading a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset of the line.
    pub offset: u64,
    /// What is wrong with it.
    pub why: String,
}

/// What [`read_from`] found.
#[derive(Debug)]
pub(crate) struct Read_<T> {
    /// The transactions, each a list of operations, in journal order.
    pub txns: Vec<Vec<T>>,
    /// Offset just past the last complete line (where a caller's applied length moves to).
    pub end: u64,
    pub damage: Vec<Damage>,
}

/// Encodes one transaction as a journal line.
pub(crate) fn line<T: Serialize>(ops: &[T]) -> Vec<u8> {
    let json = serde_json::to_vec(ops).expect("journal operations serialise");
    let crc = crc32fast::hash(&json);
    let mut out = Vec::with_capacity(json.len() + 10);
    out.extend_from_slice(format!("{crc:08x} ").as_bytes());
    out.extend_from_slice(&json);
    out.push(b'\n');
    out
}

/// Appends one transaction line to the journal at `path` (creating it) and syncs it; returns
/// the journal's new length.
pub(crate) fn append<T: Serialize>(path: &Path, ops: &[T]) -> io::Result<u64> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)?;
    let len = f.metadata()?.len();
    let mut bytes = Vec::new();
    if len > 0 {
        let mut last = [0u8; 1];
        f.read_exact_at(&mut last, len - 1)?;
        if last[0] != b'\n' {
            // A torn line from a process that died mid-append: end it, so it stays one
            // (damaged) line and ours starts clean.
            bytes.push(b'\n');
        }
    }
    bytes.extend_from_slice(&line(ops));
    f.write_all(&bytes)?;
    f.sync_data()?;
    if len == 0
        && let Some(dir) = path.parent()
    {
        File::open(dir)?.sync_all()?;
    }
    Ok(len + bytes.len() as u64)
}

/// Cuts the journal at `path` back to `len` bytes (a line whose transaction failed before its
/// commit), and syncs.
pub(crate) fn truncate(path: &Path, len: u64) -> io::Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_data()
}

/// The length of the journal at `path` (0 when it does not exist).
pub(crate) fn len(path: &Path) -> io::Result<u64> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// Reads the transactions of the journal at `path` from byte `offset` on. A missing file reads
/// as empty; a line without its newline (still being written, or torn) ends the read.
pub(crate) fn read_from<T: DeserializeOwned>(path: &Path, offset: u64) -> io::Result<Read_<T>> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut f) => {
            f.seek(SeekFrom::Start(offset))?;
            f.read_to_end(&mut bytes)?;
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut out = Read_ {
        txns: Vec::new(),
        end: offset,
        damage: Vec::new(),
    };
    let mut at = 0usize;
    while let Some(nl) = bytes[at..].iter().position(|&b| b == b'\n') {
        let text = &bytes[at..at + nl];
        let line_offset = offset + at as u64;
        at += nl + 1;
        out.end = offset + at as u64;
        if text.is_empty() {
            continue;
        }
        match parse_line(text) {
            Ok(ops) => out.txns.push(ops),
            Err(why) => out.damage.push(Damage {
                offset: line_offset,
                why,
            }),
        }
    }
    Ok(out)
}

fn parse_line<T: DeserializeOwned>(text: &[u8]) -> Result<Vec<T>, String> {
    if text.len() < 10 || text[8] != b' ' {
        return Err("not a journal line (torn by a crash?)".into());
    }
    let crc = std::str::from_utf8(&text[..8])
        .ok()
        .and_then(|h| u32::from_str_radix(h, 16).ok())
        .ok_or("the line does not start with a CRC")?;
    let json = &text[9..];
    if crc32fast::hash(json) != crc {
        return Err("CRC mismatch (torn by a crash, or damaged)".into());
    }
    serde_json::from_slice(json).map_err(|e| format!("unreadable operations: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_lines_are_skipped_and_later_lines_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.log");
        let l1 = append(&p, &["a".to_string()]).unwrap();
        // A crash in the middle of the second append.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&line(&["b".to_string()])[..7]).unwrap();
        drop(f);
        let r: Read_<String> = read_from(&p, 0).unwrap();
        assert_eq!(r.txns, vec![vec!["a".to_string()]]);
        assert_eq!(r.end, l1, "the torn line is not consumed");
        append(&p, &["c".to_string()]).unwrap();
        let r: Read_<String> = read_from(&p, 0).unwrap();
        assert_eq!(r.txns, vec![vec!["a".to_string()], vec!["c".to_string()]]);
        assert_eq!(r.damage.len(), 1);
        assert_eq!(r.damage[0].offset, l1);
        let tail: Read_<String> = read_from(&p, l1).unwrap();
        assert_eq!(tail.txns, vec![vec!["c".to_string()]]);
    }

    #[test]
    fn flipped_bits_are_reported_not_applied() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.log");
        append(&p, &[1u32, 2]).unwrap();
        append(&p, &[3u32]).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[12] ^= 0x04;
        std::fs::write(&p, &bytes).unwrap();
        let r: Read_<u32> = read_from(&p, 0).unwrap();
        assert_eq!(r.txns, vec![vec![3]]);
        assert_eq!(r.damage.len(), 1);
        assert!(r.damage[0].why.contains("CRC"), "{:?}", r.damage);
    }
}
