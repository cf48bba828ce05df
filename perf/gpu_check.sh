#!/usr/bin/env bash
# The one prepared script for a lent GPU (an H100): installs nothing; runs the test suite with compiled Triton
# kernels (not the interpreter), then the GPU benchmarks against torch on the same card; writes everything under
# $OUT. `perf/gpu_check.sh --dry-run` checks every step here on the CPU (interpreter, tiny sizes).
#   budget: tests <= TEST_TIMEOUT (default 330 s), benchmarks <= BENCH_TIMEOUT (default 150 s)
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
PY=${PY:-python3}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
DRY=0
if [ "${1:-}" = "--dry-run" ]; then
  DRY=1
  export TRITON_INTERPRET=1
  PY=${PY_DRY:-.venv/bin/python}
else
  export TRITON_INTERPRET=0
fi
NPROC=$(nproc)

{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null || echo "no nvidia-smi"
  $PY -c "import sys, triton, numpy, ml_dtypes; print('python', sys.version.split()[0], 'triton', triton.__version__, 'numpy', numpy.__version__)"
  $PY -c "import cuda.bindings; print('cuda-bindings', cuda.bindings.__version__)" 2>&1 | tail -1
  echo "--- smoke (no torch import)"
  timeout 180 $PY -c "
import sys, tritorch as tt
x = tt.arange(8, dtype=tt.float32, device='cuda')
print(tt.cuda.get_device_name(), (x + x).cpu().tolist(), (x @ x).item())
print('torch imported:', 'torch' in sys.modules)
"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

echo "--- tests"
XDIST=""
if [ $DRY -eq 0 ] && $PY -c "import xdist" 2>/dev/null; then XDIST="-n $((NPROC > 16 ? 16 : NPROC))"; fi
timeout "${TEST_TIMEOUT:-330}" $PY -m pytest -q -p no:cacheprovider $XDIST ${TEST_ARGS:-tests} \
  --junitxml="$OUT/tests.xml" > "$OUT/tests.log" 2>&1
echo "pytest exit: $?" >> "$OUT/tests.log"
tail -n 40 "$OUT/tests.log"

echo "--- benchmarks"
BENCH_ARGS=""
[ $DRY -eq 1 ] && BENCH_ARGS="--dry-run"
timeout "${BENCH_TIMEOUT:-150}" $PY perf/bench_gpu_foundation.py $BENCH_ARGS --json "$OUT/gpu_bench.json" \
  > "$OUT/bench.log" 2>&1
echo "bench exit: $?" >> "$OUT/bench.log"
tail -n 60 "$OUT/bench.log"
echo "results in $OUT"
