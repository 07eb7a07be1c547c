#!/usr/bin/env bash
# bench/compare.sh BUILD_DIR - zraft vs canonical/raft vs the floor, in ONE
# run on this machine: same workload (3 nodes, 128 B entries, fsync on, the
# same duration and warm-up), data dirs on the same disk.
#
#   1. floor: fdatasync of a 128 B append (in place and growing file) on the
#      data disk, fdatasync of a 64 KiB append in place (the disk's MB/s),
#      ZeroMQ tcp round trip of 128 B on 127.0.0.1;
#   2. for W in 256 1: canonical/raft (3 raft-peer processes), then zraft
#      (zraft-bench --procs: 3 zraft-node processes, loaded through the
#      client protocol with PUTs of 128 B values, so zraft's figures
#      include its key/value state machine and the client hop; since
#      2026-12-06, before which --procs ran the bench's own counter server
#      per process; in-process if zraft-bench has no --procs);
#   3. zraft alone at W=256: 5 nodes; 3 nodes with 4 KiB values; and, in
#      process (zraft-node has no setting for the pipelining window), 3
#      nodes with window 64 and with --window 1 (no pipelining);
#   4. a table with the figures and the targets:
#        W=256 entries/s  zraft / canonical              >= 5.0
#        W=1   p50        zraft / canonical              <= 1.0
#        W=1   p50        zraft / (fdatasync + zmq rtt)  <= 1.5
#        W=256 entries/s  zraft 5 nodes / 3 nodes        >= 0.7
#        W=256 MB/s       zraft 4 KiB / fdatasync 64 KiB >= 0.5
#        W=256 entries/s  zraft window 64 / window 1     >= 10  (in-process)
#
# Environment:
#   COMPARE_DURATION  measured seconds per run, integer (default 10)
#   COMPARE_WARMUP    warm-up seconds per run, integer (default 1)
#   COMPARE_OUT       where raw JSON, logs and the table go ($B/compare)
#   COMPARE_DIR       parent of the data dirs (default /tmp)
#   COMPARE_KEEP=1    keep the data dirs
#   COMPARE_STRICT=1  exit 2 when a target is missed
#   BENCH_SESSIONS    own (default): every server and load in a session
#                     of its own, or shared: all in the script's (bench/lib.sh,
#                     grouped: how the kernel's autogroup shares the CPUs)
#   COMPARE_FLOOR_ITERATIONS  fdatasyncs per floor figure (default 1000)
#
# Exit: 0 all ran (targets are reported, not enforced unless STRICT),
# 1 a component failed, 2 a target missed under COMPARE_STRICT, 64 usage.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ME=compare
. "$ROOT/bench/lib.sh"
usage_check "$@"
B=${1%/}
DUR=${COMPARE_DURATION:-10}
WARM=${COMPARE_WARMUP:-1}
OUT=${COMPARE_OUT:-$B/compare}
BASE=${COMPARE_DIR:-/tmp}
FLOOR_N=${COMPARE_FLOOR_ITERATIONS:-1000}
STARTUP_S=30                 # election, connections, shutdown, on top
ENTRY=128
INFLIGHTS=(256 1)
BIG_ENTRY=4096               # the bandwidth run's entry size

int_check COMPARE_DURATION "$DUR" 1
int_check COMPARE_WARMUP "$WARM" 0
int_check COMPARE_FLOOR_ITERATIONS "$FLOOR_N" 10

python_find

PEER=$B/bench/raft-peer
ZB=$B/bin/zraft-bench
FLOOR=$B/bench/floor
[ -x "$PEER" ] || die "$PEER missing: run 'make bench-peers' (or make bench-compare)"
[ -x "$ZB" ] || die "$ZB missing: run 'make' (or make bench-compare)"
has_flag "$ZB" --json \
    || die "$ZB has no --json flag"
if has_flag "$ZB" --procs; then
    ZMODE=procs
    if has_flag "$ZB" --node-bin; then    # --procs runs zraft-node
        [ -x "$B/bin/zraft-node" ] \
            || die "$B/bin/zraft-node missing: run 'make' (or make bench-compare)"
    fi
