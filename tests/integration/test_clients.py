"""
test_clients.py — tessera-server driven by real clients and real process
control: redis-py, redis-cli (plain, --pipe, -x), redis-benchmark, RESP3,
client limits (output buffer, query buffer, idle timeout), SHUTDOWN and
SIGTERM with a pidfile, config file errors, -v and --help.

Owns: these end-to-end behaviours. Must not: depend on timing finer than
the deadlines below, or leave processes behind (every subprocess has a
timeout; servers come from the conftest fixtures).

Run against redis-server (TESSERA_BIN=/usr/bin/redis-server) to check the
tests themselves.
"""
import os
import re
import signal
import socket
import subprocess
import time

import pytest
import redis

from conftest import TESSERA_BIN, raw_ex

REDIS_CLI = "/usr/bin/redis-cli"
REDIS_BENCHMARK = "/usr/bin/redis-benchmark"


def run(args, timeout=60, **kw):
    return subprocess.run(args, capture_output=True, timeout=timeout, **kw)


def wait_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    pytest.fail("timed out after %.1fs waiting for %s" % (timeout, what))


# ---------------------------------------------------------------- redis-py

def test_redis_py_set_get_mget(tessera):
    r = tessera.client()
    assert r.ping() is True
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.get("nosuch") is None
    r.mset({"a": "1", "b": "2"})
    assert r.mget(["a", "nosuch", "b"]) == [b"1", None, b"2"]
    assert r.incr("n") == 1
    assert r.incrby("n", 41) == 42
    assert r.incrbyfloat("f", 1.5) == 1.5
    assert r.append("k", "w") == 2
    assert r.strlen("k") == 2
    assert r.getrange("k", 0, 0) == b"v"
    assert r.delete("a", "b", "nosuch") == 2
    assert r.exists("k", "n") == 2
    assert r.type("k") == b"string"
    big = os.urandom(300000)
    r.set("big", big)
    assert r.get("big") == big


def test_redis_py_pipeline_1000(tessera):
    r = tessera.client()
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.set("p:%d" % i, i)
    assert pipe.execute() == [True] * 1000
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.get("p:%d" % i)
    assert pipe.execute() == [str(i).encode() for i in range(1000)]
    assert r.dbsize() == 1000


def test_redis_py_expire(tessera):
    r = tessera.client()
    r.set("e", "v", ex=100)
    assert r.ttl("e") in (99, 100)
    assert 99000 <= r.pttl("e") <= 100000
    assert r.persist("e") is True
    assert r.ttl("e") == -1
    assert r.expire("e", 50) is True
    assert r.ttl("e") in (49, 50)
    r.set("short", "v", px=150)
    assert r.get("short") == b"v"
    wait_until(lambda: r.get("short") is None, 3, "a 150 ms key to expire")
    assert r.exists("short") == 0
    assert r.ttl("nosuch") == -2


def test_redis_py_scan_iter(tessera):
    r = tessera.client()
    pipe = r.pipeline(transaction=False)
    for i in range(2000):
        pipe.set("k:%d" % i, i)
    for i in range(100):
        pipe.set("other:%d" % i, i)
    pipe.execute()
    keys = list(r.scan_iter(match="k:*", count=37))
    assert len(keys) >= 2000
    assert set(keys) == {("k:%d" % i).encode() for i in range(2000)}
    assert set(r.scan_iter(count=1000)) == set(r.keys("*"))


def test_redis_py_errors(tessera):
    r = tessera.client()
    r.set("s", "abc")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        r.incr("s")
    with pytest.raises(redis.ResponseError, match="unknown command"):
        r.execute_command("NOSUCHCOMMAND", "a")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments"):
        r.execute_command("GET")


# ---------------------------------------------------------------- RESP3

def test_hello3_raw(tessera):
    reply, closed = raw_ex(tessera.port, b"HELLO 3\r\nGET nosuch\r\nPING\r\n")
    assert not closed
    assert reply.startswith(b"%7\r\n$6\r\nserver\r\n")
    assert reply.endswith(b"_\r\n+PONG\r\n")


