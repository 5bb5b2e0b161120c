#!/usr/bin/env python3
"""
bench.py — throughput and memory of tessera-server against redis-server,
measured in the same run on the same machine.

Owns: starting both servers (`--save '' --appendonly no`, loopback, free
ports), driving redis-benchmark, the adaptive request count, the median over
rounds, the memory-per-key figure, and the text/JSON report.
Must not: run anything without a timeout, leave a server behind, or touch a
server it did not start. It is a tool, not a test: it never fails on a
ratio, only on a run that could not be measured.

Throughput: for every test and pipeline depth, a probe measures both
servers; the request count is then chosen so the faster one runs for at
least --seconds (capped by --max-requests). Each round runs every
(test, pipeline) on both servers, alternating which one goes first from round
to round; the table shows the median of the rounds and Tessera/Redis, and
the server's CPU time (user + system, all threads, from /proc) per request,
with its ratio: what the server itself spends, whoever the bottleneck is.

Setup (the default, --pin 1,0 --threads 0): the servers on CPU 1 and a
single-threaded redis-benchmark on CPU 0, so neither takes the other's time;
this is what a server on its own cores sees, and it repeats from run to run.
At -P 1 the client, not the server, is then the slower side per request;
what a server does about it shows in throughput all the same (a server that
keeps polling while requests keep coming spares the client a wake-up per
request, see server_spin in src/server.c), and the CPU columns tell what the
server itself spent. --pin 1,1 puts servers and client on one core, as on
a one-CPU machine or container: polling would take that core from the client
there, and server_spin notices and stops it. --pin '' shares both cores between servers and client
(add --threads 2 so the client can use both): the scheduler then decides much
of the result, and Redis's own figures move by up to 30% between runs. With
--threads, redis-benchmark's threads notice the end of a run only on a 250
ms tick, hence 10 s runs by default then (3 s otherwise).

Before each run both servers are flushed; GET, LPOP, RPOP, SPOP and ZPOPMIN
first get their data from an unmeasured SET, LPUSH, SADD or ZADD run.

Memory: fresh servers with `enable-debug-command yes`, `DEBUG POPULATE N`,
(used_memory after - before) / N, for both.

Usage:  make bench          python3 tools/bench/bench.py --quick
        python3 tools/bench/bench.py --tests set,get,lpush,lrange_100 --rounds 5 --json out.json

Cluster benchmarks live next to this file (same style, shared helpers in
cluster_common.py): cluster_bench.py (redis-benchmark --cluster, and --bus
for idle bus traffic), failover_bench.py, reshard_bench.py; make
bench-cluster, bench-failover, bench-reshard.
"""
import argparse
import csv
import io
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_common as cc  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BENCHMARK = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"

# redis-benchmark -t names this tool accepts (as redis-benchmark spells them).
KNOWN_TESTS = ["ping_inline", "ping_mbulk", "set", "get", "incr", "lpush", "rpush",
               "lpop", "rpop", "sadd", "hset", "spop", "zadd", "zpopmin",
               "lrange_100", "lrange_300", "lrange_500", "lrange_600", "mset"]
DEFAULT_TESTS = ["set", "get", "incr", "mset", "lpush", "lpop", "rpop", "sadd", "spop", "hset",
                 "zadd", "zpopmin", "lrange_100", "lrange_600"]
# redis-benchmark fills the list itself (an LPUSH run of -n requests) before
# LRANGE_*: that run's server CPU is counted with the measured one.
SELF_FILLED = ("lrange_100", "lrange_300", "lrange_500", "lrange_600")


# CPU pinning (--pin): servers on one core, redis-benchmark on the other, so
# the two never fight for a core and the client's own cost is out of the way.
PIN = {"server": [], "client": []}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- servers

def free_port():
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        port = rng.randint(21000, 29999)
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    raise RuntimeError("no free port")


def command(port, *args, timeout=120):
    """One command on a fresh connection; returns the reply as bytes (the
    payload of a bulk, the text of a status/error/integer)."""
    req = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() if isinstance(x, str) else x
                                                 for x in args))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(req)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed by server")
            buf += chunk
        head, rest = buf.split(b"\r\n", 1)
        if head[:1] == b"$":
            n = int(head[1:])
            if n < 0:
                return None
            while len(rest) < n + 2:
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError("connection closed by server")
                rest += chunk
            return rest[:n]
        if head[:1] == b"-":
            raise RuntimeError(head[1:].decode("utf-8", "replace"))
        return head[1:]


