"""
test_eviction.py — maxmemory and the eviction policies through a real client:
each policy evicts once used memory passes maxmemory (INFO evicted_keys
grows, memory stays near the limit), volatile-* policies only take keys with
a TTL and refuse writes with the OOM error once none is left, noeviction
refuses with Redis's exact text (also inside MULTI), allkeys-lru keeps
recently used keys and allkeys-lfu frequently used ones (statistically),
OBJECT IDLETIME / FREQ follow the policy, and evictions reach the AOF as DEL.
Each behaviour test runs on Tessera and on Debian's redis-server.

Must not: depend on exact memory figures (only on "over / under the limit")
or on timing tighter than the 1-second LRU clock.
"""
import time

import pytest
import redis

VALUE = "v" * 1000
OOM = "OOM command not allowed when used memory > 'maxmemory'."


@pytest.fixture(params=["tessera", "redis"])
def factory(request, tessera_factory, redis_ref_factory):
    return tessera_factory if request.param == "tessera" else redis_ref_factory


def used(c):
    return int(c.info("memory")["used_memory"])


def evicted(c):
    return int(c.info("stats")["evicted_keys"])


def fill(c, prefix, n, ex=None, start=0):
    """n keys prefix<i> of 1000 bytes (with EX ex when given), pipelined;
    returns the replies (OOM errors stay in the list)."""
    p = c.pipeline(transaction=False)
    for i in range(start, start + n):
        p.set("%s%d" % (prefix, i), VALUE, ex=ex)
    return p.execute(raise_on_error=False)


def limit_to_now(c, extra=64 * 1024):
    """maxmemory = what is used now + extra."""
    c.config_set("maxmemory", used(c) + extra)


ALL_POLICIES = ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
                "volatile-lfu", "volatile-random", "volatile-ttl"]


@pytest.mark.parametrize("policy", ALL_POLICIES)
def test_policy_evicts_past_maxmemory(factory, policy):
    srv = factory("--maxmemory-policy", policy)
    c = srv.client()
    assert c.config_get("maxmemory-policy")["maxmemory-policy"] == policy
    volatile = policy.startswith("volatile")
    fill(c, "a", 500, ex=10000 if volatile else None)
    limit_to_now(c)
    replies = fill(c, "b", 1000, ex=10000 if volatile else None)
    assert not [r for r in replies if isinstance(r, Exception)]
    assert evicted(c) > 0
    assert c.dbsize() < 1500
    maxmem = int(c.config_get("maxmemory")["maxmemory"])
    assert used(c) <= maxmem + 64 * 1024
    assert c.info("memory")["maxmemory_policy"] == policy


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random",
                                    "volatile-ttl"])
def test_volatile_only_evicts_keys_with_ttl(factory, policy):
    srv = factory("--maxmemory-policy", policy)
    c = srv.client()
    fill(c, "keep", 300)
    fill(c, "ttl", 300, ex=10000)
    limit_to_now(c, 16 * 1024)
    replies = fill(c, "more", 600)
    errors = [r for r in replies if isinstance(r, Exception)]
    assert evicted(c) > 0
    for i in range(300):
        assert c.exists("keep%d" % i), "keep%d was evicted" % i
    # Once every volatile key is gone, writes are refused.
    assert errors, "writes never hit OOM after the volatile keys ran out"
    assert all(str(e) == OOM for e in errors)
    assert sum(1 for i in range(300) if c.exists("ttl%d" % i)) < 300


def test_volatile_ttl_evicts_soonest_first(factory):
    srv = factory("--maxmemory-policy", "volatile-ttl", "--maxmemory-samples", "10")
    c = srv.client()
    for i in range(200):
        c.set("short%d" % i, VALUE, ex=1000)
    for i in range(200):
        c.set("long%d" % i, VALUE, ex=100000)
    limit_to_now(c, 16 * 1024)
    fill(c, "new", 150)
    short = sum(1 for i in range(200) if c.exists("short%d" % i))
    long_ = sum(1 for i in range(200) if c.exists("long%d" % i))
    assert evicted(c) > 50
    assert long_ - short > 50, (short, long_)


def test_noeviction_refuses_with_redis_text(factory):
    srv = factory()
    c = srv.client()
    assert c.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    c.set("k", "v")
    c.config_set("maxmemory", 1)
    with pytest.raises(redis.exceptions.ResponseError) as e:
        c.set("k2", "v")
    assert str(e.value) == OOM
    assert c.get("k") == b"v"          # reads still run
    assert c.delete("k") == 1          # so do deletions
    with pytest.raises(redis.exceptions.ResponseError) as e:
        c.lpush("l", "x")
    assert str(e.value) == OOM
    # Inside MULTI every queued command is refused (not EXEC / DISCARD).
    p = c.pipeline(transaction=True)
    p.get("k")
    with pytest.raises(redis.exceptions.ResponseError) as e:
        p.execute()
    assert "EXECABORT" in str(e.value) or OOM in str(e.value)
    assert evicted(c) == 0
    c.config_set("maxmemory", 0)
    assert c.set("k2", "v")