def test_hello3_redis_py(tessera):
    major = int(redis.__version__.split(".")[0])
    if major < 5:
        pytest.skip("redis-py %s has no protocol=3 (needs 5.0)" % redis.__version__)
    r = tessera.client(protocol=3)
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.get("nosuch") is None


# ---------------------------------------------------------------- redis-cli

def test_redis_cli_plain(tessera):
    p = run([REDIS_CLI, "-p", str(tessera.port), "set", "a", "b"])
    assert p.returncode == 0 and p.stdout == b"OK\n", p
    p = run([REDIS_CLI, "-p", str(tessera.port), "get", "a"])
    assert p.stdout == b"b\n"
    p = run([REDIS_CLI, "-p", str(tessera.port), "incr", "n"])
    assert p.stdout == b"1\n"
    p = run([REDIS_CLI, "-p", str(tessera.port), "get", "nosuch"])
    assert p.stdout == b"\n"
    p = run([REDIS_CLI, "-p", str(tessera.port), "nosuchcmd"])
    assert p.stdout.startswith(b"ERR unknown command 'nosuchcmd'")


def test_redis_cli_pipe_10k(tessera):
    lines = []
    for i in range(10000):
        k, v = b"pipe:%d" % i, b"value-%d" % i
        lines.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
            len(k), k, len(v), v))
    p = run([REDIS_CLI, "-p", str(tessera.port), "--pipe"], input=b"".join(lines),
            timeout=60)
    assert p.returncode == 0, p
    assert b"errors: 0, replies: 10000" in p.stdout, p.stdout
    r = tessera.client()
    assert r.dbsize() == 10000
    assert r.get("pipe:9999") == b"value-9999"


def test_redis_cli_x(tessera):
    p = run([REDIS_CLI, "-p", str(tessera.port), "-x", "set", "fromstdin"],
            input=b"hello\nworld\n")
    assert p.returncode == 0 and p.stdout == b"OK\n", p
    assert tessera.client().get("fromstdin") == b"hello\nworld\n"


# ---------------------------------------------------------------- redis-benchmark

def test_redis_benchmark_set_get(tessera):
    p = run([REDIS_BENCHMARK, "-p", str(tessera.port), "-t", "set,get", "-n", "2000",
             "-q"], timeout=120)
    assert p.returncode == 0, p
    out = p.stdout.decode("utf-8", "replace").replace("\r", "\n")
    for test in ("SET", "GET"):
        m = re.search(r"^%s: ([0-9.]+) requests per second" % test, out, re.M)
        assert m, "no %s result in redis-benchmark output:\n%s" % (test, out)
        assert float(m.group(1)) > 0
    assert tessera.alive()


# ---------------------------------------------------------------- client limits

def test_output_buffer_limit_disconnects(tessera_factory):
    srv = tessera_factory("--client-output-buffer-limit", "normal", "1mb", "0", "0")
    r = srv.client()
    val = b"x" * (512 * 1024)
    r.set("big", val)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    n = 200  # 100 MB of replies that we do not read
    s.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n" * n)
    time.sleep(0.5)
    got, closed = 0, False
    end = time.monotonic() + 20
    while time.monotonic() < end:
        try:
            chunk = s.recv(1 << 20)
        except (ConnectionResetError, socket.timeout):
            closed = True
            break
        if not chunk:
            closed = True
            break
        got += len(chunk)
    s.close()
    assert closed, "the client over the output buffer limit was not disconnected"
    assert got < n * (len(val) + 14)
    assert r.ping() is True  # the server and other clients are fine


def test_query_buffer_limit_disconnects(tessera_factory):
    srv = tessera_factory("--client-query-buffer-limit", "1mb")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000000\r\n")
    closed = False
    try:
        for _ in range(160):  # up to 10 MB, the limit is 1 MB
            s.sendall(b"y" * 65536)
    except (ConnectionResetError, BrokenPipeError):
        closed = True
    if not closed:
        s.settimeout(10)
        try:
            closed = s.recv(100) == b""
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
    s.close()
    assert closed, "a client over client-query-buffer-limit was not disconnected"
    assert srv.client().ping() is True


