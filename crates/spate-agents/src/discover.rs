//! Finding transcript files.
//!
//! A root is a Claude config folder holding `projects/`, or a `projects/` folder itself.
//! Files are `projects/<project>/<session>.jsonl` and, for sub-agents,
//! `projects/<project>/<session>/subagents/agent-<id>.jsonl` (with `agent-<id>.meta.json`).

use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::FileMeta;

/// One transcript file found on disk (with its sub-agent meta file read, if any).
#[derive(Debug, Clone)]
pub struct FoundFile {
    /// Full path.
    pub path: PathBuf,
    /// Size in bytes at discovery.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch (0 when unknown).
    pub mtime_ns: i128,
    /// Project, session and sub-agent identity from the path.
    pub meta: FileMeta,
}

/// The transcript roots to read: `paths` if given, else `CLAUDE_CONFIG_DIR` (comma
/// separated), else `~/.config/claude` and `~/.claude`. Returns the `projects` folders that
/// exist, or an error naming the places looked at.
pub fn resolve_roots(paths: &[PathBuf], config_env: Option<&str>) -> Result<Vec<PathBuf>> {
    let candidates: Vec<PathBuf> = if !paths.is_empty() {
        paths.to_vec()
    } else if let Some(env) = config_env.filter(|e| !e.trim().is_empty()) {
        env.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect()
    } else {
        let mut v = Vec::new();
        if let Some(cfg) = dirs::config_dir() {
            v.push(cfg.join("claude"));
        }
        if let Some(home) = dirs::home_dir() {
            v.push(home.join(".config").join("claude"));
            v.push(home.join(".claude"));
        }
        v
    };
    let mut roots: Vec<PathBuf> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    for c in &candidates {
        let projects = c.join("projects");
        let dir = if projects.is_dir() {
            projects
        } else if c.is_dir() && !paths.is_empty() {
            c.clone()
        } else {
            continue;
        };
        let canon = fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        if !seen.contains(&canon) {
            seen.push(canon);
            roots.push(dir);
        }
    }
    if roots.is_empty() {
        // each folder once (the XDG and the home default can be the same folder)
        let mut listed: Vec<String> = Vec::new();
        for p in &candidates {
            let shown = p.display().to_string();
            if !listed.contains(&shown) {
                listed.push(shown);
            }
        }
        let looked_in = listed.join(", ");
        return Err(Error::NoTranscripts { looked_in });
    }
    Ok(roots)
}

/// Lists every `*.jsonl` file under the roots, sorted by path.
///
/// Each folder's entries are sorted by name and walked in that order, which is [`Path`]
/// order (paths compare component by component), so the list needs no global sort; the
/// project folders are walked in parallel (`stat` calls dominate).
pub fn find_files(roots: &[PathBuf]) -> Result<Vec<FoundFile>> {
    let mut out = Vec::new();
    let mut sorted = true;
    for root in roots {
        let names = sorted_entries(root, root)?;
        let mut files_here = Vec::new();
        let mut dirs = Vec::new();
        for (entry, ft) in names {
            let path = entry.path();
            if is_dir(&path, ft) {
                dirs.push(path);
            } else {
                files_here.push((entry, ft));
            }
        }
        // files directly in the root and the project folders, merged back in name order
        let mut parts: Vec<(PathBuf, Result<Vec<FoundFile>>)> = dirs
            .into_par_iter()
            .map(|dir| {
                let mut v = Vec::new();
                let name = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let r = walk(root, &dir, &mut vec![name], &mut v).map(|()| v);
                (dir, r)
            })
            .collect();
        for (entry, ft) in files_here {
            let mut v = Vec::new();
            push_transcript(&entry, ft, &[], &mut v);
            parts.push((entry.path(), Ok(v)));
        }
        parts.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
        let start = out.len();
        let parts: Vec<Vec<FoundFile>> = parts
            .into_iter()
            .map(|(_, part)| part)
            .collect::<Result<_>>()?;
        out.reserve(parts.iter().map(Vec::len).sum());
        for part in parts {
            out.extend(part);
        }
        sorted &= out[start..].iter().all(|f| is_plain(&f.path))
            && out[start..]
                .windows(2)
                .all(|w| fast_path_cmp(&w[0].path, &w[1].path) == std::cmp::Ordering::Less);
    }
    if !sorted || roots.len() > 1 {
        sort_by_path(&mut out);
        out.dedup_by(|a, b| a.path.as_os_str() == b.path.as_os_str());
    }
    Ok(out)
}

