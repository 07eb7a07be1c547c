#!/usr/bin/env bash
# bench/busidle.sh BUILD_DIR - the bus's publish rate and the servers'
# memory with subscribers that do not read and subscribers that vanish
# (issue 11: "100 subscribers with zero credit, and 10 that disconnect
# mid-stream: the cluster's publish rate stays within 10% of a run
# without them, and memory stays bounded"), in ONE run on this machine.
#
# Each run: a fresh cluster of 3 `zraft-node` processes on 127.0.0.1
# (their defaults, fsync on, --listen-bus), loaded by `zraft-bench --bus
# --endpoints` with W publishes in flight over N producers on the leader,
# 128 B messages, no consumer, and per point:
#   base   nothing else
#   idle   IDLE sessions subscribed with credit 0 that never read (they
#          answer heartbeats, so they stay open), spread over the servers
#   read   the same IDLE, plus DROPPING sessions that subscribe with
#          credit and read every message for the whole run (what the
#          dropping ones below cost by reading, without disconnecting)
#   churn  the same IDLE, plus DROPPING sessions that subscribe with
#          credit, read, and close their socket without UNSUBSCRIBE while
#          deliveries flow: once each at times spread over the measured
#          window, or every DROP_EVERY ms (then each reconnects at once)
# zraft-bench reads every server's VmRSS when the window starts, and its
# VmRSS and VmHWM (peak) when the load ended (--server-pids). Rounds
# alternate the order: odd rounds base idle read churn, even rounds
# reversed.
#
# The table gives every run, the means per point, and the ratios of the
# means (per round too):
#     churn / base publishes/s                     >= 0.9 (the target)
#     idle / base, read / base, churn / read       (not judged)
# and the servers' memory per point (MiB, summed over the 3 servers):
# RSS at the window's start and at the end, peak, growth.
#
# Environment:
#   BUSIDLE_DURATION    measured seconds per run, integer (default 10)
#   BUSIDLE_WARMUP      warm-up seconds per run, integer (default 1)
#   BUSIDLE_ROUNDS      rounds, 1..10 (default 2)
#   BUSIDLE_INFLIGHT    W, 1..65536 (default 256)
#   BUSIDLE_PRODUCERS   producers at most, 1..256 (default 16)
#   BUSIDLE_IDLE        idle subscribers, 1..1024 (default 100)
#   BUSIDLE_DROPPING    dropping (and, at read, reading) subscribers,
#                       1..256 (default 10)
#   BUSIDLE_DROP_EVERY  0: each drops once; else ms between one's drops
#                       (10..3600000) (default 0)
#   BUSIDLE_CREDIT      the dropping subscribers' credit, 2..65536
#                       (default 1024)
#   BUSIDLE_POINTS      which points, any of "base idle read churn"
#                       (default all four; a ratio whose points are left
#                       out is n/a)
#   BUSIDLE_OUT         where raw JSON, logs and the table go ($B/busidle)
#   BUSIDLE_DIR         parent of the data dirs (default /tmp)
#   BUSIDLE_KEEP=1      keep the data dirs
#   BUSIDLE_STRICT=1    exit 2 when the target is missed
#   BENCH_SESSIONS      own (default): every server and load in a session
#                       of its own, or shared: all in the script's (bench/lib.sh,
#                       grouped: how the kernel's autogroup shares the CPUs)
#
# Exit: 0 all ran (the target is reported, not enforced unless STRICT),
# 1 a component failed, 2 the target missed under BUSIDLE_STRICT, 64 usage.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ME=busidle
. "$ROOT/bench/lib.sh"
usage_check "$@"
B=${1%/}
DUR=${BUSIDLE_DURATION:-10}
WARM=${BUSIDLE_WARMUP:-1}
ROUNDS=${BUSIDLE_ROUNDS:-2}
W=${BUSIDLE_INFLIGHT:-256}
PRODUCERS=${BUSIDLE_PRODUCERS:-16}
IDLE=${BUSIDLE_IDLE:-100}
DROPPING=${BUSIDLE_DROPPING:-10}
DROP_EVERY=${BUSIDLE_DROP_EVERY:-0}
CREDIT=${BUSIDLE_CREDIT:-1024}
OUT=${BUSIDLE_OUT:-$B/busidle}
BASE=${BUSIDLE_DIR:-/tmp}
STARTUP_S=90                 # cluster start, election, subscribing, shutdown
PAYLOAD=128
read -r -a POINTS <<<"${BUSIDLE_POINTS:-base idle read churn}"

