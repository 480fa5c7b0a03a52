//! Outputs that never damage an input nor leave a partial file behind: each is written to a
//! temporary file (or folder) next to its destination and renamed over it at the end; an
//! output that is one of the inputs is refused before anything is written. Text outputs are
//! compressed by their extension (`.gz`, `.zst`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::Error;

/// Temporary outputs being written, so that an interrupted process can remove them
/// ([`remove_partial_outputs`], from a signal handler of the front end).
static IN_PROGRESS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn register(path: &Path) {
    if let Ok(mut v) = IN_PROGRESS.lock() {
        v.push(path.to_path_buf());
    }
}

fn unregister(path: &Path) {
    if let Ok(mut v) = IN_PROGRESS.lock() {
        v.retain(|p| p != path);
    }
}

/// Removes the temporary files and folders of the outputs being written (for a front end's
/// Ctrl-C / SIGTERM handler, just before it exits).
pub fn remove_partial_outputs() {
    if let Ok(v) = IN_PROGRESS.lock() {
        for p in v.iter() {
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(p);
            } else {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// Refuses an output that is one of the inputs (the same file, also through a link).
pub fn check_not_input(inputs: &[&Path], output: &Path) -> Result<(), Error> {
    if output.as_os_str() == "-" {
        return Ok(());
    }
    let Ok(out_meta) = std::fs::metadata(output) else {
        return Ok(()); // does not exist yet: it cannot be an input
    };
    for input in inputs {
        if input.as_os_str() == "-" {
            continue;
        }
        let Ok(in_meta) = std::fs::metadata(input) else {
            continue;
        };
        if same_file(&in_meta, &out_meta, input, output) {
            return Err(Error::SameFile {
                input: input.to_path_buf(),
                output: output.to_path_buf(),
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata, _: &Path, _: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata, a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

fn output_error(path: &Path, source: io::Error) -> Error {
    Error::Output {
        path: path.to_path_buf(),
        source,
    }
}

/// The folder a temporary file for `dest` goes in (the destination's, so the rename is
/// atomic).
fn parent_of(dest: &Path) -> PathBuf {
    match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temporary file's builder: named `.spate-XXXX.partial`, created with the mode an
/// ordinary file (or folder) gets (the umask applies), not the private mode of temporary
/// files, as it becomes the output.
fn builder(#[allow(unused_variables)] mode: u32) -> tempfile::Builder<'static, 'static> {
    let mut b = tempfile::Builder::new();
    b.prefix(".spate-").suffix(".partial");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(mode));
    }
    b
}

/// A file being written: a temporary file next to `dest`, removed if dropped before
/// [`PendingFile::commit`].
#[derive(Debug)]
pub struct PendingFile {
    temp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl PendingFile {
    /// Creates the temporary file for `dest`.
    pub fn create(dest: &Path) -> Result<PendingFile, Error> {
        let temp = builder(0o666)
            .tempfile_in(parent_of(dest))
            .map_err(|e| output_error(dest, e))?;
        register(temp.path());
        Ok(PendingFile {
            temp,
            dest: dest.to_path_buf(),
        })
    }

    /// A buffered writer of the file.
    pub fn writer(&self) -> Result<BufWriter<File>, Error> {
        let f = self
            .temp
            .reopen()
            .map_err(|e| output_error(&self.dest, e))?;
        Ok(BufWriter::with_capacity(1 << 20, f))
    }

    /// Renames the file over its destination; returns its size.
    pub fn commit(self) -> Result<u64, Error> {
        let dest = self.dest.clone();
        let temp_path = self.temp.path().to_path_buf();
        let size = self
            .temp
            .as_file()
            .metadata()
            .map_err(|e| output_error(&dest, e))?
            .len();
        let persisted = self.temp.persist(&dest);
        unregister(&temp_path);
        persisted.map_err(|e| output_error(&dest, e.error))?;
        Ok(size)
    }
}

/// A folder being written (partitioned output): a temporary folder next to `dest`, removed
/// if dropped before [`PendingDir::commit`]. `dest` must not exist, or be an empty folder.
#[derive(Debug)]
pub struct PendingDir {
    temp: Option<tempfile::TempDir>,
    dest: PathBuf,
}

impl PendingDir {
    pub fn create(dest: &Path) -> Result<PendingDir, Error> {
        if let Ok(mut entries) = std::fs::read_dir(dest) {
            if entries.next().is_some() {
                return Err(Error::Usage(format!(
                    "{}: the folder of partitioned output exists and is not empty",
                    dest.display()
                )));
            }
        } else if dest.exists() {
            return Err(Error::Usage(format!(
                "{}: partitioned output is a folder, and a file has this name",
                dest.display()
            )));
        }
        let parent = parent_of(dest);
        std::fs::create_dir_all(&parent).map_err(|e| output_error(dest, e))?;
        let temp = builder(0o777)
            .tempdir_in(parent)
            .map_err(|e| output_error(dest, e))?;
        register(temp.path());
        Ok(PendingDir {
            temp: Some(temp),
            dest: dest.to_path_buf(),
        })
    }

    /// The temporary folder being filled.
    pub fn path(&self) -> &Path {
        self.temp.as_ref().map_or(Path::new(""), |t| t.path())
    }

    /// Renames the folder to its destination.
    pub fn commit(mut self) -> Result<(), Error> {
        let temp = self.temp.take().expect("committed once");
        if self.dest.is_dir() {
            std::fs::remove_dir(&self.dest).map_err(|e| output_error(&self.dest, e))?;
        }
        let path = temp.keep();
        unregister(&path);
        std::fs::rename(&path, &self.dest).map_err(|e| {
            let _ = std::fs::remove_dir_all(&path);
            output_error(&self.dest, e)
        })
    }
}

/// How a text output is compressed, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextCompression {
    None,
    Gzip,
    Zstd,
}

impl TextCompression {
    /// `.gz` is gzip, `.zst`/`.zstd` zstd.
    pub fn from_file_name(name: &str) -> TextCompression {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".gz") {
            TextCompression::Gzip
        } else if lower.ends_with(".zst") || lower.ends_with(".zstd") {
            TextCompression::Zstd
        } else {
            TextCompression::None
        }
    }
}

/// A text output: a [`PendingFile`], compressed by its name. Write to it, then
/// [`TextOutput::commit`].
pub struct TextOutput {
    encoder: Encoder,
    pending: PendingFile,
}

enum Encoder {
    Plain(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::Encoder<'static, BufWriter<File>>),
}

impl std::fmt::Debug for TextOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextOutput")
            .field("dest", &self.pending.dest)
            .finish()
    }
}

impl TextOutput {
    /// Creates the output for `dest`, compressed as its name says.
    pub fn create(dest: &Path) -> Result<TextOutput, Error> {
        let pending = PendingFile::create(dest)?;
        let w = pending.writer()?;
        let name = dest.to_string_lossy();
        let encoder = match TextCompression::from_file_name(&name) {
            TextCompression::None => Encoder::Plain(w),
            TextCompression::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                w,
                flate2::Compression::default(),
            )),
            TextCompression::Zstd => Encoder::Zstd(
                zstd::Encoder::new(w, zstd::DEFAULT_COMPRESSION_LEVEL)
                    .map_err(|e| output_error(dest, e))?,
            ),
        };
        Ok(TextOutput { encoder, pending })
    }

    /// Ends the compressed stream, renames the file over its destination; returns its size.
    pub fn commit(self) -> Result<u64, Error> {
        let dest = self.pending.dest.clone();
        let err = |e| output_error(&dest, e);
        let mut inner = match self.encoder {
            Encoder::Plain(w) => w,
            Encoder::Gzip(g) => g.finish().map_err(err)?,
            Encoder::Zstd(z) => z.finish().map_err(err)?,
        };
        inner.flush().map_err(err)?;
        drop(inner);
        self.pending.commit()
    }
}

impl Write for TextOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.encoder {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(w) => w.write(buf),
            Encoder::Zstd(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.encoder {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(w) => w.flush(),
            Encoder::Zstd(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_input_is_refused_as_output_also_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        std::fs::write(&a, "x\n1\n").unwrap();
        assert!(matches!(
            check_not_input(&[&a], &a),
            Err(Error::SameFile { .. })
        ));
        #[cfg(unix)]
        {
            let link = dir.path().join("l.csv");
            std::os::unix::fs::symlink(&a, &link).unwrap();
            assert!(check_not_input(&[&a], &link).is_err());
        }
        assert!(check_not_input(&[&a], &dir.path().join("b.csv")).is_ok());
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "x\n1\n");
    }

    #[test]
    fn nothing_is_left_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("o.jsonl.gz");
        {
            let mut out = TextOutput::create(&dest).unwrap();
            out.write_all(b"{}\n").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let mut out = TextOutput::create(&dest).unwrap();
        out.write_all(b"{\"a\":1}\n").unwrap();
        out.commit().unwrap();
        let mut text = String::new();
        flate2::read::GzDecoder::new(File::open(&dest).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "{\"a\":1}\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
