//! Logging the reference workload W2 through the facade, shared by `benches/catalog.rs` and
//! `examples/w2_probe.rs` (each includes this file with `#[path]`).

use runlog::{NewRun, RunStatus, Store};
use runlog_workloads::{W2, W2_METRICS, W2Status};

pub fn status(s: W2Status) -> RunStatus {
    match s {
        W2Status::Finished => RunStatus::Finished,
        W2Status::Failed => RunStatus::Failed,
        W2Status::Running => RunStatus::Running,
    }
}

/// Logs runs `runs` of W2 experiment `e` (experiment id `exp_id`) through the facade, as a
/// sweep driver would: start with params and tags, log the 5 metrics, finish.
pub fn log_w2_runs(store: &Store, w2: &W2, e: usize, exp_id: &str, runs: std::ops::Range<usize>) {
    for i in runs {
        let r = w2.run(e, i);
        let mut new = NewRun::in_experiment(exp_id)
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
        run.finish(status(r.status)).unwrap();
    }
}

/// Builds W2 (`experiments` × `runs_per_experiment`) into `store`, one thread per core.
pub fn build_w2(store: &Store, experiments: usize, runs_per_experiment: usize) -> Vec<String> {
    let w2 = W2::new(experiments, runs_per_experiment);
    let ids: Vec<String> = (0..experiments)
        .map(|e| {
            store
                .set_experiment(&W2::experiment_name(e))
                .unwrap()
                .experiment_id
        })
        .collect();
    std::thread::scope(|scope| {
        for half in 0..2 {
            let (store, w2, ids) = (store, &w2, &ids);
            scope.spawn(move || {
                for (e, id) in ids.iter().enumerate() {
                    let lo = runs_per_experiment * half / 2;
                    let hi = runs_per_experiment * (half + 1) / 2;
                    log_w2_runs(store, w2, e, id, lo..hi);
                }
            });
        }
    });
    ids
}
