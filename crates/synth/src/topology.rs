//! Nodes across three zones in pools (system, general, memory-optimised, batch with a
//! taint), and a placement that fills them the way a scheduler would at a glance: eligible
//! pool, enough allocatable left, least-loaded first, zones spread.

use serde_json::{Value, json};

use super::signals::NodeSignals;
use super::world::World;

pub const ZONES: [&str; 3] = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
pub const KUBELET_VERSION: &str = "v1.31.4";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    System,
    General,
    Memory,
    Batch,
}

impl Pool {
    pub fn label(self) -> &'static str {
        match self {
            Pool::System => "system",
            Pool::General => "general",
            Pool::Memory => "memory",
            Pool::Batch => "batch",
        }
    }

    /// (instance type, cpu cores, memory GiB)
    fn instance(self) -> (&'static str, u64, u64) {
        match self {
            Pool::System => ("m6i.large", 2, 8),
            Pool::General => ("m6i.2xlarge", 8, 32),
            Pool::Memory => ("r6i.2xlarge", 8, 64),
            Pool::Batch => ("c6i.4xlarge", 16, 32),
        }
    }

    /// The taint the pool carries, as (key, value, effect).
    pub fn taint(self) -> Option<(&'static str, &'static str, &'static str)> {
        match self {
            Pool::System => Some(("CriticalAddonsOnly", "true", "NoSchedule")),
            Pool::Batch => Some(("workload", "batch", "NoSchedule")),
            _ => None,
        }
    }
}

/// A node as placement sees it.
#[derive(Debug, Clone)]
pub struct NodeSlot {
    pub name: String,
    pub zone: &'static str,
    pub pool: Pool,
    pub cpu_alloc_m: f64,
    pub mem_alloc: f64,
    pub cpu_used_m: f64,
    pub mem_used: f64,
    pub pods: u32,
    pub ip: String,
}