else
    ZMODE=inprocess
fi

# The floor tool is not in the Makefile: build it here when stale.
FLOOR_SRC=$ROOT/bench/tools/floor.c
if [ ! -x "$FLOOR" ] || [ "$FLOOR_SRC" -nt "$FLOOR" ]; then
    mkdir -p "$(dirname "$FLOOR")"
    read -r -a DEPS <<<"$(pkg-config --libs libczmq libzmq 2>/dev/null \
                          || echo -lczmq -lzmq)"
    ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
        -o "$FLOOR" "$FLOOR_SRC" "${DEPS[@]}" -lpthread -lm \
        || die "cannot build $FLOOR"
fi

KEEP=${COMPARE_KEEP:-0}
dirs_make compare

run_floor() {
    echo "compare: floor (fdatasync x$FLOOR_N on $DATA, zmq tcp round trip)" >&2
    grouped "$FLOOR" --dir "$DATA" --iterations "$FLOOR_N" \
        >"$OUT/floor.out" 2>"$OUT/floor.err" &
    local pid=$!
    LIVE+=("$pid")
    wait_first $((SECONDS + 300)) "$pid"
    if [ -z "$FIRST" ]; then
        stop "$pid"; tails "$OUT/floor.err"; die "floor timed out"
    fi
    [ "$FIRST_RC" = 0 ] || { tails "$OUT/floor.err"; die "floor failed (exit $FIRST_RC)"; }
    grep '^{' "$OUT/floor.out" | tail -n 1 >"$OUT/floor.json"
    [ -s "$OUT/floor.json" ] || die "floor printed no JSON"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
run_floor
for w in "${INFLIGHTS[@]}"; do
    run_canonical "canonical-w$w" "$w"
    run_zraft "zraft-w$w" 3 "$w" $ENTRY
done
run_zraft zraft-n5-w256 5 256 $ENTRY
run_zraft zraft-e$BIG_ENTRY-w256 3 256 $BIG_ENTRY
# The window is a library setting zraft-node does not expose: both
# sides of its ratio run in-process.
ZMODE=inprocess run_zraft zraft-inproc-w256 3 256 $ENTRY
ZMODE=inprocess run_zraft zraft-inproc-win1-w256 3 256 $ENTRY --window 1
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

set +e
COMPARE_META="started=$STARTED;sessions=$(sessions_desc "but zraft-bench --procs keeps its 3 zraft-node servers in its own session");host=$(hostname);cpus=$(nproc);load_start=$LOAD_START;load_end=$LOAD_END;duration=$DUR;warmup=$WARM;entry=$ENTRY;big_entry=$BIG_ENTRY;zmode=$ZMODE;data=$BASE;disk=$(df -P "$BASE" | awk 'NR==2{print $1}')" \
"$PY" - "$OUT" <<'EOF'
import json, os, sys

out = sys.argv[1]
meta = dict(kv.split("=", 1) for kv in os.environ["COMPARE_META"].split(";"))

def load(name):
    with open(os.path.join(out, name + ".json")) as f:
        return json.loads(f.read())

try:
    floor = load("floor")
    runs = {(impl, w): load("%s-w%d" % (impl, w))
            for impl in ("canonical", "zraft") for w in (256, 1)}
    # zraft alone at W=256, label in the table -> its run
    extra = [("zraft-5nodes", load("zraft-n5-w256")),
             ("zraft-%sB" % meta["big_entry"],
              load("zraft-e%s-w256" % meta["big_entry"])),
             ("inproc-win64", load("zraft-inproc-w256")),
             ("inproc-win1", load("zraft-inproc-win1-w256"))]
except (OSError, ValueError) as e:
    sys.exit("compare: cannot read the figures: %s" % e)

def lat(j, key):
    l = j.get("latency_ms") or {}
    v = l.get(key)
    return float(v) if v is not None else None

def num(v, fmt="%.3f"):
    return "-" if v is None else fmt % v

lines = []
p = lines.append
zmode = ("3 zraft-node processes (--procs), PUTs of 128 B values through "
         "the client protocol" if meta["zmode"] == "procs"
         else "IN-PROCESS threads: this zraft-bench has no --procs")
p("zraft vs canonical/raft 0.15 - %s, %s, %s CPUs" %
  (meta["started"], meta["host"], meta["cpus"]))
p("3 nodes on 127.0.0.1, %s B entries, fsync on, %s s measured after %s s "
  "warm-up, data on %s (%s)" % (meta["entry"], meta["duration"],
                               meta["warmup"], meta["data"], meta["disk"]))
p("canonical/raft: 3 processes (raft-peer, libuv backend); zraft: %s" % zmode)
p("load average (1/5/15 min): %s at start, %s at end" %
  (meta["load_start"], meta["load_end"]))
p("processes: %s" % meta["sessions"])
p("")
p("%-15s %5s %12s %8s %9s %9s %9s %9s %8s" %
  ("impl", "W", "entries/s", "MB/s", "p50 ms", "p90 ms", "p99 ms",
   "max ms", "cpu s"))
def row(label, impl, w, j):
    cpus = [n.get("cpu_s") for n in j.get("per_node") or []]
    cpu = (sum(cpus) if len(cpus) == j.get("nodes", 3) and None not in cpus
           else None)
    if impl == "zraft" and not j.get("procs"):
        cpu = cpus[0] if cpus else None     # one process: same in all
    p("%-15s %5d %12.0f %8.2f %9s %9s %9s %9s %8s" %
      (label, w, j["entries_per_s"], j.get("mb_per_s", 0.0),
       num(lat(j, "p50")), num(lat(j, "p90")), num(lat(j, "p99")),
       num(lat(j, "max")), num(cpu, "%.2f")))
for w in (256, 1):
    for impl, label in (("canonical", "canonical-raft"), ("zraft", "zraft")):
        row(label, impl, w, runs[(impl, w)])
for label, j in extra:
    row(label, "zraft", 256, j)
p("(cpu s: CPU of the nodes' processes over the window, summed (zraft "
  "--procs: without the load, which runs in zraft-bench); a canonical "
  "follower times its window from the first entry it applies;")
p(" zraft-5nodes: 5 nodes; zraft-%sB: %s B values; inproc-win64 and "
  "inproc-win1: in-process (threads of zraft-bench, the library's API, "
  "a counter state machine), window 64 and --window 1; cpu s is then "
  "the whole process's, load included)" % (meta["big_entry"],
                                          meta["big_entry"]))
p("")
p("floor, 128 B (us)       p50      p90      p99")
for key, label in (("fdatasync_inplace", "fdatasync in place"),
                   ("fdatasync_grow", "fdatasync growing"),
                   ("direct_dsync", "O_DIRECT|O_DSYNC 4k"),
                   ("fdatasync_64k", "fdatasync 64 KiB"),
                   ("zmq_rtt", "zmq tcp rtt"),
                   ("zmq_inproc_rtt", "zmq inproc rtt")):
    p("%-22s %8s %8s %8s" % (label,
                             num(floor.get(key + "_p50_us"), "%.1f"),
                             num(floor.get(key + "_p90_us"), "%.1f"),
                             num(floor.get(key + "_p99_us"), "%.1f")))

p("fdatasync 64 KiB in place: %s MB/s (the disk's bandwidth floor)" %
  num(floor.get("fdatasync_64k_mb_per_s"), "%.1f"))

zn = [n for n in (runs[("zraft", 256)].get("per_node") or [])
      if n.get("entries_per_fsync") is not None]
zlabel = "zraft W=256"
if not zn:                   # zraft-node does not report its fdatasyncs
    zn = [n for n in (extra[2][1].get("per_node") or [])
          if n.get("entries_per_fsync") is not None]
    zlabel = "zraft in-process W=256"
if zn:
    def g(n, *keys):
        for k in keys:
            if n.get(k) is not None:
                return n[k]
        return None
    p("")
    p(zlabel + " per node: " + "; ".join(
        "n%s %s entries/fdatasync" %
        (n.get("id"), num(g(n, "entries_per_fsync", "entries_per_sync"),
                          "%.1f")) for n in zn))

def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b

floor_ms = None
if floor.get("fdatasync_inplace_p50_us") is not None \
        and floor.get("zmq_rtt_p50_us") is not None:
    floor_ms = (floor["fdatasync_inplace_p50_us"]
                + floor["zmq_rtt_p50_us"]) / 1000.0
targets = [
    ("W=256 entries/s, zraft / canonical",
     ratio(runs[("zraft", 256)]["entries_per_s"],
           runs[("canonical", 256)]["entries_per_s"]), ">=", 5.0),
    ("W=1 p50, zraft / canonical",
     ratio(lat(runs[("zraft", 1)], "p50"),
           lat(runs[("canonical", 1)], "p50")), "<=", 1.0),
    ("W=1 p50, zraft / (fdatasync in place p50 + zmq rtt p50)%s" %
     ("" if floor_ms is None else " = %.3f ms" % floor_ms),
     ratio(lat(runs[("zraft", 1)], "p50"), floor_ms), "<=", 1.5),
    ("W=256 entries/s, zraft 5 nodes / 3 nodes",
     ratio(extra[0][1]["entries_per_s"],
           runs[("zraft", 256)]["entries_per_s"]), ">=", 0.7),
    ("W=256 MB/s, zraft %s B entries / fdatasync 64 KiB%s" %
     (meta["big_entry"], "" if floor.get("fdatasync_64k_mb_per_s") is None
      else " = %.1f MB/s" % floor["fdatasync_64k_mb_per_s"]),
     ratio(extra[1][1].get("mb_per_s"), floor.get("fdatasync_64k_mb_per_s")),
     ">=", 0.5),
    ("W=256 entries/s, zraft window 64 / window 1 (in-process)",
     ratio(extra[2][1]["entries_per_s"],
           extra[3][1]["entries_per_s"]), ">=", 10.0),
]
width = max(66, max(len(t[0]) for t in targets))
p("")
p("%-*s %7s %9s  %s" % (width, "target", "value", "wanted", "result"))
missed = 0
results = []
for label, value, op, goal in targets:
    if value is None:
        verdict = "n/a"
        missed += 1
    else:
        ok = value >= goal if op == ">=" else value <= goal
        verdict = "met" if ok else "MISSED"
        missed += 0 if ok else 1
    results.append({"target": label, "value": value, "op": op, "goal": goal,
                    "result": verdict})
    p("%-*s %7s %9s  %s" % (width, label, num(value, "%.2fx"),
                             "%s %.1fx" % (op, goal), verdict))
big_mb = extra[1][1].get("mb_per_s")
disk_mb = floor.get("fdatasync_64k_mb_per_s")
if big_mb is not None and disk_mb:
    p("NOTE: the %s B run's 3 replicas share this one disk: 3 x %.1f MB/s ="
      " %.1f MB/s written, %.2fx of its 64 KiB bandwidth." %
      (meta["big_entry"], big_mb, 3 * big_mb, 3 * big_mb / disk_mb))
if meta["zmode"] != "procs":
    p("NOTE: zraft ran in-process (threads), canonical/raft as 3 processes.")
else:
    p("NOTE: zraft --procs is zraft-node with its key/value state machine, "
      "loaded through the client protocol (since 2026-12-06); "
      "canonical/raft's raft-peer applies to a trivial state machine "
      "in the leader's own process.")
p("NOTE: one run on a shared machine; see the load average above.")

table = "\n".join(lines) + "\n"
sys.stdout.write(table)
with open(os.path.join(out, "table.txt"), "w") as f:
    f.write(table)
with open(os.path.join(out, "results.jsonl"), "w") as f:
    f.write(json.dumps({"meta": meta}) + "\n")
    f.write(json.dumps({"floor": floor}) + "\n")
    for (impl, w), j in sorted(runs.items()):
        f.write(json.dumps(j) + "\n")
    for label, j in extra:
        f.write(json.dumps(j) + "\n")
    f.write(json.dumps({"targets": results}) + "\n")
sys.exit(10 if missed else 0)
EOF
rc=$?
set -e
finish $rc "${COMPARE_STRICT:-0}"
