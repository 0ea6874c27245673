#!/usr/bin/env bash
# The GPU check of issue 16, in one run on a machine with an NVIDIA GPU.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

usage() {
  cat <<'USAGE'
Usage: scripts/gpu-check.sh [-B DIR] [--python PY] [-j N] [--deps DIR] [--time-limit S]
                            [--no-bench] [--no-ddp] [--no-sanitizer]
       scripts/gpu-check.sh --stage-deps [DIR]

On a machine with an NVIDIA GPU, nvcc, CMake and a CUDA build of PyTorch 2.x
(importable by PY, default python3), in a fresh copy of the tree:

 1. preflight: nvidia-smi, nvcc, cmake, PY's torch (must see a CUDA device),
    pytest (if PY lacks it, Debian's pytest is borrowed through a folder of
    links, never Debian's torch);
 2. configures DIR (default build-gpu) against PY's torch
    (-DTorch_DIR=<torch.utils.cmake_prefix_path>/Torch, -DENERGYLOSS_WITH_CUDA=ON,
    -DTORCH_CUDA_ARCH_LIST=<the GPU's compute capability> unless that variable
    is set in the environment, the analytic oracles on; OpenMM, LAMMPS, RDKit,
    examples and benchmarks off), with the staged Eigen and GoogleTest of
    --deps DIR when it holds them, and fails unless CMake enabled the pair
    ops' CUDA kernels (ENERGYLOSS_TORCH_CUDA);
 3. builds only the ops, the analytic oracles, the Python package and the
    CUDA gtest (if configuring with the tests fails, e.g. no GoogleTest, it
    configures without them and the Python checks still run);
 4. runs the CUDA gtest (cuda_test_pair_energy; a skipped test counts as a
    failure here), then pytest on tests/gpu/test_pair_cuda.py (CUDA against
    CPU values and gradients for every coefficient and edge mode, masks,
    gradcheck, streams, torch.compile, opcheck), tests/python/test_pair.py,
    tests/python/test_pair_devices.py and tests/python/test_device_refusal.py
    (every CPU-only op refuses CUDA tensors by name) against this torch;
 5. bench/gpu_pair_bench.py: the paper's table 11 sizes, ours against the
    dense torch formulation and the paper's L40S figures;
 6. examples/ddp/train_ddp.py under DistributedDataParallel with NCCL, one
    rank per GPU (at most 2), pair energy loss on the GPU and the
    Lennard-Jones oracle's true energy loss; fails unless every rank ends
    with the same parameters;
 7. compute-sanitizer memcheck (and racecheck) on the CUDA gtest, and
    memcheck on one Python forward + backward through the op, when
    compute-sanitizer is found (slowest, so last).

Relative paths (-B, --deps, --stage-deps) are taken from the repository root.

--stage-deps [DIR] (run on a Debian machine with libeigen3-dev and
googletest installed, e.g. after scripts/install-deps.sh): copies Debian's
Eigen (headers and CMake package) and GoogleTest sources to DIR (default
.gpu-deps, git-ignored, about 14 MB) with DIR/deps.cmake, an initial CMake
cache naming them, and exits. Send DIR along with the tree to a GPU machine
whose image has CUDA and PyTorch but no Debian -dev packages; step 2 then
configures with -C DIR/deps.cmake.

Logs, junit XML, the benchmark's table and JSON, and summary.txt (one line
per step) go to DIR/gpu-check/. When $OUT is set (a machine that sends back
a few files only), summary.txt goes there instead, with logs.tar.gz (all of
DIR/gpu-check/) and bench.json, refreshed after every step. Exits non-zero
when any step fails. Estimated 5-10 minutes on an H200
(the build is most of it; not yet timed on one).

  -B DIR          build directory (default build-gpu; never build/)
  --python PY     the Python whose torch to build against (default python3)
  -j N            build jobs (default: nproc)
  --deps DIR      staged dependencies (default .gpu-deps; used when DIR/deps.cmake exists)
  --time-limit S  the whole run in S seconds: every command gets what is left
                  (timeout), and steps that find none left are listed as not run
                  (default: no limit)
  --no-bench      skip step 5
  --no-ddp        skip step 6
  --no-sanitizer  skip step 7
  -h, --help      this text
USAGE
}

