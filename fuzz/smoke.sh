#!/usr/bin/env bash
# Short fuzzing smoke run of every target in fuzz/, on the stable toolchain (no sanitizer).
#
#   FUZZ_SECONDS=20 bash fuzz/smoke.sh        # from anywhere; 20 s per target is the default
#   bash fuzz/smoke.sh filter_parser          # only the named targets
#
# For each target: replays fuzz/regressions/<target>-* (saved crashes, once each), then fuzzes
# for FUZZ_SECONDS seconds from fuzz/corpus/<target> (kept between runs, git-ignored) plus the
# committed seeds in fuzz/seeds/<target>. Exits non-zero if any replay or fuzz run crashes,
# panics, runs out of memory or times out; crashing inputs land in fuzz/artifacts/<target>/.
# Full libFuzzer logs: fuzz/artifacts/smoke-<target>.log.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
TARGETS=(record_decoder block_decoder codec_roundtrip filter_parser)
if (($#)); then
    TARGETS=("$@")
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
cargo fuzz --version

start=$SECONDS
echo "== building ${TARGETS[*]} (sanitizer: none)"
if (($#)); then
    for t in "${TARGETS[@]}"; do cargo fuzz build -s none "$t"; done
else
    cargo fuzz build -s none
fi
echo "== build: $((SECONDS - start)) s"

mkdir -p fuzz/artifacts
failed=()
for t in "${TARGETS[@]}"; do
    log="fuzz/artifacts/smoke-$t.log"
    : >"$log"

    shopt -s nullglob
    regressions=(fuzz/regressions/"$t"-*)
    shopt -u nullglob
    for r in "${regressions[@]}"; do
        rlog="fuzz/artifacts/smoke-$t-$(basename "$r").log"
        if cargo fuzz run -s none "$t" "$r" >"$rlog" 2>&1; then
            echo "== $t: regression $r passes"
        else
            echo "== $t: regression $r FAILS (log: $rlog):"
            grep -E -m 2 "panicked at|memory allocation of|ERROR: libFuzzer" "$rlog" || tail -n 20 "$rlog"
            failed+=("$t:$(basename "$r")")
        fi
    done

    corpus="fuzz/corpus/$t"
    mkdir -p "$corpus"
    dirs=("$corpus")
    [[ -d "fuzz/seeds/$t" ]] && dirs+=("fuzz/seeds/$t")
    t0=$SECONDS
    if cargo fuzz run -s none "$t" "${dirs[@]}" -- \
        -max_total_time="$FUZZ_SECONDS" -timeout=30 -rss_limit_mb=2048 >>"$log" 2>&1; then
        status=ok
    else
        status=CRASH
        failed+=("$t")
    fi
    done_line=$(grep -E "^#[0-9]+[[:space:]]+DONE" "$log" | tail -n 1 || true)
    echo "== $t: $status in $((SECONDS - t0)) s: ${done_line:-no DONE line}"
    if [[ $status != ok ]]; then
        # The panic message (or allocation failure) and the backtrace; else the log's tail
        # (a build error, say).
        excerpt=$(sed -n '/panicked at\|memory allocation of\|ERROR: libFuzzer/,$p' "$log" | head -n 60)
        if [[ -n $excerpt ]]; then echo "$excerpt"; else tail -n 40 "$log"; fi
        for a in "fuzz/artifacts/$t"/*; do
            if [[ -f $a ]]; then echo "   artifact: $a"; fi
        done
    fi
done

echo "== total: $((SECONDS - start)) s"
if ((${#failed[@]})); then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all ${#TARGETS[@]} targets ran ${FUZZ_SECONDS} s without a crash"
