#!/usr/bin/env bash
# Headless Chromium for the EDA tests (tests/test_eda.py opens a report in it).
# Debian package; run as root.  Idempotent: does nothing when chromium exists.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    echo "chromium already installed: $(chromium --version 2>/dev/null || chromium-browser --version)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "tools/install_system_chromium.sh: run as root (apt-get install chromium)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends chromium
chromium --version
