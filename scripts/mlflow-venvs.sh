#!/usr/bin/env bash
# Creates the Python venvs the MLflow read-back test (crates/runlog-mlflow/tests/mlflow_readback.rs)
# runs its checker in: DIR/<version>/ for each MLflow version below, each with only
# mlflow-skinny (about 140 MB, about 10 s with a reachable package index).
#
#   bash scripts/mlflow-venvs.sh [DIR]        # DIR defaults to target/mlflow-venvs
#
# Idempotent: a venv whose Python already imports the right MLflow version is left alone.
# Exits non-zero, saying what failed, when python3, its venv module or pip fails.
set -euo pipefail

VERSIONS=(3.17.2 2.22.5)
dir="${1:-target/mlflow-venvs}"
python="${PYTHON:-python3}"

fail() {
    echo "mlflow-venvs: $*" >&2
    echo "mlflow-venvs: the MLflow read-back test needs python3 (3.9 or newer) with its venv" \
        "module and pip able to install mlflow-skinny from a package index." >&2
    exit 1
}

command -v "$python" >/dev/null 2>&1 || fail "'$python' not found on PATH"
mkdir -p "$dir" || fail "cannot create $dir"
# Two `cargo test` runs at once must not build the same venv together.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$dir/.lock"
    flock 9
fi

for v in "${VERSIONS[@]}"; do
    venv="$dir/$v"
    check="import mlflow; assert mlflow.__version__ == '$v', mlflow.__version__"
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" >/dev/null 2>&1; then
        echo "mlflow-venvs: $venv has mlflow-skinny $v"
        continue
    fi
    echo "mlflow-venvs: creating $venv (mlflow-skinny==$v)"
    rm -rf "$venv"
    "$python" -m venv "$venv" || fail "'$python -m venv $venv' failed (on Debian: apt-get install python3-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "mlflow-skinny==$v" \
        || fail "pip could not install mlflow-skinny==$v into $venv"
    "$venv/bin/python" -c "$check" || fail "$venv/bin/python does not import mlflow $v after installing it"
    echo "mlflow-venvs: $venv ready"
done
