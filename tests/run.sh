#!/usr/bin/env bash
# Runs test binaries one after another and prints each one's Check summary,
# then one closing line "N passed, N failed" over the whole suite.
# Usage: tests/run.sh BUILD_DIR TEST_BINARY...
set -u
build=$1; shift
passed=0; failed=0; bad=()
for t in "$@"; do
    name=${t#"$build"/tests/}
    out=$("$t" 2>&1); rc=$?
    summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
    if [ -z "$summary" ]; then
        printf '%s\n' "$out" | tail -n 30
        echo "$name: no Check summary (exit $rc)"; failed=$((failed + 1)); bad+=("$name"); continue
    fi
    n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$summary")
    f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$summary")
    e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$summary")
    passed=$((passed + n - f - e)); failed=$((failed + f + e))
    if [ "$rc" -ne 0 ] || [ $((f + e)) -ne 0 ]; then
        printf '%s\n' "$out" | grep -vE '^Running suite' | tail -n 40
        bad+=("$name")
        [ $((f + e)) -eq 0 ] && failed=$((failed + 1))
    fi
    echo "$name: $summary"
done
[ ${#bad[@]} -eq 0 ] || echo "failing: ${bad[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
