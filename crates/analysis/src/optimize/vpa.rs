//! The VPA recommender's estimate (kubernetes/autoscaler, `vertical-pod-autoscaler/pkg/
//! recommender`), from the same points krr reads:
//!
//! - CPU samples go into an exponential histogram (first bucket 0.01 cores, ratio 1.05),
//!   each weighted by the container's CPU request in cores (at least 0.1) and by a decay
//!   of half-life 24 h (`2^((t - t0) / 24h)`): newer samples weigh more.
//! - Memory goes in as the peak of each 24-hour aggregation window (first bucket 1e7
//!   bytes, ratio 1.05), weighted by the decay at the window's start; an OOM kill raises
//!   the last window's peak to `max(m + 100 MiB, m × 1.2)`, m the larger of the memory
//!   request and that peak (`RecordOOM`: `OOMMinBumpUp`, `OOMBumpUpRatio`).
//! - A percentile is the end of the bucket where the running weight reaches it
//!   (`histogram.Percentile`). Target: the 90th, plus a 15% margin; lower bound: the
//!   50th, upper bound: the 95th, both plus the margin and scaled by the confidence
//!   (`(1 + 0.001/c)^-2` and `(1 + 1/c)^1`), where c = min(days between the first and
//!   the last sample, samples / 1440) — samples counted in minutes, since a range query's
//!   points are a step apart where the recommender's are about a minute.
//! - Every estimate at least 25 millicores and 250 MiB per pod, shared among its
//!   containers (`pod-recommendation-min-cpu-millicores`, `…-min-memory-mb`).
//!
//! The recommender keeps its histograms between restarts and reads every sample as it
//! comes; here the history is what the snapshot holds, so the span of the series is the
//! span of the estimate, and the confidence says so.

use serde::Serialize;

/// The recommender's defaults.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Vpa {
    pub target_percentile: f64,
    pub lower_bound_percentile: f64,
    pub upper_bound_percentile: f64,
    pub safety_margin_fraction: f64,
    pub half_life_hours: f64,
    pub pod_min_cpu_millicores: f64,
    pub pod_min_memory_mib: f64,
}

impl Default for Vpa {
    fn default() -> Self {
        Vpa {
            target_percentile: 0.9,
            lower_bound_percentile: 0.5,
            upper_bound_percentile: 0.95,
            safety_margin_fraction: 0.15,
            half_life_hours: 24.0,
            pod_min_cpu_millicores: 25.0,
            pod_min_memory_mib: 250.0,
        }
    }
}

const DAY: f64 = 86_400.0;
const MIB: f64 = 1024.0 * 1024.0;

/// An exponential histogram as the recommender's `HistogramOptions` define it.
struct Histogram {
    first: f64,
    ratio: f64,
    buckets: usize,
    weights: Vec<f64>,
}

impl Histogram {
    fn new(max: f64, first: f64, ratio: f64) -> Histogram {
        let buckets = ((max * (ratio - 1.0) / first + 1.0).ln() / ratio.ln()).ceil() as usize + 1;
        Histogram {
            first,
            ratio,
            buckets,
            weights: vec![0.0; buckets],
        }
    }

    fn cpu() -> Histogram {
        Histogram::new(1000.0, 0.01, 1.05)
    }

    fn memory() -> Histogram {
        Histogram::new(1e12, 1e7, 1.05)
    }

    fn start(&self, bucket: usize) -> f64 {
        if bucket == 0 {
            0.0
        } else {
            self.first * (self.ratio.powi(bucket as i32) - 1.0) / (self.ratio - 1.0)
        }
    }

    fn find(&self, value: f64) -> usize {
        if value < self.first {
            return 0;
        }
        let b = ((value * (self.ratio - 1.0) / self.first + 1.0).ln() / self.ratio.ln()) as usize;
        b.min(self.buckets - 1)
    }

    fn add(&mut self, value: f64, weight: f64) {
        let b = self.find(value);
        self.weights[b] += weight;
    }

    /// `histogram.Percentile`: the end of the bucket where the running weight reaches
    /// `p` of the total; `None` when empty.
    fn percentile(&self, p: f64) -> Option<f64> {
        let total: f64 = self.weights.iter().sum();
        if total <= 0.0 {
            return None;
        }
        let min = self.weights.iter().position(|w| *w > 0.0)?;
        let max = self.weights.iter().rposition(|w| *w > 0.0)?;
        let threshold = p * total;
        let mut sum = 0.0;
        let mut bucket = min;
        while bucket < max {
            sum += self.weights[bucket];
            if sum >= threshold {
                break;
            }
            bucket += 1;
        }
        Some(if bucket < self.buckets - 1 {
            self.start(bucket + 1)
        } else {
            self.start(bucket)
        })
    }
}

/// One resource's estimate: target, lower and upper bound (millicores or bytes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    pub target: f64,
    pub lower_bound: f64,
    pub upper_bound: f64,
}

/// The recommender's estimates for one container.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimates {
    pub cpu: Option<Estimate>,
    pub memory: Option<Estimate>,
    /// min(days spanned, minutes of samples / 1440).
    pub confidence: f64,
}

/// What the estimate reads of one container.
pub struct Input<'a> {
    /// Per pod: (unix seconds, millicores) and (unix seconds, bytes).
    pub cpu: Vec<&'a [(i64, f64)]>,
    pub memory: Vec<&'a [(i64, f64)]>,
    /// The container's CPU request, millicores.
    pub cpu_request: Option<i64>,
    /// The container's memory request, bytes.
    pub memory_request: Option<i64>,
    /// It was OOM-killed.
    pub oom_killed: bool,
    /// Containers in the pod (the per-pod minimums are shared among them).
    pub containers: usize,
}

