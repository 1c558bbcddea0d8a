//! Rendering a [`Report`] for people: plain text for the terminal, Markdown for a ticket
//! or an MCP answer. JSON is the report itself (`serde_json`). Evidence text from logs and
//! events is untrusted data: Markdown puts it in code spans, never as prose.

use std::fmt::Write as _;

use super::report::{Report, Severity};

fn sev(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

/// Inline code that cannot be broken out of: backticks inside become `'`.
pub(crate) fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'").replace(['\n', '\r'], " "))
}

/// A code span for a table cell: `|` escaped so a crafted name cannot add columns.
pub(crate) fn cell(s: &str) -> String {
    code(s).replace('|', "\\|")
}

/// Cluster text in Markdown prose: no HTML (`<script>` stays text) and one line.
pub(crate) fn prose(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

/// A fence longer than any run of backticks in `body`, so the body cannot close it.
pub(crate) fn fence(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

pub fn text(r: &Report) -> String {
    let mut o = String::new();
    let clusters: Vec<String> = r
        .clusters
        .iter()
        .map(|c| {
            format!(
                "{} (captured {}, {} pods, {} nodes)",
                c.name, c.captured_at, c.pods, c.nodes
            )
        })
        .collect();
    let _ = writeln!(o, "{}: {:?}", r.analysis, r.request.text);
    let _ = writeln!(o, "clusters: {}", clusters.join("; "));
    let _ = writeln!(o, "read as: {}\n", r.request.classes.join(", "));
    let _ = writeln!(o, "SUMMARY\n  {}\n", r.summary);
    steps_text(&mut o, r);
    scenarios_text(&mut o, r);
    rpo_text(&mut o, r);
    runbooks_text(&mut o, r);
    if !r.root_causes.is_empty() {
        let _ = writeln!(o, "ROOT CAUSES");
        for rc in &r.root_causes {
            let _ = writeln!(
                o,
                "  {}. {} [{}] score {:.1}",
                rc.rank,
                rc.subject.label(),
                rc.category,
                rc.score
            );
            for reason in &rc.reasons {
                let _ = writeln!(o, "       - {reason}");
            }
            if let Some(chain) = r.chains.get(rc.chain) {
                let _ = writeln!(o, "     chain:");
                for l in &chain.links {
                    if let Some(p) = branch_parent(chain, l) {
                        let _ = writeln!(
                            o,
                            "       also {} --{}--> {}",
                            p.subject.label(),
                            l.reason,
                            l.subject.label()
                        );
                    } else if l.reason.is_empty() {
                        let _ = writeln!(o, "       {}", l.subject.label());
                    } else {
                        let _ = writeln!(o, "       --{}--> {}", l.reason, l.subject.label());
                    }
                }
            }
        }
        let _ = writeln!(o);
    }
    if !r.recommendations.is_empty() {
        let _ = writeln!(o, "RECOMMENDATIONS");
        for rec in &r.recommendations {
            let _ = writeln!(
                o,
                "  {}. [{} | risk {}] {}",
                rec.rank, rec.horizon, rec.risk, rec.title
            );
            let _ = writeln!(o, "     why: {}", rec.why);
            let _ = writeln!(o, "     expect: {}", rec.expected_effect);
            for s in &rec.steps {
                let _ = writeln!(o, "       $ {s}");
            }
            for v in &rec.verify {
                let _ = writeln!(o, "     verify: {v}");
            }
            for v in &rec.rollback {
                let _ = writeln!(o, "     roll back: {v}");
            }
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "IMPACT");
    for s in &r.impact.services {
        let _ = writeln!(
            o,
            "  {} {}: {}/{} ready",
            s.state,
            s.subject.label(),
            s.ready_replicas,
            s.replicas
        );
    }
    for e in &r.impact.entry_points {
        let _ = writeln!(o, "  entry point: {e}");
    }
    if let Some(b) = &r.impact.business {
        if let Some(v) = b.revenue_per_hour_at_risk {
            let _ = writeln!(o, "  revenue at risk: {v:.0} per hour");
        }
        if let Some(v) = b.users_affected {
            let _ = writeln!(o, "  users affected: {v:.0}");
        }
    }
    let _ = writeln!(o, "  {}\n", r.impact.note);
    if !r.findings.is_empty() {
        let _ = writeln!(o, "FINDINGS ({})", r.findings.len());
        for f in r.findings.iter().take(40) {
            let _ = writeln!(
                o,
                "  {} {:8} {} [{}] {}",
                f.id,
                sev(f.severity),
                f.subject.label(),
                f.kind,
                f.message
            );
            if let Some(res) = &f.resolved {
                let _ = writeln!(o, "       resolved: {}", res.why);
            }
        }
        if r.findings.len() > 40 {
            let _ = writeln!(o, "  … {} more (-o json lists all)", r.findings.len() - 40);
        }
        let _ = writeln!(o);
    }
    if !r.limitations.is_empty() {
        let _ = writeln!(o, "LIMITATIONS");
        for l in &r.limitations {
            let _ = writeln!(o, "  - {l}");
        }
    }
    o
}

/// A simulated change's steps (`details.steps`), one line each.
fn steps_text(o: &mut String, r: &Report) {
    let Some(steps) = r.details.get("steps").and_then(|s| s.as_array()) else {
        return;
    };
    if steps.is_empty() {
        return;
    }
    let _ = writeln!(o, "STEPS (new ready/old ready of desired, pending)");
    for s in steps {
        let n = |k: &str| s.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
        let _ = writeln!(
            o,
            "  {:>3}. {} {}: {}{}",
            n("step"),
            s["subject"].as_str().unwrap_or_default(),
            if n("desired") > 0 {
                format!(
                    "[{}+{}/{}, {} pending]",
                    n("newReady"),
                    n("oldReady"),
                    n("desired"),
                    n("pending")
                )
            } else {
                String::new()
            },
            s["action"].as_str().unwrap_or_default(),
            match s.get("blocker") {
                Some(b) => format!(
                    "\n       BLOCKED ({}) {}: {}",
                    b["kind"].as_str().unwrap_or_default(),
                    b["subject"].as_str().unwrap_or_default(),
                    b["message"].as_str().unwrap_or_default()
                ),
                None => String::new(),
            }
        );
    }
    let _ = writeln!(o);
}

/// A disaster-recovery plan's scenarios (`details.scenarios`): what each loses.
fn scenarios_text(o: &mut String, r: &Report) {
    let Some(list) = r.details.get("scenarios").and_then(|s| s.as_array()) else {
        return;
    };
    if list.is_empty() {
        return;
    }
    let _ = writeln!(o, "SCENARIOS");
    for s in list {
        let n = |k: &str| s.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
        let name = format!(
            "{}={}",
            s["scenario"]["kind"].as_str().unwrap_or_default(),
            s["scenario"]["name"].as_str().unwrap_or_default()
        );
        let _ = writeln!(
            o,
            "  {name}: {} ({} displaced, {} placed again, {} pending)",
            s["verdict"].as_str().unwrap_or_default(),
            n("displaced"),
            n("placed"),
            n("pendingTotal")
        );
        for l in s["losses"].as_array().into_iter().flatten().take(8) {
            let _ = writeln!(
                o,
                "       {} {}: {} -> {} now -> {} once placed again",
                l["state"].as_str().unwrap_or_default(),
                l["subject"].as_str().unwrap_or_default(),
                l["before"],
                l["during"],
                l["after"]
            );
        }
        if let Some(rb) = s.get("rollback") {
            let _ = writeln!(
                o,
                "       revision {} -> {} (images {} -> {}): {}",
                rb["currentRevision"],
                rb["previousRevision"],
                rb["imagesNow"],
                rb["imagesThen"],
                rb["detail"].as_str().unwrap_or_default()
            );
        }
        for r in s["rto"].as_array().into_iter().flatten().take(8) {
            let parts: Vec<String> = r["parts"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| match p["seconds"].as_f64() {
                    Some(v) => format!("{} {v:.0}", p["part"].as_str().unwrap_or_default()),
                    None => format!("{} ?", p["part"].as_str().unwrap_or_default()),
                })
                .collect();
            let _ = match r["totalSeconds"].as_f64() {
                Some(t) => writeln!(
                    o,
                    "       back in ~{t:.0} s: {} ({})",
                    r["subject"].as_str().unwrap_or_default(),
                    parts.join(" + ")
                ),
                None => writeln!(
                    o,
                    "       no recovery bound: {}: {}",
                    r["subject"].as_str().unwrap_or_default(),
                    r["unbounded"].as_str().unwrap_or_default()
                ),
            };
        }
        let callers: Vec<String> = s["dependents"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                format!(
                    "{} (calls {})",
                    d[0].as_str().unwrap_or_default(),
                    d[1].as_str().unwrap_or_default()
                )
            })
            .collect();
        if !callers.is_empty() {
            let _ = writeln!(
                o,
                "       callers losing what they call: {}",
                callers.join(", ")
            );
        }
        for p in s["pending"].as_array().into_iter().flatten().take(3) {
            let _ = writeln!(
                o,
                "       pending {}: {}",
                p["pod"].as_str().unwrap_or_default(),
                p["message"].as_str().unwrap_or_default()
            );
        }
    }
    let _ = writeln!(o);
}

/// A disaster-recovery plan's runbooks (`details.runbooks`), the first few.
fn runbooks_text(o: &mut String, r: &Report) {
    let Some(list) = r.details.get("runbooks").and_then(|s| s.as_array()) else {
        return;
    };
    if list.is_empty() {
        return;
    }
    let _ = writeln!(o, "RUNBOOKS ({}; -o json lists all)", list.len());
    for b in list.iter().take(3) {
        let _ = writeln!(o, "  {}", b["scenario"].as_str().unwrap_or_default());
        for d in b["detection"].as_array().into_iter().flatten() {
            let _ = writeln!(o, "     detect: {}", d.as_str().unwrap_or_default());
        }
        for a in b["actions"].as_array().into_iter().flatten().take(6) {
            let _ = writeln!(o, "       $ {}", a.as_str().unwrap_or_default());
        }
        for v in b["validation"].as_array().into_iter().flatten().take(3) {
            let _ = writeln!(o, "     verify: {}", v.as_str().unwrap_or_default());
        }
        let _ = writeln!(
            o,
            "     simulated end state: {}",
            b["endState"].as_str().unwrap_or_default()
        );
    }
    let _ = writeln!(o);
}

/// A disaster-recovery plan's data at risk (`details.rpo`).
fn rpo_text(o: &mut String, r: &Report) {
    let Some(list) = r.details.get("rpo").and_then(|s| s.as_array()) else {
        return;
    };
    if list.is_empty() {
        return;
    }
    let _ = writeln!(o, "DATA AT RISK (RPO)");
    for x in list {
        let _ = writeln!(
            o,
            "  {}: {}",
            x["subject"].as_str().unwrap_or_default(),
            x["basis"].as_str().unwrap_or_default()
        );
    }
    let _ = writeln!(o);
}

/// The steps as a Markdown table (cluster text in code spans).
fn steps_markdown(o: &mut String, r: &Report) {
    let Some(steps) = r.details.get("steps").and_then(|s| s.as_array()) else {
        return;
    };
    if steps.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "### Steps\n\n| step | subject | action | new ready | old ready | desired | pending | blocked by |\n|---|---|---|---|---|---|---|---|"
    );
    for s in steps {
        let n = |k: &str| s.get(k).and_then(|v| v.as_i64()).unwrap_or(0);
        let blocker = s
            .get("blocker")
            .map(|b| {
                cell(&format!(
                    "{}: {}",
                    b["kind"].as_str().unwrap_or_default(),
                    b["message"].as_str().unwrap_or_default()
                ))
            })
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            n("step"),
            cell(s["subject"].as_str().unwrap_or_default()),
            cell(s["action"].as_str().unwrap_or_default()),
            n("newReady"),
            n("oldReady"),
            n("desired"),
            n("pending"),
            blocker
        );
    }
    let _ = writeln!(o);
}

