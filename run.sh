#!/usr/bin/env bash
# Sets up the project (first time only), builds the index of the bundled fiches if it is
# missing or stale, and starts the application on http://localhost:8501.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/kb serve "$@"
