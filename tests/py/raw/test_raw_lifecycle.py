"""The MCP lifecycle of both eras, byte for byte: legacy `initialize` negotiation, requests
before the handshake, unknown methods, and the stateless 2026-07-28 era (`server/discover`,
per-request `_meta`, `resultType`, `ttlMs`/`cacheScope`, error -32022)."""

import pytest

from sysgate_rpc import LEGACY_VERSIONS, META_SERVER_INFO, META_VERSION, MODERN, modern_meta, same_id

INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
UNSUPPORTED_VERSION = -32022


# -- legacy era ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["tools/list", "tools/call"])
def test_request_before_initialize_is_invalid_request(raw, method):
    params = {"name": "get_uptime", "arguments": {}} if method == "tools/call" else None
    resp = raw.request(method, params)
    assert "error" in resp, resp
    assert resp["error"]["code"] == INVALID_REQUEST, resp
    # The handshake still works afterwards, and then the same request succeeds.
    raw.initialize()
    assert "result" in raw.request(method, params)


def test_unknown_method_is_method_not_found(legacy):
    for method in ["nope", "resources/list", "prompts/list", "tools/delete", "x" * 300]:
        msg = legacy.request_msg(method)
        legacy.send(msg)
        resp = legacy.response(msg["id"])
        assert resp["error"]["code"] == METHOD_NOT_FOUND, resp
    legacy.assert_alive()


def test_string_ids_are_echoed(legacy):
    resp = legacy.request("ping", id="abc-1")
    assert same_id(resp["id"], "abc-1") and resp["result"] == {}


def test_initialize_counter_offers_newest_version(raw):
    res = raw.initialize("1999-01-01")
    assert res["protocolVersion"] == "2025-11-25"


@pytest.mark.parametrize("version", LEGACY_VERSIONS)
def test_initialize_echoes_each_supported_legacy_version(raw, version):
    res = raw.initialize(version)
    assert res["protocolVersion"] == version
    assert isinstance(res["capabilities"].get("tools"), dict), res
    assert res["serverInfo"]["name"] == "sysgate"
    assert isinstance(res["serverInfo"]["version"], str)
    # The session is usable at the negotiated version.
    raw.assert_alive()


def test_legacy_results_carry_no_modern_fields(legacy):
    res = legacy.result("tools/list")
    for key in ("resultType", "ttlMs", "cacheScope"):
        assert key not in res, f"legacy tools/list must not carry {key}: {sorted(res)}"
    call = legacy.result("tools/call", {"name": "get_uptime", "arguments": {}})
    assert "resultType" not in call


def test_initialize_stamped_with_modern_meta_is_still_legacy(raw):
    # Clients stamp the envelope on every request, initialize included; it selects legacy anyway.
    res = raw.result(
        "initialize",
        {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "0"},
            "_meta": modern_meta(),
        },
    )
    assert res["protocolVersion"] == "2025-11-25"


# -- modern era (2026-07-28) --------------------------------------------------------------------


def discover(session) -> dict:
    return session.result("server/discover", {"_meta": modern_meta()})


def test_server_discover(raw):
    res = discover(raw)
    assert res["supportedVersions"] == [MODERN]
    assert isinstance(res["capabilities"].get("tools"), dict), res
    assert res["resultType"] == "complete"
    assert type(res["ttlMs"]) is int and res["ttlMs"] >= 0, res
    assert res["cacheScope"] in ("public", "private")
    info = res["_meta"][META_SERVER_INFO]
    assert info["name"] == "sysgate" and isinstance(info["version"], str)


def test_modern_requests_need_no_handshake(raw):
    res = raw.result("tools/list", {"_meta": modern_meta()})
    names = [t["name"] for t in res["tools"]]
    assert "get_uptime" in names
    assert res["resultType"] == "complete"
    assert type(res["ttlMs"]) is int and res["ttlMs"] >= 0, res
    assert res["cacheScope"] in ("public", "private")
    assert res["_meta"][META_SERVER_INFO]["name"] == "sysgate"

    call = raw.result("tools/call", {"name": "get_uptime", "arguments": {}, "_meta": modern_meta()})
    assert call["resultType"] == "complete"
    assert call["isError"] is False
    assert call["structuredContent"]["uptime_seconds"] > 0


def test_modern_request_without_client_capabilities_is_invalid_params(raw):
    meta = modern_meta()
    del meta["io.modelcontextprotocol/clientCapabilities"]
    err = raw.error("tools/list", {"_meta": meta})
    assert err["code"] == INVALID_PARAMS, err
    assert "clientCapabilities" in err["message"]
    raw.assert_alive(legacy=False)


def test_modern_request_with_non_string_version_is_invalid_params(raw):
    err = raw.error("tools/list", {"_meta": modern_meta(**{META_VERSION: 20260728})})
    assert err["code"] == INVALID_PARAMS, err


@pytest.mark.parametrize("method", ["tools/list", "server/discover", "tools/call"])
def test_unsupported_modern_version_names_the_supported_ones(raw, method):
    supported = discover(raw)["supportedVersions"]
    params = {"_meta": modern_meta(**{META_VERSION: "2099-01-01"})}
    if method == "tools/call":
        params.update(name="get_uptime", arguments={})
    err = raw.error(method, params)
    assert err["code"] == UNSUPPORTED_VERSION, err
    assert err["data"]["supported"] == supported
    assert err["data"]["requested"] == "2099-01-01"
    raw.assert_alive(legacy=False)


@pytest.mark.parametrize("method", ["ping", "logging/setLevel", "nope"])
def test_removed_or_unknown_methods_in_the_modern_era(raw, method):
    err = raw.error(method, {"_meta": modern_meta()})
    assert err["code"] == METHOD_NOT_FOUND, err


def test_both_eras_on_one_connection(raw):
    # A client that probed discover and then fell back to initialize (or the other way round).
    discover(raw)
    raw.initialize()
    raw.assert_alive(legacy=True)
    raw.assert_alive(legacy=False)
