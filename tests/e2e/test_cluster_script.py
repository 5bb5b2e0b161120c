"""
test_cluster_script.py — tools/docker-cluster.sh up|status|purge on a random block of free ports:
six containers, `redis-cli --cluster create --cluster-replicas 1`, cluster_state:ok everywhere,
then everything it made is removed. Needs cluster mode in the server (not replication).
"""
import os

import dockerkit
from dockerkit import REPO, cli, free_port_block, run, wait_until

NAME_PREFIX = dockerkit.PREFIX + "script-node-"


def test_up_status_purge(registry):
    base = free_port_block(6)
    data = registry.data_dir("script")
    registry.containers += [NAME_PREFIX + str(n) for n in range(1, 7)]  # removed even if we fail
    env = dict(os.environ, TESSERA_IMAGE=dockerkit.image(), TESSERA_DATA_DIR=str(data),
               TESSERA_FIRST_PORT=str(base), TESSERA_NAME_PREFIX=NAME_PREFIX)
    script = str(REPO / "tools" / "docker-cluster.sh")
    run(["bash", script, "up"], timeout=300, env=env)
    ports = range(base, base + 6)
    for p in ports:
        assert "cluster_state:ok" in cli(p, "cluster", "info")
    assert cli(base, "set", "k1", "v1", cluster=True) == "OK"
    assert cli(base + 1, "get", "k1", cluster=True) == "v1"
    st = run(["bash", script, "status"], timeout=60, env=env)
    assert "[OK] All 16384 slots covered." in st.stdout, st.stdout
    # `up` again is harmless: everything is already there.
    again = run(["bash", script, "up"], timeout=120, env=env)
    assert "cluster already created" in again.stderr, again.stderr
    run(["bash", script, "purge"], timeout=120, env=env)
    for n in range(1, 7):
        assert not dockerkit.container_exists(NAME_PREFIX + str(n))
        assert not (data / ("node-%d" % n)).exists()
    wait_until("the ports to be free after purge",
               lambda: all(dockerkit.port_free(p) for p in ports), 30)
