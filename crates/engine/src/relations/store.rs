//! The relations' storage: interning, sorting and de-duplicating into both orders.

use std::collections::HashMap;
use std::sync::Arc;

use super::*;

/// A fast non-cryptographic hasher (the rustc "Fx" hash) for lookups built and dropped
/// inside one function. Never used for anything iterated into output.
#[derive(Default, Clone, Copy)]
pub(super) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(super) type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

/// Sorts and deduplicates the builder's relations into both orders ([`Staged`]).
///
/// At 150,000 pods there are a million relations: sorting them by comparing their strings
/// (cold in memory by then) and moving 200-byte structs dominated the build. Instead each
/// reference was interned when its relation was made ([`Builder::push`]); the distinct
/// references (a few per pod) are sorted once to get their ranks, relations are ordered by
/// integer keys (strings compared only between duplicates' evidence), and moved into place
/// once. One relation per (from, kind, to) is kept: the one with the first evidence.
pub(super) fn finish(
    rels: Vec<Relation>,
    pairs: &[(u32, u32)],
    refs: Vec<Arc<ObjectRef>>,
    ids: HashMap<Arc<ObjectRef>, u32, FxBuild>,
) -> Staged {
    let mut order: Vec<u32> = (0..refs.len() as u32).collect();
    order.sort_unstable_by(|a, b| refs[*a as usize].cmp(&refs[*b as usize]));
    let mut rank = vec![0u32; refs.len()];
    for (pos, id) in order.iter().enumerate() {
        rank[*id as usize] = pos as u32;
    }
    let mut slots: Vec<Option<Arc<ObjectRef>>> = refs.into_iter().map(Some).collect();
    let sorted: Vec<Arc<ObjectRef>> = order
        .iter()
        .filter_map(|&id| slots[id as usize].take())
        .collect();
    drop(slots);
    // (from rank, kind, to rank, position)
    let mut keys: Vec<(u32, u8, u32, u32)> = pairs
        .iter()
        .zip(&rels)
        .enumerate()
        .map(|(i, ((f, t), r))| (rank[*f as usize], r.kind as u8, rank[*t as usize], i as u32))
        .collect();
    keys.sort_unstable();
    let mut kept: Vec<(u32, u8, u32, u32)> = Vec::with_capacity(keys.len());
    for k in keys {
        match kept.last_mut() {
            Some(last) if (last.0, last.1, last.2) == (k.0, k.1, k.2) => {
                if rels[k.3 as usize].evidence < rels[last.3 as usize].evidence {
                    *last = k;
                }
            }
            _ => kept.push(k),
        }
    }
    let mut slots: Vec<Option<Relation>> = rels.into_iter().map(Some).collect();
    let out: Vec<Relation> = kept
        .iter()
        .filter_map(|k| slots[k.3 as usize].take())
        .collect();
    drop(slots);
    let mut inc_keys: Vec<(u32, u8, u32, u32)> = kept
        .iter()
        .enumerate()
        .map(|(pos, k)| (k.2, k.1, k.0, pos as u32))
        .collect();
    inc_keys.sort_unstable();
    let inc = inc_keys.iter().map(|k| k.3).collect();
    Staged {
        out,
        inc,
        out_keys: kept.iter().map(|k| (k.0, k.1, k.2)).collect(),
        inc_keys: inc_keys.iter().map(|k| (k.0, k.1, k.2)).collect(),
        sorted,
        ids,
        rank,
    }
}

/// Sorted relations with what [`Staged::merge`] needs to add more without comparing
/// strings again: the integer keys of every relation and the ranks of every reference.
pub(super) struct Staged {
    pub(super) out: Vec<Relation>,
    /// Positions in `out`, in (to, kind, from) order.
    pub(super) inc: Vec<u32>,
    /// (from rank, kind, to rank) of `out`, and (to rank, kind, from rank) of `inc`.
    out_keys: Vec<(u32, u8, u32)>,
    inc_keys: Vec<(u32, u8, u32)>,
    /// Every interned reference, sorted; `rank[id]` is the position of id's reference.
    sorted: Vec<Arc<ObjectRef>>,
    ids: HashMap<Arc<ObjectRef>, u32, FxBuild>,
    rank: Vec<u32>,
}

impl Staged {
    /// A sort key for any reference, consistent with string order: `2·rank + 1` for an
    /// interned one, `2·(number of interned ones before it)` for any other. Ties (two new
    /// references between the same interned ones) keep the order they are given in.
    fn key(&self, r: &ObjectRef) -> u64 {
        match self.ids.get(r) {
            Some(&id) => 2 * u64::from(self.rank[id as usize]) + 1,
            None => 2 * self.sorted.partition_point(|x| **x < *r) as u64,
        }
    }

