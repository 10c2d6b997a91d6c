#!/bin/bash
# Experiment 4: cost of opening the catalog in a fresh process, and of a read txn + full scan.
# Every line is one fresh process (target/release/redb-study probe ...).
set -u
B=/tmp/redb-study/target/release/redb-study
D=/tmp/redb-study/work/open
pick() { grep -o "result=[A-Za-z:]*\|open_us=[0-9]*\|repair_calls=[0-9]*\|scan_[a-z_]*=[0-9]*\|rescan_runs_us=[0-9]*" | tr '\n' ' '; echo; }
for f in a b c22000; do
  db=$D/$f.redb
  echo "== $f.redb $(stat -c %s $db) bytes"
  for i in 1 2 3 4 5; do echo -n "  mw rw warm   : "; timeout 30 $B probe --db $db --mode mw --kind rw --scan | pick; done
  for i in 1 2 3; do echo -n "  mw rw cold   : "; timeout 30 $B probe --db $db --mode mw --kind rw --scan --fadvise | pick; done
  for i in 1 2 3; do echo -n "  mw ro warm   : "; timeout 30 $B probe --db $db --mode mw --kind ro --scan | pick; done
  for i in 1 2 3; do echo -n "  excl rw warm : "; timeout 30 $B probe --db $db --mode excl --kind rw --scan | pick; done
  for i in 1 2 3; do echo -n "  excl rw cold : "; timeout 30 $B probe --db $db --mode excl --kind rw --scan --fadvise | pick; done
  # unclean: a MultiWriter writer killed -9 in its commit loop, nobody else open
  for i in 1 2 3; do
    $B writer --db $db --proto mw --id 9 --max-secs 5 >/dev/null 2>&1 & p=$!; sleep 0.3; kill -9 $p; wait $p 2>/dev/null
    echo -n "  after kill -9 of mw writer: ro: "; $B probe --db $db --mode mw --kind ro --scan | pick
    echo -n "                              rw: "; $B probe --db $db --mode mw --kind rw --scan | pick
  done
  # unclean, flock/ExclusiveWriter protocol, commits without quick-repair, killed mid batch loop
  for q in "" "--quick"; do
    $B writer --db $db --proto flock --id 8 --max-secs 5 $q >/dev/null 2>&1 & p=$!; sleep 0.3; kill -9 $p; wait $p 2>/dev/null
    echo -n "  after kill -9 of excl writer${q:- (no quick)}: rw: "; $B probe --db $db --mode excl --kind rw --scan | pick
  done
done
