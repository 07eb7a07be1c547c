#!/usr/bin/env bash
# bench/snapdrill.sh BUILD_DIR - restart from a big snapshot, and
# InstallSnapshot throughput, against what this disk reads and writes.
#
#   1. restart: zraft-bench --drill restart (3 nodes, in-process) with a
#      state machine of SNAPDRILL_STATE bytes: every server snapshots it,
#      the cluster commits SNAPDRILL_ENTRIES more entries (no further
#      snapshot: --snapshot-entries 2^32-1 --snapshot-bytes 0), a
#      follower is stopped, the page cache dropped (as root), and the
#      follower restarted: the time until zraft_new returns and until it
#      applied the leader's commit index ("back and serving");
#   2. the disk's sequential read speed on that follower's snapshot file:
#      after dropping the page cache, `dd bs=4M` buffered (how zraft
#      reads it) and with iflag=direct;
#   3. install: zraft-bench --drill install: a follower cut off while
#      SNAPDRILL_INSTALL_ENTRIES entries commit and every server
#      snapshots, then healed: the time until it installed the leader's
#      snapshot (MB/s of state) and until it caught up;
#   4. the disk's write speed: dd of the same size, oflag=direct,
#      conv=fdatasync, next to the data dirs.
# Then a table with the target of the issue: restart serving within
# 2 s + snapshot size / read speed.
#
# Environment:
#   SNAPDRILL_STATE    state machine padding, bytes (default 1 GiB; 256 MiB
#                      when the data disk has less than 12 GiB free)
#   SNAPDRILL_ENTRIES  entries after the snapshot, restart drill (1000000)
#   SNAPDRILL_INSTALL_ENTRIES  entries while cut off, install drill (100000)
#   SNAPDRILL_OUT      where the JSON, logs and table go ($B/snapdrill)
#   SNAPDRILL_DIR      parent of the data dirs (default /tmp)
#
# Needs root to drop the page cache (without it the restart reads the
# snapshot from memory, and the table says so). Exit: 0 all ran, 1 a
# step failed, 64 usage.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ME=snapdrill
. "$ROOT/bench/lib.sh"
usage_check "$@"
B=${1%/}
ZB=$B/bin/zraft-bench
OUT=${SNAPDRILL_OUT:-$B/snapdrill}
BASE=${SNAPDRILL_DIR:-/tmp}
ENTRIES=${SNAPDRILL_ENTRIES:-1000000}
IENTRIES=${SNAPDRILL_INSTALL_ENTRIES:-100000}

[ -x "$ZB" ] || die "$ZB missing: run 'make'"
has_flag "$ZB" '--drill ' || die "$ZB has no --drill flag"
mkdir -p "$BASE" || die "cannot create $BASE"
python_find
free_kib=$(df -Pk "$BASE" | awk 'NR==2{print $4}')
if [ -z "${SNAPDRILL_STATE:-}" ]; then
    STATE=$((1 << 30))
    [ "$free_kib" -ge $((12 << 20)) ] || STATE=$((256 << 20))
else
    STATE=$SNAPDRILL_STATE
fi
int_check SNAPDRILL_STATE "$STATE" 0 68719476736
int_check SNAPDRILL_ENTRIES "$ENTRIES" 1
int_check SNAPDRILL_INSTALL_ENTRIES "$IENTRIES" 1
KEEP=0
dirs_make snapdrill

can_drop=0
[ -w /proc/sys/vm/drop_caches ] && can_drop=1
drop() { sync; [ $can_drop = 1 ] && echo 3 >/proc/sys/vm/drop_caches; true; }

# dd's closing line "N bytes (...) copied, S s, R MB/s" -> "N S"
dd_figures() { awk '/copied/ {print $1, $(NF-3)}'; }

COMMON=(--nodes 3 --inflight 256 --state-bytes "$STATE"
        --snapshot-entries 4294967295 --snapshot-bytes 0 --json)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

echo "snapdrill: restart, state $STATE B, $ENTRIES entries after it" >&2
drop
drops=()
[ $can_drop = 1 ] && drops=(--drop-caches)
"$ZB" "${COMMON[@]}" --drill restart --drill-entries "$ENTRIES" \
    "${drops[@]}" --keep --dir "$DATA/restart" \
    >"$OUT/restart.json" 2>"$OUT/restart.err" \
    || { tail -n 20 "$OUT/restart.err" >&2; die "restart drill failed"; }
