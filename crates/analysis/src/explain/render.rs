//! Text and Markdown for an [`Explanation`]: the shared report rendering, then the views
//! the question asked for (timeline phases, service map and coupling, business, alert
//! gaps, differences). Cluster text (event messages, log lines) stays quoted: in code
//! spans in Markdown, after a `│` gutter in text.

use std::fmt::Write as _;

use super::Explanation;
use crate::render;

/// `Deployment shop/auth`, `Node ip-10-0-1-1` (cluster-scoped: no namespace).
fn obj(kind: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

pub fn text(x: &Explanation) -> String {
    let mut o = render::text(&x.report);
    let d = &x.details;
    for t in &d.timeline {
        let _ = writeln!(
            o,
            "\nTIMELINE {} ({} to {}, times {}; {} entries)",
            t.cluster, t.window_start, t.window_end, d.timezone, t.total_entries
        );
        if !t.narrative.is_empty() {
            let _ = writeln!(o, "  {}", t.narrative);
        }
        for p in &t.phases {
            let _ = writeln!(
                o,
                "  [{}] +{}s {} ({} entries)",
                p.phase, p.seconds_after_trigger, p.headline, p.entry_count
            );
        }
        for e in t.entries.iter().take(60) {
            let _ = writeln!(
                o,
                "  {} {:8} {:14} {} {}/{} {} │ {}",
                e.time, e.severity, e.category, e.kind, e.namespace, e.name, e.reason, e.message
            );
        }
        if t.entries.len() > 60 {
            let _ = writeln!(o, "  … {} more (-o json lists them)", t.entries.len() - 60);
        }
    }
    for m in &d.service_map {
        let _ = writeln!(
            o,
            "\nSERVICE MAP {} ({} nodes, {} edges; -o mermaid or -o dot draws it)",
            m.cluster,
            m.nodes.len(),
            m.edges.len()
        );
        for e in m.edges.iter().take(80) {
            let sources: Vec<&str> = e.evidence.iter().map(|v| v.source.as_str()).collect();
            let _ = writeln!(
                o,
                "  {} → {}  [{}]",
                obj(&e.from.kind, &e.from.namespace, &e.from.name),
                obj(&e.to.kind, &e.to.namespace, &e.to.name),
                sources.join(", ")
            );
        }
        for c in &m.hidden_coupling {
            let _ = writeln!(
                o,
                "  coupling: {} → {} via [{}] ({} hops): {}",
                c.from,
                c.to,
                c.via.join(" → "),
                c.hops,
                c.note
            );
            for ev in &c.evidence {
                let _ = writeln!(o, "      │ {ev}");
            }
        }
    }
    if let Some(b) = &d.business {
        let _ = writeln!(o, "\nBUSINESS");
        if let Some(l) = b.revenue_lost {
            let _ = writeln!(o, "  revenue lost so far: {l:.0}");
        }
        for s in &b.slo_burn {
            let _ = writeln!(
                o,
                "  {} SLO {}%: burned {:.1} of {:.1} budget minutes (30 d) = {:.1}%  ({})",
                s.subject,
                s.slo,
                s.burned_minutes,
                s.budget_minutes_30d,
                s.burned_percent,
                s.source
            );
        }
        for n in &b.notes {
            let _ = writeln!(o, "  - {n}");
        }
    }
    if !d.alert_gaps.is_empty() {
        let _ = writeln!(o, "\nALERT GAPS");
        for g in &d.alert_gaps {
            let _ = writeln!(
                o,
                "  [{}] {} {}: {}",
                g.severity, g.subject, g.gap, g.detail
            );
            let _ = writeln!(o, "       fix: {}", g.fix);
        }
    }
    if let Some(c) = &d.comparison {
        let _ = writeln!(o, "\nDIFFERENCES ({})", c.len());
        for r in c.iter().take(40) {
            let _ = writeln!(
                o,
                "  {}{} {}/{}: {} differ{}",
                if r.matters { "! " } else { "  " },
                r.kind,
                r.namespace,
                r.name,
                r.differs.join(", "),
                if r.failing_in.is_empty() {
                    String::new()
                } else {
                    format!("; failing in {}", r.failing_in.join(", "))
                }
            );
        }
    }
    o
}

pub fn markdown(x: &Explanation) -> String {
    let mut o = render::markdown(&x.report);
    let d = &x.details;
    for t in &d.timeline {
        let _ = writeln!(
            o,
            "\n### Timeline: {} ({} to {}, {})\n",
            render::prose(&t.cluster),
            t.window_start,
            t.window_end,
            d.timezone
        );
        if !t.narrative.is_empty() {
            let _ = writeln!(o, "{}\n", render::prose(&t.narrative));
        }
        if !t.phases.is_empty() {
            let _ = writeln!(
                o,
                "| phase | start | after trigger | what | entries |\n|---|---|---|---|---|"
            );
            for p in &t.phases {
                let _ = writeln!(
                    o,
                    "| {} | {} | {}s | {} | {} |",
                    p.phase,
                    p.start,
                    p.seconds_after_trigger,
                    render::prose(&p.headline).replace('|', "\\|"),
                    p.entry_count
                );
            }
            let _ = writeln!(o);
        }
        let _ = writeln!(
            o,
            "| time | severity | category | object | reason | message |\n|---|---|---|---|---|---|"
        );
        for e in t.entries.iter().take(80) {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} |",
                e.time,
                e.severity,
                e.category,
                render::cell(&obj(&e.kind, &e.namespace, &e.name)),
                render::cell(&e.reason),
                render::cell(&crate::detect::clip(&e.message, 160))
            );
        }
    }
    for m in &d.service_map {
        let _ = writeln!(
            o,
            "\n### Service map: {} ({} nodes, {} edges)\n",
            render::prose(&m.cluster),
            m.nodes.len(),
            m.edges.len()
        );
        for e in m.edges.iter().take(80) {
            let sources: Vec<&str> = e.evidence.iter().map(|v| v.source.as_str()).collect();
            let _ = writeln!(
                o,
                "- {} → {} ({})",
                render::code(&obj(&e.from.kind, &e.from.namespace, &e.from.name)),
                render::code(&obj(&e.to.kind, &e.to.namespace, &e.to.name)),
                sources.join(", ")
            );
        }
        if !m.hidden_coupling.is_empty() {
            let _ = writeln!(o, "\n**Hidden coupling**\n");
            for c in &m.hidden_coupling {
                let _ = writeln!(
                    o,
                    "- {} → {} via {} ({} hops): {}",
                    render::code(&c.from),
                    render::code(&c.to),
                    c.via
                        .iter()
                        .map(|v| render::code(v))
                        .collect::<Vec<_>>()
                        .join(" → "),
                    c.hops,
                    render::prose(&c.note)
                );
                for ev in &c.evidence {
                    let _ = writeln!(o, "  - {}", render::code(ev));
                }
            }
        }
    }
    if let Some(b) = &d.business {
        let _ = writeln!(o, "\n### Business impact\n");
        if let Some(l) = b.revenue_lost {
            let _ = writeln!(o, "- revenue lost so far: {l:.0}");
        }
        for s in &b.slo_burn {
            let _ = writeln!(
                o,
                "- {} (SLO {}%): {:.1}% of the 30-day error budget burned ({})",
                render::code(&s.subject),
                s.slo,
                s.burned_percent,
                render::prose(&s.source)
            );
        }
        for n in &b.notes {
            let _ = writeln!(o, "- {}", render::prose(n));
        }
    }
    if !d.alert_gaps.is_empty() {
        let _ = writeln!(
            o,
            "\n### Alert gaps\n\n| severity | subject | gap | detail | fix |\n|---|---|---|---|---|"
        );
        for g in &d.alert_gaps {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} |",
                g.severity,
                render::cell(&g.subject),
                g.gap,
                render::prose(&g.detail).replace('|', "\\|"),
                render::cell(&g.fix)
            );
        }
    }
    if let Some(c) = &d.comparison {
        let _ = writeln!(
            o,
            "\n### Differences\n\n| workload | differs | failing in | matters |\n|---|---|---|---|"
        );
        for r in c.iter().take(60) {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                render::cell(&obj(&r.kind, &r.namespace, &r.name)),
                render::prose(&r.differs.join(", ")).replace('|', "\\|"),
                render::prose(&r.failing_in.join(", ")).replace('|', "\\|"),
                if r.matters { "yes" } else { "" }
            );
        }
    }
    o
}
