"""The real Python `mcp` 2.x client against `sysgate serve`: `auto` mode must settle on the
stateless 2026-07-28 era (it probes `server/discover` first); `legacy` mode must work too."""

import asyncio
import importlib.metadata

import jsonschema
import pytest
from mcp import Client, StdioServerParameters

from sysgate_rpc import CORE_TOOLS, MODERN, minimal_args

if not importlib.metadata.version("mcp").startswith("2."):
    pytest.fail("tests/py/v2 needs mcp 2.x (the .venv/mcp2 venv)", pytrace=False)


def run(serve_cmd, mode, body, timeout=120):
    async def main():
        params = StdioServerParameters(command=serve_cmd[0], args=serve_cmd[1:])
        async with Client(params, mode=mode) as client:
            return await body(client)

    return asyncio.run(asyncio.wait_for(main(), timeout))


async def call_everything(client):
    listing = await client.list_tools(cache_mode="refresh")
    calls = [(t, await client.call_tool(t.name, minimal_args(t.name))) for t in listing.tools]
    return client.protocol_version, client.server_info, listing, calls


def check_calls(calls):
    failures = []
    for tool, res in calls:
        if res.is_error:
            failures.append(f"{tool.name}: isError: {[c.text for c in res.content]}")
            continue
        assert res.structured_content is not None, tool.name
        v = jsonschema.Draft202012Validator(tool.output_schema)
        errors = list(v.iter_errors(res.structured_content))
        if errors:
            failures.append(f"{tool.name}: {errors[0].message} at {list(errors[0].path)}")
    assert not failures, "\n".join(failures)


def test_auto_mode_negotiates_the_modern_era(serve_cmd):
    version, info, listing, calls = run(serve_cmd, "auto", call_everything)
    assert version == MODERN
    assert info is not None and info.name == "sysgate"
    assert isinstance(listing.ttl_ms, int) and listing.ttl_ms >= 0, listing
    assert listing.cache_scope in ("public", "private"), listing
    names = [t.name for t in listing.tools]
    missing = [n for n in CORE_TOOLS if n not in names]
    assert not missing, f"core tools not listed: {missing} (listed: {names})"
    for t in listing.tools:
        assert t.input_schema.get("additionalProperties") is False, t.name
        assert t.output_schema, t.name
    check_calls(calls)


def test_pinned_modern_mode_works(serve_cmd):
    version, _, listing, calls = run(serve_cmd, MODERN, call_everything)
    assert version == MODERN
    check_calls(calls)


def test_legacy_mode_works(serve_cmd):
    version, info, listing, calls = run(serve_cmd, "legacy", call_everything)
    assert version == "2025-11-25"
    assert info is not None and info.name == "sysgate"
    assert [t.name for t in listing.tools] == [t.name for t, _ in calls]
    check_calls(calls)


def test_wrong_type_argument_is_a_tool_error(serve_cmd):
    async def body(client):
        return await client.call_tool("get_processes", {"limit": "x"})

    res = run(serve_cmd, "auto", body)
    assert res.is_error is True
    text = " ".join(getattr(c, "text", "") for c in res.content)
    assert "limit" in text, text
