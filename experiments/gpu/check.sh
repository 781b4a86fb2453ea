#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU and no .NET SDK: with the self-contained build of
# experiments/publish.sh (made where the SDK is, carried over), it prints one JSON line per measurement:
#   1. the GPU (nvidia-smi);
#   2. devicecheck on CUDA: every device env lane for lane against the CPU env and on its reference file, A2C's
#      network kernels (values, logits, gradient, RMSProp step) against the CPU network, and IMPALA's device learner
#      (V-trace gradient and loss terms) against the CPU learner;
#   3. bench env --device cuda: CartPole-v1 lane-steps per second at 4,096 to 1,048,576 lanes;
#   4. bench train --device cuda: A2C to CartPole's threshold with 4,096 and 65,536 lanes, 3 seeds each (median
#      seconds to solve after compilation, steps per second, kernel compile seconds apart);
#   5. bench train, IMPALA with a 20,480-sample learner batch (experiments/gpu/impala-cartpole-large.yaml), its
#      learner's gradients on the device and then on the CPU (the baseline, same run): steps per second over 3M steps.
# Each command has its own time limit and a line with its exit status and milliseconds; the limits add up to under 10 minutes.
#   experiments/publish.sh       # where the SDK is
#   experiments/gpu/check.sh     # where the GPU is
# DEVICE=ilgpu-cpu experiments/gpu/check.sh rehearses it on ILGPU's CPU accelerator (slow: the training runs hit their limits).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source experiments/published.sh
export DOTNET_gcServer=0
device=${DEVICE:-cuda}

run() { # run LIMIT_S NAME COMMAND...: the command's JSON lines, then {"command":NAME,"exit":..,"seconds":..}
  local limit=$1 name=$2 start status
  shift 2
  start=$(date +%s%N)
  timeout "$limit" "$@"
  status=$?
  printf '{"command":"%s","exit":%d,"milliseconds":%d}\n' "$name" "$status" "$(( ($(date +%s%N) - start) / 1000000 ))"
}

if command -v nvidia-smi > /dev/null; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader |
    awk -F', ' '{printf "{\"gpu\":\"%s\",\"memory\":\"%s\",\"driver\":\"%s\"}\n", $1, $2, $3}'
fi
printf '{"host_cores":%d,"date":"%s"}\n' "$(nproc)" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
run 120 devicecheck "$hybrid" devicecheck --device "$device" --json
for lanes in 4096 16384 65536 262144 1048576; do
  run 30 "bench env $lanes" "$hybrid" bench env --device "$device" --env CartPole-v1 --num-envs "$lanes" --samples 5 --json
done
for lanes in 4096 65536; do
  run 100 "bench train $lanes" "$hybrid" bench train --device "$device" --config "experiments/gpu/a2c-cartpole-$lanes.yaml" --seeds 3 --json
done
for learner in "$device" cpu; do
  run 60 "bench train impala $learner" "$hybrid" bench train --algo impala --device "$learner" --config experiments/gpu/impala-cartpole-large.yaml \
    --full-budget --seeds 1 --json
done
