#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build and test run (issue 14).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'USAGE'
Usage: scripts/sanitize.sh [-B DIR] [--no-run] [extra ctest arguments]

Configures a separate build (default build-sanitize/) with
  -fsanitize=address,undefined -fno-omit-frame-pointer
(compiler and linker flags, RelWithDebInfo), builds it with -j2 and runs the
sanitized tests through ctest: the core kernels' and LibTorch ops' gtests, the
oracles' gtests, the OpenMM plugin (Reference/CPU kernels, serialization,
seeder) gtests and Python tests, the LAMMPS package tests (compute/fix
energyloss, seed_atoms, errors; lmp_energyloss and stock lmp) and the
bad-input corpus. Exits non-zero when a test fails or any process wrote a
sanitizer report (reports are collected in DIR/sanitizer-logs/ and printed).

Python and stock lmp are not instrumented: they run through wrappers
(DIR/asan-wrappers/) that LD_PRELOAD gcc's libasan and libstdc++ (python3 does
not link libstdc++, so without it ASan cannot intercept the C++ throws of the
plugins OpenMM loads and aborts), with detect_leaks=0 (the
hosts' own allocations are reported as leaks otherwise). Instrumented
executables (gtests, lmp_energyloss) run with leak detection on, except when
started from a Python checker (the wrapper's settings are inherited); the
one-time registrations that OpenMM, LibTorch and LAMMPS allocate at load and
never free, and Open MPI's MPI_Init allocations, are suppressed by library
name (DIR/lsan.supp), nothing of ours. mpiexec runs through a wrapper that
drops the preload: Open MPI's daemons are not instrumented, and the ranks
(lmp_energyloss) are.

Left out: format.*, downstream.*, experiments.* (long Python pipelines),
readme.* (the READMEs' blocks, the bridge's pipeline among them), help.*,
the *_stock_lmp tests (Debian's lmp with libasan preloaded hangs in glibc's
setlocale lock when its `python` command starts the embedded interpreter,
before any of our code runs; lmp_energyloss runs the same decks instrumented)
and the benchmarks/examples (not built).

  -B DIR       build directory (default build-sanitize; must not be build/)
               (tests' own TIMEOUTs are raised 4x: ENERGYLOSS_TEST_TIMEOUT_FACTOR)
  --no-run     configure and build only
  -h, --help   this text (nothing is built)
USAGE
}

build="build-sanitize"
run=1
ctest_args=()
while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    -B) build=$2; shift 2 ;;
    --no-run) run=0; shift ;;
    *) ctest_args+=("$1"); shift ;;
  esac
done
[[ $build == build || $build == build/ ]] && { echo "sanitize.sh: refusing to use build/ (the main tree)" >&2; exit 2; }
mkdir -p "$build"
build=$(cd "$build" && pwd)

asan_lib=$(gcc -print-file-name=libasan.so)
[[ -e $asan_lib ]] || { echo "sanitize.sh: gcc's libasan.so not found" >&2; exit 2; }
cxx_lib=$(gcc -print-file-name=libstdc++.so)
logs=$build/sanitizer-logs
wrappers=$build/asan-wrappers
mkdir -p "$wrappers"
# Host libraries' load-time registries (OpenMM's platforms and serialization
# proxies, LibTorch's operator tables, LAMMPS's style maps) live until exit,
# and Open MPI (with hwloc, PMIx and its MCA components) never frees what
# MPI_Init allocates. Components stay loaded so their frames have names, and
# allocations are unwound the slow way: those libraries have no frame
# pointers, so the fast unwinder stops before reaching a suppressed frame.
cat >"$build/lsan.supp" <<'SUPP'
leak:libOpenMM.so
leak:libtorch_cpu.so
leak:libc10.so
leak:liblammps.so
leak:libmpi.so
leak:libopen-pal.so
leak:libopen-rte.so
leak:libhwloc.so
leak:libpmix.so
leak:libevent
leak:mca_
SUPP
export LSAN_OPTIONS="suppressions=$build/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0"
export OMPI_MCA_mca_base_component_disable_dlclose=1

# Uninstrumented hosts (python3, stock lmp) loading instrumented libraries
# need the ASan runtime first in the process: preload it.
write_wrapper() { # NAME REAL
  cat >"$wrappers/$1" <<WRAP
#!/bin/sh
export LD_PRELOAD="$asan_lib:$cxx_lib\${LD_PRELOAD:+:\$LD_PRELOAD}"
export ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}detect_leaks=0"
exec "$2" "\$@"
WRAP
  chmod +x "$wrappers/$1"
}
write_wrapper python3 /usr/bin/python3
stock_lmp=$(command -v lmp || true)
[[ -n $stock_lmp ]] && write_wrapper lmp "$stock_lmp"
# mpiexec started from a wrapped python3 would pass the preload on to Open
# MPI's uninstrumented orted daemon (whose own frees then read as
# use-after-free); the ranks it starts, lmp_energyloss, are instrumented
# executables and need no preload.
mpiexec_real=$(command -v mpiexec || true)
if [[ -n $mpiexec_real ]]; then
  cat >"$wrappers/mpiexec" <<WRAP
#!/bin/sh
unset LD_PRELOAD
exec "$mpiexec_real" "\$@"
WRAP
  chmod +x "$wrappers/mpiexec"
fi

san="-fsanitize=address,undefined -fno-omit-frame-pointer"
cmake_args=(-S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  "-DCMAKE_CXX_FLAGS=$san" "-DCMAKE_C_FLAGS=$san"
  "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined"
  "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined"
  "-DCMAKE_MODULE_LINKER_FLAGS=-fsanitize=address,undefined"
  -DENERGYLOSS_WITH_CUDA=OFF -DENERGYLOSS_WITH_RDKIT=OFF
  -DENERGYLOSS_BUILD_EXAMPLES=OFF -DENERGYLOSS_BUILD_BENCH=OFF
  "-DENERGYLOSS_PYTHON=$wrappers/python3" -DENERGYLOSS_TEST_TIMEOUT_FACTOR=4)
[[ -n $stock_lmp ]] && cmake_args+=("-DENERGYLOSS_STOCK_LMP=$wrappers/lmp")
[[ -n $mpiexec_real ]] && cmake_args+=("-DMPIEXEC_EXECUTABLE=$wrappers/mpiexec")

start=$(date +%s)
cmake "${cmake_args[@]}"
cmake --build "$build" -j2
echo "sanitize.sh: build took $(($(date +%s) - start)) s"
((run)) || exit 0

rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS="log_path=$logs/asan:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
tstart=$(date +%s)
status=0
(cd "$build" && ctest --output-on-failure --timeout 1800 -j2 \
  -E '^(format|downstream|experiments|help|readme)\.|_stock_lmp$' "${ctest_args[@]}") || status=$?
echo "sanitize.sh: tests took $(($(date +%s) - tstart)) s (total $(($(date +%s) - start)) s)"

shopt -s nullglob
reports=("$logs"/*)
if ((${#reports[@]})); then
  echo "sanitize.sh: ${#reports[@]} sanitizer report(s):" >&2
  for f in "${reports[@]}"; do
    echo "==== $f" >&2
    cat "$f" >&2
  done
  exit 1
fi
if ((status)); then
  echo "sanitize.sh: ctest failed (exit $status)" >&2
  exit "$status"
fi
echo "sanitize.sh: clean (no sanitizer reports, all tests passed)"
