#!/usr/bin/env bash
# Runs libFuzzer targets one after another, each on its checked-in corpus.
# Usage: tests/fuzz/run.sh BUILD_DIR TARGET...   (make fuzz calls it)
#   FUZZ_SECONDS  time per target (default 60)
#   FUZZ_RUNS     stop after this many executions instead (optional)
#   FUZZ_MERGE=1  afterwards, minimise corpus + new inputs into the corpus
# New inputs go to a scratch directory, so the corpus changes only when
# asked; crash, leak, timeout and OOM inputs go to tests/fuzz/crashes/<t>/
# and are kept there for good (the replay test of make test runs them).
# Prints libFuzzer's last lines per target (cov:, ft:, exec/s); runs at
# nice 10, one process (no -jobs: libFuzzer would log to ./fuzz-N.log),
# one target at a time: the machine is shared.
set -uo pipefail
build=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
status=0
for t in "$@"; do
    bin=$build/fuzz/fuzz_$t
    corpus=$here/corpus/$t
    crashes=$here/crashes/$t
    mkdir -p "$corpus" "$crashes"
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/zr-fuzz-$t-XXXXXX")
    # Where targets put files (fuzz_wal's directory): tmpfs if there is
    # one, removed afterwards even if libFuzzer exits without atexit.
    work=$(mktemp -d "$([ -d /dev/shm ] && echo /dev/shm || echo "${TMPDIR:-/tmp}")/zr-fuzz-$t-XXXXXX")
    limit=(-max_total_time="${FUZZ_SECONDS:-60}")
    [ -n "${FUZZ_RUNS:-}" ] && limit=(-runs="$FUZZ_RUNS")
    echo "fuzz $t: ${limit[*]} on $corpus ($(date -u +%FT%TZ))"
    TMPDIR=$work nice -n 10 "$bin" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "${limit[@]}" \
        "$scratch" "$corpus" >"$scratch.log" 2>&1
    rc=$?
    grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$scratch.log" | tail -n 2
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$scratch.log"
    if [ $rc -ne 0 ]; then
        grep -vE '^#[0-9]+[[:space:]]' "$scratch.log" | tail -n 30
        echo "fuzz $t: FAILED (exit $rc), the input is in $crashes/"; status=1
    fi
    if [ "${FUZZ_MERGE:-}" = 1 ]; then
        merged=$(mktemp -d "${TMPDIR:-/tmp}/zr-fuzz-$t-merged-XXXXXX")
        if TMPDIR=$work nice -n 10 "$bin" -merge=1 "$merged" "$corpus" "$scratch" \
                >"$scratch.merge" 2>&1 && [ -n "$(ls -A "$merged")" ]; then
            rm -f "$corpus"/*
            mv "$merged"/* "$corpus"/
        else
            tail -n 20 "$scratch.merge"; status=1
        fi
        rm -rf "$merged"
        echo "fuzz $t: corpus now $(ls "$corpus" | wc -l) inputs, $(du -sk "$corpus" | cut -f1) KiB"
    fi
    rm -rf "$scratch" "$scratch.log" "$scratch.merge" "$work"
done
exit $status
