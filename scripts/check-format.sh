#!/usr/bin/env bash
# Checks that every tracked C/C++/CUDA source is clang-formatted (.clang-format
# at the top). scripts/test.sh runs it as the ctest format.clang_format.
# Usage: scripts/check-format.sh [--fix]   (--fix rewrites the files in place)
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  echo "Usage: scripts/check-format.sh [--fix]"
  echo "Fails, naming the files, when a tracked .c/.cc/.cpp/.h/.hpp/.cu/.cuh file differs from clang-format's output."
  exit 0
fi
mapfile -t files < <(git ls-files '*.c' '*.cc' '*.cpp' '*.h' '*.hpp' '*.cu' '*.cuh')
if [[ ${1:-} == --fix ]]; then
  clang-format -i "${files[@]}"
  exit 0
fi
clang-format --dry-run -Werror "${files[@]}"
echo "check-format: ${#files[@]} files formatted"
