#!/bin/bash
# Re-runs every experiment of FINDINGS.md; each step bounded by `timeout`. Output: results/*.txt
set -u
cd /tmp/redb-study
cargo build --release --offline 2>&1 | tail -1
B=target/release/redb-study
mkdir -p results work/open
T="timeout 120"
# 1. MultiWriter throughput
$T $B tp --proto mw --writers 8 --readers 2 --runs 5            > results/1-mw-8w.txt 2>&1
$T $B tp --proto mw --writers 8 --readers 2 --runs 5 --tag b    > results/1-mw-8w-b.txt 2>&1
$T $B tp --proto mw --writers 1 --readers 2 --runs 5 --tag one  > results/1-mw-1w.txt 2>&1
$T $B tp --proto mw --writers 8 --readers 2 --runs 5 --tag batch --writer-extra batch=10 > results/1-mw-8w-batch10.txt 2>&1
# 4. catalogs for the open-cost runs (also used by 1-big)
[ -f work/open/a.redb ] || $B build --db work/open/a.redb --runs 10000
[ -f work/open/b.redb ] || $B build --db work/open/b.redb --runs 10000 --prefill-mb 43
[ -f work/open/c22000.redb ] || $B build --db work/open/c22000.redb --runs 22000
$T $B tp --proto mw --writers 8 --readers 0 --runs 3 --tag big0 --from work/open/c22000.redb > results/1-mw-8w-bigcatalog-noreaders.txt 2>&1
$T $B tp --proto mw --writers 8 --readers 2 --runs 3 --tag big2 --from work/open/c22000.redb > results/1-mw-8w-bigcatalog-2fullscanreaders.txt 2>&1
# 2. kill -9
$T $B kill --proto mw --writers 8 --readers 2 --cycles 40 > results/2-kill-mw-8w.txt 2>&1
$T $B kill --proto mw --writers 2 --readers 2 --cycles 80 --sleep-lo 5 --sleep-hi 120 --tag 2w > results/2-kill-mw-2w.txt 2>&1
$T $B kill --proto mw --writers 1 --readers 2 --cycles 60 --sleep-lo 5 --sleep-hi 80 --tag 1w > results/2-kill-mw-1w.txt 2>&1
$T $B kill --proto mw --writers 1 --readers 2 --cycles 60 --sleep-lo 5 --sleep-hi 80 --fallback --tag fb > results/2-kill-mw-1w-fallback.txt 2>&1
$T $B stopx --cycles 15 > results/2b-sigstop-mw.txt 2>&1
# 3. SingleWriter
$T $B sw --quick 1 --cycles 3 > results/3-sw-quick.txt 2>&1
$T $B sw --quick 0 --cycles 3 --prefill-mb 100 > results/3-sw-noquick-prefill.txt 2>&1
$T $B sw --quick 1 --cycles 3 --prefill-mb 100 > results/3-sw-quick-prefill.txt 2>&1
# 4. open cost
$T ./exp4.sh > results/4-open-cost.txt 2>&1
$T ./fullrepair.sh > results/4-full-repair.txt 2>&1
# 5. flock + ExclusiveWriter
$T $B tp --proto flock --writers 8 --readers 2 --runs 5 > results/5-flock-8w.txt 2>&1
$T $B tp --proto flock --writers 8 --readers 2 --runs 5 --tag n --writer-extra none=1 > results/5-flock-8w-none.txt 2>&1
$T $B tp --proto flock --writers 8 --readers 2 --runs 5 --tag p --writer-extra per-open=10 > results/5-flock-8w-peropen10.txt 2>&1
$T $B tp --proto flock --writers 1 --readers 0 --runs 5 --tag one > results/5-flock-1w.txt 2>&1
$T $B kill --proto flock --writers 8 --readers 2 --cycles 40 > results/5-kill-flock-8w.txt 2>&1
$T $B kill --proto flock --writers 1 --readers 2 --cycles 60 --sleep-lo 5 --sleep-hi 80 --tag 1w > results/5-kill-flock-1w.txt 2>&1
$T $B kill --proto flock --writers 1 --readers 2 --cycles 60 --sleep-lo 5 --sleep-hi 80 --writer-extra quick=1 --tag 1wq > results/5-kill-flock-1w-quick.txt 2>&1
# concurrent first create of the store, 8 processes x 20 rounds
$T ./create_race.sh > results/6-create-race.txt 2>&1
echo done
