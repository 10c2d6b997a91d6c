//! Per-series block index of one segment: where each block is, and which steps and times it
//! covers, searchable in O(log n) per window.
//!
//! Blocks are kept in arrival order. Along each axis (step, timestamp) the blocks are cut into
//! *monotone runs*: maximal stretches in which both the block minimum and the block maximum never
//! decrease. Inside a run, the blocks that overlap a window `[lo, hi)` are one contiguous range,
//! found by two binary searches (first block with `max >= lo`, first with `min >= hi`). A normal
//! training run is a single run; a resumed run that repeats steps adds one run per resume; only
//! data whose steps jump back and forth at every block degrades towards a linear scan. Timestamps
//! that go back a millisecond at block edges stay in one run because only the endpoints of each
//! block are compared.

use crate::summary::Summary;

/// Index of blocks along one axis.
#[derive(Debug, Clone, Default)]
pub(crate) struct AxisIndex {
    pub min: Vec<i64>,
    pub max: Vec<i64>,
    /// Start (block index) of each monotone run.
    run_starts: Vec<u32>,
}

impl AxisIndex {
    pub const EMPTY: AxisIndex = AxisIndex {
        min: Vec::new(),
        max: Vec::new(),
        run_starts: Vec::new(),
    };

    pub fn push(&mut self, min: i64, max: i64) {
        let i = self.min.len();
        let extends = i > 0 && min >= self.min[i - 1] && max >= self.max[i - 1];
        if !extends {
            self.run_starts.push(i as u32);
        }
        self.min.push(min);
        self.max.push(max);
    }

    pub fn from_columns(min: Vec<i64>, max: Vec<i64>) -> Self {
        debug_assert_eq!(min.len(), max.len());
        let mut run_starts = Vec::new();
        for i in 0..min.len() {
            if i == 0 || min[i] < min[i - 1] || max[i] < max[i - 1] {
                run_starts.push(i as u32);
            }
        }
        AxisIndex {
            min,
            max,
            run_starts,
        }
    }

    /// Calls `f` with each block (in arrival order) that may hold a value in `[lo, hi)`,
    /// stopping at the first error.
    pub fn for_each_overlapping<E>(
        &self,
        lo: i64,
        hi: i64,
        mut f: impl FnMut(usize) -> Result<(), E>,
    ) -> Result<(), E> {
        if lo >= hi {
            return Ok(());
        }
        let n = self.min.len();
        for (r, &start) in self.run_starts.iter().enumerate() {
            let start = start as usize;
            let end = self.run_starts.get(r + 1).map_or(n, |&e| e as usize);
            let first = start + self.max[start..end].partition_point(|&m| m < lo);
            let last = start + self.min[start..end].partition_point(|&m| m < hi);
            for i in first..last.max(first) {
                f(i)?;
            }
        }
        Ok(())
    }

    #[cfg(test)]
    pub fn runs(&self) -> usize {
        self.run_starts.len()
    }
}

/// Where a block is in its segment file, and what it holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BlockRef {
    /// Offset of the block's record (its header) in the segment file.
    pub offset: u64,
    /// Total length of the record.
    pub len: u32,
}

/// The blocks of one series in one segment.
#[derive(Debug, Clone, Default)]
pub(crate) struct SeriesBlocks {
    pub blocks: Vec<BlockRef>,
    pub summaries: Vec<Summary>,
    pub steps: AxisIndex,
    pub times: AxisIndex,
    /// Merge of every block summary, in order.
    pub total: Option<Summary>,
}

impl SeriesBlocks {
    pub const EMPTY: SeriesBlocks = SeriesBlocks {
        blocks: Vec::new(),
        summaries: Vec::new(),
        steps: AxisIndex::EMPTY,
        times: AxisIndex::EMPTY,
        total: None,
    };

    pub fn push(&mut self, block: BlockRef, summary: Summary) {
        self.blocks.push(block);
        self.steps.push(summary.min_step, summary.max_step);
        self.times
            .push(summary.min_timestamp_ms, summary.max_timestamp_ms);
        match &mut self.total {
            None => self.total = Some(summary),
            Some(t) => t.merge(&summary),
        }
        self.summaries.push(summary);
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overlapping(idx: &AxisIndex, lo: i64, hi: i64) -> Vec<usize> {
        let mut v = Vec::new();
        idx.for_each_overlapping(lo, hi, |i| {
            v.push(i);
            Ok::<(), ()>(())
        })
        .unwrap();
        v
    }

    fn brute(idx: &AxisIndex, lo: i64, hi: i64) -> Vec<usize> {
        (0..idx.min.len())
            .filter(|&i| lo < hi && idx.max[i] >= lo && idx.min[i] < hi)
            .collect()
    }

    #[test]
    fn resumed_run_has_two_runs_and_finds_both_passes() {
        let mut idx = AxisIndex::default();
        for pass in 0..2 {
            for b in 0..100 {
                let _ = pass;
                idx.push(b * 10, b * 10 + 9);
            }
        }
        assert_eq!(idx.runs(), 2);
        assert_eq!(overlapping(&idx, 505, 515), vec![50, 51, 150, 151]);
    }

    #[test]
    fn matches_brute_force_on_jittery_blocks() {
        let mut idx = AxisIndex::default();
        let mut x: u64 = 1;
        for b in 0..500i64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let jitter = (x >> 60) as i64 - 8;
            let lo = b * 37 + jitter;
            idx.push(lo, lo + 40 + (x >> 58 & 3) as i64);
        }
        for (lo, hi) in [(0, 1), (100, 2000), (-50, 0), (18_000, 19_000), (5, 5)] {
            assert_eq!(overlapping(&idx, lo, hi), brute(&idx, lo, hi));
        }
    }
}
