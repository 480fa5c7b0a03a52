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

/// One transcript file found on disk.
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
        let looked_in = candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::NoTranscripts { looked_in });
    }
    Ok(roots)
}

/// Lists every `*.jsonl` file under the roots, sorted by path.
pub fn find_files(roots: &[PathBuf]) -> Result<Vec<FoundFile>> {
    let mut out = Vec::new();
    for root in roots {
        // one task per project folder: stat calls dominate and parallelize well
        let top = fs::read_dir(root).map_err(|e| Error::io(root, e))?;
        let mut dirs = Vec::new();
        for entry in top {
            let entry = entry.map_err(|e| Error::io(root, e))?;
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            }
        }
        walk_files_only(root, &mut out)?;
        let parts: Vec<Result<Vec<FoundFile>>> = dirs
            .par_iter()
            .map(|dir| {
                let mut v = Vec::new();
                walk(root, dir, &mut v).map(|()| v)
            })
            .collect();
        for part in parts {
            out.extend(part?);
        }
    }
    sort_by_path(&mut out);
    out.dedup_by(|a, b| a.path == b.path);
    Ok(out)
}

/// Sorts files in [`Path`] order. Comparing paths component by component is slow; for
/// paths without `.` components, doubled or trailing separators (as joined here from a
/// directory listing) it is the byte order with the separator ranked below every other byte,
/// which is much cheaper. The result is checked, and sorted the slow way if it is not in
/// path order.
fn sort_by_path(files: &mut [FoundFile]) {
    files.sort_by(|a, b| fast_path_cmp(&a.path, &b.path));
    if !files.windows(2).all(|w| w[0].path <= w[1].path) {
        files.sort_by(|a, b| a.path.cmp(&b.path));
    }
}

/// The transcripts directly in `root` (not in a project folder).
fn walk_files_only(root: &Path, out: &mut Vec<FoundFile>) -> Result<()> {
    let mut all = Vec::new();
    walk_inner(root, root, &mut all, false)?;
    out.extend(all);
    Ok(())
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<FoundFile>) -> Result<()> {
    walk_inner(root, dir, out, true)
}

fn walk_inner(root: &Path, dir: &Path, out: &mut Vec<FoundFile>, recurse: bool) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if dir != root && e.kind() == std::io::ErrorKind::PermissionDenied => return Ok(()),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let ft = match entry.file_type() {
            Ok(ft) => ft,
            Err(_) => continue,
        };
        let is_dir = ft.is_dir() || (ft.is_symlink() && path.is_dir());
        if is_dir {
            if recurse {
                walk_inner(root, &path, out, true)?;
            }
        } else if path.extension().is_some_and(|e| e == "jsonl") {
            let md = if ft.is_symlink() {
                fs::metadata(&path)
            } else {
                entry.metadata()
            };
            let Ok(md) = md else {
                continue;
            };
            if !md.is_file() {
                continue;
            }
            let mtime_ns = md
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128);
            let meta = file_meta(root, &path);
            out.push(FoundFile {
                path,
                size: md.len(),
                mtime_ns,
                meta,
            });
        }
    }
    Ok(())
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
    let depth = rel.components().count();
    let name = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let project = match rel.components().next() {
        Some(first) if depth >= 2 => first.as_os_str().to_string_lossy().into_owned(),
        _ => String::from("(root)"),
    };
    let parent = path.parent();
    let in_subagents = depth >= 3
        && parent
            .and_then(Path::file_name)
            .is_some_and(|n| n == "subagents");
    let (session, agent_id) = if in_subagents {
        let session = if depth >= 4 {
            name(parent.and_then(Path::parent))
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
