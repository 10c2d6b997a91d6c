"""Reads an MLflow file store exported by runlog back with MLflow's own client and compares
everything with what runlog says was logged.

    python verify.py <export dir (mlruns)> <expected.json>

expected.json is written by crates/runlog-mlflow/tests/mlflow_readback.rs from runlog's own
read API (catalog, metric histories, searches, registry, artifacts): nothing here is a
hard-coded expected value. Floats are compared bit for bit (every NaN counts as equal to any
NaN: Python spells them all `nan`). Works with MLflow 3.x and 2.22 (mlflow-skinny is enough).

Exit status 0 when every check matched (one summary line on stdout), 1 with the list of
differences otherwise, 2 when the arguments or the expected file are unusable.
"""

import json
import math
import os
import struct
import sys
import tempfile
import traceback

# MLflow >= 3.13 refuses the file store without this (spec section 0).
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import ViewType  # noqa: E402

MLFLOW_MAJOR = int(mlflow.__version__.split(".")[0])
MAX_SHOWN = 200


def bits(value):
    """The float as 16 hex digits of its IEEE-754 bits."""
    return struct.pack(">d", value).hex()


def same_float(expected_bits, actual):
    """expected_bits: 16 hex digits; actual: a Python float."""
    expected = struct.unpack(">d", bytes.fromhex(expected_bits))[0]
    if math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return isinstance(actual, float) and bits(actual) == expected_bits


def show_float(b):
    v = struct.unpack(">d", bytes.fromhex(b))[0]
    return f"{v!r} (bits {b})"


class Checker:
    def __init__(self):
        self.section = "setup"
        self.checks = {}
        self.failures = {}
        self.diffs = []

    def begin(self, section):
        self.section = section
        self.checks.setdefault(section, 0)
        self.failures.setdefault(section, 0)

    def ok(self, cond, what):
        self.checks[self.section] = self.checks.get(self.section, 0) + 1
        if not cond:
            self.failures[self.section] = self.failures.get(self.section, 0) + 1
            self.diffs.append(f"[{self.section}] {what}")
        return cond

    def eq(self, expected, actual, what):
        return self.ok(
            expected == actual, f"{what}: expected {expected!r}, MLflow read {actual!r}"
        )

    def crash(self, what):
        """An MLflow call raised: a difference too (the export must be readable)."""
        kind, err = sys.exc_info()[:2]
        text = "".join(traceback.format_exception_only(kind, err)).strip()
        self.ok(False, f"{what} raised: {text!r}")


def float_map_diffs(c, what, expected, actual):
    """expected: key -> [step, timestamp, bits]; actual: key -> Metric."""
    c.eq(sorted(expected), sorted(actual), f"{what}: metric keys")
    for key, (step, ts, b) in expected.items():
        m = actual.get(key)
        if m is None:
            continue
        c.ok(
            m.step == step and m.timestamp == ts and same_float(b, m.value),
            f"{what}: latest {key!r}: expected step {step} ts {ts} value {show_float(b)}, "
            f"MLflow read step {m.step} ts {m.timestamp} value {m.value!r}",
        )


def check_experiments(c, client, exp):
    c.begin("experiments")
    try:
        got = {e.experiment_id: e for e in client.search_experiments(view_type=ViewType.ALL)}
    except Exception:
        c.crash("search_experiments(ViewType.ALL)")
        return
    c.eq(
        sorted(e["experiment_id"] for e in exp["experiments"]),
        sorted(got),
        "experiment ids (search_experiments ALL)",
    )
    try:
        active = {e.experiment_id for e in client.search_experiments()}
        c.eq(
            sorted(e["experiment_id"] for e in exp["experiments"] if e["lifecycle_stage"] == "active"),
            sorted(active),
            "experiment ids (search_experiments ACTIVE_ONLY)",
        )
    except Exception:
        c.crash("search_experiments()")
    for e in exp["experiments"]:
        eid = e["experiment_id"]
        what = f"experiment {eid} ({e['name']!r})"
        for source, x in (("search", got.get(eid)), ("get_experiment", None)):
            if source == "get_experiment":
                try:
                    x = client.get_experiment(eid)
                except Exception:
                    c.crash(f"get_experiment({eid!r})")
                    continue
            if x is None:
                c.ok(False, f"{what}: not listed")
                continue
            c.eq(e["name"], x.name, f"{what} [{source}]: name")
            c.eq(e["lifecycle_stage"], x.lifecycle_stage, f"{what} [{source}]: lifecycle_stage")
            c.eq(e["creation_time"], x.creation_time, f"{what} [{source}]: creation_time")
            c.eq(e["last_update_time"], x.last_update_time, f"{what} [{source}]: last_update_time")
            c.eq(e["tags"], dict(x.tags), f"{what} [{source}]: tags")
        if "'" in e["name"]:
            # MLflow's file store looks names up with the filter `name = '<name>'`, unescaped
            # (3.17.2 and 2.22.5): MLflow itself cannot find such a name this way.
            continue
        try:
            by_name = client.get_experiment_by_name(e["name"])
            c.eq(eid, by_name.experiment_id if by_name else None, f"{what}: get_experiment_by_name")
        except Exception:
            c.crash(f"get_experiment_by_name({e['name']!r})")


