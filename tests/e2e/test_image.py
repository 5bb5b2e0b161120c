"""
test_image.py — the image itself: size, entrypoint conventions of the official redis image,
non-root server, volume ownership fixed, PID 1 forwarding SIGTERM so `docker stop` is a clean
shutdown within its 10 s, and the AOF on the volume surviving stop/start.

Needs from other rooms: test_aof_survives_stop_and_start needs AOF persistence in the server
(src/persist wired into the build); everything else needs only the standalone server.
"""
import os
import re
from pathlib import Path

import pytest

import dockerkit
from dockerkit import Node, docker, free_port_block, wait_until

ABOVE_BASE_LIMIT = 20 * 1000 * 1000


def _size(ref):
    return int(docker("image", "inspect", "-f", "{{.Size}}", ref).stdout.strip())


def test_layers_above_base_are_small(docker_image):
    above = _size(docker_image) - _size("debian:bookworm-slim")
    hist = docker("history", "--format", "{{.Size}}\t{{.CreatedBy}}", docker_image).stdout
    print("image %s: %d bytes in all, %d above debian:bookworm-slim\n%s"
          % (docker_image, _size(docker_image), above, hist))
    if dockerkit.image() == "tessera-e2e-reference":
        pytest.skip("size budget is for the Tessera image, not the reference")
    assert above <= ABOVE_BASE_LIMIT, "layers above the base take %d bytes (> 20 MB)" % above


def test_entrypoint_aliases(docker_image):
    # First argument an option: it goes to the server. `redis-server` is an alias.
    for args in (["--version"], ["redis-server", "--version"], ["tessera-server", "--version"]):
        cp = docker("run", "--rm", *dockerkit.privileged_args(), docker_image, *args)
        assert re.search(r"server v=\d", cp.stdout), (args, cp.stdout, cp.stderr)
    # Anything else runs as given.
    cp = docker("run", "--rm", docker_image, "sh", "-c", "echo hello-from-sh")
    assert cp.stdout.strip() == "hello-from-sh"


def test_config_file_argument(registry):
    port = free_port_block(1)
    conf_dir = registry.data_dir("conf")
    conf_dir.chmod(0o755)
    (conf_dir / "node.conf").write_text("port %d\nmaxmemory 12mb\n" % port)
    (conf_dir / "node.conf").chmod(0o644)
    node = Node(registry, "conf-file", port, ["/etc/tessera/node.conf"],
                volumes=["%s:/etc/tessera:ro" % conf_dir]).run().wait_up()
    assert node.client().config_get("maxmemory")["maxmemory"] == str(12 * 1024 * 1024)
    assert node.client().config_get("port")["port"] == str(port)
    node.stop()


def test_non_root_volume_owner_umask_protected_mode(registry):
    port = free_port_block(1)
    node = Node(registry, "owner", port, ["--port", port])
    foreign = node.dir / "left-by-another-uid"
    foreign.write_text("x")
    os.chown(foreign, 4321, 4321)
    node.run().wait_up()
    uid, umask, cmd = dockerkit.server_process(node)
    tessera_uid = int(docker("exec", node.name, "id", "-u", "tessera").stdout.strip())
    assert uid == tessera_uid and uid != 0, "server runs as uid %d (%s)" % (uid, cmd)
    assert umask == "0077", "server umask %s" % umask
    assert foreign.stat().st_uid == tessera_uid, "entrypoint did not chown /data content"
    assert node.dir.stat().st_uid == tessera_uid
    # The official image's default: protected-mode off unless asked for.
    assert node.client().config_get("protected-mode")["protected-mode"] == "no"
    node.stop()


def test_protected_mode_kept_when_given(registry):
    port = free_port_block(1)
    node = Node(registry, "protected", port, ["--port", port, "--protected-mode", "yes"]).run().wait_up()
    assert node.client().config_get("protected-mode")["protected-mode"] == "yes"
    node.stop()


def test_docker_stop_is_a_clean_shutdown(registry):
    port = free_port_block(1)
    node = Node(registry, "stop", port, ["--port", port]).run().wait_up()
    node.client().set("k", "v")
    took = node.stop(timeout=10)
    assert not node.running()
    code = node.exit_code()
    log = node.logs()
    assert code == 0, "exit code %d after docker stop (137 = killed after the 10 s)\n%s" % (code, log[-3000:])
    assert took < 8, "docker stop took %.1fs: SIGTERM did not reach the server quickly" % took
    assert "Received SIGTERM scheduling shutdown" in log, log[-3000:]
    assert re.search(r"is now ready to exit, bye bye", log), log[-3000:]


@pytest.mark.needs("persistence")
def test_aof_survives_stop_and_start(registry):
    """NEEDS AOF persistence in the server build (src/persist)."""
    port = free_port_block(1)
    node = Node(registry, "aof", port, ["--port", port, "--appendonly", "yes"]).run().wait_up()
    c = node.client()
    assert c.config_get("appendonly")["appendonly"] == "yes"
    for i in range(200):
        c.set("aof:%d" % i, "v%d" % i)
    c.incrby("aof:counter", 41)
    c.incr("aof:counter")
    c.expire("aof:counter", 3600)
    took = node.stop()
    assert node.exit_code() == 0 and took < 8
    aofdir = Path(node.dir) / "appendonlydir"
    assert (aofdir / "appendonly.aof.manifest").is_file(), (
        "no appendonlydir/appendonly.aof.manifest on the volume after docker stop: %s"
        % sorted(p.name for p in Path(node.dir).rglob("*")))
    incr = [p for p in aofdir.iterdir() if p.name.endswith(".incr.aof")]
    assert incr and any(b"aof:199" in p.read_bytes() for p in incr), "last write not in the AOF"
    node.start().wait_up()
    c = node.client()
    wait_until("the AOF to load", lambda: c.info("persistence").get("loading") == 0, 30)
    assert c.dbsize() == 201
    assert c.get("aof:0") == "v0" and c.get("aof:199") == "v199"
    assert c.get("aof:counter") == "42" and 0 < c.ttl("aof:counter") <= 3600
    node.stop()


@pytest.mark.needs("cluster")
def test_nodes_conf_on_the_volume_after_stop(registry):
    """A cluster node's nodes.conf is on the volume after docker stop, and the node keeps its id."""
    port = free_port_block(1)
    node = Node(registry, "nodes-conf", port,
                ["--cluster-enabled", "yes", "--appendonly", "yes", "--port", port]).run().wait_up()
    myid = node.client().execute_command("CLUSTER", "MYID")
    node.stop()
    assert node.exit_code() == 0
    conf = (Path(node.dir) / "nodes.conf").read_text()
    assert myid in conf and "myself" in conf and "vars currentEpoch" in conf, conf
    node.start().wait_up()
    assert node.client().execute_command("CLUSTER", "MYID") == myid
    node.stop()
