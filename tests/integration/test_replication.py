"""
test_replication.py — standalone replication with real processes.

- A primary with requirepass and two replicas with masterauth: writes on the
  primary reach both replicas (compared key by key, every type, several dbs,
  TTLs); writes to a replica get Redis's -READONLY text; WAIT 2 returns 2;
  ROLE and INFO replication on both sides.
- The replicas survive a primary restart (RDB saved at shutdown carries the
  replication id and offset) with a partial resync.
- Promotion (REPLICAOF NO ONE) keeps the siblings and the old primary on a
  partial resync (PSYNC2: replid2 / second_repl_offset).
- Interop with Debian's redis-server 7.0.15: as a replica of a tessera
  primary (full sync, then a partial one after CLIENT KILL TYPE master), and
  a tessera replica of a redis-server primary; data compared key by key.
- Error texts of REPLICAOF / WAIT / REPLCONF / PSYNC and the replica-side
  refusals (-MASTERDOWN, -NOREPLICAS) compared with redis-server's.
"""
import random
import time

import pytest
import redis
from conftest import raw

PASS = "s3cret"


def wait_until(fn, timeout=15.0, msg="condition", interval=0.05):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = fn()
            if last:
                return last
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as e:
            last = e
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, msg, last))


def repl_info(c):
    return c.info("replication")


def synced(primary, *replicas):
    """Every replica's link is up and it applied the primary's whole stream."""
    off = repl_info(primary)["master_repl_offset"]
    for r in replicas:
        i = repl_info(r)
        if i.get("master_link_status") != "up" or i.get("slave_repl_offset") != off:
            return False
    return True


def fill(c, seed=7, n=200):
    """A deterministic data set: every type, a transaction, TTLs, dbs 0 3 9."""
    rng = random.Random(seed)
    p = c.pipeline(transaction=False)
    for i in range(n):
        p.set("str:%d" % i, "v%d-%d" % (i, rng.randrange(10 ** 6)))
    p.set("int", 42)
    p.incrbyfloat("float", 1.5)
    p.rpush("list", *["e%d" % i for i in range(300)])
    p.sadd("set:int", *range(30))
    p.sadd("set:str", *["m%d" % i for i in range(40)])
    p.zadd("zset", {"z%d" % i: i / 7 for i in range(150)})
    p.hset("hash", mapping={"f%d" % i: "x" * (i % 70) for i in range(100)})
    p.set("ttl", "v", ex=3600)
    p.set("bin", bytes(range(256)))
    p.execute()
    tx = c.pipeline(transaction=True)
    tx.lpush("txlist", "a", "b")
    tx.incr("txcounter")
    tx.execute()
    kw = c.connection_pool.connection_kwargs
    for db in (3, 9):
        d = redis.Redis(port=kw["port"], db=db, password=kw.get("password"))
        d.set("db%d:k" % db, "in db %d" % db)
        d.sadd("db%d:set" % db, "a", "b")
        d.close()


def snapshot(port, password=None, dbs=(0, 3, 9)):
    """Every key's type, value and TTL presence, per db."""
    out = {}
    for db in dbs:
        c = redis.Redis(port=port, db=db, password=password, socket_timeout=10)
        for k in c.scan_iter(count=1000):
            t = c.type(k).decode()
            if t == "string":
                v = c.get(k)
            elif t == "list":
                v = c.lrange(k, 0, -1)
            elif t == "set":
                v = sorted(c.smembers(k))
            elif t == "zset":
                v = c.zrange(k, 0, -1, withscores=True)
            elif t == "hash":
                v = sorted(c.hgetall(k).items())
            else:
                v = None
            out[(db, k)] = (t, v, c.pttl(k) > 0)
        c.close()
    return out


def assert_same_data(a_port, b_port, password=None):
    a = snapshot(a_port, password)
    b = snapshot(b_port, password)
    assert len(a) > 0
    missing = [k for k in a if k not in b]
    extra = [k for k in b if k not in a]
    assert not missing and not extra, "missing %r extra %r" % (missing[:5], extra[:5])
    diff = [k for k in a if a[k] != b[k]]
    assert not diff, "differ: %r" % [(k, a[k], b[k]) for k in diff[:3]]


def log_has(srv, text):
    return text in srv.log_path.read_text(errors="replace")


@pytest.fixture
def trio(tessera_factory):
    """A primary with requirepass and two replicas with masterauth."""
    p = tessera_factory("--requirepass", PASS, "--masterauth", PASS, "--repl-diskless-sync-delay", "0",
                        "--enable-debug-command", "yes", "--save", "3600 1")
    reps = [tessera_factory("--requirepass", PASS, "--masterauth", PASS,
                            "--replicaof", "127.0.0.1", str(p.port)) for _ in range(2)]
    pc = p.client(password=PASS)
    rcs = [r.client(password=PASS) for r in reps]
    wait_until(lambda: synced(pc, *rcs), msg="initial sync")
    return p, reps, pc, rcs