def list_recursive(client, run_id, path=None):
    out = []
    for f in client.list_artifacts(run_id, path):
        out.append(f)
        if f.is_dir:
            out.extend(list_recursive(client, run_id, f.path))
    return out


def check_runs(c, client, exp, totals):
    by_exp = {}
    for r in exp["runs"]:
        by_exp.setdefault(r["experiment_id"], []).append(r)
    c.begin("runs")
    for e in exp["experiments"]:
        eid = e["experiment_id"]
        try:
            listed = client.search_runs([eid], run_view_type=ViewType.ALL, max_results=50000)
        except Exception:
            c.crash(f"search_runs([{eid!r}], ALL)")
            listed = []
        c.eq(
            sorted(r["run_id"] for r in by_exp.get(eid, [])),
            sorted(r.info.run_id for r in listed),
            f"experiment {eid}: run ids (search_runs ALL)",
        )
        searched = {r.info.run_id: r for r in listed}
        for r in by_exp.get(eid, []):
            rid = r["run_id"]
            what = f"run {rid} ({r['run_name']!r})"
            c.begin("runs")
            try:
                run = client.get_run(rid)
            except Exception:
                c.crash(f"get_run({rid!r})")
                continue
            for source, x in (("get_run", run), ("search_runs", searched.get(rid))):
                if x is None:
                    continue
                i = x.info
                c.begin("runs")
                c.eq(rid, i.run_id, f"{what} [{source}]: run_id")
                c.eq(eid, i.experiment_id, f"{what} [{source}]: experiment_id")
                c.eq(r["run_name"], i.run_name, f"{what} [{source}]: run_name")
                c.eq(r["status"], i.status, f"{what} [{source}]: status")
                c.eq(r["start_time"], i.start_time, f"{what} [{source}]: start_time")
                c.eq(r["end_time"], i.end_time, f"{what} [{source}]: end_time")
                c.eq(r["lifecycle_stage"], i.lifecycle_stage, f"{what} [{source}]: lifecycle_stage")
                c.eq(r["user_id"], i.user_id, f"{what} [{source}]: user_id")
                c.begin("params")
                c.eq(r["params"], dict(x.data.params), f"{what} [{source}]: params")
                c.begin("tags")
                c.eq(r["tags"], dict(x.data.tags), f"{what} [{source}]: tags")
                c.begin("latest metrics")
                float_map_diffs(
                    c, f"{what} [{source}]", r["metrics"], {m.key: m for m in x.data._metric_objs}
                )
            totals["runs"] += 1
            totals["params"] += len(r["params"])
            totals["tags"] += len(r["tags"])
            totals["latest"] += len(r["metrics"])
            c.begin("metric histories")
            c.eq(sorted(r["histories"]), sorted(run.data.metrics), f"{what}: keys with a history")
            for key, points in r["histories"].items():
                try:
                    hist = client.get_metric_history(rid, key)
                except Exception:
                    c.crash(f"get_metric_history({rid!r}, {key!r})")
                    continue
                totals["points"] += len(points)
                if not c.eq(len(points), len(hist), f"{what}: {key!r}: number of points"):
                    continue
                bad = [
                    i
                    for i, ((step, ts, b), m) in enumerate(zip(points, hist))
                    if not (m.step == step and m.timestamp == ts and same_float(b, m.value))
                ]
                if bad:
                    i = bad[0]
                    step, ts, b = points[i]
                    m = hist[i]
                    c.ok(
                        False,
                        f"{what}: {key!r}: {len(bad)} of {len(points)} points differ; first at "
                        f"index {i}: expected step {step} ts {ts} value {show_float(b)}, MLflow "
                        f"read step {m.step} ts {m.timestamp} value {m.value!r}",
                    )
                else:
                    c.ok(True, "")
            check_artifacts(c, client, r, what, totals)


