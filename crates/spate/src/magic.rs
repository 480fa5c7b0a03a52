//! Compression by content: the magic bytes of gzip and zstd, in one place for readers that
//! must know whether a file is plain before choosing how to read it (a plain file can be
//! read in parallel byte ranges; a compressed one only as one stream through
//! [`crate::source`]).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::inputs::Compression;

/// The first bytes of a gzip member.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The first bytes of a zstd frame.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The compression the first bytes of an input announce.
pub fn compression_of(head: &[u8]) -> Compression {
    if head.starts_with(&GZIP_MAGIC) {
        Compression::Gzip
    } else if head.starts_with(&ZSTD_MAGIC) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// The compression of the file at `path`, by its first bytes.
pub fn file_compression(path: &Path) -> io::Result<Compression> {
    let mut head = Vec::with_capacity(4);
    File::open(path)?.take(4).read_to_end(&mut head)?;
    Ok(compression_of(&head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert_eq!(compression_of(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(compression_of(&ZSTD_MAGIC), Compression::Zstd);
        assert_eq!(compression_of(b"{\"a\""), Compression::None);
        assert_eq!(compression_of(&[0x1f]), Compression::None);
    }
}
