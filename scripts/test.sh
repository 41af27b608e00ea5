#!/usr/bin/env bash
# scripts/test.sh - the project's one test command.
#
# Installs what is missing (apt packages, Azurite), starts the servers the tests need on
# 127.0.0.1 (see scripts/test-services.sh), runs every test of the solution and stops the
# servers again on any exit (success, failure, Ctrl-C, TERM). Extra arguments go to
# `dotnet test`, e.g.  ./scripts/test.sh --filter "FullyQualifiedName~SiloRestart"
# The exit code is dotnet test's.
set -euo pipefail

# The servers listen on fixed loopback ports, so two runs on one machine (two checkouts) take turns.
if [[ -z "${ORCH_TEST_LOCKED:-}" ]] && command -v flock >/dev/null 2>&1; then
    export ORCH_TEST_LOCKED=1
    exec flock /tmp/orch-test.lock "$(readlink -f "${BASH_SOURCE[0]}")" "$@"
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v dotnet >/dev/null 2>&1; then
    echo "test.sh: 'dotnet' not found on PATH; install the .NET SDK required by global.json" >&2
    exit 127
fi

# shellcheck source=scripts/test-services.sh
source scripts/test-services.sh

# shellcheck disable=SC2317  # invoked by the EXIT trap
on_exit() {
    local rc=$?
    trap - EXIT INT TERM HUP
    services_stop || echo "test.sh: warning: stopping the test services failed" >&2
    exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Keep the run self-contained: no MSBuild worker nodes or compiler servers left running after it.
export MSBUILDDISABLENODEREUSE=1 UseSharedCompilation=false

services_install
# The native shims (libgloo-dev and g++ from apt if missing); tests and the workers they start find the Gloo shim here.
VL_GLOO_LIBRARY="$(scripts/build-native.sh | sed -n 's/^VL_GLOO_LIBRARY=//p')"
export VL_GLOO_LIBRARY
services_start

rc=0
log=.test-services/dotnet-test.log
dotnet test Orchestrator.sln -c Release --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log" || rc=$?

# One closing line over every test project: "N passed, N failed, N skipped".
total() { { grep -E "^[[:space:]]+$1: [0-9]+" "$log" || true; } | awk '{ sum += $2 } END { print sum + 0 }'; }
echo "test.sh: dotnet test exited with $rc" >&2
summary="$(total Passed) passed, $(total Failed) failed, $(total Skipped) skipped"
# A test project that failed to build runs no tests and adds nothing to the counts: say so rather than look green.
# A project whose tests a --filter left out says "No test matches": it built and ran.
ran=$(( $(grep -cE "^Total tests: [0-9]+" "$log" || true) + $(grep -c "No test matches the given testcase filter" "$log" || true) ))
expected=$(ls tests/*.Tests/*.Tests.csproj | wc -l)
if [ "$ran" -lt "$expected" ]; then
  summary="$summary; only $ran of $expected test projects ran (build errors above)"
fi
echo "$summary"
exit "$rc"
