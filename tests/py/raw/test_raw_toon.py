"""TOON through the real binary: for every tool, the text block asked for with `format: "toon"`
decodes, with the reference implementation (@toon-format/toon, pinned in tests/node), to exactly
the structuredContent of the same response. Fenced results are unwrapped first (the fence is
ours; what is inside it is the TOON document)."""

import json
import os
import pathlib
import subprocess

import pytest

from sysgate_rpc import minimal_args, tool_text

REPO = pathlib.Path(__file__).resolve().parents[3]
CHECK = REPO / "tests" / "toon" / "check.mjs"
MODULE = REPO / "tests" / "node" / "node_modules" / "@toon-format" / "toon" / "dist" / "index.mjs"


def unfence(text: str) -> str:
    lines = text.split("\n")
    if lines[0].startswith("Untrusted data from "):
        assert lines[1].startswith("<untrusted-data nonce="), lines[1]
        assert lines[-1].startswith("</untrusted-data nonce="), lines[-1]
        return "\n".join(lines[2:-1])
    return text


def test_every_tool_renders_toon_that_the_reference_decodes_to_the_json(legacy, tmp_path):
    if not MODULE.exists():
        pytest.fail(f"the TOON reference decoder is missing at {MODULE}: run `npm ci` in tests/node", pytrace=False)
    tools = legacy.result("tools/list")["tools"]
    pairs = []
    sizes = {}
    for t in tools:
        args = {**minimal_args(t["name"]), "format": "toon"}
        if t["name"] == "get_processes":
            args["limit"] = 200  # a long tabular array
        res = legacy.call_tool(t["name"], args)["result"]
        assert res["isError"] is False, res
        toon = unfence(tool_text(res))
        if t["name"] == "get_processes":
            # Identity columns first, the command line last.
            header = next(line for line in toon.splitlines() if line.startswith("processes["))
            columns = header.split("{", 1)[1].split("}", 1)[0].split(",")
            assert columns[:3] == ["pid", "ppid", "name"], header
            assert columns[-1] == "cmdline", header
        pairs.append({"json": res["structuredContent"], "toon": toon})
        as_json = json.dumps(res["structuredContent"], separators=(",", ":"), ensure_ascii=False)
        sizes[t["name"]] = (len(as_json.encode()), len(toon.encode()))
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    # structuredContent reaches Python with its keys in alphabetical order, the TOON text in the
    # display order of src/output/order.rs (checked in tests/toon_reference.rs), so the values are
    # compared here and the key order is not.
    out = subprocess.run(
        ["node", str(CHECK), "--any-key-order", str(path)],
        env={**os.environ, "TOON_MODULE": str(MODULE)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, f"reference decode mismatch:\n{out.stdout}\n{out.stderr}"
    # The size of each rendering, for docs/performance.md (TOON wins on tabular lists and can
    # lose on deeply nested objects, so there is nothing to assert here).
    logs = REPO / "target" / "test-logs"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "toon-sizes.json").write_text(json.dumps(sizes, indent=1, sort_keys=True))
