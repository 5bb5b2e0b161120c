"""
test_rdb.py — RDB snapshots and DUMP/RESTORE with real processes.

- SAVE, then a restart in the same directory loads every key (all types and
  encodings, TTLs, several databases) with the same values and encodings.
- A dump.rdb written by Debian's redis-server 7.0.15 loads in tessera, and one
  written by tessera loads in redis-server; compared key by key (type,
  encoding, value, absolute expire time).
- DUMP/RESTORE both ways for every type and encoding, and RESTORE's options
  and errors compared with redis-server's replies.
- BGSAVE, save points from `save`, SHUTDOWN [NO]SAVE, LASTSAVE, a corrupt file
  refused at start.
"""
import os
import random
import shutil
import time

import pytest
import redis
from conftest import raw

ALL_DBS = (0, 3, 9)


def fill(port):
    """The same data set on any server (deterministic)."""
    rng = random.Random(42)
    r = redis.Redis(port=port)
    p = r.pipeline(transaction=False)
    p.set("s:int", 12345)
    p.set("s:neg", -9000000000)
    p.set("s:emb", "hello world")
    p.set("s:raw", "x" * 100)
    p.set("s:bin", bytes(range(256)))
    p.set("s:rand", bytes(rng.randrange(256) for _ in range(5000)))
    p.set("s:empty", "")
    p.rpush("l:small", "a", "b", "1", "-2", "y" * 70)
    p.rpush("l:big", *["elem-%d" % i for i in range(3000)])
    p.rpush("l:huge-elem", "z" * 20000, "small")
    p.sadd("set:int", *range(20))
    p.sadd("set:str", *["m%d" % i for i in range(50)])
    p.sadd("set:big", *range(1000))
    p.zadd("z:lp", {"a": 1, "b": 2.5, "c": -3, "d": 1e100, "e": float("inf"), "g": 0.1})
    p.zadd("z:sl", {"m%d" % i: i / 3 for i in range(300)})
    p.hset("h:lp", mapping={"f1": "v1", "f2": "2", "f3": "z" * 60})
    for i in range(700):
        p.hset("h:ht", "f%d" % i, "v%d" % i)
    p.hset("h:longval", mapping={"k": "L" * 200})
    p.set("ttl:s", "v", px=10 ** 9)
    p.rpush("ttl:l", "a", "b")
    p.pexpire("ttl:l", 2 * 10 ** 9)
    p.execute()
    for db in ALL_DBS[1:]:
        rd = redis.Redis(port=port, db=db)
        rd.set("db%d:k" % db, "in db %d" % db)
        rd.sadd("db%d:set" % db, "a", "b")
    return r


def describe_key(r, k):
    t = r.type(k).decode()
    enc = r.object("encoding", k)
    enc = enc.decode() if isinstance(enc, bytes) else enc
    if t == "string":
        v = r.get(k)
    elif t == "list":
        v = r.lrange(k, 0, -1)
    elif t == "set":
        v = sorted(r.smembers(k))
    elif t == "zset":
        v = r.zrange(k, 0, -1, withscores=True)
    elif t == "hash":
        v = sorted(r.hgetall(k).items())
    else:
        v = None
    return (t, enc, v, r.execute_command("PEXPIRETIME", k))


def snapshot(port, dbs=ALL_DBS):
    out = {}
    for db in dbs:
        r = redis.Redis(port=port, db=db)
        for k in sorted(r.keys("*")):
            out[(db, k)] = describe_key(r, k)
    return out


def assert_same(a, b):
    assert sorted(a) == sorted(b), "key sets differ: %s" % (set(a) ^ set(b))
    for key in a:
        assert a[key] == b[key], "key %r differs:\n  %r\n  %r" % (key, a[key][:3], b[key][:3])


def restart(factory, srv, *args):
    srv.stop()
    return factory(*args, workdir=str(srv.dir))


# ---------------------------------------------------------------- files

