# Sourced, from the repository root, by the scripts that run the self-contained build of experiments/publish.sh
# (speedup/run-16.sh, gpu/check.sh): sets $hybrid to it, or stops the script with how to make it.
hybrid=experiments/bin/linux-x64/hybrid
if [ ! -x "$hybrid" ]; then
  echo "$(basename "$0"): $hybrid is missing; build it first with experiments/publish.sh" >&2
  exit 2
fi
