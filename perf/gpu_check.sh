#!/usr/bin/env bash
# The one prepared script for a lent GPU (an H100): installs nothing; checks the card, runs the cuda half of the
# test suite with compiled Triton kernels (not the interpreter), then the NN-kernels issue's GPU targets and the
# op+model suites against torch on the same card; writes everything under $OUT. `perf/gpu_check.sh --dry-run`
# checks every step here on the CPU (interpreter, tiny sizes, tests/bench only).
#   budget (about 7 minutes in all, so a lease of 15 leaves room to rerun): env+smoke <= 120 s (typically 20 s;
#   a failed smoke stops the script at once: nothing after it could pass), tests <= TEST_TIMEOUT (default 170 s;
#   SIGINT at the limit still writes the summary and the junit XML), NN targets <= NN_TIMEOUT (default 150 s),
#   op+model suites <= BENCH_TIMEOUT (default 100 s; cases stop starting at BENCH_TIME_LIMIT, default 70 s;
#   BENCH_TIMEOUT=0 skips them).
#   examples on cuda <= 2 x EXAMPLES_TIMEOUT (default 0: skipped); diagnostics <= PROBE_TIMEOUT (default 0: skipped);
#   linalg vs torch (perf/bench_linalg.py --device cuda) <= LINALG_TIMEOUT (default 0: skipped; LINALG_ARGS).
#   TOTAL_BUDGET=S gives the tests whatever is left of S seconds from the script's start (with TESTS_LAST=1).
#   TESTS_LAST=1 runs the tests after the measurements (before the op+model suites); TEST_FLAGS=-v logs every
#   test's result as it finishes (kept even when the time limit stops pytest before its summary).
#   outputs: env.txt, fast_launch.txt, tests.xml, tests.log, probe.log, nn_targets.log/json (perf/bench_gpu_nn.py),
#            examples.log, linalg.log, bench.log,
#            bench_gpu.json (python -m tritorch.bench JSON), bench_gpu.md (tables)
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
T0=$(date +%s)