class Server:
    def __init__(self, name, binary, extra=()):
        self.name = name
        self.binary = str(binary)
        self.extra = list(extra)
        self.dir = tempfile.mkdtemp(prefix="bench-%s-" % name)
        self.port = None
        self.proc = None

    def start(self, deadline=15):
        for _ in range(3):
            self.port = free_port()
            args = PIN["server"] + [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                    "--dir", self.dir, "--save", "", "--appendonly", "no"] + self.extra
            logf = open(os.path.join(self.dir, "server.log"), "ab")
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=subprocess.STDOUT, cwd=self.dir)
            logf.close()
            end = time.monotonic() + deadline
            while time.monotonic() < end and self.proc.poll() is None:
                try:
                    if command(self.port, "PING", timeout=1) == b"PONG":
                        return self
                except (OSError, RuntimeError):
                    pass
                time.sleep(0.05)
            self.stop()
            tail = self.log_tail()
            if "in use" not in tail:
                break
        raise RuntimeError("%s did not start (%s); log:\n%s" % (
            self.name, " ".join(args), self.log_tail()))

    def log_tail(self, n=3000):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def used_memory(self):
        info = command(self.port, "INFO", "memory").decode()
        for line in info.splitlines():
            if line.startswith("used_memory:"):
                return int(line.split(":", 1)[1])
        raise RuntimeError("%s: no used_memory in INFO memory" % self.name)


# ---------------------------------------------------------------- benchmark

