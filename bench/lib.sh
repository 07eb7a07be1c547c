# bench/lib.sh - what bench/compare.sh and bench/snapcompare.sh share:
# process groups and their clean-up, free ports, waiting, one run of
# canonical/raft (3 raft-peer processes) and one of zraft-bench. Sourced,
# not run. The caller sets:
#   ME        prefix of every message ("compare")
#   PY        python3
#   PEER ZB   raft-peer and zraft-bench; ZMODE procs or inprocess (a
#             single run may override it: ZMODE=inprocess run_zraft ...)
#   OUT DATA  where JSON and logs go; the data dirs' parent (a mktemp dir)
#   DUR WARM STARTUP_S ENTRY   seconds measured, warm-up, slack; entry B
#   KEEP      1 to keep DATA at exit
# before calling the functions below. Sourcing only defines functions;
# traps_set installs the EXIT, INT and TERM traps once DATA exists.

# Every process started here is the leader of its own process group
# (grouped, below, execs in place: a background child of a script is no
# group leader), so a stop reaches whatever it spawned too.
LIVE=()
forget() {                   # forget PID: drop it from LIVE
    local keep=() p
    for p in "${LIVE[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    LIVE=("${keep[@]}")
}
alive() { kill -0 "$1" 2>/dev/null; }

# grouped CMD...: execs CMD as the leader of a process group of its own;
# run it as `grouped CMD... &`. BENCH_SESSIONS (usage_check checks it):
#   own     (default) in a session of its own (setsid), as a service
#           manager starts a server. With the kernel's autogroup
#           scheduling (/proc/sys/kernel/sched_autogroup_enabled, on in
#           Debian's kernels) each session is one scheduling group, and
#           busy groups share the CPUs equally: a 3-server cluster and
#           its load are four groups, each held to its share of the
#           CPUs while all four want more.
#   shared  in the script's session, one scheduling group for all
#           (setpgid only, by perl, which leaves signal dispositions and
#           the environment as they were): every thread of every
#           process competes alike, as in a single process.
# zraft-bench --procs (compare.sh, snapcompare.sh) starts its zraft-node
# servers itself, in its own session either way.
grouped() {
    if [ "${BENCH_SESSIONS:-own}" = shared ]; then
        exec perl -e 'setpgrp (0, 0); exec { $ARGV[0] } @ARGV
                      or die "exec $ARGV[0]: $!\n"' "$@"
    fi
    exec setsid "$@"
}
# sessions_desc [NOTE]: the line the tables print about it, and NOTE.
sessions_desc() {
    local ag
    case $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null) in
        1) ag="autogroup on: one scheduling group per session" ;;
        0) ag="autogroup off" ;;
        *) ag="no autogroup" ;;
    esac
    if [ "${BENCH_SESSIONS:-own}" = shared ]; then
        echo "all processes in one session (BENCH_SESSIONS=shared, $ag)${1:+, $1}"
    else
        echo "every server and load in a session of its own (BENCH_SESSIONS=own, $ag)${1:+, $1}"
    fi
}
stop() {                     # stop PID...: TERM the groups, then KILL
    local p
    for p in "$@"; do kill -TERM -- "-$p" 2>/dev/null || true; done
    for _ in $(seq 50); do
        local any=0
        for p in "$@"; do alive "$p" && any=1; done
        [ $any = 0 ] && break
        sleep 0.1
    done
    for p in "$@"; do
        if alive "$p"; then
            echo "$ME: pid $p ignored SIGTERM, killing" >&2
            kill -KILL -- "-$p" 2>/dev/null || true
        fi
        wait "$p" 2>/dev/null || true
        forget "$p"
    done
}
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ ${#LIVE[@]} -gt 0 ] && stop "${LIVE[@]}"
    if [ "${KEEP:-0}" = 1 ]; then
        echo "$ME: data kept in $DATA" >&2
    else
        rm -rf "$DATA"
    fi
    exit $rc
}
# Installs the traps: at exit stop what was started and remove DATA.
traps_set() {
    trap cleanup EXIT
    trap 'echo "$ME: interrupted" >&2; exit 130' INT TERM
}

tails() {                    # show the end of the logs of a failed run
    local f
    for f in "$@"; do
        [ -s "$f" ] || continue
        echo "--- $f" >&2
        tail -n 15 "$f" >&2
    done
}

# Three ports outside the ephemeral range, free right now.
free_ports() {
    "$PY" - <<'EOF'
import random, socket
for _ in range(200):
    ports = random.sample(range(20000, 32000), 3)
    socks = []
    try:
        for p in ports:
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(*ports)
    break
else:
    raise SystemExit("no free ports")
EOF
}

