#!/usr/bin/env bash
# Build sysgate and start it as an MCP server on stdio: `./scripts/run.sh [serve options]`.
#
# On a fresh Debian machine it installs the C toolchain the build needs (build-essential,
# pkg-config) if missing, builds the release binary (`cargo build --release --locked`), then
# replaces itself with `target/release/sysgate serve "$@"`. Everything before that goes to
# stderr, and nothing reads stdin, so an MCP client may spawn this script directly.
#
# sysgate refuses to run as root unless its config sets `allow_root: true`: its tools need no
# privileges. So when this script runs as root, it starts the server as the unprivileged user
# SYSGATE_RUN_AS: by default the service user `sysgate` if it exists (the user the example configs
# tell you to create, which can read /etc/sysgate), else `nobody`. SYSGATE_RUN_AS=root keeps root,
# and then the config decides. Before starting, it checks that this user can read the config the
# server will load, and says so if not (instead of letting the server fail on it).
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

bin="$PWD/target/release/sysgate"
run_as="${SYSGATE_RUN_AS:-}"
if [ -z "$run_as" ]; then
    if id -u sysgate >/dev/null 2>&1; then run_as=sysgate; else run_as=nobody; fi
fi
# SYSGATE_RUN_AS is this script's setting, not the server's: sysgate would warn about it as an
# unrecognised SYSGATE_* override.
unset SYSGATE_RUN_AS

# config_path ARGS...: the config file `serve` will load (--config FILE, else the default path if
# it exists); empty when it runs on built-in defaults.
config_path() {
    local prev=""
    for a in "$@"; do
        case "$a" in
        --config=*) printf '%s' "${a#--config=}"; return ;;
        esac
        if [ "$prev" = --config ]; then printf '%s' "$a"; return; fi
        prev="$a"
    done
    [ -e /etc/sysgate/config.yaml ] && printf '%s' /etc/sysgate/config.yaml
}
if [ "$(id -u)" -eq 0 ] && [ "$run_as" != root ]; then
    uid="$(id -u "$run_as")" || die "SYSGATE_RUN_AS=$run_as: no such user"
    gid="$(id -g "$run_as")"
    # --init-groups: the user's supplementary groups (e.g. a group that may read /etc/sysgate).
    drop=(setpriv --reuid="$uid" --regid="$gid" --init-groups --)
    cfg="$(config_path "$@")"
    if [ -n "$cfg" ] && ! "${drop[@]}" test -r "$cfg"; then
        die "user $run_as cannot read the config $cfg. Start as the user that owns it (SYSGATE_RUN_AS=NAME), or see config/audited-stdio.yaml for a service user and file modes that work"
    fi
    # The checkout may sit where that user cannot reach (e.g. under /root): use a private copy.
    if ! "${drop[@]}" test -x "$bin"; then
        dir="$(mktemp -d "${TMPDIR:-/tmp}/sysgate-run.XXXXXX")"
        chmod 0755 "$dir"
        install -m 0755 "$bin" "$dir/sysgate"
        bin="$dir/sysgate"
    fi
    say "running as root: starting sysgate as user $run_as (SYSGATE_RUN_AS=root to keep root)"
    exec 1>&3 3>&-
    exec "${drop[@]}" "$bin" serve "$@"
fi

exec 1>&3 3>&-
exec "$bin" serve "$@"
