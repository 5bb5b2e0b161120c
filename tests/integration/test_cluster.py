"""
test_cluster.py — cluster mode (issue 5) with real processes and real tools:
`redis-cli --cluster create/check`, `redis-cli -c`, redis-py's RedisCluster,
`redis-benchmark --cluster`, failure detection (fail? then fail, cleared when
the node returns), kill -9 and restart from nodes.conf, PUBLISH over the bus,
a mixed cluster of 3 Tessera + 3 Debian redis-server 7.0.15 nodes, and replies
compared byte for byte with a real redis-server 7.0.15 in cluster mode.

Every node is a separate process on loopback (bus port = port + 10000) with its
own directory; every wait has a deadline. Replicas only have roles and
bookkeeping here (data sync is the replication issue).
"""
import difflib
import os
import re
import signal
import socket
import subprocess
import time

import pytest
import redis
from redis.cluster import RedisCluster

from conftest import REDIS_BIN, TESSERA_BIN, ServerProcess, raw

NODE_TIMEOUT = 2000  # ms
CLUSTER_ARGS = ("--cluster-enabled", "yes", "--cluster-node-timeout", str(NODE_TIMEOUT))


# ---------------------------------------------------------------- helpers

def wait_for(pred, timeout, what, step=0.1):
    """Poll pred() until it returns a true value; fail with `what` after
    `timeout` seconds. Returns pred's value."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            last = pred()
        except (redis.RedisError, OSError) as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(step)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


def cli(*args, stdin=None, timeout=60):
    """Run redis-cli; returns (returncode, stdout+stderr)."""
    p = subprocess.run(["redis-cli", *[str(a) for a in args]], input=stdin,
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def start_nodes(binary, name, n, extra=()):
    nodes = []
    try:
        for _ in range(n):
            nodes.append(ServerProcess(name, binary, CLUSTER_ARGS + tuple(extra)).start())
    except Exception:
        stop_nodes(nodes)
        raise
    return nodes


def stop_nodes(nodes):
    for n in nodes:
        n.stop()
    for n in nodes:
        n.cleanup_dir()


def cluster_info(port):
    text = redis.Redis(port=port, socket_timeout=5).execute_command("CLUSTER", "INFO")
    if isinstance(text, bytes):
        text = text.decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def cluster_nodes(port):
    """CLUSTER NODES as {id: fields} (fields = the split line)."""
    text = redis.Redis(port=port, socket_timeout=5).execute_command("CLUSTER", "NODES")
    if isinstance(text, bytes):
        text = text.decode()
    out = {}
    for line in text.strip().split("\n"):
        f = line.split()
        out[f[0]] = f
    return out


def my_line(port):
    for f in cluster_nodes(port).values():
        if "myself" in f[2].split(","):
            return f
    raise AssertionError("no myself line on %d" % port)


def create_cluster(nodes, replicas=1):
    addrs = ["127.0.0.1:%d" % n.port for n in nodes]
    rc, out = cli("--cluster", "create", *addrs, "--cluster-replicas", replicas,
                  "--cluster-yes", timeout=120)
    assert rc == 0, out
    assert "[OK] All 16384 slots covered" in out, out
    wait_for(lambda: all(cluster_info(n.port).get("cluster_state") == "ok" for n in nodes),
             30, "cluster_state:ok on every node")
    return out


def check_clean(port):
    rc, out = cli("--cluster", "check", "127.0.0.1:%d" % port)
    assert rc == 0, out
    assert "[OK] All nodes agree about slots configuration." in out, out
    assert "[OK] All 16384 slots covered." in out, out
    assert "[ERR]" not in out and "[WARNING]" not in out, out
    return out


def owner_port(nodes, slot):
    """Port of the master serving slot, from the first node's view."""
    for f in cluster_nodes(nodes[0].port).values():
        if "master" not in f[2].split(","):
            continue
        for r in f[8:]:
            if r.startswith("["):
                continue
            a, _, b = r.partition("-")
            if int(a) <= slot <= int(b or a):
                return int(f[1].split("@")[0].split(":")[1])
    raise AssertionError("no owner for slot %d" % slot)


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def cluster6():
    """Six Tessera nodes joined by `redis-cli --cluster create` (3 masters + 3
    replicas). Tests that disturb it restore it before they end."""
    nodes = start_nodes(TESSERA_BIN, "tessera-cluster", 6)
    try:
        create_cluster(nodes)
        yield nodes
    finally:
        stop_nodes(nodes)


# ---------------------------------------------------------------- the 6-node Tessera cluster

