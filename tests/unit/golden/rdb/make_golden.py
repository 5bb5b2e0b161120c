#!/usr/bin/python3
"""
make_golden.py — regenerate the RDB golden files from a real redis-server 7.0.15.

Usage: /usr/bin/python3 tests/unit/golden/rdb/make_golden.py [redis-server path]

Starts its own redis-server (random loopback port, temporary directory, killed by
pid at the end), fills it with the deterministic data set below, and writes into
this directory:
  types.rdb     SAVE of the data set (db 0: every type and encoding, db 1/5: a key
                each, db 2: DEBUG POPULATE 300), rdbcompression yes
  lru.rdb       three keys saved under maxmemory-policy allkeys-lru (IDLE opcodes)
  lfu.rdb       three keys saved under allkeys-lfu (FREQ opcodes)
  dumps.txt     per key of db 0: hex(key) hex(DUMP with LZF) hex(DUMP without LZF)
                encoding-name
  legacy.txt    hand-built payloads in the encodings 7.0 still reads but never
                writes (zipmap, ziplists, quicklist v1, plain list, text-score
                zset, quicklist2 PLAIN node), each RESTOREd into redis-server to
                prove it accepts them: hex(key) hex(payload) type-name
The unit test (tests/unit/test_rdb.c) rebuilds the same data in C and compares.
"""
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import redis

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- CRC-64/Jones (reflected, poly 0xad93d23594c935a9) -------------------------
def _crc_table():
    poly = 0x95AC9329AC4BC9B5  # reflected form of 0xad93d23594c935a9
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc_table()


