#!/usr/bin/env python3
"""
cluster_bench.py — `redis-benchmark --cluster` SET and GET against 3 Tessera
masters and 3 redis-server masters (both cluster-enabled, `--save ''
--appendonly no`, joined by `redis-cli --cluster create --cluster-replicas 0`),
plus (--bus) the cluster-bus traffic of idle clusters of 6 and 30 nodes.

Owns: starting both clusters, driving redis-benchmark, CPU pinning, the
adaptive request count, the medians and the report.
Must not: run anything without a timeout, leave a node behind, or touch a
process it did not start. It is a tool, not a test: it never fails on a
ratio, only on a run that could not be measured.

Making the client not the bottleneck (the machine has 2 cores): by default
the servers of both clusters are pinned to CPU 1 and redis-benchmark
(`--threads 2`) to CPU 0, so the three nodes under test share one core and
the client has the other. Each run also records the CPU used by the client
and by the three nodes during the middle of the run: server CPU near 100%
and client CPU below it says the servers are what is measured. At -P 1 the
client costs about as much per request as the server, so on 2 cores it
saturates first; the figure that still compares the servers there is
"server us/req", the CPU time of the three nodes per command processed
(from /proc/<pid>/stat and INFO stats over the same window).
redis-benchmark in cluster mode always runs threaded (one thread per master
when --threads is absent) and its threads notice the end of a run on a
250 ms timer, so its rps carries up to 250 ms of error per run; the
"window" column is therefore measured as well: commands processed by the
three nodes (INFO stats) over the middle 60% of the run, per second.
--throttle SIDE is the sanity check that the figure discriminates: it pins
SIDE's nodes to the client's CPU, so SIDE should come out far slower.

Each round runs every (test, pipeline) on both clusters, alternating which
one goes first from round to round; the table shows the median over rounds,
Tessera/Redis and every round's figure. Before each run all masters are
flushed; GET first gets its keys from an unmeasured SET run.

--bus: for each size in --bus-nodes, a fresh idle cluster of that many
masters per implementation and round; after --bus-settle seconds, the bytes
sent and received on every bus TCP connection of every node (`ss -tinp`
bytes_sent/bytes_received, sockets owned by the node's pid with a bus port
at either end) are read twice, --bus-seconds apart; the figure is bytes sent
per node per second: the mean over nodes (equal to the mean received, as all
bus traffic stays inside the cluster), and the least and most busy node.
Connections that appear or vanish in between are counted and reported (they
make the figure a lower bound).

Usage:  make bench-cluster      python3 tools/bench/cluster_bench.py --rounds 3
        python3 tools/bench/cluster_bench.py --quick
        python3 tools/bench/cluster_bench.py --throttle redis --quick   (sanity check)
        python3 tools/bench/cluster_bench.py --bus --bus-nodes 6,30 --rounds 2
"""
import csv
import io
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster_common as cc  # noqa: E402


def commands_processed(nodes):
    return sum(int(cc.info(n.port, "stats")["total_commands_processed"]) for n in nodes)


class Sampler(threading.Thread):
    """Reads client/server CPU and server command counters at two instants
    inside the run, then computes rates over that window."""

    def __init__(self, nodes, client_pid, start_after, window):
        super().__init__(daemon=True)
        self.nodes, self.client_pid = nodes, client_pid
        self.start_after, self.window = start_after, window
        self.done = threading.Event()
        self.result = None

    def snapshot(self):
        return (time.monotonic(), cc.cpu_seconds(self.client_pid),
                sum(cc.cpu_seconds(n.pid) or 0.0 for n in self.nodes),
                commands_processed(self.nodes))

    def run(self):
        try:
            if self.done.wait(self.start_after):
                return
            a = self.snapshot()
            if self.done.wait(self.window):
                return
            b = self.snapshot()
            if self.done.is_set() or a[1] is None or b[1] is None:
                return
            dt = b[0] - a[0]
            cmds = b[3] - a[3]
            self.result = {"client_cpu": 100.0 * (b[1] - a[1]) / dt,
                           "server_cpu": 100.0 * (b[2] - a[2]) / dt,
                           "window_rps": cmds / dt,
                           "server_us": 1e6 * (b[2] - a[2]) / cmds if cmds else None}
        except (OSError, cc.RespError, KeyError, ValueError):
            self.result = None


