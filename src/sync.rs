//! The catalog syncer: one thread per [`crate::Store`] that records the latest metric values
//! of the store's runs in the catalog after their flushes, batching all runs into one
//! transaction, so no training thread ever waits on the catalog.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use runlog_catalog::{Catalog, LatestMetric};

#[derive(Debug, Default)]
struct State {
    /// Run id → key → latest, not yet committed.
    pending: HashMap<String, HashMap<String, LatestMetric>>,
    /// Tickets issued (every submission gets the next one).
    issued: u64,
    /// Every ticket up to this one is committed.
    done: u64,
    /// The last commit failure, reported to whoever waits next.
    error: Option<String>,
    shutdown: bool,
}

#[derive(Debug)]
pub(crate) struct Syncer {
    state: Mutex<State>,
    wake: Condvar,
    committed: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Syncer {
    pub fn start(catalog: Arc<Catalog>) -> Arc<Syncer> {
        let s = Arc::new(Syncer {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            committed: Condvar::new(),
            thread: Mutex::new(None),
        });
        let me = Arc::clone(&s);
        let handle = std::thread::Builder::new()
            .name("runlog-catalog".into())
            .spawn(move || me.run(&catalog))
            .ok();
        *s.thread.lock().unwrap_or_else(|e| e.into_inner()) = handle;
        s
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues latest values of `run_id`; never blocks on the catalog.
    pub fn submit(&self, run_id: &str, metrics: Vec<(String, LatestMetric)>) {
        let mut st = self.lock();
        let entry = st.pending.entry(run_id.to_string()).or_default();
        for (k, m) in metrics {
            entry.insert(k, m);
        }
        st.issued += 1;
        drop(st);
        self.wake.notify_one();
    }

    /// Waits until everything submitted so far is committed; reports a failed commit.
    pub fn barrier(&self) -> Result<(), String> {
        let mut st = self.lock();
        let target = st.issued;
        while st.done < target {
            if let Some(e) = st.error.take() {
                return Err(e);
            }
            if st.shutdown {
                break;
            }
            st = self.committed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        match st.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn run(&self, catalog: &Catalog) {
        loop {
            let (batch, upto) = {
                let mut st = self.lock();
                while st.pending.is_empty() && !st.shutdown {
                    st = self.wake.wait(st).unwrap_or_else(|e| e.into_inner());
                }
                if st.pending.is_empty() && st.shutdown {
                    return;
                }
                (std::mem::take(&mut st.pending), st.issued)
            };
            let lists: Vec<(String, Vec<(String, LatestMetric)>)> = batch
                .iter()
                .map(|(run, m)| {
                    let mut v: Vec<_> = m.iter().map(|(k, l)| (k.clone(), *l)).collect();
                    v.sort_by(|a, b| a.0.cmp(&b.0));
                    (run.clone(), v)
                })
                .collect();
            let refs: Vec<(&str, &[(String, LatestMetric)])> = lists
                .iter()
                .map(|(r, v)| (r.as_str(), v.as_slice()))
                .collect();
            let result = catalog.update_metrics(&refs);
            let failed = result.is_err();
            let mut st = self.lock();
            match result {
                Ok(()) => st.done = st.done.max(upto),
                Err(e) => {
                    // Keep the values (newer ones win) and retry with the next batch.
                    for (run, m) in batch {
                        let entry = st.pending.entry(run).or_default();
                        for (k, l) in m {
                            entry.entry(k).or_insert(l);
                        }
                    }
                    st.error = Some(format!("could not record latest metrics: {e}"));
                    st.done = st.done.max(upto);
                }
            }
            drop(st);
            self.committed.notify_all();
            if failed {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    }

    /// Commits what is pending and stops the thread.
    pub fn shutdown(&self) {
        self.lock().shutdown = true;
        self.wake.notify_all();
        let handle = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
        self.committed.notify_all();
    }
}
