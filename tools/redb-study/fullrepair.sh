#!/bin/bash
# Full-repair cost (SingleWriter writer without quick-repair killed -9, then a writable open)
B=/tmp/redb-study/target/release/redb-study; D=/tmp/redb-study/work/open
for f in a c22000; do cp $D/$f.redb $D/rep.redb; for fa in "" "--fadvise"; do
  $B writer --db $D/rep.redb --proto sw --id 7 --max-secs 5 >/dev/null 2>&1 & p=$!; sleep 0.4; kill -9 $p; wait $p 2>/dev/null
  echo -n "$f ($(stat -c %s $D/rep.redb) bytes) sw no-quick killed, sw rw open $fa: "
  $B probe --db $D/rep.redb --mode sw --kind rw --scan $fa | grep -o "result=[A-Z]*\|open_us=[0-9]*\|repair_calls=[0-9]*" | tr '\n' ' '; echo
done; done; rm -f $D/rep.redb
