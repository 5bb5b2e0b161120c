"""
conftest.py — process fixtures for Tessera's integration tests.

Owns: starting and stopping real server processes (tessera-server and Debian's
redis-server as the reference) on free loopback ports, the raw-socket helpers
`raw()` / `raw_ex()`, and `free_port()`.

Must not: talk to anything but 127.0.0.1, leave a process behind, or wait
without a deadline. Every process started here is registered, stopped by pid
(SIGTERM, then SIGKILL after a deadline) when its fixture ends, and killed at
session end and at interpreter exit whatever happened. On Linux the children
also get PR_SET_PDEATHSIG so they die if pytest itself is killed.

Fixtures:
  tessera            a started tessera-server (object with .port, .pid,
                     .log_path, .dir, .client(), .stop())
  tessera_factory    tessera_factory(*extra_args, **kw) -> a started server
  redis_ref          Debian's redis-server started the same way
  redis_ref_factory  the same as a factory

The binary under test comes from $TESSERA_BIN (default src/tessera-server);
the reference from $REDIS_BIN (default /usr/bin/redis-server). Pointing
TESSERA_BIN at redis-server validates the tests themselves.
"""
import atexit
import ctypes
import os
import random
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

REPO = Path(__file__).resolve().parents[2]


def _bin_path(env, default):
    p = Path(os.environ.get(env, default))
    return p if p.is_absolute() else REPO / p


TESSERA_BIN = _bin_path("TESSERA_BIN", "src/tessera-server")
REDIS_BIN = _bin_path("REDIS_BIN", "/usr/bin/redis-server")

START_DEADLINE = float(os.environ.get("TESSERA_START_DEADLINE", "10"))
STOP_DEADLINE = 5.0

_LIVE = []  # every ServerProcess not yet reaped, in start order


# ---------------------------------------------------------------- helpers

