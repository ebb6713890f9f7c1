"""`get_sbom` through the real binary and the real Python `mcp` 1.x client, validated against
the official CycloneDX 1.5 JSON schema as shipped in the `cyclonedx-python-lib` package (with the
SPDX and JSF schemas it references, resolved offline), and its purls parsed back with
`packageurl-python`, the purl specification's reference implementation."""

import asyncio
import importlib.metadata
import json
import os
import pathlib
import shutil
import subprocess

import jsonschema
import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.schema._res import BOM_JSON
from cyclonedx.validation.json import JsonStrictValidator
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from packageurl import PackageURL
from referencing import Registry, Resource

if not importlib.metadata.version("mcp").startswith("1."):
    pytest.fail("tests/py/v1 needs mcp 1.x (the .venv/mcp1 venv)", pytrace=False)

BOM_SCHEMA = pathlib.Path(BOM_JSON[SchemaVersion.V1_5])
BASE = "http://cyclonedx.org/schema/"


def cyclonedx_validator():
    """A Draft 7 validator of bom-1.5 whose `$ref`s to the SPDX and JSF schemas resolve to the
    copies beside it in the package (never over the network)."""
    schema = json.loads(BOM_SCHEMA.read_text())
    assert schema["$id"] == BASE + "bom-1.5.schema.json"
    resources = []
    for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json"):
        contents = json.loads((BOM_SCHEMA.parent / name).read_text())
        resources.append((BASE + name, Resource.from_contents(contents)))
    registry = Registry().with_resources(resources)
    return jsonschema.Draft7Validator(
        schema, registry=registry, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


def call(serve_cmd, calls, timeout=60):
    """Run each (tool, arguments) in one session; return the results."""

    async def main():
        params = StdioServerParameters(command=serve_cmd[0], args=serve_cmd[1:])
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return [await session.call_tool(name, args) for name, args in calls]

    return asyncio.run(asyncio.wait_for(main(), timeout))


def bom_of(res):
    assert not res.isError, res.content
    return res.structuredContent


def test_get_sbom_is_valid_cyclonedx_1_5(serve_cmd):
    whole, page = call(serve_cmd, [("get_sbom", {}), ("get_sbom", {"limit": 1, "offset": 1})])
    validator = cyclonedx_validator()
    for result in (bom_of(whole), bom_of(page)):
        bom = result["bom"]
        errors = sorted(validator.iter_errors(bom), key=lambda e: list(e.path))
        assert not errors, f"{errors[0].message} at {list(errors[0].path)}"
        # The library's own strict validator agrees.
        problem = JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(bom))
        assert problem is None, problem
        assert bom["bomFormat"] == "CycloneDX" and bom["specVersion"] == "1.5"
        assert bom["serialNumber"].startswith("urn:uuid:")
        assert bom["metadata"]["tools"]["components"][0]["name"] == "sysgate"
        refs = [c["bom-ref"] for c in bom["components"]]
        assert len(refs) == len(set(refs)), "bom-refs must be unique"
    assert bom_of(whole)["bom"]["serialNumber"] != bom_of(page)["bom"]["serialNumber"]
    # The validator is live: a broken copy fails it (an unknown component type, a bad serial).
    broken = json.loads(json.dumps(bom_of(whole)["bom"]))
    broken["components"][0]["type"] = "nonsense"
    broken["serialNumber"] = "urn:uuid:not-a-uuid"
    assert len(list(validator.iter_errors(broken))) == 2
    # Paging is explicit: the second document is one component, and says it is incomplete.
    p = bom_of(page)
    assert p["listed"] == 1 and p["complete"] is False
    assert p["bom"]["compositions"][0]["aggregate"] == "incomplete"
    assert any("next page starts at offset 2" in r for r in p["incomplete_reasons"]), p


def test_purls_are_canonical_and_name_their_component(serve_cmd):
    (res,) = call(serve_cmd, [("get_sbom", {})])
    result = bom_of(res)
    manager = result["manager"]
    purl_type = {"dpkg": "deb", "apk": "apk", "rpm": "rpm"}[manager]
    os_release = {}
    for line in pathlib.Path("/etc/os-release").read_text().splitlines():
        key, _, value = line.partition("=")
        os_release[key] = value.strip('"')
    components = result["bom"]["components"]
    assert components
    for c in components:
        p = PackageURL.from_string(c["purl"])
        # What the reference implementation writes back is exactly what we wrote.
        assert p.to_string() == c["purl"], c
        assert p.type == purl_type
        assert p.namespace == os_release["ID"]
        assert p.name == (c["name"].lower() if purl_type == "apk" else c["name"])
        assert p.version == c["version"], c
        assert p.qualifiers["distro"] == f'{os_release["ID"]}-{os_release["VERSION_ID"]}'
        assert p.qualifiers["arch"]


@pytest.mark.skipif(not shutil.which("dpkg-query") or not os.path.isfile("/var/lib/dpkg/status"),
                    reason="no dpkg on this machine")
def test_components_are_what_dpkg_query_lists(serve_cmd):
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"],
        check=True, capture_output=True, text=True,
    ).stdout
    want = sorted(
        (name, version)
        for name, version, abbrev in (line.split("\t") for line in out.splitlines())
        if abbrev.strip()[1:2] == "i" and abbrev.strip()[2:3] in ("", " ")
    )
    got = []
    offset = 0
    while True:
        (res,) = call(serve_cmd, [("get_sbom", {"offset": offset})])
        result = bom_of(res)
        got += [(c["name"], c["version"]) for c in result["bom"]["components"]]
        offset += result["listed"]
        if offset >= result["total"] or result["listed"] == 0:
            break
    assert sorted(got) == want
