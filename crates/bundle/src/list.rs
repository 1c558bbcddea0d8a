//! A list file's items, read with a cap on their count: an item-count bomb
//! (`{"items":[{},{},…]}`, hundreds of millions of tiny items in a few hundred kilobytes
//! compressed) is refused at [`ReadLimits::max_list_items`](super::ReadLimits) while it is
//! parsed, instead of growing a vector until memory runs out. Small lists are parsed in
//! place (objects point into the entry's text), streamed or non-UTF-8 ones copy each item.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use intel_model::Object;

use super::BundleError;
use super::read::{Body, classify_json};

/// Lists at least this long have their objects' metadata parsed on two threads.
const PARALLEL_ITEMS: usize = 20_000;

/// An object larger than this was never stored by a Kubernetes API server (etcd refuses
/// requests over 1.5 MiB; twice that, for the margin a list's formatting adds): one in a
/// bundle is hostile or corrupt, and every copy an answer makes of it would multiply it
/// (a 100 MiB field served as a table took gigabytes). It is left out and counted.
pub const MAX_OBJECT_BYTES: usize = 3 << 20;

/// Nesting deeper than this is no Kubernetes object either: every consumer that parses
/// one (serde_json's own limit is 128) would fail on it, or worse, overflow its stack.
pub const MAX_DEPTH: usize = 128;

/// Whether JSON text nests deeper than [`MAX_DEPTH`] (strings skipped; stops early).
fn too_deep(text: &str) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in text.as_bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return true;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Items larger than [`MAX_OBJECT_BYTES`] or nested deeper than [`MAX_DEPTH`] removed;
/// how many.
fn drop_oversized<T: std::ops::Deref<Target = RawValue>>(items: &mut Vec<T>) -> usize {
    let before = items.len();
    items.retain(|raw| raw.get().len() <= MAX_OBJECT_BYTES && !too_deep(raw.get()));
    before - items.len()
}

/// `{"items": [...], ...}` with at most `max` items; `over` is set when there were more.
struct List<'c, T> {
    max: usize,
    over: &'c Cell<bool>,
    _item: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for List<'_, T> {
    type Value = Vec<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for List<'_, T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list object with an items array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "items" {
                items = map.next_value_seed(Items {
                    max: self.max,
                    over: self.over,
                    _item: PhantomData,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(items)
    }
}

/// The `items` value: null or an array of at most `max`.
struct Items<'c, T> {
    max: usize,
    over: &'c Cell<bool>,
    _item: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> DeserializeSeed<'de> for Items<'_, T> {
    type Value = Vec<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for Items<'_, T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of items or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element()? {
            if out.len() >= self.max {
                self.over.set(true);
                return Err(de::Error::custom(format_args!(
                    "more than {} items",
                    self.max
                )));
            }
            out.push(item);
        }
        Ok(out)
    }
}

/// The error of a list that stopped: the cap (a bomb, refused whatever `--strict`
/// says), or its JSON.
fn stopped(e: serde_json::Error, over: &Cell<bool>, path: &str, max: usize) -> BundleError {
    if over.get() {
        BundleError::TooManyItems {
            entry: path.to_string(),
            limit: max as u64,
        }
    } else {
        classify_json(e, path)
    }
}

/// A list's objects, and how many were too large to be real ([`MAX_OBJECT_BYTES`]).
pub(crate) type Parsed = (Vec<Object>, usize);

/// The objects of a list file held whole: they point into `text`, which they keep alive.
pub(crate) fn in_place(text: Arc<String>, path: &str, max: usize) -> Result<Parsed, BundleError> {
    let json_err = |source| BundleError::Json {
        entry: path.to_string(),
        source,
    };
    let over = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(&text);
    let mut items: Vec<&RawValue> = List {
        max,
        over: &over,
        _item: PhantomData,
    }
    .deserialize(&mut de)
    .and_then(|items| de.end().map(|()| items))
    .map_err(|e| stopped(e, &over, path, max))?;
    let dropped = drop_oversized(&mut items);
    let parse = |part: &[&RawValue]| -> Result<Vec<Object>, serde_json::Error> {
        part.iter()
            .map(|raw| Object::from_shared(&text, raw))
            .collect()
    };
    if items.len() < PARALLEL_ITEMS {
        return parse(&items).map(|o| (o, dropped)).map_err(json_err);
    }
    // The metadata of a big list (150,000 pods) on both cores; the halves are joined in
    // order, so the result is the same as on one.
    let (head, tail) = items.split_at(items.len() / 2);
    let (mut first, second) = std::thread::scope(|s| {
        let second = s.spawn(|| parse(tail));
        let first = parse(head);
        let second = second
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (first, second)
    });
    if let Ok(objects) = &mut first {
        objects.extend(second.map_err(json_err)?);
    }
    first.map(|o| (o, dropped)).map_err(json_err)
}

/// The objects of a list file that is streamed (or not UTF-8): each copies its text.
pub(crate) fn owned(body: Body<'_>, path: &str, max: usize) -> Result<Parsed, BundleError> {
    let over = Cell::new(false);
    let seed = || List::<Box<RawValue>> {
        max,
        over: &over,
        _item: PhantomData,
    };
    let mut items: Vec<Box<RawValue>> = match body {
        Body::Whole(b) => {
            let mut de = serde_json::Deserializer::from_slice(&b);
            seed()
                .deserialize(&mut de)
                .and_then(|items| de.end().map(|()| items))
        }
        Body::Stream(r) => {
            let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(
                1 << 16,
                r,
            ));
            seed()
                .deserialize(&mut de)
                .and_then(|items| de.end().map(|()| items))
        }
    }
    .map_err(|e| stopped(e, &over, path, max))?;
    let dropped = drop_oversized(&mut items);
    let mut objects = Vec::with_capacity(items.len());
    for raw in items {
        objects.push(Object::from_raw(raw).map_err(|source| BundleError::Json {
            entry: path.to_string(),
            source,
        })?);
    }
    Ok((objects, dropped))
}
