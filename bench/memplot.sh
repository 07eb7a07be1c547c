#!/usr/bin/env bash
# memplot.sh - RSS and disk use per node over a long zraft-bench run
#
# Runs build/bin/zraft-bench --procs --inflight 256 --json (one zraft-node
# process per server, fsync on, loaded with PUTs of 128 B values through
# the client protocol, the default configuration otherwise) for
# MEMPLOT_DURATION seconds, sampling every node every MEMPLOT_INTERVAL
# seconds, then writes into OUTDIR:
#   memory.json   the run's --json object: "memory" (peak, last, growth
#                 after the first minute per node) and "samples"
#   memory.err    its stderr
#   memory.png    RSS (MiB) and data dir disk use (MiB) per node over time
#
# Usage: bench/memplot.sh [--install] [OUTDIR]   (OUTDIR: docs/perf)
#   --install   install gnuplot if it is missing (scripts/install-deps.sh
#               --bench, idempotent); without it a missing gnuplot is an
#               error before anything runs
# Environment (defaults in brackets):
#   MEMPLOT_DURATION  measured seconds [600]
#   MEMPLOT_WARMUP    warm-up seconds [1]
#   MEMPLOT_INTERVAL  seconds between samples [10]
#   MEMPLOT_INFLIGHT  proposals in flight (closed loop) [256]
#   MEMPLOT_NODES     servers [3]
#   MEMPLOT_RSS_MAX   MiB: stop when a node's RSS passes it (--rss-max),
#                     0 = none [half of MemAvailable at start / nodes]
#   MEMPLOT_DISK_MAX  MiB: the same for a node's data dir (--disk-max)
#                     [half of the free space of MEMPLOT_DIR / nodes]
#   MEMPLOT_DIR       parent of the data dirs [/tmp]
#   MEMPLOT_BIN       the benchmark [build/bin/zraft-bench]
# The caps keep a run whose log is not compacted from taking the shared
# machine's memory or disk: such a run stops early, exits 1, and its
# samples are still written and plotted (memory.json has "error"). The
# benchmark's processes are also the kernel's first choice when memory
# runs out (oom_score_adj 1000, where allowed), not another user's.
# Exits 0 if the run and the plot succeeded, 1 if either failed, 64 on
# bad usage, 130 if interrupted.
set -u

usage () { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
install=0
out=docs/perf
case $# in
    0) ;;
    1|2) if [ "$1" = --install ]; then install=1; shift; fi
         if [ $# -eq 1 ]; then
             case $1 in -h|--help) usage; exit 0 ;; -*) usage >&2; exit 64 ;; esac
             out=$1
         fi
         [ $# -le 1 ] || { usage >&2; exit 64; } ;;
    *) usage >&2; exit 64 ;;
esac
[ -n "$out" ] || { usage >&2; exit 64; }

duration=${MEMPLOT_DURATION:-600}
warmup=${MEMPLOT_WARMUP:-1}
interval=${MEMPLOT_INTERVAL:-10}
inflight=${MEMPLOT_INFLIGHT:-256}
nodes=${MEMPLOT_NODES:-3}
base=${MEMPLOT_DIR:-/tmp}
bin=${MEMPLOT_BIN:-build/bin/zraft-bench}
for v in "$duration" "$warmup" "$interval" "$inflight" "$nodes" \
         "${MEMPLOT_RSS_MAX:-0}" "${MEMPLOT_DISK_MAX:-0}"; do
    [[ $v =~ ^[0-9]+$ ]] || { echo "memplot.sh: '$v' is not a number (MEMPLOT_*)" >&2; exit 64; }
done
[ "$interval" -ge 1 ] || { echo "memplot.sh: MEMPLOT_INTERVAL must be >= 1" >&2; exit 64; }
[ -x "$bin" ] || { echo "memplot.sh: $bin is missing: make $bin" >&2; exit 64; }
"$bin" --help | grep -q -- --sample-interval \
    || { echo "memplot.sh: $bin has no --sample-interval" >&2; exit 64; }
if ! command -v gnuplot >/dev/null && [ $install = 1 ]; then
    "$(dirname "$0")/../scripts/install-deps.sh" --bench || exit 1
fi
command -v gnuplot >/dev/null \
    || { echo "memplot.sh: gnuplot is missing (bench/memplot.sh --install)" >&2; exit 64; }
