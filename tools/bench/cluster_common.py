#!/usr/bin/env python3
"""
cluster_common.py — what the cluster benchmarks (cluster_bench.py,
failover_bench.py, reshard_bench.py, and fullsync_bench.py with standalone
nodes) share: a small RESP client, cluster
nodes started from a binary (tessera-server or redis-server, same settings),
`redis-cli --cluster create`, waiting for a stable cluster, key slots, the
CPU time of a process (also used by bench.py), and the median/percentile/table
helpers.

Owns: the processes it starts (every Node is in a registry; cleanup_all()
stops them, and install_signal_handlers() makes SIGTERM/SIGINT run it).
Must not: touch a process it did not start, bind anything but 127.0.0.1,
wait without a deadline. It is imported, not run.

Ports: client ports are drawn in 21000-22767 so that the bus port
(port + 10000, the default of both servers) lands in 31000-32767, below the
Linux ephemeral range (32768-60999); both must be free when picked.
"""
import argparse
import binascii
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

REPO = Path(__file__).resolve().parents[2]
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
BENCHMARK = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"
TASKSET = shutil.which("taskset") or "/usr/bin/taskset"
DEFAULT_TESSERA = os.environ.get("TESSERA_BIN", str(REPO / "src" / "tessera-server"))
DEFAULT_REDIS = os.environ.get("REDIS_BIN", "/usr/bin/redis-server")

PORT_LO, PORT_HI = 21000, 22767
BUS_OFFSET = 10000


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def write_json(path, doc):
    """The report as JSON, for --json."""
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, default=list)
    log("wrote %s" % path)


def run_main(main, name):
    """Exit with main()'s status; a run that could not be measured exits 1 with its reason."""
    try:
        sys.exit(main())
    except RuntimeError as e:
        log("%s: %s" % (name, e))
        sys.exit(1)


# ---------------------------------------------------------------- ports

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of pid (all threads), in seconds; None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


_rng = random.Random(os.getpid() ^ time.monotonic_ns())


def pick_port(taken=()):
    """A client port in PORT_LO..PORT_HI whose bus port is free as well."""
    for _ in range(500):
        port = _rng.randint(PORT_LO, PORT_HI)
        if port in taken or port + BUS_OFFSET in taken:
            continue
        if port_free(port) and port_free(port + BUS_OFFSET):
            return port
    raise RuntimeError("no free port pair in %d-%d" % (PORT_LO, PORT_HI))


# ---------------------------------------------------------------- RESP client

class RespError(Exception):
    """An error reply (the text after '-')."""


class Conn:
    """One connection to 127.0.0.1:port speaking RESP2. call() returns the
    reply (bytes, int, list, None); an error reply is returned as a RespError
    instance when errors=True, raised otherwise."""

    def __init__(self, port, timeout=10.0):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    @staticmethod
    def encode(*args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(parts)

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("connection closed by server on port %d" % self.port)
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def read_reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read_reply() for _ in range(n)]
        raise ConnectionError("unexpected reply type %r from port %d" % (line[:20], self.port))

    def call(self, *args, errors=False):
        self.sock.sendall(self.encode(*args))
        reply = self.read_reply()
        if isinstance(reply, RespError) and not errors:
            raise reply
        return reply


def call(port, *args, timeout=10.0):
    """One command on a fresh connection; raises RespError on an error reply."""
    c = Conn(port, timeout)
    try:
        return c.call(*args)
    finally:
        c.close()


def info(port, section=None, timeout=10.0):
    raw = call(port, *(["INFO", section] if section else ["INFO"]), timeout=timeout)
    out = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


# ---------------------------------------------------------------- key slots

def crc16(data):
    """CRC16-CCITT (XMODEM), the cluster's key hash: binascii.crc_hqx with
    initial value 0 is exactly that (check value 0x31C3 for b"123456789")."""
    return binascii.crc_hqx(data, 0)


def key_slot(key):
    """The cluster slot of key (bytes), hash tags included."""
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16(key) & 16383


def key_in_slot(slot, prefix=b"k", limit=200000):
    """A key (bytes) that hashes to slot."""
    for i in range(limit):
        k = b"%s:%d" % (prefix, i)
        if key_slot(k) == slot:
            return k
    raise RuntimeError("no key for slot %d within %d tries" % (slot, limit))


# ---------------------------------------------------------------- processes

_REGISTRY = []