def test_idle_timeout_closes_idle_clients(tessera_factory):
    srv = tessera_factory("--timeout", "1")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    s.sendall(b"PING\r\n")
    assert s.recv(100) == b"+PONG\r\n"
    start = time.monotonic()
    s.settimeout(6)
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    except socket.timeout:
        pytest.fail("an idle client was still connected 6 s after `timeout 1`")
    waited = time.monotonic() - start
    s.close()
    assert data == b""
    assert 0.9 <= waited <= 5, waited


# ---------------------------------------------------------------- process control

def test_shutdown_nosave_removes_pidfile(tessera_factory, tmp_path):
    pidfile = tmp_path / "tessera.pid"
    srv = tessera_factory("--pidfile", str(pidfile))
    wait_until(pidfile.exists, 5, "the pidfile %s" % pidfile)
    assert int(pidfile.read_text().strip()) == srv.pid
    reply, closed = raw_ex(srv.port, b"SHUTDOWN NOSAVE\r\n", idle=2, timeout=10)
    assert reply == b"" and closed, reply
    rc = srv.wait(10)
    assert rc == 0, "exit status %s after SHUTDOWN NOSAVE" % rc
    assert not pidfile.exists(), "SHUTDOWN left the pidfile behind"


def test_sigterm_exits_cleanly_and_removes_pidfile(tessera_factory, tmp_path):
    pidfile = tmp_path / "tessera.pid"
    srv = tessera_factory("--pidfile", str(pidfile))
    wait_until(pidfile.exists, 5, "the pidfile %s" % pidfile)
    os.kill(srv.pid, signal.SIGTERM)
    rc = srv.wait(10)
    assert rc == 0, "exit status %s after SIGTERM" % rc
    assert not pidfile.exists(), "SIGTERM left the pidfile behind"


def test_config_file_error_names_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("port 0\n# a comment\nbogus-directive yes\n")
    p = run([str(TESSERA_BIN), str(conf)], timeout=10, cwd=str(tmp_path))
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 1, (p.returncode, err)
    assert re.search(r"\b3\b", err), "line number 3 missing from:\n" + err
    assert "bogus-directive" in err, err


def test_config_file_bad_value_names_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("port 0\nmaxmemory abc\n")
    p = run([str(TESSERA_BIN), str(conf)], timeout=10, cwd=str(tmp_path))
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 1, (p.returncode, err)
    assert re.search(r"\b2\b", err) and "maxmemory" in err, err


def test_config_file_missing(tmp_path):
    p = run([str(TESSERA_BIN), str(tmp_path / "nosuch.conf")], timeout=10,
            cwd=str(tmp_path))
    out = (p.stdout + p.stderr).decode("utf-8", "replace")
    assert p.returncode == 1, (p.returncode, out)
    assert "nosuch.conf" in out, out


def test_version_flag():
    for flag in ("-v", "--version"):
        p = run([str(TESSERA_BIN), flag], timeout=10)
        out = p.stdout.decode("utf-8", "replace")
        assert p.returncode == 0, (flag, p)
        assert re.search(r"v=\d+\.\d+\.\d+", out), (flag, out)


def test_help_flag():
    for flag in ("--help", "-h"):
        p = run([str(TESSERA_BIN), flag], timeout=10)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        assert "Usage" in out, (flag, out)
        assert "--port" in out, (flag, out)


def _monitor_commands(port, commands):
    """The command part of every MONITOR line seen while commands run on
    another connection (timestamps and client addresses dropped)."""
    mon = socket.create_connection(("127.0.0.1", port), timeout=5)
    mon.sendall(b"MONITOR\r\n")
    assert mon.recv(64) == b"+OK\r\n"
    r = redis.Redis(port=port)
    for c in commands:
        try:
            r.execute_command(*c)
        except redis.ResponseError:
            pass
    r.execute_command("ECHO", "done")
    buf = b""
    end = time.monotonic() + 5
    while b'"ECHO" "done"' not in buf and time.monotonic() < end:
        buf += mon.recv(65536)
    mon.close()
    return [line.split(b"] ", 1)[1] for line in buf.split(b"\r\n") if b"] " in line]