def check_artifacts(c, client, r, what, totals):
    c.begin("artifacts")
    rid = r["run_id"]
    try:
        listed = list_recursive(client, rid)
    except Exception:
        c.crash(f"list_artifacts({rid!r}) (recursive)")
        return
    got = sorted([f.path, bool(f.is_dir), f.file_size if not f.is_dir else None] for f in listed)
    want = sorted([a["path"], a["is_dir"], a["file_size"]] for a in r["artifacts"])
    c.eq(want, got, f"{what}: list_artifacts (recursive: path, is_dir, size)")
    totals["artifacts"] += sum(1 for a in r["artifacts"] if not a["is_dir"])
    for path, hexbytes in r["artifact_bytes"].items():
        try:
            with tempfile.TemporaryDirectory() as dst:
                local = client.download_artifacts(rid, path, dst)
                with open(local, "rb") as f:
                    data = f.read()
        except Exception:
            c.crash(f"download_artifacts({rid!r}, {path!r})")
            continue
        c.ok(
            data == bytes.fromhex(hexbytes),
            f"{what}: artifact {path!r}: downloaded {len(data)} bytes differ from the "
            f"{len(hexbytes) // 2} logged",
        )


def check_searches(c, client, exp):
    c.begin("search_runs")
    views = {
        "ALL": ViewType.ALL,
        "ACTIVE_ONLY": ViewType.ACTIVE_ONLY,
        "DELETED_ONLY": ViewType.DELETED_ONLY,
    }
    for s in exp["searches"]:
        what = (
            f"search_runs(filter={s['filter']!r}, order_by={s['order_by']!r}, view={s['view']}, "
            f"max_results={s['max_results']}{', every page' if s['paged'] else ''})"
        )
        got, token = [], None
        try:
            while True:
                page = client.search_runs(
                    s["experiment_ids"],
                    filter_string=s["filter"],
                    run_view_type=views[s["view"]],
                    max_results=s["max_results"],
                    order_by=s["order_by"] or None,
                    page_token=token,
                )
                got.extend(r.info.run_id for r in page)
                token = page.token
                if not s["paged"] or not token:
                    break
        except Exception:
            c.crash(what)
            continue
        c.eq(s["run_ids"], got, what)


def version_fields(v):
    return {
        "version": str(v.version),
        "current_stage": v.current_stage,
        "source": v.source,
        "run_id": v.run_id,
        "description": v.description,
        "status": v.status,
        "tags": dict(v.tags),
        "aliases": sorted(v.aliases),
        "creation_timestamp": v.creation_timestamp,
        "last_updated_timestamp": v.last_updated_timestamp,
    }


