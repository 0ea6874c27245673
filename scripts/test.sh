#!/usr/bin/env bash
# The test command: installs what is missing, configures, builds and runs
# every test (GoogleTest and pytest, all through ctest).
# Usage: scripts/test.sh [extra ctest arguments, e.g. -R pair]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2
cd build
ctest --output-on-failure --timeout 1200 "$@"