def test_create_and_check_from_every_node(cluster6):
    for n in cluster6:
        check_clean(n.port)
        info = cluster_info(n.port)
        assert info["cluster_known_nodes"] == "6"
        assert info["cluster_size"] == "3"
        assert info["cluster_slots_assigned"] == "16384"
    def agree():
        views = [sorted((f[0], f[2].replace("myself,", ""), f[3], " ".join(f[8:]))
                        for f in cluster_nodes(n.port).values()) for n in cluster6]
        return all(v == views[0] for v in views)
    wait_for(agree, 10, "every node to show the same roles, masters and slots")
    roles = [f[2].replace("myself,", "") for f in cluster_nodes(cluster6[0].port).values()]
    assert sorted(roles) == ["master"] * 3 + ["slave"] * 3


def test_info_and_hello_in_cluster_mode(cluster6):
    r = redis.Redis(port=cluster6[0].port)
    assert r.info("cluster") == {"cluster_enabled": 1}
    assert raw(cluster6[0].port, b"SELECT 1\r\n") == b"-ERR SELECT is not allowed in cluster mode\r\n"
    assert raw(cluster6[0].port, b"SELECT 0\r\n") == b"+OK\r\n"
    hello = raw(cluster6[0].port, b"HELLO 3\r\n")
    assert b"$4\r\nmode\r\n$7\r\ncluster\r\n" in hello


def test_redis_cli_follows_redirects(cluster6):
    slot_owner = owner_port(cluster6, 12706)
    other = next(n.port for n in cluster6 if n.port != slot_owner)
    assert raw(other, b"GET k1\r\n") == b"-MOVED 12706 127.0.0.1:%d\r\n" % slot_owner
    rc, out = cli("-c", "-p", other, stdin="set k1 v1\n")
    assert rc == 0, out
    assert "Redirected to slot [12706]" in out and "OK" in out, out
    for n in cluster6:
        rc, out = cli("-c", "-p", n.port, "get", "k1")
        assert out.strip() == "v1", (n.port, out)


def test_crossslot_and_same_slot(cluster6):
    port = owner_port(cluster6, 12182)  # "foo"'s slot; {foo}x hashes there too
    assert raw(port, b"MSET a 1 b 2\r\n") == \
        b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    assert raw(port, b"MSET foo 1 {foo}x 2\r\n") == b"+OK\r\n"
    assert raw(port, b"MGET foo {foo}x\r\n") == b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    # EXEC routes the queued commands together.
    out = raw(port, b"MULTI\r\nSET foo 3\r\nSET {foo}y 4\r\nEXEC\r\n")
    assert out == b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n+OK\r\n", out
    other = next(n.port for n in cluster6 if n.port != port)
    out = raw(other, b"MULTI\r\nSET foo 3\r\nEXEC\r\n")
    assert out == (b"+OK\r\n-MOVED 12182 127.0.0.1:%d\r\n-EXECABORT Transaction discarded "
                   b"because of previous errors.\r\n" % port), out


def test_redis_py_cluster_10000_keys(cluster6):
    rc = RedisCluster(host="127.0.0.1", port=cluster6[0].port, socket_timeout=10)
    try:
        for i in range(10000):
            rc.set("key:%d" % i, "value:%d" % i)
        bad = [i for i in range(10000) if rc.get("key:%d" % i) != b"value:%d" % i]
        assert bad == []
    finally:
        rc.close()
    masters = [n for n in cluster6 if redis.Redis(port=n.port).execute_command("ROLE")[0] == b"master"]
    sizes = [redis.Redis(port=n.port).dbsize() for n in masters]
    # Replicas hold copies (replication), so count the masters only.
    assert len(masters) == 3 and all(s > 0 for s in sizes) and sum(sizes) >= 10000


