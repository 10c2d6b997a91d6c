//! From what a user types to what the store holds: the store folder (opened read-only, never
//! created), a run (id, unique id prefix, or unique run name) and an experiment (id or name).
//! Each failure says what was wrong and what to try.

use std::path::Path;

use runlog::catalog::RunBrief;
use runlog::{Experiment, RunInfo, Store, ViewType};

use crate::error::{CliError, Result};

/// The shortest id prefix accepted for a run.
pub const MIN_PREFIX: usize = 4;

/// Opens the store at `path` read-only: never creates it, never waits for writers.
pub fn open_store(path: &Path) -> Result<Store> {
    let how = "point at a store with --store PATH or the RUNLOG_STORE environment variable";
    if !path.exists() {
        return Err(CliError::new(format!(
            "no store at {}: the folder does not exist",
            path.display()
        ))
        .hint(how));
    }
    if !path.is_dir() {
        return Err(CliError::new(format!(
            "{} is not a runlog store: it is not a folder",
            path.display()
        ))
        .hint(how));
    }
    if !path.join("FORMAT").is_file() {
        return Err(CliError::new(format!(
            "{} is not a runlog store: it has no FORMAT file",
            path.display()
        ))
        .hint(how));
    }
    if !path.join(runlog::catalog::CATALOG_FILE).is_file() {
        return Err(CliError::new(format!(
            "{} is not a runlog store: it has no {}",
            path.display(),
            runlog::catalog::CATALOG_FILE
        ))
        .hint(format!(
            "a store gets its catalog when a program first opens it for writing; or {how}"
        )));
    }
    Store::open_read_only(path).map_err(|e| CliError::from(e).hint(how))
}

/// The run `text` names: its id exactly, else a unique id prefix of at least
/// [`MIN_PREFIX`] characters, else a unique run name. Deleted runs are found too. Only the
/// run found is read whole: prefixes are a range scan of the catalog, names and suggestions a
/// pass over the runs' briefs.
pub fn resolve_run(store: &Store, text: &str) -> Result<RunInfo> {
    let t = text.trim();
    if is_run_id(t)
        && let Ok(run) = store.catalog().get_run(t)
    {
        return Ok(run);
    }
    let lower = t.to_ascii_lowercase();
    if lower.len() >= MIN_PREFIX && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        let hits = store.catalog().run_briefs_with_prefix(&lower)?;
        match hits.len() {
            1 => return Ok(store.catalog().get_run(&hits[0].run_id)?),
            0 => {}
            n => {
                return Err(CliError::new(format!(
                    "run id prefix {t:?} is ambiguous: {n} runs start with it: {}",
                    list(hits.iter().take(5))
                ))
                .hint("type more of the id"));
            }
        }
    }
    let runs = store.catalog().run_briefs()?;
    let named: Vec<&RunBrief> = runs.iter().filter(|r| r.run_name == t).collect();
    match named.len() {
        1 => return Ok(store.catalog().get_run(&named[0].run_id)?),
        0 => {}
        n => {
            return Err(CliError::new(format!(
                "{n} runs are named {t:?}: {}",
                list(named.iter().take(5).copied())
            ))
            .hint("give the run id (a unique prefix of 4 or more characters is enough)"));
        }
    }
    let close = close_runs(&runs, t);
    let mut err = CliError::new(format!("no run {t:?} in {}", store.path().display()));
    err = if close.is_empty() {
        err.hint("list runs with `runlog runs --all`; a run is named by its id, a unique id prefix (4+ characters) or a unique name")
    } else {
        err.hint(format!("did you mean {}?", list(close.into_iter())))
    };
    Err(err)
}

/// The experiment `text` names: its id, else its name. Deleted experiments are found too.
pub fn resolve_experiment(store: &Store, text: &str) -> Result<Experiment> {
    let exps = store.catalog().list_experiments(ViewType::All)?;
    if let Some(e) = exps.iter().find(|e| e.experiment_id == text) {
        return Ok(e.clone());
    }
    if let Some(e) = exps.iter().find(|e| e.name == text) {
        return Ok(e.clone());
    }
    let mut close: Vec<(usize, &Experiment)> = exps
        .iter()
        .map(|e| (distance(&e.name.to_lowercase(), &text.to_lowercase()), e))
        .filter(|(d, e)| {
            *d <= tolerance(text) || e.name.to_lowercase().contains(&text.to_lowercase())
        })
        .collect();
    close.sort_by_key(|(d, e)| (*d, e.name.clone()));
    let names: Vec<String> = close
        .iter()
        .take(5)
        .map(|(_, e)| format!("{:?} (id {})", e.name, e.experiment_id))
        .collect();
    let err = CliError::new(format!("no experiment {text:?} (by id or name)"));
    Err(if names.is_empty() {
        err.hint("list experiments with `runlog experiments --all`")
    } else {
        err.hint(format!("did you mean {}?", names.join(", ")))
    })
}

/// Whether `s` has the form of a run id: 32 lowercase hex digits.
fn is_run_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Up to 5 runs whose id (compared over the length typed) or name is close to `text`.
fn close_runs<'a>(runs: &'a [RunBrief], text: &str) -> Vec<&'a RunBrief> {
    let lower = text.to_lowercase();
    let tol = tolerance(text);
    let mut scored: Vec<(usize, &RunBrief)> = runs
        .iter()
        .filter_map(|r| {
            let id_part: String = r.run_id.chars().take(lower.chars().count()).collect();
            let by_id = distance(&id_part, &lower);
            let name = r.run_name.to_lowercase();
            let by_name = distance(&name, &lower);
            let contains = !lower.is_empty() && name.contains(&lower);
            let d = by_id.min(by_name);
            (d <= tol || contains).then_some((if contains { 0 } else { d }, r))
        })
        .collect();
    scored
        .sort_by(|a, b| (a.0, &a.1.run_name, &a.1.run_id).cmp(&(b.0, &b.1.run_name, &b.1.run_id)));
    scored.into_iter().take(5).map(|(_, r)| r).collect()
}

/// How many edits still count as close for `text`.
fn tolerance(text: &str) -> usize {
    (text.chars().count() / 3).clamp(1, 3)
}

/// `id (name)`, comma-separated.
fn list<'a>(runs: impl Iterator<Item = &'a RunBrief>) -> String {
    runs.map(|r| format!("{} ({})", r.run_id, r.run_name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Edit distance over chars (optimal string alignment: insertions, deletions, substitutions
/// and transpositions of neighbours each count 1).
pub fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        d[i * w] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::distance;

    #[test]
    fn edit_distance() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("abc", "abc"), 0);
        assert_eq!(distance("mnits", "mnist"), 1);
    }
}