class Node:
    """One cluster-enabled server process (tessera or redis, same flags)."""

    def __init__(self, impl, binary, workdir, extra=(), cpus=None, cluster=True):
        self.impl = impl
        self.cluster = cluster  # False: a standalone server (fullsync_bench.py)
        self.binary = str(binary)
        self.dir = tempfile.mkdtemp(prefix="cb-%s-" % impl, dir=workdir)
        self.extra = list(extra)
        self.cpus = cpus
        self.port = None
        self.proc = None
        self.node_id = None
        self.killed = False

    @property
    def bus_port(self):
        return self.port + BUS_OFFSET

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def start(self, taken=(), deadline=15.0):
        args = None
        for _ in range(4):
            self.port = pick_port(taken)
            args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                    "--dir", self.dir, "--save", "", "--appendonly", "no"]
            if self.cluster:
                args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            args += self.extra
            if self.cpus is not None:
                args = [TASKSET, "-c", self.cpus] + args  # taskset execs: pid is the server
            with open(os.path.join(self.dir, "server.log"), "ab") as logf:
                self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf,
                                             stderr=subprocess.STDOUT, cwd=self.dir)
            if self not in _REGISTRY:
                _REGISTRY.append(self)
            end = time.monotonic() + deadline
            while time.monotonic() < end and self.proc.poll() is None:
                try:
                    if call(self.port, "PING", timeout=1) == b"PONG":
                        if self.cluster:
                            self.node_id = call(self.port, "CLUSTER", "MYID").decode()
                        return self
                except (OSError, RespError):
                    pass
                time.sleep(0.05)
            self.stop()
            if "in use" not in self.log_tail():
                break
        raise RuntimeError("%s did not start (%s); log:\n%s" % (
            self.impl, " ".join(args), self.log_tail()))

    def log_tail(self, n=3000):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        """SIGKILL and reap; the node stays in the registry for cleanup."""
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.killed = True

    def set_cpus(self, cpus):
        if self.alive():
            subprocess.run([TASKSET, "-p", "-c", cpus, str(self.pid)], check=True,
                           capture_output=True, timeout=10)

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
        if self in _REGISTRY:
            _REGISTRY.remove(self)


def cleanup_all():
    for node in list(_REGISTRY):
        try:
            node.cleanup()
        except Exception as e:  # keep stopping the others
            log("cleanup of %s:%s failed: %s" % (node.impl, node.port, e))


def install_signal_handlers():
    """SIGTERM/SIGINT raise SystemExit so that finally blocks stop the nodes."""
    def handler(signum, frame):
        raise SystemExit("interrupted by signal %d" % signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run(cmd, timeout, what, check=True, **kw):
    """subprocess.run with a timeout and a readable error."""
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise RuntimeError("%s took more than %ss: %s" % (what, timeout, " ".join(cmd)))
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (
            what, p.returncode, p.stdout.decode("utf-8", "replace")[-1500:],
            p.stderr.decode("utf-8", "replace")[-1500:]))
    return p


# ---------------------------------------------------------------- cluster

def parse_nodes(raw):
    """CLUSTER NODES text -> list of dicts (id, port, flags, master, slots)."""
    out = []
    for line in raw.decode("utf-8", "replace").splitlines():
        f = line.split()
        if len(f) < 8:
            continue
        addr = f[1].split("@")[0]
        slots = set()
        for s in f[8:]:
            if s.startswith("["):
                continue  # migrating/importing marker
            a, _, b = s.partition("-")
            slots.update(range(int(a), int(b or a) + 1))
        out.append({"id": f[0], "port": int(addr.rsplit(":", 1)[1]),
                    "flags": set(f[2].split(",")), "master": f[3],
                    "link": f[7], "slots": slots})
    return out