BUILD=build-gpu
PY=python3
JOBS=$(nproc 2>/dev/null || echo 4)
BENCH=1
SANITIZER=1
DDP=1
TIME_LIMIT=0
DEPS=.gpu-deps
STAGE=""
DEPS_GIVEN=0
need_value() {  # need_value OPTION ARGS...: exit 2 naming OPTION when its value is missing
  if [ $# -lt 2 ]; then
    echo "gpu-check.sh: $1 needs a value" >&2
    exit 2
  fi
}
while [ $# -gt 0 ]; do
  case "$1" in
    -B) need_value "$@"; BUILD=$2; shift 2 ;;
    --python) need_value "$@"; PY=$2; shift 2 ;;
    -j) need_value "$@"; JOBS=$2; shift 2 ;;
    --deps) need_value "$@"; DEPS=$2; DEPS_GIVEN=1; shift 2 ;;
    --time-limit)
      need_value "$@"
      case "$2" in ''|*[!0-9]*) echo "gpu-check.sh: --time-limit takes whole seconds, got '$2'" >&2; exit 2 ;; esac
      TIME_LIMIT=$2; shift 2 ;;
    --stage-deps)
      STAGE=.gpu-deps
      if [ $# -gt 1 ] && [ "${2#-}" = "$2" ]; then STAGE=$2; shift; fi
      shift ;;
    --no-bench) BENCH=0; shift ;;
    --no-sanitizer) SANITIZER=0; shift ;;
    --no-ddp) DDP=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu-check.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
# --stage-deps: Debian's Eigen and GoogleTest sources, copied for a machine without them.
stage_deps() {
  local dir=$1 needed
  for needed in /usr/include/eigen3/Eigen/Core /usr/share/eigen3/cmake/Eigen3Config.cmake \
                /usr/src/googletest/googletest/CMakeLists.txt; do
    if [ ! -e "$needed" ]; then
      echo "gpu-check.sh: --stage-deps: $needed not found (Debian's libeigen3-dev and googletest; scripts/install-deps.sh installs them)" >&2
      exit 2
    fi
  done
  rm -rf "$dir" && mkdir -p "$dir/include" "$dir/share/eigen3" || exit 2
  # -L: the copies travel as files, never as links into this machine's /usr.
  cp -RL /usr/include/eigen3 "$dir/include/" && cp -RL /usr/share/eigen3/cmake "$dir/share/eigen3/" \
    && cp -RL /usr/src/googletest "$dir/googletest" || exit 2
  cat > "$dir/deps.cmake" <<'CMAKE'
# Initial cache (cmake -C) written by scripts/gpu-check.sh --stage-deps:
# Debian's Eigen and GoogleTest sources, copied beside this file.
set(Eigen3_DIR "${CMAKE_CURRENT_LIST_DIR}/share/eigen3/cmake" CACHE PATH "Eigen's CMake package (staged)")
set(ENERGYLOSS_GTEST_SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/googletest" CACHE PATH
    "GoogleTest's sources (staged)")
CMAKE
  echo "gpu-check.sh: staged Eigen and GoogleTest in $dir ($(du -sh "$dir" | cut -f1)). Send it with the tree; on the GPU machine run scripts/gpu-check.sh$([ "$dir" = .gpu-deps ] || echo " --deps $dir") (it configures with -C $dir/deps.cmake)"
  exit 0
}
[ -n "$STAGE" ] && stage_deps "$STAGE"

if [ "$(realpath -m -- "$BUILD")" = "$(realpath -m build)" ]; then
  echo "gpu-check.sh: -B $BUILD would reconfigure the main build (build/); use another folder" >&2
  exit 2
fi
if [ "$DEPS_GIVEN" = 1 ] && [ ! -f "$DEPS/deps.cmake" ]; then
  echo "gpu-check.sh: --deps $DEPS holds no deps.cmake (scripts/gpu-check.sh --stage-deps $DEPS writes it)" >&2
  exit 2
fi

# Logs in RESULTS; summary.txt there too, or in $OUT with the bundle (below).
RESULTS=$BUILD/gpu-check
rm -rf "$RESULTS"
mkdir -p "$RESULTS" ${OUT:+"$OUT"} || exit 2
SUMMARY=${OUT:-$RESULTS}/summary.txt
: > "$SUMMARY"

