#!/usr/bin/env bash
# A bounded libFuzzer run for CTest (`fuzz.<target>`): run_fuzzer.sh FUZZER CORPUS
# REGRESSIONS SECONDS ARTIFACTS. The fuzzer works on a copy of the seed corpus in a
# temporary directory (new inputs it finds are not written into the tree); the
# regression inputs are read only. A crash leaves its input in ARTIFACTS and fails.
set -euo pipefail
fuzzer=$1 corpus=$2 regressions=$3 seconds=$4 artifacts=$5
work=$(mktemp -d "${TMPDIR:-/tmp}/aifed-fuzz-run-XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$corpus" "$work/corpus"
mkdir -p "$artifacts"
export TMPDIR="$work"
exec_args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
           -artifact_prefix="$artifacts/")
[ -d "$regressions" ] && set -- "$work/corpus" "$regressions" || set -- "$work/corpus"
"$fuzzer" "${exec_args[@]}" "$@"
