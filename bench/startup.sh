#!/bin/sh
# Start-up and memory (issue 14): N runs (default 10) of `node -e 0` and of
# bench/startup-probe.mjs (import corebpf, BpfObject.open + load of one object into the
# running kernel, exit), interleaved; prints median wall time, CPU time (user+sys) and peak
# RSS of each, the wall-time ratio, and the probe's median phases. Needs root.
# The probe runs three ways: without the on-disk cache (as by default), with a cache
# directory that is empty (a miss: the first run on a machine, kernel or build, which also
# fills it) and with one an earlier run filled (a hit: no worker starts).
#   sh bench/startup.sh [N] [object]
N=${1:-10}
OBJ=$2
DIR=$(dirname "$0")
T=$(mktemp -d)
HIT="$T/cache-hit"
COREBPF_CACHE_DIR="$HIT" QUIET=1 node "$DIR/startup-probe.mjs" $OBJ # fills the hit cache
i=0
while [ "$i" -lt "$N" ]; do
  /usr/bin/time -f '%e %M %U %S' -o "$T/bare.$i" node -e 0
  env -u COREBPF_CACHE_DIR /usr/bin/time -f '%e %M %U %S' -o "$T/probe.$i" node "$DIR/startup-probe.mjs" $OBJ 2>>"$T/phases-probe.log"
  COREBPF_CACHE_DIR="$T/cache-miss.$i" /usr/bin/time -f '%e %M %U %S' -o "$T/miss.$i" node "$DIR/startup-probe.mjs" $OBJ 2>>"$T/phases-miss.log"
  COREBPF_CACHE_DIR="$HIT" /usr/bin/time -f '%e %M %U %S' -o "$T/hit.$i" node "$DIR/startup-probe.mjs" $OBJ 2>>"$T/phases-hit.log"
  i=$((i + 1))
done
med() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { cat "$T"/"$1".[0-9]* | awk "{print $2}" | med; }
label() { case $1 in bare) echo 'node -e 0';; probe) echo 'probe, no cache';; miss) echo 'probe, cache miss';; hit) echo 'probe, cache hit';; esac; }
for k in bare probe miss hit; do
  printf '%-20s wall %5.2fs  cpu %5.2fs  peak RSS %4.0f MB' "$(label $k)" "$(col $k '$1')" "$(col $k '$3+$4')" "$(col $k '$2/1024')"
  [ $k = bare ] && echo || echo "   wall ratio vs node -e 0: $(echo "$(col $k '$1') $(col bare '$1')" | awk '{printf "%.2f", $1/$2}')"
done
echo "(load average $(cut -d' ' -f1-3 /proc/loadavg))"
for k in probe miss hit; do
  node -e "
const rows = require('fs').readFileSync('$T/phases-$k.log', 'utf8').trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const med = (k) => { const v = rows.map((r) => r[k]).sort((a, b) => a - b); return v[v.length >> 1]; };
console.log('$(label $k) phases, median ms:', Object.keys(rows[0]).map((k) => k + ' ' + med(k)).join(', '));"
done
rm -rf "$T"
