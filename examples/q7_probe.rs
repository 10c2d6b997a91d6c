//! Development probe for Q7: opens a W1 store repeatedly and answers Q2.
//! `cargo run --release --example q7_probe -- <store dir> [iterations]`
fn main() -> runlog::metrics::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .expect("usage: q7_probe <store dir> [iterations]");
    let n: usize = args.next().map_or(100, |s| s.parse().expect("iterations"));
    let mut times = Vec::new();
    for _ in 0..n {
        let t = std::time::Instant::now();
        let r = runlog::MetricStore::open(&dir)?.reader("w1")?;
        let w = r.step_window("train/loss", 500_000, 501_000)?;
        assert_eq!(w.len(), 1000);
        times.push(t.elapsed().as_secs_f64() * 1e6);
    }
    times.sort_by(f64::total_cmp);
    println!("Q7 median {:.1} µs", times[n / 2]);
    Ok(())
}
