"""Shared fixtures: where the sysgate binary and the Inspector CLI are, and a raw line session.

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


@pytest.fixture
def raw(sysgate_bin):
    """A fresh `sysgate serve` over pipes. On teardown: every stdout line was JSON, and the
    process exits 0 once its stdin is closed."""
    s = LineSession(sysgate_bin)
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
