"""
test_aof.py — AOF persistence (issue 4) against a real tessera-server:
restart and crash recovery per fsync policy, truncated and corrupted files,
the manifest, TTLs, rewrite under load, runtime enable, write errors
(MISCONF), -LOADING, interop with Debian's redis-server 7.0.15 in both
directions, and tessera-check-aof.

Every server runs in its own directory (pytest's tmp_path); servers that
must refuse to start are run directly and waited for with a deadline.
"""
import hashlib
import os
import re
import resource
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis

from conftest import REDIS_BIN, REPO, TESSERA_BIN, free_port

CHECK_AOF = REPO / "src" / "tessera-check-aof"
AOF_ARGS = ("--appendonly", "yes", "--aof-use-rdb-preamble", "no")
DIRNAME = "appendonlydir"


# ---------------------------------------------------------------- helpers

def aof_dir(workdir):
    return Path(workdir) / DIRNAME


def manifest(workdir):
    return (aof_dir(workdir) / "appendonly.aof.manifest").read_text()


def manifest_files(workdir):
    """[(name, seq, type)] from the manifest."""
    out = []
    for line in manifest(workdir).splitlines():
        m = re.match(r"^file (\S+) seq (\d+) type ([bhi])$", line)
        assert m, "unexpected manifest line %r" % line
        out.append((m.group(1), int(m.group(2)), m.group(3)))
    return out


def last_incr(workdir):
    incr = [f for f in manifest_files(workdir) if f[2] == "i"]
    return aof_dir(workdir) / incr[-1][0]


def dir_hashes(workdir):
    d = aof_dir(workdir)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(d.iterdir())}


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))


def run_until_exit(binary, workdir, *args, timeout=15.0):
    """Start a server that is expected to refuse to start. Returns
    (exit status, log text); kills it and fails if it keeps running."""
    port = free_port()
    log = Path(workdir) / "refuse.log"
    cmd = [str(binary), "--port", str(port), "--bind", "127.0.0.1",
           "--dir", str(workdir), "--save", ""] + [str(a) for a in args]
    with open(log, "wb") as lf:
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=str(workdir))
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
            pytest.fail("server did not exit: %s\n%s" % (cmd, log.read_text()))
    return rc, log.read_text(errors="replace")


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def write_aof_dir(workdir, incr_bytes, base_bytes=b""):
    """A hand-made appendonlydir with one base and one incr file."""
    d = aof_dir(workdir)
    d.mkdir(parents=True, exist_ok=True)
    (d / "appendonly.aof.1.base.aof").write_bytes(base_bytes)
    (d / "appendonly.aof.1.incr.aof").write_bytes(incr_bytes)
    (d / "appendonly.aof.manifest").write_text(
        "file appendonly.aof.1.base.aof seq 1 type b\n"
        "file appendonly.aof.1.incr.aof seq 1 type i\n")


def info_field(r, field):
    info = r.execute_command("INFO", "persistence")
    if isinstance(info, bytes):
        info = info.decode()
    if isinstance(info, dict):
        return info.get(field)
    for line in info.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1]
    return None


# ---------------------------------------------------------------- basics

def test_layout_and_restart_keeps_data(tessera_factory, tmp_path):
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s.client()
    r.set("foo", "bar")
    r.incr("n")
    r.incr("n")
    r3 = s.client(db=3)
    r3.set("a", "b" * 1000)
    r.delete("nothing")
    r.mset({"m1": "1", "m2": "2"})
    r.delete("m2")
    assert s.stop() == 0
    files = manifest_files(tmp_path)
    assert files == [("appendonly.aof.1.base.aof", 1, "b"),
                     ("appendonly.aof.1.incr.aof", 1, "i")]
    incr = last_incr(tmp_path).read_bytes()
    assert incr.startswith(resp("SELECT", "0"))
    s2 = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s2.client()
    assert r.get("foo") == b"bar"
    assert r.get("n") == b"2"
    assert r.get("m1") == b"1" and r.get("m2") is None
    assert s2.client(db=3).get("a") == b"b" * 1000
    assert "DB loaded from append only file" in s2.log_tail()
    assert "Opening AOF incr file appendonly.aof.1.incr.aof on server start" in s2.log_tail()


def test_ttl_preserved_as_absolute_time(tessera_factory, tmp_path):
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s.client()
    r.set("k_ex", "v", ex=100)
    r.set("k_px", "v")
    r.pexpire("k_px", 50000)
    r.setex("k_se", 1000, "v")
    r.set("k_short", "v", px=300)
    r.set("k_keep", "v", ex=200)
    r.set("k_keep", "w", keepttl=True)
    want = {k: r.pexpiretime(k) for k in ("k_ex", "k_px", "k_se", "k_keep")}
    s.stop()
    incr = last_incr(tmp_path).read_bytes()
    assert b"PXAT" in incr and b"PEXPIREAT" in incr
    assert b"$2\r\nEX\r\n" not in incr.upper() and b"SETEX" not in incr.upper()
    time.sleep(0.5)  # "k_short" expires while the server is down
    s2 = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s2.client()
    for k, v in want.items():
        assert r.pexpiretime(k) == v, k
    assert r.get("k_keep") == b"w"
    assert r.exists("k_short") == 0


