"""The real Python `mcp` 1.x client (legacy `initialize` handshake) against `sysgate serve`."""

import asyncio
import importlib.metadata

import jsonschema
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from sysgate_rpc import CORE_TOOLS, minimal_args, tool_text

if not importlib.metadata.version("mcp").startswith("1."):
    pytest.fail("tests/py/v1 needs mcp 1.x (the .venv/mcp1 venv)", pytrace=False)

HINTS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
META = jsonschema.Draft202012Validator(jsonschema.Draft202012Validator.META_SCHEMA)


def patterns(schema, path="#"):
    """Every `pattern` in a schema, with where it is."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "pattern" and isinstance(value, str):
                yield path, value
            else:
                yield from patterns(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from patterns(value, f"{path}/{i}")


def run(serve_cmd, body, timeout=60):
    """Connect with ClientSession, run `body(session, init_result)`, return what it returns."""

    async def main():
        params = StdioServerParameters(command=serve_cmd[0], args=serve_cmd[1:])
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                return await body(session, init)

    return asyncio.run(asyncio.wait_for(main(), timeout))


def test_initialize_negotiates_2025_11_25(serve_cmd):
    async def body(session, init):
        return init

    init = run(serve_cmd, body)
    assert init.protocolVersion == "2025-11-25"
    assert init.serverInfo.name == "sysgate"
    assert init.capabilities.tools is not None


def test_tools_list_is_complete_and_well_formed(serve_cmd):
    async def body(session, init):
        return await session.list_tools()

    tools = run(serve_cmd, body).tools
    names = [t.name for t in tools]
    assert len(names) == len(set(names)), names
    missing = [n for n in CORE_TOOLS if n not in names]
    assert not missing, f"core tools not listed: {missing} (listed: {names})"
    for t in tools:
        assert t.name and t.title and t.description, t
        assert t.inputSchema.get("type") == "object", t.name
        assert t.inputSchema.get("additionalProperties") is False, t.name
        assert t.outputSchema, f"{t.name} has no outputSchema"
        assert t.outputSchema.get("type") == "object", t.name
        for schema in (t.inputSchema, t.outputSchema):
            # Structure only: `pattern` dialects are checked in the test below.
            META.validate(schema)
        assert t.annotations is not None, t.name
        for hint in HINTS:
            value = getattr(t.annotations, hint)
            assert isinstance(value, bool), f"{t.name}: {hint} must be set explicitly, got {value!r}"


def test_schema_patterns_are_portable(serve_cmd):
    """A client may check arguments with its own regex engine before calling. JSON Schema says
    ECMA-262; Python's `re` (the `jsonschema` package) and JS `RegExp` without the `u` flag do
    not know `\\p{...}` classes (JS reads `[^\\p{Cc}]` as "not p, {, C, c or }"). A pattern
    must mean the same thing everywhere, so it must compile in Python's `re` too."""
    import re

    async def body(session, init):
        return await session.list_tools()

    bad = []
    for t in run(serve_cmd, body).tools:
        for where, p in [*patterns(t.inputSchema, "inputSchema"), *patterns(t.outputSchema, "outputSchema")]:
            try:
                re.compile(p)
            except re.error as e:
                bad.append(f"{t.name} {where}: {p!r}: {e}")
    assert not bad, "\n".join(bad)


def test_every_tool_called_with_no_arguments_validates(serve_cmd):
    async def body(session, init):
        tools = (await session.list_tools()).tools
        out = []
        for t in tools:
            out.append((t, await session.call_tool(t.name, minimal_args(t.name))))
        return out

    results = run(serve_cmd, body, timeout=120)
    assert results
    failures = []
    for tool, res in results:
        if res.isError:
            failures.append(f"{tool.name}: isError: {tool_text(res.model_dump())}")
            continue
        assert res.structuredContent is not None, tool.name
        errors = sorted(
            jsonschema.Draft202012Validator(tool.outputSchema).iter_errors(res.structuredContent),
            key=lambda e: e.path,
        )
        if errors:
            failures.append(f"{tool.name}: {errors[0].message} at {list(errors[0].path)}")
        # The one text block renders the same data.
        assert [c.type for c in res.content] == ["text"], tool.name
        assert res.content[0].text.strip(), tool.name
    assert not failures, "\n".join(failures)


def test_wrong_type_argument_is_a_tool_error_naming_it(serve_cmd):
    async def body(session, init):
        return await session.call_tool("get_processes", {"limit": "x"})

    res = run(serve_cmd, body)
    assert res.isError is True
    text = tool_text(res.model_dump())
    assert "limit" in text and "integer" in text, text