follower=$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["follower"])' \
           <"$OUT/restart.json")
snap=$(find "$DATA/restart/n$follower" -name 'snap-*.zsnap' | sort | tail -n 1)
[ -n "$snap" ] || die "no snapshot file under $DATA/restart/n$follower"
snap_bytes=$(stat -c %s "$snap")
echo "snapdrill: read speed of $snap ($snap_bytes B)" >&2
drop
read -r rb rs < <(dd if="$snap" of=/dev/null bs=4M 2>&1 | dd_figures)
drop
read -r db ds < <(dd if="$snap" of=/dev/null bs=4M iflag=direct 2>&1 | dd_figures)
rm -rf "$DATA/restart"

echo "snapdrill: install, state $STATE B, $IENTRIES entries while cut off" >&2
drop
"$ZB" "${COMMON[@]}" --drill install --drill-entries "$IENTRIES" \
    --dir "$DATA/install" >"$OUT/install.json" 2>"$OUT/install.err" \
    || { tail -n 20 "$OUT/install.err" >&2; die "install drill failed"; }

echo "snapdrill: write speed, $snap_bytes B, O_DIRECT + fdatasync" >&2
drop
read -r wb ws < <(dd if=/dev/zero of="$DATA/dd.out" bs=4M \
                     count=$(((snap_bytes + (4 << 20) - 1) >> 22)) \
                     oflag=direct conv=fdatasync 2>&1 | dd_figures)
rm -f "$DATA/dd.out"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

"$PY" - "$OUT" <<EOF
import json, os
out = "$OUT"
r = json.load(open(os.path.join(out, "restart.json")))
i = json.load(open(os.path.join(out, "install.json")))
snap, rb, rs, db, ds, wb, ws = ($snap_bytes, $rb, $rs, $db, $ds, $wb, $ws)
read_mb, direct_mb, write_mb = rb / rs / 1e6, db / ds / 1e6, wb / ws / 1e6
budget = 2.0 + snap / (read_mb * 1e6)
L = []
p = L.append
p("snapshot drills - $STARTED, $(hostname), $(nproc) CPUs, data on $BASE"
  " ($(df -P "$BASE" | awk 'NR==2{print $1}'))")
p("load average (1/5/15 min): $LOAD_START at start, $LOAD_END at end;"
  " page cache dropped: %s" % ("yes" if $can_drop else "NO (not root)"))
p("")
p("restart (3 nodes in-process, state %d B, snapshot file %d B, %d entries"
  " after it)" % (r["state_bytes"], snap, r["entries"]))
p("  snapshot taken by every server          %8.3f s" % r["snapshot_take_s"])
p("  zraft_new returned                      %8.3f s" % r["new_s"])
p("  restore began / took (copy + checksum)  %8.3f s / %.3f s" %
  (r["restore_at_s"], r["restore_s"]))
p("  applied the leader's commit %-10d  %8.3f s   (back and serving)" %
  (r["target"], r["serving_s"]))
p("  disk read, buffered after drop_caches   %8.1f MB/s (%.3f s)" %
  (read_mb, rs))
p("  disk read, O_DIRECT 4 MiB               %8.1f MB/s (%.3f s)" %
  (direct_mb, ds))
p("  target: 2 s + %d B / %.1f MB/s = %.3f s; measured %.3f s = %.2fx:"
  " %s" % (snap, read_mb, budget, r["serving_s"], r["serving_s"] / budget,
           "met" if r["serving_s"] <= budget else "MISSED"))
p("")
p("install (follower cut off during %d entries, then healed; chunks %d B)" %
  (i["entries"], i["chunk_bytes"]))
p("  snapshot installed                      %8.3f s = %.1f MB/s of state"
  % (i["installed_s"], i["install_mb_per_s"]))
p("  applied the leader's commit %-10d  %8.3f s" % (i["target"],
                                                    i["serving_s"]))
p("  disk write, O_DIRECT + fdatasync 4 MiB  %8.1f MB/s (%.3f s);"
  " install / write = %.2fx" % (write_mb, ws, i["install_mb_per_s"] / write_mb))
t = "\n".join(L) + "\n"
print(t, end="")
open(os.path.join(out, "table.txt"), "w").write(t)
EOF
echo "snapdrill: JSON, logs and table.txt in $OUT" >&2
