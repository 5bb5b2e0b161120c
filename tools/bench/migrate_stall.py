#!/usr/bin/env python3
"""
migrate_stall.py — how long a MIGRATE of one large key stalls other clients,
tessera-server against redis-server, in the same run.

Owns: two fresh servers per implementation and trial (source and target,
loopback, free ports, `--save '' --appendonly no`), a set of --members
integers on the source, one MIGRATE to the target while a PING loop runs on
each server, and the table of medians (MIGRATE time, worst PING latency seen
on the source and on the target) with Tessera/Redis ratios.
Must not: leave a server behind, or run without timeouts. It is a tool, not a
test: it reports, it does not judge.

Usage:  python3 tools/bench/migrate_stall.py [--members 1000000] [--trials 3]
"""
import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import free_port  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def start(binary):
    d = tempfile.mkdtemp(prefix="stall-")
    for _ in range(3):
        port = free_port()
        p = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--dir", d],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while time.monotonic() < end and p.poll() is None:
            try:
                redis.Redis(port=port, socket_timeout=1).ping()
                return p, port, d
            except redis.RedisError:
                time.sleep(0.05)
        p.kill()
        p.wait()
    raise RuntimeError("%s did not start" % binary)


def pinger(port, stop, out):
    r = redis.Redis(port=port, socket_timeout=60)
    worst = 0.0
    while not stop.is_set():
        t = time.perf_counter()
        r.ping()
        worst = max(worst, time.perf_counter() - t)
    out.append(worst)


def trial(binary, members):
    servers = [start(binary), start(binary)]
    try:
        (_, sport, _), (_, tport, _) = servers
        src = redis.Redis(port=sport, socket_timeout=120)
        for j in range(0, members, 100_000):
            src.sadd("big", *range(j, min(members, j + 100_000)))
        stop, ws, wt = threading.Event(), [], []
        threads = [threading.Thread(target=pinger, args=(sport, stop, ws)),
                   threading.Thread(target=pinger, args=(tport, stop, wt))]
        for t in threads:
            t.start()
        time.sleep(0.3)
        t0 = time.perf_counter()
        src.execute_command("MIGRATE", "127.0.0.1", tport, "big", 0, 60000)
        elapsed = time.perf_counter() - t0
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(60)
        if redis.Redis(port=tport).scard("big") != members:
            raise RuntimeError("the set did not arrive whole")
        return elapsed, ws[0], wt[0]
    finally:
        for p, _, d in servers:
            p.kill()
            p.wait()
            shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tessera", default=str(REPO / "src" / "tessera-server"))
    ap.add_argument("--redis", default="/usr/bin/redis-server")
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--trials", type=int, default=3)
    args = ap.parse_args()
    res = {"tessera": [], "redis": []}
    for i in range(args.trials):
        order = [("tessera", args.tessera), ("redis", args.redis)]
        for name, binary in (order if i % 2 == 0 else order[::-1]):
            r = trial(binary, args.members)
            res[name].append(r)
            print("trial %d %-8s migrate %.3fs  worst PING source %.3fs target %.3fs"
                  % (i + 1, name, *r), file=sys.stderr, flush=True)
    print("%-22s %10s %10s %6s" % ("median (s)", "tessera", "redis", "T/R"))
    for k, label in enumerate(("MIGRATE", "worst PING, source", "worst PING, target")):
        t = statistics.median(x[k] for x in res["tessera"])
        r = statistics.median(x[k] for x in res["redis"])
        print("%-22s %10.3f %10.3f %6.2f" % (label, t, r, t / r))


if __name__ == "__main__":
    main()
