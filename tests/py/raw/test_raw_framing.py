"""Framing abuse through the real binary: every bad line gets its specified JSON-RPC error with
`id: null`, the bad line is never executed, and the session keeps answering afterwards."""

import subprocess
import time

import pytest

from sysgate_rpc import LineSession, same_id

PARSE_ERROR = -32700
INVALID_REQUEST = -32600


@pytest.mark.parametrize(
    "line",
    [
        b"{not json",
        b'{"jsonrpc":"2.0","id":7,"method":"ping"',  # truncated
        b"garbage",
        b'{"jsonrpc":"2.0","id":7,"method":"ping",}',  # trailing comma
    ],
    ids=["brace", "truncated", "bare-word", "trailing-comma"],
)
def test_malformed_json_gets_parse_error_and_session_continues(legacy, line):
    legacy.send_raw(line + b"\n")
    err = legacy.null_id_error()
    assert err["code"] == PARSE_ERROR, err
    assert isinstance(err.get("message"), str) and err["message"]
    legacy.assert_alive()
    # The broken request was not executed under its id.
    assert not legacy.quiet_for(lambda m: same_id(m.get("id"), 7), 0.2)


@pytest.mark.parametrize(
    "line",
    [
        b'{"jsonrpc":"2.0","id":8,"method":"ping","params":{"x":"\xff\xfe"}}',
        b'{"jsonrpc":"2.0","id":8,"method":"tools/list","params":{"\xc3\x28":1}}',
        b"\xff\xfe\xfd",
    ],
    ids=["in-string", "in-key", "bare-bytes"],
)
def test_invalid_utf8_gets_parse_error(legacy, line):
    legacy.send_raw(line + b"\n")
    err = legacy.null_id_error()
    assert err["code"] == PARSE_ERROR, err
    legacy.assert_alive()
    assert not legacy.quiet_for(lambda m: same_id(m.get("id"), 8), 0.2)


def test_five_mib_line_is_refused_and_session_continues(legacy):
    pad = b"a" * (5 * 1024 * 1024)
    legacy.send_raw(b'{"jsonrpc":"2.0","id":9,"method":"ping","params":{"pad":"' + pad + b'"}}\n')
    err = legacy.null_id_error(timeout=20)
    assert err["code"] == INVALID_REQUEST, err
    legacy.assert_alive()
    # The oversize request was discarded, not answered.
    assert not legacy.quiet_for(lambda m: same_id(m.get("id"), 9), 0.2)
    # And it can happen again without the session degrading.
    legacy.send_raw(b"[" + pad + b"\n")
    assert legacy.null_id_error(timeout=20)["code"] == INVALID_REQUEST
    legacy.assert_alive()


def test_nesting_depth_10000_is_refused(legacy):
    depth = 10_000
    deep = b"[" * depth + b"]" * depth
    legacy.send_raw(b'{"jsonrpc":"2.0","id":10,"method":"ping","params":{"deep":' + deep + b"}}\n")
    resp = legacy.take(lambda m: "error" in m, timeout=10, what="error for the deep message")
    assert resp["error"]["code"] == INVALID_REQUEST, resp
    assert resp["id"] is None or same_id(resp["id"], 10), resp
    legacy.assert_alive()
    # Also as a bare document (no object around it).
    legacy.send_raw(b"{" + b'"a":{' * depth + b"}" * (depth + 1) + b"\n")
    assert legacy.null_id_error()["code"] == INVALID_REQUEST
    legacy.assert_alive()


def test_batch_array_is_refused_and_not_executed(legacy):
    legacy.send(
        [
            {"jsonrpc": "2.0", "id": 21, "method": "ping"},
            {"jsonrpc": "2.0", "id": 22, "method": "tools/list"},
        ]
    )
    err = legacy.null_id_error()
    assert err["code"] == INVALID_REQUEST, err
    # One error for the whole batch; none of its members ran.
    assert not legacy.quiet_for(lambda m: m.get("id") in (21, 22) or isinstance(m, list), 0.3)
    legacy.assert_alive()


@pytest.mark.parametrize("doc", [b"42", b'"ping"', b"null", b"[]", b'{"jsonrpc":"2.0","id":true,"method":"ping"}'])
def test_non_request_documents_are_invalid_requests(legacy, doc):
    legacy.send_raw(doc + b"\n")
    err = legacy.null_id_error()
    assert err["code"] == INVALID_REQUEST, err
    legacy.assert_alive()


def test_blank_lines_and_crlf_are_tolerated(legacy):
    legacy.send_raw(b"\n\n   \n")
    legacy.send_raw(b'{"jsonrpc":"2.0","id":31,"method":"ping"}\r\n')
    assert legacy.response(31) == {"jsonrpc": "2.0", "id": 31, "result": {}}
    # Blank lines produce no output at all.
    assert not legacy.drain_inbox()


def test_stdout_carries_only_json_lines(legacy):
    """Mixed good and bad traffic; the fixture's teardown checks every stdout line parsed."""
    legacy.send_raw(b"nope\n")
    legacy.null_id_error()
    legacy.call_tool("get_uptime", {})
    legacy.call_tool("nope", {})
    legacy.request("nope/nope")
    legacy.assert_alive()
    assert legacy.seen, "the session produced no output at all"
    assert all(m.get("jsonrpc") == "2.0" for m in legacy.seen), legacy.seen


def _wait_exit(proc: subprocess.Popen, limit: float) -> tuple[int | None, float]:
    start = time.monotonic()
    try:
        code = proc.wait(limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = None
    return code, time.monotonic() - start


@pytest.mark.parametrize("handshake", [False, True], ids=["fresh", "initialized"])
def test_eof_on_stdin_exits_zero_within_two_seconds(serve_cmd, handshake):
    s = LineSession(serve_cmd)
    if handshake:
        s.initialize()
        s.call_tool("get_uptime", {})
    assert s.proc.stdin is not None
    s.proc.stdin.close()
    code, took = _wait_exit(s.proc, 2.0)
    assert code == 0, f"exit code {code} after {took:.2f}s; stderr: {s.stderr_text()[-1000:]}"
    assert took < 2.0
    assert not s.non_json_lines
