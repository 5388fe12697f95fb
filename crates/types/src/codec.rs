//! The canonical binary codec.
//!
//! Every value has exactly one encoding: integers are fixed-width big-endian, byte strings and
//! sequences carry a `u32` length prefix, enums a `u8` tag. Decoding takes an explicit maximum
//! for every length and count and rejects trailing bytes, so a peer can make us allocate at
//! most what the limits allow. Golden-hash tests beside each type pin the formats.

use thiserror::Error;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("input ends early: needed {needed} more bytes for {what}")]
    UnexpectedEnd {
        /// What was being read.
        what: &'static str,
        /// How many bytes were missing.
        needed: usize,
    },
    /// A length or count is over its limit.
    #[error("{what} has length {len}, over the limit of {max}")]
    TooLong {
        /// What was being read.
        what: &'static str,
        /// The length found.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An enum tag that names no variant.
    #[error("unknown {what} tag {tag}")]
    UnknownTag {
        /// The enum being read.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// Bytes left over after the value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A field whose bytes are well-formed but whose value is not allowed.
    #[error("invalid {what}: {why}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Why it is invalid.
        why: &'static str,
    },
}

/// A value with one canonical encoding.
pub trait Encode {
    /// Appends the encoding of `self` to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// The encoding of `self`.
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }
}

/// A value that can be read back from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from `r`, leaving the rest of the input.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes exactly one value from `bytes`, refusing trailing bytes.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let value = Self::decode_from(&mut r)?;
        r.finish()?;
        Ok(value)
    }
}

/// A cursor over untrusted input.
#[derive(Debug)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Fails unless all input was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.bytes.len() {
            0 => Ok(()),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.bytes.len() < n {
            return Err(DecodeError::UnexpectedEnd { what, needed: n - self.bytes.len() });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// A `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A boolean: exactly 0 or 1, so that each value has one encoding.
    pub fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::UnknownTag { what, tag }),
        }
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// A big-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// A big-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// A big-endian `u128`.
    pub fn u128(&mut self, what: &'static str) -> Result<u128, DecodeError> {
        Ok(u128::from_be_bytes(self.array(what)?))
    }

    /// A length prefix, checked against `max` before anything is allocated.
    pub fn len(&mut self, max: usize, what: &'static str) -> Result<usize, DecodeError> {
        let len = self.u32(what)? as usize;
        if len > max {
            return Err(DecodeError::TooLong { what, len, max });
        }
        Ok(len)
    }

    /// A length-prefixed byte string of at most `max` bytes.
    pub fn bytes(&mut self, max: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let len = self.len(max, what)?;
        self.take(len, what)
    }

    /// A length-prefixed UTF-8 string of at most `max` bytes.
    pub fn string(&mut self, max: usize, what: &'static str) -> Result<String, DecodeError> {
        let bytes = self.bytes(max, what)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Invalid { what, why: "not UTF-8" })
    }

    /// A sequence of at most `max` items, each read by `item`.
    pub fn seq<T>(
        &mut self,
        max: usize,
        what: &'static str,
        mut item: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let len = self.len(max, what)?;
        // Each item takes at least one byte, so the input bounds the allocation too.
        let mut out = Vec::with_capacity(len.min(self.remaining()));
        for _ in 0..len {
            out.push(item(self)?);
        }
        Ok(out)
    }
}

/// Appends a length prefix. Lengths are bounded by the limits far below `u32::MAX`.
pub fn put_len(out: &mut Vec<u8>, len: usize) {
    let len = u32::try_from(len).expect("encoded lengths are bounded far below u32::MAX");
    out.extend_from_slice(&len.to_be_bytes());
}

/// Appends a length-prefixed byte string.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Appends a length-prefixed sequence.
pub fn put_seq<T: Encode>(out: &mut Vec<u8>, items: &[T]) {
    put_len(out, items.len());
    for item in items {
        item.encode_to(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_over_limit_is_refused_before_allocation() {
        let mut bytes = Vec::new();
        put_len(&mut bytes, 1_000_000);
        let err = Reader::new(&bytes).bytes(10, "blob").unwrap_err();
        assert_eq!(err, DecodeError::TooLong { what: "blob", len: 1_000_000, max: 10 });
    }

    #[test]
    fn short_input_names_what_was_missing() {
        let err = Reader::new(&[0, 0]).u64("height").unwrap_err();
        assert_eq!(err, DecodeError::UnexpectedEnd { what: "height", needed: 6 });
    }

    #[test]
    fn a_boolean_is_0_or_1_and_nothing_else() {
        assert_eq!(Reader::new(&[0]).bool("flag"), Ok(false));
        assert_eq!(Reader::new(&[1]).bool("flag"), Ok(true));
        for tag in [2, 0x80, 0xff] {
            assert_eq!(Reader::new(&[tag]).bool("flag"), Err(DecodeError::UnknownTag { what: "flag", tag }));
        }
    }

    #[test]
    fn seq_count_cannot_outrun_input() {
        let mut bytes = Vec::new();
        put_len(&mut bytes, 5);
        let err = Reader::new(&bytes).seq(10, "items", |r| r.u8("item")).unwrap_err();
        assert_eq!(err, DecodeError::UnexpectedEnd { what: "item", needed: 1 });
    }
}
