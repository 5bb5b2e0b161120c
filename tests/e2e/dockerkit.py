"""
dockerkit.py — helpers for the container tests in tests/e2e: run docker and redis-cli with
deadlines, start named containers on host networking with host directories as /data, wait for
conditions with a clear message, and remove exactly what a test created.

Owns: the containers named `tessera-e2e-*` and the data directories it creates.
Must not: touch any other container, image, volume or directory; talk to anything but
127.0.0.1; wait without a deadline (every wait raises AssertionError naming what it waited for).

Environment:
  TESSERA_E2E_IMAGE          image under test (default `tessera`; conftest sets it for the
                             reference run, TESSERA_E2E_REFERENCE=1)
  TESSERA_DOCKER_PRIVILEGED  1: every container also gets --privileged=true (the workflow does
                             not need it; this machine's runtime refuses it)
  TESSERA_E2E_DATA           parent directory of the per-test data directories (default: /tmp)
  TESSERA_E2E_TIME_SCALE     multiply every deadline (default 1.0), for slow machines
"""
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[2]
PREFIX = "tessera-e2e-"
TIME_SCALE = float(os.environ.get("TESSERA_E2E_TIME_SCALE", "1.0"))


def image():
    return os.environ.get("TESSERA_E2E_IMAGE", "tessera")


def privileged_args():
    return ["--privileged=true"] if os.environ.get("TESSERA_DOCKER_PRIVILEGED") == "1" else []


def scaled(seconds):
    return seconds * TIME_SCALE


# ---------------------------------------------------------------- commands

def run(cmd, timeout=120, check=True, input=None, env=None):
    """Run cmd (a list), capture text output; AssertionError with the output on a non-zero exit
    (when check) or when it outlives timeout seconds."""
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=scaled(timeout),
                            input=input, env=env, stdin=None if input is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("timed out after %ss: %s\nstdout: %s\nstderr: %s"
                             % (timeout, " ".join(cmd), e.stdout, e.stderr)) from None
    if check and cp.returncode != 0:
        raise AssertionError("exit %d: %s\nstdout: %s\nstderr: %s"
                             % (cp.returncode, " ".join(cmd), cp.stdout[-4000:], cp.stderr[-4000:]))
    return cp


def docker(*args, timeout=120, check=True):
    return run(["docker", *args], timeout=timeout, check=check)


def cli(port, *args, cluster=False, password=None, timeout=30, input=None, check=True):
    """redis-cli against 127.0.0.1:port; returns its stdout, stripped."""
    cmd = ["redis-cli", "-h", "127.0.0.1", "-p", str(port)]
    if cluster:
        cmd.append("-c")
    if password:
        cmd += ["--no-auth-warning", "-a", password]
    return run(cmd + [str(a) for a in args], timeout=timeout, input=input, check=check).stdout.strip()


def cli_cluster(*args, timeout=300, check=True):
    """redis-cli --cluster SUBCOMMAND ...; returns the CompletedProcess."""
    return run(["redis-cli", "--cluster", *[str(a) for a in args]], timeout=timeout, check=check)


class Fatal(AssertionError):
    """Raised by a wait_until condition when waiting longer cannot help (a container exited)."""


def wait_until(what, fn, deadline):
    """Poll fn() until it returns a truthy value (returned) or deadline seconds pass
    (AssertionError naming `what` and the last value or exception seen). A Fatal raised by fn
    ends the wait at once."""
    end = time.monotonic() + scaled(deadline)
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
            last = v
        except Fatal:
            raise
        except Exception as e:  # a node restarting refuses connections: keep polling
            last = "%s: %s" % (type(e).__name__, e)
        if time.monotonic() >= end:
            raise AssertionError("timed out after %.0fs waiting for %s; last seen: %r"
                                 % (scaled(deadline), what, last))
        time.sleep(0.3)


# ---------------------------------------------------------------- ports

def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def require_free(ports):
    """Fail with a clear message when one of ports (or its cluster-bus twin +10000) is taken."""
    busy = [p for p in ports if not port_free(p)] + [p + 10000 for p in ports if not port_free(p + 10000)]
    assert not busy, ("ports %s are in use on 127.0.0.1; stop what listens there "
                      "(a cluster from tools/docker-cluster.sh? `tools/docker-cluster.sh down`)" % busy)


def free_port_block(count, lo=21000, hi=29000, tries=300):
    """First port of `count` consecutive free loopback ports (bus twins free too), random in [lo, hi]."""
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(tries):
        base = rng.randint(lo, hi - count)
        if all(port_free(p) and port_free(p + 10000) for p in range(base, base + count)):
            return base
    raise AssertionError("no block of %d free ports found in [%d, %d]" % (count, lo, hi))


