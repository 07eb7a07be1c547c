"""bench/tables.py - what the comparisons' tables share (natstable.py,
etcdcompare.sh's table): the run's description, the run order, figures
as text, means and ratios, and writing the table and every figure."""
import json
import os
import sys


def meta_of(variable):
    """The run's description: environment variable "k=v;k=v;..."."""
    return dict(kv.split("=", 1) for kv in os.environ[variable].split(";"))


def order_of(out):
    """The run order ($OUT/order.txt, which is then removed)."""
    path = os.path.join(out, "order.txt")
    with open(path) as f:
        order = [l.strip() for l in f if l.strip()]
    os.remove(path)
    return order


def num(v, fmt="%.3f"):
    return "-" if v is None else fmt % v


def lat(j, key, group="latency_ms"):
    """A latency figure of a run's JSON, or None."""
    v = (j.get(group) or {}).get(key)
    return float(v) if v is not None else None


def mean(vals):
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else None


def ratio(a, b):
    return None if a is None or not b else a / b


def median(vals):
    """The median of the figures that are not None, or None."""
    vals = sorted(v for v in vals if v is not None)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def finish(out, lines, meta, runs, results, missed):
    """Prints the table, writes it to $OUT/table.txt and every figure to
    $OUT/results.jsonl, and exits 10 if a target was missed, else 0."""
    table = "\n".join(lines) + "\n"
    sys.stdout.write(table)
    with open(os.path.join(out, "table.txt"), "w") as f:
        f.write(table)
    with open(os.path.join(out, "results.jsonl"), "w") as f:
        f.write(json.dumps({"meta": meta}) + "\n")
        for k in sorted(runs):
            f.write(json.dumps(runs[k]) + "\n")
        f.write(json.dumps({"targets": results}) + "\n")
    sys.exit(10 if missed else 0)
