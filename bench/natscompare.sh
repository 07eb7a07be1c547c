#!/usr/bin/env bash
# bench/natscompare.sh BUILD_DIR - the zraft bus vs NATS JetStream 2.9
# (Debian's nats-server), in ONE run on this machine, as a user of either
# sees it: a replicated, file-backed stream of 3 servers on 127.0.0.1,
# each its own process with its data dir on the same disk, 128 B
# messages, published with W in flight, read by C consumers.
#
#   nats   3 `nats-server` processes in a JetStream cluster, defaults for
#          everything that touches durability or batching: a stream of 3
#          replicas in file storage ("bench.>"). JetStream ACKNOWLEDGES A
#          PUBLISH ONCE A QUORUM HOLDS IT, BEFORE ANY FSYNC: its file
#          store fsyncs every 2 minutes by default (sync_interval; 2.9.10
#          rejects that option, so it cannot be made to fsync each
#          write). The load is bench/peers/nats-load (the NATS Go client,
#          built by `make bench-nats-peer`): N producers on the stream
#          leader's server, W async publishes in flight with a Nats-Msg-Id
#          each (deduplication), C ordered consumers over the servers.
#   zraft  3 `zraft-node` processes (their defaults; fsync on: zraft
#          ACKNOWLEDGES A PUBLISH AFTER A QUORUM FSYNCED IT), their bus
#          endpoints loaded by `zraft-bench --bus`: N producers on the
#          leader, W publishes in flight, each with a producer id and seq
#          (deduplication), a producer's ready publications sent as one
#          PUBLISH run and acknowledged in ACK runs (docs/PROTOCOL.md, B3:
#          as the NATS client buffers its async publishes into one
#          write), C consumers over the servers (followers serve
#          subscriptions too).
#
# Points (each on a fresh cluster): pub W=256 and pub W=1 (no consumer),
# sub W=256 and sub W=1 (C consumers, each reading the whole stream;
# publish->deliver latency from the publish call to the consumer).
# N = min(W, PRODUCERS). Every run waits until each consumer received
# every message the stream holds (or fails). Runs go in rounds; odd
# rounds run nats before zraft at each point, even rounds zraft first.
#
# The table gives every run, the means per system and point, and the
# ratios of the means with the targets (issue 11):
#     pub W=256 publishes/s   zraft / nats                      >= 3.0
#     pub W=1   ack p50       zraft / nats                      <= 1.0
#     zraft: W=256 publishes/s with C consumers / without them  >= 0.8
#
# Environment:
#   NATSCOMPARE_DURATION   measured seconds per run, integer (default 10)
#   NATSCOMPARE_WARMUP     warm-up seconds per run, integer (default 1)
#   NATSCOMPARE_ROUNDS     rounds, 1..10 (default 2)
#   NATSCOMPARE_PRODUCERS  producers (connections) at most, 1..256 (default 16)
#   NATSCOMPARE_CONSUMERS  consumers of the sub points, 1..256 (default 10)
#   NATSCOMPARE_POINTS     which points, any of "pub256 pub1 sub256 sub1"
#                          (default all four; a target whose points are
#                          left out is n/a)
#   NATSCOMPARE_SIDES      "nats zraft" (default), or one of them
#   NATSCOMPARE_OUT        where raw JSON, logs and the table go
#                          ($B/natscompare)
#   NATSCOMPARE_DIR        parent of the data dirs (default /tmp)
#   NATSCOMPARE_KEEP=1     keep the data dirs
#   NATSCOMPARE_STRICT=1   exit 2 when a target is missed
#   BENCH_SESSIONS         own (default): every server and load in a session
#                          of its own, or shared: all in the script's (bench/lib.sh,
#                          grouped: how the kernel's autogroup shares the CPUs)
#   NATSCOMPARE_NATS_SCHED normal (default: the class the script runs in)
#                          or batch: nats-server under `chrt -b 0`
#                          (SCHED_BATCH), the class zraft-node puts itself
#                          in by default (--sched), to compare both in it
#   NATS_SERVER            the nats-server binary (default: on PATH)
#
# Exit: 0 all ran (targets are reported, not enforced unless STRICT),
# 1 a component failed, 2 a target missed under NATSCOMPARE_STRICT,
# 64 usage.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ME=natscompare
. "$ROOT/bench/lib.sh"
usage_check "$@"
B=${1%/}
DUR=${NATSCOMPARE_DURATION:-10}
WARM=${NATSCOMPARE_WARMUP:-1}
ROUNDS=${NATSCOMPARE_ROUNDS:-2}
PRODUCERS=${NATSCOMPARE_PRODUCERS:-16}
CONSUMERS=${NATSCOMPARE_CONSUMERS:-10}
SIDES=${NATSCOMPARE_SIDES:-nats zraft}
NATS_SCHED=${NATSCOMPARE_NATS_SCHED:-normal}
OUT=${NATSCOMPARE_OUT:-$B/natscompare}
BASE=${NATSCOMPARE_DIR:-/tmp}
STARTUP_S=90                 # cluster start, election, drain, shutdown
PAYLOAD=128
read -r -a POINTS <<<"${NATSCOMPARE_POINTS:-pub256 pub1 sub256 sub1}"

