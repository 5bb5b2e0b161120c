#!/usr/bin/env python3
"""
failover_bench.py — automatic failover time of Tessera against redis-server:
3 masters + 3 replicas (`redis-cli --cluster create --cluster-replicas 1`,
cluster-node-timeout 2000 unless --node-timeout), SIGKILL one master, time
until a SET of a key in one of its slots is answered +OK by its replica.

Owns: a fresh cluster per trial (started, joined, waited stable, stopped),
the kill, the poll, the medians and the report.
Must not: run anything without a timeout, leave a node behind, or touch a
process it did not start. It is a tool, not a test: it never fails on a
ratio, only on a trial that could not be measured (it reports it instead).

A trial: once every node has cluster_state ok, all agree on the slot map and
every replica's link is up, wait --settle seconds, pick the master with the
lowest port and its replica, note the time, SIGKILL the master, then send
`SET <key in its first slot> x` to the replica's port every --poll-ms ms on
one connection (reconnecting if needed). The replica answers MOVED while it
still follows the dead master and CLUSTERDOWN once it sees the cluster
fail; the trial ends at the first +OK. "detect" is the first reply that is
not MOVED (the replica has seen the master FAIL), "failover" the first +OK.

Trials alternate which implementation goes first; the table shows the median
failover time, Tessera/Redis (the issue's target: <= 0.8) and every trial.

Usage:  make bench-failover     python3 tools/bench/failover_bench.py --trials 5
        python3 tools/bench/failover_bench.py --trials 1 --json out.json
"""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_common as cc  # noqa: E402

TARGET = 0.8


def poll_until_ok(port, key, t0, args):
    """(detect_ms, failover_ms, last reply) measured from t0; failover_ms is
    None if no +OK came within --trial-timeout."""
    detect = None
    last = None
    conn = None
    end = t0 + args.trial_timeout
    while time.monotonic() < end:
        try:
            if conn is None:
                conn = cc.Conn(port, timeout=1.0)
            reply = conn.call("SET", key, "x", errors=True)
            now = time.monotonic()
            if reply == b"OK":
                return detect, (now - t0) * 1000.0, "OK"
            last = str(reply)
            if detect is None and not last.startswith("MOVED"):
                detect = (now - t0) * 1000.0
        except (OSError, ConnectionError) as e:
            last = "connection: %s" % e
            if conn is not None:
                conn.close()
                conn = None
        time.sleep(args.poll_ms / 1000.0)
    if conn is not None:
        conn.close()
    return detect, None, last


def trial(impl, binary, args):
    c = cc.Cluster(impl, binary, 6, extra=["--cluster-node-timeout", str(args.node_timeout)])
    try:
        c.start()
        c.create(replicas=1)
        c.wait_stable(deadline=120)
        time.sleep(args.settle)
        c.wait_stable(deadline=30)
        view = c.view(c.nodes[0])
        masters = sorted((v for v in view if "master" in v["flags"]), key=lambda v: v["port"])
        victim = masters[0]
        replicas = [v for v in view if v["master"] == victim["id"]]
        if len(replicas) != 1:
            raise RuntimeError("%s: master %d has %d replicas" % (impl, victim["port"],
                                                                   len(replicas)))
        replica = replicas[0]
        key = cc.key_in_slot(min(victim["slots"]))
        vnode = c.by_port(victim["port"])
        t0 = time.monotonic()
        vnode.kill9()
        detect, failover, last = poll_until_ok(replica["port"], key, t0, args)
        c.check_alive(skip=(vnode,))
        res = {"impl": impl, "detect_ms": detect, "failover_ms": failover,
               "killed": victim["port"], "replica": replica["port"], "last_reply": last}
        cc.log("%-7s killed %d, replica %d: detect %s ms, failover %s ms%s" % (
            impl, victim["port"], replica["port"], cc.fmt(detect), cc.fmt(failover),
            "" if failover is not None else " (no OK within %ss; last reply: %s)" % (
                args.trial_timeout, last)))
        return res
    finally:
        c.cleanup()


def report(runs):
    med = {impl: cc.median([r["failover_ms"] for r in runs[impl]]) for impl in runs}
    det = {impl: cc.median([r["detect_ms"] for r in runs[impl]]) for impl in runs}
    r = cc.ratio(med["tessera"], med["redis"])
    rows = [["failover ms", cc.fmt(med["tessera"]), cc.fmt(med["redis"]), cc.fmt(r, "%.2f"),
             " ".join(cc.fmt(x["failover_ms"]) for x in runs["tessera"]),
             " ".join(cc.fmt(x["failover_ms"]) for x in runs["redis"])],
            ["detect ms", cc.fmt(det["tessera"]), cc.fmt(det["redis"]),
             cc.fmt(cc.ratio(det["tessera"], det["redis"]), "%.2f"),
             " ".join(cc.fmt(x["detect_ms"]) for x in runs["tessera"]),
             " ".join(cc.fmt(x["detect_ms"]) for x in runs["redis"])]]
    verdict = "n/a" if r is None else ("met" if r <= TARGET else "NOT met")
    return (cc.table(["", "tessera median", "redis median", "T/R", "tessera trials",
                      "redis trials"], rows)
            + "\ntarget T/R <= %.1f: %s" % (TARGET, verdict)), med, r


def parse_args(argv):
    ap = cc.tool_parser(__doc__)
    ap.add_argument("--trials", type=int, default=5, help="trials per implementation")
    ap.add_argument("--node-timeout", type=int, default=2000, help="cluster-node-timeout, ms")
    ap.add_argument("--poll-ms", type=float, default=10.0)
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds to wait once the cluster is stable, before the kill")
    ap.add_argument("--trial-timeout", type=float, default=60.0,
                    help="seconds after the kill before a trial counts as failed")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    cc.check_executables(ap, args.tessera, args.redis, cc.REDIS_CLI)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    runs = cc.run_trials(args, lambda impl, binary: [trial(impl, binary, args)])
    text, med, r = report(runs)
    print("failover: 3 masters + 3 replicas, cluster-node-timeout %d ms, SIGKILL a master, "
          "SET polled every %g ms on its replica" % (args.node_timeout, args.poll_ms))
    print(text)
    if args.json:
        doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname(),
               "node_timeout": args.node_timeout, "poll_ms": args.poll_ms, "runs": runs,
               "tessera_median_ms": med["tessera"], "redis_median_ms": med["redis"],
               "ratio": r, "target": TARGET}
        cc.write_json(args.json, doc)
    return 0


if __name__ == "__main__":
    cc.run_main(main, "failover_bench")