def test_multi_exec_is_atomic_in_log(tessera_factory, tmp_path):
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s.client()
    p = r.pipeline(transaction=True)
    p.set("t1", "1")
    p.incr("t2")
    p.execute()
    s.stop()
    incr = last_incr(tmp_path).read_bytes()
    i_multi, i_exec = incr.upper().find(b"MULTI"), incr.upper().find(b"EXEC")
    assert 0 < i_multi < incr.find(b"t1") < incr.find(b"t2") < i_exec
    # A MULTI without its EXEC at the end of the log is never applied.
    cut = incr.upper().rfind(b"*1\r\n$4\r\nEXEC\r\n")
    last_incr(tmp_path).write_bytes(incr[:cut])
    s2 = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s2.client()
    assert r.get("t1") is None and r.get("t2") is None
    assert "Revert incomplete MULTI/EXEC transaction" in s2.log_tail()
    assert last_incr(tmp_path).stat().st_size == incr.upper().find(b"*1\r\n$5\r\nMULTI")


# ---------------------------------------------------------------- crashes

def _writer(port, prefix, acked, stop, policy_errors):
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
    i = 0
    while not stop.is_set():
        key = "%s:%d" % (prefix, i)
        try:
            r.set(key, i)
        except (redis.ConnectionError, redis.TimeoutError):
            return
        except redis.ResponseError as e:  # pragma: no cover - reported
            policy_errors.append(str(e))
            return
        acked.append(i)
        i += 1


