#!/usr/bin/env bash
# Runs a test binary RUNS times in a row under CPU load and stops at the
# first failure: "flaky is broken". The load is LOAD busy loops (default:
# one per core) so timers, fsyncs and thread wake-ups all run late.
# Usage: tests/soak.sh BINARY [RUNS] [LOAD]
set -u
bin=$1; runs=${2:-20}; load=${3:-$(nproc)}
pids=()
for _ in $(seq "$load"); do ( while :; do :; done ) & pids+=($!); done
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
for i in $(seq "$runs"); do
    start=$(date +%s)
    out=$("$bin" 2>&1); rc=$?
    summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks' | tail -n 1)
    echo "run $i/$runs: ${summary:-no summary} ($(( $(date +%s) - start )) s)"
    if [ $rc -ne 0 ]; then
        # The whole output (every node's log the test dumps) is kept: the
        # tail rarely holds the failing node's lines.
        keep=$(mktemp "${TMPDIR:-/tmp}/soak-$(basename "$bin")-run$i.XXXXXX.log")
        printf '%s\n' "$out" >"$keep"
        printf '%s\n' "$out" | tail -n 20
        echo "soak: failed on run $i (whole output: $keep)"; exit 1
    fi
done
echo "soak: $runs runs passed under load $load"
