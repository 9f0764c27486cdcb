#!/usr/bin/env bash
# Creates .venv and installs the project with every extra (all: search, vectors, app) and the
# test tools, the CPU build of torch first (an unpinned torch would pull a multi-GB CUDA build).
# Idempotent: does nothing when pyproject.toml has not changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ -f "$stamp" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet torch==2.13.0
.venv/bin/python -m pip install --quiet -e ".[all,test]"
rm -f .venv/.installed-*
touch "$stamp"