/// Sorts files in [`Path`] order (cheaply when the paths are plain, see [`path_cmp`]).
fn sort_by_path(files: &mut [FoundFile]) {
    if files.iter().all(|f| is_plain(&f.path)) {
        files.sort_by(|a, b| fast_path_cmp(&a.path, &b.path));
    } else {
        files.sort_by(|a, b| a.path.cmp(&b.path));
    }
}

/// A folder's entries sorted by name (bytes): the order in which their paths sort.
fn sorted_entries(root: &Path, dir: &Path) -> Result<Vec<(fs::DirEntry, fs::FileType)>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if dir != root && e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Ok(Vec::new())
        }
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if let Ok(ft) = entry.file_type() {
            names.push((entry, ft));
        }
    }
    names.sort_by_cached_key(|(e, _)| e.file_name());
    Ok(names)
}

fn is_dir(path: &Path, ft: fs::FileType) -> bool {
    ft.is_dir() || (ft.is_symlink() && path.is_dir())
}

/// Walks `dir` (whose path relative to `root` is `parts`) in name order.
fn walk(root: &Path, dir: &Path, parts: &mut Vec<String>, out: &mut Vec<FoundFile>) -> Result<()> {
    for (entry, ft) in sorted_entries(root, dir)? {
        let path = entry.path();
        if is_dir(&path, ft) {
            parts.push(entry.file_name().to_string_lossy().into_owned());
            walk(root, &path, parts, out)?;
            parts.pop();
        } else {
            push_transcript(&entry, ft, parts, out);
        }
    }
    Ok(())
}

/// Adds the entry (in the folder `parts` under the root) if it is a `*.jsonl` file.
fn push_transcript(
    entry: &fs::DirEntry,
    ft: fs::FileType,
    parts: &[String],
    out: &mut Vec<FoundFile>,
) {
    let path = entry.path();
    if path.extension().is_none_or(|e| e != "jsonl") {
        return;
    }
    // (the entry's own metadata is looked up relative to its open folder, cheaper than
    // resolving the whole path again)
    let md = if ft.is_symlink() {
        fs::metadata(&path)
    } else {
        entry.metadata()
    };
    let md = match md {
        Ok(md) => md,
        Err(_) => {
            // A broken link or a file gone since the listing: kept, so that opening it
            // fails and it is reported as unreadable (issue 11 row 14), as `items` reports
            // an input it cannot open, instead of vanishing from the totals.
            out.push(FoundFile {
                meta: meta_from_parts(parts, &path),
                path,
                size: 0,
                mtime_ns: 0,
            });
            return;
        }
    };
    if !md.is_file() {
        return;
    }
    let mtime_ns = md
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    let mut meta = meta_from_parts(parts, &path);
    // (read here, on the worker listing the folder, rather than one by one later)
    read_agent_meta(&path, &mut meta);
    out.push(FoundFile {
        path,
        size: md.len(),
        mtime_ns,
        meta,
    });
}

/// [`Path`] order (component by component), computed from the bytes when both paths are
/// plain (see [`is_plain`]): an order of components that the byte order with the separator
/// ranked lowest gives too, at a fraction of the cost.
pub(crate) fn path_cmp(a: &Path, b: &Path) -> std::cmp::Ordering {
    if is_plain(a) && is_plain(b) {
        fast_path_cmp(a, b)
    } else {
        a.cmp(b)
    }
}

/// True for a path without `.` or `..` components and without empty ones (doubled or
/// trailing separators), whose components are then exactly its separator-split parts.
pub(crate) fn is_plain(p: &Path) -> bool {
    const SEP: u8 = std::path::MAIN_SEPARATOR as u8;
    let bytes = p.as_os_str().as_encoded_bytes();
    let body = bytes.strip_prefix(&[SEP]).unwrap_or(bytes);
    body.is_empty()
        || body
            .split(|&b| b == SEP)
            .all(|part| !part.is_empty() && part != b"." && part != b"..")
}

/// [`Path`] order for paths without `.` components, doubled or trailing separators.
pub(crate) fn fast_path_cmp(a: &Path, b: &Path) -> std::cmp::Ordering {
    // one-to-one: the separator first, the other bytes in their order
    fn rank(b: u8) -> u8 {
        const SEP: u8 = std::path::MAIN_SEPARATOR as u8;
        match b {
            SEP => 0,
            b if b < SEP => b + 1,
            b => b,
        }
    }
    let (a, b) = (
        a.as_os_str().as_encoded_bytes(),
        b.as_os_str().as_encoded_bytes(),
    );
    let n = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    match (a.get(n), b.get(n)) {
        (Some(&x), Some(&y)) => rank(x).cmp(&rank(y)),
        _ => a.len().cmp(&b.len()),
    }
}

