//! Builds W2 (10 experiments × `RUNS` runs, default 1 000) into `DIR` through the facade if it
//! is not there yet, then times Q4 and Q6 cold (a fresh catalog handle each time) and warm.
//!
//! `cargo run --release --example w2_probe -- DIR [RUNS]`

use std::time::Instant;

use runlog::catalog::Catalog;
use runlog::{NewRun, RunStatus, Store, ViewType};
use runlog_workloads::{W2, W2_EXPERIMENTS, W2_METRICS, W2Status};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: w2_probe DIR [RUNS]")?;
    let per_exp: usize = args.next().map_or(Ok(1_000), |s| s.parse())?;
    let n = W2_EXPERIMENTS * per_exp;
    if !std::path::Path::new(&dir).join("catalog.redb").exists() {
        let store = Store::open(&dir)?;
        let w2 = W2::new(W2_EXPERIMENTS, per_exp);
        let t = Instant::now();
        let ids: Vec<String> = (0..W2_EXPERIMENTS)
            .map(|e| Ok(store.set_experiment(&W2::experiment_name(e))?.experiment_id))
            .collect::<runlog::Result<_>>()?;
        std::thread::scope(|s| {
            for half in 0..2 {
                let (store, w2, ids) = (&store, &w2, &ids);
                s.spawn(move || {
                    for (e, id) in ids.iter().enumerate() {
                        for i in per_exp * half / 2..per_exp * (half + 1) / 2 {
                            let r = w2.run(e, i);
                            let mut new = NewRun::in_experiment(id)
                                .name(r.name.clone())
                                .start_time(r.start_time_ms);
                            new.params = r.params.clone();
                            new.tags = r.tags.clone();
                            let run = store.start_run(new).unwrap();
                            for (k, key) in W2_METRICS.iter().enumerate() {
                                let s = r.series(k);
                                run.metric(key)
                                    .unwrap()
                                    .log_columns(&s.steps, &s.timestamps_ms, &s.values)
                                    .unwrap();
                            }
                            let status = match r.status {
                                W2Status::Finished => RunStatus::Finished,
                                W2Status::Failed => RunStatus::Failed,
                                W2Status::Running => RunStatus::Running,
                            };
                            run.finish(status).unwrap();
                        }
                    }
                });
            }
        });
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
    let filter = "metrics.`val/acc` > 0.9 and params.optimizer = 'adam'";
    for round in 0..5 {
        let t = Instant::now();
        let c = Catalog::open(&dir)?;
        let open = t.elapsed();
        let runs = c.list_runs(&ids, ViewType::All)?;
        let sum: f64 = runs
            .iter()
            .map(|r| W2_METRICS.iter().map(|k| r.metrics[*k].value).sum::<f64>())
            .sum();
        let q4_cold = t.elapsed();
        let t = Instant::now();
        let _ = c.list_runs(&ids, ViewType::All)?;
        let q4_warm = t.elapsed();
        let t = Instant::now();
        let c3 = Catalog::open(&dir)?;
        let latest = c3.latest_metrics(&ids, &W2_METRICS)?;
        let sum3: f64 = latest
            .iter()
            .map(|(_, v)| {
                v.iter()
                    .map(|m| m.expect("every metric").value)
                    .sum::<f64>()
            })
            .sum();
        let q4_scan = t.elapsed();
        assert_eq!(latest.len(), n);
        assert!((sum3 - sum).abs() < 1e-6, "{sum3} vs {sum}");
        let t = Instant::now();
        let c2 = Catalog::open(&dir)?;
        let page = c2.search_runs(
            &ids,
            Some(filter),
            ViewType::ActiveOnly,
            &["metrics.`val/acc` DESC"],
            100,
            None,
        )?;
        let q6_cold = t.elapsed();
        let t = Instant::now();
        let page2 = c2.search_runs(
            &ids,
            Some(filter),
            ViewType::ActiveOnly,
            &["metrics.`val/acc` DESC"],
            100,
            None,
        )?;
        let q6_warm = t.elapsed();
        assert_eq!(page.runs.len(), page2.runs.len());
        println!(
            "round {round}: open {open:?}, Q4 cold {q4_cold:?} warm {q4_warm:?} latest_metrics cold {q4_scan:?} ({} runs, sum {sum:.3}), Q6 cold {q6_cold:?} warm {q6_warm:?} ({} hits)",
            runs.len(),
            page.runs.len()
        );
    }
    Ok(())
}
