#!/usr/bin/env bash
# Sets up the project (first time only) and runs the whole test suite.
# The browser test needs Debian's chromium; it is installed here when possible (as root).
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/install.sh
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null
fi
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/python -m pytest "$@"
