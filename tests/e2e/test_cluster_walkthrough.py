"""
test_cluster_walkthrough.py — the user's workflow of DESIGN.md §1, step by step, with the image:
containers on --net host, ports 6381-6388, one host directory per node as /data.

  01 six nodes: --cluster-enabled yes --appendonly yes --port 638N
  02 redis-cli --cluster create ... --cluster-replicas 1        (3 masters, 3 replicas)
  03 redis-cli -c writes k1..k4 and 1,000 more keys; --cluster check
  04 docker stop node-1       -> its replica is promoted, cluster_state ok, every key readable
  05 docker start node-1      -> it comes back as a replica of the promoted node
  06 redis-cli -p 6381 cluster failover  -> original roles restored
  07 scale out: node-7 (master) + add-node, reshard 4096 slots from all masters, node-8 its replica
  08 scale in: del-node node-8, reshard node-7's slots back, del-node node-7; their
     containers stopped and removed
  09 restart of all six nodes at once (docker stop of all, then docker start of all)
     -> cluster_state ok, each master with its replica (roles kept, or swapped within the pair
        by a SIGTERM hand-over that beat the replica's own SIGTERM), every key back (AOF and
        nodes.conf on the volumes)

The steps are `incremental`: after a failing step the later ones fail at once, naming it.
NEEDS CLUSTER MODE (src/cluster wired into the server) from step 01, REPLICATION (src/repl) at
the end of step 03 (replicas linked and caught up) and FAILOVER (cluster elections, manual
failover) from step 04, PERSISTENCE (AOF, nodes.conf) in step 09. Waits that need another room's
work say so in their message ("[needs replication]", "[needs failover]"). Until those land the
walkthrough fails at the first step that needs them; with TESSERA_E2E_REFERENCE=1 it runs against
Debian's redis-server 7.0 (that run checks the test itself).
"""
import re

import pytest
import redis
from redis.cluster import ClusterNode, RedisCluster

from dockerkit import Node, cli, cli_cluster, docker, require_free, wait_until

pytestmark = [pytest.mark.incremental, pytest.mark.needs("cluster, replication, failover, persistence")]

PORTS = list(range(6381, 6389))
EXTRA_KEYS = 1000
SLOTS = 16384


class Cluster:
    """State shared by the steps: the nodes by number, the original roles, the keys written."""

    def __init__(self, registry):
        self.registry = registry
        self.nodes = {}
        self.keys = {}
        self.replica_of = {}  # master number -> replica number, as created
        self.slot_counts = {}  # master number -> slots owned before scale-out

    def add(self, n):
        port = PORTS[n - 1]
        node = Node(self.registry, "node-%d" % n, port,
                    ["--cluster-enabled", "yes", "--appendonly", "yes", "--port", port])
        self.nodes[n] = node
        return node

    def port(self, n):
        return PORTS[n - 1]

    def live(self):
        return [n for n in sorted(self.nodes) if self.nodes[n].running()]


@pytest.fixture(scope="module")
def cl(registry):
    return Cluster(registry)


# ---------------------------------------------------------------- cluster views

def cluster_nodes(port):
    """CLUSTER NODES of the node on port: {id: {port, flags, master, slots, ranges}}."""
    out = cli(port, "cluster", "nodes")
    view = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 8:
            continue
        hostport = f[1].split("@")[0]
        ranges = []
        for r in f[8:]:
            if r.startswith("["):
                continue  # a migrating/importing marker, not an owned slot
            a, _, b = r.partition("-")
            ranges.append((int(a), int(b or a)))
        view[f[0]] = {"port": int(hostport.rsplit(":", 1)[1]) if ":" in hostport else 0,
                      "flags": set(f[2].split(",")), "master": f[3], "ranges": ranges,
                      "slots": sum(b - a + 1 for a, b in ranges)}
    return view


