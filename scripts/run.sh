#!/usr/bin/env bash
# Build sysgate and start it as an MCP server on stdio: `./scripts/run.sh [serve options]`.
#
# On a fresh Debian machine it installs the C toolchain the build needs (build-essential,
# pkg-config) if missing, builds the release binary (`cargo build --release --locked`), then
# replaces itself with `target/release/sysgate serve "$@"`. Everything before that goes to
# stderr, and nothing reads stdin, so an MCP client may spawn this script directly.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

# Keep stdout for MCP: setup output goes to stderr, and stdin is not touched until the server runs.
exec 3>&1 1>&2

ensure_c_toolchain
ensure_cargo
select_rust_toolchain
cargo build --release --locked </dev/null

exec 1>&3 3>&-
exec target/release/sysgate serve "$@"
