#!/usr/bin/env python3
"""bench/busidletable.py OUT - the table of bench/busidle.sh.

Reads the runs' JSON ($OUT/<point>-r<round>.json), the run order
($OUT/order.txt) and the run's description (BUSIDLE_META, key=value;...)
and writes the table to stdout and $OUT/table.txt, every figure to
$OUT/results.jsonl. Exit: 0, 10 if the target was missed (or is n/a), 1
if the figures cannot be read.
"""
import json
import os
import sys

import tables
from tables import num, mean, ratio

MIB = 1024.0


def rss(j, key):
    """The servers' memory figure key (start, end, hwm_end, anon_start,
    anon_end), MiB summed over the servers, or None."""
    vals = (j.get("servers_rss_kib") or {}).get(key)
    return sum(vals) / MIB if vals else None


def header(p, meta, order):
    p("zraft bus with idle and dropping subscribers - %s, %s, %s CPUs" %
      (meta["started"], meta["host"], meta["cpus"]))
    p("3 zraft-node processes (defaults, fsync on), 127.0.0.1, W=%s over %s "
      "producers on the leader, %s B messages, no consumer, %s s measured "
      "after %s s warm-up, data on %s (%s)" %
      (meta["inflight"], meta["producers"], meta["payload"],
       meta["duration"], meta["warmup"], meta["data"], meta["disk"]))
    p("idle: %s sessions subscribed with credit 0; read: those plus %s "
      "that read every message (credit %s); churn: the idle ones plus %s "
      "that read and close their socket without UNSUBSCRIBE, %s"
      % (meta["idle"], meta["dropping"], meta["credit"], meta["dropping"],
         "once each, spread over the window" if meta["drop_every"] == "0"
         else "every %s ms each (reconnecting at once)" % meta["drop_every"]))
    p("load average (1/5/15 min): %s at start, %s at end" %
      (meta["load_start"], meta["load_end"]))
    p("processes: %s" % meta["sessions"])
    p("run order: %s" % " ".join(order))
    p("")


def runs_table(p, runs, points, rounds):
    p("%-6s %5s %9s %7s %7s %7s %5s %5s %8s %5s %5s %6s %6s %6s %6s" %
      ("point", "round", "pub/s", "ack p50", "ack p99", "idle", "drops",
       "mid", "read dlv", "srv s", "bench", "rss0", "rss1", "peak",
       "anon1"))
    for pt in points:
        for r in range(1, rounds + 1):
            j = runs[(pt, r)]
            p("%-6s %5d %9.0f %7s %7s %7s %5s %5s %8s %5s %5s %6s %6s %6s %6s" %
              (pt, r, j["ops_per_s"],
               num(tables.lat(j, "p50"), "%.2f"),
               num(tables.lat(j, "p99"), "%.2f"),
               "%d/%d" % (j.get("idle_open", 0), j.get("idle_subscribers", 0))
               if j.get("idle_subscribers") else "-",
               j.get("disconnections", 0), j.get("mid_stream", 0),
               j.get("dropping_deliveries", 0)
               + j.get("reading_deliveries", 0),
               num(j.get("servers_cpu_s"), "%.1f"),
               num(j.get("bench_cpu_s"), "%.1f"),
               num(rss(j, "start"), "%.1f"), num(rss(j, "end"), "%.1f"),
               num(rss(j, "hwm_end"), "%.1f"), num(rss(j, "anon_end"), "%.1f")))
    p("(ack ms: publish -> acknowledgement; idle: open at the end / "
      "subscribed; drops: disconnections, mid: of them with deliveries "
      "flowing; read dlv: deliveries the dropping or reading ones took; "
      "srv s, bench: "
      "CPU seconds of the 3 servers and of zraft-bench over the load; rss0, "
      "rss1, peak, anon1: the 3 servers' VmRSS at the window's start, at "
      "the end, their peak (VmHWM) and RssAnon (heap, stacks) at the end, "
      "MiB summed)")