def owner_of(slot, port):
    """Port of the master owning slot, in the view of the node on port."""
    for v in cluster_nodes(port).values():
        if any(a <= slot <= b for a, b in v["ranges"]):
            return v["port"]
    raise AssertionError("no node owns slot %d in the view of %d" % (slot, port))


def myid(port):
    return cli(port, "cluster", "myid")


def state_ok(port):
    return "cluster_state:ok" in cli(port, "cluster", "info")


def all_state_ok(ports):
    bad = [p for p in ports if not state_ok(p)]
    return not bad or None


def role(port):
    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=5).execute_command("ROLE")
    return r


def is_replica_of(port, master_port):
    r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=5)
    info = r.info("replication")
    return (info.get("role") == "slave" and int(info.get("master_port", 0)) == master_port
            and info.get("master_link_status") == "up")


def is_master(port):
    return role(port)[0] == "master"


def check_ok(port):
    cp = cli_cluster("check", "127.0.0.1:%d" % port, timeout=60, check=False)
    text = cp.stdout
    ok = (cp.returncode == 0 and "[OK] All 16384 slots covered." in text
          and "[OK] All nodes agree about slots configuration." in text)
    return ok or None


def require_check_ok(port, deadline=60):
    try:
        wait_until("redis-cli --cluster check 127.0.0.1:%d to pass" % port, lambda: check_ok(port), deadline)
    except AssertionError:
        cp = cli_cluster("check", "127.0.0.1:%d" % port, timeout=60, check=False)
        raise AssertionError("redis-cli --cluster check 127.0.0.1:%d does not pass:\n%s%s"
                             % (port, cp.stdout[-4000:], cp.stderr[-2000:])) from None


def missing_keys(cl, ports):
    """Keys of cl.keys not readable with their value through a fresh cluster client."""
    rc = RedisCluster(startup_nodes=[ClusterNode("127.0.0.1", p) for p in ports],
                      decode_responses=True, socket_timeout=5)
    try:
        bad = [k for k, v in cl.keys.items() if rc.get(k) != v]
    finally:
        rc.close()
    return bad


def every_key_readable(cl, ports, deadline=60):
    wait_until("all %d keys readable with their values through a cluster client" % len(cl.keys),
               lambda: not missing_keys(cl, ports), deadline)


def three_plus_three(ports):
    """{replica port: master port} when every node on ports sees 3 masters owning all slots and
    one replica for each of them; None otherwise."""
    seen = None
    for port in ports:
        view = cluster_nodes(port)
        by_id = {i: v["port"] for i, v in view.items()}
        masters = sorted(v["port"] for v in view.values() if "master" in v["flags"] and v["slots"])
        replicas = {v["port"]: by_id.get(v["master"]) for v in view.values() if "slave" in v["flags"]}
        if (len(view) != 6 or len(masters) != 3 or sorted(replicas.values()) != masters
                or sum(v["slots"] for v in view.values()) != SLOTS):
            return None
        if seen is not None and seen != replicas:
            return None
        seen = replicas
    return seen


# ---------------------------------------------------------------- the walkthrough

def test_01_six_nodes_start(cl):
    require_free(PORTS)
    for n in range(1, 7):
        cl.add(n).run()
    for n in range(1, 7):
        node = cl.nodes[n].wait_up()
        info = node.info("cluster")
        assert info.get("cluster_enabled") == 1, "node-%d: INFO cluster says %r" % (n, info)


def test_02_create_three_masters_three_replicas(cl):
    addrs = ["127.0.0.1:%d" % cl.port(n) for n in range(1, 7)]
    cp = cli_cluster("create", *addrs, "--cluster-replicas", "1", "--cluster-yes", timeout=180)
    assert "[OK] All 16384 slots covered." in cp.stdout, cp.stdout[-4000:]
    wait_until("cluster_state:ok on all six nodes", lambda: all_state_ok(PORTS[:6]), 60)
    require_check_ok(cl.port(1))
    replicas = wait_until("3 masters and 3 replicas, one per master, in every node's view",
                          lambda: three_plus_three(PORTS[:6]), 60)
    cl.replica_of = {PORTS.index(m) + 1: PORTS.index(r) + 1 for r, m in replicas.items()}
    assert 1 in cl.replica_of, "node-1 (6381) should be a master after create: %r" % replicas