def check_registry(c, client, exp, totals):
    reg = exp["registry"]
    c.begin("registry")
    try:
        listed = list(client.search_registered_models(max_results=1000))
    except Exception:
        c.crash("search_registered_models()")
        listed = []
    c.eq(
        sorted(m["name"] for m in reg["models"]),
        sorted(m.name for m in listed),
        "registered model names (search_registered_models)",
    )
    for m in reg["models"]:
        name = m["name"]
        what = f"registered model {name!r}"
        c.begin("registry")
        try:
            rm = client.get_registered_model(name)
        except Exception:
            c.crash(f"get_registered_model({name!r})")
            continue
        totals["models"] += 1
        c.eq(m["description"], rm.description, f"{what}: description")
        c.eq(m["tags"], dict(rm.tags), f"{what}: tags")
        c.eq(m["aliases"], {k: str(v) for k, v in dict(rm.aliases).items()}, f"{what}: aliases")
        c.eq(m["creation_timestamp"], rm.creation_timestamp, f"{what}: creation_timestamp")
        c.eq(
            m["last_updated_timestamp"], rm.last_updated_timestamp, f"{what}: last_updated_timestamp"
        )
        c.eq(
            sorted(m["latest_versions"]),
            sorted([str(v.version), v.current_stage] for v in (rm.latest_versions or [])),
            f"{what}: latest_versions (version, stage)",
        )
        c.begin("model versions")
        try:
            found = client.search_model_versions(f"name = '{name}'", max_results=10000)
        except Exception:
            c.crash(f"search_model_versions(name = {name!r})")
            found = []
        c.eq(
            sorted(v["version"] for v in m["versions"]),
            sorted(str(v.version) for v in found),
            f"{what}: versions (search_model_versions)",
        )
        searched = {str(v.version): v for v in found}
        for v in m["versions"]:
            vwhat = f"{what} version {v['version']}"
            try:
                got = client.get_model_version(name, v["version"])
            except Exception:
                c.crash(f"get_model_version({name!r}, {v['version']!r})")
                continue
            totals["versions"] += 1
            for source, x in (("get_model_version", got), ("search_model_versions", searched.get(v["version"]))):
                if x is None:
                    continue
                actual = version_fields(x)
                for field, want in v.items():
                    c.eq(want, actual[field], f"{vwhat} [{source}]: {field}")
        for number in m["deleted_versions"]:
            try:
                client.get_model_version(name, str(number))
                c.ok(False, f"{what}: deleted version {number} is visible to get_model_version")
            except Exception:
                c.ok(True, "")
            c.ok(str(number) not in searched, f"{what}: deleted version {number} is listed")
        c.begin("aliases")
        for alias, version in m["aliases"].items():
            try:
                got = client.get_model_version_by_alias(name, alias)
                c.eq(version, str(got.version), f"{what}: get_model_version_by_alias({alias!r})")
            except Exception:
                c.crash(f"get_model_version_by_alias({name!r}, {alias!r})")
        # MLflow 2.x reserves the alias `latest` instead of resolving it.
        if MLFLOW_MAJOR >= 3 and m["latest_version"] is not None:
            try:
                got = client.get_model_version_by_alias(name, "latest")
                c.eq(m["latest_version"], str(got.version), f"{what}: alias 'latest'")
            except Exception:
                c.crash(f"get_model_version_by_alias({name!r}, 'latest')")
    c.begin("registry searches")
    for s in reg["model_searches"]:
        what = f"search_registered_models(filter={s['filter']!r}, order_by={s['order_by']!r})"
        try:
            got = client.search_registered_models(
                filter_string=s["filter"], order_by=s["order_by"] or None, max_results=1000
            )
        except Exception:
            c.crash(what)
            continue
        c.eq(s["names"], [m.name for m in got], what)
    for s in reg["version_searches"]:
        what = f"search_model_versions(filter={s['filter']!r}, order_by={s['order_by']!r})"
        try:
            got = client.search_model_versions(
                filter_string=s["filter"], order_by=s["order_by"] or None, max_results=10000
            )
        except Exception:
            c.crash(what)
            continue
        c.eq(s["versions"], [[v.name, str(v.version)] for v in got], what)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, expected_path = sys.argv[1], sys.argv[2]
    if not os.path.isdir(root):
        print(f"verify.py: {root} is not a folder", file=sys.stderr)
        return 2
    with open(expected_path, encoding="utf-8") as f:
        exp = json.load(f)
    uri = "file://" + os.path.abspath(root)
    # Also the global URI: reading a 3.x version meta.yaml makes MLflow build a default client,
    # which would otherwise create ./mlflow.db and answer nothing (spec section 13.2).
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    c = Checker()
    totals = dict(runs=0, params=0, tags=0, latest=0, points=0, artifacts=0, models=0, versions=0)
    for step in (
        lambda: check_experiments(c, client, exp),
        lambda: check_runs(c, client, exp, totals),
        lambda: check_searches(c, client, exp),
        lambda: check_registry(c, client, exp, totals),
    ):
        try:
            step()
        except Exception:
            c.crash("the checker itself")

    sections = ", ".join(
        f"{s} {'ok' if c.failures.get(s, 0) == 0 else 'FAILED'} ({c.checks[s]})"
        for s in c.checks
        if s != "setup" or c.failures.get(s, 0)
    )
    counts = (
        f"{len(exp['experiments'])} experiments, {totals['runs']} runs, {totals['params']} params, "
        f"{totals['tags']} tags, {totals['latest']} latest metrics, {totals['points']} history "
        f"points, {len(exp['searches'])} run searches, {totals['artifacts']} artifact files, "
        f"{totals['models']} registered models, {totals['versions']} model versions"
    )
    total = sum(c.checks.values())
    if c.diffs:
        print(f"MLflow {mlflow.__version__}: {len(c.diffs)} of {total} checks FAILED")
        for d in c.diffs[:MAX_SHOWN]:
            print("  - " + d)
        if len(c.diffs) > MAX_SHOWN:
            print(f"  ... and {len(c.diffs) - MAX_SHOWN} more")
        print(f"sections: {sections}")
        print(f"read: {counts}")
        return 1
    print(f"MLflow {mlflow.__version__}: all {total} checks passed ({counts}); sections: {sections}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