def test_save_then_restart_loads_everything(tessera_factory):
    t = tessera_factory()
    fill(t.port)
    before = snapshot(t.port)
    assert len(before) == 20 + 2 * (len(ALL_DBS) - 1)
    assert t.client().save() is True
    assert (t.dir / "dump.rdb").exists()
    t2 = restart(tessera_factory, t)
    assert_same(before, snapshot(t2.port))
    assert "Done loading RDB, keys loaded: %d, keys expired: 0." % len(before) in t2.log_tail()


def test_redis_rdb_loads_in_tessera(redis_ref_factory, tessera_factory):
    ref = redis_ref_factory()
    fill(ref.port)
    want = snapshot(ref.port)
    ref.client().save()
    t = tessera_factory()
    t.stop()
    shutil.copy(ref.dir / "dump.rdb", t.dir / "dump.rdb")
    t2 = tessera_factory(workdir=str(t.dir))
    assert_same(want, snapshot(t2.port))
    assert "Loading RDB produced by version 7.0.15" in t2.log_tail()


def test_tessera_rdb_loads_in_redis(redis_ref_factory, tessera_factory):
    t = tessera_factory()
    fill(t.port)
    want = snapshot(t.port)
    t.client().save()
    ref = redis_ref_factory()
    ref.stop()
    shutil.copy(t.dir / "dump.rdb", ref.dir / "dump.rdb")
    ref2 = redis_ref_factory(workdir=str(ref.dir))
    assert_same(want, snapshot(ref2.port))


def test_populate_and_compressed_file_roundtrip(redis_ref_factory, tessera_factory):
    """DEBUG POPULATE in redis, saved without compression and with; both load."""
    for comp in ("no", "yes"):
        ref = redis_ref_factory("--enable-debug-command", "yes", "--rdbcompression", comp)
        r = ref.client()
        r.execute_command("DEBUG", "POPULATE", 20000, "key", 64)
        want = {k: r.get(k) for k in r.keys("key:1*")}
        r.save()
        t = tessera_factory()
        t.stop()
        shutil.copy(ref.dir / "dump.rdb", t.dir / "dump.rdb")
        t2 = tessera_factory("--rdbcompression", comp, workdir=str(t.dir))
        c = t2.client()
        assert c.dbsize() == 20000
        assert {k: c.get(k) for k in want} == want
        ref.stop()
        t2.stop()


def test_corrupt_file_refused(tessera_factory):
    t = tessera_factory()
    fill(t.port)
    t.client().save()
    t.stop()
    path = t.dir / "dump.rdb"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    from conftest import ServerProcess, TESSERA_BIN
    srv = ServerProcess("tessera-server", TESSERA_BIN, workdir=str(t.dir))
    with pytest.raises(Exception):
        srv.start(deadline=5, retries=1)
    assert srv.returncode not in (None, 0)
    assert "Internal error in RDB reading offset" in srv.log_tail()


def test_expired_keys_dropped_on_load(tessera_factory):
    t = tessera_factory()
    c = t.client()
    c.set("keep", "1")
    c.set("gone", "1", px=300)
    c.save()
    time.sleep(0.5)
    t2 = restart(tessera_factory, t)
    c2 = t2.client()
    assert c2.dbsize() == 1
    assert "keys loaded: 1, keys expired: 1." in t2.log_tail()


# ---------------------------------------------------------------- DUMP / RESTORE

def test_dump_restore_interop(redis_ref_factory, tessera_factory):
    ref = redis_ref_factory()
    t = tessera_factory()
    fill(ref.port)
    fill(t.port)
    rr, tr = ref.client(), t.client()
    keys = sorted(rr.keys("*"))
    assert keys == sorted(tr.keys("*"))
    for k in keys:
        want = describe_key(rr, k)
        # redis -> tessera
        tr.restore(b"from-redis:" + k, 0, rr.dump(k))
        got = describe_key(tr, b"from-redis:" + k)
        assert got[:3] == want[:3], k
        # tessera -> redis
        rr.restore(b"from-tessera:" + k, 0, tr.dump(k))
        got = describe_key(rr, b"from-tessera:" + k)
        assert got[:3] == want[:3], k
    # Strings and ordered encodings give the very same payload bytes.
    rr.config_set("rdbcompression", "no")
    tr.config_set("rdbcompression", "no")
    for k in (b"s:int", b"s:emb", b"s:raw", b"l:small", b"set:int", b"z:lp", b"z:sl", b"h:lp"):
        assert rr.dump(k) == tr.dump(k), k


