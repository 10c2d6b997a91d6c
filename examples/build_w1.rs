//! Development helper: writes `copies` × W1 into a store. `cargo run --release --example build_w1 -- <dir> [copies]`
use runlog::{MetricStore, Point, WriterOptions};
use runlog_workloads::{W1, W1_KEYS, W1_STEPS};
fn main() -> runlog::metrics::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: build_w1 <dir> [copies]");
    let copies: u64 = args.next().map_or(1, |s| s.parse().expect("copies"));
    let store = MetricStore::open(&dir)?;
    let w = store.writer("w1", WriterOptions::default())?;
    let ids: Vec<_> = W1_KEYS
        .iter()
        .map(|k| w.series(k))
        .collect::<Result<_, _>>()?;
    for copy in 0..copies {
        let off = (copy * W1_STEPS) as i64;
        for p in W1::new(W1_STEPS) {
            let ts = p.timestamp_ms + (off as f64 * 3.7) as i64;
            w.append(ids[p.key], Point::new(p.step + off, ts, p.value))?;
        }
    }
    w.close()
}
