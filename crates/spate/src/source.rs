//! Opening inputs: files, standard input, readers and in-memory bytes, transparently
//! decompressed when gzip or zstd, with their format decided.
//!
//! This is the one place that knows the compression magic bytes ([`compression_of`]) and
//! the one `open` of an input ([`open_input`]): it gives the name, the decompressed reader,
//! the compression and the format ([`crate::inputs::sniff`]ed when not known).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use crate::error::Error;
use crate::inputs::{read_head, sniff, Compression, Format, InputData, InputFile};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The name used for standard input in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// An opened input: a reader over the (decompressed) bytes and a name for messages.
pub struct Input {
    /// The name: the path as given, or `<stdin>`.
    pub name: String,
    /// The decompressed bytes.
    pub reader: Box<dyn Read + Send>,
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input").field("name", &self.name).finish()
    }
}

/// The compression the first bytes of an input show (4 bytes are enough).
pub fn compression_of(head: &[u8]) -> Compression {
    if head.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// An input opened by [`open_input`].
pub struct Opened {
    /// The name used in messages.
    pub name: String,
    /// The decompressed bytes (from the start, the sniffed head included).
    pub reader: Box<dyn Read + Send>,
    /// The compression found by magic bytes.
    pub compression: Compression,
    /// The format: `known` when given, else the input's own, else sniffed.
    pub format: Format,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("name", &self.name)
            .field("compression", &self.compression)
            .field("format", &self.format)
            .finish()
    }
}

/// Opens an input of a run, whatever its source (file, standard input, reader, bytes):
/// decompresses it and decides its format (`known`, else [`InputFile::format`], else by
/// sniffing the first bytes). A reader input can be opened once; opening it again is an
/// I/O error.
pub fn open_input(file: &InputFile, known: Option<Format>) -> Result<Opened, Error> {
    let io_error = |source| Error::Io {
        input: file.name.clone(),
        source,
    };
    let raw: Box<dyn Read + Send> = match &file.data {
        Some(InputData::Bytes(bytes)) => Box::new(io::Cursor::new(bytes.clone())),
        Some(InputData::Reader(slot)) => slot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| {
                io_error(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "this reader was read already",
                ))
            })?,
        None if file.is_stdin() => Box::new(io::stdin()),
        None => {
            let f = File::open(&file.path).map_err(io_error)?;
            if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                return Err(io_error(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "is a directory",
                )));
            }
            Box::new(f)
        }
    };
    let (mut reader, compression) = decompress_detect(raw, &file.name)?;
    let format = match known.or(file.format) {
        Some(f) => f,
        None => {
            let head = read_head(&mut reader).map_err(io_error)?;
            let f = sniff(&head);
            reader = Box::new(io::Cursor::new(head).chain(reader));
            f
        }
    };
    Ok(Opened {
        name: file.name.clone(),
        reader,
        compression,
        format,
    })
}

/// Opens `path` (`-` means standard input), decompressing gzip and zstd transparently
/// (the format is not sniffed: see [`open_input`]).
pub fn open(path: &Path) -> Result<Input, Error> {
    let file = crate::inputs::input_file(path.to_path_buf(), None, None);
    // A known format: nothing is read ahead to sniff it.
    let opened = open_input(&file, Some(Format::Json))?;
    Ok(Input {
        name: opened.name,
        reader: opened.reader,
    })
}

/// Wraps `inner` in a decompressor when its first bytes are a gzip or zstd header.
pub fn decompress(inner: Box<dyn Read + Send>, name: &str) -> Result<Box<dyn Read + Send>, Error> {
    decompress_detect(inner, name).map(|(reader, _)| reader)
}

/// [`decompress`], also saying which compression it found.
pub fn decompress_detect(
    inner: Box<dyn Read + Send>,
    name: &str,
) -> Result<(Box<dyn Read + Send>, Compression), Error> {
    let mut peek = Peeked::new(inner);
    let head = peek.fill(4).map_err(|source| Error::Io {
        input: name.to_owned(),
        source,
    })?;
    let compression = compression_of(head);
    let reader: Box<dyn Read + Send> = match compression {
        // Multi-member gzip (as made by `cat a.gz b.gz`) decodes as one stream.
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            peek,
        ))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(peek).map_err(
            |source| Error::Io {
                input: name.to_owned(),
                source,
            },
        )?),
        Compression::None => Box::new(peek),
    };
    Ok((reader, compression))
}

/// A reader that first returns a few bytes read ahead to look at the header.
struct Peeked {
    head: [u8; 4],
    head_len: usize,
    head_pos: usize,
    inner: Box<dyn Read + Send>,
}

impl Peeked {
    fn new(inner: Box<dyn Read + Send>) -> Self {
        Peeked {
            head: [0; 4],
            head_len: 0,
            head_pos: 0,
            inner,
        }
    }

    /// Reads up to `n` bytes ahead (fewer at end of input) and returns them.
    fn fill(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.head_len < n {
            match self.inner.read(&mut self.head[self.head_len..n]) {
                Ok(0) => break,
                Ok(k) => self.head_len += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(&self.head[..self.head_len])
    }
}

impl Read for Peeked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.head_pos < self.head_len {
            let k = (self.head_len - self.head_pos).min(buf.len());
            buf[..k].copy_from_slice(&self.head[self.head_pos..self.head_pos + k]);
            self.head_pos += k;
            return Ok(k);
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(r: &mut dyn Read) -> Vec<u8> {
        let mut v = Vec::new();
        r.read_to_end(&mut v).unwrap();
        v
    }

    #[test]
    fn plain_gzip_and_zstd_read_the_same() {
        let text = br#"{"a": [1, 2, 3]}"#.to_vec();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&text[..], 1).unwrap();
        for bytes in [text.clone(), gz, zst] {
            let mut r = decompress(Box::new(io::Cursor::new(bytes)), "t").unwrap();
            assert_eq!(read_all(&mut r), text);
        }
    }

    #[test]
    fn tiny_inputs_pass_through() {
        for bytes in [&b""[..], b"1", b"[]"] {
            let mut r = decompress(Box::new(io::Cursor::new(bytes.to_vec())), "t").unwrap();
            assert_eq!(read_all(&mut r), bytes);
        }
    }
}
