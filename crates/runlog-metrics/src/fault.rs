//! The file the writer appends to, with optional fault injection for tests: writes that fail
//! part-way (as on a full disk) and syncs that fail (as on a dying device).

use std::fs::File;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// When injected I/O failures happen. Shared by every file a writer opens, so byte counts run
/// across segments.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    /// After this many bytes in total, every write fails with "no space left on device"; the
    /// write that crosses the limit writes only the bytes below it.
    pub fail_after_bytes: Option<u64>,
    /// The sync with this 1-based number, and every later one, fails.
    pub fail_sync_from: Option<u64>,
    written: Arc<AtomicU64>,
    syncs: Arc<AtomicU64>,
}

impl FaultPlan {
    /// A plan that fails writes after `bytes` bytes.
    pub fn fail_after_bytes(bytes: u64) -> Self {
        FaultPlan {
            fail_after_bytes: Some(bytes),
            ..Default::default()
        }
    }

    /// A plan that fails the `n`-th sync and every later one.
    pub fn fail_sync_from(n: u64) -> Self {
        FaultPlan {
            fail_sync_from: Some(n),
            ..Default::default()
        }
    }
}

#[derive(Debug)]
pub(crate) struct SegmentFile {
    file: File,
    faults: Option<FaultPlan>,
}

impl SegmentFile {
    pub fn new(file: File, faults: Option<FaultPlan>) -> Self {
        SegmentFile { file, faults }
    }

    pub fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if let Some(plan) = &self.faults
            && let Some(limit) = plan.fail_after_bytes
        {
            let done = plan.written.fetch_add(buf.len() as u64, Ordering::SeqCst);
            if done + buf.len() as u64 > limit {
                let room = limit.saturating_sub(done) as usize;
                self.file.write_all(&buf[..room.min(buf.len())])?;
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "no space left on device (injected)",
                ));
            }
        }
        self.file.write_all(buf)
    }

    pub fn sync_data(&mut self) -> io::Result<()> {
        if let Some(plan) = &self.faults
            && let Some(from) = plan.fail_sync_from
            && plan.syncs.fetch_add(1, Ordering::SeqCst) + 1 >= from
        {
            return Err(io::Error::other(
                "input/output error during fdatasync (injected)",
            ));
        }
        self.file.sync_data()
    }
}
