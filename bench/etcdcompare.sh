#!/usr/bin/env bash
# bench/etcdcompare.sh BUILD_DIR - zraft-node vs etcd 3.4 (Debian's
# etcd-server), in ONE run on this machine, as a user of either sees it:
# a replicated key/value service of 3 members on 127.0.0.1, each its own
# process with its data dir on the same disk, fsync on, 128 B values,
# driven through its own client protocol with W requests in flight.
#
#   etcd   3 `etcd` processes, defaults for everything that touches
#          durability or batching: fsync of the WAL on every Raft Ready
#          (etcd has no switch to turn it off in 3.4), --snapshot-count
#          100000, --quota-backend-bytes 0 (2 GiB), --heartbeat-interval
#          100, --election-timeout 1000, backend batch 100 ms / 10000 ops;
#          only the log level is lowered (warn). The load is
#          bench/peers/etcd-load (etcd's own Go client, clientv3, built
#          by `make bench-etcd-peer`): N gRPC clients on the leader.
#   zraft  3 `zraft-node` processes (their defaults; fsync on), driven by
#          `zraft-bench --kv`: N pipelined DEALER clients on the leader,
#          each with its own client session.
#
# Both sides: keys "key-%08d" over KEYS keys picked at random, values of
# 128 B, W requests in flight spread over N clients (N = min(W, CLIENTS)).
#   put  a write (etcd Put; zraft PUT with client_id and seq);
#   get  a linearizable read (etcd's default Range, serializable=false,
#        ReadIndex; zraft GET with stale=false, ReadIndex); every key is
#        written once before a get run, outside the measured window.
# Every run starts a fresh cluster in a fresh data dir (`sync` first) and
# stops it after. Runs go in rounds; odd rounds run etcd before zraft at
# each (op, W) point, even rounds zraft first, so neither always follows
# the other (the position effect docs/PERFORMANCE.md describes).
#
# The table gives every run, the means per system and point, and the
# ratios of the means (judged) with each round's and their median, and
# the targets (issue 10):
#     put W=256 ops/s  zraft / etcd   >= 5.0
#     put W=1   p50    zraft / etcd   <= 0.7
#     get W=256 ops/s  zraft / etcd   >= 5.0
#     get W=1   p50    zraft / etcd   <= 0.7
#
# Environment:
#   ETCDCOMPARE_DURATION  measured seconds per run, integer (default 10)
#   ETCDCOMPARE_WARMUP    warm-up seconds per run, integer (default 1)
#   ETCDCOMPARE_ROUNDS    rounds, 1..10 (default 2)
#   ETCDCOMPARE_CLIENTS   clients (connections) at most, 1..256 (default 16)
#   ETCDCOMPARE_KEYS      distinct keys, 1..1000000 (default 10000)
#   ETCDCOMPARE_INFLIGHTS the W points, "256 1" (default), "256" or "1"
#                         (one of them: only its two targets are judged)
#   ETCDCOMPARE_SIDES     "etcd zraft" (default), or one of them (the
#                         ratios are then n/a; for trying one side)
#   ETCDCOMPARE_OUT       where raw JSON, logs and the table go
#                         ($B/etcdcompare)
#   ETCDCOMPARE_DIR       parent of the data dirs (default /tmp)
#   ETCDCOMPARE_KEEP=1    keep the data dirs
#   ETCDCOMPARE_STRICT=1  exit 2 when a target is missed
#   BENCH_SESSIONS        own (default): every server and load in a session
#                         of its own, or shared: all in the script's (bench/lib.sh,
#                         grouped: how the kernel's autogroup shares the CPUs)
#   ETCD                  the etcd binary (default: etcd on PATH)
#
# Exit: 0 all ran (targets are reported, not enforced unless STRICT),
# 1 a component failed, 2 a target missed under ETCDCOMPARE_STRICT,
# 64 usage.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ME=etcdcompare
. "$ROOT/bench/lib.sh"
usage_check "$@"
B=${1%/}
DUR=${ETCDCOMPARE_DURATION:-10}
WARM=${ETCDCOMPARE_WARMUP:-1}
ROUNDS=${ETCDCOMPARE_ROUNDS:-2}
CLIENTS=${ETCDCOMPARE_CLIENTS:-16}
KEYS=${ETCDCOMPARE_KEYS:-10000}
SIDES=${ETCDCOMPARE_SIDES:-etcd zraft}
OUT=${ETCDCOMPARE_OUT:-$B/etcdcompare}
BASE=${ETCDCOMPARE_DIR:-/tmp}
STARTUP_S=60                 # cluster start, election, fill, shutdown
VALUE=128
read -r -a INFLIGHTS <<<"${ETCDCOMPARE_INFLIGHTS:-256 1}"
OPS=(put get)