#[derive(Clone)]
pub struct Topology {
    pub nodes: Vec<NodeSlot>,
    cursor: [usize; 4],
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// What the workloads will request per pool, so pools are sized to fit them.
#[derive(Debug, Clone, Default)]
pub struct Demand {
    pub general_cpu_m: f64,
    pub general_mem: f64,
    pub memory_cpu_m: f64,
    pub memory_mem: f64,
    pub batch_pods: usize,
}

/// Nodes per pool: enough for the demand at 80% of allocatable, at least `min_total` in
/// all (extra nodes go to the general pool), system 2 once the cluster has 8+ nodes.
pub fn pool_sizes(min_total: usize, d: &Demand) -> [(Pool, usize); 4] {
    let need = |pool: Pool, cpu: f64, mem: f64| {
        let (_, cores, gib) = pool.instance();
        let by_cpu = cpu / (cores as f64 * 1000.0 * 0.8);
        let by_mem = mem / (gib as f64 * GIB * 0.8);
        by_cpu.max(by_mem).ceil() as usize
    };
    let system = if min_total >= 8 { 2 } else { 0 };
    let memory = need(Pool::Memory, d.memory_cpu_m, d.memory_mem).max(1);
    let batch = if d.batch_pods > 0 || min_total >= 6 {
        d.batch_pods.div_ceil(100).max(1)
    } else {
        0
    };
    let general = need(Pool::General, d.general_cpu_m, d.general_mem)
        .max(min_total.saturating_sub(system + memory + batch))
        .max(1);
    [
        (Pool::System, system),
        (Pool::General, general),
        (Pool::Memory, memory),
        (Pool::Batch, batch),
    ]
}

impl Topology {
    pub fn build(world: &mut World, sizes: &[(Pool, usize)]) -> Topology {
        let mut nodes = Vec::new();
        let mut i = 0usize;
        for &(pool, count) in sizes {
            for j in 0..count {
                let idx = i + j;
                let zone = ZONES[idx % ZONES.len()];
                let (itype, cpu, mem_gib) = pool.instance();
                let name = format!(
                    "ip-10-{}-{}-{}.eu-west-1.compute.internal",
                    (idx / 250) % 250,
                    idx % 250,
                    10 + (idx % 7)
                );
                let ip = format!("10.{}.{}.{}", (idx / 250) % 250, idx % 250, 10 + (idx % 7));
                let cpu_alloc = cpu as f64 * 1000.0 - 80.0 - cpu as f64 * 10.0;
                let mem_alloc = mem_gib as f64 * GIB * 0.92;
                let age_days = 3.0 + ((idx * 7) % 40) as f64;
                let mut node = json!({
                    "apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": name, "uid": world.rng.uid(), "creationTimestamp": world.at(age_days * 1440.0),
                        "resourceVersion": "1",
                        "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                            "beta.kubernetes.io/instance-type": itype, "node.kubernetes.io/instance-type": itype,
                            "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "eu-west-1",
                            "failure-domain.beta.kubernetes.io/zone": zone,
                            "eks.amazonaws.com/nodegroup": format!("{}-pool", pool.label()), "pool": pool.label()},
                        "annotations": {"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
                    "spec": {"providerID": format!("aws:///{zone}/i-0{:015x}", world.rng.next_u64() >> 4)},
                    "status": {
                        "capacity": {"cpu": cpu.to_string(), "memory": format!("{}Ki", mem_gib * 1024 * 1024), "pods": "110", "ephemeral-storage": "104845292Ki"},
                        "allocatable": {"cpu": format!("{}m", cpu_alloc as u64), "memory": format!("{}Ki", (mem_alloc / 1024.0) as u64), "pods": "110", "ephemeral-storage": "95551679124"},
                        "conditions": node_conditions(world, age_days * 1440.0),
                        "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name},
                            {"type": "InternalDNS", "address": name}],
                        "nodeInfo": {"kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": KUBELET_VERSION,
                            "osImage": "Amazon Linux 2023.6.20241121", "kernelVersion": "6.1.115-126.197.amzn2023.x86_64",
                            "containerRuntimeVersion": "containerd://1.7.23", "operatingSystem": "linux", "architecture": "amd64",
                            "machineID": format!("ec2{:029x}", world.rng.next_u64()), "systemUUID": world.rng.uid(), "bootID": world.rng.uid()},
                        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}
                    }
                });
                if let Some((k, v, e)) = pool.taint() {
                    node["spec"]["taints"] = json!([{"key": k, "value": v, "effect": e}]);
                }
                world.add(node);
                world.signals.nodes.push(NodeSignals {
                    name: name.clone(),
                    cpu_capacity_m: cpu as f64 * 1000.0,
                    mem_capacity: mem_gib as f64 * GIB,
                    system_cpu_m: 120.0 + cpu as f64 * 15.0,
                    system_mem: 0.6 * GIB,
                    reporting: true,
                });
                nodes.push(NodeSlot {
                    name,
                    zone,
                    pool,
                    cpu_alloc_m: cpu_alloc,
                    mem_alloc,
                    cpu_used_m: 0.0,
                    mem_used: 0.0,
                    pods: 0,
                    ip,
                });
            }
            i += count;
        }
        Topology {
            nodes,
            cursor: [0; 4],
        }
    }

    /// Picks a node for a pod in `pool`, round-robin from a cursor so placement is spread
    /// and deterministic. Only system pods (which merely tolerate their pool) fall back to
    /// the general pool; pods that select a pool stay Pending rather than break their
    /// nodeSelector. `None` when nothing fits: the caller makes the pod Pending.
    pub fn place(&mut self, pool: Pool, cpu_m: f64, mem: f64) -> Option<usize> {
        let fallback: &[Pool] = if pool == Pool::System {
            &[Pool::System, Pool::General]
        } else {
            &[pool]
        };
        for &p in fallback {
            let candidates: Vec<usize> = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.pool == p)
                .map(|(i, _)| i)
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let c = &mut self.cursor[p as usize];
            for step in 0..candidates.len() {
                let idx = candidates[(*c + step) % candidates.len()];
                let n = &self.nodes[idx];
                if n.cpu_used_m + cpu_m <= n.cpu_alloc_m
                    && n.mem_used + mem <= n.mem_alloc
                    && n.pods < 110
                {
                    *c = (*c + step + 1) % candidates.len();
                    let n = &mut self.nodes[idx];
                    n.cpu_used_m += cpu_m;
                    n.mem_used += mem;
                    n.pods += 1;
                    return Some(idx);
                }
            }
        }
        None
    }

    /// Nodes of a pool, for DaemonSets and faults.
    pub fn in_pool(&self, pool: Pool) -> impl Iterator<Item = &NodeSlot> {
        self.nodes.iter().filter(move |n| n.pool == pool)
    }

    /// A node of a pool for a pod that has already completed (it holds no resources now).
    pub fn any_in_pool(&self, pool: Pool, i: usize) -> Option<usize> {
        let idx: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| self.nodes[n].pool == pool)
            .collect();
        idx.get(i % idx.len().max(1)).copied()
    }
}

fn node_conditions(world: &World, since_ago: f64) -> Value {
    let t = world.at(since_ago);
    let hb = world.at(0.5);
    json!([
        {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available", "lastHeartbeatTime": hb, "lastTransitionTime": t},
        {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure", "lastHeartbeatTime": hb, "lastTransitionTime": t},
        {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available", "lastHeartbeatTime": hb, "lastTransitionTime": t},
        {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": hb, "lastTransitionTime": t}
    ])
}

/// Sets a node condition's status (and transition time), e.g. Ready=False, MemoryPressure=True.
pub fn set_node_condition(
    world: &mut World,
    node: &str,
    ctype: &str,
    status: &str,
    reason: &str,
    message: &str,
    since_ago: f64,
) {
    let t = world.at(since_ago);
    let hb = world.at(if ctype == "Ready" && status != "True" {
        since_ago
    } else {
        0.5
    });
    if let Some(n) = world.get_mut("Node", "", node) {
        if let Some(conds) = n["status"]["conditions"].as_array_mut() {
            for c in conds.iter_mut().filter(|c| c["type"] == ctype) {
                c["status"] = json!(status);
                c["reason"] = json!(reason);
                c["message"] = json!(message);
                c["lastTransitionTime"] = json!(t);
                c["lastHeartbeatTime"] = json!(hb);
            }
        }
    }
}
