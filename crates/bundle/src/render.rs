//! The files of a bundle, rendered from a snapshot without copying: each file is a chain of
//! byte slices borrowed from the snapshot, read twice (once to hash, once into the tar).

use std::io::{self, Read};

use intel_model::{Object, Snapshot};

use super::BundleError;

const LIST_HEAD: &[u8] =
    b"{\"apiVersion\":\"v1\",\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"},\"items\":[";
const LIST_FIRST: &[u8] = b"\n";
const LIST_SEP: &[u8] = b",\n";
const LIST_TAIL_EMPTY: &[u8] = b"]}\n";
const LIST_TAIL: &[u8] = b"\n]}\n";
const NEWLINE: &[u8] = b"\n";

pub(crate) struct FileContent<'a> {
    parts: Vec<&'a [u8]>,
}

impl<'a> FileContent<'a> {
    fn list(items: &'a [Object]) -> Self {
        let mut parts = Vec::with_capacity(items.len() * 2 + 2);
        parts.push(LIST_HEAD);
        for (i, item) in items.iter().enumerate() {
            parts.push(if i == 0 { LIST_FIRST } else { LIST_SEP });
            parts.push(item.json().as_bytes());
        }
        parts.push(if items.is_empty() {
            LIST_TAIL_EMPTY
        } else {
            LIST_TAIL
        });
        FileContent { parts }
    }

    pub(crate) fn bytes(bytes: &'a [u8]) -> Self {
        FileContent { parts: vec![bytes] }
    }

    fn text(text: &'a str) -> Self {
        FileContent {
            parts: vec![text.as_bytes()],
        }
    }

    fn json(json: &'a str) -> Self {
        FileContent {
            parts: vec![json.as_bytes(), NEWLINE],
        }
    }

    pub(crate) fn len(&self) -> u64 {
        self.parts.iter().map(|p| p.len() as u64).sum()
    }

    pub(crate) fn reader(&self) -> PartsReader<'_, 'a> {
        PartsReader {
            parts: &self.parts,
            index: 0,
            offset: 0,
        }
    }
}

pub(crate) struct PartsReader<'r, 'a> {
    parts: &'r [&'a [u8]],
    index: usize,
    offset: usize,
}

impl Read for PartsReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(part) = self.parts.get(self.index) {
            let rest = &part[self.offset..];
            if rest.is_empty() {
                self.index += 1;
                self.offset = 0;
                continue;
            }
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.offset += n;
            return Ok(n);
        }
        Ok(0)
    }
}

/// Checks one path component taken from object names (namespace, pod, container, series
/// name): names the API server accepted are safe, but a snapshot may come from anywhere.
fn component<'s>(what: &str, s: &'s str) -> Result<&'s str, BundleError> {
    let bad = s.is_empty()
        || s == "."
        || s == ".."
        || s.contains(['/', '\\', '\0'])
        || s.chars().any(char::is_control);
    if bad {
        return Err(BundleError::InvalidContent {
            what: what.to_string(),
            reason: format!("{s:?} cannot be a path component"),
        });
    }
    Ok(s)
}

/// Removes from `snap` what no bundle can hold — logs and lists whose names cannot be a
/// path component (a pod named `a/b` by a hostile or broken API) — and says what, so a
/// capture records them instead of failing whole.
pub fn prune_unwritable(snap: &mut intel_model::Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    snap.logs.retain(|key, _| {
        let ok = component("log namespace", &key.namespace).is_ok()
            && component("log pod", &key.pod).is_ok()
            && component("log container", &key.container).is_ok();
        if !ok {
            out.push(format!(
                "the log of container {:?} of pod {:?} in namespace {:?}",
                key.container, key.pod, key.namespace
            ));
        }
        ok
    });
    let bad: Vec<intel_model::TypeKey> = snap
        .resources
        .keys()
        .filter(|k| {
            let group = if k.group.is_empty() { "core" } else { &k.group };
            component("g", group).is_err()
                || component("v", &k.version).is_err()
                || component("r", &k.resource).is_err()
        })
        .cloned()
        .collect();
    for k in bad {
        snap.remove_list(&k);
        out.push(format!(
            "the resource type {:?} of group {:?} version {:?}",
            k.resource, k.group, k.version
        ));
    }
    out
}

/// Every file of the bundle except the manifest, sorted by path.
pub(crate) fn files(snap: &Snapshot) -> Result<Vec<(String, FileContent<'_>)>, BundleError> {
    let mut out = Vec::new();
    for (key, list) in &snap.resources {
        component(
            "resource group",
            if key.group.is_empty() {
                "core"
            } else {
                &key.group
            },
        )?;
        component("resource version", &key.version)?;
        component("resource name", &key.resource)?;
        out.push((key.bundle_path(), FileContent::list(&list.items)));
    }
    for (key, text) in &snap.logs {
        component("log namespace", &key.namespace)?;
        component("log pod", &key.pod)?;
        component("log container", &key.container)?;
        out.push((key.bundle_path(), FileContent::text(text)));
    }
    for sample in &snap.metrics {
        component("metrics sample time", &sample.time)?;
        if let Some(nodes) = &sample.nodes {
            out.push((
                format!("metrics/{}/nodes.json", sample.time),
                FileContent::json(nodes.get()),
            ));
        }
        if let Some(pods) = &sample.pods {
            out.push((
                format!("metrics/{}/pods.json", sample.time),
                FileContent::json(pods.get()),
            ));
        }
    }
    for (name, series) in &snap.prometheus {
        component("prometheus series name", name)?;
        out.push((
            format!("metrics/prometheus/{name}.json"),
            FileContent::json(series.get()),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    for pair in out.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(BundleError::InvalidContent {
                what: pair[0].0.clone(),
                reason: "two files would have this path".into(),
            });
        }
    }
    Ok(out)
}