# With $OUT (a machine that sends back a few files only): $OUT/logs.tar.gz
# (all of RESULTS) and $OUT/bench.json, refreshed after every step, so a run
# stopped from outside still leaves what it had done.
bundle() {
  [ -n "${OUT:-}" ] || return 0
  tar -czf "$OUT/logs.tar.gz.part" -C "$RESULTS" . && mv "$OUT/logs.tar.gz.part" "$OUT/logs.tar.gz"
  [ -f "$RESULTS/bench.json" ] && cp "$RESULTS/bench.json" "$OUT/"
  return 0
}
FAILED=0
START=$(date +%s)

# Seconds left of --time-limit (a day without one).
remaining() {
  if [ "$TIME_LIMIT" = 0 ]; then echo 86400; return; fi
  local left=$(( TIME_LIMIT - ($(date +%s) - START) ))
  echo $(( left > 0 ? left : 0 ))
}
# limited CAP COMMAND...: COMMAND (an executable) stopped after CAP seconds
# (0: no cap of its own) or when --time-limit runs out, whichever comes first.
limited() {
  local cap=$1 left
  shift
  left=$(remaining)
  [ "$cap" != 0 ] && [ "$cap" -lt "$left" ] && left=$cap
  [ "$left" -lt 1 ] && left=1  # (timeout 0 would mean none)
  timeout --kill-after=10 "$left" "$@"
}

# step NAME LOG COMMAND...: runs COMMAND, output to RESULTS/LOG and the terminal.
step() {
  local name=$1 logname=$2 log=$RESULTS/$2
  shift 2
  if [ "$(remaining)" = 0 ]; then
    printf '%-34s NOT RUN (--time-limit %ss reached)\n' "$name" "$TIME_LIMIT" | tee -a "$SUMMARY"
    FAILED=1
    return 1
  fi
  local t0 status verdict
  t0=$(date +%s)
  echo "=== $name: $*" | tee "$log"
  "$@" 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
  case "$status" in
    0) verdict=PASS ;;
    124|137) verdict="FAIL (stopped by a timeout, exit $status)" ;;
    *) verdict="FAIL (exit $status)" ;;
  esac
  if [ "$status" != 0 ] && grep -q "Device not supported" "$log"; then
    verdict="$verdict; compute-sanitizer does not support this machine's GPU runtime"
  fi
  local line
  line=$(printf '%-34s %s (%ss, log %s)' "$name" "$verdict" "$(( $(date +%s) - t0 ))" "$logname")
  echo "$line" >> "$SUMMARY"
  echo "--- $line"
  bundle
  [ "$status" = 0 ] || FAILED=1
  return "$status"
}

finish() {
  echo "total: $(( $(date +%s) - START ))s; $([ "$FAILED" = 0 ] && echo 'all steps passed' || echo 'SOME STEPS FAILED')" >> "$SUMMARY"
  bundle
  echo; echo "=== summary ($SUMMARY)"; cat "$SUMMARY"
  exit "$FAILED"
}

# 1. Preflight.
preflight() {
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  "$PY" - <<'PYCODE' || return 1
import sys
try:
    import torch
except ImportError as error:
    sys.exit(f"{sys.executable} cannot import torch ({error}): pass --python PY, "
             "a Python whose torch is a CUDA build")
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
      f"cxx11 ABI {torch._C._GLIBCXX_USE_CXX11_ABI}, cmake prefix {torch.utils.cmake_prefix_path}")
if not torch.cuda.is_available():
    sys.exit("this torch is a CPU-only build (torch.version.cuda is None): pass --python PY "
             "whose torch is a CUDA build" if torch.version.cuda is None else
             "this torch sees no CUDA device (check nvidia-smi and CUDA_VISIBLE_DEVICES)")
print("device:", torch.cuda.get_device_name())
PYCODE
  command -v nvcc >/dev/null || { echo "nvcc not on PATH (add /usr/local/cuda/bin)"; return 1; }
  nvcc --version | tail -2
  cmake --version | head -1
}
if [ -z "$(command -v nvcc)" ] && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
step "1 preflight" preflight.log preflight || finish