int_check NATSCOMPARE_DURATION "$DUR" 1
int_check NATSCOMPARE_WARMUP "$WARM" 0
int_check NATSCOMPARE_ROUNDS "$ROUNDS" 1 10
int_check NATSCOMPARE_PRODUCERS "$PRODUCERS" 1 256
int_check NATSCOMPARE_CONSUMERS "$CONSUMERS" 1 256
case $SIDES in
    "nats zraft"|"zraft nats"|nats|zraft) ;;
    *) bad_env "NATSCOMPARE_SIDES must be 'nats zraft', 'nats' or 'zraft' (got '$SIDES')" ;;
esac
[ ${#POINTS[@]} -gt 0 ] || bad_env "NATSCOMPARE_POINTS is empty"
for p in "${POINTS[@]}"; do
    case $p in
        pub256|pub1|sub256|sub1) ;;
        *) bad_env "NATSCOMPARE_POINTS: '$p' is none of pub256 pub1 sub256 sub1" ;;
    esac
done
side_on() { [[ " $SIDES " == *" $1 "* ]]; }

python_find

LOADER=$B/bench/nats-load
ZB=$B/bin/zraft-bench
ZNODE=$B/bin/zraft-node
NATS_SERVER=${NATS_SERVER:-$(command -v nats-server || true)}
if side_on nats; then
    [ -n "$NATS_SERVER" ] && [ -x "$NATS_SERVER" ] \
        || die "nats-server missing: run 'scripts/install-deps.sh --bench' (Debian nats-server)"
    [ -x "$LOADER" ] || die "$LOADER missing: run 'make bench-nats-peer' (or make bench-nats)"
fi
case $NATS_SCHED in
    normal) NATS_PREFIX=() ;;
    batch) NATS_PREFIX=(chrt -b 0) ;;
    *) bad_env "NATSCOMPARE_NATS_SCHED: '$NATS_SCHED' is neither normal nor batch" ;;
esac
if side_on zraft; then
    [ -x "$ZNODE" ] || die "$ZNODE missing: run 'make' (or make bench-nats)"
    [ -x "$ZB" ] || die "$ZB missing: run 'make' (or make bench-nats)"
    has_flag "$ZB" --bus || die "$ZB has no --bus mode"
    has_flag "$ZNODE" --listen-bus || die "$ZNODE has no bus endpoint (--listen-bus)"
fi

KEEP=${NATSCOMPARE_KEEP:-0}
dirs_make natscompare

# nats_conf I DIR: the configuration file of server n<I> (ports from
# PORTS: clients 0..2, routes 3..5).
nats_conf() {
    local i=$1 dir=$2 routes="" j
    for j in 1 2 3; do
        routes+="${routes:+, }nats-route://127.0.0.1:${PORTS[$((j + 2))]}"
    done
    cat <<EOF
server_name: n$i
listen: 127.0.0.1:${PORTS[$((i - 1))]}
jetstream { store_dir: "$dir/n$i" }
cluster {
  name: natscompare
  listen: 127.0.0.1:${PORTS[$((i + 2))]}
  routes: [ $routes ]
}
EOF
}

