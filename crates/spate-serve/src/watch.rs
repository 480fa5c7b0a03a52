//! File-system events for the refresh thread (inotify, FSEvents or ReadDirectoryChanges,
//! through [`notify`]).
//!
//! Only events that can change a report wake the refresh thread: a `.jsonl` file or a
//! folder created, written, renamed or removed. Reads (including the daemon's own) are
//! ignored, else each refresh would wake the next one.

use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};

/// Why the refresh thread wakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Something in the tree changed (or the watcher lost events): refresh.
    Changed,
    /// The daemon is stopping.
    Stop,
}

/// Watches every root recursively. `None` when watching is unavailable (no backend, the
/// watch limit reached, ...): the caller re-scans periodically instead.
pub(crate) fn start(roots: &[PathBuf], tx: Sender<Wake>) -> Option<RecommendedWatcher> {
    let handler = move |event: notify::Result<Event>| {
        let wake = match &event {
            // lost events (a queue overflow): a refresh lists the whole tree again
            Err(_) => true,
            Ok(e) => relevant(e),
        };
        if wake {
            let _ = tx.send(Wake::Changed);
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("cannot watch for changes: {e}");
            return None;
        }
    };
    for root in roots {
        if let Err(e) = watcher.watch(root, RecursiveMode::Recursive) {
            tracing::warn!("cannot watch {}: {e}", root.display());
            return None;
        }
    }
    Some(watcher)
}

/// Whether an event can change what the corpus holds.
fn relevant(e: &Event) -> bool {
    match e.kind {
        EventKind::Access(_) => false,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => {
            e.paths.iter().any(|p| transcript_or_folder(p))
        }
        EventKind::Any | EventKind::Other => true,
    }
}

/// A `.jsonl` file, or a path without an extension (a project or sub-agent folder; a
/// removed folder can no longer be asked whether it was one).
fn transcript_or_folder(p: &Path) -> bool {
    match p.extension() {
        None => true,
        Some(ext) => ext == "jsonl",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, CreateKind, ModifyKind};

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn transcript_writes_wake_reads_and_other_files_do_not() {
        let m = EventKind::Modify(ModifyKind::Any);
        assert!(relevant(&event(m, "/t/projects/p/s.jsonl")));
        assert!(relevant(&event(
            EventKind::Create(CreateKind::Folder),
            "/t/projects/new-project"
        )));
        assert!(!relevant(&event(m, "/t/todos/x.json")));
        assert!(!relevant(&event(
            EventKind::Access(AccessKind::Any),
            "/t/projects/p/s.jsonl"
        )));
    }
}
