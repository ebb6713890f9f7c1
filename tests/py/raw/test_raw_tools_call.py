"""`tools/call` through the real binary: argument validation answered as tool errors that name
the argument and the rule, unknown tools, cancellation, the per-connection in-flight limit and
progress notifications."""

import re
import time

import pytest

from sysgate_rpc import same_id, tool_text

INVALID_PARAMS = -32602
SERVER_ERROR = -32000
IN_FLIGHT_LIMIT = 64


def tool_error_text(resp: dict) -> str:
    assert "result" in resp, f"expected a tool result with isError, got {resp}"
    res = resp["result"]
    assert res.get("isError") is True, res
    assert "structuredContent" not in res, res
    text = tool_text(res)
    assert text, res
    return text


@pytest.mark.parametrize(
    "arguments, rule_words",
    [
        ({"limit": "x"}, ["integer"]),
        ({"limit": -1}, ["at least 1", "between 1 and", ">= 1", "minimum"]),
        ({"limit": 1e12}, ["at most 500", "and 500", "<= 500", "maximum"]),
        ({"limit": 2.5}, ["integer"]),
        ({"limit": True}, ["integer"]),
        ({"sort_by": "bogus"}, ["cpu", "memory", "pid", "name"]),
        ({"sample_ms": 2001}, ["2000"]),
        ({"sample_ms": -5}, ["at least 0", "between 0 and", ">= 0", "minimum"]),
    ],
    ids=["limit-string", "limit-negative", "limit-1e12", "limit-fraction", "limit-bool", "sort-enum", "sample-high", "sample-negative"],
)
def test_bad_arguments_are_tool_errors_naming_argument_and_rule(legacy, arguments, rule_words):
    text = tool_error_text(legacy.call_tool("get_processes", arguments))
    (arg,) = arguments
    assert arg in text, f"message does not name `{arg}`: {text!r}"
    assert any(w in text for w in rule_words), f"message does not state the rule ({rule_words}): {text!r}"
    legacy.assert_alive()


def test_limit_1e12_is_written_as_an_exponent_on_the_wire(legacy):
    # Python would write 1e12 as 1000000000000.0; send the literal token the issue names.
    legacy.send_raw(
        b'{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"name":"get_processes","arguments":{"limit":1e12}}}\n'
    )
    text = tool_error_text(legacy.response(41))
    assert "limit" in text and "500" in text, text


@pytest.mark.parametrize("tool", ["get_processes", "get_uptime"])
def test_unknown_property_is_a_tool_error_naming_it(legacy, tool):
    text = tool_error_text(legacy.call_tool(tool, {"bogus_flag": 1}))
    assert "bogus_flag" in text, text
    assert re.search(r"unknown|not a known|not allowed|additional", text), text
    legacy.assert_alive()


def test_arguments_that_are_not_an_object_are_a_tool_error(legacy):
    text = tool_error_text(legacy.call_tool("get_uptime", [1, 2]))
    assert "arguments" in text and "object" in text, text


def test_unknown_tool_is_invalid_params(legacy):
    resp = legacy.call_tool("no_such_tool", {})
    assert resp.get("error", {}).get("code") == INVALID_PARAMS, resp
    assert "no_such_tool" in resp["error"]["message"]
    legacy.assert_alive()


def test_missing_tool_name_is_invalid_params(legacy):
    resp = legacy.request("tools/call", {"arguments": {}})
    assert resp.get("error", {}).get("code") == INVALID_PARAMS, resp


def test_slow_call_does_not_block_ping_and_cancel_suppresses_its_response(legacy):
    call = legacy.request_msg("tools/call", {"name": "get_processes", "arguments": {"sample_ms": 2000, "limit": 5}})
    legacy.send(call)
    time.sleep(0.2)

    start = time.monotonic()
    assert legacy.result("ping", timeout=5) == {}
    assert time.monotonic() - start < 1.0, "ping waited for the slow call"

    legacy.notify("notifications/cancelled", {"requestId": call["id"], "reason": "test"})
    start = time.monotonic()
    assert legacy.result("ping", timeout=5) == {}
    assert time.monotonic() - start < 1.0

    late = legacy.quiet_for(lambda m: same_id(m.get("id"), call["id"]), 3.0)
    assert not late, f"a cancelled request was answered: {late}"
    legacy.assert_alive()


def test_cancelling_an_unknown_or_finished_request_is_harmless(legacy):
    legacy.notify("notifications/cancelled", {"requestId": 424242})
    legacy.notify("notifications/cancelled", {"requestId": "nope"})
    legacy.notify("notifications/cancelled", {})
    resp = legacy.call_tool("get_uptime", {})
    legacy.notify("notifications/cancelled", {"requestId": resp["id"]})
    legacy.assert_alive()


def send_burst(session, calls: list[dict]) -> None:
    """Write every request in one go so they are all in flight at once."""
    import json

    session.send_raw(b"".join(json.dumps(c).encode() + b"\n" for c in calls))


def collect_answers(session, ids: list[int], timeout: float) -> dict[int, dict]:
    answers = {}
    for i in ids:
        answers[i] = session.response(i, timeout=timeout)
    # Nothing answers twice.
    dupes = session.quiet_for(lambda m: m.get("id") in answers, 0.5)
    assert not dupes, f"answered more than once: {dupes[:3]}"
    return answers