/// Project, session and agent identity of a transcript path under `root`.
pub fn file_meta(root: &Path, path: &Path) -> FileMeta {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .parent()
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    meta_from_parts(&parts, path)
}

/// Identity of the transcript `path` in the folder whose path relative to the root is
/// `parts`: the project is the first folder; a file in `<session>/subagents/` is a sub-agent
/// of that session.
fn meta_from_parts(parts: &[String], path: &Path) -> FileMeta {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let project = match parts.first() {
        Some(first) => first.clone(),
        None => String::from("(root)"),
    };
    let in_subagents = parts.len() >= 2 && parts.last().is_some_and(|n| n == "subagents");
    let (session, agent_id) = if in_subagents {
        let session = if parts.len() >= 3 {
            parts[parts.len() - 2].clone()
        } else {
            stem.clone()
        };
        let agent = stem.strip_prefix("agent-").unwrap_or(&stem).to_owned();
        (session, Some(agent))
    } else {
        (stem, None)
    };
    FileMeta {
        project,
        session,
        agent_id,
        meta_agent_type: None,
        meta_tool_use_id: None,
    }
}

/// Reads `agent-<id>.meta.json` beside a sub-agent transcript, filling the agent type and
/// tool use id when present (`agentType`, `subagent_type` or `subagentType`; `toolUseId` or
/// `tool_use_id`). A missing or unreadable meta file leaves them empty.
pub fn read_agent_meta(transcript: &Path, meta: &mut FileMeta) {
    if meta.agent_id.is_none() {
        return;
    }
    let meta_path = transcript.with_extension("meta.json");
    let Ok(bytes) = fs::read(&meta_path) else {
        return;
    };
    let Ok(serde_json::Value::Object(obj)) = serde_json::from_slice(&bytes) else {
        return;
    };
    let pick = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| obj.get(*k).and_then(|v| v.as_str()).map(str::to_owned))
    };
    meta.meta_agent_type = pick(&["agentType", "subagent_type", "subagentType"]);
    meta.meta_tool_use_id = pick(&["toolUseId", "tool_use_id", "toolUseID"]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_sort_is_path_order() {
        let names = [
            "/r/a-b/x.jsonl",
            "/r/a/b.jsonl",
            "/r/a/b/subagents/agent-1.jsonl",
            "/r/a/b-c.jsonl",
            "/r/a.b/z.jsonl",
            "/r/a/b/c.jsonl",
            "/r/A/b.jsonl",
            "/r/a /b.jsonl",
            "/r/a!/b.jsonl",
            "/r/ab.jsonl",
        ];
        let mut got: Vec<&Path> = names.iter().map(Path::new).collect();
        got.sort_by(|a, b| fast_path_cmp(a, b));
        let mut expected = got.clone();
        expected.sort();
        assert_eq!(got, expected);
    }

    #[test]
    fn path_cmp_is_path_order() {
        let names = [
            "/r/a/b.jsonl",
            "/r/a/./b.jsonl",
            "/r/a//b.jsonl",
            "/r/a/../b.jsonl",
            "/r/a-/b.jsonl",
            "/r/a/",
            "/r/a",
            "r/a",
            "./r/a",
            "/",
            "",
            "/r/.hidden/x.jsonl",
            "/r/..x/y.jsonl",
        ];
        for a in names {
            for b in names {
                let (a, b) = (Path::new(a), Path::new(b));
                assert_eq!(path_cmp(a, b), a.cmp(b), "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn looked_in_names_each_folder_once() {
        // (on Linux the config folder and ~/.config are one: it was listed twice)
        let err = resolve_roots(&[], Some("/nonexistent/a, /nonexistent/b,/nonexistent/a"))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with("(looked in: /nonexistent/a, /nonexistent/b)"),
            "{err}"
        );
    }

    #[test]
    fn identity_from_paths() {
        let root = Path::new("/c/projects");
        let m = file_meta(root, Path::new("/c/projects/-home-me-app/abc.jsonl"));
        assert_eq!(
            (m.project.as_str(), m.session.as_str(), m.agent_id),
            ("-home-me-app", "abc", None)
        );
        let m = file_meta(
            root,
            Path::new("/c/projects/-home-me-app/abc/subagents/agent-a7.jsonl"),
        );
        assert_eq!(
            (
                m.project.as_str(),
                m.session.as_str(),
                m.agent_id.as_deref()
            ),
            ("-home-me-app", "abc", Some("a7"))
        );
        let m = file_meta(root, Path::new("/c/projects/loose.jsonl"));
        assert_eq!(
            (m.project.as_str(), m.session.as_str()),
            ("(root)", "loose")
        );
    }
}