def crc64(data, crc=0):
    for b in data:
        crc = _T[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA


# ---- RDB building blocks ------------------------------------------------------------
def rdb_len(n):
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    return b"\x80" + struct.pack(">I", n)


def rdb_str(b):
    return rdb_len(len(b)) + b


def payload(type_byte, body, version=10):
    p = bytes([type_byte]) + body + struct.pack("<H", version)
    return p + struct.pack("<Q", crc64(p))


def zl_entry(prevlen, v):
    pl = bytes([prevlen]) if prevlen < 254 else b"\xfe" + struct.pack("<I", prevlen)
    if isinstance(v, int):
        if 0 <= v <= 12:
            enc = bytes([0xF1 + v])
        elif -128 <= v <= 127:
            enc = b"\xfe" + struct.pack("<b", v)
        elif -32768 <= v <= 32767:
            enc = b"\xc0" + struct.pack("<h", v)
        elif -(1 << 23) <= v < (1 << 23):
            enc = b"\xf0" + (v & 0xFFFFFF).to_bytes(3, "little")
        elif -(1 << 31) <= v < (1 << 31):
            enc = b"\xd0" + struct.pack("<i", v)
        else:
            enc = b"\xe0" + struct.pack("<q", v)
        return pl + enc
    n = len(v)
    if n < 64:
        h = bytes([n])
    elif n < 16384:
        h = bytes([0x40 | (n >> 8), n & 0xFF])
    else:
        h = b"\x80" + struct.pack(">I", n)
    return pl + h + v


def ziplist(vals):
    body, prev, last = b"", 0, 10
    for v in vals:
        e = zl_entry(prev, v)
        last = 10 + len(body)
        body += e
        prev = len(e)
    total = 10 + len(body) + 1
    return struct.pack("<IIH", total, last, len(vals)) + body + b"\xff"


def zipmap(pairs):
    def zlen(n):
        return bytes([n]) if n < 254 else b"\xfe" + struct.pack("<I", n)
    out = bytes([len(pairs)])
    for i, (k, v) in enumerate(pairs):
        pad = i % 3  # exercise the free bytes
        out += zlen(len(k)) + k + zlen(len(v)) + bytes([pad]) + v + b"\x00" * pad
    return out + b"\xff"


# ---- the data set ---------------------------------------------------------------------
def rand_bytes(seed, n):
    r = random.Random(seed)
    return bytes(r.randrange(256) for _ in range(n))


def fill(r):
    r.set("str:int", "12345")
    r.set("str:neg", "-7")
    r.set("str:i64", "9223372036854775807")
    r.set("str:notint", "12345678901234567890")
    r.set("str:emb", "hello world")
    r.set("str:raw", "x" * 100)
    r.set("str:rand", rand_bytes(1, 200))
    r.set("str:bin", bytes(range(256)))
    r.set("str:empty", "")
    r.rpush("list:small", "a", "b", "c", "1", "2", "-3", "4294967296", "y" * 70)
    r.rpush("list:big", *["elem-%d" % i for i in range(1000)])
    r.sadd("set:int", *(list(range(1, 11)) + [-5, 70000, 1 << 40]))
    r.sadd("set:ht", *["m%d" % i for i in range(100)])
    r.sadd("set:bigint", *range(600))
    r.zadd("zset:lp", {"a": 1, "b": 2.5, "c": -3, "d": 1e100, "e": float("inf"),
                       "f": float("-inf"), "g": 0.1})
    r.zadd("zset:sl", {"m%d" % i: i * 1.5 for i in range(200)})
    r.hset("hash:lp", mapping={"f1": "v1", "f2": "2", "f3": "z" * 60, "n": "-100"})
    for i in range(600):  # past hash-max-listpack-entries (512)
        r.hset("hash:ht", "field%d" % i, "value%d" % i)
    r.set("exp:key", "soon")
    r.pexpireat("exp:key", 4102444800000)
    r.rpush("exp:list", "p", "q")
    r.pexpireat("exp:list", 4102444800123)
    r.execute_command("SELECT", 1)
    r.set("db1:key", "in db one")
    r.execute_command("SELECT", 5)
    r.set("db5:key", "in db five")
    r.execute_command("SELECT", 2)
    r.execute_command("DEBUG", "POPULATE", 300)
    r.execute_command("SELECT", 0)


def legacy():
    """(key, payload, name, check) with check(r, key) asserting what redis read."""
    out = []
    hz = ziplist([b"f1", b"v1", b"f2", 2, b"big", b"w" * 300, b"neg", -70000,
                  b"i64", 1 << 40, b"i24", 1 << 20, b"i16", -1000, b"i8", -100, b"zero", 0])
    out.append(("legacy:hash_ziplist", payload(13, rdb_str(hz)), "hash-ziplist"))
    zz = ziplist([b"a", 1, b"b", b"2.5", b"c", 3, b"d", b"1e+100"])
    out.append(("legacy:zset_ziplist", payload(12, rdb_str(zz)), "zset-ziplist"))
    lz = ziplist([b"x", 7, b"y" * 100, -5, 1 << 33, b""])
    out.append(("legacy:list_ziplist", payload(10, rdb_str(lz)), "list-ziplist"))
    n1 = ziplist([b"n%d" % i for i in range(10)])
    n2 = ziplist(list(range(20)))
    out.append(("legacy:quicklist1", payload(14, rdb_len(2) + rdb_str(n1) + rdb_str(n2)),
                "quicklist-v1"))
    zm = zipmap([(b"k1", b"v1"), (b"k2", b"22"), (b"long", b"L" * 300), (b"e", b"")])
    out.append(("legacy:zipmap", payload(9, rdb_str(zm)), "zipmap"))
    lst = rdb_len(3) + rdb_str(b"p1") + rdb_str(b"12") + rdb_str(b"p3")
    out.append(("legacy:list_plain", payload(1, lst), "list-plain"))
    zs = rdb_len(3) + rdb_str(b"a") + bytes([3]) + b"1.5" + rdb_str(b"b") + bytes([254]) + \
        rdb_str(b"c") + bytes([255])
    out.append(("legacy:zset_text", payload(3, zs), "zset-text-scores"))
    plain = rdb_len(2) + rdb_len(1) + rdb_str(b"plain node") + rdb_len(2)
    lp = struct.pack("<IH", 10, 1) + b"\x81z\x02\xff"  # a listpack with one entry "z"
    plain += rdb_str(lp)
    out.append(("legacy:quicklist2_plain", payload(18, plain), "quicklist2-plain"))
    return out


def start_server(binary, tmp, extra=()):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp,
                          "--save", "", "--enable-debug-command", "yes", *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            r = redis.Redis(port=port)
            r.ping()
            return p, r
        except redis.ConnectionError:
            time.sleep(0.05)
    p.kill()
    raise RuntimeError("redis-server did not start")


def stop(p):
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/redis-server"
    tmp = tempfile.mkdtemp(prefix="rdbgold-")
    p, r = start_server(binary, tmp)
    try:
        fill(r)
        r.save()
        shutil.copy(os.path.join(tmp, "dump.rdb"), os.path.join(HERE, "types.rdb"))
        lines = []
        for k in sorted(r.keys("*")):
            r.config_set("rdbcompression", "yes")
            c = r.dump(k)
            r.config_set("rdbcompression", "no")
            u = r.dump(k)
            enc = r.object("encoding", k).decode()
            lines.append("%s %s %s %s" % (k.hex(), c.hex(), u.hex(), enc))
        r.config_set("rdbcompression", "yes")
        with open(os.path.join(HERE, "dumps.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        leg = []
        for key, pl, name in legacy():
            r.restore(key, 0, pl)  # raises if redis refuses it
            leg.append("%s %s %s" % (key.encode().hex(), pl.hex(), name))
        with open(os.path.join(HERE, "legacy.txt"), "w") as f:
            f.write("\n".join(leg) + "\n")
        for key, _, _ in legacy():
            print(key, r.type(key).decode(), r.object("encoding", key).decode())
        for policy, name in (("allkeys-lru", "lru.rdb"), ("allkeys-lfu", "lfu.rdb")):
            r.flushall()
            r.config_set("maxmemory-policy", policy)
            r.set("a", "1")
            r.set("b", "2")
            r.set("c", "3")
            if policy == "allkeys-lru":
                r.restore("d", 0, r.dump("a"), idletime=1000)
            else:
                r.restore("d", 0, r.dump("a"), frequency=77)
            r.save()
            shutil.copy(os.path.join(tmp, "dump.rdb"), os.path.join(HERE, name))
    finally:
        stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
