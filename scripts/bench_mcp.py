"""Load driver for scripts/bench-mcp.sh: N concurrent MCP tool calls over streamable HTTP.

Opens one MCP session (initialize, protocol 2025-06-18), warms each tool once (the first
call on a cluster builds its indexes and usage series), then fires all calls at once and
waits for every answer. Prints p50/p95/p99/max latency overall and per tool, and the
server's peak RSS (VmHWM of --pid). Exits non-zero if any call fails.

    python scripts/bench_mcp.py --url http://127.0.0.1:PORT/mcp --pid PID --calls 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time

import httpx2

HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def parse(resp: httpx2.Response) -> dict:
    """The JSON-RPC message of a response, plain JSON or the first SSE data event."""
    if resp.headers.get("content-type", "").startswith("text/event-stream"):
        for line in resp.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                return json.loads(line[5:])
        raise RuntimeError(f"no data event in {resp.text[:200]!r}")
    return resp.json()


async def rpc(client: httpx2.AsyncClient, url: str, session: dict, rid: int, method: str, params: dict) -> dict:
    msg = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
    resp = await client.post(url, json=msg, headers={**HEADERS, **session})
    resp.raise_for_status()
    return parse(resp)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def peak_rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int)
    ap.add_argument("--calls", type=int, default=200)
    a = ap.parse_args()

    limits = httpx2.Limits(max_connections=a.calls + 10, max_keepalive_connections=a.calls + 10)
    timeout = httpx2.Timeout(600.0)
    async with httpx2.AsyncClient(limits=limits, timeout=timeout) as client:
        init = await client.post(
            a.url,
            json={"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "bench-mcp", "version": "1"}}},
            headers=HEADERS,
        )
        init.raise_for_status()
        session = {"Mcp-Session-Id": init.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
        await client.post(a.url, json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                          headers={**HEADERS, **session})
        tools = {t["name"] for t in (await rpc(client, a.url, session, 1, "tools/list", {}))["result"]["tools"]}

        pods = (await rpc(client, a.url, session, 2, "tools/call", {
            "name": "get_resources", "arguments": {"kind": "Pod", "namespace": "shop", "limit": 5}}))
        pod = pods["result"]["structuredContent"]["items"][0]
        mix = [
            ("list_clusters", {}),
            ("get_resources", {"kind": "Pod", "limit": 50}),
            ("get_resources", {"kind": "Deployment", "namespace": "shop", "name": "auth"}),
            ("get_events", {"type": "Warning", "limit": 50}),
            ("get_logs", {"namespace": pod["namespace"], "pod": pod["name"], "tail": 100}),
            ("get_metrics", {"limit": 50}),
            ("get_metrics", {"kind": "node", "limit": 50}),
            ("get_timeline", {"since": "2h", "limit": 50}),
            ("get_service_map", {"namespace": "shop"}),
        ]
        if "diagnose_cluster_issue" in tools:
            mix.append(("diagnose_cluster_issue", {"symptom": "checkout is slow and returns errors"}))
        if "explain_infrastructure_behavior" in tools:
            mix.append(("explain_infrastructure_behavior",
                        {"question": "checkout is slow: what happened, and how are services connected?"}))

        warm: dict[str, float] = {}
        for i, (name, args) in enumerate(mix):
            t0 = time.perf_counter()
            r = await rpc(client, a.url, session, 100 + i, "tools/call", {"name": name, "arguments": args})
            warm[name] = max(warm.get(name, 0.0), (time.perf_counter() - t0) * 1000)
            if "error" in r or r["result"].get("isError"):
                print(f"warm-up {name} failed: {json.dumps(r)[:500]}", file=sys.stderr)
                return 1

        async def one(i: int) -> tuple[str, float, bool, int]:
            name, args = mix[i % len(mix)]
            t0 = time.perf_counter()
            try:
                r = await rpc(client, a.url, session, 1000 + i, "tools/call", {"name": name, "arguments": args})
                good = "error" not in r and not r["result"].get("isError")
                size = len(json.dumps(r))
            except Exception as e:  # a failed call is counted, not fatal to the run
                print(f"call {i} {name}: {e!r}", file=sys.stderr)
                good, size = False, 0
            return name, (time.perf_counter() - t0) * 1000, good, size

        t0 = time.perf_counter()
        results = await asyncio.gather(*(one(i) for i in range(a.calls)))
        wall = time.perf_counter() - t0

    lat = [r[1] for r in results]
    failed = sum(1 for r in results if not r[2])
    print(f"calls: {a.calls} concurrent, {a.calls - failed} answered, {failed} failed, wall {wall:.2f} s, "
          f"{a.calls / wall:.0f} calls/s")
    print(f"latency ms: p50 {pct(lat, 50):.0f}  p95 {pct(lat, 95):.0f}  p99 {pct(lat, 99):.0f}  "
          f"max {max(lat):.0f}  mean {statistics.mean(lat):.0f}")
    print("per tool (warm-up = first call, builds indexes):")
    print(f"  {'tool':24} {'warm-up':>8} {'p50':>7} {'p99':>7} {'answer KiB':>10}")
    for name in dict.fromkeys(n for n, _ in mix):
        ls = [r[1] for r in results if r[0] == name]
        size = max(r[3] for r in results if r[0] == name) / 1024
        print(f"  {name:24} {warm[name]:8.0f} {pct(ls, 50):7.0f} {pct(ls, 99):7.0f} {size:10.1f}")
    if a.pid:
        rss = peak_rss_mib(a.pid)
        if rss is not None:
            print(f"server peak RSS: {rss:.0f} MiB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
