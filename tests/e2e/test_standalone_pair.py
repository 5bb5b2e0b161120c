"""
test_standalone_pair.py — a standalone primary and its replica, each a container on host
networking with its own volume: requirepass/masterauth, replica-read-only.

NEEDS REPLICATION (src/repl, another room): every test marked needs("replication") fails — it
does not skip — until the replica side of PSYNC works. test_primary_requires_auth and
test_both_stop_cleanly need only the standalone server.
"""
import pytest

from dockerkit import Node, cli, free_port_block, wait_until

PASSWORD = "e2e-s3cret"


@pytest.fixture(scope="module")
def pair(registry):
    base = free_port_block(2)
    primary = Node(registry, "pair-primary", base,
                   ["--port", base, "--requirepass", PASSWORD, "--masterauth", PASSWORD],
                   password=PASSWORD).run()
    replica = Node(registry, "pair-replica", base + 1,
                   ["--port", base + 1, "--requirepass", PASSWORD, "--masterauth", PASSWORD,
                    "--replicaof", "127.0.0.1", base, "--replica-read-only", "yes"],
                   password=PASSWORD).run()
    primary.wait_up()
    replica.wait_up()
    return primary, replica


def test_primary_requires_auth(pair):
    primary, _ = pair
    out = cli(primary.port, "set", "x", "1")
    assert out.startswith("NOAUTH"), out
    assert primary.client().set("x", "1") is True
    assert primary.client().get("x") == "1"


@pytest.mark.needs("replication")
def test_replica_link_is_up(pair):
    primary, replica = pair

    def link_up():
        rep = replica.info("replication")
        return rep.get("role") == "slave" and rep.get("master_link_status") == "up"
    wait_until("replica INFO replication: role:slave, master_link_status:up", link_up, 30)
    role = replica.client().execute_command("ROLE")
    assert role[0] == "slave" and int(role[2]) == primary.port, role
    wait_until("primary INFO replication: connected_slaves:1",
               lambda: primary.info("replication").get("connected_slaves") == 1, 30)


@pytest.mark.needs("replication")
def test_writes_on_primary_are_read_on_replica(pair):
    primary, replica = pair
    p = primary.client()
    for i in range(300):
        p.set("pair:%d" % i, "value-%d" % i)
    p.hset("pair:hash", mapping={"a": "1", "b": "2"})
    p.rpush("pair:list", "x", "y", "z")
    p.expire("pair:list", 3600)
    r = replica.client()
    wait_until("the replica to hold all 303 keys written on the primary (+ x)",
               lambda: r.dbsize() == p.dbsize() and r.get("pair:299") == "value-299", 30)
    assert r.get("pair:0") == "value-0"
    assert r.hgetall("pair:hash") == {"a": "1", "b": "2"}
    assert r.lrange("pair:list", 0, -1) == ["x", "y", "z"]
    assert 0 < r.ttl("pair:list") <= 3600
    p.delete("pair:0")
    wait_until("a DEL on the primary to reach the replica", lambda: r.exists("pair:0") == 0, 30)


@pytest.mark.needs("replication")
def test_writes_to_replica_are_refused(pair):
    _, replica = pair
    out = replica.cli("set", "pair:on-replica", "nope")
    assert out == "READONLY You can't write against a read only replica.", out
    assert replica.client().exists("pair:on-replica") == 0


def test_both_stop_cleanly(pair):
    primary, replica = pair
    for node in (replica, primary):
        took = node.stop()
        assert node.exit_code() == 0, "%s exit code %d\n%s" % (node.name, node.exit_code(), node.logs()[-2000:])
        assert took < 8, "%s: docker stop took %.1fs" % (node.name, took)