def _crash_run(tessera_factory, tmp_path, policy, seconds=1.5, writers=4):
    s = tessera_factory(*AOF_ARGS, "--appendfsync", policy, workdir=tmp_path)
    stop = threading.Event()
    acked = [[] for _ in range(writers)]
    errors = []
    threads = [threading.Thread(target=_writer, args=(s.port, "w%d" % t, acked[t],
                                                       stop, errors))
               for t in range(writers)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    os.kill(s.pid, signal.SIGKILL)
    s.kill()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert not errors, errors
    s2 = tessera_factory(*AOF_ARGS, "--appendfsync", policy, workdir=tmp_path)
    r = s2.client()
    missing = 0
    total = 0
    for t in range(writers):
        if not acked[t]:
            continue
        total += len(acked[t])
        pipe = r.pipeline(transaction=False)
        for i in acked[t]:
            pipe.get("w%d:%d" % (t, i))
        got = pipe.execute()
        missing += sum(1 for i, v in zip(acked[t], got) if v != str(i).encode())
    return total, missing


def test_kill9_always_keeps_every_acknowledged_write(tessera_factory, tmp_path):
    total, missing = _crash_run(tessera_factory, tmp_path, "always")
    assert total > 100
    assert missing == 0


def test_kill9_everysec_loss_bounded(tessera_factory, tmp_path):
    total, missing = _crash_run(tessera_factory, tmp_path, "everysec")
    print("everysec kill -9: %d acknowledged, %d missing" % (total, missing))
    assert total > 100
    # A process crash (not a power loss) loses nothing already written; the
    # buffer of at most the last ~2 s (postponed write) is the bound.
    assert missing <= total * 0.5


# ---------------------------------------------------------------- damaged files

def _make_base_log(tessera_factory, workdir, n=5):
    Path(workdir).mkdir(parents=True, exist_ok=True)
    s = tessera_factory(*AOF_ARGS, workdir=workdir)
    r = s.client()
    for i in range(n):
        r.set("k%d" % i, "v%d" % i)
    r.set("last", "value-of-the-last-command")
    s.stop()
    incr = last_incr(workdir).read_bytes()
    last_cmd = resp("SET", "last", "value-of-the-last-command")
    assert incr.endswith(last_cmd)
    return incr, len(incr) - len(last_cmd)


def test_truncated_tail_every_offset_load_truncated_yes(tessera_factory, tmp_path):
    incr, start = _make_base_log(tessera_factory, tmp_path / "orig")
    for cut in range(start + 1, len(incr)):
        wd = tmp_path / ("c%d" % cut)
        shutil.copytree(tmp_path / "orig", wd)
        last_incr(wd).write_bytes(incr[:cut])
        s = tessera_factory(*AOF_ARGS, "--aof-load-truncated", "yes", workdir=wd)
        r = s.client()
        assert r.get("k4") == b"v4", cut
        assert r.get("last") is None, cut
        log = s.log_tail()
        assert "Truncating the AOF appendonly.aof.1.incr.aof at offset %d" % start in log
        assert "(%d bytes dropped)" % (cut - start) in log
        r.set("after", "1")
        s.stop()
        data = last_incr(wd).read_bytes()
        assert data[:start] == incr[:start]
        assert data[start:].startswith(resp("SELECT", "0")) or data[start:].startswith(resp("SET", "after", "1"))
        shutil.rmtree(wd)


def test_truncated_tail_every_offset_load_truncated_no(tmp_path, tessera_factory):
    incr, start = _make_base_log(tessera_factory, tmp_path / "orig")
    for cut in range(start + 1, len(incr)):
        wd = tmp_path / ("c%d" % cut)
        shutil.copytree(tmp_path / "orig", wd)
        last_incr(wd).write_bytes(incr[:cut])
        before = dir_hashes(wd)
        rc, log = run_until_exit(TESSERA_BIN, wd, *AOF_ARGS, "--aof-load-truncated", "no")
        assert rc == 1, log
        assert ("Unexpected end of file reading the append only file "
                "appendonly.aof.1.incr.aof at offset %d" % start) in log
        assert dir_hashes(wd) == before
        shutil.rmtree(wd)


def test_corruption_in_the_middle_refused_unchanged(tessera_factory, tmp_path):
    incr, start = _make_base_log(tessera_factory, tmp_path, n=20)
    pos = incr.find(b"$2\r\nk7\r\n")
    bad = incr[:pos] + b"!" + incr[pos + 1:]
    last_incr(tmp_path).write_bytes(bad)
    before = dir_hashes(tmp_path)
    for trunc in ("yes", "no"):
        rc, log = run_until_exit(TESSERA_BIN, tmp_path, *AOF_ARGS, "--aof-load-truncated", trunc)
        assert rc == 1, log
        assert ("Bad file format reading the append only file appendonly.aof.1.incr.aof "
                "at offset %d" % pos) in log, log
        assert dir_hashes(tmp_path) == before


def test_unknown_command_and_bad_arity_refused(tmp_path):
    for body, msg in ((resp("nosuchcmd", "x"), "Unknown command 'nosuchcmd'"),
                      (resp("set", "x"), "Bad arguments for command 'set'")):
        wd = tmp_path / msg.split()[0]
        write_aof_dir(wd, resp("SELECT", "0") + body)
        before = dir_hashes(wd)
        rc, log = run_until_exit(TESSERA_BIN, wd, *AOF_ARGS)
        assert rc == 1
        assert msg in log and "appendonly.aof.1.incr.aof at offset 23" in log, log
        assert dir_hashes(wd) == before


def test_manifest_missing_file_refused(tessera_factory, tmp_path):
    _make_base_log(tessera_factory, tmp_path)
    last_incr(tmp_path).unlink()
    before = dir_hashes(tmp_path)
    rc, log = run_until_exit(TESSERA_BIN, tmp_path, *AOF_ARGS)
    assert rc == 1
    assert "appendonly.aof.1.incr.aof" in log and "No such file or directory" in log
    assert dir_hashes(tmp_path) == before


@pytest.mark.parametrize("text,line,reason", [
    ("file appendonly.aof.1.base.aof seq 1 type b\nfile x seq 1 type q\n", 2,
     "Unknown AOF file type"),
    ("file a seq 2 type i\nfile b seq 1 type i\n", 2, "Found a non-monotonic sequence number"),
    ("file appendonly.aof.1.base.aof type b\n", 1, "Invalid AOF manifest file format"),
    ("", None, "Found an empty AOF manifest"),
])
def test_malformed_manifest_refused(tmp_path, text, line, reason):
    write_aof_dir(tmp_path, resp("set", "a", "b"))
    (aof_dir(tmp_path) / "appendonly.aof.manifest").write_text(text)
    before = dir_hashes(tmp_path)
    rc, log = run_until_exit(TESSERA_BIN, tmp_path, *AOF_ARGS)
    assert rc == 1
    assert "FATAL AOF MANIFEST FILE ERROR" in log and reason in log, log
    if line is not None:
        assert "appendonly.aof.manifest, at line %d" % line in log
    assert dir_hashes(tmp_path) == before


def test_old_style_single_file_upgraded(tessera_factory, tmp_path):
    (tmp_path / "appendonly.aof").write_bytes(resp("SELECT", "0") + resp("set", "q", "w"))
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    assert s.client().get("q") == b"w"
    assert not (tmp_path / "appendonly.aof").exists()
    assert manifest_files(tmp_path) == [("appendonly.aof", 1, "b"),
                                        ("appendonly.aof.1.incr.aof", 1, "i")]
    assert "Successfully migrated an old-style AOF file" in s.log_tail()


# ---------------------------------------------------------------- rewrite

def test_bgrewriteaof_layout(tessera_factory, tmp_path):
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s.client()
    for i in range(100):
        r.set("k%d" % i, i)
    r.set("ttl", "x", ex=1000)
    assert r.bgrewriteaof() in (True, b"Background append only file rewriting started",
                                "Background append only file rewriting started")
    wait_for(lambda: manifest_files(tmp_path)[0][0] == "appendonly.aof.2.base.aof",
             what="new base in the manifest")
    wait_for(lambda: not (aof_dir(tmp_path) / "appendonly.aof.1.base.aof").exists(),
             what="history removed")
    assert manifest_files(tmp_path) == [("appendonly.aof.2.base.aof", 2, "b"),
                                        ("appendonly.aof.2.incr.aof", 2, "i")]
    base = (aof_dir(tmp_path) / "appendonly.aof.2.base.aof").read_bytes()
    assert base.startswith(resp("SELECT", "0"))
    assert resp("SET", "k5", "5") in base and b"PEXPIREAT" in base
    r.set("after", "1")
    s.stop()
    s2 = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s2.client()
    assert r.dbsize() == 102 and r.get("k99") == b"99" and r.get("after") == b"1"
    assert r.ttl("ttl") > 900


def test_rewrite_under_concurrent_writes(tessera_factory, tmp_path):
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    stop = threading.Event()
    counts = [0] * 4
    errors = []

    def incr_loop(t):
        r = redis.Redis(host="127.0.0.1", port=s.port, socket_timeout=10)
        while not stop.is_set():
            try:
                r.incr("ctr:%d" % t)
                r.set("u:%d:%d" % (t, counts[t]), "x")
            except redis.RedisError as e:
                errors.append(repr(e))
                return
            counts[t] += 1

    threads = [threading.Thread(target=incr_loop, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    r = s.client()
    rewrites = 0
    for _ in range(5):
        time.sleep(0.2)
        try:
            r.bgrewriteaof()
            rewrites += 1
        except redis.ResponseError as e:
            assert "already in progress" in str(e)
        wait_for(lambda: _rewrite_settled(tmp_path), what="rewrite end")
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert not errors, errors
    assert rewrites >= 3
    expect = {("ctr:%d" % t): counts[t] for t in range(4)}
    s.stop()
    s2 = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s2.client()
    for k, v in expect.items():
        assert int(r.get(k)) == v, k
    assert r.dbsize() == 4 + sum(counts)
    seqs = [f[1] for f in manifest_files(tmp_path) if f[2] == "b"]
    assert seqs and seqs[0] >= 4


def _rewrite_settled(workdir):
    """No rewrite running: one incr file and no history in the manifest."""
    files = manifest_files(workdir)
    return sum(1 for f in files if f[2] == "i") == 1 and not any(f[2] == "h" for f in files)


def _fill_collections(r):
    try:
        r.rpush("list", *["e%d" % i for i in range(150)], 7, "")
        r.sadd("iset", *range(10))
        r.sadd("sset", *["m%d" % i for i in range(200)])
        r.hset("hsmall", mapping={"f1": "v1", "f2": 2})
        r.hset("hbig", mapping={"f%d" % i: "v" * 100 for i in range(150)})
        r.zadd("zsmall", {"a": 1, "b": 2.5, "c": -1e-300})
        r.zadd("zbig", {"m%d" % i: i / 3 for i in range(200)})
        r.zadd("zinf", {"x": float("inf"), "y": float("-inf")})
    except redis.ResponseError as e:
        if "unknown command" in str(e):
            pytest.skip("collection commands not available yet: %s" % e)
        raise


def _dump_collections(r):
    return {
        "list": r.lrange("list", 0, -1), "iset": r.smembers("iset"),
        "sset": r.smembers("sset"), "hsmall": r.hgetall("hsmall"), "hbig": r.hgetall("hbig"),
        "zsmall": r.zrange("zsmall", 0, -1, withscores=True),
        "zbig": r.zrange("zbig", 0, -1, withscores=True),
        "zinf": r.zrange("zinf", 0, -1, withscores=True),
    }


def test_rewrite_collections_reload_in_both(tessera_factory, redis_ref_factory, tmp_path):
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s.client()
    _fill_collections(r)
    want = _dump_collections(r)
    r.bgrewriteaof()
    wait_for(lambda: manifest_files(tmp_path)[0][1] == 2 and _rewrite_settled(tmp_path),
             what="rewrite")
    base = (aof_dir(tmp_path) / "appendonly.aof.2.base.aof").read_bytes()
    assert b"RPUSH" in base and b"SADD" in base and b"HMSET" in base and b"ZADD" in base
    s.stop()
    s2 = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    assert _dump_collections(s2.client()) == want
    s2.stop()
    ref = redis_ref_factory(*AOF_ARGS, workdir=tmp_path)
    assert _dump_collections(ref.client()) == want


def test_bgrewriteaof_inside_multi_is_scheduled(tessera_factory, tmp_path):
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s.client()
    r.incr("c")
    p = r.pipeline(transaction=True)
    p.incr("c")
    p.execute_command("BGREWRITEAOF")
    p.incr("c")
    res = p.execute()
    assert res[0] == 2 and res[2] == 3
    assert res[1] in (b"Background append only file rewriting scheduled",
                      "Background append only file rewriting scheduled", True)
    wait_for(lambda: manifest_files(tmp_path)[0][1] == 2 and _rewrite_settled(tmp_path),
             what="the scheduled rewrite")
    r.incr("c")
    s.stop()
    s2 = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    assert s2.client().get("c") == b"4"


def test_history_files_removed_on_start(tessera_factory, tmp_path):
    d = aof_dir(tmp_path)
    write_aof_dir(tmp_path, resp("SELECT", "0") + resp("SET", "h", "1"))
    (d / "appendonly.aof.0.old.aof").write_bytes(resp("SET", "h", "old"))
    (d / "appendonly.aof.manifest").write_text(
        "file appendonly.aof.1.base.aof seq 1 type b\n"
        "file appendonly.aof.0.old.aof seq 1 type h\n"
        "file appendonly.aof.1.incr.aof seq 1 type i\n")
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    assert s.client().get("h") == b"1"
    wait_for(lambda: not (d / "appendonly.aof.0.old.aof").exists(), what="history removal")
    assert manifest_files(tmp_path) == [("appendonly.aof.1.base.aof", 1, "b"),
                                        ("appendonly.aof.1.incr.aof", 1, "i")]


def test_info_persistence_aof_fields(tessera_factory, tmp_path):
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s.client()
    info = r.info("persistence")
    if "aof_base_size" not in info:
        pytest.skip("INFO persistence does not report the AOF's figures yet")
    assert info["aof_enabled"] == 1 and info["aof_rewrites"] == 0
    assert info["aof_last_write_status"] == "ok"
    r.set("x", "y" * 100)
    r.bgrewriteaof()
    wait_for(lambda: r.info("persistence")["aof_rewrites"] == 1
             and r.info("persistence")["aof_rewrite_in_progress"] == 0, what="rewrite")
    info = r.info("persistence")
    assert info["aof_last_bgrewrite_status"] == "ok"
    assert info["aof_base_size"] == (aof_dir(tmp_path) / "appendonly.aof.2.base.aof").stat().st_size
    for k in ("aof_current_size", "aof_pending_rewrite", "aof_buffer_length",
              "aof_pending_bio_fsync", "aof_delayed_fsync", "aof_last_cow_size",
              "aof_rewrites_consecutive_failures", "module_fork_in_progress"):
        assert k in info, k


def test_config_set_appendonly_no_stops_logging(tessera_factory, tmp_path):
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s.client()
    r.set("a", "1")
    try:
        r.config_set("appendonly", "no")
    except redis.ResponseError as e:
        pytest.skip("CONFIG SET not available yet: %s" % e)
    time.sleep(0.3)
    size = last_incr(tmp_path).stat().st_size
    r.set("b", "2")
    time.sleep(0.3)
    assert last_incr(tmp_path).stat().st_size == size


def test_config_set_appendonly_yes_at_runtime(tessera_factory, tmp_path):
    s = tessera_factory("--aof-use-rdb-preamble", "no", workdir=tmp_path)
    r = s.client()
    r.set("before", "1")
    assert r.config_set("appendonly", "yes")
    wait_for(lambda: (aof_dir(tmp_path) / "appendonly.aof.manifest").exists()
             and any(f[2] == "i" for f in manifest_files(tmp_path)),
             what="AOF turned on")
    r.set("after", "2")
    s.stop()
    s2 = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s2.client()
    assert r.get("before") == b"1" and r.get("after") == b"2"


def test_auto_rewrite_on_growth(tessera_factory, tmp_path):
    s = tessera_factory(*AOF_ARGS, "--auto-aof-rewrite-min-size", "64kb",
                        "--auto-aof-rewrite-percentage", "100", workdir=tmp_path)
    r = s.client()
    val = "x" * 1000
    for i in range(200):
        r.set("k%d" % (i % 10), val)
    wait_for(lambda: any(f[2] == "b" and f[1] >= 2 for f in manifest_files(tmp_path)),
             what="automatic rewrite")
    assert "Starting automatic rewriting of AOF on" in s.log_tail()


# ---------------------------------------------------------------- write errors

def test_write_error_misconf_then_recovery(tessera_factory, tmp_path):
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s.client()
    r.set("ok1", "1")
    size = last_incr(tmp_path).stat().st_size
    resource.prlimit(s.pid, resource.RLIMIT_FSIZE, (size, resource.RLIM_INFINITY))
    r.set("acked-in-buffer", "1")  # executed; its write fails after the reply
    err = wait_for(lambda: _write_refused(r), what="MISCONF")
    assert err.startswith("Errors writing to the AOF file: ") or \
        err.startswith("MISCONF Errors writing to the AOF file: "), err
    assert r.get("ok1") == b"1"  # reads keep working
    resource.prlimit(s.pid, resource.RLIMIT_FSIZE,
                     (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    wait_for(lambda: _write_ok(r), timeout=5, what="writes resume")
    assert "AOF write error looks solved" in s.log_tail()
    s.stop()
    s2 = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s2.client()
    assert r.get("acked-in-buffer") == b"1" and r.get("ok1") == b"1"


def _write_refused(r):
    try:
        r.set("probe", "1")
    except redis.ResponseError as e:
        if "MISCONF" in str(e) or "AOF" in str(e):
            return str(e)
        raise
    return None


def _write_ok(r):
    try:
        r.set("resumed", "1")
        return True
    except redis.ResponseError:
        return False


# ---------------------------------------------------------------- loading

def test_clients_get_loading_while_the_aof_loads(tmp_path):
    n = 400000
    body = bytearray(resp("SELECT", "0"))
    for i in range(n):
        body += resp("SET", "key:%d" % i, "value:%d" % i)
    write_aof_dir(tmp_path, bytes(body))
    port = free_port()
    log = open(tmp_path / "load.log", "wb")
    p = subprocess.Popen([str(TESSERA_BIN), "--port", str(port), "--bind", "127.0.0.1",
                          "--dir", str(tmp_path), "--save", ""] + list(AOF_ARGS),
                         stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path))
    try:
        seen_loading = False
        end = time.monotonic() + 60
        while time.monotonic() < end:
            try:
                reply = redis.Redis(port=port, socket_timeout=5).ping()
                if reply:
                    break
            except redis.BusyLoadingError:
                seen_loading = True
            except redis.ConnectionError:
                pass
            time.sleep(0.005)
        r = redis.Redis(port=port)
        assert r.dbsize() == n
        assert r.get("key:%d" % (n - 1)) == b"value:%d" % (n - 1)
        assert seen_loading
    finally:
        p.terminate()
        p.wait(timeout=10)
        log.close()


# ---------------------------------------------------------------- interop

def _fill(r):
    r.set("s", "hello")
    r.set("i", 12345)
    r.set("big", "z" * 5000)
    r.set("ttl", "v", ex=5000)
    r.execute_command("SELECT", 5)
    r.set("db5", "five")
    r.execute_command("SELECT", 0)
    r.incr("i")
    r.append("s", " world")


def _check(r, r5):
    assert r.get("s") == b"hello world"
    assert r.get("i") == b"12346"
    assert r.get("big") == b"z" * 5000
    assert 4000 < r.ttl("ttl") <= 5000
    assert r5.get("db5") == b"five"


@pytest.mark.parametrize("rewrite", [False, True])
def test_interop_tessera_to_redis(tessera_factory, redis_ref_factory, tmp_path, rewrite):
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    r = s.client()
    _fill(r)
    if rewrite:
        r.bgrewriteaof()
        wait_for(lambda: manifest_files(tmp_path)[0][1] == 2, what="rewrite")
        r.set("post", "rewrite")
    s.stop()
    ref = redis_ref_factory(*AOF_ARGS, workdir=tmp_path)
    _check(ref.client(), ref.client(db=5))
    if rewrite:
        assert ref.client().get("post") == b"rewrite"


@pytest.mark.parametrize("rewrite", [False, True])
def test_interop_redis_to_tessera(tessera_factory, redis_ref_factory, tmp_path, rewrite):
    ref = redis_ref_factory(*AOF_ARGS, workdir=tmp_path)
    r = ref.client()
    _fill(r)
    if rewrite:
        r.bgrewriteaof()
        wait_for(lambda: manifest_files(tmp_path)[0][1] == 2
                 and len(manifest_files(tmp_path)) == 2, what="rewrite")
        r.set("post", "rewrite")
    ref.stop()
    s = tessera_factory(*AOF_ARGS, workdir=tmp_path)
    _check(s.client(), s.client(db=5))
    if rewrite:
        assert s.client().get("post") == b"rewrite"


# ---------------------------------------------------------------- RDB bases
# aof-use-rdb-preamble yes is Redis 7.0's default: bases are RDB files
# (<name>.<seq>.base.rdb) and an old-style appendonly.aof may start with one.

PREAMBLE_ARGS = ("--appendonly", "yes")  # the default preamble setting


def _rewrite_to(workdir, seq):
    wait_for(lambda: manifest_files(workdir)[0][1] == seq and _rewrite_settled(workdir),
             what="rewrite to base %d" % seq)


def _fill_and_rewrite(r, workdir):
    """Collections, strings, a TTL and db 5; a rewrite to base 2; then one
    write after it. Returns the collections as they were."""
    _fill_collections(r)
    _fill(r)
    want = _dump_collections(r)
    r.bgrewriteaof()
    _rewrite_to(workdir, 2)
    r.set("post", "rewrite")
    return want


def _check_reloaded(server, want):
    r = server.client()
    assert _dump_collections(r) == want
    _check(r, server.client(db=5))
    assert r.get("post") == b"rewrite"


def test_rdb_base_layout_rewrite_and_restart(tessera_factory, tmp_path):
    s = tessera_factory(*PREAMBLE_ARGS, workdir=tmp_path)
    assert manifest_files(tmp_path) == [("appendonly.aof.1.base.rdb", 1, "b"),
                                        ("appendonly.aof.1.incr.aof", 1, "i")]
    empty = (aof_dir(tmp_path) / "appendonly.aof.1.base.rdb").read_bytes()
    assert empty.startswith(b"REDIS0010") and b"aof-base" in empty and b"redis-ver" in empty
    want = _fill_and_rewrite(s.client(), tmp_path)
    assert manifest_files(tmp_path)[0][0] == "appendonly.aof.2.base.rdb"
    base = (aof_dir(tmp_path) / "appendonly.aof.2.base.rdb").read_bytes()
    assert base.startswith(b"REDIS0010") and b"RPUSH" not in base and b"hbig" in base
    assert not (aof_dir(tmp_path) / "appendonly.aof.1.base.rdb").exists()
    s.stop()
    s2 = tessera_factory(*PREAMBLE_ARGS, workdir=tmp_path)
    _check_reloaded(s2, want)
    assert "DB loaded from base file appendonly.aof.2.base.rdb" in s2.log_tail()
    # and back to command bases when the directive says no
    s2.stop()
    s3 = tessera_factory("--appendonly", "yes", "--aof-use-rdb-preamble", "no", workdir=tmp_path)
    s3.client().bgrewriteaof()
    _rewrite_to(tmp_path, 3)
    assert manifest_files(tmp_path)[0][0] == "appendonly.aof.3.base.aof"
    assert _dump_collections(s3.client()) == want


@pytest.mark.parametrize("writer", ["tessera", "redis"])
def test_rdb_base_interop(tessera_factory, redis_ref_factory, tmp_path, writer):
    first, second = ((tessera_factory, redis_ref_factory) if writer == "tessera"
                     else (redis_ref_factory, tessera_factory))
    a = first(*PREAMBLE_ARGS, workdir=tmp_path)
    want = _fill_and_rewrite(a.client(), tmp_path)
    a.stop()
    assert manifest_files(tmp_path)[0][0] == "appendonly.aof.2.base.rdb"
    _check_reloaded(second(*PREAMBLE_ARGS, workdir=tmp_path), want)


def test_old_style_aof_with_rdb_preamble(tessera_factory, redis_ref_factory, tmp_path):
    """What Redis 4-6 wrote with aof-use-rdb-preamble yes: one appendonly.aof
    holding an RDB followed by the commands logged after the rewrite."""
    src = tmp_path / "src"
    src.mkdir()
    ref = redis_ref_factory("--dbfilename", "snap.rdb", workdir=src)
    _fill_collections(ref.client())
    want = _dump_collections(ref.client())
    ref.client().save()
    ref.stop()
    rdb = (src / "snap.rdb").read_bytes()
    tail = resp("SELECT", "0") + resp("RPUSH", "list", "tail") + resp("SET", "after", "1")
    (tmp_path / "appendonly.aof").write_bytes(rdb + tail)
    s = tessera_factory(*PREAMBLE_ARGS, workdir=tmp_path)
    r = s.client()
    want["list"] = want["list"] + [b"tail"]
    assert _dump_collections(r) == want
    assert r.get("after") == b"1"
    assert "Successfully migrated an old-style AOF file" in s.log_tail()


@pytest.mark.parametrize("damage", ["flipped byte", "truncated"])
def test_damaged_rdb_base_refused_unchanged(tessera_factory, tmp_path, damage):
    s = tessera_factory(*PREAMBLE_ARGS, workdir=tmp_path)
    _fill_collections(s.client())
    s.client().bgrewriteaof()
    _rewrite_to(tmp_path, 2)
    s.stop()
    base = aof_dir(tmp_path) / "appendonly.aof.2.base.rdb"
    data = base.read_bytes()
    mid = len(data) // 2
    data = (data[:mid] + bytes([data[mid] ^ 0x5a]) + data[mid + 1:] if damage == "flipped byte"
            else data[:len(data) - 20])
    base.write_bytes(data)
    before = dir_hashes(tmp_path)
    for trunc in ("yes", "no"):  # aof-load-truncated covers commands, never an RDB
        rc, log = run_until_exit(TESSERA_BIN, tmp_path, *PREAMBLE_ARGS,
                                 "--aof-load-truncated", trunc)
        assert rc == 1, log
        assert "Error reading the RDB base file appendonly.aof.2.base.rdb" in log, log
        assert re.search(r"Internal error in RDB reading the AOF file "
                         r"appendonly\.aof\.2\.base\.rdb: .* at offset \d+", log), log
        assert dir_hashes(tmp_path) == before


# ---------------------------------------------------------------- check tool

def _check_aof(*args, stdin=None):
    p = subprocess.run([str(CHECK_AOF)] + [str(a) for a in args], input=stdin,
                       capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode(errors="replace")


@pytest.mark.skipif(not CHECK_AOF.exists(), reason="tessera-check-aof not built")
def test_check_aof_tool(tessera_factory, tmp_path):
    incr, start = _make_base_log(tessera_factory, tmp_path)
    man = aof_dir(tmp_path) / "appendonly.aof.manifest"
    rc, out = _check_aof(man)
    assert rc == 0 and "All AOF files and manifest are valid" in out, out
    rc, out = _check_aof(last_incr(tmp_path))
    assert rc == 0 and "Start checking Old-Style AOF" in out
    last_incr(tmp_path).write_bytes(incr[:-5])
    rc, out = _check_aof(man)
    assert rc == 1
    assert "ok_up_to=%d" % start in out and "diff=%d" % (len(incr) - 5 - start) in out
    assert "is not valid. Use the --fix option" in out
    ref = subprocess.run(["redis-check-aof", str(man)], capture_output=True, timeout=30)
    assert ref.returncode == 1
    rc, out = _check_aof("--fix", man, stdin=b"n\n")
    assert rc == 1 and last_incr(tmp_path).stat().st_size == len(incr) - 5
    rc, out = _check_aof("--fix", man, stdin=b"y\n")
    assert rc == 0 and "Successfully truncated AOF" in out
    assert last_incr(tmp_path).read_bytes() == incr[:start]
    assert subprocess.run(["redis-check-aof", str(man)], capture_output=True,
                          timeout=30).returncode == 0
    # corruption in the middle
    bad = bytearray(incr[:start])
    bad[4] = ord("!")  # the '$' of SELECT's first bulk
    last_incr(tmp_path).write_bytes(bytes(bad))
    rc, out = _check_aof(man)
    assert rc == 1 and "ok_up_to=" in out


@pytest.mark.skipif(not CHECK_AOF.exists(), reason="tessera-check-aof not built")
def test_check_aof_tool_rdb_base(tessera_factory, tmp_path):
    s = tessera_factory(*PREAMBLE_ARGS, workdir=tmp_path)
    r = s.client()
    _fill_collections(r)
    r.set("ttl", "v", ex=5000)
    r.bgrewriteaof()
    _rewrite_to(tmp_path, 2)
    r.set("post", "x")
    s.stop()
    man = aof_dir(tmp_path) / "appendonly.aof.manifest"
    rc, out = _check_aof(man)
    assert rc == 0, out
    assert "Start to check BASE AOF (RDB format)." in out
    assert "AUX FIELD aof-base = '1'" in out and "\\o/ RDB looks OK! \\o/" in out
    assert "[info] 9 keys read" in out and "[info] 1 expires" in out
    assert "All AOF files and manifest are valid" in out
    ref = subprocess.run(["redis-check-aof", str(man)], capture_output=True, timeout=30)
    assert ref.returncode == 0
    # same verdict lines as redis-check-aof for the RDB part
    want = [l for l in ref.stdout.decode().splitlines() if "AUX FIELD ctime" not in l
            and "used-mem" not in l]
    got = [l for l in out.splitlines() if "AUX FIELD ctime" not in l and "used-mem" not in l]
    assert got == want
    base = aof_dir(tmp_path) / "appendonly.aof.2.base.rdb"
    data = base.read_bytes()
    base.write_bytes(data[:-30])
    rc, out = _check_aof("--fix", man, stdin=b"y\n")
    assert rc == 1 and "--- RDB ERROR DETECTED ---" in out
    assert "RDB preamble of AOF file is not sane, aborting." in out
    assert base.stat().st_size == len(data) - 30  # never cut
