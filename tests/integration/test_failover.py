"""
test_failover.py — automatic and manual failover of a 3+3 Tessera cluster
(issue 6 acceptance): under a steady write load from redis-py's RedisCluster,
kill -9 a master; its replica takes over, cluster_state returns to ok, and every
write acknowledged and confirmed by WAIT 1 is present. The old master restarts
as a replica of the winner and resyncs; CLUSTER FAILOVER on it restores the
original roles with nothing lost.
"""
import os
import signal
import threading
import time

import redis
from redis.cluster import RedisCluster

from conftest import TESSERA_BIN, ServerProcess
from test_cluster import (CLUSTER_ARGS, NODE_TIMEOUT, check_clean, cluster_info, create_cluster,
                          my_line, start_nodes, stop_nodes, wait_for)


def role(port):
    return redis.Redis(port=port, socket_timeout=5).execute_command("ROLE")[0]


def replica_of(nodes, master):
    mid = my_line(master.port)[0]
    for n in nodes:
        if n is not master and my_line(n.port)[3] == mid:
            return n
    raise AssertionError("no replica of %d" % master.port)


class Writer(threading.Thread):
    """Writes k0, k1, ... through RedisCluster; a write counts as confirmed
    when SET succeeded and WAIT 1 on its master reported the replica has it."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.rc = RedisCluster(host="127.0.0.1", port=port, socket_timeout=5)
        self.confirmed = {}
        self.stop_flag = threading.Event()
        self.i = 0

    def run(self):
        deadline = time.monotonic() + 120
        while not self.stop_flag.is_set() and time.monotonic() < deadline and self.i < 200000:
            key, val = "k%d" % self.i, "v%d" % self.i
            self.i += 1
            try:
                self.rc.set(key, val)
                node = self.rc.get_node_from_key(key)
                if self.rc.execute_command("WAIT", 1, 100, target_nodes=node) >= 1:
                    self.confirmed[key] = val
            except Exception as e:  # redis-py raises several kinds while the cluster fails over
                self.last_error = e
                time.sleep(0.05)
                # redis-py 4.3's cluster client can wedge after a node dies
                # ("cannot pickle '_thread.lock'" while re-reading the slots):
                # a fresh client picks up the new topology.
                try:
                    self.rc = RedisCluster(host="127.0.0.1", port=self.port, socket_timeout=5)
                except Exception:
                    pass

    def stop(self):
        self.stop_flag.set()
        self.join(30)


def test_kill_master_failover_restart_and_manual_failback():
    nodes = start_nodes(TESSERA_BIN, "tessera-failover", 6)
    try:
        create_cluster(nodes)
        masters = [n for n in nodes if role(n.port) == b"master"]
        victim = masters[0]
        heir = replica_of(nodes, victim)
        wait_for(lambda: redis.Redis(port=heir.port).info("replication")
                 .get("master_link_status") == "up", 20, "replica link up")
        writer = Writer(masters[1].port)
        writer.start()
        wait_for(lambda: len(writer.confirmed) > 300, 30, "confirmed writes before the kill")

        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(timeout=5)
        t0 = time.monotonic()
        wait_for(lambda: role(heir.port) == b"master", 10 * NODE_TIMEOUT / 1000,
                 "the replica to be promoted")
        took = time.monotonic() - t0
        others = [n for n in nodes if n is not victim]
        wait_for(lambda: all(cluster_info(n.port).get("cluster_state") == "ok" for n in others),
                 20, "cluster_state:ok after the failover")
        n_before = len(writer.confirmed)
        # Keys of the promoted master can't be confirmed until it has a replica
        # again; the other two masters keep confirming.
        wait_for(lambda: len(writer.confirmed) > n_before + 100, 30,
                 "writes after the failover (%d tried, last error %r)"
                 % (writer.i, getattr(writer, "last_error", None)))

        # The old master comes back from its nodes.conf as a replica of the winner.
        back = ServerProcess("tessera-failover", TESSERA_BIN, CLUSTER_ARGS, port=victim.port,
                             workdir=victim.dir).start()
        nodes[nodes.index(victim)] = back
        wait_for(lambda: role(back.port) == b"slave", 20, "old master to become a replica")
        wait_for(lambda: redis.Redis(port=back.port).info("replication")
                 .get("master_link_status") == "up", 30, "old master resynced")

        # Manual failover restores the original roles, nothing lost.
        assert redis.Redis(port=back.port).execute_command("CLUSTER", "FAILOVER") in (True, b"OK")
        wait_for(lambda: role(back.port) == b"master" and role(heir.port) == b"slave", 30,
                 "roles restored by CLUSTER FAILOVER")
        wait_for(lambda: all(cluster_info(n.port).get("cluster_state") == "ok" for n in nodes),
                 20, "cluster_state:ok after the failback")
        writer.stop()

        rc = RedisCluster(host="127.0.0.1", port=nodes[1].port, socket_timeout=5)
        missing = [k for k, v in writer.confirmed.items() if rc.get(k) != v.encode()]
        assert not missing, "%d confirmed writes lost, e.g. %s" % (len(missing), missing[:5])
        check_clean(nodes[1].port)
        print("failover took %.2fs; %d confirmed writes all present" % (took, len(writer.confirmed)))
    finally:
        stop_nodes(nodes)
