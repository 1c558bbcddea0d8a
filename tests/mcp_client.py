"""Drives `kubectl-intel mcp` with the independent Python MCP client (the `mcp` package).

Run by tests/mcp.rs, over stdio or streamable HTTP:

    python tests/mcp_client.py stdio --bin BIN --bundle PATH [--expect-root-cause NAME]
    python tests/mcp_client.py http --url URL [--token TOKEN] [--expect-root-cause NAME]

Every check prints one `ok: …` line; the first failure raises, so the exit code is non-zero
and the traceback says which check failed. The last line is `SUMMARY {json}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

PRIMITIVES = [
    "list_clusters",
    "get_resources",
    "get_events",
    "get_logs",
    "get_metrics",
    "get_timeline",
    "get_service_map",
    "simulate_scheduling",
]
ANALYSES = ["diagnose_cluster_issue", "explain_infrastructure_behavior", "analyze_deployment_impact",
            "generate_disaster_recovery_plan"]
PROMPTS = ["incident-triage", "post-incident-review", "pre-deploy-check"]
SYMPTOM = "users see timeouts at checkout and login fails"

checks = 0


def ok(what: str) -> None:
    global checks
    checks += 1
    print(f"ok: {what}", flush=True)


def text_of(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


async def call(client: Client, name: str, args: dict[str, Any]) -> Any:
    """A call that must succeed (the client validates structuredContent against outputSchema)."""
    result = await client.call_tool(name, args)
    assert not result.is_error, f"{name}({args}) failed: {text_of(result)}"
    assert isinstance(result.structured_content, dict), f"{name}: no structuredContent"
    assert text_of(result).strip(), f"{name}: empty text"
    return result


async def call_error(client: Client, name: str, args: dict[str, Any], needle: str) -> str:
    """A call that must be a tool error (isError) whose message contains `needle`."""
    result = await client.call_tool(name, args)
    text = text_of(result)
    assert result.is_error, f"{name}({args}) should be a tool error, got: {text[:300]}"
    assert needle.lower() in text.lower(), f"{name}({args}): {needle!r} not in error {text!r}"
    return text


async def exercise(client: Client, expect_root_cause: str | None) -> dict[str, Any]:
    assert client.server_info is not None and client.server_info.name == "kubectl-intel"
    ok(f"initialized: {client.server_info.name} {client.server_info.version}, protocol {client.protocol_version}")

    # tools/list: names, schemas, annotations.
    tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in PRIMITIVES + ANALYSES:
        assert name in tools, f"tool {name} missing from {sorted(tools)}"
    for name, t in tools.items():
        assert t.description and len(t.description) > 40, f"{name}: description too short"
        assert t.input_schema.get("type") == "object", f"{name}: input schema {t.input_schema}"
        assert t.output_schema and t.output_schema.get("type") == "object", f"{name}: output schema"
        assert t.annotations is not None and t.annotations.read_only_hint is True, f"{name}: not read-only"
        if name != "list_clusters":
            assert "cluster" in t.input_schema.get("properties", {}), f"{name}: no cluster argument"
    assert "kind" in tools["get_resources"].input_schema.get("required", [])
    assert {"namespace", "pod"} <= set(tools["get_logs"].input_schema.get("required", []))
    ok(f"tools/list: {len(tools)} tools with schemas and read-only annotations: {sorted(tools)}")

    # list_clusters
    r = await call(client, "list_clusters", {})
    clusters = r.structured_content["clusters"]
    assert len(clusters) == 1 and clusters[0]["captured"], clusters
    cluster = clusters[0]["name"]
    assert clusters[0]["pods"] > 0 and "logs" in clusters[0]["evidence"], clusters[0]
    ok(f"list_clusters: {cluster}, {clusters[0]['pods']} pods, captured {clusters[0]['capturedAt']}")

    # get_resources: paging, a single object, Secrets.
    r = await call(client, "get_resources", {"kind": "pods", "limit": 5})
    s = r.structured_content
    assert len(s["items"]) == 5 and s["total"] > 5 and s["nextCursor"], s.get("nextCursor")
    assert s["source"]["cluster"] == cluster and s["source"]["capturedAt"], s["source"]
    r2 = await call(client, "get_resources", {"kind": "Pod", "limit": 5, "cursor": s["nextCursor"]})
    first = [(i["namespace"], i["name"]) for i in s["items"]]
    second = [(i["namespace"], i["name"]) for i in r2.structured_content["items"]]
    assert first != second and not set(first) & set(second), (first, second)
    ok(f"get_resources: {s['total']} pods, paged 5 at a time with nextCursor")

    r = await call(client, "get_resources", {"kind": "Pod", "namespace": "shop", "labelSelector": "app=auth"})
    auth_pods = r.structured_content["items"]
    assert auth_pods and all(p["labels"].get("app") == "auth" for p in auth_pods), auth_pods
    pod = auth_pods[0]["name"]
    r = await call(client, "get_resources", {"kind": "deploy", "namespace": "shop", "name": "auth"})
    item = r.structured_content["items"][0]
    assert item["object"]["metadata"]["name"] == "auth" and "```" in text_of(r)
    ok(f"get_resources: label selector ({len(auth_pods)} auth pods), one Deployment with its JSON")

    r = await call(client, "get_resources", {"kind": "Secret", "includeObjects": True, "limit": 50})
    for sec in r.structured_content["items"]:
        obj = sec.get("object") or {}
        assert "data" not in obj and "stringData" not in obj, f"secret values returned: {sec['name']}"
    ok(f"get_resources: {len(r.structured_content['items'])} Secrets without values")

    # get_events
    r = await call(client, "get_events", {"type": "Warning", "limit": 20})
    events = r.structured_content["events"]
    assert events and all(e["type"] == "Warning" for e in events), events[:2]
    assert "untrusted" in text_of(r).lower()
    r = await call(client, "get_events", {"kind": "Pod", "namespace": "shop", "name": pod})
    assert all(e["object"]["name"] == pod for e in r.structured_content["events"])
    ok(f"get_events: {r.structured_content['total']} events about {pod}, warnings filtered")

    # get_logs: current and previous, grep, tail.
    r = await call(client, "get_logs", {"namespace": "shop", "pod": pod, "tail": 10})
    logs = r.structured_content
    assert 0 < len(logs["lines"]) <= 10 and logs["totalLines"] >= len(logs["lines"]), logs["totalLines"]
    assert "```" in text_of(r) and "untrusted" in text_of(r).lower()
    prev = [a for a in logs["available"] if a.endswith("(previous)")]
    if prev:
        r = await call(client, "get_logs", {"namespace": "shop", "pod": pod, "previous": True})
        assert r.structured_content["previous"] is True
    r = await call(client, "get_logs", {"namespace": "shop", "pod": pod, "grep": "(?i)error|memory|warn"})
    assert r.structured_content["matchedLines"] <= logs["totalLines"]
    ok(f"get_logs: {logs['totalLines']} lines of {pod}, tail, grep, previous={bool(prev)}")

    # get_metrics
    r = await call(client, "get_metrics", {"namespace": "shop", "limit": 5})
    m = r.structured_content
    assert m["samples"] > 0 and m["items"], m
    mem = [i["memoryBytes"] for i in m["items"]]
    assert mem == sorted(mem, reverse=True), mem
    r = await call(client, "get_metrics", {"kind": "node", "limit": 3})
    assert r.structured_content["items"][0]["kind"] == "Node"
    top = m["items"][0]["name"]
    r = await call(client, "get_metrics", {"namespace": "shop", "name": top})
    assert r.structured_content["items"][0]["containers"][0]["series"], "no series for one pod"
    ok(f"get_metrics: pods sorted by memory, nodes, series of {top}")

    # get_timeline
    r = await call(client, "get_timeline", {"since": "6h", "limit": 30})
    t = r.structured_content
    times = [e["time"] for e in t["entries"]]
    assert times and times == sorted(times), times[:5]
    ok(f"get_timeline: {t['total']} entries in the window, oldest first")

    # get_service_map
    r = await call(client, "get_service_map", {"name": "auth"})
    edges = r.structured_content["edges"]
    assert edges and all(e["evidence"] for e in edges), edges[:1]
    ok(f"get_service_map: {len(edges)} edges touching auth, each with evidence")

    # simulate_scheduling: a manifest that fits gets a placement, one that cannot gets
    # kube-scheduler's message; nonsense is a tool error.
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "report", "namespace": "shop"},
        "spec": {"template": {"metadata": {"labels": {"app": "report"}},
                 "spec": {"containers": [{"name": "app", "image": "report:1",
                          "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}},
    }
    r = await call(client, "simulate_scheduling", {"manifest": deployment})
    sched = r.structured_content["pods"][0]
    assert sched["schedulable"] and sched["choice"] in sched["best"] and sched["scores"], sched
    deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "500"
    r = await call(client, "simulate_scheduling", {"manifest": deployment})
    sched = r.structured_content["pods"][0]
    assert not sched["schedulable"] and sched["message"].startswith("0/"), sched
    assert "Insufficient cpu" in sched["message"] and "nodes are available" in text_of(r), sched
    r = await call(client, "simulate_scheduling", {"pending": True})
    assert r.structured_content["total"] == len(r.structured_content["pods"]) or r.structured_content["nextCursor"]
    await call_error(client, "simulate_scheduling", {}, "say which pods")
    await call_error(client, "simulate_scheduling", {"pods": ["shop/no-such-pod"]}, "no pod shop/no-such-pod")
    ok("simulate_scheduling: a placement, the scheduler's message, tool errors")

    # The analyses.
    r = await call(client, "diagnose_cluster_issue", {"symptom": SYMPTOM})
    report = r.structured_content
    assert report["rootCauses"], "no root cause"
    top = report["rootCauses"][0]["subject"]["name"]
    if expect_root_cause:
        assert top == expect_root_cause, f"root cause {top}, expected {expect_root_cause}"
    ok(f"diagnose_cluster_issue: root cause {top}")
    await call_error(client, "diagnose_cluster_issue", {}, "symptom")
    r = await call(client, "diagnose_cluster_issue", {"symptom": ""})
    assert r.structured_content["rootCauses"], "an empty symptom is a full triage"
    ok("diagnose_cluster_issue: missing symptom is a tool error, an empty one a full triage")
    # analyze_deployment_impact: a change simulated step by step; each strategy's edits,
    # passed back with the change, simulate to the verdict it claimed; nonsense is a tool error.
    change = {"setImage": ["shop/deployment/auth=registry.example.com/auth:9.9.9"],
              "replicas": ["shop/deployment/auth=40"]}
    r = await call(client, "analyze_deployment_impact", change)
    report = r.structured_content
    assert report["analysis"] == "analyze_deployment_impact", report["analysis"]
    d = report["details"]
    assert d["verdict"] in ("safe", "risky", "fails"), d["verdict"]
    assert d["steps"] and all("newReady" in s for s in d["steps"]), d["steps"]
    if d["verdict"] == "fails":
        blocked = [s for s in d["steps"] if "blocker" in s]
        assert blocked and blocked[0]["blocker"]["message"], blocked
    for s in d["strategies"]:
        again = await call(client, "analyze_deployment_impact", {**change, "edits": s["edits"]}) \
            if not s["replacesChange"] else \
            await call(client, "analyze_deployment_impact", {"edits": s["edits"]})
        assert again.structured_content["details"]["verdict"] == s["verdict"], (s["title"], again.structured_content["details"]["verdict"])
    await call_error(client, "analyze_deployment_impact", {}, "say what to simulate")
    await call_error(client, "analyze_deployment_impact", {"setImage": ["deployment/no-such-app=x:1"]}, "names no Deployment")
    await call_error(client, "analyze_deployment_impact", {"manifest": "kind: Deployment\nmetadata: {name: x}\n"}, "spec.template.spec.containers")
    ok(f"analyze_deployment_impact: {d['verdict']} in {len(d['steps'])} steps, {len(d['strategies'])} strategies simulated again, tool errors")
    # generate_disaster_recovery_plan: single points of failure and simulated failures.
    r = await call(client, "generate_disaster_recovery_plan", {})
    d = r.structured_content["details"]
    assert r.structured_content["analysis"] == "generate_disaster_recovery_plan"
    assert d["singlePointsOfFailure"] and d["scenarios"], d.keys()
    assert all(s["verdict"] in ("survives", "degraded", "outage") for s in d["scenarios"])
    zone = next(s["scenario"]["name"] for s in d["scenarios"] if s["scenario"]["kind"] == "zone")
    r = await call(client, "generate_disaster_recovery_plan", {"scenarios": [f"zone={zone}"]})
    assert len(r.structured_content["details"]["scenarios"]) == 1
    await call_error(client, "generate_disaster_recovery_plan", {"scenarios": ["zone=nowhere-1z"]}, "no node matches")
    await call_error(client, "generate_disaster_recovery_plan", {"scenarios": ["galaxy=x"]}, "is not zone")
    # "How do we prevent this?": the diagnosis of a symptom is the starting point.
    r = await call(client, "generate_disaster_recovery_plan", {"incident": SYMPTOM})
    inc = r.structured_content["details"]["incident"]
    assert inc["causes"] and inc["source"].startswith("diagnose"), inc
    kinds = {s["scenario"]["kind"] for s in r.structured_content["details"]["scenarios"]}
    assert "zone" not in kinds and kinds & {"workload", "rollback", "node", "primary"}, kinds
    ok(f"generate_disaster_recovery_plan: {len(d['singlePointsOfFailure'])} single points of failure, {len(d['scenarios'])} scenarios, tool errors")
    # optimize_workload_placement: rightsizing with krr's simple strategy.
    r = await call(client, "optimize_workload_placement", {"cpuPercentile": 90})
    o = r.structured_content
    assert o["analysis"] == "optimize_workload_placement", o["analysis"]
    rows = o["details"]["rightsizing"]
    assert rows and all("basis" in x and "cpu" in x for x in rows), rows[:1]
    assert o["details"]["strategy"]["settings"]["cpuPercentile"] == 90
    await call_error(client, "optimize_workload_placement", {"cpuPercentile": 0}, "not a percentile")
    # Consolidation, cost and the plan on the server's scheduler cluster; the VPA preset;
    # prices of one's own; bad strategy and prices refused.
    c = o["details"]["consolidation"]["asRequested"]
    assert c["before"]["nodes"] >= c["after"]["nodes"], c["before"]
    assert o["details"]["plan"]["kind"] == "MigrationPlan" and len(o["details"]["plan"]["sha256"]) == 64
    assert o["details"]["cost"]["sources"], o["details"]["cost"]
    r = await call(client, "optimize_workload_placement",
                   {"strategy": "vpa", "maxCandidates": 3,
                    "prices": {"source": "test rates", "cpuCoreHour": 0.05, "ramGibHour": 0.005}})
    v = r.structured_content
    assert v["details"]["strategy"]["name"] == "vpa", v["details"]["strategy"]
    va = v["details"]["consolidation"]["asRequested"]
    protected = [k for k in va["kept"] if k["reason"].startswith(("a control-plane node", "annotated "))]
    tried = len(va["freed"]) + len(va["kept"]) - len(protected)
    assert tried == 3 and va["notTried"] > 0, (tried, va["notTried"])
    await call_error(client, "optimize_workload_placement", {"strategy": "greedy"}, "not one of")
    await call_error(client, "optimize_workload_placement", {"wavePercent": 0}, "not a share of the nodes")
    await call_error(client, "optimize_workload_placement", {"prices": {"instances": {"m5.large": -1}}}, "not a price")
    ok(f"optimize_workload_placement: {len(rows)} containers, {len(o['recommendations'])} to change, "
       f"{len(c['freed'])} nodes freed, vpa, prices, tool errors")
    r = await call(client, "explain_infrastructure_behavior",
                   {"question": SYMPTOM + " — what happened, and how are services connected?"})
    report = r.structured_content
    assert report["analysis"] == "explain_infrastructure_behavior", report["analysis"]
    top = report["rootCauses"][0]["subject"]["name"]
    if expect_root_cause:
        assert top == expect_root_cause, f"root cause {top}, expected {expect_root_cause}"
    d = report["details"]
    assert "what-happened" in d["intents"] and "connections" in d["intents"], d["intents"]
    phases = [p["phase"] for p in d["timeline"][0]["phases"]]
    assert phases and phases[0] == "trigger", phases
    assert all(e["evidence"] for e in d["serviceMap"][0]["edges"])
    assert "Timeline" in r.content[0].text, r.content[0].text[:300]
    ok(f"explain_infrastructure_behavior: root cause {top}, phases {phases}")
    await call_error(client, "explain_infrastructure_behavior", {"question": ""}, "question")
    await call_error(client, "explain_infrastructure_behavior",
                     {"question": "what happened?", "at": "teatime"}, "cannot read the time")
    ok("explain_infrastructure_behavior: empty question and unreadable time are tool errors")

    # Invalid arguments and unknown clusters: tool errors with a clear message.
    await call_error(client, "get_logs", {"namespace": "shop"}, "pod")
    await call_error(client, "get_logs", {"namespace": "shop", "pod": pod, "grep": "("}, "regular expression")
    await call_error(client, "get_resources", {"kind": "Pod", "cursor": "garbage"}, "cursor")
    await call_error(client, "get_resources", {"kind": "Gizmo"}, "kinds with objects")
    await call_error(client, "get_resources", {"kind": "Pod", "colour": "blue"}, "unknown field")
    await call_error(client, "get_events", {"type": "Fatal"}, "Warning")
    await call_error(client, "get_timeline", {"since": "yesterday"}, "since")
    await call_error(client, "get_resources", {"kind": "Pod", "limit": 100000}, "limit")
    ok("invalid arguments are tool errors that say what is wrong")
    for name in tools:
        if name == "list_clusters":
            continue
        args = {"cluster": "no-such-cluster", "kind": "Pod", "namespace": "shop", "pod": pod, "symptom": SYMPTOM,
                "question": SYMPTOM}
        args = {k: v for k, v in args.items() if k in tools[name].input_schema.get("properties", {})}
        await call_error(client, name, args, cluster)
    await call_error(client, "list_clusters", {"cluster": "no-such-cluster"}, cluster)
    ok("an unknown cluster is a tool error listing the known clusters, on every tool")
    try:
        await client.call_tool("no_such_tool", {})
        raise AssertionError("an unknown tool must be a protocol error")
    except MCPError as e:
        assert "unknown tool" in str(e.error.message).lower(), e.error
    ok("an unknown tool is a protocol error")

    # Resources
    resources = [r.uri for r in (await client.list_resources()).resources]
    uris = [str(u) for u in resources]
    assert f"intel://{cluster}/manifest" in uris and f"intel://{cluster}/summary" in uris, uris
    manifest = (await client.read_resource(f"intel://{cluster}/manifest")).contents[0]
    m = json.loads(manifest.text)
    assert m["cluster"]["name"] == cluster and m["capturedAt"], m.get("cluster")
    summary = (await client.read_resource(f"intel://{cluster}/summary")).contents[0]
    assert "Pods:" in summary.text and cluster in summary.text, summary.text[:200]
    try:
        await client.read_resource("intel://no-such-cluster/manifest")
        raise AssertionError("an unknown resource must be an error")
    except MCPError as e:
        assert "unknown resource" in str(e.error.message).lower()
        # Resource not found: the URI in data; -32002 before 2026-07-28, -32602 from it on
        # (SEP-2164).
        want = -32602 if str(client.protocol_version) >= "2026-07-28" else -32002
        assert e.error.code == want, (client.protocol_version, e.error)
        assert (e.error.data or {}).get("uri") == "intel://no-such-cluster/manifest", e.error
    ok(f"resources: {uris}")

    # Prompts
    prompts = [p.name for p in (await client.list_prompts()).prompts]
    assert prompts == PROMPTS, prompts
    p = await client.get_prompt("incident-triage", {"symptom": SYMPTOM, "cluster": cluster})
    body = p.messages[0].content.text
    assert SYMPTOM in body and "list_clusters" in body and "untrusted" in body.lower(), body[:300]
    p = await client.get_prompt("post-incident-review", {"incident": "auth outage", "since": "3h"})
    assert "get_timeline" in p.messages[0].content.text
    p = await client.get_prompt("pre-deploy-check", {"workload": "auth", "namespace": "shop"})
    assert "auth" in p.messages[0].content.text
    try:
        await client.get_prompt("incident-triage", {})
        raise AssertionError("a prompt without its required argument must be an error")
    except MCPError as e:
        assert "symptom" in str(e.error.message)
    ok(f"prompts: {prompts}")
    return {"cluster": cluster, "tools": sorted(tools), "checks": checks}


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("transport", choices=["stdio", "http"])
    ap.add_argument("--bin")
    ap.add_argument("--bundle")
    ap.add_argument("--url")
    ap.add_argument("--token")
    ap.add_argument("--expect-root-cause")
    ap.add_argument("--mode", default="auto", help="Client negotiation: auto (newest) or legacy (initialize)")
    a = ap.parse_args()
    if a.transport == "stdio":
        server: Any = StdioServerParameters(command=a.bin, args=["mcp", "--bundle", a.bundle])
    else:
        headers = {"Authorization": f"Bearer {a.token}"} if a.token else None
        server = streamable_http_client(a.url, http_client=create_mcp_http_client(headers=headers))
    async with Client(server, mode=a.mode) as client:
        summary = await exercise(client, a.expect_root_cause)
    print("SUMMARY " + json.dumps(summary), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