    /// The interned reference equal to `r`, or a new one.
    pub(super) fn shared(&self, r: &ObjectRef) -> Arc<ObjectRef> {
        match self.ids.get(r) {
            Some(&id) => Arc::clone(&self.sorted[self.rank[id as usize] as usize]),
            None => Arc::new(r.clone()),
        }
    }

    /// Adds relations of a kind the staged ones do not have (so no duplicates), keeping
    /// both orders, by merging on integer keys.
    pub(super) fn merge(&mut self, mut extra: Vec<Relation>) {
        if extra.is_empty() {
            return;
        }
        extra.sort();
        let keyed: Vec<(u64, u8, u64)> = extra
            .iter()
            .map(|r| (self.key(&r.from), r.kind as u8, self.key(&r.to)))
            .collect();
        let mut by_to: Vec<usize> = (0..extra.len()).collect();
        by_to.sort_by(|&a, &b| inc_order(&extra[a], &extra[b]));
        let wide = |k: &(u32, u8, u32)| (2 * u64::from(k.0) + 1, k.1, 2 * u64::from(k.2) + 1);
        let out_extra: Vec<((u64, u8, u64), Relation)> = keyed.iter().copied().zip(extra).collect();
        let (base_pos, extra_pos) = merge_keyed(&mut self.out, &self.out_keys, out_extra, wide);
        // The incoming order: both sorted by (to, kind, from) keys, merged, as positions
        // in the merged `out`.
        let mut inc = Vec::with_capacity(self.inc.len() + by_to.len());
        let mut extras = by_to.iter().peekable();
        for (pos, key) in self.inc.iter().zip(&self.inc_keys) {
            let key = wide(key);
            while let Some(&&e) = extras.peek() {
                if (keyed[e].2, keyed[e].1, keyed[e].0) >= key {
                    break;
                }
                inc.push(extra_pos[e]);
                extras.next();
            }
            inc.push(base_pos[*pos as usize]);
        }
        inc.extend(extras.map(|&e| extra_pos[e]));
        self.inc = inc;
    }
}

/// Merges `extra` (sorted by key) into `base` (sorted, with keys `base_keys`) in place,
/// from the back: each element moves once and no second vector of a million relations is
/// allocated. Returns where each base and each extra element ended up.
pub(super) fn merge_keyed(
    base: &mut Vec<Relation>,
    base_keys: &[(u32, u8, u32)],
    extra: Vec<((u64, u8, u64), Relation)>,
    wide: impl Fn(&(u32, u8, u32)) -> (u64, u8, u64),
) -> (Vec<u32>, Vec<u32>) {
    let n = base.len();
    let m = extra.len();
    let none = Arc::new(ObjectRef::new("", "", ""));
    let blank = Relation {
        from: Arc::clone(&none),
        kind: RelationKind::OwnedBy,
        to: none,
        evidence: String::new(),
    };
    // One shared empty reference and an empty string: the blanks are free.
    base.resize(n + m, blank);
    let mut base_pos: Vec<u32> = (0..n as u32).collect();
    let mut extra_pos = vec![0u32; m];
    // Invariant: base[i..w] are blanks; base[..i] and base[w..] are in place.
    let (mut i, mut w) = (n, base.len());
    for (j, (key, e)) in extra.into_iter().enumerate().rev() {
        while i > 0 && wide(&base_keys[i - 1]) > key {
            i -= 1;
            w -= 1;
            base.swap(i, w);
            base_pos[i] = w as u32;
        }
        w -= 1;
        base[w] = e;
        extra_pos[j] = w as u32;
    }
    (base_pos, extra_pos)
}

/// The order of [`Relations::to`]: (to, kind, from, evidence).
pub(super) fn inc_order(a: &Relation, b: &Relation) -> std::cmp::Ordering {
    (&a.to, a.kind, &a.from, &a.evidence).cmp(&(&b.to, b.kind, &b.from, &b.evidence))
}

/// Walks controller owners up from `start` (see [`Relations::workload_of`]).
pub(super) fn climb(
    start: &ObjectRef,
    parent: impl Fn(&ObjectRef) -> Option<ObjectRef>,
) -> ObjectRef {
    let mut cur = start.clone();
    for _ in 0..16 {
        if TOP_WORKLOADS.contains(&cur.kind.as_str()) {
            break;
        }
        match parent(&cur) {
            Some(p) if p.kind != "Node" && p != *start => cur = p,
            _ => break,
        }
    }
    cur
}
