#!/usr/bin/env python3
"""bench/natstable.py OUT - the table of bench/natscompare.sh.

Reads the runs' JSON ($OUT/<system>-<point>-r<round>.json), the run order
($OUT/order.txt) and the run's description (NATSCOMPARE_META, key=value;
...) and writes the table to stdout and $OUT/table.txt, every figure to
$OUT/results.jsonl. Exit: 0, 10 if a target was missed (or is n/a), 1 if
the figures cannot be read.
"""
import json
import os
import sys

import tables
from tables import num, mean, ratio

POINTS = {"pub256": (256, False), "pub1": (1, False),
          "sub256": (256, True), "sub1": (1, True)}


def lat(j, group, key):
    return tables.lat(j, key, group)


def header(p, meta, order):
    p("zraft bus vs NATS JetStream %s - %s, %s, %s CPUs" %
      (meta["nats_version"], meta["started"], meta["host"], meta["cpus"]))
    p("3 servers, one process each, 127.0.0.1, %s B messages, %s s measured "
      "after %s s warm-up, data on %s (%s)" %
      (meta["payload"], meta["duration"], meta["warmup"], meta["data"],
       meta["disk"]))
    p("nats: 3-replica file stream, defaults%s; it ACKNOWLEDGES BEFORE ANY "
      "FSYNC (file store synced every 2 min)." %
      (", run in SCHED_BATCH (chrt -b)"
       if meta.get("nats_sched") == "batch" else ""))
    p("zraft: zraft-node defaults (since 2026-12-07 --sched batch: "
      "SCHED_BATCH); it ACKNOWLEDGES AFTER A QUORUM'S FSYNC.")
    p("both: producers on the leader, min(W, %s) of them, a dedup id per "
      "message; sub points: %s consumers over the 3 servers, each reading "
      "every message" % (meta["producers"], meta["consumers"]))
    p("load average (1/5/15 min): %s at start, %s at end" %
      (meta["load_start"], meta["load_end"]))
    p("processes: %s" % meta["sessions"])
    p("run order: %s" % " ".join(order))
    p("")


def runs_table(p, runs, sides, points, rounds):
    p("%-6s %-6s %5s %5s %10s %8s %8s %8s %8s %8s" %
      ("system", "point", "C", "round", "pub/s", "ack p50", "ack p99",
       "dlv p50", "dlv p99", "cpu s"))
    for pt in points:
        for s in sides:
            for r in range(1, rounds + 1):
                j = runs[(s, pt, r)]
                p("%-6s %-6s %5d %5d %10.0f %8s %8s %8s %8s %8s" %
                  (s, pt, j.get("consumers", 0), r, j["ops_per_s"],
                   num(lat(j, "latency_ms", "p50")),
                   num(lat(j, "latency_ms", "p99")),
                   num(lat(j, "deliver_ms", "p50")),
                   num(lat(j, "deliver_ms", "p99")),
                   num(j.get("servers_cpu_s"), "%.2f")))
    p("(ms; ack: publish -> acknowledgement; dlv: publish -> a consumer "
      "received it; cpu s: user+system CPU of the 3 servers over the load)")


def means_table(p, runs, sides, points, rounds):
    means = {}
    for s in sides:
        for pt in points:
            rs = [runs[(s, pt, r)] for r in range(1, rounds + 1)]
            means[(s, pt)] = {
                "ops_per_s": mean([j["ops_per_s"] for j in rs]),
                "p50": mean([lat(j, "latency_ms", "p50") for j in rs]),
                "p99": mean([lat(j, "latency_ms", "p99") for j in rs]),
                "dlv_p50": mean([lat(j, "deliver_ms", "p50") for j in rs]),
                "dlv_p99": mean([lat(j, "deliver_ms", "p99") for j in rs])}
    p("")
    p("%-6s %-6s %10s %8s %8s %8s %8s" % ("mean", "point", "pub/s",
                                          "ack p50", "ack p99", "dlv p50",
                                          "dlv p99"))
    for pt in points:
        for s in sides:
            m = means[(s, pt)]
            p("%-6s %-6s %10.0f %8s %8s %8s %8s" %
              (s, pt, m["ops_per_s"], num(m["p50"]), num(m["p99"]),
               num(m["dlv_p50"]), num(m["dlv_p99"])))
    return means


