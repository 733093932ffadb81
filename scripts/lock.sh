#!/usr/bin/env bash
# Re-resolve every Python dependency to its newest allowed version and write
# requirements/constraints.txt (review the diff, run `make test`, commit).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --upgrade pip
"$tmp/venv/bin/python" -m pip install -q torch==2.13.0
"$tmp/venv/bin/python" -m pip install -q -e agent -e backend -r requirements/test.txt
{
  echo "# Exact versions for reproducible installs (pip install -c requirements/constraints.txt ...)."
  echo "# torch is pinned separately (torch==2.13.0, the CPU build). Regenerate with scripts/lock.sh."
  "$tmp/venv/bin/python" -m pip freeze | grep -v -E '^(-e |gradsight|torch==)' | grep -v '@ file'
} > requirements/constraints.txt
echo "wrote requirements/constraints.txt"