pub fn markdown(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "## {}: {}\n", r.analysis, code(&r.request.text));
    for c in &r.clusters {
        let _ = writeln!(
            o,
            "- cluster {}, captured {} ({} pods, {} nodes; evidence: {})",
            code(&c.name),
            c.captured_at,
            c.pods,
            c.nodes,
            if c.sources.is_empty() {
                "resources only".to_string()
            } else {
                c.sources.join(", ")
            }
        );
    }
    let _ = writeln!(o, "\n### Summary\n\n{}\n", prose(&r.summary));
    steps_markdown(&mut o, r);
    if !r.root_causes.is_empty() {
        let _ = writeln!(
            o,
            "### Root causes\n\n| rank | subject | category | score |\n|---|---|---|---|"
        );
        for rc in &r.root_causes {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {:.1} |",
                rc.rank,
                cell(&rc.subject.label()),
                rc.category,
                rc.score
            );
        }
        if let Some(top) = r.root_causes.first() {
            if let Some(chain) = r.chains.get(top.chain) {
                let _ = writeln!(o, "\n**Causality chain**\n");
                for (i, l) in chain.links.iter().enumerate() {
                    if let Some(p) = branch_parent(chain, l) {
                        let _ = writeln!(
                            o,
                            "1. also {} *{}* → {}",
                            code(&p.subject.label()),
                            l.reason,
                            code(&l.subject.label())
                        );
                    } else if i == 0 {
                        let _ = writeln!(o, "1. {}", code(&l.subject.label()));
                    } else {
                        let _ = writeln!(o, "1. *{}* → {}", l.reason, code(&l.subject.label()));
                    }
                }
            }
        }
        let _ = writeln!(o);
    }
    if !r.recommendations.is_empty() {
        let _ = writeln!(o, "### Recommendations\n");
        for rec in &r.recommendations {
            let _ = writeln!(
                o,
                "{}. **{}** ({}, risk {}): {} Expected: {}.",
                rec.rank,
                prose(&rec.title),
                rec.horizon,
                rec.risk,
                prose(&rec.why),
                prose(&rec.expected_effect)
            );
            if !rec.steps.is_empty() {
                let steps: Vec<String> = rec
                    .steps
                    .iter()
                    .map(|s| s.replace(['\n', '\r'], " "))
                    .collect();
                let f = fence(&steps.join("\n"));
                let _ = writeln!(o, "   {f}sh");
                for s in &steps {
                    let _ = writeln!(o, "   {s}");
                }
                let _ = writeln!(o, "   {f}");
            }
            for v in &rec.verify {
                let _ = writeln!(o, "   - verify: {}", code(v));
            }
            for v in &rec.rollback {
                let _ = writeln!(o, "   - roll back: {}", code(v));
            }
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "### Impact\n");
    for s in &r.impact.services {
        let _ = writeln!(
            o,
            "- {} {}: {}/{} ready",
            s.state,
            code(&s.subject.label()),
            s.ready_replicas,
            s.replicas
        );
    }
    for e in &r.impact.entry_points {
        let _ = writeln!(o, "- entry point {}", code(e));
    }
    let _ = writeln!(o, "\n{}\n", prose(&r.impact.note));
    if !r.findings.is_empty() {
        let _ = writeln!(
            o,
            "### Findings\n\n| id | severity | subject | kind | since | evidence |\n|---|---|---|---|---|---|"
        );
        for f in r.findings.iter().take(60) {
            let mut ev = f
                .evidence
                .first()
                .map(|e| format!("{} {}: {}", e.source, e.location, e.text))
                .unwrap_or_default();
            if let Some(res) = &f.resolved {
                ev = format!("resolved: {}; {ev}", res.why);
            }
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} |",
                f.id,
                sev(f.severity),
                cell(&f.subject.label()),
                f.kind,
                f.since.clone().unwrap_or_default(),
                cell(&super::detect::clip(&ev, 200))
            );
        }
        let _ = writeln!(o);
    }
    if !r.limitations.is_empty() {
        let _ = writeln!(o, "### Limitations\n");
        for l in &r.limitations {
            let _ = writeln!(o, "- {}", prose(l));
        }
    }
    o
}

/// The link a branch follows from; `None` for a link that follows the previous one.
fn branch_parent<'a>(
    chain: &'a crate::report::Chain,
    l: &crate::report::ChainLink,
) -> Option<&'a crate::report::ChainLink> {
    l.from.and_then(|i| chain.links.get(i))
}