def test_dump_missing_key(tessera):
    assert tessera.client().dump("nope") is None


RESTORE_CASES = [
    # (setup, command) — compared with redis-server reply for reply
    ("existing", ["RESTORE", "k", "0", "@payload"]),
    ("existing", ["RESTORE", "k", "0", "@payload", "REPLACE"]),
    ("", ["RESTORE", "k", "abc", "@payload"]),
    ("", ["RESTORE", "k", "-1", "@payload"]),
    ("", ["RESTORE", "k", "0", "garbage"]),
    ("", ["RESTORE", "k", "0", "@badcrc"]),
    ("", ["RESTORE", "k", "0", "@v11"]),
    ("", ["RESTORE", "k", "0", "@badbody"]),
    ("", ["RESTORE", "k", "0", "@payload", "IDLETIME", "-1"]),
    ("", ["RESTORE", "k", "0", "@payload", "IDLETIME", "x"]),
    ("", ["RESTORE", "k", "0", "@payload", "FREQ", "256"]),
    ("", ["RESTORE", "k", "0", "@payload", "FREQ", "1", "IDLETIME", "1"]),
    ("", ["RESTORE", "k", "0", "@payload", "IDLETIME"]),
    ("", ["RESTORE", "k", "0", "@payload", "BOGUS"]),
    ("", ["RESTORE", "k", "0", "@payload", "IDLETIME", "100"]),
    ("", ["RESTORE", "k", "1", "@payload", "ABSTTL"]),
    ("existing", ["RESTORE", "k", "1", "@payload", "ABSTTL", "REPLACE"]),
    ("", ["RESTORE", "k"]),
    ("", ["RESTORE-ASKING", "k", "0", "@payload"]),
]


def _crc64(data):
    poly = 0x95AC9329AC4BC9B5
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


def _payloads(r):
    r.set("src", "some value")
    good = r.dump("src")
    body = good[:-10]
    v11 = body + b"\x0b\x00"
    v11 += _crc64(v11).to_bytes(8, "little")
    bad = b"\x12\x01\x02\x05hello" + b"\x0a\x00"
    bad += _crc64(bad).to_bytes(8, "little")
    return {"@payload": good, "@badcrc": good[:-1] + bytes([good[-1] ^ 1]), "@v11": v11,
            "@badbody": bad}


def _run(r, setup, cmd, payloads):
    r.delete("k")
    if setup == "existing":
        r.set("k", "old")
    args = [payloads.get(a, a) for a in cmd]
    try:
        res = r.execute_command(*args)
    except redis.ResponseError as e:
        res = "ERR:" + str(e)
    return res, r.exists("k"), r.get("k") if r.type("k") == b"string" else None


def test_restore_replies_match_redis(redis_ref_factory, tessera_factory):
    ref = redis_ref_factory()
    t = tessera_factory()
    rr, tr = ref.client(), t.client()
    pr, pt = _payloads(rr), _payloads(tr)
    assert pr == pt
    for setup, cmd in RESTORE_CASES:
        assert _run(tr, setup, cmd, pt) == _run(rr, setup, cmd, pr), cmd


def test_restore_ttl_and_idle(tessera):
    c = tessera.client()
    c.set("src", "v")
    p = c.dump("src")
    c.restore("a", 5000, p)
    assert 4000 < c.pttl("a") <= 5000
    at = int(time.time() * 1000) + 60000
    c.restore("b", at, p, absttl=True)
    assert c.execute_command("PEXPIRETIME", "b") == at
    c.restore("c", 0, p, idletime=1000)
    assert c.object("idletime", "c") >= 1000
    c.restore("c", 0, p, replace=True)
    assert c.object("idletime", "c") < 5


