#!/usr/bin/env bash
# The one test command (CI runs exactly this through .ci/run).
#
# On a Debian machine with Rust, Python 3 and Node.js it installs what the tests need (Debian
# packages only if missing, two Python venvs under .venv/, the npm client tools under
# tests/node/node_modules), then runs: cargo fmt --check, the import-rule check, clippy (also on fuzz/), cargo doc, the release build, cargo test,
# the TOON reference check, and the pytest suites against the release binary with the real MCP
# clients. Every step runs even if an earlier one failed (unless it needs that one); the summary
# at the end lists each step and the test counts, and the exit status is non-zero if anything
# failed.
#
# Re-runs are quick: a venv or node_modules is rebuilt only when its pinned requirements change.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
ROOT="$PWD"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1
export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false

LOGS="$ROOT/target/test-logs"
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/*.xml

BIN="$ROOT/target/release/sysgate"
INSPECTOR="$ROOT/tests/node/node_modules/.bin/mcp-inspector"
STARTED=$(date +%s)

STEP_NAMES=()
STEP_STATUS=()
STEP_SECS=()
FAILED=()

record() { # name status seconds
    STEP_NAMES+=("$1")
    STEP_STATUS+=("$2")
    STEP_SECS+=("$3")
    case "$2" in ok) ;; *) FAILED+=("$1") ;; esac
}

# step NAME CMD...: run CMD with its output shown and kept in target/test-logs/NAME.log.
step() {
    local name="$1"
    shift
    local t0 rc
    t0=$(date +%s)
    printf '\n==> %s: %s\n' "$name" "$*"
    "$@" 2>&1 | tee "$LOGS/$name.log"
    rc=${PIPESTATUS[0]}
    local status=ok
    if [ "$rc" -eq 5 ] && [[ "$name" == pytest* ]]; then
        status="FAILED (pytest exit 5: no tests collected)"
    elif [ "$rc" -ne 0 ]; then
        status="FAILED (exit $rc)"
    fi
    record "$name" "$status" $(($(date +%s) - t0))
    [ "$rc" -eq 0 ]
}

skip() { # name reason
    printf '\n==> %s: skipped: %s\n' "$1" "$2"
    : >"$LOGS/$1.log"
    record "$1" "SKIPPED ($2)" 0
}

# -- prerequisites ------------------------------------------------------------------------------

setup_system() {
    local need=()
    command -v cc >/dev/null 2>&1 || need+=(build-essential)
    command -v python3 >/dev/null 2>&1 || need+=(python3 python3-venv)
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        need+=(nodejs npm)
    fi
    [ -s /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
    # tests/disk_memory_tools.rs compares get_block_devices with lsblk.
    command -v lsblk >/dev/null 2>&1 || need+=(util-linux)
    # The Unix socket tests: socat bridges an MCP client to the socket; systemd's
    # systemd-socket-activate passes a listening socket as a socket unit would.
    command -v socat >/dev/null 2>&1 || need+=(socat)
    command -v systemd-socket-activate >/dev/null 2>&1 || need+=(systemd)
    # get_journal_logs runs journalctl; tests/journal_tool.rs writes its journals with
    # systemd-journal-remote (no journald in CI). The exec sandbox tests run perl (essential).
    command -v journalctl >/dev/null 2>&1 || need+=(systemd)
    [ -x /lib/systemd/systemd-journal-remote ] || need+=(systemd-journal-remote)
    command -v perl >/dev/null 2>&1 || need+=(perl)
    # tests/sensitive_tools.rs: strace proves /etc/shadow is never opened; sshd -T and ssh-keygen
    # check get_ssh_config; visudo -c checks the sudoers fixture of get_sudo_config.
    command -v strace >/dev/null 2>&1 || need+=(strace)
    [ -x /usr/sbin/sshd ] || need+=(openssh-server)
    command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
    [ -x /usr/sbin/visudo ] || need+=(sudo)
    # tests/hooks_sessions_tools.rs compares get_systemd_units and the timers of get_cron_jobs
    # with `systemctl list-unit-files` (it reads unit files; no running systemd needed), and
    # run-parts dirs with `run-parts --test`.
    command -v systemctl >/dev/null 2>&1 || need+=(systemd)
    command -v run-parts >/dev/null 2>&1 || need+=(debianutils)
    # ... and get_kernel_modules with lsmod where the kernel has /proc/modules.
    command -v lsmod >/dev/null 2>&1 || need+=(kmod)
    # tests/network_tools.rs compares the network and hooks tools with ip and ss.
    { command -v ip && command -v ss; } >/dev/null 2>&1 || need+=(iproute2)
    # Debian's python3 splits venv/ensurepip into python3-venv.
    if command -v python3 >/dev/null 2>&1 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        need+=(python3-venv)
    fi
    apt_install "${need[@]}"
    ensure_cargo
    printf 'rust: %s\npython: %s\nnode: %s, npm %s\n' \
        "$(rustc --version)" "$(python3 --version 2>&1)" "$(node --version)" "$(npm --version)"
}

fingerprint() { # files...: a digest of the files plus the interpreter versions in play
    { cat "$@"; python3 --version 2>&1; node --version; } | sha256sum | cut -d' ' -f1
}

# make_venv DIR REQUIREMENTS: (re)create the venv only when the pinned requirements changed.
make_venv() {
    local dir="$1" req="$2" stamp want
    stamp="$dir/.sysgate-requirements"
    want="$(fingerprint "$req")"
    if [ -x "$dir/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        echo "$dir is up to date"
        return 0
    fi
    python3 -m venv --clear "$dir" || return 1
    "$dir/bin/python" -m pip install --quiet --no-input -r "$req" || return 1
    printf '%s\n' "$want" >"$stamp"
}

# npm_tools: `npm ci` from the committed lockfile, only when it changed.
npm_tools() {
    local stamp="tests/node/node_modules/.sysgate-lock" want
    want="$(fingerprint tests/node/package-lock.json)"
    if [ -x "$INSPECTOR" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        echo "tests/node/node_modules is up to date"
        return 0
    fi
    # No install scripts are needed (the Inspector's only one is a no-op outside its own repo).
    (cd tests/node && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) || return 1
    [ -x "$INSPECTOR" ] || { echo "npm ci did not install $INSPECTOR"; return 1; }
    printf '%s\n' "$want" >"$stamp"
}

# -- test runs ----------------------------------------------------------------------------------

# Every example config shipped under config/ must pass `sysgate check-config`. Installed the way
# an operator would (a private copy, mode 0600), since a checkout's 0644 is refused on purpose.
check_example_configs() {
    local dir f n=0
    dir="$(mktemp -d)"
    for f in config/*.yaml; do
        local copy
        copy="$dir/$(basename "$f")"
        install -m 0600 "$f" "$copy"
        # check-config runs every startup check of `serve`: as root (a CI container) the copy
        # opts in to root as the Rust tests' configs do, and an audit log goes to the private dir.
        if [ "$(id -u)" -eq 0 ]; then
            if grep -q '^allow_root:' "$copy"; then
                sed -i 's/^allow_root:.*/allow_root: true/' "$copy"
            else
                sed -i '1i allow_root: true' "$copy"
            fi
        fi
        sed -i "s|^\([[:space:]]*path:[[:space:]]*\)/[^[:space:]#]*/|\1$dir/|" "$copy"
        # A key file the example names gets a throwaway key of the documented shape (hex, 0600).
        if grep -q '^[[:space:]]*key_file:' "$copy"; then
            (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$dir/audit.key")
            sed -i "s|^\([[:space:]]*key_file:[[:space:]]*\)/[^[:space:]#]*|\1$dir/audit.key|" "$copy"
        fi
        # Examples that name an environment key get a throwaway one, as their comments say (a
        # config that does not name it must not see it: that would be a refused override).
        local env=()
        if grep -q '^[[:space:]]*key_env:[[:space:]]*SYSGATE_AUDIT_KEY' "$f"; then
            env=(SYSGATE_AUDIT_KEY="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')")
        fi
        env "${env[@]}" "$BIN" check-config --config "$copy" \
            || { rm -rf "$dir"; echo "FAILED: $f"; return 1; }
        n=$((n + 1))
    done
    rm -rf "$dir"
    [ "$n" -gt 0 ] || { echo "no example configs found"; return 1; }
    echo "$n example config(s) valid"
}

