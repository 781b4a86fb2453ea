#!/usr/bin/env bash
# The speedup table on a 16-core machine: experiments/speedup-classic.yaml at 1, 2, 4, 8 and 16 threads with the
# self-contained build of experiments/publish.sh (no .NET SDK needed). Writes the experiment folder under $OUT (default: runs/)
# and prints the table. Thread counts above the machine's cores are refused, as `hybrid speedup` does everywhere.
# Stopped by its time limit, it keeps the finished runs: the same command resumes.
#   experiments/publish.sh                    # where the SDK is
#   experiments/speedup/run-16.sh [LIMIT_S]   # where the cores are; LIMIT_S defaults to 540
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source experiments/published.sh
limit=${1:-540}
out=${OUT:-runs}/speedup-classic
echo "run-16.sh: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), limit ${limit} s, folder $out"
if [ "$(nproc)" -lt 16 ]; then echo "run-16.sh: fewer than 16 cores here: the thread counts above $(nproc) are refused"; fi
status=0
timeout "$limit" "$hybrid" speedup experiments/speedup-classic.yaml --out "$out" || status=$?
if [ "$status" -eq 124 ]; then echo "run-16.sh: stopped at the ${limit} s limit; run it again to resume from the finished runs" >&2; fi
exit "$status"