def test_primary_two_replicas(trio):
    p, reps, pc, rcs = trio
    fill(pc)
    wait_until(lambda: synced(pc, *rcs), msg="replicas caught up")
    for r in reps:
        assert_same_data(p.port, r.port, PASS)
    # WAIT: both replicas acknowledge the last write
    pc.set("after", "1")
    assert pc.execute_command("WAIT", 2, 5000) == 2
    assert pc.execute_command("WAIT", 0, 0) == 2
    for rc in rcs:
        assert rc.get("after") == b"1"
    # writes to a replica are refused with Redis's exact text
    for rc in rcs:
        with pytest.raises(redis.exceptions.ReadOnlyError) as e:  # redis-py strips "READONLY "
            rc.set("nope", "1")
        assert str(e.value) == "You can't write against a read only replica."
    assert raw(reps[0].port, b"AUTH " + PASS.encode() + b"\r\nSET x 1\r\n") == \
        b"+OK\r\n-READONLY You can't write against a read only replica.\r\n"
    # ROLE and INFO on both sides
    role = pc.execute_command("ROLE")
    assert role[0] == b"master" and len(role[2]) == 2
    assert sorted(int(x[1]) for x in role[2]) == sorted(r.port for r in reps)
    info = repl_info(pc)
    assert info["role"] == "master" and info["connected_slaves"] == 2
    for k in ("master_failover_state", "master_replid", "master_replid2", "master_repl_offset",
              "second_repl_offset", "repl_backlog_active", "repl_backlog_size",
              "repl_backlog_first_byte_offset", "repl_backlog_histlen"):
        assert k in info
    assert info["slave0"]["state"] == "online"
    rinfo = repl_info(rcs[0])
    assert rinfo["role"] == "slave" and rinfo["master_port"] == p.port
    for k in ("master_host", "master_link_status", "master_last_io_seconds_ago",
              "master_sync_in_progress", "slave_read_repl_offset", "slave_repl_offset",
              "slave_priority", "slave_read_only", "replica_announced", "connected_slaves"):
        assert k in rinfo
    assert rinfo["master_replid"] == info["master_replid"]
    rrole = rcs[0].execute_command("ROLE")
    assert rrole[:4] == [b"slave", b"127.0.0.1", p.port, b"connected"]
    # expiry: the replica hides an expired key but waits for the primary's DEL
    pc.set("short", "v", px=150)
    wait_until(lambda: synced(pc, *rcs), msg="short key replicated")
    time.sleep(0.3)
    assert rcs[0].get("short") is None
    wait_until(lambda: rcs[0].dbsize() == pc.dbsize(), msg="DEL of the expired key replicated")


def test_primary_restart_partial_resync(trio):
    p, reps, pc, rcs = trio
    fill(pc, seed=1)
    wait_until(lambda: synced(pc, *rcs), msg="replicas caught up")
    pc.close()
    assert p.stop() == 0
    for rc in rcs:
        wait_until(lambda: repl_info(rc)["master_link_status"] == "down", msg="link down")
    p.start()
    pc = p.client(password=PASS)
    wait_until(lambda: synced(pc, *rcs), msg="resync after the restart")
    for r in reps:
        assert log_has(r, "Successful partial resynchronization with master.")
    assert pc.info("stats")["sync_partial_ok"] == 2
    assert pc.info("stats")["sync_full"] == 0
    pc.set("after-restart", "yes")
    wait_until(lambda: synced(pc, *rcs), msg="stream after the restart")
    for r in reps:
        assert_same_data(p.port, r.port, PASS)


def test_promotion_keeps_partial_resync(trio):
    p, reps, pc, rcs = trio
    fill(pc, seed=2, n=50)
    wait_until(lambda: synced(pc, *rcs), msg="replicas caught up")
    new, sib = reps
    newc, sibc = rcs
    old_id = repl_info(newc)["master_replid"]
    assert newc.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    info = repl_info(newc)
    assert info["role"] == "master" and info["master_replid2"] == old_id
    assert info["second_repl_offset"] == info["master_repl_offset"] + 1
    newc.set("on-new", "1")
    sibc.execute_command("REPLICAOF", "127.0.0.1", new.port)
    pc.execute_command("REPLICAOF", "127.0.0.1", new.port)
    wait_until(lambda: synced(newc, sibc, pc), msg="resync with the promoted replica")
    st = newc.info("stats")
    assert st["sync_partial_ok"] == 2 and st["sync_full"] == 0
    assert sibc.get("on-new") == b"1" and pc.get("on-new") == b"1"
    assert pc.execute_command("REPLICAOF", "127.0.0.1", new.port) == \
        b"OK Already connected to specified master"


