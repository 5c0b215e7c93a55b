#!/usr/bin/env bash
# The GPU path measured end to end in one run of 8 minutes, 45 s more at most to stop (tools/gpu_check.py says what
# each part measures). On a machine with a CUDA GPU, in the project's environment:
#   tools/gpu-check.sh OUT_DIR                            # shard, default, smoke, throughput: OUT_DIR/gpu-check.json
#   tools/gpu-check.sh OUT_DIR --work DIR ...             # keep the studies in DIR: a second run resumes them
#   tools/gpu-check.sh OUT_DIR --work DIR --parts default precision  # fp32 against bf16 on the fraction experiment
#   tools/gpu-check.sh OUT_DIR --rehearse                 # the same on the CPU at toy sizes (what the tests run)
# Every part gets the smaller of its budget and the time left; the JSON is rewritten after each
# part and when the limit (GPU_CHECK_LIMIT seconds, 480) stops the run, so the parts done survive.
set -euo pipefail
limit=${GPU_CHECK_LIMIT:-480}
exec timeout --signal=TERM --kill-after=45 "$limit" "${PYTHON:-python}" "$(dirname "$0")/gpu_check.py" --limit "$limit" "$@"
