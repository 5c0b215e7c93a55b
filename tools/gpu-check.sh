#!/usr/bin/env bash
# The GPU path measured end to end in one run of at most 8 minutes (tools/gpu_check.py says what
# each part measures). From the repository root, on a machine with a CUDA GPU:
#   tools/gpu-check.sh OUT_DIR                    # shard, throughput, smoke, default: OUT_DIR/gpu-check.json
#   tools/gpu-check.sh OUT_DIR --parts precision  # fp32 against bf16 on the fraction experiment (a second run)
#   tools/gpu-check.sh OUT_DIR --rehearse         # the same on the CPU at toy sizes (what the tests run)
# The JSON is rewritten after each part: a run stopped at the limit (GPU_CHECK_LIMIT seconds, 480)
# keeps the parts it finished.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: tools/gpu-check.sh OUT_DIR [--rehearse] [--parts PART ...]}
shift
exec timeout --signal=TERM "${GPU_CHECK_LIMIT:-480}" python tools/gpu_check.py "$out" "$@"
