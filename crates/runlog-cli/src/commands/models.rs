//! `runlog models` and `runlog model NAME`: the model registry.

use std::io::Write;
use std::process::ExitCode;

use runlog::catalog::RegistryEntry;
use runlog::{ModelVersion, Stage};
use serde_json::{Map, Value, json};

use super::list::{format_time, time_cell, write};
use crate::cli::*;
use crate::error::{CliError, Result};
use crate::output::{Format, Table, text};
use crate::resolve::{self, distance};

/// `runlog models`.
pub fn models(ctx: &Context<'_>) -> Result<ExitCode> {
    let store = resolve::open_store(ctx.store)?;
    let entries = store.catalog().registry_snapshot()?;
    let mut t = Table::new([
        "name",
        "versions",
        "latest_version",
        "stages",
        "aliases",
        "creation_timestamp",
        "last_updated_timestamp",
        "description",
    ]);
    for e in &entries {
        let live: Vec<&ModelVersion> = live_versions(e).collect();
        let m = &e.model;
        t.push(vec![
            json!(m.name),
            json!(live.len()),
            json!(live.iter().map(|v| v.version).max()),
            stages_cell(ctx.format, &m.latest_versions),
            aliases_cell(ctx.format, &m.aliases),
            time_cell(ctx.format, Some(m.creation_timestamp)),
            time_cell(ctx.format, Some(m.last_updated_timestamp)),
            json!(m.description),
        ]);
    }
    write(ctx, &t)
}

fn live_versions(e: &RegistryEntry) -> impl Iterator<Item = &ModelVersion> {
    e.versions.iter().filter(|v| !v.deleted).map(|v| &v.version)
}

/// The highest version per stage other than None: `Production=3 Staging=4` in tables, an
/// object in JSON.
fn stages_cell(format: Format, latest: &[ModelVersion]) -> Value {
    let in_stage = latest.iter().filter(|v| v.current_stage != Stage::None);
    if format == Format::Json {
        let o: Map<String, Value> = in_stage
            .map(|v| (v.current_stage.as_str().to_string(), json!(v.version)))
            .collect();
        Value::Object(o)
    } else {
        let s: Vec<String> = in_stage
            .map(|v| format!("{}={}", v.current_stage.as_str(), v.version))
            .collect();
        json!(s.join(" "))
    }
}

/// Aliases: `champion=3 challenger=4` in tables, an object in JSON.
fn aliases_cell(format: Format, aliases: &std::collections::BTreeMap<String, u64>) -> Value {
    if format == Format::Json {
        json!(aliases)
    } else {
        let s: Vec<String> = aliases.iter().map(|(a, v)| format!("{a}={v}")).collect();
        json!(s.join(" "))
    }
}

/// `runlog model NAME`.
pub fn model(ctx: &Context<'_>, a: &ModelArgs) -> Result<ExitCode> {
    let store = resolve::open_store(ctx.store)?;
    let entries = store.catalog().registry_snapshot()?;
    let Some(entry) = entries.iter().find(|e| e.model.name == a.name) else {
        let mut close: Vec<(usize, &str)> = entries
            .iter()
            .map(|e| {
                let n = e.model.name.as_str();
                let d = distance(&n.to_lowercase(), &a.name.to_lowercase());
                (
                    if n.to_lowercase().contains(&a.name.to_lowercase()) {
                        0
                    } else {
                        d
                    },
                    n,
                )
            })
            .filter(|(d, _)| *d <= (a.name.chars().count() / 3).clamp(1, 3))
            .collect();
        close.sort();
        let names: Vec<String> = close
            .iter()
            .take(5)
            .map(|(_, n)| format!("{n:?}"))
            .collect();
        let err = CliError::new(format!("no registered model {:?}", a.name));
        return Err(if names.is_empty() {
            err.hint("list registered models with `runlog models`")
        } else {
            err.hint(format!("did you mean {}?", names.join(", ")))
        });
    };
    let m = &entry.model;
    // Newest version first.
    let mut versions: Vec<&ModelVersion> = live_versions(entry).collect();
    versions.reverse();
    let run_name = |id: &Option<String>| -> Value {
        id.as_deref()
            .and_then(|id| store.catalog().get_run(id).ok())
            .map_or(Value::Null, |r| json!(r.run_name))
    };
    let mut t = Table::new([
        "version",
        "stage",
        "aliases",
        "run_id",
        "run_name",
        "source",
        "creation_timestamp",
        "last_updated_timestamp",
        "description",
    ]);
    for v in &versions {
        let aliases = if ctx.format == Format::Json {
            json!(v.aliases)
        } else {
            json!(v.aliases.join(" "))
        };
        t.push(vec![
            json!(v.version),
            json!(v.current_stage.as_str()),
            aliases,
            json!(v.run_id),
            run_name(&v.run_id),
            json!(v.source),
            time_cell(ctx.format, Some(v.creation_timestamp)),
            time_cell(ctx.format, Some(v.last_updated_timestamp)),
            json!(v.description),
        ]);
    }
    let mut out = std::io::stdout().lock();
    match ctx.format {
        Format::Csv => t.write(Format::Csv, &mut out)?,
        Format::Json => {
            let mut buf = Vec::new();
            t.write(Format::Json, &mut buf)?;
            let list: Value = serde_json::from_slice(&buf).map_err(json_err)?;
            let obj = json!({
                "name": m.name,
                "description": m.description,
                "creation_timestamp": m.creation_timestamp,
                "last_updated_timestamp": m.last_updated_timestamp,
                "tags": m.tags,
                "aliases": m.aliases,
                "versions": list,
            });
            serde_json::to_writer_pretty(&mut out, &obj).map_err(json_err)?;
            writeln!(out)?;
        }
        Format::Table => {
            writeln!(out, "name         {}", m.name)?;
            if let Some(d) = &m.description {
                writeln!(out, "description  {d}")?;
            }
            writeln!(out, "created      {}", format_time(m.creation_timestamp))?;
            writeln!(
                out,
                "updated      {}",
                format_time(m.last_updated_timestamp)
            )?;
            let stages = text(&stages_cell(Format::Table, &m.latest_versions));
            if !stages.is_empty() {
                writeln!(out, "stages       {stages}")?;
            }
            let aliases = text(&aliases_cell(Format::Table, &m.aliases));
            if !aliases.is_empty() {
                writeln!(out, "aliases      {aliases}")?;
            }
            for (k, v) in &m.tags {
                writeln!(out, "tag          {k}={v}")?;
            }
            writeln!(out)?;
            if t.rows.is_empty() {
                writeln!(out, "versions: (none)")?;
            } else {
                t.write(Format::Table, &mut out)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn json_err(e: serde_json::Error) -> CliError {
    CliError::new(e.to_string())
}
