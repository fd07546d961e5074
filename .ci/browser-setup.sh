#!/usr/bin/env bash
# Prepare a machine for the `browser` tests (pytest -m browser); idempotent, quick when done.
#   1. Debian's Chromium at /usr/bin/chromium (Playwright's own browser download fails here);
#   2. Solara's CDN proxy cache of the given Python's environment, filled from npm.
# Usage: bash .ci/browser-setup.sh [PYTHON]   (PYTHON defaults to `python`; pass the venv's)
set -euo pipefail

PY="${1:-python}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ ! -x /usr/bin/chromium ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "[browser-setup] installing chromium (apt-get)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
/usr/bin/chromium --version 2>/dev/null || { echo "[browser-setup] chromium unusable" >&2; exit 1; }

"$PY" -c "import playwright, solara" 2>/dev/null || {
    echo "[browser-setup] $PY lacks playwright/solara: pip install -e '.[app,test]'" >&2
    exit 1
}
"$PY" "$HERE/scripts/fetch_solara_assets.py"
