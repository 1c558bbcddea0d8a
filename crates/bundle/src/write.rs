//! Writes a snapshot as a bundle v1, deterministically: entries sorted by path after the
//! manifest, fixed header times (the capture time), owners and modes, one zstd stream at a
//! fixed level. Memory stays bounded: files are hashed in a first pass and streamed into
//! the tar in a second, never copied whole.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use intel_model::manifest::FileEntry;
use intel_model::{Manifest, Snapshot};

use super::render::{FileContent, files};
use super::{BundleError, Hashing};

const ZSTD_LEVEL: i32 = 3;

/// `<cluster>-<UTC time>.intel.tar.zst`, with characters unsafe in file names replaced.
pub fn default_file_name(cluster: &str, captured_at: &str) -> String {
    let time: String = captured_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let cluster: String = cluster
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cluster = if cluster.is_empty() {
        "cluster".to_string()
    } else {
        cluster
    };
    format!("{cluster}-{time}.intel.tar.zst")
}

/// Writes `snap` to `path` (through a temporary file renamed into place, so a failed write
/// never leaves a half bundle under the final name). Returns the manifest written.
pub fn write_bundle(snap: &Snapshot, path: &Path) -> Result<Manifest, BundleError> {
    let werr = |source: io::Error| BundleError::Write {
        path: path.to_path_buf(),
        source,
    };
    let contents = files(snap)?;
    let mut manifest = snap.manifest.clone();
    manifest.resource_types = snap.resources.values().map(|l| l.rtype.clone()).collect();
    manifest.files = contents
        .iter()
        .map(|(path, content)| {
            let mut h = Hashing::new(io::sink());
            io::copy(&mut content.reader(), &mut h)?;
            let (size, sha256) = h.finish();
            Ok(FileEntry {
                path: path.clone(),
                size,
                sha256,
            })
        })
        .collect::<io::Result<_>>()
        .map_err(werr)?;
    let mut manifest_json = serde_json::to_vec_pretty(&manifest).map_err(|e| werr(e.into()))?;
    manifest_json.push(b'\n');

    let mtime = jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%.fZ", &manifest.captured_at)
        .or_else(|_| manifest.captured_at.parse::<jiff::Timestamp>())
        .map(|t| t.as_second().max(0) as u64)
        .unwrap_or(0);

    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(werr)?;
    {
        let file: &File = tmp.as_file();
        let mut encoder = zstd::Encoder::new(BufWriter::new(file), ZSTD_LEVEL).map_err(werr)?;
        encoder.include_checksum(true).map_err(werr)?;
        let mut tar = tar::Builder::new(encoder);
        append(
            &mut tar,
            "manifest.json",
            mtime,
            &FileContent::bytes(&manifest_json),
        )
        .map_err(werr)?;
        for (path, content) in &contents {
            append(&mut tar, path, mtime, content).map_err(werr)?;
        }
        let encoder = tar.into_inner().map_err(werr)?;
        let mut buf = encoder.finish().map_err(werr)?;
        buf.flush().map_err(werr)?;
    }
    tmp.as_file().sync_all().map_err(werr)?;
    tmp.persist(path).map_err(|e| werr(e.error))?;
    Ok(manifest)
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    mtime: u64,
    content: &FileContent<'_>,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(content.len());
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    tar.append_data(&mut header, path, content.reader())
}
