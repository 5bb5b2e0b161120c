"""
test_strings_keys.py — the string and generic key families against a real
client (redis-py), with Debian's redis-server as the reference where the
answer is Redis's behaviour rather than a fixed value.

Owns: end-to-end checks of encodings, TTL bookkeeping, lazy and active expiry,
SCAN coverage, RENAME/MOVE/COPY/SWAPDB, keyspace statistics and memory per key.
Must not: depend on timing tighter than a few hundred milliseconds.
"""
import time

import pytest

ENCODING_SCRIPT = [
    ("set", "k", "123"), ("set", "k2", "0123"), ("set", "k3", "-0"), ("set", "k4", "x" * 44),
    ("set", "k5", "x" * 45), ("set", "k6", "9223372036854775808"), ("set", "k7", ""),
    ("append", "a1", "123"), ("append", "a2", "12"), ("append", "a2", "3"),
    ("set", "f", "1"), ("incrbyfloat", "f", "2"), ("incr", "i", ), ("set", "i2", "abc "),
    ("setrange", "r1", "0", "12"), ("set", "r2", "10"), ("setrange", "r2", "0", ""),
    ("mset", "m1", "5", "m2", "five"), ("getset", "g", "77"), ("setex", "e", "100", "88"),
    ("copy", "k5", "c5"), ("rename", "k4", "n4"),
]
ENCODING_KEYS = ["k", "k2", "k3", "n4", "k5", "k6", "k7", "a1", "a2", "f", "i", "i2",
                 "r1", "r2", "m1", "m2", "g", "e", "c5"]


def _run(client, script):
    return [client.execute_command(*cmd) for cmd in script]


def test_encodings_match_redis(tessera, redis_ref):
    t, r = tessera.client(), redis_ref.client()
    assert _run(t, ENCODING_SCRIPT) == _run(r, ENCODING_SCRIPT)
    for key in ENCODING_KEYS:
        assert t.object("encoding", key) == r.object("encoding", key), key
        assert t.object("refcount", key) == r.object("refcount", key), key
        assert t.get(key) == r.get(key), key


def test_counters_and_ranges(tessera):
    c = tessera.client()
    assert c.incrby("n", 10) == 10
    assert c.decrby("n", 3) == 7
    c.set("n", 9223372036854775807)
    with pytest.raises(Exception, match="increment or decrement would overflow"):
        c.incr("n")
    assert c.incrbyfloat("fl", "10.5") == 10.5
    assert c.get("fl") == b"10.5"
    c.set("s", "hello")
    assert c.getrange("s", -3, -1) == b"llo"
    assert c.setrange("s", 7, "xy") == 9
    assert c.get("s") == b"hello\x00\x00xy"
    assert c.append("s", "!") == 10
    assert c.strlen("s") == 10
    assert c.object("encoding", "s") == b"raw"


def test_ttl_survives_value_changes(tessera):
    c = tessera.client()
    c.set("k", "10", ex=100)
    c.incr("k")
    c.append("k", "5")
    c.setrange("k", 0, "9")
    c.incrbyfloat("k", 1)
    assert 98 <= c.ttl("k") <= 100
    c.set("k", "v", keepttl=True)
    assert 98 <= c.ttl("k") <= 100
    c.set("k", "v")
    assert c.ttl("k") == -1
    assert c.expire("k", 50) is True
    assert c.expire("k", 40, gt=True) is False
    assert c.persist("k") is True
    assert c.ttl("k") == -1
    assert c.ttl("missing") == -2


def test_lazy_and_active_expiry(tessera):
    c = tessera.client()
    c.config_resetstat()
    c.set("lazy", "v", px=50)
    for i in range(500):
        c.set("act:%d" % i, "v", px=50)
    c.set("keep", "v")
    time.sleep(0.2)
    assert c.get("lazy") is None
    deadline = time.time() + 5
    while c.dbsize() > 1 and time.time() < deadline:
        time.sleep(0.1)
    assert c.dbsize() == 1
    assert int(c.info("stats")["expired_keys"]) == 501


def test_past_expire_deletes(tessera):
    c = tessera.client()
    c.set("k", "v")
    assert c.expire("k", -1) is True
    assert c.exists("k") == 0
    c.set("k", "v")
    assert c.execute_command("getex", "k", "exat", 1) == b"v"
    assert c.exists("k") == 0


def test_scan_covers_all_keys(tessera):
    c = tessera.client()
    names = {"key:%d" % i for i in range(3000)}
    pipe = c.pipeline(transaction=False)
    for n in names:
        pipe.set(n, n)
    pipe.execute()
    for count in (1, 10, 1000):
        seen = set()
        cursor = 0
        for _ in range(100000):
            cursor, keys = c.scan(cursor, count=count)
            seen.update(k.decode() for k in keys)
            if cursor == 0:
                break
        assert seen == names
    assert set(k.decode() for k in c.scan_iter(match="key:1?")) == {"key:1%d" % i for i in range(10)}
    assert len(list(c.scan_iter(_type="string"))) == 3000
    assert list(c.scan_iter(_type="list")) == []
    assert len(c.keys("key:*")) == 3000


def test_rename_move_copy_swapdb(tessera):
    c = tessera.client()
    c.set("src", "v", ex=100)
    assert c.rename("src", "dst") is True
    assert c.ttl("dst") > 90 and c.exists("src") == 0
    assert c.move("dst", 3) is True
    c2 = tessera.client(db=3)
    assert c2.get("dst") == b"v" and c2.ttl("dst") > 90
    assert c2.copy("dst", "cp", destination_db=0) is True
    assert c.get("cp") == b"v" and c.ttl("cp") > 90
    c.swapdb(0, 3)
    assert c.get("dst") == b"v" and c2.get("cp") == b"v"
    with pytest.raises(Exception, match="no such key"):
        c.rename("nope", "x")


def test_keyspace_stats_match_redis(tessera, redis_ref):
    script = [("set", "a", "1"), ("get", "a"), ("get", "zz"), ("exists", "a", "zz"),
              ("type", "a"), ("ttl", "zz"), ("mget", "a", "zz"), ("incr", "a"),
              ("touch", "a", "zz"), ("strlen", "zz"),
              ("getrange", "zz", "0", "1"), ("copy", "a", "c"), ("append", "q", "x")]
    out = []
    for srv in (tessera, redis_ref):
        cl = srv.client()
        cl.config_resetstat()
        _run(cl, script)
        cl.object("encoding", "a")
        cl.object("encoding", "zz")
        s = cl.info("stats")
        out.append((s["keyspace_hits"], s["keyspace_misses"]))
    assert out[0] == out[1]


def test_memory_per_key_below_redis(tessera_factory, redis_ref_factory):
    per_key = []
    for factory in (tessera_factory, redis_ref_factory):
        srv = factory("--enable-debug-command", "yes")
        cl = srv.client()
        before = cl.info("memory")["used_memory"]
        cl.execute_command("debug", "populate", 200000)
        per_key.append((cl.info("memory")["used_memory"] - before) / 200000)
        assert cl.dbsize() == 200000
        assert cl.get("key:199999") == b"value:199999"
    assert per_key[0] <= per_key[1], per_key