def test_redis_replica_of_tessera(tessera_factory, redis_ref_factory):
    t = tessera_factory("--requirepass", PASS, "--repl-diskless-sync-delay", "0")
    tc = t.client(password=PASS)
    fill(tc, seed=3)
    r = redis_ref_factory("--masterauth", PASS, "--replicaof", "127.0.0.1", str(t.port))
    rc = r.client()
    wait_until(lambda: synced(tc, rc), msg="redis replica synced")
    assert snapshot(t.port, PASS) == snapshot(r.port)
    assert log_has(r, "MASTER <-> REPLICA sync: Finished with success")
    tc.set("stream", "1")
    redis.Redis(port=t.port, db=3, password=PASS).rpush("db3:list", 1, 2, 3)
    wait_until(lambda: synced(tc, rc), msg="stream applied")
    # a dropped link continues with a partial resync
    rc.execute_command("CLIENT", "KILL", "TYPE", "master")
    tc.set("while-away", "x")
    wait_until(lambda: log_has(r, "Successful partial resynchronization with master."),
               msg="redis partial resync")
    wait_until(lambda: synced(tc, rc), msg="caught up after the partial resync")
    assert snapshot(t.port, PASS) == snapshot(r.port)
    assert tc.execute_command("WAIT", 1, 5000) == 1


def test_tessera_replica_of_redis(tessera_factory, redis_ref_factory):
    r = redis_ref_factory("--requirepass", PASS, "--repl-diskless-sync-delay", "0")
    rc = r.client(password=PASS)
    fill(rc, seed=4)
    t = tessera_factory("--masterauth", PASS, "--replicaof", "127.0.0.1", str(r.port))
    tc = t.client()
    wait_until(lambda: synced(rc, tc), msg="tessera replica synced")
    assert snapshot(r.port, PASS) == snapshot(t.port)
    rc.set("stream", "1")
    redis.Redis(port=r.port, db=9, password=PASS).zadd("db9:z", {"a": 1})
    wait_until(lambda: synced(rc, tc), msg="stream applied")
    tc.execute_command("CLIENT", "KILL", "TYPE", "master")
    rc.set("while-away", "x")
    wait_until(lambda: log_has(t, "Successful partial resynchronization with master."),
               msg="tessera partial resync")
    wait_until(lambda: synced(rc, tc), msg="caught up after the partial resync")
    assert snapshot(r.port, PASS) == snapshot(t.port)
    assert rc.execute_command("WAIT", 1, 5000) == 1
    assert r.client(password=PASS).info("stats")["sync_partial_ok"] >= 1


ERR_CMDS = [
    b"REPLICAOF 127.0.0.1 notaport\r\n",
    b"REPLICAOF 127.0.0.1 70000\r\n",
    b"REPLICAOF no two\r\n",
    b"REPLICAOF\r\n",
    b"WAIT 1 abc\r\n",
    b"WAIT abc 1\r\n",
    b"WAIT 0 -1\r\n",
    b"WAIT 1 10\r\n",
    b"REPLCONF foo bar\r\n",
    b"REPLCONF foo\r\n",
    b"REPLCONF listening-port x\r\n",
    b"REPLCONF listening-port 1234 capa eof capa psync2\r\n",
    b"REPLICAOF NO ONE\r\n",
    b"ROLE\r\n",
    b"CONFIG GET replicaof\r\n",
    b"CONFIG GET slaveof\r\n",
    b"CONFIG SET replicaof \"127.0.0.1 1\"\r\n",
    b"CONFIG GET repl-backlog-size\r\n",
    b"CONFIG GET min-slaves-max-lag\r\n",
    b"CONFIG SET repl-backlog-size 2mb\r\nCONFIG GET repl-backlog-size\r\n",
]


def test_error_texts_match_redis(tessera, redis_ref):
    for cmd in ERR_CMDS:
        assert raw(tessera.port, cmd) == raw(redis_ref.port, cmd), cmd


def test_replica_refusals_match_redis(tessera_factory, redis_ref_factory):
    dead = 1  # nothing listens on port 1
    t = tessera_factory("--replicaof", "127.0.0.1", str(dead))
    r = redis_ref_factory("--replicaof", "127.0.0.1", str(dead))
    script = (b"SET k v\r\nWAIT 1 0\r\nCONFIG SET replica-serve-stale-data no\r\n"
              b"GET k\r\nPING\r\nINFO server-nope\r\nROLE\r\n"
              b"CONFIG SET replica-serve-stale-data yes\r\nCONFIG SET replica-read-only no\r\n"
              b"SET k v\r\nGET k\r\nPSYNC ? -1\r\n")
    time.sleep(1.2)
    got_t, got_r = raw(t.port, script), raw(r.port, script)
    # ROLE's state depends on the retry moment: compare everything else
    assert got_t.replace(b"connecting", b"connect") == got_r.replace(b"connecting", b"connect")


