#!/usr/bin/env bash
# sweep.sh - zraft-bench over proposals in flight (W) x pipelining window
#
# Runs build/bin/zraft-bench in-process (the servers are threads of it,
# fsync on; --procs runs zraft-node, which has no setting for the
# window), closed loop, for every W in SWEEP_W and every --window in
# SWEEP_WINDOWS (window 1 = one AppendEntries in flight per follower:
# pipelining off), then writes into OUTDIR:
#   sweep.csv       W,window,entries_per_s,p50_ms,p99_ms (empty fields
#                   for a run that failed)
#   runs/W<w>-window<n>.json   each run's --json object, .err its stderr
#   throughput.png  committed entries/s vs W, one line per window
#   p99.png         p99 latency (ms) vs W, one line per window
#
# Usage: bench/sweep.sh OUTDIR
# Environment (defaults in brackets):
#   SWEEP_DURATION  measured seconds per run [3]
#   SWEEP_WARMUP    warm-up seconds per run [1]
#   SWEEP_W         W values ["1 4 16 64 256 1024"]
#   SWEEP_WINDOWS   window values ["1 4 16 64"]
#   SWEEP_NODES     servers [3]
#   SWEEP_ENTRY     bytes per entry [128]
#   SWEEP_BIN       the benchmark [build/bin/zraft-bench]
# Needs gnuplot (Debian: gnuplot-nox). Exits 1 if any run failed (the
# others are still written and plotted), 64 on bad usage.
#
# The machine is shared: figures from a busy machine are not results.
set -u

usage () { echo "usage: bench/sweep.sh OUTDIR (see the header for SWEEP_*)" >&2; exit 64; }
[ $# -eq 1 ] && [ -n "$1" ] || usage
out=$1
duration=${SWEEP_DURATION:-3}
warmup=${SWEEP_WARMUP:-1}
ws=${SWEEP_W:-1 4 16 64 256 1024}
windows=${SWEEP_WINDOWS:-1 4 16 64}
nodes=${SWEEP_NODES:-3}
entry=${SWEEP_ENTRY:-128}
bin=${SWEEP_BIN:-build/bin/zraft-bench}

for v in "$duration" "$warmup" "$nodes" "$entry" $ws $windows; do
    [[ $v =~ ^[0-9]+$ ]] || { echo "sweep.sh: '$v' is not a number (SWEEP_*)" >&2; exit 64; }
done
[ -x "$bin" ] || { echo "sweep.sh: $bin is missing: make $bin" >&2; exit 64; }
command -v gnuplot >/dev/null || { echo "sweep.sh: gnuplot is missing (apt-get install gnuplot-nox)" >&2; exit 64; }
mkdir -p "$out/runs" "$out/data" || exit 1

# Prints field $2 ("entries_per_s", "p50", "p99") of JSON file $1, or
# nothing; the benchmark prints each key once, so a match is enough.
field () {
    grep -o "\"$2\":[0-9.]*" "$1" 2>/dev/null | head -n 1 | cut -d: -f2
}

csv=$out/sweep.csv
echo "W,window,entries_per_s,p50_ms,p99_ms" > "$csv"
total=$(( $(wc -w <<<"$ws") * $(wc -w <<<"$windows") ))
n=0; failed=0
for window in $windows; do
    : > "$out/data/window-$window.dat"
    for w in $ws; do
        n=$((n + 1))
        run=$out/runs/W$w-window$window
        "$bin" --json --nodes "$nodes" --entry-size "$entry" \
            --inflight "$w" --window "$window" --duration "$duration" \
            --warmup "$warmup" > "$run.json" 2> "$run.err"
        rc=$?
        eps=$(field "$run.json" entries_per_s)
        p50=$(field "$run.json" p50)
        p99=$(field "$run.json" p99)
        if [ $rc -ne 0 ] || [ -z "$eps" ]; then
            failed=$((failed + 1))
            echo "[$n/$total] W=$w window=$window: failed (exit $rc, see $run.err)" >&2
            [ $rc -eq 130 ] && exit 130
            echo "$w,$window,,," >> "$csv"
            continue
        fi
        echo "[$n/$total] W=$w window=$window: $eps entries/s, p50 ${p50:-?} ms, p99 ${p99:-?} ms" >&2
        echo "$w,$window,$eps,$p50,$p99" >> "$csv"
        echo "$w $eps ${p99:-NaN}" >> "$out/data/window-$window.dat"
    done
done

# One line per window; window 1 is pipelining off.
plot () { # $1 png, $2 column, $3 y label, $4 extra settings
    gnuplot <<EOF
set terminal pngcairo size 900,560 noenhanced
set output "$out/$1"
set title "zraft-bench in-process, $nodes nodes, ${entry} B entries, fsync on, ${duration} s per point"
set xlabel "proposals in flight (W, closed loop)"
set ylabel "$3"
set logscale x 2
set grid
set key top left
$4
plot for [w in "$windows"] "$out/data/window-".w.".dat" using 1:$2 \
    with linespoints lw 2 pt 7 title (w eq "1" ? "window 1 (no pipelining)" : "window ".w)
EOF
}
plot throughput.png 2 "committed entries/s" "set yrange [0:*]" || failed=$((failed + 1))
plot p99.png 3 "p99 latency (ms)" "set logscale y" || failed=$((failed + 1))
echo "sweep.sh: wrote $csv, $out/throughput.png, $out/p99.png ($failed failed)" >&2
[ $failed -eq 0 ]