# ---------------------------------------------------------------- SAVE / BGSAVE

def test_save_bgsave_lastsave(tessera):
    c = tessera.client()
    c.set("a", "1")
    before = c.lastsave()
    time.sleep(1.1)
    assert c.execute_command("SAVE") in (b"OK", True)
    assert c.lastsave() > before
    assert c.info("persistence")["rdb_changes_since_last_save"] == 0
    assert raw(tessera.port, b"BGSAVE\r\n") == b"+Background saving started\r\n"
    deadline = time.time() + 10
    while "Background saving terminated with success" not in tessera.log_tail():
        assert time.time() < deadline, "BGSAVE did not finish"
        time.sleep(0.05)
    with pytest.raises(redis.ResponseError, match="syntax error"):
        c.execute_command("BGSAVE", "foo")
    assert not list(tessera.dir.glob("temp-*.rdb"))


def test_bgsave_in_progress_refused(tessera):
    c = tessera.client()
    p = c.pipeline(transaction=False)
    for i in range(200000):
        p.set("key:%d" % i, "v" * 100)
    p.execute()
    req = b"BGSAVE\r\nBGSAVE\r\nSAVE\r\nBGSAVE SCHEDULE\r\nINFO persistence\r\n"
    out = raw(tessera.port, req)
    # The child needs longer than these round trips for 200k keys.
    assert out.startswith(b"+Background saving started\r\n" +
                          b"-ERR Background save already in progress\r\n" * 3), out[:200]
    assert b"rdb_bgsave_in_progress:1" in out


def test_save_points(tessera_factory):
    t = tessera_factory("--save", "1 1")
    c = t.client()
    c.set("a", "1")
    deadline = time.time() + 10
    while not (t.dir / "dump.rdb").exists():
        assert time.time() < deadline, "no save after the save point"
        time.sleep(0.1)
    deadline = time.time() + 5
    while "1 changes in 1 seconds. Saving..." not in t.log_tail():
        assert time.time() < deadline
        time.sleep(0.05)


def shutdown(srv, *args):
    raw(srv.port, b" ".join([b"SHUTDOWN"] + list(args)) + b"\r\n")
    assert srv.wait(10) == 0


def test_shutdown_saves(tessera_factory):
    t = tessera_factory("--save", "3600 1")
    t.client().set("kept", "yes")
    shutdown(t)
    assert "Saving the final RDB snapshot before exiting." in t.log_tail()
    t2 = tessera_factory("--save", "3600 1", workdir=str(t.dir))
    assert t2.client().get("kept") == b"yes"
    t2.client().set("lost", "1")
    shutdown(t2, b"NOSAVE")
    t3 = tessera_factory(workdir=str(t.dir))  # --save "": no save points
    assert t3.client().get("lost") is None
    t3.client().set("forced", "1")
    shutdown(t3, b"SAVE")
    t4 = tessera_factory(workdir=str(t.dir))
    assert t4.client().get("forced") == b"1"


SAVE_REPLY_CASES = [
    b"MULTI\r\nSAVE\r\nEXEC\r\n",
    b"MULTI\r\nBGSAVE\r\nEXEC\r\n",
    b"BGSAVE a b\r\n",
    b"SAVE x\r\n",
    b"DUMP\r\n",
    b"DUMP a b\r\n",
    b"RESTORE a 0\r\n",
    b"SET a 1\r\nSAVE\r\n",
]


def test_save_replies_match_redis(redis_ref_factory, tessera_factory):
    ref = redis_ref_factory()
    t = tessera_factory()
    for case in SAVE_REPLY_CASES:
        assert raw(t.port, case) == raw(ref.port, case), case
        # let a scheduled BGSAVE run before the next case
        for srv in (t, ref):
            deadline = time.time() + 10
            while b"rdb_bgsave_in_progress:1" in raw(srv.port, b"INFO persistence\r\n"):
                assert time.time() < deadline
                time.sleep(0.05)
