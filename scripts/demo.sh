#!/usr/bin/env bash
# demo.sh - the README's main command (make demo): a local three-server
# zraft-node cluster doing real work through zraft-ctl.
#
# Usage: scripts/demo.sh BUILD_DIR
#
# It starts three zraft-node processes on 127.0.0.1, writes keys through
# zraft-ctl while it kills the leader with SIGKILL, measures the fail-over
# (from the kill to the first write the new leader acknowledged), restarts
# the killed server, reads back every key whose write was acknowledged,
# and says whether anything acknowledged was lost. Between the two it
# loads the cluster with zraft-bench --kv for a few seconds. Exit 0 only if nothing
# was. DEMO_KEEP=1 keeps the data directories and logs.
set -euo pipefail
B=${1:?usage: scripts/demo.sh BUILD_DIR}
ME=demo
NODE=$B/bin/zraft-node
CTL=$B/bin/zraft-ctl
KEEP=${DEMO_KEEP:-0}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../bench/lib.sh
. "$here/../bench/lib.sh"
python_find
[ -x "$NODE" ] && [ -x "$CTL" ] || die "build $NODE and $CTL first (make bins)"

DATA=$(mktemp -d /tmp/zraft-demo.XXXXXX)
OUT=$DATA
traps_set

read -r -a pp <<<"$(free_ports)" || die "no free ports"
read -r -a cp <<<"$(free_ports)" || die "no free ports"
cluster="n1=tcp://127.0.0.1:${pp[0]},n2=tcp://127.0.0.1:${pp[1]},n3=tcp://127.0.0.1:${pp[2]}"
endpoints="tcp://127.0.0.1:${cp[0]},tcp://127.0.0.1:${cp[1]},tcp://127.0.0.1:${cp[2]}"
export ZRAFT_ENDPOINTS=$endpoints
declare -A PID

start() {                    # start NAME: one zraft-node in its own group
    local n=$1 i=$(( ${1#n} - 1 ))
    setsid "$NODE" --name "$n" --data-dir "$DATA/$n" \
        --listen-peer "tcp://127.0.0.1:${pp[$i]}" \
        --listen-client "tcp://127.0.0.1:${cp[$i]}" \
        --initial-cluster "$cluster" --heartbeat-interval 50 \
        --election-timeout 500 >>"$DATA/$n.log" 2>&1 &
    PID[$n]=$!
    LIVE+=("$!")
}
ctl() { "$CTL" --timeout 10000 "$@"; }
now_ms() { date +%s%3N; }
leader_name() {              # the name of the leader, from status -w json
    ctl -w json status | "$PY" -c '
import json, sys
nodes = json.load(sys.stdin)["nodes"]
print(next((n["name"] for n in nodes if n["role"] == "leader"), ""))'
}

for n in n1 n2 n3; do start "$n"; done
echo "demo: three zraft-node servers, peers $cluster"
echo "demo:   clients at $endpoints (logs in $DATA/n*.log)"

# Writes before the kill. Each acknowledged key is remembered with its value.
acked=$DATA/acked
: >"$acked"
t0=$(now_ms)
for i in $(seq 1 100); do
    if ctl put "key-$i" "value-$i" >/dev/null; then echo "key-$i value-$i" >>"$acked"; fi
done
t1=$(now_ms)
echo "demo: 100 puts through zraft-ctl (a process each) in $((t1 - t0)) ms"
ctl get key-42
echo "demo: 3 s of pipelined puts and gets (zraft-bench --kv, 256 in flight, 128 B values):"
"$B/bin/zraft-bench" --kv --endpoints "$endpoints" --inflight 256 --get-ratio 0.5 \
    --duration 3 --warmup 1 | sed 's/^/demo:   /'

old=$(leader_name)
[ -n "$old" ] || die "no leader"
echo "demo: the leader is $old; killing it (SIGKILL)"
kill -KILL "${PID[$old]}"
wait "${PID[$old]}" 2>/dev/null || true
forget "${PID[$old]}"
tk=$(now_ms)
first_ack=""
for i in $(seq 101 200); do
    if ctl put "key-$i" "value-$i" >/dev/null; then
        echo "key-$i value-$i" >>"$acked"
        [ -n "$first_ack" ] || first_ack=$(now_ms)
    fi
done
[ -n "$first_ack" ] || die "no write was acknowledged after the kill"
new=$(leader_name)
echo "demo: fail-over: $((first_ack - tk)) ms from the kill to the first write" \
     "acknowledged by the new leader ($new)"

echo "demo: restarting $old"
start "$old"
lost=0 n=0
while read -r k v; do
    n=$((n + 1))
    got=$(ctl get "$k" || true)
    if [ "$got" != "$v" ]; then lost=$((lost + 1)); echo "demo: LOST $k (read '$got')"; fi
done <"$acked"
ctl status
echo "demo: $n writes acknowledged, $((n - lost)) read back, $lost lost"
[ "$lost" -eq 0 ]
