#!/usr/bin/env python3
"""
fullsync_bench.py — full resynchronisation of a replica, Tessera against
redis-server: a standalone master loaded with --keys keys (DEBUG POPULATE,
1,000,000 by default), an empty replica of the same implementation, then
`REPLICAOF` timed until the replica reports master_link_status:up with every
key (DBSIZE). Meanwhile a client PINGs the master every --ping-ms ms on its
own connection: the longest round trip is how long the master stopped
answering during the sync (Redis forks a child for the snapshot; Tessera
encodes it in-process, so this column shows what that costs).

Modes (--modes): diskless (repl-diskless-sync yes, the 7.0 default, with
repl-diskless-sync-delay 0 so no 5 s wait is measured) and disk
(repl-diskless-sync no: the master writes the RDB, then sends the file).

Owns: a master and a replica per trial (started, loaded, stopped).
Must not: run anything without a timeout, leave a process behind, or touch a
process it did not start. It is a tool, not a test: it never fails on a
ratio, only on a trial that could not be measured.

Trials alternate which implementation goes first; the table shows the median
sync time and master stall per implementation and mode, Tessera/Redis, and
every trial.

Usage:  python3 tools/bench/fullsync_bench.py                 (3 trials, both modes)
        python3 tools/bench/fullsync_bench.py --keys 100000 --trials 1 --modes diskless
"""
import shutil
import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_common as cc  # noqa: E402

MODES = {"diskless": ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"],
         "disk": ["--repl-diskless-sync", "no"]}


class Pinger(threading.Thread):
    """PING the master every period seconds until stopped; keeps the longest
    round trip (a reply that takes long is the master not answering)."""

    def __init__(self, port, period):
        super().__init__(daemon=True)
        self.conn = cc.Conn(port, timeout=30.0)
        self.period = period
        self.stop_ev = threading.Event()
        self.worst = 0.0
        self.count = 0

    def run(self):
        try:
            while not self.stop_ev.is_set():
                t = time.monotonic()
                self.conn.call("PING")
                self.worst = max(self.worst, time.monotonic() - t)
                self.count += 1
                self.stop_ev.wait(self.period)
        finally:
            self.conn.close()


def synced(replica, keys):
    rep = cc.info(replica.port, "replication")
    return (rep.get("master_link_status") == "up"
            and cc.call(replica.port, "DBSIZE") == keys)


def trial(impl, binary, mode, args):
    workdir = tempfile.mkdtemp(prefix="fullsync-%s-" % impl)
    extra = MODES[mode] + ["--enable-debug-command", "yes"]
    master = cc.Node(impl, binary, workdir, extra, cluster=False)
    replica = cc.Node(impl, binary, workdir, extra, cluster=False)
    try:
        master.start()
        replica.start(taken=(master.port,))
        cc.call(master.port, "DEBUG", "POPULATE", args.keys, "key", args.value_size,
                timeout=120)
        if cc.call(master.port, "DBSIZE") != args.keys:
            raise RuntimeError("%s: DEBUG POPULATE did not load %d keys" % (impl, args.keys))
        pinger = Pinger(master.port, args.ping_ms / 1000.0)
        pinger.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        cc.call(replica.port, "REPLICAOF", "127.0.0.1", master.port)
        end = t0 + args.trial_timeout
        while not synced(replica, args.keys):
            if time.monotonic() > end:
                raise RuntimeError("%s %s: replica not in sync after %ss; master log:\n%s"
                                   % (impl, mode, args.trial_timeout, master.log_tail()))
            time.sleep(0.005)
        sync_s = time.monotonic() - t0
        time.sleep(0.2)
        pinger.stop_ev.set()
        pinger.join(timeout=35)
        res = {"impl": impl, "mode": mode, "sync_s": sync_s,
               "master_stall_ms": pinger.worst * 1000.0, "pings": pinger.count}
        cc.log("%-7s %-8s full sync of %d keys: %.3f s, longest master PING %.1f ms" % (
            impl, mode, args.keys, sync_s, res["master_stall_ms"]))
        return res
    finally:
        master.cleanup()
        replica.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


def report(runs, modes):
    rows, summary = [], {}
    for mode in modes:
        for what, unit, key in (("sync", "s", "sync_s"), ("master stall", "ms", "master_stall_ms")):
            med = {impl: cc.median([r[key] for r in runs[impl] if r["mode"] == mode])
                   for impl in ("tessera", "redis")}
            r = cc.ratio(med["tessera"], med["redis"])
            spec = "%.3f" if unit == "s" else "%.1f"
            rows.append(["%s %s (%s)" % (mode, what, unit), cc.fmt(med["tessera"], spec),
                         cc.fmt(med["redis"], spec), cc.fmt(r, "%.2f"),
                         " ".join(cc.fmt(x[key], spec) for x in runs["tessera"]
                                  if x["mode"] == mode),
                         " ".join(cc.fmt(x[key], spec) for x in runs["redis"]
                                  if x["mode"] == mode)])
            summary["%s_%s" % (mode, key)] = {"tessera": med["tessera"], "redis": med["redis"],
                                              "ratio": r}
    return cc.table(["", "tessera median", "redis median", "T/R", "tessera trials",
                     "redis trials"], rows), summary


def parse_args(argv):
    ap = cc.tool_parser(__doc__)
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--value-size", type=int, default=16, help="DEBUG POPULATE value size")
    ap.add_argument("--trials", type=int, default=3, help="trials per implementation and mode")
    ap.add_argument("--modes", default="diskless,disk")
    ap.add_argument("--ping-ms", type=float, default=2.0)
    ap.add_argument("--trial-timeout", type=float, default=120.0)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    args.modes = [m for m in args.modes.split(",") if m]
    for m in args.modes:
        if m not in MODES:
            ap.error("unknown mode %r (diskless, disk)" % m)
    cc.check_executables(ap, args.tessera, args.redis)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    runs = cc.run_trials(args, lambda impl, binary: [trial(impl, binary, mode, args)
                                                     for mode in args.modes])
    text, summary = report(runs, args.modes)
    print("full sync: master with %d keys (DEBUG POPULATE, %d-byte values), REPLICAOF on an "
          "empty replica until it is up with every key; master PINGed every %g ms"
          % (args.keys, args.value_size, args.ping_ms))
    print(text)
    if args.json:
        doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname(),
               "keys": args.keys, "value_size": args.value_size, "runs": runs,
               "summary": summary}
        cc.write_json(args.json, doc)
    return 0


if __name__ == "__main__":
    cc.run_main(main, "fullsync_bench")