def free_port(lo=21000, hi=29999, tries=200):
    """A loopback TCP port in [lo, hi] that nobody listens on right now, whose
    cluster-bus twin (port + 10000) is free too. Random to keep parallel users
    apart; the caller still has to cope with the small race (ServerProcess
    retries on 'Address already in use')."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(tries):
        port = rng.randint(lo, hi)
        if _port_free(port) and _port_free(port + 10000):
            return port
    raise RuntimeError("free_port: no free port found in %d tries" % tries)


def _port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def raw_ex(port, data, idle=0.3, timeout=5.0, host="127.0.0.1"):
    """Send `data` (bytes) on a new connection and read until the server has
    been idle for `idle` seconds, closed the connection, or `timeout` seconds
    passed. Returns (reply_bytes, closed) where closed tells whether the
    server closed (EOF or reset) the connection."""
    deadline = time.monotonic() + timeout
    out = bytearray()
    closed = False
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before we finish; read what it said
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(min(idle, left))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
            if not chunk:
                closed = True
                break
            out += chunk
    return bytes(out), closed


def raw(port, data, idle=0.3, timeout=5.0):
    """Send raw bytes, return everything the server replied (see raw_ex)."""
    return raw_ex(port, data, idle=idle, timeout=timeout)[0]


def _pdeathsig():
    """preexec_fn: the child gets SIGKILL when its parent (pytest) dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def ping(port, timeout=0.5):
    """One PING on a fresh connection; returns the first reply line or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            buf = b""
            while not buf.endswith(b"\r\n"):
                chunk = s.recv(256)
                if not chunk:
                    break
                buf += chunk
            return buf or None
    except OSError:
        return None


# ---------------------------------------------------------------- processes

class ServerStartError(RuntimeError):
    pass


class ServerProcess:
    """One server process on a loopback port with its own directory and log.

    Attributes: name, binary, port, pid, dir (Path), log_path (Path), args
    (the full argv). The server's stdout and stderr go to log_path."""

    def __init__(self, name, binary, extra_args=(), port=None, workdir=None,
                 base_args=True, env=None):
        self.name = name
        self.binary = Path(binary)
        self.extra_args = [str(a) for a in extra_args]
        self.port = port
        self._own_dir = workdir is None
        self.dir = Path(workdir) if workdir else Path(
            tempfile.mkdtemp(prefix="%s-" % name))
        self.log_path = self.dir / "server.log"
        self.base_args = base_args
        self.env = env
        self.proc = None
        self.pid = None
        self.args = None
        self.returncode = None

    # -- lifecycle
    def start(self, deadline=START_DEADLINE, retries=3):
        if not self.binary.exists():
            raise ServerStartError(
                "%s binary not found at %s (build it with `make`, or set "
                "TESSERA_BIN / REDIS_BIN)" % (self.name, self.binary))
        fixed_port = self.port is not None
        for attempt in range(retries):
            if not fixed_port:
                self.port = free_port()
            err = self._start_once(deadline)
            if err is None:
                return self
            if fixed_port or "in use" not in err.lower() or attempt == retries - 1:
                raise ServerStartError(err)
        raise ServerStartError("unreachable")

    def _start_once(self, deadline):
        args = [str(self.binary)]
        if self.base_args:
            args += ["--port", str(self.port), "--bind", "127.0.0.1",
                     "--dir", str(self.dir), "--save", ""]
        args += self.extra_args
        self.args = args
        logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=logf,
                stderr=subprocess.STDOUT, cwd=str(self.dir),
                preexec_fn=_pdeathsig, env=self.env)
        finally:
            logf.close()
        self.pid = self.proc.pid
        self.returncode = None
        _LIVE.append(self)
        end = time.monotonic() + deadline
        last = None
        while time.monotonic() < end:
            rc = self.proc.poll()
            if rc is not None:
                self.returncode = rc
                _forget(self)
                return ("%s (pid %d, port %d) exited with status %d before "
                        "answering PING.\ncommand: %s\n--- log %s ---\n%s" % (
                            self.name, self.pid, self.port, rc,
                            _fmt_args(args), self.log_path, self.log_tail()))
            last = ping(self.port)
            # +PONG, or -NOAUTH when started with requirepass; -LOADING waits.
            if last and last.startswith((b"+PONG", b"-NOAUTH")) \
                    and self.proc.poll() is None:
                return None
            time.sleep(0.02)
        self.stop()
        return ("%s (pid %d, port %d) did not answer PING within %.1fs "
                "(last answer: %r).\ncommand: %s\n--- log %s ---\n%s" % (
                    self.name, self.pid, self.port, deadline, last,
                    _fmt_args(args), self.log_path, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout):
        """Wait for the process to exit by itself; returns its exit status or
        None if it is still running after `timeout` seconds."""
        if self.proc is None:
            return self.returncode
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        _forget(self)
        return self.returncode

    def stop(self, deadline=STOP_DEADLINE):
        """SIGTERM, then SIGKILL after `deadline` seconds. Returns the exit
        status. Safe to call more than once."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=deadline)
            except subprocess.TimeoutExpired:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=deadline)
        self.returncode = self.proc.returncode
        _forget(self)
        return self.returncode

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                pass
        _forget(self)

    # -- clients and diagnostics
    def client(self, **kw):
        """A redis-py client for this server (decode_responses etc. via kw)."""
        kw.setdefault("socket_timeout", 10)
        kw.setdefault("socket_connect_timeout", 5)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def log_tail(self, max_bytes=8000):
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return "(no log)"
        if len(data) > max_bytes:
            data = b"...\n" + data[-max_bytes:]
        return data.decode("utf-8", "replace")

    def cleanup_dir(self):
        if self._own_dir and not self.alive():
            subprocess.run(["rm", "-rf", "--", str(self.dir)], check=False,
                           timeout=30)

    def __repr__(self):
        return "<%s pid=%s port=%s>" % (self.name, self.pid, self.port)


def _fmt_args(args):
    return " ".join(repr(a) if (not a or " " in a) else a for a in args)


def _forget(srv):
    try:
        _LIVE.remove(srv)
    except ValueError:
        pass


def _kill_all():
    for srv in list(_LIVE):
        srv.kill()


atexit.register(_kill_all)


# ---------------------------------------------------------------- fixtures

class _Factory:
    """Starts servers for one test and stops them all at teardown."""

    def __init__(self, request, name, binary):
        self.request = request
        self.name = name
        self.binary = binary
        self.servers = []

    def __call__(self, *args, port=None, base_args=True, deadline=START_DEADLINE,
                 workdir=None):
        srv = ServerProcess(self.name, self.binary, args, port=port,
                            base_args=base_args, workdir=workdir)
        self._track(srv)
        error = None
        try:
            srv.start(deadline=deadline)
        except ServerStartError as e:
            error = str(e)
        if error is not None:
            pytest.fail(error, pytrace=False)
        return srv

    def _track(self, srv):
        self.servers.append(srv)
        node_servers = getattr(self.request.node, "_tessera_servers", None)
        if node_servers is None:
            node_servers = []
            self.request.node._tessera_servers = node_servers
        node_servers.append(srv)

    def close(self):
        for srv in self.servers:
            srv.stop()
        failed = getattr(self.request.node, "_tessera_failed", False)
        if not failed:
            for srv in self.servers:
                srv.cleanup_dir()


@pytest.fixture
def tessera_factory(request):
    """tessera_factory(*extra_args) -> started tessera-server process."""
    f = _Factory(request, "tessera-server", TESSERA_BIN)
    yield f
    f.close()


@pytest.fixture
def tessera(tessera_factory):
    """A tessera-server on a free port: .port .pid .log_path .dir .client()."""
    return tessera_factory()


@pytest.fixture
def redis_ref_factory(request):
    """redis_ref_factory(*extra_args) -> started Debian redis-server process."""
    f = _Factory(request, "redis-server", REDIS_BIN)
    yield f
    f.close()


@pytest.fixture
def redis_ref(redis_ref_factory):
    """Debian's redis-server on a free port, started like `tessera`."""
    return redis_ref_factory()


# ---------------------------------------------------------------- hooks

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the log of every server the test started."""
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    item._tessera_failed = True
    for srv in getattr(item, "_tessera_servers", []):
        if srv.pid is None:
            continue
        rep.sections.append((
            "%s log (pid %s, port %s, %s)" % (srv.name, srv.pid, srv.port,
                                                srv.log_path),
            srv.log_tail()))


def pytest_sessionfinish(session, exitstatus):
    _kill_all()


def pytest_report_header(config):
    return ["tessera binary: %s%s" % (TESSERA_BIN, "" if TESSERA_BIN.exists()
                                       else " (MISSING)"),
            "reference binary: %s" % REDIS_BIN]