pytest_in() { # venv junit-name paths...
    local venv="$1" junit="$2"
    shift 2
    SYSGATE_BIN="$BIN" SYSGATE_INSPECTOR="$INSPECTOR" \
        timeout --kill-after=30 1800 \
        "$ROOT/.venv/$venv/bin/python" -m pytest -c tests/py/pytest.ini \
        --junitxml="$LOGS/$junit.xml" -o junit_family=xunit2 "$@"
}

# In this shell, not in a step: it may export RUSTUP_TOOLCHAIN for every cargo call below.
command -v cargo >/dev/null 2>&1 && select_rust_toolchain
SYSTEM_OK=1
step setup-system setup_system || SYSTEM_OK=0
if [ "$SYSTEM_OK" = 1 ]; then
    step setup-venv-mcp1 make_venv .venv/mcp1 tests/py/requirements-mcp1.txt && V1_OK=1 || V1_OK=0
    step setup-venv-mcp2 make_venv .venv/mcp2 tests/py/requirements-mcp2.txt && V2_OK=1 || V2_OK=0
    step setup-npm npm_tools && NPM_OK=1 || NPM_OK=0

    step cargo-fmt cargo fmt --all -- --check
    # The module import rules of DESIGN's "Architecture" section (no cycle, no forbidden edge).
    step check-imports ./scripts/check-imports.sh
    step cargo-clippy cargo clippy --locked --all-targets -- -D warnings
    # The fuzz crate is its own workspace: lint it too (it uses the library's public surface).
    step cargo-clippy-fuzz env -C fuzz cargo clippy --locked --all-targets -- -D warnings
    # Every doc comment's links must resolve, private items included.
    step cargo-doc env RUSTDOCFLAGS="-D rustdoc::broken_intra_doc_links" \
        cargo doc --locked --no-deps --document-private-items
    step cargo-build-release cargo build --release --locked && BUILD_OK=1 || BUILD_OK=0
    step cargo-test cargo test --locked
    # The TOON encoder against the reference decoder (ignored by plain `cargo test`: it needs
    # node and @toon-format/toon, which setup-npm installed).
    if [ "$NPM_OK" = 1 ]; then
        step cargo-test-toon env TOON_MODULE="$ROOT/tests/node/node_modules/@toon-format/toon/dist/index.mjs" \
            cargo test --locked --test toon_reference -- --ignored
    else
        skip cargo-test-toon "npm tools missing"
    fi

    # Every fuzz target for a short, bounded time (installs cargo-fuzz if missing).
    step fuzz ./scripts/fuzz.sh "${SYSGATE_FUZZ_SECONDS:-10}"

    if [ "$BUILD_OK" = 1 ]; then
        step check-example-configs check_example_configs
    else
        skip check-example-configs "needs the release build"
    fi

    if [ "$BUILD_OK" = 1 ] && [ "$V1_OK" = 1 ]; then
        paths=(tests/py/raw tests/py/v1)
        if [ "$NPM_OK" = 1 ]; then paths+=(tests/py/inspector); else skip pytest-inspector "npm tools missing"; fi
        step pytest-mcp1 pytest_in mcp1 pytest-mcp1 "${paths[@]}"
    else
        skip pytest-mcp1 "needs the release build and .venv/mcp1"
    fi
    if [ "$BUILD_OK" = 1 ] && [ "$V2_OK" = 1 ]; then
        step pytest-mcp2 pytest_in mcp2 pytest-mcp2 tests/py/v2
    else
        skip pytest-mcp2 "needs the release build and .venv/mcp2"
    fi