# pytest for PY: its own, or Debian's through links (never Debian's torch).
PYTEST_PATH=""
if ! "$PY" -c 'import pytest' 2>/dev/null; then
  links=$RESULTS/pytest-links
  mkdir -p "$links"
  for module in pytest _pytest pluggy iniconfig packaging py.py exceptiongroup tomli; do
    [ -e "/usr/lib/python3/dist-packages/$module" ] && ln -sfn "/usr/lib/python3/dist-packages/$module" "$links/$module"
  done
  PYTEST_PATH=$links
  "$PY" -c "import sys; sys.path.insert(0, '$links'); import pytest" 2>/dev/null \
    || echo "warning: $PY has no pytest and Debian's does not import; the pytest step will fail" >> "$SUMMARY"
fi

# 2. Configure against PY's torch.
TORCH_PREFIX=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
# Torch's CMake package adds -gencode flags for TORCH_CUDA_ARCH_LIST to
# CMAKE_CUDA_FLAGS (Caffe2/public/cuda.cmake, torch_cuda_get_nvcc_gencode_flag
# in Caffe2/public/utils.cmake). Unset, it compiles and runs a probe, and if
# that fails falls back to a list of "common" architectures
# (select_compute_arch.cmake) that can name ones this nvcc no longer builds
# (CUDA 13 dropped sm_50 to sm_72). Name this GPU's capability instead,
# unless TORCH_CUDA_ARCH_LIST is set already.
ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-$("$PY" -c 'import torch; print("%d.%d" % torch.cuda.get_device_capability())' 2>/dev/null)}
DEPS_CACHE=()
if [ -f "$DEPS/deps.cmake" ]; then
  DEPS_CACHE=(-C "$DEPS/deps.cmake")
  echo "staged dependencies: $DEPS/deps.cmake" >> "$SUMMARY"
fi
configure_with() {  # configure_with ON|OFF: the build with or without the tests (GoogleTest)
  cmake ${DEPS_CACHE[@]+"${DEPS_CACHE[@]}"} -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DTorch_DIR="$TORCH_PREFIX/Torch" -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
    -DENERGYLOSS_WITH_CUDA=ON -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" \
    -DCMAKE_CUDA_FLAGS="--threads 0" ${ARCH_LIST:+-DTORCH_CUDA_ARCH_LIST="$ARCH_LIST"} \
    -DENERGYLOSS_PYTHON="$(command -v "$PY")" -DENERGYLOSS_BUILD_TESTS="$1" \
    -DENERGYLOSS_BUILD_ORACLES=ON -DENERGYLOSS_WITH_OPENMM=OFF -DENERGYLOSS_WITH_LAMMPS=OFF \
    -DENERGYLOSS_WITH_RDKIT=OFF -DENERGYLOSS_BUILD_EXAMPLES=OFF -DENERGYLOSS_BUILD_BENCH=OFF
}
configure() {
  # Without a usable GoogleTest (e.g. a torch with the other C++ ABI and no
  # /usr/src/googletest) the Python checks still run; the gtest steps fail.
  if ! configure_with ON; then
    echo "configure with the tests failed; again without them (the CUDA gtest will not run)"
    configure_with OFF || return 1
  fi
  grep -q '^ENERGYLOSS_TORCH_CUDA:INTERNAL=ON' "$BUILD/CMakeCache.txt" || {
    echo "CMake did not enable the pair ops' CUDA kernels (ENERGYLOSS_TORCH_CUDA is not ON):"
    grep -E '^(ENERGYLOSS_WITH_(CUDA|TORCH)|ENERGYLOSS_TORCH_CUDA|Torch_DIR)' "$BUILD/CMakeCache.txt"
    return 1
  }
}
step "2 configure" configure.log configure || finish

# 3. Build only what the checks use: the ops, the analytic oracles and the
# Python package first, then the CUDA gtest.
step "3a build (ops, Python package)" build.log limited 0 cmake --build "$BUILD" -j "$JOBS" \
  --target energyloss_torch energyloss_oracles_torch energyloss_python || finish
GTEST=$BUILD/tests/cuda_test_pair_energy
if grep -q '^ENERGYLOSS_BUILD_TESTS:BOOL=ON' "$BUILD/CMakeCache.txt"; then
  step "3b build (CUDA gtest)" build_gtest.log limited 0 cmake --build "$BUILD" -j "$JOBS" \
    --target cuda_test_pair_energy
else
  echo "3b build (CUDA gtest)               FAIL (configured without tests; see configure.log)" >> "$SUMMARY"
  FAILED=1
