#!/usr/bin/env bash
# System packages the test suite needs (Debian/Ubuntu, as root): each feature's
# tools/install_system_*.sh is idempotent and installs/starts what its tests use.
set -euo pipefail
cd "$(dirname "$0")/.."
for step in tools/install_system_*.sh; do
    [ -e "$step" ] && bash "$step"
done
exit 0
