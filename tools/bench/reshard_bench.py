#!/usr/bin/env python3
"""
reshard_bench.py — resharding throughput of Tessera against redis-server:
3 masters loaded with --keys keys (1,000,000 by default), an empty 4th master
added with `redis-cli --cluster add-node`, then `redis-cli --cluster reshard
--cluster-from all --cluster-to <new> --cluster-slots 4096 --cluster-yes
--cluster-pipeline 100` timed; keys/s = keys moved / elapsed. Meanwhile a
client thread GETs keys and records latencies; only the GETs of keys whose
slot did not move (found afterwards) are counted: p50, p99, max.

Owns: a fresh 4-node cluster per trial (started, loaded, stopped), the
loader, the GET thread, the medians and the report.
Must not: run anything without a timeout, leave a node behind, or touch a
process it did not start. It is a tool, not a test: it never fails on a
ratio; a trial that loses keys is reported, not hidden.

Loading: keys are `key:<i>`, values --value-size bytes; the slot of every key
is computed here (CRC16, as the cluster does), each master gets the keys of
its own slots as one RESP stream through `redis-cli --pipe` (three at once),
and the DBSIZE total is checked. GET client: one connection per original
master, --get-rate requests/s (paced, so it measures latency without taking
a core), random keys from a sample of --get-sample keys, each sent to the
node that owned its slot before the reshard; a GET that meets a migrated
slot gets ASK/MOVED and is not counted. Only GETs issued while redis-cli
runs are counted; a wrong value or an error on a slot that did not move is
counted as an error.

Trials alternate which implementation goes first; the table shows the
median over trials, Tessera/Redis and every trial's figure.

Usage:  make bench-reshard      python3 tools/bench/reshard_bench.py --trials 2
        python3 tools/bench/reshard_bench.py --keys 100000 --trials 1   (development)
"""
import os
import random
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_common as cc  # noqa: E402


def key(i):
    return b"key:%d" % i


class Keys:
    """The slot of every key, computed once for the whole run."""

    def __init__(self, n, value_size):
        self.n = n
        self.value = b"v" * value_size
        self.slots = [cc.key_slot(key(i)) for i in range(n)]
        self.cache = {}

    def stream_for(self, owned):
        """RESP stream of SETs of the keys whose slot is in owned (cached:
        every trial gets the same slot map from --cluster create)."""
        owned = frozenset(owned)
        if owned not in self.cache:
            self.cache[owned] = self.build(owned)
        return self.cache[owned]

    def build(self, owned):
        v = self.value
        head = b"*3\r\n$3\r\nSET\r\n"
        tail = b"$%d\r\n%s\r\n" % (len(v), v)
        parts, count = [], 0
        for i, slot in enumerate(self.slots):
            if slot in owned:
                k = key(i)
                parts.append(b"%s$%d\r\n%s\r\n%s" % (head, len(k), k, tail))
                count += 1
        return b"".join(parts), count


