//! The FailedScheduling message, as `FitError.Error()` writes it.

use std::collections::BTreeMap;

/// `0/N nodes are available: <histogram>.` — each reason counted once per node that gave
/// it, entries `"<count> <reason>"` sorted as Go's `sort.Strings` sorts them (byte order of
/// the whole entry, so `"10 …"` comes before `"2 …"`), joined by `", "`. When a PreFilter
/// plugin rejected the pod, its message replaces the histogram. The PostFilter message
/// (preemption) follows after a space.
pub fn fit_error(
    total_nodes: usize,
    pre_filter: Option<&str>,
    histogram: &BTreeMap<String, usize>,
    post_filter: Option<&str>,
) -> String {
    let mut msg = format!("0/{total_nodes} nodes are available:");
    if let Some(pre) = pre_filter {
        msg.push_str(&format!(" {pre}."));
    } else {
        let mut entries: Vec<String> = histogram
            .iter()
            .map(|(reason, count)| format!("{count} {reason}"))
            .collect();
        entries.sort();
        if !entries.is_empty() {
            msg.push_str(&format!(" {}.", entries.join(", ")));
        }
    }
    if let Some(post) = post_filter.filter(|p| !p.is_empty()) {
        msg.push(' ');
        msg.push_str(post);
    }
    msg
}

/// Counts each reason of each node's status.
pub fn histogram<'a>(reasons: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut h = BTreeMap::new();
    for r in reasons {
        *h.entry(r.to_string()).or_default() += 1;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(entries: &[(&str, usize)]) -> BTreeMap<String, usize> {
        entries.iter().map(|(r, c)| (r.to_string(), *c)).collect()
    }

    /// `TestFitError_Error` in kube-scheduler's framework/types_test.go.
    #[test]
    fn fit_errors_read_as_the_scheduler_writes_them() {
        let pre = "Node(s) failed PreFilter plugin FalsePreFilter";
        let post = "Error running PostFilter plugin FailedPostFilter";
        assert_eq!(
            fit_error(3, Some(pre), &h(&[("x", 3)]), None),
            "0/3 nodes are available: Node(s) failed PreFilter plugin FalsePreFilter."
        );
        assert_eq!(
            fit_error(3, Some(pre), &BTreeMap::new(), Some(post)),
            "0/3 nodes are available: Node(s) failed PreFilter plugin FalsePreFilter. Error running PostFilter plugin FailedPostFilter"
        );
        let one = h(&[("Node(s) failed Filter plugin FalseFilter-1", 3)]);
        assert_eq!(
            fit_error(3, None, &one, None),
            "0/3 nodes are available: 3 Node(s) failed Filter plugin FalseFilter-1."
        );
        assert_eq!(
            fit_error(3, None, &one, Some(post)),
            "0/3 nodes are available: 3 Node(s) failed Filter plugin FalseFilter-1. Error running PostFilter plugin FailedPostFilter"
        );
        assert_eq!(
            fit_error(
                3,
                None,
                &h(&[
                    ("Node(s) failed Filter plugin FalseFilter-1", 2),
                    ("Node(s) failed Filter plugin FalseFilter-2", 1)
                ]),
                None
            ),
            "0/3 nodes are available: 1 Node(s) failed Filter plugin FalseFilter-2, 2 Node(s) failed Filter plugin FalseFilter-1."
        );
        assert_eq!(
            fit_error(
                1,
                None,
                &h(&[("Node failed Permit plugin Permit-1", 1)]),
                None
            ),
            "0/1 nodes are available: 1 Node failed Permit plugin Permit-1."
        );
    }

    /// Entries sort as strings, not by count.
    #[test]
    fn ten_sorts_before_two() {
        assert_eq!(
            fit_error(
                12,
                None,
                &h(&[("Insufficient cpu", 10), ("Too many pods", 2)]),
                None
            ),
            "0/12 nodes are available: 10 Insufficient cpu, 2 Too many pods."
        );
        assert_eq!(
            fit_error(
                12,
                None,
                &h(&[("Insufficient cpu", 2), ("Too many pods", 10)]),
                None
            ),
            "0/12 nodes are available: 10 Too many pods, 2 Insufficient cpu."
        );
    }
}
