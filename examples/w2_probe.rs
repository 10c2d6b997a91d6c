//! Builds W2 (10 experiments × `RUNS` runs, default 1 000) into `DIR` through the facade if it
//! is not there yet, then times Q4 and Q6 from fresh catalog handles and from open ones.
//!
//! `cargo run --release --example w2_probe -- DIR [RUNS]`

use std::time::Instant;

use runlog::catalog::Catalog;
use runlog::{Store, ViewType};
use runlog_workloads::{W2, W2_EXPERIMENTS, W2_METRICS};

#[path = "support/w2.rs"]
mod w2_support;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: w2_probe DIR [RUNS]")?;
    let per_exp: usize = args.next().map_or(Ok(1_000), |s| s.parse())?;
    let n = W2_EXPERIMENTS * per_exp;
    if !std::path::Path::new(&dir).join("catalog.redb").exists() {
        let store = Store::open(&dir)?;
        let t = Instant::now();
        w2_support::build_w2(&store, W2_EXPERIMENTS, per_exp);
        let secs = t.elapsed().as_secs_f64();
        println!(
            "built W2: {n} runs in {secs:.1} s, {:.0} runs/s",
            n as f64 / secs
        );
    }
    let ids: Vec<String> = {
        let c = Catalog::open(&dir)?;
        (0..W2_EXPERIMENTS)
            .map(|e| {
                c.get_experiment_by_name(&W2::experiment_name(e))
                    .map(|x| x.expect("W2 experiment").experiment_id)
            })
            .collect::<Result<_, _>>()?
    };
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let q4 = |c: &Catalog| -> Result<f64, Box<dyn std::error::Error>> {
        let latest = c.latest_metrics(&ids, &W2_METRICS)?;
        assert_eq!(latest.len(), n);
        Ok(latest
            .iter()
            .flat_map(|(_, v)| v.iter().map(|m| m.expect("every metric").value))
            .sum())
    };
    let q6 = |c: &Catalog| -> Result<usize, Box<dyn std::error::Error>> {
        let page = c.search_runs(
            &ids,
            Some("metrics.`val/acc` > 0.9 and params.optimizer = 'adam'"),
            ViewType::ActiveOnly,
            &["metrics.`val/acc` DESC"],
            100,
            None,
        )?;
        Ok(page.runs.len())
    };
    for round in 0..5 {
        let t = Instant::now();
        let c = Catalog::open(&dir)?;
        let open = t.elapsed();
        let sum = q4(&c)?;
        let q4_fresh = t.elapsed();
        let t = Instant::now();
        q4(&c)?;
        let q4_open = t.elapsed();
        let t = Instant::now();
        let c = Catalog::open(&dir)?;
        let hits = q6(&c)?;
        let q6_fresh = t.elapsed();
        // The second search of a handle loads every run's view; later ones use them.
        let t = Instant::now();
        q6(&c)?;
        let q6_second = t.elapsed();
        let t = Instant::now();
        q6(&c)?;
        let q6_open = t.elapsed();
        println!(
            "round {round}: open {open:?}; Q4 fresh handle {q4_fresh:?}, open {q4_open:?} \
             (sum {sum:.3}); Q6 fresh {q6_fresh:?}, second {q6_second:?}, open {q6_open:?} \
             ({hits} hits)"
        );
    }
    Ok(())
}
