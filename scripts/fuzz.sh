#!/usr/bin/env bash
# Build and run every fuzz target in fuzz/fuzz_targets for SECONDS each (default 20).
# Works on stable Rust: `-s none` turns off the sanitizers, which need nightly; libFuzzer's
# coverage instrumentation does not. Exits non-zero if any target crashes, hangs (one input
# taking over 10 s) or runs out of memory; the input that did it is saved under
# fuzz/artifacts/<target>/ and the command to reproduce it is printed.
#
# New inputs are kept in a scratch corpus, so the committed seeds in fuzz/corpus/ stay as they
# are. Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail

secs="${1:-20}"
if ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS]  (a positive whole number of seconds per target)" >&2
    exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing; installing it" >&2
    cargo install cargo-fuzz --locked
fi

# cargo-fuzz has no --locked: refuse a stale fuzz/Cargo.lock here instead of rewriting it.
cargo metadata --locked --format-version 1 >/dev/null

cargo fuzz build -s none

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

failed=()
for src in fuzz_targets/*.rs; do
    target="$(basename "$src" .rs)"
    mkdir -p "$work/$target"
    dirs=("$work/$target")
    [[ -d "corpus/$target" ]] && dirs+=("corpus/$target")
    echo "== $target: ${secs}s" >&2
    # The outer timeout only catches a fuzzer that stops honouring its own time limit.
    if timeout "$((secs + 120))" cargo fuzz run -s none "$target" "${dirs[@]}" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$work/$target.log" 2>&1; then
        grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units)' "$work/$target.log" >&2 || true
    else
        echo "!! $target FAILED (exit $?); last lines of its log:" >&2
        tail -n 40 "$work/$target.log" >&2
        failed+=("$target")
    fi
done

if ((${#failed[@]})); then
    echo "fuzzing failed: ${failed[*]}" >&2
    exit 1
fi
echo "fuzzing passed: every target ran ${secs}s without a crash" >&2
