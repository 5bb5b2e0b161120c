"""
test_blocking.py — blocking list and sorted-set pops (BLPOP BRPOP BLMOVE
BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP) and CLIENT UNBLOCK, with several
real connections: FIFO service of clients blocked on one key, timeouts,
blocking inside MULTI, keys made ready by other clients (also inside
MULTI/EXEC and by SWAPDB), pipelined commands after a blocked command, a
client closing while blocked, and what the AOF receives. Where the answer is
Redis's behaviour, the same steps run against Debian's redis-server.

Owns: the raw RESP connection helper `Conn` used here.
Must not: depend on timing tighter than a few hundred milliseconds; every
wait has a deadline.
"""
import socket
import time

import pytest

DEADLINE = 5.0


class Conn:
    """A raw RESP connection: send commands, read parsed replies. Errors come
    back as RespError instances (not raised), null as None."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        self.buf = b""

    def close(self):
        self.s.close()

    @staticmethod
    def encode(*args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        return out

    def send(self, *cmds):
        self.s.sendall(b"".join(self.encode(*c) for c in cmds))

    def call(self, *args):
        self.send(args)
        return self.read()

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no complete reply in time; have %r" % self.buf)
        self.s.settimeout(left)
        chunk = self.s.recv(65536)
        if not chunk:
            raise ConnectionError("closed by server; have %r" % self.buf)
        self.buf += chunk

    def _line(self, deadline):
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _parse(self, deadline):
        line = self._line(deadline)
        t, rest = line[:1], line[1:]
        if t in (b"+",):
            return rest
        if t == b"-":
            return RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"_":
            return None
        if t == b",":
            return float(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill(deadline)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return None
            return [self._parse(deadline) for _ in range(n)]
        if t == b"%":
            n = int(rest)
            return {self._parse(deadline): self._parse(deadline) for _ in range(n)}
        raise AssertionError("unexpected reply type %r" % line)

    def read(self, timeout=DEADLINE):
        return self._parse(time.monotonic() + timeout)

    def raw_read(self, wait=0.3):
        """Whatever bytes arrive within `wait` seconds (raw, unparsed)."""
        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                self._fill(end)
            except (TimeoutError, socket.timeout):
                break
        out, self.buf = self.buf, b""
        return out

    def silent(self, wait=0.3):
        """True if nothing arrives within `wait` seconds."""
        return self.raw_read(wait) == b""


class RespError(str):
    pass


def wait_blocked(port, n):
    """Poll INFO until blocked_clients == n (deadline DEADLINE)."""
    c = Conn(port)
    try:
        end = time.monotonic() + DEADLINE
        last = None
        while time.monotonic() < end:
            info = c.call("info", "clients").decode()
            for line in info.split("\r\n"):
                if line.startswith("blocked_clients:"):
                    last = int(line.split(":")[1])
            if last == n:
                return
            time.sleep(0.01)
        raise AssertionError("blocked_clients is %r, wanted %d" % (last, n))
    finally:
        c.close()


@pytest.fixture(params=["tessera", "redis"])
def server(request, tessera_factory, redis_ref_factory):
    """Each behaviour test runs on Tessera and on redis-server: the steps
    must pass on both (the reference proves the test itself)."""
    if request.param == "tessera":
        return tessera_factory()
    return redis_ref_factory()


# ---------------------------------------------------------------- immediate answers

IMMEDIATE = [
    ("rpush", "l", "a", "b", "c", "d", "e"),
    ("blpop", "nosuch", "l", "0"),
    ("brpop", "l", "nosuch", "0"),
    ("blmove", "l", "dst", "LEFT", "right", "0"),
    ("brpoplpush", "l", "dst", "0"),
    ("lrange", "dst", "0", "-1"),
    ("blmpop", "0", "2", "nosuch", "l", "LEFT", "COUNT", "10"),
    ("exists", "l"),
    ("zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d"),
    ("bzpopmin", "z", "0"),
    ("bzpopmax", "nosuch", "z", "0"),
    ("bzmpop", "0", "1", "z", "MAX", "COUNT", "1"),
    ("bzmpop", "0", "1", "z", "min", "COUNT", "9"),
    ("exists", "z"),
    ("set", "s", "v"),
    ("blpop", "s", "0"),
    ("blpop", "nosuch", "s", "0"),
    ("bzpopmin", "s", "0"),
    ("rpush", "l2", "x"),
    ("blmove", "l2", "s", "left", "left", "0"),
    ("lrange", "l2", "0", "-1"),
    ("blpop", "l2", "abc"),
    ("blpop", "l2", "-1"),
    ("blpop", "l2", "1e20"),
    ("blpop", "l2", "nan"),
    ("blpop", "l2", ""),
    ("blpop", "l2", " 1"),
    ("blmove", "l2", "d", "up", "left", "0"),
    ("blmove", "l2", "d", "left", "right", "x"),
    ("blmpop", "x", "0", "l2", "left"),
    ("blmpop", "0", "1", "l2", "middle"),
    ("blmpop", "0", "1", "l2", "left", "count", "0"),
    ("blmpop", "0", "2", "l2", "left"),
    ("bzmpop", "0", "1", "z", "left"),
    ("blpop", "l2"),
    ("blmove", "a", "b", "left"),
    ("client", "unblock", "abc"),
    ("client", "unblock", "99999"),
    ("client", "unblock", "1", "maybe"),
    ("client", "unblock", "1", "timeout", "extra"),
    ("command", "getkeys", "blmpop", "0", "2", "a", "b", "left"),
    ("command", "getkeys", "bzmpop", "0", "1", "z", "min"),
    ("command", "getkeys", "blpop", "a", "b", "0"),
]


@pytest.mark.parametrize("resp", [2, 3])
def test_immediate_replies_match_redis(tessera, redis_ref, resp):
    t, r = Conn(tessera.port), Conn(redis_ref.port)
    if resp == 3:
        t.call("hello", "3")
        r.call("hello", "3")
    for cmd in IMMEDIATE:
        assert t.call(*cmd) == r.call(*cmd), cmd


# ---------------------------------------------------------------- serving blocked clients

def test_fifo_among_clients_blocked_on_one_key(server):
    port = server.port
    cs = [Conn(port) for _ in range(3)]
    for i, c in enumerate(cs):
        c.send(("blpop", "k", "0"))
        wait_blocked(port, i + 1)
    p = Conn(port)
    assert p.call("rpush", "k", "a", "b") == 2
    assert cs[0].read() == [b"k", b"a"]
    assert cs[1].read() == [b"k", b"b"]
    assert cs[2].silent()
    wait_blocked(port, 1)
    assert p.call("lpush", "k", "c") == 1
    assert cs[2].read() == [b"k", b"c"]
    wait_blocked(port, 0)
    assert p.call("exists", "k") == 0


def test_first_ready_key_and_mixed_waiters(server):
    port = server.port
    a, b, p = Conn(port), Conn(port), Conn(port)
    a.send(("brpop", "k1", "k2", "0"))
    wait_blocked(port, 1)
    b.send(("blpop", "k2", "0"))
    wait_blocked(port, 2)
    assert p.call("rpush", "k2", "x", "y") == 2
    assert a.read() == [b"k2", b"y"]
    assert b.read() == [b"k2", b"x"]
    wait_blocked(port, 0)


def test_waiter_of_another_type_stays_blocked(server):
    port = server.port
    z, p = Conn(port), Conn(port)
    z.send(("bzpopmin", "k", "0"))
    wait_blocked(port, 1)
    assert p.call("rpush", "k", "a") == 1
    assert p.call("set", "k", "str") == b"OK"
    assert z.silent(0.2)
    assert p.call("del", "k") == 1
    assert p.call("zadd", "k", "2", "m") == 1
    assert z.read() == [b"k", b"m", b"2"]
    wait_blocked(port, 0)


def test_blmove_and_brpoplpush_served(server):
    port = server.port
    a, b, p = Conn(port), Conn(port), Conn(port)
    a.send(("blmove", "src", "dst", "RIGHT", "LEFT", "0"))
    b.send(("brpoplpush", "src2", "dst", "0"))
    wait_blocked(port, 2)
    assert p.call("rpush", "src", "1", "2") == 2
    assert a.read() == b"2"
    assert p.call("rpush", "src2", "3") == 1
    assert b.read() == b"3"
    assert p.call("lrange", "dst", "0", "-1") == [b"3", b"2"]
    assert p.call("lrange", "src", "0", "-1") == [b"1"]
    assert p.call("exists", "src2") == 0


def test_blmove_chain_serves_the_destination_waiter(server):
    port = server.port
    a, b, p = Conn(port), Conn(port), Conn(port)
    a.send(("blmove", "a", "b", "LEFT", "LEFT", "0"))
    wait_blocked(port, 1)
    b.send(("blpop", "b", "0"))
    wait_blocked(port, 2)
    assert p.call("rpush", "a", "v") == 1
    assert a.read() == b"v"
    assert b.read() == [b"b", b"v"]
    assert p.call("exists", "a", "b") == 0


def test_blmove_wrong_destination_type_when_served(server):
    port = server.port
    a, p = Conn(port), Conn(port)
    a.send(("blmove", "src", "dst", "LEFT", "LEFT", "0"))
    wait_blocked(port, 1)
    assert p.call("set", "dst", "x") == b"OK"
    assert p.call("rpush", "src", "v") == 1
    assert a.read().startswith("WRONGTYPE")
    assert p.call("lrange", "src", "0", "-1") == [b"v"]
    wait_blocked(port, 0)


def test_sorted_set_pops_served(server):
    port = server.port
    a, b, c, p = Conn(port), Conn(port), Conn(port), Conn(port)
    a.send(("bzpopmin", "z", "0"))
    wait_blocked(port, 1)
    b.send(("bzpopmax", "z", "0"))
    wait_blocked(port, 2)
    c.send(("bzmpop", "0", "2", "zz", "z", "MAX", "COUNT", "5"))
    wait_blocked(port, 3)
    assert p.call("zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d") == 4
    assert a.read() == [b"z", b"a", b"1"]
    assert b.read() == [b"z", b"d", b"4"]
    assert c.read() == [b"z", [[b"c", b"3"], [b"b", b"2"]]]
    assert p.call("exists", "z") == 0


def test_blmpop_served_with_count(server):
    port = server.port
    a, p = Conn(port), Conn(port)
    a.send(("blmpop", "0", "2", "x", "y", "RIGHT", "COUNT", "2"))
    wait_blocked(port, 1)
    assert p.call("rpush", "y", "1", "2", "3") == 3
    assert a.read() == [b"y", [b"3", b"2"]]
    assert p.call("lrange", "y", "0", "-1") == [b"1"]


def test_resp3_served_and_timeout_replies(server):
    port = server.port
    a, p = Conn(port), Conn(port)
    a.call("hello", "3")
    a.send(("bzpopmin", "z", "0"))
    wait_blocked(port, 1)
    p.call("zadd", "z", "1.5", "m")
    assert a.read() == [b"z", b"m", 1.5]
    a.send(("blpop", "k", "0.1"))
    assert a.raw_read(1.5) == b"_\r\n"


# ---------------------------------------------------------------- timeouts

@pytest.mark.parametrize("cmd,raw", [
    (("blpop", "k", "0.2"), b"*-1\r\n"),
    (("brpop", "k", "k2", "0.2"), b"*-1\r\n"),
    (("blmove", "k", "d", "left", "left", "0.2"), b"*-1\r\n"),
    (("brpoplpush", "k", "d", "0.2"), b"*-1\r\n"),
    (("blmpop", "0.2", "1", "k", "left"), b"*-1\r\n"),
    (("bzpopmin", "k", "0.2"), b"*-1\r\n"),
    (("bzmpop", "0.2", "1", "k", "max"), b"*-1\r\n"),
])
def test_timeouts(server, cmd, raw):
    c = Conn(server.port)
    t0 = time.monotonic()
    c.send(cmd)
    got = c.raw_read(2.5)
    took = time.monotonic() - t0
    assert got == raw
    assert 0.15 <= took
    wait_blocked(server.port, 0)


def test_zero_timeout_blocks_until_served(server):
    port = server.port
    a, p = Conn(port), Conn(port)
    a.send(("blpop", "k", "0"))
    assert a.silent(0.5)
    wait_blocked(port, 1)
    p.call("rpush", "k", "v")
    assert a.read() == [b"k", b"v"]


# ---------------------------------------------------------------- MULTI, pipelining, close

def test_blocking_inside_multi_answers_at_once(server):
    c = Conn(server.port)
    assert c.call("multi") == b"OK"
    for cmd in [("blpop", "k", "0"), ("blmove", "k", "d", "left", "left", "0"),
                ("bzpopmin", "z", "0"), ("blmpop", "0", "1", "k", "left")]:
        assert c.call(*cmd) == b"QUEUED"
    assert c.call("exec") == [None, None, None, None]
    wait_blocked(server.port, 0)


def test_push_inside_multi_is_served_after_exec(server):
    port = server.port
    a, p = Conn(port), Conn(port)
    a.send(("blpop", "k", "0"))
    wait_blocked(port, 1)
    p.call("multi")
    p.call("rpush", "k", "v1", "v2")
    p.call("llen", "k")
    assert p.call("exec") == [2, 2]
    assert a.read() == [b"k", b"v1"]
    assert p.call("lrange", "k", "0", "-1") == [b"v2"]


def test_pipelined_push_serves_before_the_next_command(server):
    port = server.port
    a, p = Conn(port), Conn(port)
    a.send(("blpop", "k", "0"))
    wait_blocked(port, 1)
    p.send(("rpush", "k", "a", "b"), ("lpop", "k"), ("llen", "k"))
    assert [p.read(), p.read(), p.read()] == [2, b"b", 0]
    assert a.read() == [b"k", b"a"]


def test_pipelined_commands_after_blpop_wait_for_it(server):
    port = server.port
    a, p = Conn(port), Conn(port)
    a.send(("blpop", "k", "0"), ("set", "x", "1"), ("get", "x"), ("blpop", "k", "0"),
           ("incr", "x"))
    wait_blocked(port, 1)
    assert p.call("get", "x") is None
    p.call("rpush", "k", "v")
    assert a.read() == [b"k", b"v"]
    assert a.read() == b"OK"
    assert a.read() == b"1"
    wait_blocked(port, 1)  # blocked again on the second BLPOP
    assert p.call("get", "x") == b"1"
    p.call("rpush", "k", "w")
    assert a.read() == [b"k", b"w"]
    assert a.read() == 2
    wait_blocked(port, 0)


def test_client_closing_while_blocked(server):
    port = server.port
    a, b, p = Conn(port), Conn(port), Conn(port)
    a.send(("blpop", "k", "0"))
    wait_blocked(port, 1)
    b.send(("blpop", "k", "0"))
    wait_blocked(port, 2)
    a.close()
    wait_blocked(port, 1)
    p.call("rpush", "k", "v")
    assert b.read() == [b"k", b"v"]
    b.close()
    wait_blocked(port, 0)
    p.call("rpush", "k", "w")
    assert p.call("lrange", "k", "0", "-1") == [b"w"]


def test_client_unblock(server):
    port = server.port
    a, p = Conn(port), Conn(port)
    aid = a.call("client", "id")
    a.send(("blpop", "k", "0"))
    wait_blocked(port, 1)
    flags = [l for l in p.call("client", "list").decode().split("\n")
             if l.startswith("id=%d " % aid)][0]
    assert " flags=b " in flags
    assert p.call("client", "unblock", aid) == 1
    assert a.read() is None
    a.send(("bzpopmin", "z", "0"))
    wait_blocked(port, 1)
    assert p.call("client", "unblock", aid, "error") == 1
    err = a.read()
    assert isinstance(err, RespError)
    assert err == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
    assert p.call("client", "unblock", aid) == 0
    wait_blocked(port, 0)


def test_swapdb_makes_keys_ready(server):
    port = server.port
    a, p = Conn(port), Conn(port)
    a.send(("blpop", "k", "0"))
    wait_blocked(port, 1)
    p.call("select", "1")
    p.call("rpush", "k", "from-db1")
    assert a.silent(0.2)
    assert p.call("swapdb", "0", "1") == b"OK"
    assert a.read() == [b"k", b"from-db1"]


def test_blocked_client_in_another_db(server):
    port = server.port
    a, p = Conn(port), Conn(port)
    a.call("select", "3")
    a.send(("blpop", "k", "0"))
    wait_blocked(port, 1)
    p.call("rpush", "k", "db0")
    assert a.silent(0.2)
    p.call("select", "3")
    p.call("rpush", "k", "db3")
    assert a.read() == [b"k", b"db3"]
    p.call("select", "0")
    assert p.call("llen", "k") == 1


# ---------------------------------------------------------------- propagation

def _aof_commands(srv):
    """The commands of the incr AOF file(s) of srv, as lists of bytes."""
    d = srv.dir / "appendonlydir"
    data = b"".join(p.read_bytes() for p in sorted(d.glob("*.incr.aof")))
    out = []
    c = Conn.__new__(Conn)
    c.buf = data
    c.s = None
    while c.buf:
        out.append(c._parse(time.monotonic() + 1))
    return out


def _propagation_steps(port):
    a, p = Conn(port), Conn(port)
    p.call("set", "MARK", "start")
    a.send(("blpop", "k", "0"))
    wait_blocked(port, 1)
    p.call("rpush", "k", "a", "b")
    a.read()
    a.send(("blmove", "k2", "d", "right", "LEFT", "0"))
    wait_blocked(port, 1)
    p.call("rpush", "k2", "x")
    a.read()
    a.send(("blmpop", "0", "1", "k3", "right", "count", "5"))
    wait_blocked(port, 1)
    p.call("rpush", "k3", "x", "y")
    a.read()
    a.send(("bzmpop", "0", "1", "z", "max", "count", "2"))
    wait_blocked(port, 1)
    p.call("zadd", "z", "1", "a", "2", "b", "3", "c")
    a.read()
    a.send(("bzpopmin", "z", "0"))
    a.read()
    p.call("rpush", "i", "1", "2", "3")
    p.call("brpop", "i", "0")
    p.call("brpoplpush", "i", "d", "0")
    p.call("set", "MARK", "end")
    time.sleep(0.2)


def test_propagation_matches_redis(tessera_factory, redis_ref_factory):
    args = ("--appendonly", "yes", "--appendfsync", "always")
    t, r = tessera_factory(*args), redis_ref_factory(*args)
    _propagation_steps(t.port)
    _propagation_steps(r.port)

    def between_marks(cmds):
        start = cmds.index([b"set", b"MARK", b"start"])
        end = cmds.index([b"set", b"MARK", b"end"])
        return cmds[start:end + 1]

    assert between_marks(_aof_commands(t)) == between_marks(_aof_commands(r))