def test_min_replicas_to_write(tessera_factory):
    p = tessera_factory("--min-replicas-to-write", "1", "--min-replicas-max-lag", "10",
                        "--repl-diskless-sync-delay", "0")
    pc = p.client()
    with pytest.raises(redis.ResponseError) as e:
        pc.set("k", "v")
    assert str(e.value) == "NOREPLICAS Not enough good replicas to write."
    r = tessera_factory("--replicaof", "127.0.0.1", str(p.port))
    rc = r.client()
    wait_until(lambda: synced(pc, rc), msg="replica synced")
    wait_until(lambda: pc.set("k", "v"), msg="writes allowed with a good replica")
    assert repl_info(pc)["min_slaves_good_slaves"] == 1
    assert pc.execute_command("WAIT", 1, 5000) == 1


def test_wait_times_out_and_unblocks(tessera_factory):
    p = tessera_factory("--repl-diskless-sync-delay", "0")
    pc = p.client()
    t0 = time.monotonic()
    assert pc.execute_command("WAIT", 1, 200) == 0  # no replica at all
    assert 0.15 < time.monotonic() - t0 < 2.0
    r = tessera_factory("--replicaof", "127.0.0.1", str(p.port))
    rc = r.client()
    wait_until(lambda: synced(pc, rc), msg="replica synced")
    pc.set("x", 1)
    assert pc.execute_command("WAIT", 5, 300) == 1  # one of five, after the timeout
    # pipelined commands after a blocked WAIT run once it answers
    out = raw(p.port, b"SET y 2\r\nWAIT 1 0\r\nGET y\r\n", idle=1.0)
    assert out == b"+OK\r\n:1\r\n$1\r\n2\r\n"


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_big_snapshot_to_redis_replica(tessera_factory, redis_ref_factory, diskless):
    """A snapshot of several payload blocks (8 MB each), paced to the replica's
    output, in both framings; redis-server checks the RDB's CRC-64."""
    t = tessera_factory("--enable-debug-command", "yes", "--rdbcompression", "no",
                        "--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0")
    tc = t.client()
    tc.execute_command("DEBUG", "POPULATE", 120000, "key", 200)
    tc.rpush("biglist", *[("%05d" % i) * 40 for i in range(5000)])
    r = redis_ref_factory("--replicaof", "127.0.0.1", str(t.port))
    rc = r.client()
    wait_until(lambda: synced(tc, rc), timeout=60, msg="big full sync")
    assert rc.dbsize() == tc.dbsize() == 120001
    for k in (b"key:0", b"key:77777", b"key:119999"):
        assert rc.get(k) == tc.get(k)
    assert rc.lrange("biglist", 0, -1) == tc.lrange("biglist", 0, -1)
    framing = "receiving streamed RDB" if diskless == "yes" else "receiving 2"
    assert log_has(r, "MASTER <-> REPLICA sync: " + framing)


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_snapshot_child_while_writes_continue(tessera_factory, diskless):
    """The full sync's snapshot comes from a forked child, as Redis's BGSAVE
    for replication: the master keeps executing writes while it runs, and the
    replica ends with exactly the master's data (the snapshot is the dataset
    at the fork's offset, the stream carries every write after it)."""
    t = tessera_factory("--enable-debug-command", "yes", "--repl-diskless-sync", diskless,
                        "--repl-diskless-sync-delay", "0")
    tc = t.client()
    tc.execute_command("DEBUG", "POPULATE", 200000, "key", 32)
    rep = tessera_factory()
    rc = rep.client()
    rc.replicaof("127.0.0.1", t.port)
    served_during_sync = 0
    for i in range(3000):  # bounded: writes race the snapshot child
        tc.incr("counter")
        tc.rpush("log", i)
        tc.set("key:%d" % (i * 37), "new%d" % i)
        if repl_info(rc).get("master_link_status") != "up":
            served_during_sync += 1
    wait_until(lambda: synced(tc, rc), timeout=60, msg="full sync under writes")
    assert served_during_sync > 0, "the sync ended before the first write: nothing was tested"
    assert rc.get("counter") == tc.get("counter") == b"3000"
    assert rc.llen("log") == 3000 and rc.lrange("log", 0, -1) == tc.lrange("log", 0, -1)
    assert rc.dbsize() == tc.dbsize()
    for i in (0, 1234, 2999):
        assert rc.get("key:%d" % (i * 37)) == b"new%d" % i
    assert log_has(t, "Background RDB transfer started by pid")
    assert log_has(t, "Background RDB transfer terminated with success")
