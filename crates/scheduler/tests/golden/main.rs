//! Golden cases: clusters in the API's own shapes and the FailedScheduling message
//! kube-scheduler writes for each (`None`: the pod fits). Facts ported from the plugins'
//! own tests in kubernetes/kubernetes (`taint_toleration_test.go`, `node_affinity_test.go`,
//! `fit_test.go`, `filtering_test.go`, `types_test.go`) and from the code where noted.

mod common;

mod drain;
mod edges;
mod fit;
mod hints;
mod interpod;
mod node;
mod preemption;
mod score;
mod spread;
mod volumes;

use serde_json::Value;

/// Asserts the verdict for `incoming` on `objects` at `version`.
pub fn expect(case: &str, version: &str, objects: Vec<Value>, incoming: Value, want: Option<&str>) {
    let v = common::schedule(version, objects, incoming);
    assert_eq!(v.message.as_deref(), want, "case {case}: {v:#?}");
    assert_eq!(v.schedulable, want.is_none(), "case {case}");
}

/// The release most cases are stated for.
pub const V131: &str = "v1.31.4";