def test_oom_counts_as_rejected(factory):
    srv = factory()
    c = srv.client()
    c.config_set("maxmemory", 1)
    for _ in range(3):
        with pytest.raises(redis.exceptions.ResponseError):
            c.set("k", "v")
    c.config_set("maxmemory", 0)
    stats = c.info("commandstats")["cmdstat_set"]
    assert stats["rejected_calls"] == 3
    oom = c.info("errorstats")["errorstat_OOM"]
    assert (oom["count"] if isinstance(oom, dict) else int(str(oom).split("=")[1])) == 3


def test_allkeys_lru_keeps_recently_used(factory):
    srv = factory("--maxmemory-policy", "allkeys-lru", "--maxmemory-samples", "10")
    c = srv.client()
    fill(c, "k", 1000)
    time.sleep(2.2)  # the LRU clock has a 1-second resolution
    p = c.pipeline(transaction=False)
    for i in range(500):
        p.get("k%d" % i)  # k0..k499 become recently used
    p.execute()
    limit_to_now(c, 16 * 1024)
    fill(c, "new", 400)
    assert evicted(c) >= 300
    hot = sum(c.exists("k%d" % i) for i in range(500))
    cold = sum(c.exists("k%d" % i) for i in range(500, 1000))
    assert hot > 450, (hot, cold)
    assert hot - cold > 200, (hot, cold)


def test_allkeys_lfu_keeps_frequently_used(factory):
    srv = factory("--maxmemory-policy", "allkeys-lfu", "--maxmemory-samples", "10")
    c = srv.client()
    fill(c, "k", 1000)
    p = c.pipeline(transaction=False)
    for _ in range(30):
        for i in range(500):
            p.get("k%d" % i)
    p.execute()
    assert c.object("freq", "k0") > c.object("freq", "k999")
    limit_to_now(c, 16 * 1024)
    fill(c, "new", 400)
    assert evicted(c) >= 300
    hot = sum(c.exists("k%d" % i) for i in range(500))
    cold = sum(c.exists("k%d" % i) for i in range(500, 1000))
    assert hot > 450, (hot, cold)
    assert hot - cold > 200, (hot, cold)


def test_object_idletime_and_freq_follow_policy(tessera, redis_ref):
    for srv in (tessera, redis_ref):
        c = srv.client()
        c.set("k", "v")
        assert c.object("idletime", "k") == 0
        with pytest.raises(redis.exceptions.ResponseError) as e:
            c.object("freq", "k")
        freq_err = str(e.value)
        c.config_set("maxmemory-policy", "allkeys-lfu")
        c.set("k2", "v")
        assert c.object("freq", "k2") >= 5 - 1
        with pytest.raises(redis.exceptions.ResponseError) as e:
            c.object("idletime", "k2")
        idle_err = str(e.value)
        c.config_set("maxmemory-policy", "volatile-lru")
        assert c.object("idletime", "k2") >= 0
        if srv is tessera:
            t_errs = (freq_err, idle_err)
        else:
            assert (freq_err, idle_err) == t_errs


def test_eviction_config_rows(tessera, redis_ref):
    names = ["maxmemory-eviction-tenacity", "lfu-log-factor", "lfu-decay-time",
             "maxmemory-samples"]
    for name in names:
        assert tessera.client().config_get(name) == redis_ref.client().config_get(name)
    for name, bad in [("maxmemory-eviction-tenacity", "101"), ("lfu-log-factor", "-1"),
                      ("lfu-decay-time", "x")]:
        errs = []
        for srv in (tessera, redis_ref):
            with pytest.raises(redis.exceptions.ResponseError) as e:
                srv.client().config_set(name, bad)
            errs.append(str(e.value))
        assert errs[0] == errs[1]
    for srv in (tessera, redis_ref):
        c = srv.client()
        c.config_set("lfu-log-factor", 0)
        c.config_set("maxmemory-policy", "allkeys-lfu")
        c.set("k", "v")
        for _ in range(20):
            c.get("k")
        assert c.object("freq", "k") >= 20  # log factor 0: every access counts


def test_evictions_reach_the_aof_as_del(factory):
    srv = factory("--maxmemory-policy", "allkeys-random", "--appendonly", "yes",
                  "--appendfsync", "always")
    c = srv.client()
    fill(c, "a", 300)
    limit_to_now(c, 256 * 1024)
    fill(c, "b", 600)
    n = evicted(c)
    assert n > 0
    time.sleep(0.3)
    data = b"".join(p.read_bytes()
                    for p in sorted((srv.dir / "appendonlydir").glob("*.incr.aof")))
    assert data.count(b"$3\r\nDEL\r\n") == n
