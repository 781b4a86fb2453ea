#!/usr/bin/env bash
# ./run.sh            build (Release) and run the default A2C vs A3C comparison (hybrid compare experiments/a2c-vs-a3c-default.yaml)
# ./run.sh test       build and run the whole test suite
# ./run.sh ARGS...    build (when a source changed), then run `hybrid ARGS...` (e.g. ./run.sh bench nn --json)
# Hybrid runs in the directory you call this from, so relative paths you give (--config, --out, an experiment
# file) mean what they mean there; run folders land under ./runs there unless --out says otherwise.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if [ "$#" -eq 0 ]; then
  # The main job: the default A2C vs A3C comparison.
  set -- compare "$repo/experiments/a2c-vs-a3c-default.yaml"
fi

if [ "${1-}" = "test" ]; then
  shift
  # The Redis cluster tests start a redis-server of their own on the loopback: install Debian's package where it is
  # missing (as root, or through password-less sudo), or else leave those tests out and say so.
  filter=()
  if ! command -v redis-server > /dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    echo "run.sh: redis-server is missing (the Redis cluster tests need it); installing Debian's package..." >&2
    if command -v apt-get > /dev/null && $sudo apt-get update -qq > /dev/null 2>&1 && $sudo apt-get install -y -qq redis-server > /dev/null 2>&1; then
      # The package starts a system-wide server; the tests use their own.
      $sudo service redis-server stop > /dev/null 2>&1 || true
    elif [[ " $* " != *" --filter "* ]]; then
      echo "run.sh: could not install redis-server (it needs apt-get and root or password-less sudo): the Redis cluster tests are left out." >&2
      filter=(--filter "Category!=Redis")
    fi
  fi
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  set +e
  # The runner names every test as it ends; show a line of progress every 50 instead, and everything else (build
  # errors, failures with their messages) as it comes.
  echo "run.sh: building and running the tests (about 3 minutes on 2 cores)..." >&2
  SECONDS=0
  dotnet test "$repo/Hybrid.sln" -c Release --nologo --logger "console;verbosity=normal" ${filter[@]+"${filter[@]}"} "$@" 2>&1 | tee "$log" |
    while IFS= read -r line; do
      if [[ "$line" == "  Passed "* ]]; then
        done_count=$(( ${done_count:-0} + 1 ))
        (( done_count % 50 == 0 )) && echo "tests: ${done_count} passed so far (${SECONDS} s)"
      else
        printf '%s\n' "$line"
      fi
    done
  status=${PIPESTATUS[0]}
  set -e
  # Restate the runner's totals as the plain closing line 'N passed, N failed, N skipped'.
  count() { grep -E "^ +$1: +[0-9]+" "$log" | tail -n 1 | sed -nE 's/.*: +([0-9]+).*/\1/p' || true; }
  passed=$(count Passed)
  if [ -n "$passed" ]; then
    failed=$(count Failed)
    skipped=$(count Skipped)
    echo "tests: ${passed} passed, ${failed:-0} failed, ${skipped:-0} skipped (${SECONDS} s)"
  fi
  exit "$status"
fi

# Build quietly, and only when a source, project or embedded file is newer than the built command (an up-to-date check
# by dotnet build alone costs seconds); show the compiler's output only when the build fails.
dll="$repo/src/Hybrid.Cli/bin/Release/net10.0/hybrid.dll"
# The build stamps Hybrid's commit into every run's summary (compare reuses a run only of the same version): a new
# commit rebuilds too, even when no file changed.
commit=$(git -C "$repo" rev-parse HEAD 2>/dev/null || true)
if [ ! -f "$dll" ] || [ "$commit" != "$(cat "$dll.commit" 2>/dev/null || true)" ] || [ -n "$(find "$repo/src" "$repo/envs" "$repo/Directory.Build.props" "$repo/experiments/presets.yaml" \
    "$repo/experiments/reference" \( -name bin -o -name obj \) -prune -o \
    -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.csv' -o -name '*.yaml' \) -newer "$dll" -print -quit)" ]; then
  if ! build_log=$(dotnet build "$repo/src/Hybrid.Cli/Hybrid.Cli.csproj" -c Release --nologo -v quiet 2>&1); then
    printf '%s\n' "$build_log" >&2
    echo "run.sh: build failed" >&2
    exit 1
  fi
  # An up-to-date build leaves the dll as it was; mark it current so the next call skips the check.
  touch "$dll"
  printf '%s' "$commit" > "$dll.commit"
fi
# Commands Hybrid prints for the user to run next (to continue a run) start as the user started this one.
HYBRID_INVOKED_AS="$0" exec dotnet "$dll" "$@"