int_check BUSIDLE_DURATION "$DUR" 1
int_check BUSIDLE_WARMUP "$WARM" 0
int_check BUSIDLE_ROUNDS "$ROUNDS" 1 10
int_check BUSIDLE_INFLIGHT "$W" 1 65536
int_check BUSIDLE_PRODUCERS "$PRODUCERS" 1 256
int_check BUSIDLE_IDLE "$IDLE" 1 1024
int_check BUSIDLE_DROPPING "$DROPPING" 1 256
int_check BUSIDLE_DROP_EVERY "$DROP_EVERY" 0 3600000
[ "$DROP_EVERY" = 0 ] || int_check BUSIDLE_DROP_EVERY "$DROP_EVERY" 10 3600000
int_check BUSIDLE_CREDIT "$CREDIT" 2 65536
[ ${#POINTS[@]} -gt 0 ] || bad_env "BUSIDLE_POINTS is empty"
for p in "${POINTS[@]}"; do
    case $p in
        base|idle|read|churn) ;;
        *) bad_env "BUSIDLE_POINTS: '$p' is none of base idle read churn" ;;
    esac
done

python_find

ZB=$B/bin/zraft-bench
ZNODE=$B/bin/zraft-node
[ -x "$ZNODE" ] || die "$ZNODE missing: run 'make' (or make bench-bus-idle)"
[ -x "$ZB" ] || die "$ZB missing: run 'make' (or make bench-bus-idle)"
has_flag "$ZNODE" --listen-bus || die "$ZNODE has no bus endpoint (--listen-bus)"
has_flag "$ZB" --bus || die "$ZB has no --bus mode"
help=$("$ZB" --bus --help 2>/dev/null) || true
[[ $help == *--idle-subscribers* ]] || die "$ZB --bus has no --idle-subscribers"

KEEP=${BUSIDLE_KEEP:-0}
dirs_make busidle
N=$((W < PRODUCERS ? W : PRODUCERS))

# run_one POINT ROUND: one fresh cluster, one load, its JSON (with the
# servers' CPU seconds over the load folded in) in $OUT/POINT-rROUND.json.
run_one() {
    local point=$1 r=$2 tag=$1-r$2 what pid cpu0 churn=()
    case $point in
        idle)  churn=(--idle-subscribers "$IDLE") ;;
        read)  churn=(--idle-subscribers "$IDLE" --reading-subscribers "$DROPPING"
                      --credit "$CREDIT") ;;
        churn) churn=(--idle-subscribers "$IDLE" --dropping-subscribers "$DROPPING"
                      --drop-every "$DROP_EVERY" --credit "$CREDIT") ;;
    esac
    what="$point (W=$W, round $r)"
    settle
    ports_take 9
    SRV_PIDS=() SRV_LOGS=()
    mkdir -p "$DATA/$tag"
    znodes_bus_start "$tag"
    echo "$ME: $what: 3 processes, $N producers, ${churn[*]:-no subscriber}, $ENDPOINTS" >&2
    cpu0=$(cpu_of "${SRV_PIDS[@]}")
    grouped "$ZB" --bus --endpoints "$ENDPOINTS" --inflight "$W" \
        --producers "$N" --payload-size $PAYLOAD --duration "$DUR" \
        --warmup "$WARM" --json --server-pids "$(IFS=,; echo "${SRV_PIDS[*]}")" \
        "${churn[@]}" >"$OUT/$tag.out" 2>"$OUT/$tag.err" &
    pid=$!
    LIVE+=("$pid")
    load_collect "$tag" "$what" "$pid" "$cpu0"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
for r in $(seq "$ROUNDS"); do
    order=("${POINTS[@]}")
    if [ $((r % 2)) = 0 ]; then
        order=()
        for ((i = ${#POINTS[@]} - 1; i >= 0; i--)); do order+=("${POINTS[$i]}"); done
    fi
    for point in "${order[@]}"; do
        run_one "$point" "$r"
    done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

set +e
BUSIDLE_META="started=$STARTED;sessions=$(sessions_desc);host=$(hostname);cpus=$(nproc);load_start=$LOAD_START;load_end=$LOAD_END;duration=$DUR;warmup=$WARM;rounds=$ROUNDS;inflight=$W;producers=$N;idle=$IDLE;dropping=$DROPPING;drop_every=$DROP_EVERY;credit=$CREDIT;payload=$PAYLOAD;points=${POINTS[*]};data=$BASE;disk=$(df -P "$BASE" | awk 'NR==2{print $1}')" \
"$PY" "$ROOT/bench/busidletable.py" "$OUT"
rc=$?
set -e
finish $rc "${BUSIDLE_STRICT:-0}"