fi

# -- summary ------------------------------------------------------------------------------------

# Test counts: cargo's "test result:" lines and pytest's JUnit XML.
read -r CARGO_PASS CARGO_FAIL CARGO_SKIP < <(
    awk '/^test result:/ { for (i = 1; i <= NF; i++) {
            if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
         END { print p+0, f+0, s+0 }' "$LOGS/cargo-test.log" "$LOGS/cargo-test-toon.log" 2>/dev/null || echo 0 0 0
)
py_counts() { # junit.xml -> "passed failed skipped"
    [ -s "$1" ] || { echo 0 0 0; return; }
    python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = f = e = s = 0
for su in suites:
    t += int(su.get("tests", 0)); f += int(su.get("failures", 0))
    e += int(su.get("errors", 0)); s += int(su.get("skipped", 0))
print(t - f - e - s, f + e, s)
PY
}
read -r P1_PASS P1_FAIL P1_SKIP < <(py_counts "$LOGS/pytest-mcp1.xml")
read -r P2_PASS P2_FAIL P2_SKIP < <(py_counts "$LOGS/pytest-mcp2.xml")

printf '\n================ sysgate test summary ================\n'
for i in "${!STEP_NAMES[@]}"; do
    printf '  %-22s %-48s %5ss\n' "${STEP_NAMES[$i]}" "${STEP_STATUS[$i]}" "${STEP_SECS[$i]}"
done
printf '  %-22s %s passed, %s failed, %s ignored\n' "cargo test" "$CARGO_PASS" "$CARGO_FAIL" "$CARGO_SKIP"
printf '  %-22s %s passed, %s failed, %s skipped\n' "pytest (mcp 1.x)" "${P1_PASS:-0}" "${P1_FAIL:-0}" "${P1_SKIP:-0}"
printf '  %-22s %s passed, %s failed, %s skipped\n' "pytest (mcp 2.x)" "${P2_PASS:-0}" "${P2_FAIL:-0}" "${P2_SKIP:-0}"
printf '  total time %ss; logs in target/test-logs/\n' $(($(date +%s) - STARTED))
PASSED=$((CARGO_PASS + ${P1_PASS:-0} + ${P2_PASS:-0}))
FAILS=$((CARGO_FAIL + ${P1_FAIL:-0} + ${P2_FAIL:-0}))
SKIPS=$((CARGO_SKIP + ${P1_SKIP:-0} + ${P2_SKIP:-0}))
if [ "${#FAILED[@]}" -gt 0 ]; then
    printf 'result: FAILED: %s\n' "${FAILED[*]}"
else
    printf 'result: OK\n'
fi
printf 'summary: %d passed, %d failed, %d skipped\n' "$PASSED" "$FAILS" "$SKIPS"
[ "${#FAILED[@]}" -eq 0 ]