{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null || echo "no nvidia-smi"
  $PY -c "import sys, triton, numpy, ml_dtypes; print('python', sys.version.split()[0], 'triton', triton.__version__, 'numpy', numpy.__version__)"
  $PY -c "import cuda.bindings; print('cuda-bindings', cuda.bindings.__version__)" 2>&1 | tail -1
  echo "--- smoke (no torch import)"
  timeout 120 $PY -c "
import sys, traceback
class TorchImportSpy:  # tritorch must not import torch: show who does, if anyone
    def find_spec(self, name, path=None, target=None):
        if name == 'torch':
            print('torch imported from:'); traceback.print_stack(limit=14, file=sys.stdout)
        return None
sys.meta_path.insert(0, TorchImportSpy())
import tritorch as tt
x = tt.arange(8, dtype=tt.float32, device='cuda')
print(tt.cuda.get_device_name(), (x + x).cpu().tolist(), (x @ x).item())
m = tt.randn(64, 48, device='cuda', requires_grad=True)
y = tt.nn.functional.softmax(m @ m.T, -1).sum()
y.backward()
print('softmax(m @ m.T).sum() backward ok:', tuple(m.grad.shape), 'torch imported:', 'torch' in sys.modules)
"
  echo "smoke exit: $?"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
if ! grep -q "smoke exit: 0" "$OUT/env.txt"; then echo "smoke failed: stopping"; exit 2; fi
echo "--- fast launch check (perf/gpu_fast_launch_check.py: remembered kernels vs cpu)"
timeout 150 $PY perf/gpu_fast_launch_check.py > "$OUT/fast_launch.txt" 2>&1
FL=$?
cat "$OUT/fast_launch.txt"
if [ $FL -ne 0 ]; then echo "fast launch check failed (exit $FL): stopping; rerun with TRITORCH_FAST_LAUNCH=0"; exit 3; fi

run_tests() {
  echo "--- tests (the cuda cases: the cpu ones are CI's)"
  XDIST=""
  if [ $DRY -eq 0 ] && $PY -c "import xdist" 2>/dev/null; then XDIST="-n $((NPROC > 16 ? 16 : NPROC))"; fi
  PTIMEOUT=""
  if $PY -c "import pytest_timeout" 2>/dev/null; then PTIMEOUT="--timeout 90"; fi
  DEFAULT_TESTS="tests -k cuda"
  [ $DRY -eq 1 ] && DEFAULT_TESTS=tests/bench
  # TEST_IDS_FILE: one test id per line (e.g. the cases a previous run did not reach or failed), instead
  IDS=()
  if [ -n "${TEST_IDS_FILE:-}" ]; then mapfile -t IDS < "$TEST_IDS_FILE"; else read -r -a IDS <<< "${TEST_ARGS:-$DEFAULT_TESTS}"; fi
  TT=${TEST_TIMEOUT:-170}
  # TOTAL_BUDGET (seconds for the whole script): the tests take what is left of it, less 30 s for the kill grace
  if [ -n "${TOTAL_BUDGET:-}" ]; then TT=$(( T0 + TOTAL_BUDGET - $(date +%s) - 30 )); [ $TT -lt 10 ] && TT=10; fi
  echo "test time limit: ${TT} s"
  timeout -s INT -k 20 "$TT" $PY -m pytest ${TEST_FLAGS:--q} -p no:cacheprovider -o addopts="" $XDIST $PTIMEOUT \
    -rfE --tb=short "${IDS[@]}" --junitxml="$OUT/tests.xml" > "$OUT/tests.log" 2>&1
  echo "pytest exit: $?" >> "$OUT/tests.log"
  grep -E "(FAILED|ERROR) " "$OUT/tests.log" | head -n 60
  tail -n 5 "$OUT/tests.log"
}
[ "${TESTS_LAST:-0}" = "1" ] || run_tests

echo "--- diagnostics (perf/gpu_probe.py; PROBE_TIMEOUT, default 0 = skipped)"
if [ "${PROBE_TIMEOUT:-0}" != "0" ]; then
  timeout "${PROBE_TIMEOUT}" $PY perf/gpu_probe.py --time-limit $(( PROBE_TIMEOUT - 20 )) ${PROBE_ARGS:-} \
    > "$OUT/probe.log" 2>&1
  echo "probe exit: $?" >> "$OUT/probe.log"
  tail -n 40 "$OUT/probe.log"
fi

echo "--- NN-kernel GPU targets (perf/bench_gpu_nn.py; NN_TIMEOUT=0 skips them)"
if [ "${NN_TIMEOUT:-150}" != "0" ]; then
  timeout "${NN_TIMEOUT:-150}" $PY perf/bench_gpu_nn.py --time-limit $(( ${NN_TIMEOUT:-150} - 40 )) \
    --json "$OUT/nn_targets.json" ${NN_ARGS:-} > "$OUT/nn_targets.log" 2>&1
  echo "nn targets exit: $?" >> "$OUT/nn_targets.log"
  cat "$OUT/nn_targets.log"
fi

echo "--- examples on cuda (EXAMPLES_TIMEOUT, default 0 = skipped): digits CNN with defaults, 100 GPT steps"
if [ "${EXAMPLES_TIMEOUT:-0}" != "0" ]; then
  ET=${EXAMPLES_TIMEOUT}
  { timeout "$ET" $PY examples/digits.py --device cuda --no-progress --checkpoint /tmp/gpu_check_digits.safetensors
    echo "digits exit: $?"
    timeout "$ET" $PY examples/gpt_addition.py --device cuda --no-progress --steps 100 --warmup 10 --n-test 200 \
      --samples 2 --checkpoint /tmp/gpu_check_gpt.safetensors
    echo "gpt_addition exit: $?"; } > "$OUT/examples.log" 2>&1
  cat "$OUT/examples.log"
fi

echo "--- linalg vs torch on cuda (perf/bench_linalg.py; LINALG_TIMEOUT, default 0 = skipped)"
if [ "${LINALG_TIMEOUT:-0}" != "0" ]; then
  timeout "${LINALG_TIMEOUT}" $PY perf/bench_linalg.py --device cuda --repeat 3 --time-limit $(( LINALG_TIMEOUT - 20 )) \
    ${LINALG_ARGS:---sizes 256x16,64x64,1x128} > "$OUT/linalg.log" 2>&1
  echo "linalg exit: $?" >> "$OUT/linalg.log"
  cat "$OUT/linalg.log"
fi

[ "${TESTS_LAST:-0}" = "1" ] && run_tests
if [ "${BENCH_TIMEOUT:-100}" = "0" ]; then echo "--- op+model suites skipped (BENCH_TIMEOUT=0)"; echo "results in $OUT"; exit 0; fi
echo "--- benchmarks: python -m tritorch.bench (op and model suites vs torch on the same card)"
PROFILE=perf/suites.json:gpu
[ $DRY -eq 1 ] && PROFILE=perf/suites.json:dry-run
TL=""
[ $DRY -eq 0 ] && TL="--time-limit ${BENCH_TIME_LIMIT:-70}"
timeout "${BENCH_TIMEOUT:-100}" $PY -m tritorch.bench run --profile "$PROFILE" --no-progress $TL \
  --out "$OUT/bench_gpu.json" ${BENCH_ARGS:-} > "$OUT/bench.log" 2>&1
echo "bench exit: $?" >> "$OUT/bench.log"
tail -n 30 "$OUT/bench.log"
if [ -f "$OUT/bench_gpu.json" ]; then
  timeout 60 $PY -m tritorch.bench report "$OUT/bench_gpu.json" --format md --out "$OUT/bench_gpu.md" >> "$OUT/bench.log" 2>&1
  echo "report exit: $?" >> "$OUT/bench.log"
  head -n 80 "$OUT/bench_gpu.md"
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
