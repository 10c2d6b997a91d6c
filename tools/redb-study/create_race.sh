#!/bin/bash
# 8 processes create + init the same missing catalog at once (MultiWriter), 20 rounds
B=/tmp/redb-study/target/release/redb-study; W=/tmp/redb-study/work/create
rm -rf $W; mkdir -p $W; fails=0
for r in $(seq 1 20); do f=$W/c$r.redb
  for i in 1 2 3 4 5 6 7 8; do ( timeout 20 $B init --db $f --mode mw > $W/out$r-$i 2>&1 || echo FAIL >> $W/out$r-$i ) & done; wait
  n=$(grep -l "INIT len" $W/out$r-* | wc -l); [ $n -eq 8 ] || { fails=$((fails+1)); head -3 $W/out$r-*; }
  $B probe --db $f --mode mw --kind ro | grep -q "result=OK" || echo "probe fail round $r"
done
echo "rounds with a failing process: $fails / 20"