def test_03_writes_through_redis_cli_c(cl):
    p1 = cl.port(1)
    for i in range(1, 5):
        assert cli(p1, "set", "k%d" % i, "v%d" % i, cluster=True) == "OK"
        cl.keys["k%d" % i] = "v%d" % i
    assert cli(p1, "cluster", "keyslot", "k1") == "12706"
    owner = owner_of(12706, p1)
    assert owner != p1
    assert cli(p1, "get", "k1") == "MOVED 12706 127.0.0.1:%d" % owner
    assert cli(owner, "get", "k1") == "v1"
    # 1,000 more keys, one redis-cli -c process reading commands on stdin.
    script = "".join("set key:%d value:%d\n" % (i, i) for i in range(EXTRA_KEYS))
    out = cli(p1, cluster=True, input=script, timeout=120)
    assert out.splitlines().count("OK") == EXTRA_KEYS, out[-2000:]
    cl.keys.update({"key:%d" % i: "value:%d" % i for i in range(EXTRA_KEYS)})
    assert sum(cl.nodes[m].client().dbsize() for m in cl.replica_of) == len(cl.keys)
    every_key_readable(cl, PORTS[:6])
    for n in (1, 2, 3, 4, 5, 6):
        assert cl.nodes[n].client().config_get("appendonly")["appendonly"] == "yes"
    require_check_ok(p1)
    # [needs replication] each replica is linked to its master and holds the same keys.
    for m, r in cl.replica_of.items():
        wait_until("[needs replication] node-%d to be a replica of node-%d with its link up" % (r, m),
                   lambda: is_replica_of(cl.port(r), cl.port(m)), 60)
        wait_until("[needs replication] replica node-%d to hold as many keys as node-%d" % (r, m),
                   lambda: cl.nodes[r].client().dbsize() == cl.nodes[m].client().dbsize(), 60)


def test_04_stop_node1_replica_promoted(cl):
    r1 = cl.replica_of[1]
    slots1 = cluster_nodes(cl.port(2))[myid(cl.port(1))]["slots"]
    took = cl.nodes[1].stop()
    assert cl.nodes[1].exit_code() == 0, "node-1 exit code %d" % cl.nodes[1].exit_code()
    assert took < 8, "docker stop node-1 took %.1fs" % took
    log = cl.nodes[1].logs()
    assert re.search(r"is now ready to exit, bye bye", log), log[-2000:]
    rest = [cl.port(n) for n in range(2, 7)]
    wait_until("[needs failover] node-%d (replica of node-1) to be promoted to master" % r1,
               lambda: is_master(cl.port(r1)), 90)
    wait_until("cluster_state:ok on the five running nodes", lambda: all_state_ok(rest), 60)
    view = cluster_nodes(cl.port(r1))
    me = view[myid(cl.port(r1))]
    assert me["slots"] == slots1, "promoted node owns %d slots, node-1 had %d" % (me["slots"], slots1)
    every_key_readable(cl, rest)


def test_05_start_node1_comes_back_as_replica(cl):
    r1 = cl.replica_of[1]
    cl.nodes[1].start().wait_up()
    wait_until("node-1 to come back as a replica of node-%d with its link up" % r1,
               lambda: is_replica_of(cl.port(1), cl.port(r1)), 90)
    wait_until("cluster_state:ok on all six nodes", lambda: all_state_ok(PORTS[:6]), 60)
    every_key_readable(cl, PORTS[:6])