def means_table(p, runs, points, rounds):
    means = {}
    for pt in points:
        rs = [runs[(pt, r)] for r in range(1, rounds + 1)]
        means[pt] = {
            "ops_per_s": mean([j["ops_per_s"] for j in rs]),
            "p50": mean([tables.lat(j, "p50") for j in rs]),
            "p99": mean([tables.lat(j, "p99") for j in rs]),
            "srv_cpu": mean([j.get("servers_cpu_s") for j in rs]),
            "rss0": mean([rss(j, "start") for j in rs]),
            "rss1": mean([rss(j, "end") for j in rs]),
            "peak": mean([rss(j, "hwm_end") for j in rs]),
            "anon0": mean([rss(j, "anon_start") for j in rs]),
            "anon1": mean([rss(j, "anon_end") for j in rs])}
    p("")
    p("%-6s %9s %7s %7s %6s %7s %7s %7s %7s %7s %7s" %
      ("mean", "pub/s", "ack p50", "ack p99", "srv s", "rss0", "rss1",
       "peak", "anon0", "anon1", "growth"))
    for pt in points:
        m = means[pt]
        growth = None if m["rss1"] is None or m["rss0"] is None \
            else m["rss1"] - m["rss0"]
        p("%-6s %9.0f %7s %7s %6s %7s %7s %7s %7s %7s %7s" %
          (pt, m["ops_per_s"], num(m["p50"], "%.2f"), num(m["p99"], "%.2f"),
           num(m["srv_cpu"], "%.1f"), num(m["rss0"], "%.1f"),
           num(m["rss1"], "%.1f"), num(m["peak"], "%.1f"),
           num(m["anon0"], "%.1f"), num(m["anon1"], "%.1f"),
           num(growth, "%+.1f")))
    p("(MiB summed over the 3 servers; anon: RssAnon; growth: rss1 - rss0 "
      "over the measured window)")
    return means


def ratios(points, rounds, runs, means):
    """(label, value, per-round values, goal or None) of the ratios."""
    out = []
    for pt, of, goal in (("churn", "base", 0.9), ("idle", "base", None),
                         ("read", "base", None), ("churn", "read", None)):
        have = pt in points and of in points
        out.append(("%s / %s pub/s" % (pt, of),
                    ratio(means[pt]["ops_per_s"], means[of]["ops_per_s"])
                    if have else None,
                    [ratio(runs[(pt, r)]["ops_per_s"],
                           runs[(of, r)]["ops_per_s"]) if have else None
                     for r in range(1, rounds + 1)], goal))
    return out


def main():
    out = sys.argv[1]
    meta = tables.meta_of("BUSIDLE_META")
    rounds = int(meta["rounds"])
    points = meta["points"].split()
    order = tables.order_of(out)
    try:
        runs = {}
        for pt in points:
            for r in range(1, rounds + 1):
                with open(os.path.join(out, "%s-r%d.json" % (pt, r))) as f:
                    runs[(pt, r)] = json.loads(f.read())
    except (OSError, ValueError) as e:
        sys.exit("busidle: cannot read the figures: %s" % e)

    lines = []
    p = lines.append
    header(p, meta, order)
    runs_table(p, runs, points, rounds)
    means = means_table(p, runs, points, rounds)
    p("")
    p("%-22s %7s %s %9s  %s" % ("ratio (of the means)", "value",
                                " ".join("%7s" % ("r%d" % r)
                                         for r in range(1, rounds + 1)),
                                "wanted", "result"))
    missed = 0
    results = []
    for label, value, per, goal in ratios(points, rounds, runs, means):
        if goal is None:
            verdict = "-"
        elif value is None:
            verdict = "n/a"
        else:
            verdict = "met" if value >= goal else "MISSED"
        missed += verdict in ("n/a", "MISSED")
        results.append({"target": label, "value": value, "per_round": per,
                        "op": ">=", "goal": goal, "result": verdict})
        p("%-22s %7s %s %9s  %s" % (label, num(value, "%.2fx"),
                                    " ".join("%7s" % num(v, "%.2fx")
                                             for v in per),
                                    ">= %.1fx" % goal if goal else "-",
                                    verdict))
    p("NOTE: one run on a shared machine (2 vCPUs for the 3 servers and the "
      "load); see the load average above.")

    tables.finish(out, lines, meta, runs, results, missed)


if __name__ == "__main__":
    main()