def classify(answers: dict[int, dict]) -> tuple[int, int]:
    ok = refused = 0
    for resp in answers.values():
        if "result" in resp:
            ok += 1
        else:
            err = resp["error"]
            assert err["code"] == SERVER_ERROR, resp
            assert "in flight" in err["message"], resp
            refused += 1
    assert ok + refused == len(answers)
    return ok, refused


def test_100_fast_calls_in_flight_are_each_answered_once(legacy):
    calls = [legacy.request_msg("tools/call", {"name": "get_uptime", "arguments": {}}) for _ in range(100)]
    send_burst(legacy, calls)
    answers = collect_answers(legacy, [c["id"] for c in calls], timeout=30)
    ok, refused = classify(answers)
    assert ok + refused == 100
    assert ok >= IN_FLIGHT_LIMIT, (ok, refused)
    for resp in answers.values():
        if "result" in resp:
            assert resp["result"]["isError"] is False, resp
    legacy.assert_alive()


def test_100_slow_calls_in_flight_hit_the_limit_of_64(legacy):
    calls = [
        legacy.request_msg("tools/call", {"name": "get_processes", "arguments": {"sample_ms": 500, "limit": 1}})
        for _ in range(100)
    ]
    send_burst(legacy, calls)
    answers = collect_answers(legacy, [c["id"] for c in calls], timeout=60)
    ok, refused = classify(answers)
    # Each accepted call takes at least 500 ms, far longer than reading 100 lines, so exactly
    # the first 64 are in flight when the rest arrive.
    assert (ok, refused) == (IN_FLIGHT_LIMIT, 100 - IN_FLIGHT_LIMIT)
    # The refusals are the last ones sent.
    refused_ids = sorted(i for i, r in answers.items() if "error" in r)
    assert refused_ids == [c["id"] for c in calls[IN_FLIGHT_LIMIT:]]
    legacy.assert_alive()
    assert legacy.call_tool("get_uptime", {})["result"]["isError"] is False


@pytest.mark.parametrize("token", ["tok-1", 7], ids=["string-token", "int-token"])
def test_progress_notifications_carry_the_token(legacy, token):
    resp = legacy.call_tool(
        "get_processes", {"sample_ms": 600, "limit": 3}, meta={"progressToken": token}, timeout=15
    )
    assert resp["result"]["isError"] is False, resp
    pos = next(i for i, m in enumerate(legacy.seen) if m is resp)
    progress = [m for m in legacy.seen[:pos] if m.get("method") == "notifications/progress"]
    assert progress, "no notifications/progress before the response"
    values = []
    for n in progress:
        p = n["params"]
        assert same_id(p["progressToken"], token), n
        assert "id" not in n, n
        values.append(p["progress"])
        if "total" in p:
            assert p["progress"] <= p["total"], n
    assert values == sorted(values) and len(set(values)) == len(values), f"progress must increase: {values}"
    # Nothing about this request after its response.
    time.sleep(0.3)
    late = [m for m in legacy.seen[pos + 1 :] if m.get("method") == "notifications/progress"]
    assert not late, late


def test_no_progress_without_a_token(legacy):
    resp = legacy.call_tool("get_processes", {"sample_ms": 600, "limit": 3}, timeout=15)
    assert resp["result"]["isError"] is False, resp
    time.sleep(0.3)
    assert not [m for m in legacy.seen if m.get("method") == "notifications/progress"]


def test_sample_ms_at_its_maximum_completes(legacy):
    resp = legacy.call_tool("get_processes", {"sample_ms": 2000, "limit": 5}, timeout=15)
    assert resp["result"]["isError"] is False, resp
    rows = resp["result"]["structuredContent"]
    assert rows, rows


def test_cancelling_frees_in_flight_slots(legacy):
    slow = {"name": "get_processes", "arguments": {"sample_ms": 2000, "limit": 1}}
    calls = [legacy.request_msg("tools/call", slow) for _ in range(IN_FLIGHT_LIMIT)]
    send_burst(legacy, calls)
    over = legacy.request("tools/call", slow)
    assert over.get("error", {}).get("code") == SERVER_ERROR, over
    for c in calls:
        legacy.notify("notifications/cancelled", {"requestId": c["id"]})
    quick = legacy.call_tool("get_processes", {"limit": 1}, timeout=10)
    assert quick["result"]["isError"] is False, quick
    late = legacy.quiet_for(lambda m: m.get("id") in {c["id"] for c in calls}, 2.5)
    assert not late, f"cancelled calls were answered: {late[:3]}"


def test_duplicate_id_in_flight_is_refused(legacy):
    call = legacy.request_msg("tools/call", {"name": "get_processes", "arguments": {"sample_ms": 500, "limit": 1}})
    legacy.send(call)
    legacy.send(call)
    first = legacy.response(call["id"], timeout=5)
    assert first.get("error", {}).get("code") == -32600, first
    second = legacy.response(call["id"], timeout=10)
    assert second["result"]["isError"] is False, second
    assert not legacy.quiet_for(lambda m: same_id(m.get("id"), call["id"]), 0.5)
