//! Resource accounting as kube-scheduler does it (`resourcehelper.PodRequests`, the
//! `NodeInfo` it keeps per node): integers in the units the scheduler compares — milli-CPU,
//! bytes, counts — never floats.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use intel_model::quantity;

/// Scoring's request for a container that states no CPU request (`DefaultMilliCPURequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Scoring's request for a container that states no memory request (`DefaultMemoryRequest`).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 * 1024 * 1024;

/// Requested or allocatable resources. `scalar` holds extended resources
/// (`nvidia.com/gpu`), prefixed native ones (`kubernetes.io/…`), `hugepages-*` and
/// `attachable-volumes-*`, by name (sorted, so reasons come out in a fixed order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    pub scalar: BTreeMap<String, i64>,
}

/// `schedutil.IsScalarResourceName`: what the scheduler accounts beyond cpu, memory and
/// ephemeral storage.
pub fn is_scalar(name: &str) -> bool {
    name.contains('/') || name.starts_with("hugepages-") || name.starts_with("attachable-volumes-")
}

impl Resources {
    /// From a ResourceList (`requests`, `allocatable`, `overhead`). Quantities that do not
    /// parse count as zero, as they cannot have been admitted by the API server anyway.
    pub fn from_list(list: &BTreeMap<String, Quantity>) -> Resources {
        let mut r = Resources::default();
        for (name, q) in list {
            r.set(name, &q.0);
        }
        r
    }

    fn set(&mut self, name: &str, q: &str) {
        match name {
            "cpu" => self.milli_cpu = quantity::milli_value(q).unwrap_or(0),
            "memory" => self.memory = quantity::value(q).unwrap_or(0),
            "ephemeral-storage" => self.ephemeral_storage = quantity::value(q).unwrap_or(0),
            _ if is_scalar(name) => {
                self.scalar
                    .insert(name.to_string(), quantity::value(q).unwrap_or(0));
            }
            _ => {}
        }
    }

    pub fn add(&mut self, other: &Resources) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() += v;
        }
    }

    pub fn sub(&mut self, other: &Resources) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() -= v;
        }
    }

    /// Element-wise maximum.
    fn max_with(&mut self, other: &Resources) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = (*e).max(*v);
        }
    }

    pub fn scalar(&self, name: &str) -> i64 {
        self.scalar.get(name).copied().unwrap_or(0)
    }

    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.values().all(|v| *v == 0)
    }
}

fn requests(c: &Container) -> Resources {
    c.resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .map(Resources::from_list)
        .unwrap_or_default()
}

fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

/// What a pod requests, as `resourcehelper.PodRequests` computes it for the scheduler: the
/// sum of its containers and its restartable (sidecar) init containers, or the largest
/// init container together with the sidecars started before it if that is more, per
/// resource; pod-level requests (cpu, memory, hugepages) replace the aggregate for those
/// resources; then the pod's overhead is added.
pub fn pod_requests(spec: &PodSpec) -> Resources {
    let mut sum = Resources::default();
    for c in &spec.containers {
        sum.add(&requests(c));
    }
    let mut init_max = Resources::default();
    let mut sidecars = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let r = requests(c);
        if is_sidecar(c) {
            sum.add(&r);
            sidecars.add(&r);
            init_max.max_with(&sidecars);
        } else {
            let mut use_ = r;
            use_.add(&sidecars);
            init_max.max_with(&use_);
        }
    }
    sum.max_with(&init_max);
    if let Some(pod_level) = spec.resources.as_ref().and_then(|r| r.requests.as_ref()) {
        for (name, q) in pod_level {
            if name == "cpu" || name == "memory" || name.starts_with("hugepages-") {
                sum.set(name, &q.0);
            }
        }
    }
    if let Some(overhead) = &spec.overhead {
        sum.add(&Resources::from_list(overhead));
    }
    sum
}

/// The (milli-CPU, memory) scoring counts for a pod: like [`pod_requests`], but a
/// container that states no CPU or memory request counts as 100m or 200Mi
/// (`NonMissingContainerRequests`). Never used to filter.
pub fn pod_non_zero_requests(spec: &PodSpec) -> (i64, i64) {
    let non_zero = |c: &Container| {
        let list = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        let get = |k: &str| list.and_then(|l| l.get(k));
        let cpu = get("cpu")
            .map(|q| quantity::milli_value(&q.0).unwrap_or(0))
            .unwrap_or(DEFAULT_MILLI_CPU_REQUEST);
        let mem = get("memory")
            .map(|q| quantity::value(&q.0).unwrap_or(0))
            .unwrap_or(DEFAULT_MEMORY_REQUEST);
        (cpu, mem)
    };
    let (mut cpu, mut mem) = (0, 0);
    for c in &spec.containers {
        let (a, b) = non_zero(c);
        cpu += a;
        mem += b;
    }
    let (mut init_cpu, mut init_mem, mut side_cpu, mut side_mem) = (0, 0, 0, 0);
    for c in spec.init_containers.iter().flatten() {
        let (a, b) = non_zero(c);
        if is_sidecar(c) {
            cpu += a;
            mem += b;
            side_cpu += a;
            side_mem += b;
            init_cpu = i64::max(init_cpu, side_cpu);
            init_mem = i64::max(init_mem, side_mem);
        } else {
            init_cpu = init_cpu.max(a + side_cpu);
            init_mem = init_mem.max(b + side_mem);
        }
    }
    cpu = cpu.max(init_cpu);
    mem = mem.max(init_mem);
    if let Some(pod_level) = spec.resources.as_ref().and_then(|r| r.requests.as_ref()) {
        if let Some(q) = pod_level.get("cpu") {
            cpu = quantity::milli_value(&q.0).unwrap_or(cpu);
        }
        if let Some(q) = pod_level.get("memory") {
            mem = quantity::value(&q.0).unwrap_or(mem);
        }
    }
    if let Some(overhead) = &spec.overhead {
        let o = Resources::from_list(overhead);
        cpu += o.milli_cpu;
        mem += o.memory;
    }
    (cpu, mem)
}
