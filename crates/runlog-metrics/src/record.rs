//! Record framing inside a segment: `len: u32 LE | crc32: u32 LE | kind: u8 | payload[len]`.
//! The CRC (crc32fast, IEEE) covers the length bytes, the kind byte and the payload, so a flipped
//! length is caught as surely as a flipped payload byte.

use crate::error::DecodeError;

/// Bytes before a record's payload.
pub(crate) const HEADER_LEN: usize = 9;
/// Largest payload a record may declare; anything larger is damage, not data.
pub(crate) const MAX_PAYLOAD: usize = 1 << 30;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// `series_id: u32`, then the key as UTF-8.
    Series = 1,
    /// A compressed block (see `block.rs`).
    Block = 2,
    /// One series' block index of a sealed segment (rkyv).
    Index = 3,
    /// The footer directory of a sealed segment (rkyv).
    Footer = 4,
    /// The last record of a sealed segment: `footer_offset: u64`.
    Seal = 5,
    /// A `MANIFEST` entry: `segment: u32, segment_len: u64`, then a copy of that segment's
    /// footer directory.
    Manifest = 6,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Series,
            2 => Kind::Block,
            3 => Kind::Index,
            4 => Kind::Footer,
            5 => Kind::Seal,
            6 => Kind::Manifest,
            _ => return None,
        })
    }
}

/// Size of the seal record, which ends every sealed segment.
pub(crate) const SEAL_LEN: usize = HEADER_LEN + 8;

/// Appends a record whose payload `write` appends to `out`.
pub(crate) fn append(out: &mut Vec<u8>, kind: Kind, write: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    write(out);
    let len = (out.len() - start - HEADER_LEN) as u32;
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 8] = kind as u8;
    let crc = checksum(&out[start..start + 4], &out[start + 8..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn checksum(len_bytes: &[u8], kind_and_payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len_bytes);
    h.update(kind_and_payload);
    h.finalize()
}

/// A record read from a buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub kind: Kind,
    pub payload: &'a [u8],
}

impl Record<'_> {
    /// Bytes the whole record occupies.
    pub fn total_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }
}

/// Why no record could be read at an offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReadError {
    /// The buffer ends inside the record: a torn tail, or a record still being written.
    Incomplete { needed: usize },
    /// The bytes are there but wrong.
    Bad(DecodeError),
}

/// Reads the record starting at `buf[at..]`, checking its CRC.
pub(crate) fn read(buf: &[u8], at: usize) -> Result<Record<'_>, ReadError> {
    let rest = &buf[at.min(buf.len())..];
    if rest.len() < HEADER_LEN {
        return Err(ReadError::Incomplete { needed: HEADER_LEN });
    }
    let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
    if len > MAX_PAYLOAD {
        return Err(ReadError::Bad(DecodeError::new(
            at,
            format!("record length {len} exceeds the maximum {MAX_PAYLOAD}"),
        )));
    }
    if rest.len() < HEADER_LEN + len {
        return Err(ReadError::Incomplete {
            needed: HEADER_LEN + len,
        });
    }
    let stored = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
    let actual = checksum(&rest[0..4], &rest[8..HEADER_LEN + len]);
    if stored != actual {
        return Err(ReadError::Bad(DecodeError::new(
            at,
            format!(
                "record checksum mismatch (stored {stored:#010x}, computed {actual:#010x} over {len} payload bytes)"
            ),
        )));
    }
    let Some(kind) = Kind::from_u8(rest[8]) else {
        return Err(ReadError::Bad(DecodeError::new(
            at + 8,
            format!("unknown record kind {}", rest[8]),
        )));
    };
    Ok(Record {
        kind,
        payload: &rest[HEADER_LEN..HEADER_LEN + len],
    })
}

impl ReadError {
    /// The failure as a decode error at `at` (incomplete records become "truncated").
    pub(crate) fn into_decode(self, at: usize, available: usize) -> DecodeError {
        match self {
            ReadError::Bad(e) => e,
            ReadError::Incomplete { needed } => DecodeError::new(
                at,
                format!(
                    "record truncated: needs {needed} bytes, only {} remain",
                    available.saturating_sub(at)
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_single_bit_flip_is_caught() {
        let mut buf = Vec::new();
        append(&mut buf, Kind::Series, |o| {
            o.extend_from_slice(b"\x07\0\0\0train/loss")
        });
        for bit in 0..buf.len() * 8 {
            let mut bad = buf.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(read(&bad, 0).is_err(), "flip of bit {bit} went unnoticed");
        }
        let r = read(&buf, 0).unwrap();
        assert_eq!(r.kind, Kind::Series);
        assert_eq!(r.total_len(), buf.len());
    }

    #[test]
    fn every_truncation_is_incomplete() {
        let mut buf = Vec::new();
        append(&mut buf, Kind::Block, |o| o.extend_from_slice(&[1; 40]));
        for cut in 0..buf.len() {
            assert!(matches!(
                read(&buf[..cut], 0),
                Err(ReadError::Incomplete { .. })
            ));
        }
    }
}
