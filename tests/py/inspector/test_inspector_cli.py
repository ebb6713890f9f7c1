"""The MCP Inspector CLI (`@modelcontextprotocol/inspector`, the TypeScript SDK v2 client) against
`sysgate serve`: its strict schema lint passes, and tool calls return structured content."""

import json
import os
import subprocess

import pytest

from sysgate_rpc import CORE_TOOLS, MODERN


def inspector(inspector_bin, serve_cmd, tmp_path, *args, era=None):
    cmd = [inspector_bin, "--cli"]
    if era:
        cmd += ["--protocol-era", era]
    cmd += [*args, "--format", "json", "--", *serve_cmd]
    env = dict(os.environ)
    # Keep the Inspector's catalog out of the user's home directory.
    env["MCP_CATALOG_PATH"] = str(tmp_path / "catalog.json")
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, stdin=subprocess.DEVNULL)
    return p


def parse_result(p) -> dict:
    assert p.returncode == 0, f"inspector exited {p.returncode}\nstdout: {p.stdout[-2000:]}\nstderr: {p.stderr[-2000:]}"
    return json.loads(p.stdout)["result"]


@pytest.mark.parametrize("era", [None, "auto"], ids=["default-legacy", "auto"])
def test_tools_list_strict(inspector_bin, serve_cmd, tmp_path, era):
    p = inspector(inspector_bin, serve_cmd, tmp_path, "--method", "tools/list", "--strict", era=era)
    # Exit 6 means the strict lint found an error-severity schema problem (reported on stderr).
    result = parse_result(p)
    names = [t["name"] for t in result["tools"]]
    missing = [n for n in CORE_TOOLS if n not in names]
    assert not missing, f"core tools not listed: {missing}"


def test_auto_era_speaks_2026_07_28(inspector_bin, serve_cmd, tmp_path):
    """The Inspector prints only `tools`, so record what it sends to see which era it chose."""
    log = tmp_path / "client-to-server.jsonl"
    wrapper = tmp_path / "sysgate-recorded"
    wrapper.write_text(f'#!/bin/sh\ntee "{log}" | exec "{serve_cmd[0]}" "$@"\n')
    wrapper.chmod(0o755)
    p = inspector(inspector_bin, [str(wrapper), *serve_cmd[1:]], tmp_path, "--method", "tools/list", "--strict", era="auto")
    parse_result(p)
    sent = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    methods = [m.get("method") for m in sent]
    assert methods[0] == "server/discover", methods
    assert "initialize" not in methods, f"fell back to the legacy handshake: {methods}"
    (listing,) = [m for m in sent if m.get("method") == "tools/list"]
    assert listing["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == MODERN


@pytest.mark.parametrize("era", [None, "auto"], ids=["default-legacy", "auto"])
def test_tools_call_get_uptime(inspector_bin, serve_cmd, tmp_path, era):
    p = inspector(inspector_bin, serve_cmd, tmp_path, "--method", "tools/call", "--tool-name", "get_uptime", era=era)
    result = parse_result(p)
    assert result.get("isError") is not True, result
    sc = result["structuredContent"]
    assert sc["uptime_seconds"] > 0, sc


def test_tools_call_get_processes_with_limit(inspector_bin, serve_cmd, tmp_path):
    p = inspector(
        inspector_bin, serve_cmd, tmp_path,
        "--method", "tools/call", "--tool-name", "get_processes", "--tool-arg", "limit=3",
    )
    result = parse_result(p)
    assert result.get("isError") is not True, result
    sc = result["structuredContent"]
    # Whatever the list is called, no list in the result is longer than the limit.
    lists = [v for v in sc.values() if isinstance(v, list)]
    assert lists, sc
    assert all(len(v) <= 3 for v in lists), sc


def test_tool_error_exit_code(inspector_bin, serve_cmd, tmp_path):
    p = inspector(
        inspector_bin, serve_cmd, tmp_path,
        "--method", "tools/call", "--tool-name", "get_uptime", "--tool-arg", "bogus=1",
    )
    # 5 = the tool answered isError (the Inspector's documented exit code).
    assert p.returncode == 5, (p.returncode, p.stdout[-500:], p.stderr[-500:])
