"""Shared fixtures: where the sysgate binary and the Inspector CLI are, the config every test
server runs with, and a raw line session.

Every test drives the real release binary (`SYSGATE_BIN`, set by scripts/test.sh). Nothing is
mocked: if the binary or a client tool is missing the tests fail with a message saying so,
instead of being skipped.
"""

import os
import pathlib

import pytest

from sysgate_rpc import LineSession

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sysgate_bin() -> str:
    path = os.environ.get("SYSGATE_BIN") or str(REPO / "target" / "release" / "sysgate")
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"sysgate binary not found at {path}: run `cargo build --release` or set SYSGATE_BIN",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def inspector_bin() -> str:
    path = os.environ.get("SYSGATE_INSPECTOR") or str(
        REPO / "tests" / "node" / "node_modules" / ".bin" / "mcp-inspector"
    )
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"MCP Inspector not found at {path}: run `npm ci` in tests/node (scripts/test.sh does)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def sysgate_config(tmp_path_factory) -> str:
    """An explicit config, so a /etc/sysgate/config.yaml on the machine cannot change what is
    tested. sysgate refuses to run as root unless the config allows it, and CI runs as root."""
    d = tmp_path_factory.mktemp("sysgate-config")
    d.chmod(0o700)
    path = d / "config.yaml"
    text = "# written by tests/py/conftest.py; everything else is the built-in defaults\n"
    if os.geteuid() == 0:
        text += "allow_root: true\n"
    path.write_text(text)
    path.chmod(0o600)  # sysgate refuses a config others can write or read
    return str(path)


@pytest.fixture(scope="session")
def serve_cmd(sysgate_bin, sysgate_config) -> list[str]:
    """The command line of a stdio server under test."""
    return [sysgate_bin, "serve", "--config", sysgate_config]


@pytest.fixture
def raw(serve_cmd):
    """A fresh `sysgate serve` over pipes. On teardown: every stdout line was JSON, and the
    process exits 0 once its stdin is closed."""
    s = LineSession(serve_cmd)
    try:
        yield s
    finally:
        code = s.close()
    assert not s.non_json_lines, f"stdout lines that are not one JSON object each: {s.non_json_lines[:3]!r}"
    assert code == 0, f"sysgate exited with {code} after EOF; stderr: {s.stderr_text()[-2000:]}"


@pytest.fixture
def legacy(raw):
    """A raw session after the legacy handshake (2025-11-25)."""
    raw.initialize()
    return raw