command -v python3 >/dev/null \
    || { echo "memplot.sh: python3 is needed to read the JSON" >&2; exit 64; }
[ -d "$base" ] || { echo "memplot.sh: MEMPLOT_DIR $base is not a directory" >&2; exit 64; }
mkdir -p "$out" || exit 1

# Half of what the machine has free now, shared by the nodes, in MiB.
avail_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
free_kib=$(df -Pk "$base" | awk 'NR == 2 {print $4}')
rss_max=${MEMPLOT_RSS_MAX:-$(( avail_kib / 2 / nodes / 1024 ))}
disk_max=${MEMPLOT_DISK_MAX:-$(( free_kib / 2 / nodes / 1024 ))}

json=$out/memory.json
cmd=("$bin" --procs --json --nodes "$nodes" --inflight "$inflight"
     --duration "$duration" --warmup "$warmup" --sample-interval "$interval"
     --rss-max "$rss_max" --disk-max "$disk_max" --dir "$base/zraft-memplot.$$")
echo 1000 > /proc/self/oom_score_adj 2>/dev/null || true   # inherited
echo "memplot.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "memplot.sh: ${cmd[*]}" >&2
"${cmd[@]}" > "$json" 2> "$out/memory.err"
rc=$?
[ $rc -eq 130 ] && { echo "memplot.sh: interrupted" >&2; exit 130; }
[ $rc -eq 0 ] || echo "memplot.sh: zraft-bench exited $rc (see $out/memory.err)" >&2

# One data file per node: t_s rss_MiB disk_MiB apparent_MiB committed;
# then the summary lines the caller reads.
data=$(mktemp -d) || exit 1
trap 'rm -rf "$data"' EXIT
python3 - "$json" "$data" <<'EOF' || { echo "memplot.sh: no samples in $json" >&2; exit 1; }
import json, sys
run = json.load(open(sys.argv[1]))
samples = run.get("samples") or []
if not samples:
    sys.exit(1)
mib = 1048576.0
files = {}
for s in samples:
    f = files.get(s["node"])
    if f is None:
        f = files[s["node"]] = open("%s/n%d.dat" % (sys.argv[2], s["node"]), "w")
    f.write("%.3f %.3f %.3f %.3f %d\n" % (s["t_s"], s["rss_bytes"] / mib,
            s["disk_bytes"] / mib, s["disk_apparent_bytes"] / mib, s["committed"]))
for n in run["memory"]["per_node"]:
    at60 = n["rss_at_60s_bytes"]
    per_min = n["rss_growth_per_min_bytes"]
    print("memplot.sh: n%d RSS at 60 s %s MiB, last %.1f MiB (peak %.1f), %s MiB/min after 60 s;"
          " disk last %.1f MiB, committed %d" % (n["id"],
          "-" if at60 is None else "%.1f" % (at60 / mib), n["rss_last_bytes"] / mib,
          n["rss_peak_bytes"] / mib, "-" if per_min is None else "%.1f" % (per_min / mib),
          n["disk_last_bytes"] / mib, n["committed_last"]), file=sys.stderr)
if run.get("error"):
    print("memplot.sh: the run stopped early: %s" % run["error"], file=sys.stderr)
EOF

title="zraft-bench --procs (zraft-node), $nodes nodes, --inflight $inflight, ${duration} s + ${warmup} s warm-up"
[ $rc -eq 0 ] || title="$title (stopped early: exit $rc)"
gnuplot <<EOF || { echo "memplot.sh: gnuplot failed" >&2; exit 1; }
set terminal pngcairo size 900,800 noenhanced
set output "$out/memory.png"
set multiplot layout 2,1 title "$title"
set xlabel "seconds since the load began"
set grid
set key top left
set yrange [0:*]
set ylabel "RSS (MiB)"
plot for [n=1:$nodes] "$data/n".n.".dat" using 1:2 with linespoints lw 2 pt 7 title "n".n
set ylabel "data dir on disk (MiB, allocated)"
plot for [n=1:$nodes] "$data/n".n.".dat" using 1:3 with linespoints lw 2 pt 7 title "n".n
unset multiplot
EOF
echo "memplot.sh: wrote $json and $out/memory.png" >&2
[ $rc -eq 0 ]
