#!/usr/bin/env python3
"""Peak RSS of one session that calls every listed tool once (issue 10: <= 12 MB).

Usage: scripts/bench_all_tools.py BIN CONFIG  (a config enabling the scopes to include, e.g.
`allow_root: true` and `scopes: {sensitive: {enabled: true}}`). Prints the tool count, the
errors and VmHWM/RssAnon/RssFile of the server at the end."""
import json, subprocess, sys, os
bin_, cfg = sys.argv[1], sys.argv[2]
p = subprocess.Popen([bin_, "serve", "--config", cfg], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
def rpc(i, m, params=None):
    p.stdin.write((json.dumps({"jsonrpc":"2.0","id":i,"method":m,"params":params or {}})+"\n").encode()); p.stdin.flush()
    while True:
        l = json.loads(p.stdout.readline())
        if l.get("id") == i: return l
rpc(0, "initialize", {"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"m","version":"1"}})
p.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'); p.stdin.flush()
tools = rpc(1, "tools/list")["result"]["tools"]
need = {"get_process": {"pid": 1}, "get_open_files": {"pid": os.getpid()}, "get_auth_logs": {"max_age_hours": 1}}
errs = 0
for i, t in enumerate(tools):
    r = rpc(10+i, "tools/call", {"name": t["name"], "arguments": need.get(t["name"], {})})
    if r.get("error") or r["result"].get("isError"): errs += 1; print("error:", t["name"], str(r)[:200])
st = open(f"/proc/{p.pid}/status").read()
hwm = [l for l in st.splitlines() if l.startswith(("VmHWM","RssAnon","RssFile"))]
print(len(tools), "tools called,", errs, "errors;", "; ".join(hwm))
p.stdin.close(); p.wait()
