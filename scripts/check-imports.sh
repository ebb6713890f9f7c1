#!/usr/bin/env bash
# The module import rules (DESIGN, "Architecture"), checked over src/: see check_imports.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec python3 scripts/check_imports.py src
