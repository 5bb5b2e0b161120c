"""
test_pubsub.py — Pub/Sub against tessera and Debian's redis-server side by side:
the exact bytes of subscribe/unsubscribe confirmations, message and pmessage
delivery order, RESP3 push messages, the RESP2 subscribed-state restriction,
PUBSUB introspection, sharded pub/sub, and a slow subscriber cut off by
client-output-buffer-limit pubsub.

Every exchange runs on both servers and the replies are compared byte for byte.
"""
import socket
import time

import pytest


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Conn:
    """A raw connection that sends commands and reads whatever arrives."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)

    def send(self, *args):
        self.s.sendall(resp(*args))

    def read(self, expect, timeout=5.0):
        """Read until at least `expect` bytes arrived and the socket is idle."""
        self.s.settimeout(0.15)
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                if len(buf) >= expect:
                    return buf
                continue
            if not chunk:
                return buf
            buf += chunk
        return buf

    def cmd(self, *args, expect=1):
        self.send(*args)
        return self.read(expect)

    def close(self):
        self.s.close()


@pytest.fixture
def pair(tessera, redis_ref):
    return [tessera.port, redis_ref.port]


def both(ports, script):
    """Run script(port) -> bytes on both servers; assert equal; return it."""
    outs = [script(p) for p in ports]
    assert outs[0] == outs[1], "tessera %r\nredis   %r" % (outs[0], outs[1])
    return outs[0]


def test_subscribe_publish_order_resp2(pair):
    def script(port):
        sub, pub = Conn(port), Conn(port)
        out = sub.cmd("SUBSCRIBE", "a", "b", expect=60)
        out += sub.cmd("PSUBSCRIBE", "a*", expect=30)
        out += pub.cmd("PUBLISH", "a", "m1")
        out += pub.cmd("PUBLISH", "b", "m2")
        out += pub.cmd("PUBLISH", "ax", "m3")
        out += pub.cmd("PUBLISH", "nobody", "m4")
        out += sub.read(100)
        # UNSUBSCRIBE without arguments lists channels in hash order: leave one.
        out += sub.cmd("UNSUBSCRIBE", "a", expect=30)
        out += sub.cmd("UNSUBSCRIBE", expect=30)
        out += sub.cmd("PUNSUBSCRIBE", expect=30)
        out += sub.cmd("UNSUBSCRIBE", expect=10)
        sub.close(), pub.close()
        return out

    out = both(pair, script)
    assert b"message" in out and b"pmessage" in out


def test_resp2_subscribed_state_restrictions(pair):
    def script(port):
        c = Conn(port)
        out = c.cmd("SUBSCRIBE", "x", expect=20)
        out += c.cmd("GET", "k")
        out += c.cmd("PING")
        out += c.cmd("PING", "hello")
        out += c.cmd("SET", "k", "v")
        out += c.cmd("UNSUBSCRIBE", "x", expect=20)
        out += c.cmd("GET", "k")
        c.close()
        return out

    out = both(pair, script)
    assert b"only (P|S)SUBSCRIBE" in out


def test_resp3_push_messages(pair):
    def script(port):
        sub, pub = Conn(port), Conn(port)
        out = sub.cmd("HELLO", "3", expect=50)
        out = out[:out.find(b"id")]  # client ids differ
        out += sub.cmd("SUBSCRIBE", "c", expect=20)
        out += sub.cmd("GET", "k")  # allowed in RESP3
        out += pub.cmd("PUBLISH", "c", "hi")
        out += sub.read(20)
        out += sub.cmd("PING")
        sub.close(), pub.close()
        return out

    out = both(pair, script)
    assert b">3\r\n$7\r\nmessage" in out


def test_pubsub_introspection(pair):
    def script(port):
        a, b, q = Conn(port), Conn(port), Conn(port)
        a.cmd("SUBSCRIBE", "news", "sport", expect=40)
        b.cmd("SUBSCRIBE", "news", expect=20)
        b.cmd("PSUBSCRIBE", "n*", "s*", expect=40)
        a.cmd("SSUBSCRIBE", "shard1", expect=20)
        out = q.cmd("PUBSUB", "NUMSUB", "news", "sport", "none")
        out += q.cmd("PUBSUB", "NUMPAT")
        out += q.cmd("PUBSUB", "SHARDNUMSUB", "shard1")
        out += q.cmd("PUBSUB", "SHARDCHANNELS")
        chans = q.cmd("PUBSUB", "CHANNELS", "n*")
        out += chans
        out += q.cmd("SPUBLISH", "shard1", "x")
        out += a.read(20)
        out += q.cmd("PUBSUB", "FOO")
        out += q.cmd("PUBSUB", "HELP", expect=200)
        for c in (a, b, q):
            c.close()
        return out

    both(pair, script)


def test_slow_subscriber_disconnected(tessera_factory):
    srv = tessera_factory("--client-output-buffer-limit", "pubsub 64kb 0 0")
    sub, pub = Conn(srv.port), Conn(srv.port)
    sub.cmd("SUBSCRIBE", "big", expect=20)
    payload = "x" * 65536
    # The subscriber never reads: once the kernel's socket buffers are full its
    # output grows past the hard limit (64 MB sent, far more than loopback holds).
    for _ in range(1024):
        pub.send("PUBLISH", "big", payload)
    pub.read(1024 * 4, timeout=20)
    deadline = time.monotonic() + 5
    closed = False
    while time.monotonic() < deadline and not closed:
        closed = srv.client().pubsub_numsub("big") == [(b"big", 0)]
        time.sleep(0.05)
    assert closed, "slow subscriber was not disconnected"
    assert b"overcoming of output buffer limits" in open(srv.log_path, "rb").read()
    sub.close(), pub.close()