class Cluster:
    """N nodes of one implementation on 127.0.0.1."""

    def __init__(self, impl, binary, n, extra=(), cpus=None):
        self.impl = impl
        self.binary = binary
        self.workdir = tempfile.mkdtemp(prefix="clusterbench-%s-" % impl)
        self.nodes = [Node(impl, binary, self.workdir, extra, cpus) for _ in range(n)]

    def start(self):
        taken = set()
        for node in self.nodes:
            node.start(taken)
            taken.update((node.port, node.bus_port))
        return self

    def create(self, replicas=0, members=None, timeout=120):
        members = members if members is not None else self.nodes
        cmd = [REDIS_CLI, "--cluster", "create"] + ["127.0.0.1:%d" % n.port for n in members]
        cmd += ["--cluster-replicas", str(replicas), "--cluster-yes"]
        run(cmd, timeout, "%s: redis-cli --cluster create" % self.impl)

    def by_port(self, port):
        for n in self.nodes:
            if n.port == port:
                return n
        raise KeyError(port)

    def view(self, node):
        return parse_nodes(call(node.port, "CLUSTER", "NODES"))

    def stable_problem(self, members):
        """None if every member has cluster_state ok, knows exactly the
        members, sees no flag other than master/slave/myself, every replica's
        link is up, and all agree on the slot map; else a description."""
        want = {n.node_id for n in members}
        maps = []
        for node in members:
            ci = info_cluster(node.port)
            if ci.get("cluster_state") != "ok":
                return "%d: cluster_state %s" % (node.port, ci.get("cluster_state"))
            view = self.view(node)
            ids = {v["id"] for v in view}
            if ids != want:
                return "%d knows %d nodes, want %d" % (node.port, len(ids), len(want))
            for v in view:
                bad = v["flags"] - {"master", "slave", "myself"}
                if bad or v["link"] != "connected":
                    return "%d sees %s as %s/%s" % (node.port, v["port"], ",".join(
                        sorted(v["flags"])), v["link"])
            maps.append(sorted((v["id"], min(v["slots"]), len(v["slots"]))
                               for v in view if v["slots"]))
            if "slave" in next(v for v in view if "myself" in v["flags"])["flags"]:
                rep = info(node.port, "replication")
                if rep.get("master_link_status") != "up":
                    return "%d: master_link_status %s" % (node.port, rep.get("master_link_status"))
        if any(m != maps[0] for m in maps):
            return "nodes disagree about the slot map"
        return None

    def wait_stable(self, members=None, deadline=60.0):
        members = members if members is not None else self.nodes
        end = time.monotonic() + deadline
        problem = "not checked"
        while time.monotonic() < end:
            try:
                problem = self.stable_problem(members)
            except (OSError, RespError) as e:
                problem = str(e)
            if problem is None:
                return
            time.sleep(0.1)
        raise RuntimeError("%s cluster not stable after %ss: %s" % (self.impl, deadline, problem))

    def check_alive(self, skip=()):
        for n in self.nodes:
            if n not in skip and n.proc is not None and not n.alive():
                raise RuntimeError("%s node %d exited with status %s; log:\n%s" % (
                    self.impl, n.port, n.proc.returncode, n.log_tail()))

    def cleanup(self):
        for n in self.nodes:
            if n.proc is not None and not n.alive() and not n.killed:
                log("%s node %d had exited (status %s); log tail:\n%s" % (
                    self.impl, n.port, n.proc.returncode, n.log_tail(1500)))
            n.cleanup()
        shutil.rmtree(self.workdir, ignore_errors=True)


def info_cluster(port):
    raw = call(port, "CLUSTER", "INFO")
    out = {}
    for line in raw.decode("utf-8", "replace").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


# ---------------------------------------------------------------- figures

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def percentile(sorted_xs, p):
    """Nearest-rank percentile of an ascending list (p in 0..100)."""
    if not sorted_xs:
        return None
    k = max(0, min(len(sorted_xs) - 1, int(round(p / 100.0 * len(sorted_xs) + 0.5)) - 1))
    return sorted_xs[k]


def ratio(t, r):
    return (t / r) if (t is not None and r) else None


def fmt(x, spec="%.0f"):
    return spec % x if x is not None else "n/a"


def table(headers, rows):
    """Plain text table, columns right-aligned except the first."""
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for r in cells:
        lines.append("  ".join((c.ljust(w) if i == 0 else c.rjust(w))
                               for i, (c, w) in enumerate(zip(r, widths))))
    return "\n".join(lines)


def tool_parser(doc):
    """The argument parser every bench tool starts from: its docstring's first
    paragraph as description, --tessera and --redis binaries."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tessera", default=DEFAULT_TESSERA)
    ap.add_argument("--redis", default=DEFAULT_REDIS)
    return ap


def run_trials(args, trial):
    """args.trials rounds of trial(impl, binary) -> list of results, Tessera
    and Redis alternating which goes first; every process is stopped at the
    end. Returns {"tessera": [...], "redis": [...]}."""
    install_signal_handlers()
    impls = [("tessera", args.tessera), ("redis", args.redis)]
    runs = {"tessera": [], "redis": []}
    try:
        for i in range(args.trials):
            for impl, binary in order_for(i, impls):
                runs[impl].extend(trial(impl, binary))
    finally:
        cleanup_all()
    return runs


def order_for(round_no, impls):
    """Alternate which implementation goes first from round to round."""
    return impls if round_no % 2 == 0 else list(reversed(impls))


def check_executables(ap, *paths):
    for path in paths:
        if not os.access(path, os.X_OK):
            ap.error("not executable: %s" % path)
