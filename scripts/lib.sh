# shellcheck shell=bash
# Shared helpers for scripts/run.sh and scripts/test.sh (sourced, not executed).
# Everything here prints to stderr: run.sh's stdout belongs to MCP once the server starts.

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

_apt_updated=""

# apt_install PKG...: install Debian packages (noninteractively, `apt-get update` once first).
apt_install() {
    [ "$#" -gt 0 ] || return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install: $*"
        sudo="sudo"
    fi
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these yourself: $*"
    say "installing Debian packages: $*"
    if [ -z "$_apt_updated" ]; then
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >&2 || die "apt-get update failed"
        _apt_updated=1
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null >&2 \
        || die "apt-get install failed: $*"
}

# ensure_c_toolchain: the `ring` crate compiles C; build-essential and pkg-config if missing.
ensure_c_toolchain() {
    local need=()
    command -v cc >/dev/null 2>&1 && command -v make >/dev/null 2>&1 || need+=(build-essential)
    command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
    apt_install "${need[@]}"
}

# ensure_cargo: explain how to get Rust rather than fetching an installer ourselves.
ensure_cargo() {
    command -v cargo >/dev/null 2>&1 && return 0
    say "cargo (Rust) is not installed. Install Rust $(rust_channel) with rustup, then re-run:"
    # Debian ships a rustup package only from Debian 13 (trixie) on; Debian 12's apt has none.
    if apt-cache show rustup >/dev/null 2>&1; then
        say "  apt-get install rustup && rustup toolchain install $(rust_channel)"
    else
        say "  this system's apt has no rustup package (Debian 12 and older): use the installer"
        say "  from https://rustup.rs, then: rustup toolchain install $(rust_channel)"
    fi
    say "  and make sure ~/.cargo/bin is on PATH"
    exit 1
}

rust_channel() {
    sed -n 's/^[[:space:]]*channel[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' rust-toolchain.toml 2>/dev/null | head -n1
}

# select_rust_toolchain: rust-toolchain.toml names an exact release (e.g. 1.95.0). A machine whose
# rustup has that release installed only under another name (e.g. `stable`) and cannot download
# would fail with "toolchain not installed"; point rustup at the installed one of the same version.
select_rust_toolchain() {
    command -v rustup >/dev/null 2>&1 || return 0
    [ -z "${RUSTUP_TOOLCHAIN:-}" ] || return 0
    local want tc
    want="$(rust_channel)"
    [ -n "$want" ] || return 0
    if rustup toolchain list 2>/dev/null | awk '{print $1}' | grep -qE "^${want//./\\.}(-|$)"; then
        return 0
    fi
    for tc in $(rustup toolchain list 2>/dev/null | awk '{print $1}'); do
        if rustup run "$tc" rustc --version 2>/dev/null | grep -q "^rustc ${want//./\\.} "; then
            say "rust-toolchain.toml wants $want; using the installed toolchain $tc (same version)"
            export RUSTUP_TOOLCHAIN="$tc"
            return 0
        fi
    done
    say "warning: Rust $want is not installed (rustup toolchain install $want); cargo will try to fetch it"
}