def targets(sides, points, rounds, runs, means):
    """(label, value, per-round values, how, goal) for each target."""
    both = "nats" in sides and "zraft" in sides
    per_round = range(1, rounds + 1)
    out = []

    def cross(label, pt, key, get, how, goal):
        if pt not in points or not both:
            return out.append((label, None, [None] * rounds, how, goal))
        out.append((label,
                    ratio(means[("zraft", pt)][key], means[("nats", pt)][key]),
                    [ratio(get(runs[("zraft", pt, r)]),
                           get(runs[("nats", pt, r)])) for r in per_round],
                    how, goal))

    cross("pub W=256 pub/s, zraft / nats", "pub256", "ops_per_s",
          lambda j: j["ops_per_s"], ">=", 3.0)
    cross("pub W=1 ack p50, zraft / nats", "pub1", "p50",
          lambda j: lat(j, "latency_ms", "p50"), "<=", 1.0)
    have = "pub256" in points and "sub256" in points and "zraft" in sides
    out.append(("zraft W=256 pub/s, C / none",
                ratio(means[("zraft", "sub256")]["ops_per_s"],
                      means[("zraft", "pub256")]["ops_per_s"]) if have else None,
                [ratio(runs[("zraft", "sub256", r)]["ops_per_s"],
                       runs[("zraft", "pub256", r)]["ops_per_s"])
                 if have else None for r in per_round], ">=", 0.8))
    return out


def informative(p, sides, points, means):
    """Figures beside the targets, not judged."""
    lines = []
    if "nats" in sides and "pub256" in points and "sub256" in points:
        lines.append("nats W=256 pub/s, C / none: %s" % num(
            ratio(means[("nats", "sub256")]["ops_per_s"],
                  means[("nats", "pub256")]["ops_per_s"]), "%.2fx"))
    if "nats" in sides and "zraft" in sides:
        for pt in ("sub1", "sub256"):
            if pt in points:
                lines.append("%s dlv p50, zraft / nats: %s" % (pt, num(
                    ratio(means[("zraft", pt)]["dlv_p50"],
                          means[("nats", pt)]["dlv_p50"]), "%.2fx")))
    if lines:
        p("also: " + "; ".join(lines))


def main():
    out = sys.argv[1]
    meta = tables.meta_of("NATSCOMPARE_META")
    rounds = int(meta["rounds"])
    sides = meta["sides"].split()
    points = meta["points"].split()
    order = tables.order_of(out)
    try:
        runs = {}
        for s in sides:
            for pt in points:
                for r in range(1, rounds + 1):
                    path = os.path.join(out, "%s-%s-r%d.json" % (s, pt, r))
                    with open(path) as f:
                        runs[(s, pt, r)] = json.loads(f.read())
    except (OSError, ValueError) as e:
        sys.exit("natscompare: cannot read the figures: %s" % e)

    lines = []
    p = lines.append
    header(p, meta, order)
    runs_table(p, runs, sides, points, rounds)
    means = means_table(p, runs, sides, points, rounds)
    p("")
    p("%-30s %7s %s %9s  %s" % ("ratio (of the means)", "value",
                                " ".join("%7s" % ("r%d" % r)
                                         for r in range(1, rounds + 1)),
                                "wanted", "result"))
    missed = 0
    results = []
    for label, value, per, how, goal in targets(sides, points, rounds, runs,
                                                means):
        if value is None:
            verdict = "n/a"
        else:
            ok = value >= goal if how == ">=" else value <= goal
            verdict = "met" if ok else "MISSED"
        missed += verdict != "met"
        results.append({"target": label, "value": value, "per_round": per,
                        "op": how, "goal": goal, "result": verdict})
        p("%-30s %7s %s %9s  %s" % (label, num(value, "%.2fx"),
                                    " ".join("%7s" % num(v, "%.2fx")
                                             for v in per),
                                    "%s %.1fx" % (how, goal), verdict))
    informative(p, sides, points, means)
    p("NOTE: one run on a shared machine; see the load average above. "
      "JetStream acknowledges before fsync, zraft after.")

    tables.finish(out, lines, meta, runs, results, missed)


if __name__ == "__main__":
    main()
