#!/usr/bin/env bash
# Runs pytest from the project virtualenv. pytest's exit code 5 ("no tests
# collected") is turned into a failure: a run that tested nothing is not green.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit "$rc"