def test_redis_benchmark_cluster(cluster6):
    p = subprocess.run(["redis-benchmark", "--cluster", "-p", str(cluster6[0].port), "-t", "set,get",
                        "-n", "10000", "-q"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout.replace("\r", "\n")
    assert re.search(r"SET: [\d.]+ requests per second", out), out
    assert re.search(r"GET: [\d.]+ requests per second", out), out


def test_publish_crosses_the_bus(cluster6):
    sub = redis.Redis(port=cluster6[3].port).pubsub()
    sub.subscribe("news")
    wait_for(lambda: sub.get_message(timeout=0.2), 5, "subscribe confirmation")
    redis.Redis(port=cluster6[1].port).publish("news", "hello")
    msg = wait_for(lambda: sub.get_message(timeout=0.2), 5, "the message from another node")
    assert msg["type"] == "message" and msg["data"] == b"hello"
    sub.close()


def test_sharded_publish_routed_by_slot(cluster6):
    slot = 16287  # CLUSTER KEYSLOT "ch{x}"
    owner = owner_port(cluster6, slot)
    other = next(n.port for n in cluster6 if n.port != owner)
    assert raw(other, b"SPUBLISH ch{x} m\r\n") == b"-MOVED %d 127.0.0.1:%d\r\n" % (slot, owner)
    assert raw(owner, b"SPUBLISH ch{x} m\r\n") == b":0\r\n"


def test_cluster_links_and_info_counters(cluster6):
    r = redis.Redis(port=cluster6[0].port)
    links = r.execute_command("CLUSTER", "LINKS")
    assert len(links) == 10  # a "to" and a "from" link per peer
    for link in links:
        d = dict(zip(link[::2], link[1::2]))
        assert set(d) == {b"direction", b"node", b"create-time", b"events",
                          b"send-buffer-allocated", b"send-buffer-used"}
        assert d[b"direction"] in (b"to", b"from") and len(d[b"node"]) == 40
    info = cluster_info(cluster6[0].port)
    assert int(info["cluster_stats_messages_ping_sent"]) > 0
    assert int(info["cluster_stats_messages_pong_received"]) > 0
    assert info["total_cluster_links_buffer_limit_exceeded"] == "0"
    # Redis counts two bus sockets per other known node, whatever is open now.
    assert r.info("clients")["cluster_connections"] == 10


def test_malformed_bus_packet_closes_link_only(cluster6):
    node = cluster6[2]
    bus = node.port + 10000
    bad = [b"GARBAGE!" * 8,
           b"RCmb" + (100).to_bytes(4, "big") + bytes(92),                  # totlen < 2256
           b"RCmb" + (2256).to_bytes(4, "big") + (1).to_bytes(2, "big") + bytes(2)
           + (0).to_bytes(2, "big") + (5).to_bytes(2, "big") + bytes(2240),  # 5 gossip, none sent
           b"RCmb" + (2300).to_bytes(4, "big") + bytes(100)]                # truncated, then EOF
    for pkt in bad:
        with socket.create_connection(("127.0.0.1", bus), timeout=5) as s:
            s.sendall(pkt)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(5)
            assert s.recv(100) == b""  # the node closed the link
    assert redis.Redis(port=node.port).ping()
    assert "Cluster bus" in node.log_tail()
    wait_for(lambda: cluster_info(node.port).get("cluster_state") == "ok", 10, "state ok")


def test_sendbuf_limit_frees_stuck_link(cluster6):
    sender, stuck = cluster6[0], cluster6[1]
    r = redis.Redis(port=sender.port)
    os.kill(stuck.pid, signal.SIGSTOP)
    try:
        r.config_set("cluster-link-sendbuf-limit", "1mb")
        big = "x" * (1024 * 1024)
        for _ in range(24):
            r.publish("bulk", big)
        wait_for(lambda: int(cluster_info(sender.port)["total_cluster_links_buffer_limit_exceeded"]) > 0,
                 5, "a link freed for its send buffer")
    finally:
        r.config_set("cluster-link-sendbuf-limit", "0")
        os.kill(stuck.pid, signal.SIGCONT)
    wait_for(lambda: all(cluster_info(n.port).get("cluster_state") == "ok" for n in cluster6),
             20, "the cluster to settle")
    wait_for(lambda: not any(("fail" in f[2]) for n in cluster6 for f in cluster_nodes(n.port).values()),
             20, "no node flagged failing")


def node_flags_seen(nodes, victim_id):
    return [cluster_nodes(n.port)[victim_id][2] for n in nodes]


def test_failure_detection_and_restart_from_nodes_conf(cluster6):
    victim = next(n for n in cluster6 if "master" in my_line(n.port)[2])
    others = [n for n in cluster6 if n is not victim]
    for n in cluster6:  # no promotion: the test is about detection and rejoining
        redis.Redis(port=n.port).config_set("cluster-replica-no-failover", "yes")
    before = my_line(victim.port)
    vid = before[0]
    epoch_before = cluster_info(victim.port)["cluster_current_epoch"]
    conf_before = (victim.dir / "nodes.conf").read_text()
    assert vid in conf_before and "vars currentEpoch" in conf_before

    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(timeout=5)
    t0 = time.monotonic()
    wait_for(lambda: any("fail" in f for f in node_flags_seen(others, vid)), NODE_TIMEOUT / 1000 + 4,
             "fail? on some node", step=0.05)
    t_pfail = time.monotonic() - t0
    wait_for(lambda: all("fail" in f.split(",") for f in node_flags_seen(others, vid)),
             2 * NODE_TIMEOUT / 1000 + 6, "fail on every node", step=0.05)
    t_fail = time.monotonic() - t0
    assert t_pfail >= 0.8 * NODE_TIMEOUT / 1000, "flagged before node-timeout: %.2fs" % t_pfail
    assert t_fail <= 2 * NODE_TIMEOUT / 1000 + 6
    assert cluster_info(others[0].port)["cluster_state"] == "fail"  # its slots are gone

    victim.start()  # same port, same directory, same nodes.conf
    after = my_line(victim.port)
    assert after[0] == vid
    assert after[6] == before[6]                      # configEpoch
    assert after[8:] == before[8:]                     # slots
    assert cluster_info(victim.port)["cluster_current_epoch"] == epoch_before
    wait_for(lambda: not any("fail" in f for f in node_flags_seen(others, vid)),
             2 * NODE_TIMEOUT / 1000 + 10, "the fail flag cleared everywhere")
    wait_for(lambda: all(cluster_info(n.port).get("cluster_state") == "ok" for n in cluster6),
             20, "cluster_state:ok again")
    for n in cluster6:
        redis.Redis(port=n.port).config_set("cluster-replica-no-failover", "no")
    check_clean(victim.port)


# ---------------------------------------------------------------- mixed cluster

def test_mixed_cluster_with_redis_server():
    tess = start_nodes(TESSERA_BIN, "tessera-mixed", 3)
    refs = []
    try:
        refs = start_nodes(REDIS_BIN, "redis-mixed", 3)
        # Interleaved so that both kinds get masters: redis-cli takes the first three.
        order = [tess[0], refs[0], tess[1], refs[1], tess[2], refs[2]]
        create_cluster(order)
        for n in order:
            check_clean(n.port)
            assert cluster_info(n.port)["cluster_state"] == "ok"
        masters = {int(f[1].split("@")[0].split(":")[1]) for f in cluster_nodes(tess[0].port).values()
                   if "master" in f[2]}
        assert masters & {n.port for n in tess} and masters & {n.port for n in refs}
        keys = ["k%d" % i for i in range(200)]
        rc = RedisCluster(host="127.0.0.1", port=tess[0].port, socket_timeout=10)
        try:
            for k in keys:
                rc.set(k, "v-" + k)
        finally:
            rc.close()
        owners = {owner_port(order, int(cli("-p", tess[0].port, "cluster", "keyslot", k)[1]))
                  for k in keys[:40]}
        assert owners & {n.port for n in tess} and owners & {n.port for n in refs}
        for n in order:  # every key readable through either side's redirections
            for k in keys[:20]:
                rc_, out = cli("-c", "-p", n.port, "get", k)
                assert out.strip() == "v-" + k, (n.port, k, out)
    finally:
        stop_nodes(tess + refs)


# ---------------------------------------------------------------- replies vs redis-server 7.0.15

def _norm(b, port):
    b = b.replace(b"%d" % (port + 10000), b"<BUS>").replace(b"%d" % port, b"<PORT>")
    b = re.sub(rb"[0-9a-f]{40}", b"<ID>", b)
    b = re.sub(rb"1[0-9]{12}", b"<T>", b)
    return re.sub(rb"\$2\r\nid\r\n:[0-9]+\r\n", b"$2\r\nid\r\n:<N>\r\n", b)  # HELLO


SINGLE_NODE_CMDS = [
    b"CLUSTER SLOTS", b"CLUSTER SHARDS", b"CLUSTER INFO", b"CLUSTER LINKS", b"CLUSTER HELP",
    b"CLUSTER KEYSLOT foo", b"CLUSTER COUNTKEYSINSLOT 12182", b"CLUSTER COUNTKEYSINSLOT 16384",
    b"CLUSTER COUNTKEYSINSLOT x", b"CLUSTER GETKEYSINSLOT 1 -1", b"CLUSTER GETKEYSINSLOT 12182 5",
    b"CLUSTER ADDSLOTS 5", b"CLUSTER ADDSLOTS x", b"CLUSTER ADDSLOTS 1 1",
    b"CLUSTER ADDSLOTSRANGE 5", b"CLUSTER ADDSLOTSRANGE 5 3", b"CLUSTER DELSLOTSRANGE 1 2 3",
    b"CLUSTER MEET 127.0.0.1", b"CLUSTER MEET 127.0.0.1 1 2 3", b"CLUSTER MEET 127.0.0.1 x",
    b"CLUSTER MEET 127.0.0.1 70000", b"CLUSTER MEET 127.0.0.1 7000 x", b"CLUSTER MEET nonsense 7000",
    b"CLUSTER FORGET abc", b"CLUSTER REPLICATE abc", b"CLUSTER REPLICAS abc", b"CLUSTER SLAVES abc",
    b"CLUSTER COUNT-FAILURE-REPORTS abc", b"CLUSTER SET-CONFIG-EPOCH -1",
    b"CLUSTER SET-CONFIG-EPOCH x", b"CLUSTER BUMPEPOCH x", b"CLUSTER RESET foo",
    b"CLUSTER RESET hard x", b"CLUSTER SETSLOT 1", b"CLUSTER SETSLOT 1 foo",
    b"CLUSTER SETSLOT 1 node abc", b"CLUSTER SETSLOT x stable", b"CLUSTER SETSLOT 1 stable x",
    b"CLUSTER SETSLOT 1 importing", b"CLUSTER SETSLOT 1 migrating abc", b"CLUSTER SETSLOT 1 stable",
    b"CLUSTER INFO x", b"CLUSTER foo", b"CLUSTER", b"ASKING", b"ASKING x", b"READONLY",
    b"READWRITE", b"SELECT 1", b"SET foo bar", b"MSET a 1 b 2", b"CLUSTER FLUSHSLOTS",
    b"CLUSTER RESET", b"CLUSTER COUNTKEYSINSLOT 12182", b"CLUSTER GETKEYSINSLOT 12182 5",
    b"HELLO 3", b"CLUSTER SLOTS", b"CLUSTER SHARDS", b"CLUSTER INFO", b"CLUSTER NODES",
]


def _single_node(factory):
    node = factory(*CLUSTER_ARGS)
    assert raw(node.port, b"CLUSTER ADDSLOTSRANGE 0 16383\r\n") == b"+OK\r\n"
    wait_for(lambda: cluster_info(node.port).get("cluster_state") == "ok", 10, "single node ok")
    return node


def test_single_node_replies_match_redis(tessera_factory, redis_ref_factory):
    t = _single_node(tessera_factory)
    r = _single_node(redis_ref_factory)
    script = b"".join(cmd + b"\r\n" for cmd in SINGLE_NODE_CMDS)  # pipelined, in order
    got = _norm(raw(t.port, script, idle=0.5), t.port)
    want = _norm(raw(r.port, script, idle=0.5), r.port)
    if got != want:
        diff = difflib.unified_diff(want.decode(errors="replace").split("\r\n"),
                                    got.decode(errors="replace").split("\r\n"),
                                    "redis-server", "tessera", lineterm="", n=2)
        pytest.fail("\n".join(diff))


def test_standalone_refuses_cluster_commands(tessera):
    for cmd in (b"CLUSTER INFO", b"CLUSTER HELP", b"CLUSTER KEYSLOT a", b"READONLY",
                b"READWRITE", b"ASKING"):
        assert raw(tessera.port, cmd + b"\r\n") == \
            b"-ERR This instance has cluster support disabled\r\n", cmd
    assert raw(tessera.port, b"CLUSTER foo\r\n") == \
        b"-ERR unknown subcommand 'foo'. Try CLUSTER HELP.\r\n"
    assert raw(tessera.port, b"SELECT 1\r\n") == b"+OK\r\n"


def test_config_get_cluster_matches_redis(tessera_factory, redis_ref_factory):
    t = tessera_factory(*CLUSTER_ARGS)
    r = redis_ref_factory(*CLUSTER_ARGS)
    def conf(port):
        d = redis.Redis(port=port, decode_responses=True).config_get("cluster*")
        d.pop("cluster-port", None)
        return d
    assert conf(t.port) == conf(r.port)
    for name, value, err in [("cluster-announce-hostname", "a_b", "Hostnames may only contain"),
                             ("cluster-preferred-endpoint-type", "xx", "must be one of"),
                             ("cluster-enabled", "no", "immutable config")]:
        for port in (t.port, r.port):
            with pytest.raises(redis.ResponseError, match=err):
                redis.Redis(port=port).config_set(name, value)


def test_corrupt_nodes_conf_refuses_to_start(tmp_path):
    (tmp_path / "nodes.conf").write_text(
        "0123456789012345678901234567890123456789 127.0.0.1:7000@17000 myself,master - 0 0 0 "
        "connected 0-100\nthis line is not a node\nvars currentEpoch 0 lastVoteEpoch 0\n")
    p = subprocess.run([str(TESSERA_BIN), "--port", "0", "--cluster-enabled", "yes", "--dir",
                        str(tmp_path), "--save", ""], capture_output=True, text=True, timeout=10)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "corrupted cluster config file" in out and "nodes.conf" in out and "line 2" in out, out