def test_monitor_hides_admin_commands_like_redis(tessera, redis_ref):
    """MONITOR shows data commands, never administrative ones (CONFIG, DEBUG,
    CLIENT KILL...), exactly as redis-server 7.0 lists them."""
    commands = [("SET", "k", "v"), ("CONFIG", "GET", "maxmemory"), ("GET", "k"),
                ("CONFIG", "SET", "maxmemory-samples", "5"), ("CLIENT", "LIST"),
                ("DEBUG", "SLEEP", "0"), ("INCR", "n"), ("LPUSH", "l", "a", "b")]
    ours = _monitor_commands(tessera.port, commands)
    theirs = _monitor_commands(redis_ref.port, commands)
    assert ours == theirs
    assert b'"SET" "k" "v"' in ours and not any(b"CONFIG" in x for x in ours)


def _cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_idle_after_load_burns_no_cpu(tessera):
    """The loop polls instead of sleeping only while requests keep coming
    (server_spin): after a redis-benchmark burst from 50 clients, and with a
    lone client pinging every 5 ms, the server sleeps again."""
    p = run([REDIS_BENCHMARK, "-p", str(tessera.port), "-c", "50", "-n", "100000", "-t", "set,get", "-q"],
            timeout=120)
    assert p.returncode == 0, p.stderr
    time.sleep(0.2)
    c0, t0 = _cpu_seconds(tessera.pid), time.monotonic()
    time.sleep(2.0)
    idle = (_cpu_seconds(tessera.pid) - c0) / (time.monotonic() - t0)
    assert idle < 0.05, "idle after a burst: %.0f%% of a core" % (idle * 100)
    r = tessera.client()
    c0, t0 = _cpu_seconds(tessera.pid), time.monotonic()
    for _ in range(300):
        assert r.ping()
        time.sleep(0.005)
    light = (_cpu_seconds(tessera.pid) - c0) / (time.monotonic() - t0)
    assert light < 0.15, "one PING per 5 ms: %.0f%% of a core" % (light * 100)


def _ctxt_switches(pid):
    """(voluntary, involuntary) context switches of pid's main thread."""
    got = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
                got[key] = int(value)
    return got["voluntary_ctxt_switches"], got["nonvoluntary_ctxt_switches"]


def _switches_per_k_requests(tessera, server_cpu, client_cpu, clients, n=200000):
    """Runs redis-benchmark SET -P 1 from `clients` clients, the server on
    server_cpu and the client on client_cpu; returns the server's (voluntary,
    involuntary) context switches per 1000 requests."""
    os.sched_setaffinity(tessera.pid, {server_cpu})
    v0, i0 = _ctxt_switches(tessera.pid)
    p = run(["taskset", "-c", str(client_cpu), REDIS_BENCHMARK, "-p", str(tessera.port), "-c", str(clients),
             "-n", str(n), "-r", "100000", "-t", "set", "-q"], timeout=120)
    assert p.returncode == 0, p.stderr
    v1, i1 = _ctxt_switches(tessera.pid)
    assert tessera.client().dbsize() > 0
    return (v1 - v0) * 1000.0 / n, (i1 - i0) * 1000.0 / n


def test_no_polling_on_the_clients_core(tessera):
    """With the clients on the server's core, polling would hold the core they
    need to send their next requests: the kernel preempted the server for them
    ~60 times per 1000 requests (0.88x Redis's requests/s). server_spin counts
    those preemptions and stops polling; the server then sleeps between
    batches as Redis does (Redis: ~2 per 1000)."""
    cpu = min(os.sched_getaffinity(0))
    _, invol = _switches_per_k_requests(tessera, cpu, cpu, 50)
    assert invol < 25, "%.1f involuntary switches per 1000 requests" % invol


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs a core for the client")
def test_polling_on_a_core_of_its_own(tessera):
    """With the clients on another core, the server polls through a steady
    stream of requests instead of sleeping for each one: with 2 clients Redis,
    which never polls, sleeps ~500 times per 1000 requests; polling ~20 times
    (and serves 3x Redis's requests/s)."""
    cpus = sorted(os.sched_getaffinity(0))
    vol, _ = _switches_per_k_requests(tessera, cpus[1], cpus[0], 2, n=100000)
    assert vol < 100, "%.1f sleeps per 1000 requests" % vol
