#!/bin/bash
# Before/after in one run, alternating, for a noisy shared machine: the placement
# benchmarks (CPU time, median of 3) and callgrind's instruction count of the simulator
# on 20,000 jobs (independent of the load), for two Release build directories.
#
#   bench/ab.sh /work/baseline/build/rel build/rel
set -euo pipefail
before=${1:?usage: bench/ab.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR}
after=${2:?usage: bench/ab.sh BEFORE_BUILD_DIR AFTER_BUILD_DIR}
filter='BM_Place/|BM_PlaceBalanced/sites:7|BM_TickQueue/sites:7'
for round in 1 2; do
  for side in before after; do
    dir=$before
    [ "$side" = after ] && dir=$after
    echo "== $side, round $round"
    "$dir/bench/placement_bench" --benchmark_counters_tabular=true --benchmark_filter="$filter" \
      --benchmark_min_time=2 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
      2>/dev/null | grep -E "median|BM_TickQueue"
  done
done
if command -v valgrind >/dev/null; then
  for side in before after; do
    dir=$before
    [ "$side" = after ] && dir=$after
    echo "== callgrind, $side"
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$dir/bench/sim_bench" --jobs 20000 \
      2>&1 | grep -E "Collected|jobs/s"
  done
fi
