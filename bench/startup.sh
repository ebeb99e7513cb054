#!/bin/sh
# Start-up and memory (issue 14): N runs (default 10) of `node -e 0` and of
# bench/startup-probe.mjs (import corebpf, BpfObject.open + load of one object into the
# running kernel, exit), interleaved; prints median wall time, CPU time (user+sys) and peak
# RSS of each, the wall-time ratio, and the probe's median phases. Needs root.
#   sh bench/startup.sh [N] [object]
N=${1:-10}
OBJ=$2
DIR=$(dirname "$0")
T=$(mktemp -d)
i=0
while [ "$i" -lt "$N" ]; do
  /usr/bin/time -f '%e %M %U %S' -o "$T/bare.$i" node -e 0
  /usr/bin/time -f '%e %M %U %S' -o "$T/probe.$i" node "$DIR/startup-probe.mjs" $OBJ 2>>"$T/phases.log"
  i=$((i + 1))
done
med() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
col() { cat "$T"/"$1".* | awk "{print $2}" | med; }
for k in bare probe; do
  printf '%-22s wall %5.2fs  cpu %5.2fs  peak RSS %4.0f MB\n' "$([ $k = bare ] && echo 'node -e 0' || echo 'startup-probe.mjs')" \
    "$(col $k '$1')" "$(col $k '$3+$4')" "$(col $k '$2/1024')"
done
echo "wall ratio probe / node -e 0: $(echo "$(col probe '$1') $(col bare '$1')" | awk '{printf "%.2f", $1/$2}')   (load average $(cut -d' ' -f1-3 /proc/loadavg))"
node -e "
const rows = require('fs').readFileSync('$T/phases.log', 'utf8').trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const med = (k) => { const v = rows.map((r) => r[k]).sort((a, b) => a - b); return v[v.length >> 1]; };
console.log('probe phases, median ms:', Object.keys(rows[0]).map((k) => k + ' ' + med(k)).join(', '));"
rm -rf "$T"