# servers_start SYSTEM TAG: 3 servers of SYSTEM (nats or zraft) on fresh
# ports and data dirs; sets SRV_PIDS, SRV_LOGS and ENDPOINTS (the nats
# client URLs, or the zraft bus endpoints).
servers_start() {
    local sys=$1 tag=$2 i eps=()
    ports_take 9
    SRV_PIDS=() SRV_LOGS=()
    mkdir -p "$DATA/$tag"
    if [ "$sys" = zraft ]; then
        znodes_bus_start "$tag"
        return
    fi
    for i in 1 2 3; do
        nats_conf "$i" "$DATA/$tag" >"$DATA/$tag/n$i.conf"
        eps+=("nats://127.0.0.1:${PORTS[$((i - 1))]}")
        srv_spawn "$tag" "$i" ${NATS_PREFIX[@]+"${NATS_PREFIX[@]}"} \
            "$NATS_SERVER" \
            -c "$DATA/$tag/n$i.conf"
    done
    ENDPOINTS=$(IFS=,; echo "${eps[*]}")
}

# run_one SYSTEM POINT ROUND: one fresh cluster, one load, its JSON (with
# the servers' CPU seconds over the load folded in) in $OUT/TAG.json.
run_one() {
    local sys=$1 point=$2 r=$3 tag what n pid cpu0 w c=0
    w=${point#pub}; w=${w#sub}
    [[ $point == sub* ]] && c=$CONSUMERS
    tag=$sys-$point-r$r
    n=$((w < PRODUCERS ? w : PRODUCERS))
    what="$sys $point (W=$w, C=$c, round $r)"
    settle
    servers_start "$sys" "$tag"
    echo "$ME: $what: 3 processes, $n producers, $ENDPOINTS" >&2
    cpu0=$(cpu_of "${SRV_PIDS[@]}")
    if [ "$sys" = nats ]; then
        grouped "$LOADER" --servers "$ENDPOINTS" --inflight "$w" \
            --producers "$n" --consumers "$c" --payload-size $PAYLOAD \
            --duration "$DUR" --warmup "$WARM" --json \
            >"$OUT/$tag.out" 2>"$OUT/$tag.err" &
    else
        grouped "$ZB" --bus --endpoints "$ENDPOINTS" --inflight "$w" \
            --producers "$n" --consumers "$c" --payload-size $PAYLOAD \
            --duration "$DUR" --warmup "$WARM" --json \
            --server-pids "$(IFS=,; echo "${SRV_PIDS[*]}")" \
            >"$OUT/$tag.out" 2>"$OUT/$tag.err" &
    fi
    pid=$!
    LIVE+=("$pid")
    load_collect "$tag" "$what" "$pid" "$cpu0"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
NATS_VERSION=$( { [ -n "$NATS_SERVER" ] && "$NATS_SERVER" --version 2>/dev/null | awk '{print $2}'; } || true)
for r in $(seq "$ROUNDS"); do
    systems=(nats zraft)
    [ $((r % 2)) = 0 ] && systems=(zraft nats)
    for point in "${POINTS[@]}"; do
        for s in "${systems[@]}"; do
            side_on "$s" && run_one "$s" "$point" "$r"
        done
    done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

set +e
NATSCOMPARE_META="started=$STARTED;sessions=$(sessions_desc);host=$(hostname);cpus=$(nproc);load_start=$LOAD_START;load_end=$LOAD_END;duration=$DUR;warmup=$WARM;rounds=$ROUNDS;producers=$PRODUCERS;consumers=$CONSUMERS;payload=$PAYLOAD;sides=$SIDES;points=${POINTS[*]};nats_sched=$NATS_SCHED;nats_version=${NATS_VERSION:-?};data=$BASE;disk=$(df -P "$BASE" | awk 'NR==2{print $1}')" \
"$PY" "$ROOT/bench/natstable.py" "$OUT"
rc=$?
set -e
finish $rc "${NATSCOMPARE_STRICT:-0}"