# ---------------------------------------------------------------- benchmark

def benchmark_cmd(cluster, test, pipeline, requests, args):
    cmd = [cc.BENCHMARK, "--cluster", "-h", "127.0.0.1", "-p", str(cluster.nodes[0].port),
           "-c", str(args.clients), "-P", str(pipeline), "-n", str(requests), "-t", test,
           "--csv"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.keyspace:
        cmd += ["-r", str(args.keyspace)]
    if args.client_cpus is not None:
        cmd = [cc.TASKSET, "-c", args.client_cpus] + cmd
    return cmd


def parse_rps(out, test, impl):
    want = test.upper()
    for row in csv.reader(io.StringIO(out)):
        if row and row[0].split(" ")[0] == want:
            return float(row[1])
    raise RuntimeError("%s: no %s row in redis-benchmark output:\n%s" % (impl, want, out[-2000:]))


def run_benchmark(cluster, test, pipeline, requests, args, expect_seconds=None):
    """rps reported by redis-benchmark, plus the window figures if
    expect_seconds is given (None when the run ended before the window)."""
    cmd = benchmark_cmd(cluster, test, pipeline, requests, args)
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    sampler = None
    if expect_seconds:
        sampler = Sampler(cluster.nodes, proc.pid, 0.2 * expect_seconds, 0.6 * expect_seconds)
        sampler.start()
    try:
        out, err = proc.communicate(timeout=args.run_timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=10)
        raise RuntimeError("%s: redis-benchmark %s -P %d -n %d took more than %ds" % (
            cluster.impl, test, pipeline, requests, args.run_timeout))
    except BaseException:  # interrupted: our client goes with us
        proc.kill()
        proc.wait(timeout=10)
        raise
    finally:
        if sampler:
            sampler.done.set()
            sampler.join(timeout=30)
    if proc.returncode != 0:
        raise RuntimeError("%s: redis-benchmark failed (%d): %s" % (
            cluster.impl, proc.returncode, err.decode("utf-8", "replace")[-800:]))
    rps = parse_rps(out.decode("utf-8", "replace"), test, cluster.impl)
    return rps, (sampler.result if sampler else None)


def flush(cluster):
    for n in cluster.nodes:
        cc.call(n.port, "FLUSHALL", timeout=60)


def measure(cluster, test, pipeline, requests, args, expect_seconds=None):
    flush(cluster)
    if test == "get":
        run_benchmark(cluster, "set", 16, requests, args)
    result = run_benchmark(cluster, test, pipeline, requests, args, expect_seconds)
    cluster.check_alive()
    return result


def choose_requests(clusters, test, pipeline, args):
    if args.requests:
        return args.requests
    scale = 4 if pipeline > 1 else 1
    if args.quick:
        return args.quick_requests * scale
    probe = args.probe_requests * scale
    best = max(measure(c, test, pipeline, probe, args)[0] for c in clusters)
    return max(probe, min(int(best * args.seconds * 1.1), args.max_requests))


def start_clusters(args):
    clusters = []
    for impl, binary in (("tessera", args.tessera), ("redis", args.redis)):
        cpus = args.server_cpus
        if args.throttle == impl:
            cpus = args.client_cpus if args.client_cpus is not None else "0"
        c = cc.Cluster(impl, binary, 3, cpus=cpus)
        clusters.append(c)
        c.start()
        c.create(replicas=0)
        c.wait_stable()
        cc.log("%s: 3 masters on ports %s (cpus %s)" % (
            impl, ",".join(str(n.port) for n in c.nodes), cpus or "any"))
    return clusters


def throughput(args):
    clusters = start_clusters(args)
    try:
        plan = [(t, p) for t in args.tests for p in args.pipelines]
        sizes = {}
        for test, pipeline in plan:
            sizes[(test, pipeline)] = choose_requests(clusters, test, pipeline, args)
            cc.log("probe %-4s -P %-3d -> -n %d" % (test, pipeline, sizes[(test, pipeline)]))
        samples = {k: {c.impl: [] for c in clusters} for k in plan}
        for rnd in range(args.rounds):
            for test, pipeline in plan:
                n = sizes[(test, pipeline)]
                for c in cc.order_for(rnd, clusters):
                    expect = None if args.quick else args.seconds * 0.8
                    rps, win = measure(c, test, pipeline, n, args, expect)
                    samples[(test, pipeline)][c.impl].append({"rps": rps, **(win or {})})
                    cc.log("round %d  %-4s -P %-3d %-8s %10.0f rps%s" % (
                        rnd + 1, test, pipeline, c.impl, rps,
                        "  window %.0f rps, client cpu %.0f%%, servers cpu %.0f%%" % (
                            win["window_rps"], win["client_cpu"], win["server_cpu"])
                        if win else ""))
        return [summarize(test, pipeline, sizes[(test, pipeline)], samples[(test, pipeline)],
                          args) for test, pipeline in plan]
    finally:
        for c in clusters:
            c.cleanup()


def summarize(test, pipeline, requests, s, args):
    row = {"test": test.upper(), "pipeline": pipeline, "requests": requests,
           "clients": args.clients, "threads": args.threads}
    for impl in ("tessera", "redis"):
        runs = s[impl]
        row[impl] = runs
        for key in ("rps", "window_rps", "client_cpu", "server_cpu", "server_us"):
            row["%s_%s_median" % (impl, key)] = cc.median([r.get(key) for r in runs])
    row["ratio"] = cc.ratio(row["tessera_rps_median"], row["redis_rps_median"])
    row["window_ratio"] = cc.ratio(row["tessera_window_rps_median"],
                                   row["redis_window_rps_median"])
    row["server_us_ratio"] = cc.ratio(row["tessera_server_us_median"],
                                      row["redis_server_us_median"])
    return row


def throughput_table(results):
    def trials(runs, key, scale=1000.0, spec="%.0f"):
        return " ".join(cc.fmt(r.get(key) / scale if r.get(key) is not None else None, spec)
                        for r in runs)
    rows = []
    for r in results:
        rows.append([r["test"], r["pipeline"], r["requests"],
                     cc.fmt(r["tessera_rps_median"]), cc.fmt(r["redis_rps_median"]),
                     cc.fmt(r["ratio"], "%.2f"),
                     cc.fmt(r["tessera_window_rps_median"]), cc.fmt(r["redis_window_rps_median"]),
                     cc.fmt(r["window_ratio"], "%.2f"),
                     trials(r["tessera"], "rps"), trials(r["redis"], "rps")])
    out = [cc.table(["test", "-P", "requests", "tessera rps", "redis rps", "T/R",
                     "T window", "R window", "wT/R", "tessera trials (k)", "redis trials (k)"],
                    rows)]
    cpu_rows = []
    for r in results:
        for impl in ("tessera", "redis"):
            cpu_rows.append(["%s -P %d" % (r["test"], r["pipeline"]), impl,
                             cc.fmt(r["%s_client_cpu_median" % impl]),
                             cc.fmt(r["%s_server_cpu_median" % impl]),
                             cc.fmt(r["%s_server_us_median" % impl], "%.2f"),
                             cc.fmt(r["server_us_ratio"], "%.2f") if impl == "tessera" else "",
                             trials(r[impl], "window_rps"),
                             trials(r[impl], "server_us", 1.0, "%.2f")])
    out.append("")
    out.append("During the window (medians): CPU in percent of one core, server CPU per "
               "request in microseconds (all 3 nodes), per-trial window rps and us/req:")
    out.append(cc.table(["run", "impl", "client %", "3 servers %", "server us/req", "T/R",
                         "window trials (k)", "us/req trials"], cpu_rows))
    return "\n".join(out)


# ---------------------------------------------------------------- bus traffic

SS_PID = re.compile(r"pid=(\d+),")
SS_SENT = re.compile(r"\bbytes_sent:(\d+)")
SS_RECV = re.compile(r"\bbytes_received:(\d+)")


def bus_counters(nodes):
    """{(pid, local, peer): (sent, received)} for every established TCP
    socket of our nodes with a bus port at either end."""
    p = cc.run(["ss", "-tinpH", "state", "established"], 30, "ss")
    pids = {n.pid for n in nodes}
    bus_ports = {str(n.bus_port) for n in nodes}
    out = {}
    lines = p.stdout.decode("utf-8", "replace").splitlines()
    i = 0
    while i < len(lines):
        head = lines[i]
        detail = lines[i + 1] if i + 1 < len(lines) and lines[i + 1][:1] in " \t" else ""
        i += 2 if detail else 1
        f = head.split()
        if len(f) < 4:
            continue
        local, peer = f[2], f[3]
        m = SS_PID.search(head)
        if not m or int(m.group(1)) not in pids:
            continue
        if local.rsplit(":", 1)[1] not in bus_ports and peer.rsplit(":", 1)[1] not in bus_ports:
            continue
        s, r = SS_SENT.search(detail), SS_RECV.search(detail)
        out[(int(m.group(1)), local, peer)] = (int(s.group(1)) if s else 0,
                                                int(r.group(1)) if r else 0)
    return out


def bus_once(impl, binary, nnodes, args):
    c = cc.Cluster(impl, binary, nnodes,
                   extra=["--cluster-node-timeout", str(args.bus_node_timeout)])
    try:
        c.start()
        c.create(replicas=0)
        c.wait_stable(deadline=120)
        time.sleep(args.bus_settle)
        a, t0 = bus_counters(c.nodes), time.monotonic()
        time.sleep(args.bus_seconds)
        b, t1 = bus_counters(c.nodes), time.monotonic()
        c.check_alive()
        dt = t1 - t0
        both = set(a) & set(b)
        sent = {n.pid: 0 for n in c.nodes}
        recv = {n.pid: 0 for n in c.nodes}
        for k in both:
            sent[k[0]] += b[k][0] - a[k][0]
            recv[k[0]] += b[k][1] - a[k][1]
        res = {"sent_per_node": sum(sent.values()) / dt / nnodes,
               "recv_per_node": sum(recv.values()) / dt / nnodes,
               "sent_max_node": max(sent.values()) / dt,
               "sent_min_node": min(sent.values()) / dt,
               "sockets": len(both), "sockets_changed": len(set(a) ^ set(b)),
               "seconds": dt}
        cc.log("bus %-7s %2d nodes: sent %.0f B/s per node (min %.0f, max %.0f), recv %.0f B/s "
               "(%d sockets, %d changed)" % (
                   impl, nnodes, res["sent_per_node"], res["sent_min_node"],
                   res["sent_max_node"], res["recv_per_node"], res["sockets"],
                   res["sockets_changed"]))
        return res
    finally:
        c.cleanup()


def bus(args):
    impls = [("tessera", args.tessera), ("redis", args.redis)]
    results = []
    for nnodes in args.bus_nodes:
        runs = {"tessera": [], "redis": []}
        for rnd in range(args.rounds):
            for impl, binary in cc.order_for(rnd, impls):
                runs[impl].append(bus_once(impl, binary, nnodes, args))
        row = {"nodes": nnodes, "node_timeout": args.bus_node_timeout, "runs": runs}
        for impl in runs:
            for key in ("sent_per_node", "recv_per_node", "sent_min_node", "sent_max_node"):
                row["%s_%s" % (impl, key)] = cc.median([r[key] for r in runs[impl]])
        row["sent_ratio"] = cc.ratio(row["tessera_sent_per_node"], row["redis_sent_per_node"])
        results.append(row)
    return results


def bus_table(results):
    rows = []
    for r in results:
        for key, name in (("sent_per_node", "sent (mean)"), ("sent_min_node", "sent (min node)"),
                          ("sent_max_node", "sent (max node)")):
            t, rd = r["tessera_" + key], r["redis_" + key]
            rows.append([r["nodes"], name, cc.fmt(t), cc.fmt(rd), cc.fmt(cc.ratio(t, rd), "%.2f"),
                         " ".join(cc.fmt(x[key]) for x in r["runs"]["tessera"]),
                         " ".join(cc.fmt(x[key]) for x in r["runs"]["redis"])])
    return ("bus bytes/s per node (idle, all masters, cluster-node-timeout %d, median of rounds)\n"
            % results[0]["node_timeout"] if results else "") + cc.table(
        ["nodes", "dir", "tessera B/s", "redis B/s", "T/R", "tessera trials", "redis trials"],
        rows)


# ---------------------------------------------------------------- main

def parse_args(argv):
    ap = cc.tool_parser(__doc__)
    ap.add_argument("--tests", default="set,get", help="set and/or get (default set,get)")
    ap.add_argument("--pipelines", default="1,16", help="pipeline depths (-P), default 1,16")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2,
                    help="redis-benchmark --threads (0: its cluster default, one per master)")
    ap.add_argument("--seconds", type=float, default=5.0,
                    help="minimum duration of each run (default 5)")
    ap.add_argument("--requests", type=int, default=0, help="fixed -n instead of probing")
    ap.add_argument("--probe-requests", type=int, default=200000)
    ap.add_argument("--max-requests", type=int, default=20000000)
    ap.add_argument("--keyspace", type=int, default=100000, help="redis-benchmark -r")
    ap.add_argument("--server-cpus", default="1",
                    help="taskset CPU list of every node ('' = no pinning; default 1)")
    ap.add_argument("--client-cpus", default="0",
                    help="taskset CPU list of redis-benchmark ('' = no pinning; default 0)")
    ap.add_argument("--no-pin", action="store_true",
                    help="same as --server-cpus '' --client-cpus ''")
    ap.add_argument("--throttle", choices=["tessera", "redis"],
                    help="sanity check: pin that side's nodes onto the client's CPUs")
    ap.add_argument("--quick", action="store_true",
                    help="one round, fixed small request counts, no window figures")
    ap.add_argument("--quick-requests", type=int, default=200000)
    ap.add_argument("--bus", action="store_true", help="measure idle bus traffic instead")
    ap.add_argument("--bus-nodes", default="6,30", help="cluster sizes for --bus (default 6,30)")
    ap.add_argument("--bus-seconds", type=float, default=30.0)
    ap.add_argument("--bus-settle", type=float, default=5.0)
    ap.add_argument("--bus-node-timeout", type=int, default=15000)
    ap.add_argument("--run-timeout", type=int, default=300,
                    help="timeout in seconds of any single benchmark run")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = ap.parse_args(argv)
    args.tests = [t.strip().lower() for t in args.tests.split(",") if t.strip()]
    for t in args.tests:
        if t not in ("set", "get"):
            ap.error("unknown test %r (set, get)" % t)
    args.pipelines = [int(p) for p in args.pipelines.split(",")]
    args.bus_nodes = [int(n) for n in args.bus_nodes.split(",")]
    if args.no_pin:
        args.server_cpus = args.client_cpus = ""
    args.server_cpus = args.server_cpus or None
    args.client_cpus = args.client_cpus or None
    if args.quick:
        args.rounds = 1
    cc.check_executables(ap, args.tessera, args.redis, cc.BENCHMARK, cc.REDIS_CLI)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cc.install_signal_handlers()
    doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": os.uname().nodename,
           "cpus": os.cpu_count(), "tessera": args.tessera, "redis": args.redis,
           "rounds": args.rounds}
    try:
        if args.bus:
            results = bus(args)
            print(bus_table(results))
            doc["bus"] = results
        else:
            setup = "servers on CPU %s, redis-benchmark on CPU %s, --threads %s, -c %d%s" % (
                args.server_cpus or "any", args.client_cpus or "any", args.threads or "default",
                args.clients, ", THROTTLED: %s nodes on the client's CPUs" % args.throttle
                if args.throttle else "")
            results = throughput(args)
            print("cluster of 3 masters each; " + setup)
            print(throughput_table(results))
            doc.update({"setup": setup, "throughput": results})
    finally:
        cc.cleanup_all()
    if args.json:
        cc.write_json(args.json, doc)
    return 0


if __name__ == "__main__":
    cc.run_main(main, "cluster_bench")