impl Vpa {
    pub fn estimate(&self, input: &Input) -> Estimates {
        let times = input
            .cpu
            .iter()
            .chain(&input.memory)
            .flat_map(|p| p.iter().map(|x| x.0));
        let (first, last) = times.fold((i64::MAX, i64::MIN), |(a, b), t| (a.min(t), b.max(t)));
        // The recommender counts samples of about a minute each; points a range query
        // returned a step apart count as that many minutes.
        let minutes: f64 = input
            .cpu
            .iter()
            .map(|p| {
                let mut gaps: Vec<i64> = p
                    .windows(2)
                    .map(|w| w[1].0 - w[0].0)
                    .filter(|g| *g > 0)
                    .collect();
                gaps.sort_unstable();
                let step = gaps.get(gaps.len() / 2).copied().unwrap_or(60) as f64;
                p.len() as f64 * step / 60.0
            })
            .sum();
        let confidence = if first <= last {
            ((last - first) as f64 / DAY).min(minutes / 1440.0)
        } else {
            0.0
        };
        let decay = |t: i64| 2f64.powf((t - first) as f64 / (self.half_life_hours * 3600.0));
        let share = 1.0 / input.containers.max(1) as f64;
        let mut cpu = Histogram::cpu();
        let weight = (input.cpu_request.unwrap_or(0) as f64 / 1000.0).max(0.1);
        for pod in &input.cpu {
            for &(t, millis) in pod.iter() {
                cpu.add(millis / 1000.0, weight * decay(t));
            }
        }
        // The peak of each pod's 24-hour windows from the first sample.
        let mut peaks: Vec<std::collections::BTreeMap<i64, f64>> = input
            .memory
            .iter()
            .map(|pod| {
                let mut w: std::collections::BTreeMap<i64, f64> = Default::default();
                for &(t, bytes) in pod.iter() {
                    let peak = w.entry((t - first).div_euclid(DAY as i64)).or_insert(0.0);
                    *peak = peak.max(bytes);
                }
                w
            })
            .collect();
        // `RecordOOM`: from the larger of the request and the current window's peak,
        // + 100 MiB or × 1.2, whichever is more, which then stands as that window's peak
        // (of the pod with the highest one).
        if input.oom_killed {
            let last_window = (last - first).div_euclid(DAY as i64);
            if let Some(w) = peaks
                .iter_mut()
                .filter(|w| w.contains_key(&last_window))
                .max_by(|a, b| a[&last_window].total_cmp(&b[&last_window]))
            {
                let peak = w[&last_window];
                let used = peak.max(input.memory_request.unwrap_or(0) as f64);
                w.insert(last_window, peak.max((used + 100.0 * MIB).max(used * 1.2)));
            }
        }
        let mut memory = Histogram::memory();
        for w in &peaks {
            for (&window, &peak) in w {
                memory.add(peak, decay(first + window * DAY as i64));
            }
        }
        let margin = 1.0 + self.safety_margin_fraction;
        let upper = |v: f64| {
            if confidence > 0.0 {
                v * (1.0 + 1.0 / confidence)
            } else {
                v
            }
        };
        let lower = |v: f64| {
            if confidence > 0.0 {
                v * (1.0 + 0.001 / confidence).powf(-2.0)
            } else {
                v
            }
        };
        let estimate = |h: &Histogram, scale: f64, min: f64| {
            let at = |p: f64| h.percentile(p).map(|v| v * scale * margin);
            Some(Estimate {
                target: at(self.target_percentile)?.max(min),
                lower_bound: lower(at(self.lower_bound_percentile)?).max(min),
                upper_bound: upper(at(self.upper_bound_percentile)?).max(min),
            })
        };
        Estimates {
            cpu: estimate(&cpu, 1000.0, self.pod_min_cpu_millicores * share),
            memory: estimate(&memory, 1.0, self.pod_min_memory_mib * MIB * share),
            confidence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_percentiles_follow_the_recommender() {
        let h = Histogram::cpu();
        // NewExponentialHistogramOptions(1000, 0.01, 1.05): 176 buckets.
        assert_eq!(h.buckets, 176);
        assert_eq!(h.find(0.005), 0);
        assert_eq!(h.find(0.01), 1);
        assert!((h.start(1) - 0.01).abs() < 1e-12);
        assert!((h.start(2) - 0.0205).abs() < 1e-12);
        let mut h = Histogram::cpu();
        h.add(0.012, 1.0);
        // One sample in bucket 1 [0.01, 0.0205): every percentile is its end.
        assert!((h.percentile(0.9).unwrap() - 0.0205).abs() < 1e-12);
        assert!(Histogram::memory().percentile(0.5).is_none());
    }

    #[test]
    fn minimums_and_confidence() {
        let points: Vec<(i64, f64)> = (0..120).map(|k| (k * 60, 1.0)).collect();
        let e = Vpa::default().estimate(&Input {
            cpu: vec![&points],
            memory: vec![&points],
            cpu_request: Some(100),
            memory_request: None,
            oom_killed: false,
            containers: 1,
        });
        // 1 millicore used: the 25m floor; 1 byte: the 250 MiB floor.
        assert_eq!(e.cpu.unwrap().target, 25.0);
        assert_eq!(e.memory.unwrap().target, 250.0 * MIB);
        // Two hours of data: c = min(119 min / 1 day, 120 / 1440).
        assert!((e.confidence - 119.0 / 1440.0).abs() < 1e-12);
    }
}
