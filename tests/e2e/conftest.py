"""
conftest.py — session setup for the container tests (tests/e2e).

Owns: making sure a Docker engine answers and the image under test exists, once per session:
  - default: `make docker` (starts dockerd if needed via tools/docker-engine.sh, builds the
    debian:bookworm-slim base locally when no registry provides it, builds the image `tessera`);
  - TESSERA_E2E_REFERENCE=1: builds tests/e2e/reference.Dockerfile (Debian's redis-server 7.0
    behind the same entrypoint) and runs every test against it — this checks the tests themselves;
  - TESSERA_E2E_NO_BUILD=1: use the existing image as it is (TESSERA_E2E_IMAGE, default tessera).
Also: the `registry` fixture (containers and data directories removed at the end of each test
module, by name), and `incremental` steps: in a module marked `incremental`, a step after a failed
step FAILS at once naming the step that broke (never a silent skip).

Must not: pass or skip quietly when no engine can be started — every test then fails with the
reason; start or stop any container it did not create.
"""
import os
import subprocess
import sys

import pytest

import dockerkit

REFERENCE = os.environ.get("TESSERA_E2E_REFERENCE") == "1"
NO_BUILD = os.environ.get("TESSERA_E2E_NO_BUILD") == "1"
BUILD_TIMEOUT = 1800

if REFERENCE:
    os.environ.setdefault("TESSERA_E2E_IMAGE", "tessera-e2e-reference")


def pytest_configure(config):
    config.addinivalue_line("markers", "incremental: steps of one walkthrough; a step after a "
                                       "failed step fails immediately")
    config.addinivalue_line("markers", "needs(what): the assertions need another room's work "
                                       "(cluster, replication, persistence); they fail until it lands")


def _sh(cmd, timeout):
    """Run a setup command, streaming nothing; returns (rc, combined output tail)."""
    try:
        cp = subprocess.run(cmd, cwd=dockerkit.REPO, capture_output=True, text=True,
                            timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return 124, "timed out after %ss\n%s%s" % (timeout, e.stdout or "", e.stderr or "")
    return cp.returncode, (cp.stdout + cp.stderr)[-6000:]


def _loud(msg):
    bar = "!" * 78
    sys.stderr.write("\n%s\n%s\n%s\n" % (bar, msg, bar))
    sys.stderr.flush()


@pytest.fixture(scope="session")
def docker_image():
    """Name of the image under test, built once per session; fails every test loudly when no
    Docker engine can be started or the image cannot be built."""
    rc, out = _sh(["bash", "tools/docker-engine.sh", "start"], 120)
    if rc != 0:
        msg = ("E2E FAILED: no Docker engine could be started (tools/docker-engine.sh start, exit %d).\n"
               "These tests need one: install Debian's docker.io and run as root, or start dockerd.\n%s"
               % (rc, out))
        _loud(msg)
        pytest.fail(msg, pytrace=False)
    img = dockerkit.image()
    if NO_BUILD:
        steps = []
    elif REFERENCE:
        steps = [["bash", "tools/docker-base-image.sh"],
                 ["docker", "build", "--network", "host", "-f", "tests/e2e/reference.Dockerfile",
                  "-t", img, "tools/docker"]]
    else:
        steps = [["make", "docker", "DOCKER_IMAGE=%s" % img]]
    for cmd in steps:
        rc, out = _sh(cmd, BUILD_TIMEOUT)
        if rc != 0:
            msg = "E2E FAILED: building the image failed: %s (exit %d)\n%s" % (" ".join(cmd), rc, out)
            _loud(msg)
            pytest.fail(msg, pytrace=False)
    rc, out = _sh(["docker", "image", "inspect", img], 60)
    if rc != 0:
        msg = "E2E FAILED: image %s is not there after the build\n%s" % (img, out)
        _loud(msg)
        pytest.fail(msg, pytrace=False)
    return img


@pytest.fixture(scope="module")
def registry(docker_image):
    """Containers and data directories of one test module; removed (by name) at its end."""
    reg = dockerkit.Registry()
    yield reg
    errors = reg.cleanup()
    assert not errors, "cleanup failed: %s" % errors


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if "incremental" in item.keywords and rep.failed and not hasattr(item.parent, "_e2e_broken"):
        item.parent._e2e_broken = item.name


def pytest_runtest_setup(item):
    if "incremental" in item.keywords:
        broken = getattr(item.parent, "_e2e_broken", None)
        if broken is not None:
            pytest.fail("not run: the earlier step %s failed" % broken, pytrace=False)
