"""The real Python `mcp` 1.x client reaching `sysgate serve` on its Unix socket, through `socat`
(the generic bridge: `socat - UNIX-CONNECT:PATH`) and through `sysgate connect` (what
`ssh host sysgate connect` runs). One server, several sessions; the kernel names each peer."""

import asyncio
import os
import pathlib
import shutil
import subprocess
import time

import jsonschema
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


@pytest.fixture
def unix_server(tmp_path, sysgate_bin):
    tmp_path.chmod(0o700)
    sock = tmp_path / "s.sock"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        ("allow_root: true\n" if os.geteuid() == 0 else "")
        + f"transport: unix\nunix:\n  path: {sock}\n  peers:\n"
        + f"    - uid: {os.geteuid()}\n      scopes: [readonly]\n"
    )
    cfg.chmod(0o600)
    proc = subprocess.Popen([sysgate_bin, "serve", "--config", str(cfg)],
                            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while not sock.exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline, "no socket"
        time.sleep(0.02)
    yield sock
    proc.terminate()
    proc.wait(timeout=10)


def session(command, args, body):
    async def main():
        params = StdioServerParameters(command=command, args=args)
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                init = await s.initialize()
                return await body(s, init)

    return asyncio.run(asyncio.wait_for(main(), 60))


async def list_and_call(s, init):
    tools = (await s.list_tools()).tools
    who = await s.call_tool("whoami", {})
    mem = await s.call_tool("get_memory_info", {})
    return init, tools, who, mem


def check(result):
    init, tools, who, mem = result
    assert init.protocolVersion == "2025-11-25"
    names = {t.name for t in tools}
    assert {"whoami", "get_memory_info", "get_processes"} <= names
    assert not who.isError and not mem.isError
    ident = who.structuredContent["identity"]
    assert ident.startswith(f"unix:uid={os.geteuid()}("), ident
    assert ",pid=" in ident
    schema = next(t for t in tools if t.name == "get_memory_info").outputSchema
    jsonschema.validate(mem.structuredContent, schema)
    return ident


def test_mcp_client_through_socat(unix_server):
    socat = shutil.which("socat")
    assert socat, "socat is needed (scripts/test.sh installs it)"
    check(session(socat, ["-", f"UNIX-CONNECT:{unix_server}"], list_and_call))


def test_mcp_client_through_sysgate_connect_and_two_sessions_are_two_peers(unix_server, sysgate_bin):
    a = check(session(sysgate_bin, ["connect", "--socket", str(unix_server)], list_and_call))
    b = check(session(sysgate_bin, ["connect", "--socket", str(unix_server)], list_and_call))
    # Each relay is its own process, so the kernel reports a different pid for each.
    assert a != b
