#!/usr/bin/env bash
# The one prepared script for a lent GPU (an H100): installs nothing; runs the test suite with compiled Triton
# kernels (not the interpreter), then the GPU benchmarks against torch on the same card; writes everything under
# $OUT. `perf/gpu_check.sh --dry-run` checks every step here on the CPU (interpreter, tiny sizes, tests/bench only).
#   budget (8 minutes in all): env+smoke <= 180 s (typically 20 s), tests <= TEST_TIMEOUT (default 230 s),
#   op+model suites <= BENCH_TIMEOUT (default 200 s; perf/suites.json:gpu stops starting cases at 160 s and a
#   SIGTERM still writes the partial JSON), report + tables ~10 s.
#   outputs: env.txt, tests.xml, tests.log, bench.log, bench_gpu.json (python -m tritorch.bench JSON),
#            bench_gpu.md (tables), bench_vs_baseline.txt (compare with $BASELINE, a stored GPU baseline, when set)
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
DEFAULT_TESTS=tests
[ $DRY -eq 1 ] && DEFAULT_TESTS=tests/bench
timeout "${TEST_TIMEOUT:-230}" $PY -m pytest -q -p no:cacheprovider $XDIST ${TEST_ARGS:-$DEFAULT_TESTS} \
  --junitxml="$OUT/tests.xml" > "$OUT/tests.log" 2>&1
echo "pytest exit: $?" >> "$OUT/tests.log"
tail -n 40 "$OUT/tests.log"

echo "--- benchmarks: python -m tritorch.bench (op and model suites vs torch on the same card)"
PROFILE=perf/suites.json:gpu
[ $DRY -eq 1 ] && PROFILE=perf/suites.json:dry-run
timeout "${BENCH_TIMEOUT:-200}" $PY -m tritorch.bench run --profile "$PROFILE" --no-progress \
  --out "$OUT/bench_gpu.json" ${BENCH_ARGS:-} > "$OUT/bench.log" 2>&1
echo "bench exit: $?" >> "$OUT/bench.log"
tail -n 30 "$OUT/bench.log"
if [ -f "$OUT/bench_gpu.json" ]; then
  timeout 60 $PY -m tritorch.bench report "$OUT/bench_gpu.json" --format md --out "$OUT/bench_gpu.md" >> "$OUT/bench.log" 2>&1
  echo "report exit: $?" >> "$OUT/bench.log"
  head -n 60 "$OUT/bench_gpu.md"
  # a stored GPU baseline of the same card, when one exists, is compared (informational here: exit code logged)
  BASE=${BASELINE:-}
  if [ -n "$BASE" ] && [ -f "$BASE" ]; then
    timeout 60 $PY -m tritorch.bench compare "$BASE" "$OUT/bench_gpu.json" --threshold 10% \
      > "$OUT/bench_vs_baseline.txt" 2>&1
    echo "compare exit: $?" >> "$OUT/bench_vs_baseline.txt"
    tail -n 5 "$OUT/bench_vs_baseline.txt"
  fi
fi
echo "results in $OUT"