def test_06_cluster_failover_restores_roles(cl):
    r1 = cl.replica_of[1]
    assert cli(cl.port(1), "cluster", "failover") == "OK"
    wait_until("node-1 to be master again", lambda: is_master(cl.port(1)), 60)
    wait_until("node-%d to be node-1's replica again" % r1,
               lambda: is_replica_of(cl.port(r1), cl.port(1)), 60)
    wait_until("cluster_state:ok on all six nodes", lambda: all_state_ok(PORTS[:6]), 60)
    for m, r in cl.replica_of.items():
        assert is_master(cl.port(m)), "node-%d should be a master" % m
        wait_until("node-%d replica of node-%d" % (r, m), lambda: is_replica_of(cl.port(r), cl.port(m)), 30)
    require_check_ok(cl.port(1))
    every_key_readable(cl, PORTS[:6])


def test_07_scale_out_node7_node8(cl):
    require_free(PORTS[6:8])
    for n in (7, 8):
        cl.add(n).run()
    for n in (7, 8):
        cl.nodes[n].wait_up()
    cl.slot_counts = {m: cluster_nodes(cl.port(1))[myid(cl.port(m))]["slots"] for m in cl.replica_of}
    cli_cluster("add-node", "127.0.0.1:%d" % cl.port(7), "127.0.0.1:%d" % cl.port(1), timeout=60)
    id7 = myid(cl.port(7))
    wait_until("every node to know node-7", lambda: all(
        id7 in cluster_nodes(cl.port(n)) and "handshake" not in cluster_nodes(cl.port(n))[id7]["flags"]
        for n in range(1, 8)), 60)
    # A new master reports cluster_state:fail until it has seen every slot owner for the
    # rejoin delay (min(node-timeout, 5 s), as Redis 7.0 does), and refuses the keys
    # MIGRATE sends it (-CLUSTERDOWN) until then: reshard only once it is ok.
    wait_until("cluster_state:ok on node-7", lambda: all_state_ok([cl.port(7)]), 60)
    require_check_ok(cl.port(1))
    cli_cluster("reshard", "127.0.0.1:%d" % cl.port(1), "--cluster-from", "all", "--cluster-to", id7,
                "--cluster-slots", "4096", "--cluster-yes", timeout=600)
    wait_until("node-7 to own 4096 slots in every node's view", lambda: all(
        cluster_nodes(cl.port(n))[id7]["slots"] == 4096 for n in range(1, 8)), 60)
    cli_cluster("add-node", "127.0.0.1:%d" % cl.port(8), "127.0.0.1:%d" % cl.port(7),
                "--cluster-slave", "--cluster-master-id", id7, timeout=60)
    wait_until("node-8 to be node-7's replica with its link up",
               lambda: is_replica_of(cl.port(8), cl.port(7)), 90)
    # del-node (step 08) sends CLUSTER FORGET to every node: each must know node-8 by then
    # (a node meets it through gossip; redis-server answers "ERR Unknown node" too).
    id8 = myid(cl.port(8))
    wait_until("every node to know node-8", lambda: all(
        id8 in cluster_nodes(cl.port(n)) and "handshake" not in cluster_nodes(cl.port(n))[id8]["flags"]
        for n in range(1, 9)), 60)
    wait_until("cluster_state:ok on all eight nodes", lambda: all_state_ok(PORTS), 60)
    require_check_ok(cl.port(1))
    assert cl.nodes[7].client().dbsize() > 0, "no key moved to node-7"
    every_key_readable(cl, PORTS)


