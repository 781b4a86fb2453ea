#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU and no .NET SDK, with the self-contained build of
# experiments/publish.sh (made where the SDK is and copied over with the repository):
#   experiments/publish.sh          # where the SDK is
#   bash experiments/gpu/check.sh   # where the GPU is (bash: the copy may have lost the run bits; this sets them)
# Every step prints its own JSON lines and then one closing line, also when it hits its time limit:
#   {"step":NAME,"exit":..,"timed_out":..,"seconds":..,"json_lines":..,"stderr":"last lines"}
# A step that reaches its limit gets SIGINT first: the benchmarks then print what they measured so far (steps and
# seconds of the run in progress, blocks timed so far) before the closing line; one still running 3 s later is killed.
# The limits add up to about 8 minutes, 9 if every step had to be killed.
#   0. the machine: the driver, the libcuda the loader finds (ldconfig -p), nvidia-smi;
#   1. devicecheck --ptx: every kernel's PTX for SM 8.0, 8.9 and 9.0, parsed for what the driver could not load;
#   2. devicecheck: the device kernels against the CPU path (envs lane for lane and on reference files, the MinAtar games
#      lane for lane and on the conformance episodes, A2C's network, IMPALA's learner);
#   3. devicecheck --plan: each kernel of an A2C update timed on its own beside the cost model's estimate, at 4,096 and
#      65,536 lanes, and one env step at 1,048,576 lanes;
#   4. bench env: CartPole-v1 lane-steps per second at 4,096 to 1,048,576 lanes, MinAtar Breakout's at 4,096 to 262,144;
#   5. bench train: A2C to CartPole's threshold at 4,096 and 65,536 lanes, 3 seeds (median seconds to solve after
#      compilation, steps per second);
#   6. bench train: IMPALA with a 20,480-sample learner batch, its learner on the device and then on the CPU (the
#      baseline, same run), steps per second over the whole budget; then on MinAtar Breakout, its learner's conv
#      torso on the device;
#   7. bench train: A2C on MinAtar Breakout with 1,024 lanes, everything on the device, to a mean of 17.5 (seconds
#      to the score after compilation, steps per second; what it reached when the limit stops it).
# DEVICE=ilgpu-cpu bash experiments/gpu/check.sh rehearses it on ILGPU's CPU accelerator (slow: training steps hit their
# limits and report what they did). SCALE=0.5 halves every limit.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
chmod +x experiments/bin/linux-x64/hybrid experiments/gpu/check.sh experiments/publish.sh 2> /dev/null
source experiments/published.sh
export DOTNET_gcServer=0
device=${DEVICE:-cuda}
scale=${SCALE:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

json_text() { # stdin as one JSON string (backslashes, quotes, tabs and control bytes escaped, lines joined by \n)
  tr -d '\000-\010\013-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' | awk 'BEGIN { ORS = "" } { if (NR > 1) print "\\n"; print }'
}

step() { # step LIMIT_S NAME COMMAND...: the command's JSON lines, then the closing line
  local limit name start status out err seconds lines timed_out
  limit=$(awk -v l="$1" -v s="$scale" 'BEGIN { printf "%d", (l * s < 1 ? 1 : l * s) }')
  name=$2
  shift 2
  out="$work/out" err="$work/err"
  start=$(date +%s%N)
  timeout --signal=INT --kill-after=3 "$limit" "$@" > "$out" 2> "$err"
  status=$?
  seconds=$(awk -v ns="$(( $(date +%s%N) - start ))" 'BEGIN { printf "%.1f", ns / 1e9 }')
  grep '^{' "$out"
  lines=$(grep -c '^{' "$out")
  timed_out=false
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then timed_out=true; fi
  printf '{"step":"%s","exit":%d,"timed_out":%s,"limit_seconds":%d,"seconds":%s,"json_lines":%d,"stderr":"%s"}\n' \
    "$name" "$status" "$timed_out" "$limit" "$seconds" "$lines" "$(tail -n 8 "$err" | json_text)"
}

printf '{"step":"machine","date":"%s","host_cores":%d,"device":"%s","kernel":"%s"}\n' \
  "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(nproc)" "$device" "$(uname -r)"
printf '{"step":"driver","version":"%s"}\n' "$( (cat /proc/driver/nvidia/version 2> /dev/null || echo "no /proc/driver/nvidia/version") | head -n 1 | json_text)"
printf '{"step":"libcuda","ldconfig":"%s"}\n' "$( (ldconfig -p 2> /dev/null | grep libcuda || echo "ldconfig -p lists no libcuda") | json_text)"
if command -v nvidia-smi > /dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader |
    awk -F', ' '{printf "{\"step\":\"gpu\",\"gpu\":\"%s\",\"memory\":\"%s\",\"driver\":\"%s\",\"compute_capability\":\"%s\"}\n", $1, $2, $3, $4}'
  printf '{"step":"nvidia-smi","text":"%s"}\n' "$(nvidia-smi 2>&1 | json_text)"
else
  printf '{"step":"nvidia-smi","text":"nvidia-smi is not on PATH"}\n'
fi

step 25 "devicecheck --ptx" "$hybrid" devicecheck --ptx "$work/ptx" --json
step 55 "devicecheck" "$hybrid" devicecheck --device "$device" --json
step 45 "devicecheck --plan" "$hybrid" devicecheck --plan --device "$device" --json
for lanes in 4096 16384 65536 262144 1048576; do
  step 12 "bench env $lanes" "$hybrid" bench env --device "$device" --env CartPole-v1 --num-envs "$lanes" --samples 5 --json
done
for lanes in 4096 65536 262144; do
  step 12 "bench env minatar $lanes" "$hybrid" bench env --device "$device" --env MinAtar/Breakout-v1 --num-envs "$lanes" --samples 5 --json
done
for lanes in 4096 65536; do
  step 55 "bench train $lanes" "$hybrid" bench train --device "$device" --config "experiments/gpu/a2c-cartpole-$lanes.yaml" --seeds 3 --json
done
for learner in "$device" cpu; do
  step 35 "bench train impala $learner" "$hybrid" bench train --algo impala --device "$learner" --config experiments/gpu/impala-cartpole-large.yaml \
    --full-budget --seeds 1 --json
done
step 30 "bench train impala minatar $device" "$hybrid" bench train --algo impala --device "$device" --config experiments/gpu/impala-minatar-large.yaml \
  --full-budget --seeds 1 --json
step 50 "bench train a2c minatar $device" "$hybrid" bench train --device "$device" --config experiments/gpu/a2c-minatar-breakout.yaml --seeds 1 --json