fi

# 4. Tests. A gtest skipped for want of a device is a failure here.
cuda_gtest() {
  limited 300 "$GTEST" --gtest_output="xml:$RESULTS/cuda_gtest.xml" || return 1
  if grep -q 'result="skipped"' "$RESULTS/cuda_gtest.xml"; then
    echo "some CUDA gtests were skipped (no device seen by the test process)"
    return 1
  fi
}
[ -x "$GTEST" ] && step "4a CUDA gtest" cuda_gtest.log cuda_gtest

python_tests() {
  PYTHONPATH="$BUILD/python${PYTEST_PATH:+:$PYTEST_PATH}" \
    ENERGYLOSS_BUILD_DIR="$BUILD" ENERGYLOSS_SOURCE_DIR="$PWD" \
    limited 900 "$PY" -m pytest -q -p no:cacheprovider -rfEs --junitxml="$RESULTS/pytest.xml" \
    tests/gpu/test_pair_cuda.py tests/python/test_pair.py tests/python/test_pair_devices.py \
    tests/python/test_device_refusal.py
}
step "4b pytest (CUDA vs CPU)" pytest.log python_tests

# 5. Benchmark (table 11).
if [ "$BENCH" = 1 ]; then
  step "5 benchmark (table 11)" bench.log limited 300 env PYTHONPATH="$BUILD/python" \
    "$PY" bench/gpu_pair_bench.py --json "$RESULTS/bench.json"
fi

# 6. Data-parallel training with NCCL: one rank per GPU, at most 2.
ddp_nccl() {
  local ranks
  ranks=$("$PY" -c 'import torch; print(min(torch.cuda.device_count(), 2))') || return 1
  PYTHONPATH="$BUILD/python" limited 300 "$PY" examples/ddp/train_ddp.py --backend nccl \
    --world-size "$ranks" --steps 20
}
[ "$DDP" = 1 ] && step "6 DDP (NCCL)" ddp.log ddp_nccl

# 7. compute-sanitizer, last: the slowest.
SANITIZER_BIN=$(command -v compute-sanitizer || true)
[ -z "$SANITIZER_BIN" ] && [ -x /usr/local/cuda/bin/compute-sanitizer ] && SANITIZER_BIN=/usr/local/cuda/bin/compute-sanitizer
if [ "$SANITIZER" = 1 ] && [ -n "$SANITIZER_BIN" ]; then
  [ -x "$GTEST" ] && step "7a memcheck (gtest)" memcheck_gtest.log \
    limited 600 "$SANITIZER_BIN" --tool memcheck --error-exitcode 3 "$GTEST"
  [ -x "$GTEST" ] && step "7b racecheck (gtest)" racecheck_gtest.log \
    limited 600 "$SANITIZER_BIN" --tool racecheck --error-exitcode 3 "$GTEST" --gtest_filter='Modes/*'
  memcheck_python() {
    PYTHONPATH="$BUILD/python" limited 300 "$SANITIZER_BIN" --tool memcheck --error-exitcode 3 \
      --target-processes all "$PY" - <<'PYCODE'
import torch
import energyloss
torch.manual_seed(0)
for dtype in (torch.float32, torch.float64):
    ref = torch.randn(3, 300, 3, device="cuda", dtype=dtype)
    pred = (ref + 0.1 * torch.randn_like(ref)).requires_grad_()
    mask = torch.ones(3, 300, dtype=torch.bool, device="cuda")
    mask[1, 250:] = False
    edges = torch.randint(0, 300, (900, 2), device="cuda")
    edges = edges[edges[:, 0] != edges[:, 1]]
    for kwargs in ({}, {"mask": mask}, {"edges": edges}, {"edges": edges, "mask": mask}):
        energyloss.pair_energy_loss(pred, ref, reduction="mean_pair", **kwargs).backward()
        energyloss.pair_energy_terms(pred.detach(), ref, **kwargs)
torch.cuda.synchronize()
print("python memcheck run done")
PYCODE
  }
  step "7c memcheck (Python op)" memcheck_python.log memcheck_python
elif [ "$SANITIZER" = 1 ]; then
  echo "7 compute-sanitizer                 not found: memcheck not run" >> "$SUMMARY"
fi
finish