int_check ETCDCOMPARE_DURATION "$DUR" 1
int_check ETCDCOMPARE_WARMUP "$WARM" 0
int_check ETCDCOMPARE_ROUNDS "$ROUNDS" 1 10
int_check ETCDCOMPARE_CLIENTS "$CLIENTS" 1 256
int_check ETCDCOMPARE_KEYS "$KEYS" 1 1000000
case $SIDES in
    "etcd zraft"|"zraft etcd"|etcd|zraft) ;;
    *) bad_env "ETCDCOMPARE_SIDES must be 'etcd zraft', 'etcd' or 'zraft' (got '$SIDES')" ;;
esac
case "${INFLIGHTS[*]}" in
    "256 1"|"1 256"|256|1) ;;
    *) bad_env "ETCDCOMPARE_INFLIGHTS must be '256 1', '256' or '1' (got '${INFLIGHTS[*]}')" ;;
esac
side_on() { [[ " $SIDES " == *" $1 "* ]]; }

python_find

LOADER=$B/bench/etcd-load
ZB=$B/bin/zraft-bench
ZNODE=$B/bin/zraft-node
ETCD=${ETCD:-$(command -v etcd || true)}
if side_on etcd; then
    [ -n "$ETCD" ] && [ -x "$ETCD" ] \
        || die "etcd missing: run 'scripts/install-deps.sh --bench' (Debian etcd-server)"
    [ -x "$LOADER" ] || die "$LOADER missing: run 'make bench-etcd-peer' (or make bench-etcd)"
fi
if side_on zraft; then
    [ -x "$ZNODE" ] || die "$ZNODE missing: run 'make' (or make bench-etcd)"
    [ -x "$ZB" ] || die "$ZB missing: run 'make' (or make bench-etcd)"
    has_flag "$ZB" --kv || die "$ZB has no --kv mode"
fi

KEEP=${ETCDCOMPARE_KEEP:-0}
dirs_make etcdcompare

# servers_start SYSTEM TAG: 3 members of SYSTEM (etcd or zraft) on fresh
# ports and data dirs; sets SRV_PIDS, SRV_LOGS and ENDPOINTS.
servers_start() {
    local sys=$1 tag=$2 i eps=() cluster
    ports_take 6
    SRV_PIDS=() SRV_LOGS=()
    mkdir -p "$DATA/$tag"
    if [ "$sys" = etcd ]; then
        cluster=$(cluster_of http "${PORTS[@]:3:3}")
    else
        cluster=$(cluster_of tcp "${PORTS[@]:3:3}")
    fi
    for i in 1 2 3; do
        local client=${PORTS[$((i - 1))]} peer=${PORTS[$((i + 2))]}
        if [ "$sys" = etcd ]; then
            eps+=("http://127.0.0.1:$client")
            srv_spawn "$tag" "$i" "$ETCD" --name "n$i" --data-dir "$DATA/$tag/n$i" \
                --listen-peer-urls "http://127.0.0.1:$peer" \
                --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
                --listen-client-urls "http://127.0.0.1:$client" \
                --advertise-client-urls "http://127.0.0.1:$client" \
                --initial-cluster "$cluster" \
                --initial-cluster-token "$tag" --initial-cluster-state new \
                --logger zap --log-outputs stderr --log-level warn
        else
            eps+=("tcp://127.0.0.1:$client")
            znode_spawn "$tag" "$i" "$peer" "$client" "$cluster"
        fi
    done
    ENDPOINTS=$(IFS=,; echo "${eps[*]}")
}