# ports_take N: N distinct free ports (N a multiple of 3) in PORTS,
# three by three from free_ports.
ports_take() {
    local all=() some
    while [ ${#all[@]} -lt "$1" ]; do
        read -r -a some <<<"$(free_ports)" || die "no free ports"
        [ ${#some[@]} = 3 ] || die "no free ports"
        all+=("${some[@]}")
    done
    [ "$(printf '%s\n' "${all[@]}" | sort -u | wc -l)" = "$1" ] || { ports_take "$1"; return; }
    PORTS=("${all[@]}")
}

# CPU seconds (user + system) of PIDS so far, summed; nan if one is gone.
cpu_of() {
    "$PY" - "$@" <<'EOF'
import os, sys
tick = os.sysconf("SC_CLK_TCK")
total = 0
for pid in sys.argv[1:]:
    try:
        with open("/proc/%s/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        print("nan")
        sys.exit(0)
print("%.2f" % (total / tick))
EOF
}

# srv_spawn TAG I CMD...: starts server I of run TAG, its own process
# group, stdout in $OUT/TAG.nI.out and stderr in $OUT/TAG.nI.err; adds
# it to SRV_PIDS, SRV_LOGS and LIVE.
srv_spawn() {
    local tag=$1 i=$2
    shift 2
    grouped "$@" >"$OUT/$tag.n$i.out" 2>"$OUT/$tag.n$i.err" &
    SRV_PIDS+=($!)
    LIVE+=($!)
    SRV_LOGS+=("$OUT/$tag.n$i.err")
}

# cluster_of SCHEME PORT...: "n1=SCHEME://127.0.0.1:PORT1,n2=..." for
# the peer ports given in order.
cluster_of() {
    local scheme=$1 i=0 p out=""
    shift
    for p in "$@"; do
        i=$((i + 1))
        out+="${out:+,}n$i=$scheme://127.0.0.1:$p"
    done
    echo "$out"
}

# znode_spawn TAG I PEER CLIENT CLUSTER [FLAG...]: zraft-node ($ZNODE)
# n<I> of run TAG with its defaults (fsync on), data in $DATA/TAG/nI,
# peer and client ports on 127.0.0.1, warnings and errors logged.
znode_spawn() {
    local tag=$1 i=$2 peer=$3 client=$4 cluster=$5
    shift 5
    srv_spawn "$tag" "$i" "$ZNODE" --name "n$i" --data-dir "$DATA/$tag/n$i" \
        --listen-peer "tcp://127.0.0.1:$peer" \
        --listen-client "tcp://127.0.0.1:$client" \
        --initial-cluster "$cluster" --log-level warning "$@"
}

# znodes_bus_start TAG: 3 zraft-node processes (znode_spawn) of run TAG
# with bus endpoints (--listen-bus), on the ports PORTS (ports_take 9
# first: clients 0..2, peers 3..5, bus 6..8); adds them to SRV_PIDS and
# SRV_LOGS, sets ENDPOINTS to their bus endpoints, comma separated.
znodes_bus_start() {
    local tag=$1 i eps=() cluster
    cluster=$(cluster_of tcp "${PORTS[@]:3:3}")
    for i in 1 2 3; do
        eps+=("tcp://127.0.0.1:${PORTS[$((i + 5))]}")
        znode_spawn "$tag" "$i" "${PORTS[$((i + 2))]}" "${PORTS[$((i - 1))]}" \
            "$cluster" --listen-bus "tcp://127.0.0.1:${PORTS[$((i + 5))]}"
    done
    ENDPOINTS=$(IFS=,; echo "${eps[*]}")
}

# Stops the servers of a run (SRV_PIDS, logs SRV_LOGS) with SIGTERM, as
# an operator would, then SIGKILL past GRACE_S (a leader that gets
# SIGTERM may try to hand over leadership first, which takes a while
# when its peers are stopping too: etcd ~8 s); the data is thrown away
# either way. Dies if one of them exited before.
GRACE_S=20
servers_stop() {
    local p any
    for p in "${SRV_PIDS[@]}"; do
        alive "$p" || { tails "${SRV_LOGS[@]}"; die "a server of the run exited early"; }
    done
    for p in "${SRV_PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
    for _ in $(seq $((GRACE_S * 10))); do
        any=0
        for p in "${SRV_PIDS[@]}"; do alive "$p" && any=1; done
        [ $any = 0 ] && break
        sleep 0.1
    done
    stop "${SRV_PIDS[@]}"        # reaps; KILLs (and says so) past the grace
}

# load_collect TAG WHAT PID CPU0: waits for the load PID (its output in
# $OUT/TAG.out and .err) at most DUR + WARM + STARTUP_S, stops the
# servers, and writes its last JSON line to $OUT/TAG.json with the
# servers' CPU seconds since CPU0 (cpu_of) and the run's tag folded in;
# appends TAG to $OUT/order.txt. Dies, with the logs' ends, if the load
# failed, took too long or printed no JSON.
load_collect() {
    local tag=$1 what=$2 pid=$3 cpu0=$4 cpu1
    wait_first $((SECONDS + DUR + WARM + STARTUP_S)) "$pid"
    if [ -z "$FIRST" ]; then
        stop "$pid"; tails "$OUT/$tag.err" "${SRV_LOGS[@]}"
        die "$what: no result within $((DUR + WARM + STARTUP_S)) s"
    fi
    if [ "$FIRST_RC" != 0 ]; then
        tails "$OUT/$tag.out" "$OUT/$tag.err" "${SRV_LOGS[@]}"
        die "$what: the load exited with $FIRST_RC"
    fi
    cpu1=$(cpu_of "${SRV_PIDS[@]}")
    servers_stop
    grep '^{' "$OUT/$tag.out" | tail -n 1 | "$PY" -c '
import json, sys
j = json.loads(sys.stdin.read())
a, b = sys.argv[1], sys.argv[2]
j["servers_cpu_s"] = None if "nan" in (a, b) else round(float(b) - float(a), 2)
j["run"] = sys.argv[3]
print(json.dumps(j, separators=(",", ":")))
' "$cpu0" "$cpu1" "$tag" >"$OUT/$tag.json" \
        || { tails "$OUT/$tag.out" "$OUT/$tag.err"; die "$what printed no JSON"; }
    echo "$tag" >>"$OUT/order.txt"
}

# Waits until one of PIDS exits or the deadline passes. Sets FIRST (pid
# that exited, empty on timeout) and FIRST_RC.
wait_first() {
    local deadline=$1; shift
    FIRST="" FIRST_RC=0
    while [ "$SECONDS" -lt "$deadline" ]; do
        local p
        for p in "$@"; do
            if ! alive "$p"; then
                FIRST=$p
                wait "$p" 2>/dev/null || FIRST_RC=$?
                forget "$p"
                return 0
            fi
        done
        sleep 0.1
    done
}

# Every run starts with the disk quiet: the dirty pages a previous run
# left (canonical/raft's log, a 4 KiB run's 100 MB/s) are written back
# first, not during the next run's fdatasyncs. Without it the run after
# canonical/raft measured 20-30% below the same run repeated later.
settle() { sync; }

# run_canonical TAG W [FLAG...]: 3 raft-peer processes with W in flight
# and ENTRY B entries, plus FLAGs; the leader's JSON in $OUT/TAG.json.
run_canonical() {
    local tag=$1 w=$2 ports i pids=() logs=()
    shift 2
    settle
    read -r -a ports <<<"$(free_ports)" || die "no free ports"
    [ ${#ports[@]} = 3 ] || die "no free ports"
    echo "$ME: canonical/raft W=$w${*:+ $*} (3 processes, ports ${ports[*]})" >&2
    for i in 1 2 3; do
        grouped "$PEER" --id $i --dir "$DATA/$tag/n$i" \
            --cluster "127.0.0.1:${ports[0]},${ports[1]},${ports[2]}" \
            --inflight "$w" --entry-size $ENTRY --duration "$DUR" \
            --warmup "$WARM" "$@" >"$OUT/$tag.n$i.out" 2>"$OUT/$tag.n$i.err" &
        pids+=($!)
        LIVE+=($!)
        logs+=("$OUT/$tag.n$i.err")
    done
    # The leader exits on its own after printing its figures.
    wait_first $((SECONDS + DUR + WARM + STARTUP_S)) "${pids[@]}"
    local first=$FIRST rc=$FIRST_RC rest=() p
    for p in "${pids[@]}"; do [ "$p" = "$first" ] || rest+=("$p"); done
    stop "${rest[@]}"
    if [ -z "$first" ]; then
        tails "${logs[@]}"
        die "canonical/raft W=$w: no result within $((DUR + WARM + STARTUP_S)) s"
    fi
    if [ "$rc" != 0 ]; then
        tails "${logs[@]}"
        die "canonical/raft W=$w: a peer exited with $rc"
    fi
    # The leader's line, with every node's line folded in as per_node.
    cat "$OUT/$tag".n?.out | "$PY" -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin if l.startswith("{")]
leader = [l for l in lines if "entries_per_s" in l]
if not leader:
    sys.exit(1)
out = leader[0]
out["per_node"] = sorted(({"id": l.get("id"), "role": l.get("role"),
                           "cpu_s": l.get("cpu_s"),
                           "rss_peak_mib": l.get("rss_peak_mib")}
                          for l in lines), key=lambda n: n["id"] or 0)
print(json.dumps(out, separators=(",", ":")))
' >"$OUT/$tag.json" || { tails "${logs[@]}"; die "canonical/raft W=$w printed no figures"; }
}

# run_zraft TAG NODES W ENTRY [FLAG...]: zraft-bench with NODES servers,
# W in flight and ENTRY B entries, plus FLAGs; its JSON in $OUT/TAG.json.
# ZMODE=procs: NODES zraft-node processes loaded through the client
# protocol (ENTRY B values); inprocess: threads of zraft-bench, loaded
# through the library's API (ENTRY B entries).
run_zraft() {
    local tag=$1 nodes=$2 w=$3 entry=$4 args what
    shift 4
    settle
    args=(--nodes "$nodes" --json --inflight "$w" --entry-size "$entry"
          --duration "$DUR" --warmup "$WARM" --dir "$DATA/$tag" "$@")
    [ "$ZMODE" = procs ] && args=(--procs "${args[@]}")
    what="zraft W=$w, $nodes nodes, $entry B${*:+ $*}"
    mkdir -p "$DATA/$tag"
    echo "$ME: $what ($([ "$ZMODE" = procs ] \
        && echo "$nodes zraft-node processes" || echo "in-process"))" >&2
    grouped "$ZB" "${args[@]}" >"$OUT/$tag.out" 2>"$OUT/$tag.err" &
    local pid=$!
    LIVE+=("$pid")
    wait_first $((SECONDS + DUR + WARM + STARTUP_S)) "$pid"
    if [ -z "$FIRST" ]; then
        stop "$pid"; tails "$OUT/$tag.err"
        die "$what: no result within $((DUR + WARM + STARTUP_S)) s"
    fi
    if [ "$FIRST_RC" != 0 ]; then
        tails "$OUT/$tag.out" "$OUT/$tag.err"
        die "$what: zraft-bench exited with $FIRST_RC"
    fi
    grep '^{' "$OUT/$tag.out" | tail -n 1 >"$OUT/$tag.json" || true
    [ -s "$OUT/$tag.json" ] || { tails "$OUT/$tag.err"; die "$what printed no JSON"; }
}


usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

# usage_check "$@": the script's one argument is BUILD_DIR; --help prints
# the header and exits 0, a wrong count exits 64.
usage_check() {
    if [ $# -ne 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
        if [ $# -eq 1 ]; then usage; exit 0; fi
        usage >&2; exit 64
    fi
    case ${BENCH_SESSIONS:-own} in
        own | shared) ;;
        *) bad_env "BENCH_SESSIONS: '$BENCH_SESSIONS' is neither own nor shared" ;;
    esac
}

die() { echo "$ME: $*" >&2; exit 1; }
bad_env() { echo "$ME: $*" >&2; exit 64; }

# Sets PY to a python3, or dies.
python_find() {
    PY=""
    local p
    for p in /usr/bin/python3 "$(command -v python3 || true)"; do
        [ -n "$p" ] && [ -x "$p" ] && { PY=$p; break; }
    done
    [ -n "$PY" ] || die "python3 is needed to read the JSON figures"
}

# finish RC STRICT: what the table's python exit RC means; 10 = a target
# missed, which exits 2 when STRICT is 1.
finish() {
    case $1 in
        0)  ;;
        10) if [ "$2" = 1 ]; then
                echo "$ME: a target was missed" >&2; exit 2
            fi ;;
        *)  die "could not produce the table (python exit $1)" ;;
    esac
    echo "$ME: raw JSON, logs and table.txt in $OUT" >&2
}

# int_check NAME VALUE MIN [MAX]: VALUE must be an integer in MIN..MAX,
# or the script exits 64 naming NAME.
int_check() {
    local range=">= $3"
    [ $# -lt 4 ] || range="in $3..$4"
    if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -lt "$3" ] \
        || { [ $# -ge 4 ] && [ "$2" -gt "$4" ]; }; then
        bad_env "$1 must be an integer $range (got '$2')"
    fi
}

# dirs_make NAME: makes OUT (absolute from now on) and empties it of a
# previous run's figures, makes DATA = BASE/zraft-NAME.XXXXXX, sets the
# traps that remove it.
dirs_make() {
    mkdir -p "$OUT" || die "cannot create $OUT"
    OUT=$(cd "$OUT" && pwd)
    rm -f "$OUT"/*.json "$OUT"/*.out "$OUT"/*.err "$OUT"/results.jsonl \
          "$OUT"/*.txt
    mkdir -p "$BASE" || die "cannot create $BASE"
    DATA=$(mktemp -d "$BASE/zraft-$1.XXXXXX") || die "mktemp in $BASE failed"
    traps_set
}

# has_flag BIN FLAG: true if BIN --help mentions FLAG. The help is read
# whole: `BIN --help | grep -q` under pipefail fails whenever grep exits
# before BIN finished writing (SIGPIPE), which made compare.sh run zraft
# in-process although it has --procs.
has_flag() {
    local help
    help=$("$1" --help 2>/dev/null) || true
    [[ $help == *"$2"* ]]
}