def run_benchmark(srv, test, pipeline, requests, args):
    """Requests per second of one redis-benchmark run, or raises."""
    cmd = PIN["client"] + [BENCHMARK, "-h", "127.0.0.1", "-p", str(srv.port), "-c", str(args.clients),
           "-P", str(pipeline), "-n", str(requests), "-t", test, "--csv"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.keyspace:
        cmd += ["-r", str(args.keyspace)]
    timeout = args.run_timeout
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError("%s: redis-benchmark %s -P %d -n %d took more than %ds" % (
            srv.name, test, pipeline, requests, timeout))
    if p.returncode != 0:
        raise RuntimeError("%s: redis-benchmark failed (%d): %s" % (
            srv.name, p.returncode, p.stderr.decode("utf-8", "replace")[-500:]))
    want = test.upper()
    for row in csv.reader(io.StringIO(p.stdout.decode("utf-8", "replace"))):
        if row and row[0].split(" ")[0] == want:
            return float(row[1])
    raise RuntimeError("%s: no %s row in redis-benchmark output:\n%s" % (
        srv.name, want, p.stdout.decode("utf-8", "replace")))


# Tests that read what another test writes get that test run first (not
# measured), as redis-benchmark itself does when both are selected together.
PREFILL = {"get": "set", "lpop": "lpush", "rpop": "lpush", "spop": "sadd",
           "zpopmin": "zadd"}


def measure(srv, test, pipeline, requests, args):
    """FLUSHALL, prefill if the test reads data, then one measured run:
    (requests per second, server CPU microseconds per request)."""
    command(srv.port, "FLUSHALL")
    if test in PREFILL:
        run_benchmark(srv, PREFILL[test], 16, requests, args)
    cpu0 = cc.cpu_seconds(srv.proc.pid)
    rps = run_benchmark(srv, test, pipeline, requests, args)
    cpu1 = cc.cpu_seconds(srv.proc.pid)
    if cpu0 is None or cpu1 is None:
        raise RuntimeError("%s exited during %s -P %d" % (srv.name, test, pipeline))
    return rps, (cpu1 - cpu0) * 1e6 / requests


def choose_requests(servers, test, pipeline, args):
    """Request count so that the faster server runs >= args.seconds: the
    probe grows until its run lasts at least a second (with --threads a
    shorter run is mostly redis-benchmark's 250 ms end-of-run tick)."""
    if args.quick:
        return args.quick_requests * (4 if pipeline > 1 else 1)
    probe = args.probe_requests * (4 if pipeline > 1 else 1)
    while True:
        best = max(measure(srv, test, pipeline, probe, args)[0] for srv in servers)
        if probe / best >= 1.0 or probe >= args.max_requests:
            break
        probe = min(probe * 4, args.max_requests)
    n = int(best * args.seconds * 1.1)
    return max(probe, min(n, args.max_requests))


def throughput(servers, args):
    results = []
    plan = [(t, p) for t in args.tests for p in args.pipelines]
    sizes = {}
    for test, pipeline in plan:
        sizes[(test, pipeline)] = choose_requests(servers, test, pipeline, args)
        log("probe %-10s -P %-3d -> -n %d" % (test, pipeline, sizes[(test, pipeline)]))
    samples = {(t, p): {s.name: [] for s in servers} for t, p in plan}
    cpu = {(t, p): {s.name: [] for s in servers} for t, p in plan}
    for rnd in range(args.rounds):
        order = servers if rnd % 2 == 0 else list(reversed(servers))
        for test, pipeline in plan:
            for srv in order:
                rps, us = measure(srv, test, pipeline, sizes[(test, pipeline)], args)
                samples[(test, pipeline)][srv.name].append(rps)
                cpu[(test, pipeline)][srv.name].append(us)
                log("round %d  %-10s -P %-3d %-8s %12.0f rps %8.3f us/req" % (
                    rnd + 1, test, pipeline, srv.name, rps, us))
    for test, pipeline in plan:
        s, c = samples[(test, pipeline)], cpu[(test, pipeline)]
        tm, rm = statistics.median(s["tessera"]), statistics.median(s["redis"])
        tc, rc = statistics.median(c["tessera"]), statistics.median(c["redis"])
        results.append({
            "test": test.upper(), "pipeline": pipeline,
            "requests": sizes[(test, pipeline)], "clients": args.clients,
            "threads": args.threads, "pin": args.pin,
            "tessera_rps": s["tessera"], "redis_rps": s["redis"],
            "tessera_median": tm, "redis_median": rm,
            "ratio": (tm / rm) if rm else None,
            "tessera_cpu_us": c["tessera"], "redis_cpu_us": c["redis"],
            "tessera_cpu_median": tc, "redis_cpu_median": rc,
            "cpu_ratio": (tc / rc) if rc else None,
            "cpu_includes_fill": test in SELF_FILLED})
    return results


# Memory of small aggregates (issue: 1,000,000 keys of 5 elements each), one
# fresh server pair per type: name -> the command that makes key i.
TYPE_FILLS = {
    "hash": lambda i: [b"HSET", b"h:%d" % i] + [x for j in range(1, 6) for x in (b"f%d" % j, b"v%d" % j)],
    "set": lambda i: [b"SADD", b"s:%d" % i] + [b"member:%d" % j for j in range(1, 6)],
    "intset": lambda i: [b"SADD", b"i:%d" % i] + [b"%d" % (j * 1000) for j in range(1, 6)],
    "zset": lambda i: [b"ZADD", b"z:%d" % i] + [x for j in range(1, 6) for x in (b"%d" % j, b"m%d" % j)],
    "list": lambda i: [b"RPUSH", b"l:%d" % i] + [b"item:%d" % j for j in range(1, 6)],
}


def fill(port, make, n, batch=20000):
    """Sends make(0..n-1) pipelined in batches; every reply is one line (an
    integer, or an error, which is raised)."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        for start in range(0, n, batch):
            parts = []
            for i in range(start, min(n, start + batch)):
                args = make(i)
                parts.append(b"*%d\r\n" % len(args))
                parts.extend(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
            sock.sendall(b"".join(parts))
            want, buf = min(n, start + batch) - start, b""
            while buf.count(b"\n") < want:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    raise RuntimeError("connection closed during the fill")
                buf += chunk
            if b"-" in buf[:1] or b"\n-" in buf:
                raise RuntimeError("fill: %s" % buf[buf.index(b"-"):][:200].decode("utf-8", "replace"))


def memory_types(args):
    """used_memory growth for args.type_keys keys of each TYPE_FILLS type."""
    out = {"keys": args.type_keys, "types": {}}
    for name, make in TYPE_FILLS.items():
        row = {}
        for impl, binary in (("tessera", args.tessera), ("redis", args.redis)):
            srv = Server(impl, binary)
            try:
                srv.start()
                before = srv.used_memory()
                fill(srv.port, make, args.type_keys)
                row[impl] = srv.used_memory() - before
                row[impl + "_encoding"] = command(srv.port, "OBJECT", "ENCODING",
                                                  make(0)[1]).decode()
            finally:
                srv.cleanup()
        row["ratio"] = row["tessera"] / row["redis"] if row["redis"] else None
        out["types"][name] = row
        log("memory %-6s tessera %.1f MB (%s), redis %.1f MB (%s)" % (
            name, row["tessera"] / 1e6, row["tessera_encoding"], row["redis"] / 1e6,
            row["redis_encoding"]))
    return out


def memory(args):
    """Bytes per key after DEBUG POPULATE, for both servers."""
    out = {"keys": args.memory_keys}
    for name, binary in (("tessera", args.tessera), ("redis", args.redis)):
        srv = Server(name, binary, ["--enable-debug-command", "yes"])
        try:
            srv.start()
            before = srv.used_memory()
            command(srv.port, "DEBUG", "POPULATE", str(args.memory_keys),
                    timeout=args.run_timeout)
            after = srv.used_memory()
            keys = int(command(srv.port, "DBSIZE"))
            if keys != args.memory_keys:
                raise RuntimeError("DBSIZE is %d after DEBUG POPULATE %d" % (
                    keys, args.memory_keys))
            out[name + "_bytes_per_key"] = (after - before) / args.memory_keys
            out[name + "_used_memory"] = [before, after]
        except (RuntimeError, OSError) as e:
            out[name + "_bytes_per_key"] = None
            out[name + "_error"] = str(e)
            log("memory: %s: %s" % (name, e))
        finally:
            srv.cleanup()
    t, r = out.get("tessera_bytes_per_key"), out.get("redis_bytes_per_key")
    out["ratio"] = (t / r) if (t and r) else None
    return out


# ---------------------------------------------------------------- report

def fmt_ratio(x):
    return "%.2f" % x if x is not None else "n/a"


def table(results, mem, types=None):
    lines = ["%-12s %4s %10s %14s %14s %6s %10s %10s %6s" % (
        "test", "-P", "requests", "tessera rps", "redis rps", "T/R",
        "T us/req", "R us/req", "T/R")]
    for r in results:
        lines.append("%-12s %4d %10d %14.0f %14.0f %6s %10.3f %10.3f %6s%s" % (
            r["test"], r["pipeline"], r["requests"], r["tessera_median"],
            r["redis_median"], fmt_ratio(r["ratio"]), r["tessera_cpu_median"],
            r["redis_cpu_median"], fmt_ratio(r["cpu_ratio"]),
            " *" if r["cpu_includes_fill"] else ""))
    if any(r["cpu_includes_fill"] for r in results):
        lines.append("* server CPU includes redis-benchmark's own LPUSH fill before LRANGE")
    if mem:
        def b(x):
            return "%.1f" % x if x is not None else "n/a"
        lines.append("")
        lines.append("memory per key (DEBUG POPULATE %d): tessera %s B, redis %s B, T/R %s" % (
            mem["keys"], b(mem.get("tessera_bytes_per_key")),
            b(mem.get("redis_bytes_per_key")), fmt_ratio(mem.get("ratio"))))
        for name in ("tessera", "redis"):
            if mem.get(name + "_error"):
                lines.append("  %s: %s" % (name, mem[name + "_error"]))
    if types:
        lines.append("")
        lines.append("used_memory for %d keys of 5 elements each:" % types["keys"])
        lines.append("%-8s %12s %12s %6s  %s" % ("type", "tessera MB", "redis MB", "T/R",
                                                 "encodings (tessera / redis)"))
        for name, row in types["types"].items():
            lines.append("%-8s %12.1f %12.1f %6s  %s / %s" % (
                name, row["tessera"] / 1e6, row["redis"] / 1e6, fmt_ratio(row["ratio"]),
                row["tessera_encoding"], row["redis_encoding"]))
    return "\n".join(lines)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tessera", default=os.environ.get(
        "TESSERA_BIN", str(REPO / "src" / "tessera-server")))
    ap.add_argument("--redis", default=os.environ.get("REDIS_BIN", "/usr/bin/redis-server"))
    ap.add_argument("--tests", default=",".join(DEFAULT_TESTS),
                    help="comma-separated redis-benchmark -t names: " + ",".join(KNOWN_TESTS))
    ap.add_argument("--pipelines", default="1,16", help="pipeline depths (-P), default 1,16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--threads", type=int, default=0,
                    help="redis-benchmark --threads (default 0: single-threaded client)")
    ap.add_argument("--seconds", type=float, default=None,
                    help="minimum duration of each run (default 10 with --threads, else 3)")
    ap.add_argument("--probe-requests", type=int, default=20000)
    ap.add_argument("--max-requests", type=int, default=40000000)
    ap.add_argument("--keyspace", type=int, default=100000,
                    help="redis-benchmark -r (0 = a single key)")
    ap.add_argument("--memory-keys", type=int, default=1000000)
    ap.add_argument("--no-memory", action="store_true", help="skip both memory measurements")
    ap.add_argument("--type-keys", type=int, default=1000000,
                    help="keys per type for the hash/set/zset/list memory figure (0: skip it)")
    ap.add_argument("--quick", action="store_true",
                    help="one round, fixed small request counts, 100k keys for memory")
    ap.add_argument("--quick-requests", type=int, default=20000)
    ap.add_argument("--run-timeout", type=int, default=300,
                    help="timeout in seconds of any single benchmark run")
    ap.add_argument("--pin", metavar="S,C", default="1,0" if (os.cpu_count() or 1) >= 2 else "",
                    help="taskset CPUs: servers on S, redis-benchmark on C (default 1,0 with two or "
                    "more CPUs; '' for no pinning)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    args.tests = [t.strip().lower() for t in args.tests.split(",") if t.strip()]
    for t in args.tests:
        if t not in KNOWN_TESTS:
            ap.error("unknown test %r (known: %s)" % (t, ", ".join(KNOWN_TESTS)))
    args.pipelines = [int(p) for p in args.pipelines.split(",")]
    if args.seconds is None:
        args.seconds = 10.0 if args.threads else 3.0
    if args.pin:
        cpus = args.pin.split(",")
        if len(cpus) != 2 or not shutil.which("taskset"):
            ap.error("--pin wants two CPU lists, S,C, and taskset")
        PIN["server"] = ["taskset", "-c", cpus[0]]
        PIN["client"] = ["taskset", "-c", cpus[1]]
    if args.quick:
        args.rounds = 1
        args.memory_keys = min(args.memory_keys, 100000)
        args.type_keys = min(args.type_keys, 100000)
    for path in (args.tessera, args.redis, BENCHMARK):
        if not os.access(path, os.X_OK):
            ap.error("not executable: %s" % path)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    servers = [Server("tessera", args.tessera), Server("redis", args.redis)]
    results, mem, types = [], None, None
    try:
        for srv in servers:
            srv.start()
        log("tessera %s on port %d, redis %s on port %d" % (
            args.tessera, servers[0].port, args.redis, servers[1].port))
        results = throughput(servers, args)
    finally:
        for srv in servers:
            if srv.proc is not None and not srv.alive():
                log("%s exited with status %s; log:\n%s" % (
                    srv.name, srv.proc.returncode, srv.log_tail()))
            srv.cleanup()
    if not args.no_memory:
        mem = memory(args)
        if args.type_keys:
            types = memory_types(args)
    print("setup: %s, redis-benchmark --threads %d, -c %d, median of %d round(s)" % (
        "servers on CPU %s, client on CPU %s" % tuple(args.pin.split(",")) if args.pin
        else "no CPU pinning", args.threads, args.clients, args.rounds))
    print(table(results, mem, types))
    if args.json:
        doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
               "host": os.uname().nodename, "cpus": os.cpu_count(),
               "tessera": args.tessera, "redis": args.redis,
               "rounds": args.rounds, "clients": args.clients,
               "threads": args.threads, "pin": args.pin,
               "seconds": args.seconds, "quick": args.quick,
               "throughput": results, "memory": mem, "memory_types": types}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
        log("wrote %s" % args.json)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        log("bench: %s" % e)
        sys.exit(1)