# run_one SYSTEM OP W ROUND: one fresh cluster, one load, its JSON (with
# the servers' CPU seconds over the load folded in) in $OUT/TAG.json.
run_one() {
    local sys=$1 op=$2 w=$3 r=$4 tag what n pid cpu0
    tag=$sys-$op-w$w-r$r
    n=$((w < CLIENTS ? w : CLIENTS))
    what="$sys $op W=$w (round $r)"
    settle
    servers_start "$sys" "$tag"
    echo "$ME: $what: 3 processes, $n clients, $ENDPOINTS" >&2
    cpu0=$(cpu_of "${SRV_PIDS[@]}")
    if [ "$sys" = etcd ]; then
        grouped "$LOADER" --endpoints "$ENDPOINTS" --op "$op" --inflight "$w" \
            --clients "$n" --value-size $VALUE --keys "$KEYS" \
            --duration "$DUR" --warmup "$WARM" --json \
            >"$OUT/$tag.out" 2>"$OUT/$tag.err" &
    else
        local ratio=0
        [ "$op" = get ] && ratio=1
        grouped "$ZB" --kv --endpoints "$ENDPOINTS" --inflight "$w" \
            --clients "$n" --get-ratio $ratio --value-size $VALUE \
            --keys "$KEYS" --duration "$DUR" --warmup "$WARM" --json \
            >"$OUT/$tag.out" 2>"$OUT/$tag.err" &
    fi
    pid=$!
    LIVE+=("$pid")
    load_collect "$tag" "$what" "$pid" "$cpu0"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ETCD_VERSION=$( { [ -n "$ETCD" ] && "$ETCD" --version 2>/dev/null | head -n 1 | awk '{print $3}'; } || true)
for r in $(seq "$ROUNDS"); do
    systems=(etcd zraft)
    [ $((r % 2)) = 0 ] && systems=(zraft etcd)
    for w in "${INFLIGHTS[@]}"; do
        for op in "${OPS[@]}"; do
            for s in "${systems[@]}"; do
                side_on "$s" && run_one "$s" "$op" "$w" "$r"
            done
        done
    done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

set +e
ETCDCOMPARE_META="started=$STARTED;sessions=$(sessions_desc);host=$(hostname);cpus=$(nproc);load_start=$LOAD_START;load_end=$LOAD_END;duration=$DUR;warmup=$WARM;rounds=$ROUNDS;clients=$CLIENTS;keys=$KEYS;value=$VALUE;sides=$SIDES;inflights=${INFLIGHTS[*]};etcd_version=${ETCD_VERSION:-?};data=$BASE;disk=$(df -P "$BASE" | awk 'NR==2{print $1}')" \
"$PY" - "$OUT" "$ROOT/bench" <<'EOF'
import json, os, sys
sys.path.insert(0, sys.argv[2])
from tables import meta_of, order_of, num, lat, mean, median, ratio, finish

out = sys.argv[1]
meta = meta_of("ETCDCOMPARE_META")
rounds = int(meta["rounds"])
sides = meta["sides"].split()
order = order_of(out)

def load(tag):
    with open(os.path.join(out, tag + ".json")) as f:
        return json.loads(f.read())

inflights = [int(w) for w in meta["inflights"].split()]
points = [(op, w) for w in inflights for op in ("put", "get")]
try:
    runs = {(s, op, w, r): load("%s-%s-w%d-r%d" % (s, op, w, r))
            for s in sides for (op, w) in points
            for r in range(1, rounds + 1)}
except (OSError, ValueError) as e:
    sys.exit("etcdcompare: cannot read the figures: %s" % e)

lines = []
p = lines.append
p("zraft-node vs etcd %s - %s, %s, %s CPUs" %
  (meta["etcd_version"], meta["started"], meta["host"], meta["cpus"]))
p("3 members, one process each, 127.0.0.1, %s B values over %s keys, "
  "fsync on, %s s measured after %s s warm-up, data on %s (%s)" %
  (meta["value"], meta["keys"], meta["duration"], meta["warmup"],
   meta["data"], meta["disk"]))
p("etcd: defaults (snapshot-count 100000, quota 2 GiB), clientv3 "
  "(bench/peers/etcd-load) on the leader; zraft: zraft-node defaults, "
  "zraft-bench --kv on the leader; clients: min(W, %s)" % meta["clients"])
p("get = linearizable read (etcd Range serializable=false; zraft GET "
  "stale=false), both by ReadIndex")
p("load average (1/5/15 min): %s at start, %s at end" %
  (meta["load_start"], meta["load_end"]))
p("processes: %s" % meta["sessions"])
p("run order: %s" % " ".join(order))
p("")
p("%-6s %-4s %5s %5s %11s %9s %9s %9s %9s %9s" %
  ("system", "op", "W", "round", "ops/s", "p50 ms", "p90 ms", "p99 ms",
   "max ms", "cpu s"))
for (op, w) in points:
    for s in sides:
        for r in range(1, rounds + 1):
            j = runs[(s, op, w, r)]
            p("%-6s %-4s %5d %5d %11.0f %9s %9s %9s %9s %9s" %
              (s, op, w, r, j["ops_per_s"], num(lat(j, "p50")),
               num(lat(j, "p90")), num(lat(j, "p99")), num(lat(j, "max")),
               num(j.get("servers_cpu_s"), "%.2f")))
p("(cpu s: user+system CPU of the 3 server processes while the load ran, "
  "including a get run's fill)")

means = {}
for s in sides:
    for (op, w) in points:
        rs = [runs[(s, op, w, r)] for r in range(1, rounds + 1)]
        means[(s, op, w)] = {
            "ops_per_s": mean([j["ops_per_s"] for j in rs]),
            "p50": mean([lat(j, "p50") for j in rs]),
            "p99": mean([lat(j, "p99") for j in rs])}
p("")
p("%-6s %-4s %5s %11s %9s %9s" % ("mean", "op", "W", "ops/s", "p50 ms",
                                  "p99 ms"))
for (op, w) in points:
    for s in sides:
        m = means[(s, op, w)]
        p("%-6s %-4s %5d %11.0f %9s %9s" % (s, op, w, m["ops_per_s"],
                                            num(m["p50"]), num(m["p99"])))

both = "etcd" in sides and "zraft" in sides
targets = []
for op in ("put", "get"):
    if 256 in inflights:
        targets.append(("%s W=256 ops/s, zraft / etcd" % op, op, 256,
                        "ops_per_s", ">=", 5.0))
    if 1 in inflights:
        targets.append(("%s W=1 p50, zraft / etcd" % op, op, 1, "p50", "<=",
                        0.7))
p("")
p("%-28s %7s %s %7s %9s  %s" % ("ratio (of the means)", "value",
                                " ".join("%7s" % ("r%d" % r)
                                         for r in range(1, rounds + 1)),
                                "median", "wanted", "result"))
missed = 0
results = []
for label, op, w, key, how, goal in targets:
    value, per = None, [None] * rounds
    if both:
        value = ratio(means[("zraft", op, w)][key], means[("etcd", op, w)][key])
        get = (lambda j: j["ops_per_s"]) if key == "ops_per_s" \
            else (lambda j: lat(j, "p50"))
        per = [ratio(get(runs[("zraft", op, w, r)]),
                     get(runs[("etcd", op, w, r)]))
               for r in range(1, rounds + 1)]
    if value is None:
        verdict = "n/a"
        missed += 1
    else:
        ok = value >= goal if how == ">=" else value <= goal
        verdict = "met" if ok else "MISSED"
        missed += 0 if ok else 1
    results.append({"target": label, "value": value, "per_round": per,
                    "median": median(per), "op": how, "goal": goal,
                    "result": verdict})
    p("%-28s %7s %s %7s %9s  %s" % (label, num(value, "%.2fx"),
                                    " ".join("%7s" % num(v, "%.2fx")
                                             for v in per),
                                    num(median(per), "%.2fx"),
                                    "%s %.1fx" % (how, goal), verdict))
p("NOTE: one run on a shared machine; see the load average above.")

finish(out, lines, meta, runs, results, missed)
EOF
rc=$?
set -e
finish $rc "${ETCDCOMPARE_STRICT:-0}"
