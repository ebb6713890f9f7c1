"""`scripts/run.sh`, the README's run command, as root: it drops to an unprivileged user, checks
that this user can read the config the server will load, and keeps its own settings out of the
server's environment."""

import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
RUN = REPO / "scripts" / "run.sh"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="run.sh drops privileges only as root")

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}


@pytest.fixture
def open_dir():
    """A directory any user can traverse (pytest's own tmp_path sits under a 0700 directory)."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="sysgate-run-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d)


def run_script(args, env_extra, stdin_text="", timeout=600):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYSGATE_")}
    env.update(env_extra)
    return subprocess.run(
        ["bash", str(RUN), *args], input=stdin_text, capture_output=True, text=True, timeout=timeout, env=env
    )


def test_a_config_the_user_cannot_read_is_named_before_the_server_starts(open_dir):
    cfg = open_dir / "config.yaml"
    cfg.write_text("log_level: info\n")
    cfg.chmod(0o600)  # root's: `nobody` cannot read it
    p = run_script(["--config", str(cfg)], {"SYSGATE_RUN_AS": "nobody"})
    assert p.returncode != 0
    assert f"user nobody cannot read the config {cfg}" in p.stderr, p.stderr[-2000:]
    assert p.stdout == ""


def test_serves_as_the_dropped_user_without_a_warning_about_its_own_setting(open_dir):
    cfg = open_dir / "config.yaml"
    cfg.write_text("log_level: debug\n")
    cfg.chmod(0o600)
    os.chown(cfg, 65534, 65534)  # nobody's own file, as an operator would install it for that user
    p = run_script(["--config", str(cfg)], {"SYSGATE_RUN_AS": "nobody"}, json.dumps(INIT) + "\n")
    assert p.returncode == 0, p.stderr[-2000:]
    answer = json.loads(p.stdout.splitlines()[0])
    assert answer["result"]["serverInfo"]["name"] == "sysgate"
    assert "starting sysgate as user nobody" in p.stderr
    assert "SYSGATE_RUN_AS" not in p.stderr.replace("SYSGATE_RUN_AS=root to keep root", ""), p.stderr[-2000:]