# ---------------------------------------------------------------- containers

class Registry:
    """Every container and data directory a test creates, removed by name by cleanup()."""

    def __init__(self):
        self.containers = []
        self.dirs = []

    def data_dir(self, label):
        parent = os.environ.get("TESSERA_E2E_DATA") or tempfile.gettempdir()
        Path(parent).mkdir(parents=True, exist_ok=True)
        d = Path(tempfile.mkdtemp(prefix="tessera-e2e-%s-" % label, dir=parent))
        self.dirs.append(d)
        return d

    def cleanup(self):
        errors = []
        names = [n for n in self.containers if container_exists(n)]
        if names:
            cp = docker("rm", "-f", *names, check=False, timeout=120)
            if cp.returncode != 0:
                errors.append(cp.stderr)
        self.containers.clear()
        for d in self.dirs:
            remove_tree(d)
        self.dirs.clear()
        return errors


def remove_tree(d):
    """Delete a data directory; files written by the container's uid under umask 0077 are
    removed through a throw-away container when we are not root."""
    try:
        shutil.rmtree(d)
    except FileNotFoundError:
        pass
    except PermissionError:
        docker("run", "--rm", "--entrypoint", "sh", "-v", "%s:/data" % d, image(),
               "-c", "rm -rf /data/* /data/.[!.]*", check=False)
        shutil.rmtree(d, ignore_errors=True)


def container_exists(name):
    return docker("container", "inspect", name, check=False, timeout=30).returncode == 0


def inspect(name, fmt):
    return docker("container", "inspect", "-f", fmt, name, timeout=30).stdout.strip()


class Node:
    """One server container: `docker run -d --name NAME --net host -v DIR:/data IMAGE ARGS`."""

    def __init__(self, registry, name, port, args, data_dir=None, password=None, volumes=()):
        self.name = PREFIX + name
        self.volumes = list(volumes)  # more "-v" specs, e.g. "/host/conf:/etc/tessera:ro"
        self.port = port
        self.args = [str(a) for a in args]
        self.password = password
        self.dir = data_dir or registry.data_dir(name)
        self.registry = registry

    def run(self):
        if container_exists(self.name):  # left over from an interrupted run of this test
            docker("rm", "-f", self.name)
        self.registry.containers.append(self.name)
        vols = []
        for v in ["%s:/data" % self.dir] + self.volumes:
            vols += ["-v", v]
        docker("run", "-d", "--name", self.name, "--net", "host", *privileged_args(), *vols,
               image(), *self.args)
        return self

    def wait_up(self, deadline=30):
        def pong():
            if not self.running():
                raise Fatal("%s exited (code %s); log tail:\n%s"
                            % (self.name, self.exit_code(), self.logs()[-2000:]))
            return self.client().ping()
        wait_until("%s to answer PING on port %d" % (self.name, self.port), pong, deadline)
        return self

    def start(self):
        docker("start", self.name)
        return self

    def stop(self, timeout=10):
        """docker stop (SIGTERM, SIGKILL after `timeout`); returns the seconds it took."""
        t0 = time.monotonic()
        docker("stop", "-t", str(timeout), self.name, timeout=timeout + 60)
        return time.monotonic() - t0

    def running(self):
        return inspect(self.name, "{{.State.Running}}") == "true"

    def exit_code(self):
        return int(inspect(self.name, "{{.State.ExitCode}}"))

    def host_pid(self):
        return int(inspect(self.name, "{{.State.Pid}}"))

    def logs(self):
        cp = docker("logs", self.name, check=False, timeout=30)
        return cp.stdout + cp.stderr

    def client(self, **kw):
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password,
                           decode_responses=True, socket_timeout=5, socket_connect_timeout=2, **kw)

    def cli(self, *args, **kw):
        return cli(self.port, *args, password=self.password, **kw)

    def info(self, section):
        return self.client().info(section)


def server_process(node):
    """(uid, umask, cmdline) of the server: the child of the container's PID 1 (tini)."""
    pid1 = node.host_pid()
    kids = Path("/proc/%d/task/%d/children" % (pid1, pid1)).read_text().split()
    assert kids, "PID 1 of %s (host pid %d) has no child" % (node.name, pid1)
    pid = int(kids[0])
    status = Path("/proc/%d/status" % pid).read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    uid = int(fields["Uid"].split()[0])
    umask = fields.get("Umask", "").strip()
    cmdline = Path("/proc/%d/cmdline" % pid).read_bytes().split(b"\0")
    return uid, umask, [c.decode() for c in cmdline if c]
