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

/// The objects of a list file held whole: they point into `text`, which they keep alive.
pub(crate) fn in_place(
    text: Arc<String>,
    path: &str,
    max: usize,
) -> Result<Vec<Object>, BundleError> {
    let json_err = |source| BundleError::Json {
        entry: path.to_string(),
        source,
    };
    let over = Cell::new(false);
    let mut de = serde_json::Deserializer::from_str(&text);
    let items: Vec<&RawValue> = List {
        max,
        over: &over,
        _item: PhantomData,
    }
    .deserialize(&mut de)
    .and_then(|items| de.end().map(|()| items))
    .map_err(|e| stopped(e, &over, path, max))?;
    let parse = |part: &[&RawValue]| -> Result<Vec<Object>, serde_json::Error> {
        part.iter()
            .map(|raw| Object::from_shared(&text, raw))
            .collect()
    };
    if items.len() < PARALLEL_ITEMS {
        return parse(&items).map_err(json_err);
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
    first.map_err(json_err)
}

/// The objects of a list file that is streamed (or not UTF-8): each copies its text.
pub(crate) fn owned(body: Body<'_>, path: &str, max: usize) -> Result<Vec<Object>, BundleError> {
    let over = Cell::new(false);
    let seed = || List::<Box<RawValue>> {
        max,
        over: &over,
        _item: PhantomData,
    };
    let items: Vec<Box<RawValue>> = match body {
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
    let mut objects = Vec::with_capacity(items.len());
    for raw in items {
        objects.push(Object::from_raw(raw).map_err(|source| BundleError::Json {
            entry: path.to_string(),
            source,
        })?);
    }
    Ok(objects)
}