def test_08_scale_in(cl):
    id7, id8 = myid(cl.port(7)), myid(cl.port(8))
    cli_cluster("del-node", "127.0.0.1:%d" % cl.port(1), id8, timeout=60)
    retire(cl, 8)
    # Give each original master back what it gave to node-7.
    now = {m: cluster_nodes(cl.port(1))[myid(cl.port(m))]["slots"] for m in cl.replica_of}
    for m in cl.replica_of:
        give = cl.slot_counts[m] - now[m]
        if give > 0:
            require_check_ok(cl.port(1))
            cli_cluster("reshard", "127.0.0.1:%d" % cl.port(1), "--cluster-from", id7, "--cluster-to",
                        myid(cl.port(m)), "--cluster-slots", give, "--cluster-yes", timeout=600)
    wait_until("node-7 to own no slot", lambda: cluster_nodes(cl.port(1))[id7]["slots"] == 0, 60)
    require_check_ok(cl.port(1))
    cli_cluster("del-node", "127.0.0.1:%d" % cl.port(1), id7, timeout=60)
    retire(cl, 7)
    wait_until("the six nodes to know exactly six nodes",
               lambda: all(len(cluster_nodes(cl.port(n))) == 6 for n in range(1, 7)), 60)
    wait_until("cluster_state:ok on all six nodes", lambda: all_state_ok(PORTS[:6]), 60)
    require_check_ok(cl.port(1))
    for m in cl.replica_of:
        assert cluster_nodes(cl.port(1))[myid(cl.port(m))]["slots"] == cl.slot_counts[m]
    every_key_readable(cl, PORTS[:6])


def retire(cl, n):
    """After del-node (which sends CLUSTER RESET SOFT): the node knows only itself; then its
    container is stopped (cleanly) and removed, as a user scaling in would."""
    wait_until("node-%d to forget the cluster after del-node (CLUSTER RESET SOFT)" % n,
               lambda: len(cluster_nodes(cl.port(n))) == 1, 30)
    node = cl.nodes[n]
    node.stop()
    assert node.exit_code() == 0, "node-%d exit code %d" % (n, node.exit_code())
    docker("rm", node.name)


def test_09_restart_all_nodes_at_once(cl):
    names = [cl.nodes[n].name for n in range(1, 7)]
    docker("stop", "-t", "10", *names, timeout=120)
    for n in range(1, 7):
        node = cl.nodes[n]
        assert node.exit_code() == 0, "node-%d exit code %d\n%s" % (n, node.exit_code(), node.logs()[-2000:])
        assert (node.dir / "nodes.conf").is_file(), "node-%d: no nodes.conf on the volume" % n
        assert (node.dir / "appendonlydir").is_dir(), "node-%d: no appendonlydir on the volume" % n
    docker("start", *names, timeout=120)
    for n in range(1, 7):
        cl.nodes[n].wait_up(60)
    wait_until("cluster_state:ok on all six nodes after the restart", lambda: all_state_ok(PORTS[:6]), 120)
    masters = []
    for m, r in cl.replica_of.items():
        new_m, new_r = wait_until("node-%d and node-%d to be a master and its linked replica again"
                                  % (m, r), lambda: pair_restored(cl, m, r), 60)
        if new_m != m:
            print("node-%d's hand-over at SIGTERM promoted node-%d before node-%d stopped" % (m, r, r))
        assert cluster_nodes(cl.port(1))[myid(cl.port(new_m))]["slots"] == cl.slot_counts[m]
        masters.append(new_m)
    require_check_ok(cl.port(1))
    assert sum(cl.nodes[m].client().dbsize() for m in masters) == len(cl.keys)
    every_key_readable(cl, PORTS[:6])


def pair_restored(cl, m, r):
    """(master, replica) when the pair created as m -> r is one master and its linked replica.
    Normally the roles are those of before the stop: a node that is shutting down neither takes
    its master's SIGTERM hand-over nor votes for one. They may be swapped when m's hand-over
    promoted r before r's (or the voters') SIGTERM arrived, since docker signals each container
    on its own; the pair, the slots and the data are what must survive."""
    if is_master(cl.port(m)) and is_replica_of(cl.port(r), cl.port(m)):
        return (m, r)
    if is_master(cl.port(r)) and is_replica_of(cl.port(m), cl.port(r)):
        return (r, m)
    return None
