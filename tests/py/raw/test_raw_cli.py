"""The operator commands of the binary: `sysgate query`, `sysgate tools`, `--version`, usage errors."""

import json
import subprocess

import pytest

from sysgate_rpc import CORE_TOOLS


def sysgate(sysgate_bin, *args, timeout=30):
    return subprocess.run([sysgate_bin, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def query(sysgate_bin, sysgate_config):
    """`sysgate query ...` with the test config (as root it refuses to run without one)."""

    def run(*args):
        return sysgate(sysgate_bin, "query", *args, "--config", sysgate_config)

    return run


def test_query_prints_the_tools_call_result(query):
    p = query("get_uptime")
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout)
    assert res["isError"] is False
    assert res["structuredContent"]["uptime_seconds"] > 0


def test_query_with_args(query):
    p = query("get_processes", "--args", '{"limit": 2, "sort_by": "memory"}')
    assert p.returncode == 0, p.stdout + p.stderr
    res = json.loads(p.stdout)
    lists = [v for v in res["structuredContent"].values() if isinstance(v, list)]
    assert lists and all(len(v) <= 2 for v in lists), res


def test_query_with_bad_args_fails_with_a_tool_error(query):
    p = query("get_uptime", "--args", '{"bogus": 1}')
    assert p.returncode == 1
    res = json.loads(p.stdout)
    assert res["isError"] is True and "bogus" in res["content"][0]["text"]


def test_query_usage_errors(sysgate_bin, sysgate_config):
    cfg = ["--config", sysgate_config]
    for args in (["query", *cfg], ["query", "no_such_tool", *cfg], ["query", "get_uptime", "--args", "{not json", *cfg], ["bogus"]):
        p = sysgate(sysgate_bin, *args)
        assert p.returncode != 0, args
        assert p.stdout == "", args  # errors go to stderr
        assert p.stderr.strip(), args


def test_tools_lists_every_core_tool(sysgate_bin):
    p = sysgate(sysgate_bin, "tools")
    assert p.returncode == 0, p.stderr
    names = [line.split("\t")[0] for line in p.stdout.splitlines()]
    missing = [n for n in CORE_TOOLS if n not in names]
    assert not missing, f"not listed: {missing}"


def test_version(sysgate_bin):
    p = sysgate(sysgate_bin, "--version")
    assert p.returncode == 0
    assert p.stdout.startswith("sysgate ")


def test_docs_tools_md_matches_the_tool_table(sysgate_bin):
    """docs/tools.md is generated; regenerate it with `sysgate tools --markdown > docs/tools.md`."""
    import pathlib

    doc = pathlib.Path(__file__).resolve().parents[3] / "docs" / "tools.md"
    p = sysgate(sysgate_bin, "tools", "--markdown")
    assert p.returncode == 0, p.stderr
    assert doc.read_text() == p.stdout, "docs/tools.md is stale: run `sysgate tools --markdown > docs/tools.md`"
