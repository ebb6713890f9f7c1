"""A small line-based JSON-RPC client for driving `sysgate serve` over stdio by hand.

It speaks the wire format directly (one JSON message per line) so tests can send things no SDK
would: broken JSON, invalid UTF-8, huge or deeply nested lines, batches, raw notifications.
Every wait has a timeout, so a server that hangs fails the test instead of blocking it.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import threading
import time
from typing import Any, Callable

MODERN = "2026-07-28"
LEGACY_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CAPS = "io.modelcontextprotocol/clientCapabilities"
META_INFO = "io.modelcontextprotocol/clientInfo"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"

DEFAULT_TIMEOUT = 10.0


def modern_meta(**extra: Any) -> dict:
    """The per-request `_meta` envelope of a 2026-07-28 request."""
    meta = {
        META_VERSION: MODERN,
        META_CAPS: {},
        META_INFO: {"name": "sysgate-tests", "version": "0"},
    }
    meta.update(extra)
    return meta


class Timeout(AssertionError):
    """No matching message arrived in time (an AssertionError so pytest reports it plainly)."""


class LineSession:
    """One `sysgate serve` process. Messages from stdout are collected in arrival order; `take`
    removes and returns the first one matching a predicate."""

    def __init__(self, cmd: list[str]):
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._cond = threading.Condition()
        self._inbox: list[dict] = []
        self.seen: list[dict] = []  # everything ever received, for after-the-fact checks
        self.non_json_lines: list[bytes] = []
        self._stderr = bytearray()
        self._eof = False
        self._ids = itertools.count(1000)
        self._write_lock = threading.Lock()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- background readers -------------------------------------------------------------------

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
                ok = isinstance(msg, dict)
            except ValueError:
                ok = False
            with self._cond:
                if ok and line.endswith(b"\n"):
                    self._inbox.append(msg)
                    self.seen.append(msg)
                else:
                    self.non_json_lines.append(line[:200])
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):  # type: ignore[union-attr]
            # Keep the tail only: a test must not grow without bound either.
            self._stderr += chunk
            del self._stderr[:-65536]

    def stderr_text(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    # -- sending ------------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        with self._write_lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def send(self, msg: Any) -> None:
        self.send_raw(json.dumps(msg, separators=(",", ":")).encode() + b"\n")

    def next_id(self) -> int:
        return next(self._ids)

    def request_msg(self, method: str, params: dict | None = None, id: Any = None) -> dict:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": self.next_id() if id is None else id, "method": method}
        if params is not None:
            msg["params"] = params
        return msg

    def notify(self, method: str, params: dict | None = None) -> None:
        msg: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def request(self, method: str, params: dict | None = None, *, timeout: float = DEFAULT_TIMEOUT, id: Any = None) -> dict:
        """Send a request and return its response (the whole message: `result` or `error`)."""
        msg = self.request_msg(method, params, id)
        self.send(msg)
        return self.response(msg["id"], timeout=timeout)

    def result(self, method: str, params: dict | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> dict:
        """Send a request that must succeed; return its `result`."""
        resp = self.request(method, params, timeout=timeout)
        assert "result" in resp, f"{method} failed: {resp}"
        return resp["result"]

    def error(self, method: str, params: dict | None = None, *, timeout: float = DEFAULT_TIMEOUT) -> dict:
        """Send a request that must fail; return its `error`."""
        resp = self.request(method, params, timeout=timeout)
        assert "error" in resp, f"{method} should have failed: {resp}"
        return resp["error"]

    def call_tool(self, name: str, arguments: Any = None, *, meta: dict | None = None, timeout: float = DEFAULT_TIMEOUT) -> dict:
        params: dict[str, Any] = {"name": name}
        if arguments is not None:
            params["arguments"] = arguments
        if meta is not None:
            params["_meta"] = meta
        return self.request("tools/call", params, timeout=timeout)

    # -- receiving ----------------------------------------------------------------------------

    def take(self, pred: Callable[[dict], bool], timeout: float = DEFAULT_TIMEOUT, what: str = "message") -> dict:
        """Remove and return the first received message matching `pred`, waiting up to `timeout`."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, m in enumerate(self._inbox):
                    if pred(m):
                        return self._inbox.pop(i)
                left = end - time.monotonic()
                if left <= 0 or self._eof:
                    raise Timeout(
                        f"no {what} within {timeout}s (eof={self._eof}); unclaimed: {self._inbox[-5:]!r}; "
                        f"stderr: {self.stderr_text()[-500:]!r}"
                    )
                self._cond.wait(left)

    def response(self, id: Any, timeout: float = DEFAULT_TIMEOUT) -> dict:
        return self.take(lambda m: is_response(m) and same_id(m.get("id"), id), timeout, f"response to id {id!r}")

    def null_id_error(self, timeout: float = DEFAULT_TIMEOUT) -> dict:
        """The next error response with `id: null` (what unparseable input gets)."""
        msg = self.take(lambda m: "error" in m and "id" in m and m["id"] is None, timeout, "error with id null")
        return msg["error"]

    def quiet_for(self, pred: Callable[[dict], bool], seconds: float) -> list[dict]:
        """Wait `seconds`, then return (and remove) every message matching `pred` that arrived."""
        time.sleep(seconds)
        with self._cond:
            hits = [m for m in self._inbox if pred(m)]
            self._inbox = [m for m in self._inbox if not pred(m)]
        return hits

    def drain_inbox(self) -> list[dict]:
        with self._cond:
            out, self._inbox = self._inbox, []
        return out

    # -- lifecycle ----------------------------------------------------------------------------

    def initialize(self, version: str = "2025-11-25") -> dict:
        res = self.result(
            "initialize",
            {"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "sysgate-tests", "version": "0"}},
        )
        self.notify("notifications/initialized")
        return res

    def assert_alive(self, legacy: bool = True) -> None:
        """The session still answers: a ping (legacy) and a tools/list."""
        if legacy:
            assert self.result("ping", timeout=5) == {}
            tools = self.result("tools/list", timeout=5)["tools"]
        else:
            tools = self.result("tools/list", {"_meta": modern_meta()}, timeout=5)["tools"]
        assert any(t["name"] == "get_uptime" for t in tools), tools

    def close(self, timeout: float = 10.0) -> int | None:
        """Close stdin (EOF) and wait for exit; kill and return None if it does not exit."""
        try:
            if self.proc.stdin and not self.proc.stdin.closed:
                self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def is_response(m: dict) -> bool:
    return "method" not in m and ("result" in m or "error" in m)


def same_id(a: Any, b: Any) -> bool:
    # 1 == True in Python; JSON-RPC ids are strings or integers, never booleans.
    return type(a) is type(b) and a == b


def tool_text(result: dict) -> str:
    return "\n".join(c.get("text", "") for c in result.get("content", []) if c.get("type") == "text")


# The core host tools the issue asks for; every client test checks they are all listed.
CORE_TOOLS = [
    "get_system_status",
    "get_cpu_info",
    "get_memory_info",
    "get_disk_info",
    "get_disk_io",
    "get_block_devices",
    "get_network_info",
    "get_processes",
    "get_process",
    "get_uptime",
    "get_load",
    "get_temperature",
    "get_sessions_and_time",
    "whoami",
    # Scope hooks (enabled by default).
    "get_kernel_modules",
    "get_mounts",
    "get_cron_jobs",
    "get_systemd_units",
]


# The least a tool with required arguments needs to run: every other tool is called with none.
# pid 1 exists on every host and in every container.
REQUIRED_ARGS = {
    "get_process": {"pid": 1},
}


def minimal_args(name: str) -> dict:
    """Arguments for calling `name` "with no arguments": none, or only what it requires."""
    return dict(REQUIRED_ARGS.get(name, {}))