def load(cluster, masters, keys, args):
    view = cluster.view(masters[0])
    procs = []
    for v in view:
        if not v["slots"]:
            continue
        data, count = keys.stream_for(v["slots"])
        p = subprocess.Popen([cc.REDIS_CLI, "-p", str(v["port"]), "--pipe"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        procs.append((v["port"], count, p, data))
    for port, count, p, data in procs:
        try:
            out, err = p.communicate(data, timeout=args.run_timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate(timeout=10)
            raise RuntimeError("%s: loading %d took more than %ds" % (
                cluster.impl, port, args.run_timeout))
        text = (out + err).decode("utf-8", "replace")
        if p.returncode != 0 or "errors: 0," not in text:
            raise RuntimeError("%s: redis-cli --pipe to %d: %s" % (cluster.impl, port, text[-500:]))
    total = sum(cc.call(n.port, "DBSIZE") for n in masters)
    if total != keys.n:
        raise RuntimeError("%s: DBSIZE total %d after loading %d keys" % (
            cluster.impl, total, keys.n))


class Getter(threading.Thread):
    """Paced GETs on keys of the original masters; records (t, slot, us, kind)."""

    def __init__(self, keys, owner_of_slot, args):
        super().__init__(daemon=True)
        rng = random.Random(12345)
        self.sample = [rng.randrange(keys.n) for _ in range(args.get_sample)]
        self.keys, self.owner, self.args = keys, owner_of_slot, args
        self.stop = threading.Event()
        self.records = []
        self.failure = None

    def run(self):
        conns = {}
        interval = 1.0 / self.args.get_rate
        rng = random.Random(54321)
        next_t = time.monotonic()
        end = next_t + self.args.run_timeout
        try:
            while not self.stop.is_set() and time.monotonic() < end:
                i = rng.choice(self.sample)
                slot = self.keys.slots[i]
                port = self.owner[slot]
                if port not in conns:
                    conns[port] = cc.Conn(port, timeout=10.0)
                t = time.monotonic()
                t1 = time.perf_counter()
                reply = conns[port].call("GET", key(i), errors=True)
                us = (time.perf_counter() - t1) * 1e6
                if reply == self.keys.value:
                    kind = "ok"
                elif isinstance(reply, cc.RespError) and str(reply).split(" ")[0] in (
                        "ASK", "MOVED", "TRYAGAIN"):
                    kind = "redirect"
                else:
                    kind = "error: %r" % (reply,)
                self.records.append((t, slot, us, kind))
                next_t += interval
                delay = next_t - time.monotonic()
                if delay > 0:
                    self.stop.wait(delay)
                else:
                    next_t = time.monotonic()  # behind schedule: do not burst
        except (OSError, ConnectionError) as e:
            self.failure = str(e)
        finally:
            for c in conns.values():
                c.close()


def trial(impl, binary, keys, args):
    c = cc.Cluster(impl, binary, 4, extra=["--cluster-node-timeout", str(args.node_timeout)])
    try:
        c.start()
        masters, new = c.nodes[:3], c.nodes[3]
        c.create(replicas=0, members=masters)
        c.wait_stable(members=masters)
        t = time.monotonic()
        load(c, masters, keys, args)
        cc.log("%-7s loaded %d keys in %.1fs" % (impl, keys.n, time.monotonic() - t))
        cc.run([cc.REDIS_CLI, "--cluster", "add-node", "127.0.0.1:%d" % new.port,
                "127.0.0.1:%d" % masters[0].port], 120, "%s: redis-cli --cluster add-node" % impl)
        c.wait_stable(deadline=120)
        owner = {}
        for v in c.view(masters[0]):
            for s in v["slots"]:
                owner[s] = v["port"]
        getter = Getter(keys, owner, args)
        getter.start()
        time.sleep(0.2)
        cmd = [cc.REDIS_CLI, "--cluster", "reshard", "127.0.0.1:%d" % masters[0].port,
               "--cluster-from", "all", "--cluster-to", new.node_id,
               "--cluster-slots", str(args.slots), "--cluster-yes",
               "--cluster-pipeline", str(args.pipeline)]
        t0 = time.monotonic()
        try:
            p = cc.run(cmd, args.run_timeout, "%s: redis-cli --cluster reshard" % impl,
                       check=False)
        finally:
            t1 = time.monotonic()
            getter.stop.set()
            getter.join(timeout=30)
        elapsed = t1 - t0
        c.check_alive()
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        if p.returncode != 0:
            raise RuntimeError("%s: reshard failed (%d): %s" % (impl, p.returncode, out[-1500:]))
        return result(impl, c, new, getter, t0, t1, elapsed, keys, args)
    finally:
        c.cleanup()


def result(impl, c, new, getter, t0, t1, elapsed, keys, args):
    moved_slots = next(v for v in c.view(new) if v["port"] == new.port)["slots"]
    moved = cc.call(new.port, "DBSIZE")
    total = sum(cc.call(n.port, "DBSIZE") for n in c.nodes)
    window = [r for r in getter.records if t0 <= r[0] <= t1]
    lat = sorted(r[2] for r in window if r[1] not in moved_slots and r[3] == "ok")
    errors = [r for r in window if r[1] not in moved_slots and r[3] != "ok"]
    res = {"impl": impl, "elapsed_s": elapsed, "keys_moved": moved,
           "keys_per_s": moved / elapsed if elapsed else None, "slots_moved": len(moved_slots),
           "keys_total_after": total, "keys_lost": keys.n - total,
           "gets": len(lat), "gets_redirected": sum(1 for r in window if r[3] == "redirect"),
           "get_errors": len(errors), "get_error_sample": [r[3] for r in errors[:3]],
           "getter_failure": getter.failure,
           "p50_ms": cc.percentile(lat, 50) / 1000 if lat else None,
           "p99_ms": cc.percentile(lat, 99) / 1000 if lat else None,
           "max_ms": lat[-1] / 1000 if lat else None}
    cc.log("%-7s moved %d keys (%d slots) in %.2fs = %.0f keys/s; GETs on unmoved slots: %d, "
           "p50 %s ms, p99 %s ms, max %s ms, errors %d%s%s" % (
               impl, moved, len(moved_slots), elapsed, res["keys_per_s"] or 0, len(lat),
               cc.fmt(res["p50_ms"], "%.3f"), cc.fmt(res["p99_ms"], "%.3f"),
               cc.fmt(res["max_ms"], "%.3f"), len(errors),
               "; KEYS LOST: %d" % res["keys_lost"] if res["keys_lost"] else "",
               "; GET client failed: %s" % getter.failure if getter.failure else ""))
    if len(moved_slots) != args.slots:
        cc.log("%s: the new node owns %d slots, not %d" % (impl, len(moved_slots), args.slots))
    return res


FIELDS = [("keys/s", "keys_per_s", "%.0f"), ("elapsed s", "elapsed_s", "%.2f"),
          ("keys moved", "keys_moved", "%.0f"), ("GET p50 ms", "p50_ms", "%.3f"),
          ("GET p99 ms", "p99_ms", "%.3f"), ("GET max ms", "max_ms", "%.3f"),
          ("GETs counted", "gets", "%.0f"), ("GET errors", "get_errors", "%.0f"),
          ("keys lost", "keys_lost", "%.0f")]


def report(runs):
    rows = []
    meds = {}
    for name, field, spec in FIELDS:
        t = cc.median([r[field] for r in runs["tessera"]])
        rd = cc.median([r[field] for r in runs["redis"]])
        meds[field] = (t, rd)
        rows.append([name, cc.fmt(t, spec), cc.fmt(rd, spec),
                     cc.fmt(cc.ratio(t, rd), "%.2f") if field not in (
                         "get_errors", "keys_lost", "gets") else "",
                     " ".join(cc.fmt(r[field], spec) for r in runs["tessera"]),
                     " ".join(cc.fmt(r[field], spec) for r in runs["redis"])])
    return cc.table(["", "tessera median", "redis median", "T/R", "tessera trials",
                     "redis trials"], rows), meds


def parse_args(argv):
    ap = cc.tool_parser(__doc__)
    ap.add_argument("--trials", type=int, default=2, help="trials per implementation")
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--value-size", type=int, default=16)
    ap.add_argument("--slots", type=int, default=4096, help="--cluster-slots")
    ap.add_argument("--pipeline", type=int, default=100, help="--cluster-pipeline")
    ap.add_argument("--get-rate", type=float, default=1000.0, help="GETs per second")
    ap.add_argument("--get-sample", type=int, default=20000)
    ap.add_argument("--node-timeout", type=int, default=15000, help="cluster-node-timeout, ms")
    ap.add_argument("--run-timeout", type=int, default=600,
                    help="timeout in seconds of loading and of the reshard")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    cc.check_executables(ap, args.tessera, args.redis, cc.REDIS_CLI)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cc.install_signal_handlers()
    t = time.monotonic()
    keys = Keys(args.keys, args.value_size)
    cc.log("slots of %d keys computed in %.1fs" % (args.keys, time.monotonic() - t))
    runs = cc.run_trials(args, lambda impl, binary: [trial(impl, binary, keys, args)])
    text, meds = report(runs)
    print("reshard: 3 masters with %d keys (%d-byte values) -> add an empty master, "
          "reshard %d slots, --cluster-pipeline %d; GETs at %g/s on unmoved slots" % (
              args.keys, args.value_size, args.slots, args.pipeline, args.get_rate))
    print(text)
    if args.json:
        doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": socket.gethostname(),
               "keys": args.keys, "slots": args.slots, "pipeline": args.pipeline,
               "get_rate": args.get_rate, "runs": runs,
               "medians": {k: {"tessera": v[0], "redis": v[1]} for k, v in meds.items()}}
        cc.write_json(args.json, doc)
    return 0


if __name__ == "__main__":
    cc.run_main(main, "reshard_bench")
