#!/usr/bin/env bash
# The simulator's fixed output set (docs/benchmarks.md): every run below writes its files
# into OUT_DIR, and the last step prints one SHA-256 per output file. Two builds agree
# when their listings are identical:
#
#   bench/sim_golden.sh build/rel/sim/aifed-sim /tmp/golden-before > /tmp/before.sha
#   bench/sim_golden.sh build/new/sim/aifed-sim /tmp/golden-after  > /tmp/after.sha
#   diff /tmp/before.sha /tmp/after.sha
#
# Wall times and output paths (in the console output and report.html) are removed before
# hashing; every other file is hashed as written. Runs take about a minute on two cores.
set -euo pipefail
sim=${1:?usage: sim_golden.sh AIFED_SIM OUT_DIR}
out=${2:?usage: sim_golden.sh AIFED_SIM OUT_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
traces=$here/data/traces
fed=$here/config/federation-7.toml
rm -rf "$out"
mkdir -p "$out"

run() {  # NAME ARGS...: one aifed-sim command, its stdout kept without wall times
  local name=$1
  shift
  "$sim" "$@" --federation "$fed" --out "$out/$name" >"$out/$name.stdout" 2>&1 ||
    { echo "sim_golden: $name failed:" >&2; cat "$out/$name.stdout" >&2; exit 1; }
}

run syn50k run --synthetic 50000 --seed 1
run syn20k-compare compare --synthetic 20000 --seed 2 --policies earliest-start,least-loaded,data-gravity
run syn20k-faults run --synthetic 20000 --seed 3 --outage mimer:24:48 --outage it4lia:100:130 \
  --report-delay 30 --report-loss 0.05
run syn20k-fcfs-green run --synthetic 20000 --seed 4 --sched fcfs --placement-cycle 30 --policy green
run lublin-compare compare --trace "$traces/lublin_256.swf" --policies first-fit,earliest-start,balanced
run nasa-faults run --trace "$traces/NASA-iPSC-1993-3.1-cln.swf" --outage lumi-aif:10:40 \
  --report-delay 20 --report-loss 0.05
for trace in lublin_256 NASA-iPSC-1993-3.1-cln; do
  for sched in fcfs easy; do
    "$sim" single --trace "$traces/$trace.swf" --sched $sched \
      --jobs-out "$out/single-$trace-$sched.csv" | grep -v '^wall time' >"$out/single-$trace-$sched.stdout"
  done
done

cd "$out"
find . -type f | sort | while read -r f; do
  case "$f" in
    *.html) printf '%s  %s\n' "$(sed -E 's/[0-9.]+ s wall|wall[^<]*<[^>]*>[^<]*//g' "$f" | sha256sum | cut -d' ' -f1)" "$f" ;;
    *.stdout) printf '%s  %s\n' "$(sed -E 's/ in [0-9.e+-]+ s \([0-9]+ jobs\/s\)//' "$f" |
      grep -v '^wrote ' | sha256sum | cut -d' ' -f1)" "$f" ;;
    *) printf '%s  %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f" ;;
  esac
done
