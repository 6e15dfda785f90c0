//! TARS encoding of FISCO BCOS 3.x `TransactionData` and `Transaction`.
//!
//! Wire rules (TARS): a field head is `tag << 4 | type` (tags ≥ 15 take an extra byte); integers use the
//! smallest width that holds them (0 is the bare `ZERO_TAG` type); strings up to 255 bytes use a one-byte
//! length, longer ones four bytes; `vector<byte>` is a `SIMPLE_LIST` whose element head is `(0, INT8)`
//! followed by the length as an integer field with tag 0. Structs are framed by `STRUCT_BEGIN`/`STRUCT_END`.
//!
//! In `TransactionData` v0, `version, chainID, groupID, blockLimit, nonce, input` are `require` fields (always
//! written) and `to`, `abi` are `optional` (omitted when empty); the later fields (v1: `value, gasPrice,
//! gasLimit, maxFeePerGas, maxPriorityFeePerGas`; v2: `extension`) are optional. All `Transaction` fields are
//! optional. The decoder is total: every input either decodes or yields a [`TarsError`], and no allocation
//! is larger than the bytes actually present.

use thiserror::Error;

const TYPE_INT8: u8 = 0;
const TYPE_INT16: u8 = 1;
const TYPE_INT32: u8 = 2;
const TYPE_INT64: u8 = 3;
const TYPE_FLOAT: u8 = 4;
const TYPE_DOUBLE: u8 = 5;
const TYPE_STRING1: u8 = 6;
const TYPE_STRING4: u8 = 7;
const TYPE_MAP: u8 = 8;
const TYPE_LIST: u8 = 9;
const TYPE_STRUCT_BEGIN: u8 = 10;
const TYPE_STRUCT_END: u8 = 11;
const TYPE_ZERO: u8 = 12;
const TYPE_SIMPLE_LIST: u8 = 13;

/// Nesting limit when skipping unknown fields (structs, lists, maps), so hostile input cannot recurse deeply.
const MAX_DEPTH: usize = 16;

/// Why a byte string is not a valid TARS transaction.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TarsError {
    #[error("unexpected end of input at byte {0}")]
    Truncated(usize),
    #[error("field {tag}: unexpected TARS type {found}")]
    WrongType { tag: u8, found: u8 },
    #[error("unknown TARS type {0}")]
    UnknownType(u8),
    #[error("field {tag}: integer {value} out of range")]
    IntOutOfRange { tag: u8, value: i64 },
    #[error("negative or oversized length {0}")]
    BadLength(i64),
    #[error("field {0}: not valid UTF-8")]
    NotUtf8(u8),
    #[error("nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("unterminated struct")]
    UnterminatedStruct,
    #[error("unexpected struct end at top level")]
    StrayStructEnd,
    #[error("missing transaction data (field 1)")]
    MissingData,
    #[error("missing required field {0}")]
    MissingField(u8),
    #[error("unsupported transaction version {0}")]
    UnsupportedVersion(i32),
}

/// The signed part of a transaction. Fields after `abi` exist only in versions 1 (3.6+) and 2 (3.7+).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionData {
    pub version: i32,
    pub chain_id: String,
    pub group_id: String,
    pub block_limit: i64,
    pub nonce: String,
    /// Hex address without `0x` by convention; empty for a deployment. Hashed verbatim.
    pub to: String,
    pub input: Vec<u8>,
    pub abi: String,
    pub value: String,
    pub gas_price: String,
    pub gas_limit: i64,
    pub max_fee_per_gas: String,
    pub max_priority_fee_per_gas: String,
    pub extension: Vec<u8>,
}

/// A transaction as sent to `sendTransaction`: the data, its hash and the signature.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transaction {
    pub data: TransactionData,
    pub data_hash: Vec<u8>,
    pub signature: Vec<u8>,
    pub import_time: i64,
    pub attribute: i32,
    pub source: String,
    pub sender: Vec<u8>,
    pub extra_data: String,
}

// ---------------------------------------------------------------------------------------------------------
// Writer

#[derive(Debug, Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn head(&mut self, tag: u8, ty: u8) {
        if tag < 15 {
            self.buf.push((tag << 4) | ty);
        } else {
            self.buf.push(0xf0 | ty);
            self.buf.push(tag);
        }
    }

    fn int(&mut self, tag: u8, v: i64) {
        if v == 0 {
            self.head(tag, TYPE_ZERO);
        } else if let Ok(b) = i8::try_from(v) {
            self.head(tag, TYPE_INT8);
            self.buf.extend_from_slice(&b.to_be_bytes());
        } else if let Ok(s) = i16::try_from(v) {
            self.head(tag, TYPE_INT16);
            self.buf.extend_from_slice(&s.to_be_bytes());
        } else if let Ok(i) = i32::try_from(v) {
            self.head(tag, TYPE_INT32);
            self.buf.extend_from_slice(&i.to_be_bytes());
        } else {
            self.head(tag, TYPE_INT64);
            self.buf.extend_from_slice(&v.to_be_bytes());
        }
    }

    fn string(&mut self, tag: u8, s: &str) {
        let bytes = s.as_bytes();
        if let Ok(len) = u8::try_from(bytes.len()) {
            self.head(tag, TYPE_STRING1);
            self.buf.push(len);
        } else {
            self.head(tag, TYPE_STRING4);
            // A string over 4 GiB cannot be a transaction field; saturating keeps this total.
            let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            self.buf.extend_from_slice(&len.to_be_bytes());
        }
        self.buf.extend_from_slice(bytes);
    }

    fn bytes(&mut self, tag: u8, b: &[u8]) {
        self.head(tag, TYPE_SIMPLE_LIST);
        self.head(0, TYPE_INT8);
        self.int(0, i64::try_from(b.len()).unwrap_or(i64::MAX));
        self.buf.extend_from_slice(b);
    }
}

impl TransactionData {
    fn write_fields(&self, w: &mut Writer) {
        w.int(1, i64::from(self.version));
        w.string(2, &self.chain_id);
        w.string(3, &self.group_id);
        w.int(4, self.block_limit);
        w.string(5, &self.nonce);
        if !self.to.is_empty() {
            w.string(6, &self.to);
        }
        w.bytes(7, &self.input);
        if !self.abi.is_empty() {
            w.string(8, &self.abi);
        }
        if !self.value.is_empty() {
            w.string(9, &self.value);
        }
        if !self.gas_price.is_empty() {
            w.string(10, &self.gas_price);
        }
        if self.gas_limit != 0 {
            w.int(11, self.gas_limit);
        }
        if !self.max_fee_per_gas.is_empty() {
            w.string(12, &self.max_fee_per_gas);
        }
        if !self.max_priority_fee_per_gas.is_empty() {
            w.string(13, &self.max_priority_fee_per_gas);
        }
        if !self.extension.is_empty() {
            w.bytes(14, &self.extension);
        }
    }

    /// TARS bytes of this struct as a top-level object (what the go-sdk calls the encoded TransactionData).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.write_fields(&mut w);
        w.buf
    }

    /// Decode a top-level TARS `TransactionData`.
    pub fn decode(bytes: &[u8]) -> Result<Self, TarsError> {
        let mut r = Reader::new(bytes);
        let data = Self::read_fields(&mut r, false)?;
        data.check_version()?;
        Ok(data)
    }

    fn check_version(&self) -> Result<(), TarsError> {
        match self.version {
            0..=2 => Ok(()),
            v => Err(TarsError::UnsupportedVersion(v)),
        }
    }

    fn read_fields(r: &mut Reader<'_>, in_struct: bool) -> Result<Self, TarsError> {
        let mut d = TransactionData::default();
        // chainID, groupID, blockLimit and nonce are never default in a real transaction (the v0 schema
        // marks them `require`); `version` and `input` may be left out by all-optional encoders.
        let mut seen = 0u32;
        loop {
            let Some((tag, ty)) = r.next_head(in_struct)? else {
                for required in [2u8, 3, 4, 5] {
                    if seen & (1 << required) == 0 {
                        return Err(TarsError::MissingField(required));
                    }
                }
                return Ok(d);
            };
            if tag < 32 {
                seen |= 1 << tag;
            }
            match tag {
                1 => d.version = r.int32(tag, ty)?,
                2 => d.chain_id = r.string(tag, ty)?,
                3 => d.group_id = r.string(tag, ty)?,
                4 => d.block_limit = r.int(tag, ty)?,
                5 => d.nonce = r.string(tag, ty)?,
                6 => d.to = r.string(tag, ty)?,
                7 => d.input = r.bytes(tag, ty, 0)?,
                8 => d.abi = r.string(tag, ty)?,
                9 => d.value = r.string(tag, ty)?,
                10 => d.gas_price = r.string(tag, ty)?,
                11 => d.gas_limit = r.int(tag, ty)?,
                12 => d.max_fee_per_gas = r.string(tag, ty)?,
                13 => d.max_priority_fee_per_gas = r.string(tag, ty)?,
                14 => d.extension = r.bytes(tag, ty, 0)?,
                _ => r.skip(ty, 0)?,
            }
        }
    }
}

impl Transaction {
    /// TARS bytes of the whole transaction: the hex of these is what `sendTransaction` takes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.head(1, TYPE_STRUCT_BEGIN);
        self.data.write_fields(&mut w);
        w.head(0, TYPE_STRUCT_END);
        if !self.data_hash.is_empty() {
            w.bytes(2, &self.data_hash);
        }
        if !self.signature.is_empty() {
            w.bytes(3, &self.signature);
        }
        if self.import_time != 0 {
            w.int(4, self.import_time);
        }
        if self.attribute != 0 {
            w.int(5, i64::from(self.attribute));
        }
        if !self.source.is_empty() {
            w.string(6, &self.source);
        }
        if !self.sender.is_empty() {
            w.bytes(7, &self.sender);
        }
        if !self.extra_data.is_empty() {
            w.string(8, &self.extra_data);
        }
        w.buf
    }

    /// Decode a top-level TARS `Transaction`. Unknown tags are skipped; the data must be present.
    pub fn decode(bytes: &[u8]) -> Result<Self, TarsError> {
        let mut r = Reader::new(bytes);
        let mut tx = Transaction::default();
        let mut have_data = false;
        while let Some((tag, ty)) = r.next_head(false)? {
            match tag {
                1 => {
                    if ty != TYPE_STRUCT_BEGIN {
                        return Err(TarsError::WrongType { tag, found: ty });
                    }
                    tx.data = TransactionData::read_fields(&mut r, true)?;
                    have_data = true;
                }
                2 => tx.data_hash = r.bytes(tag, ty, 0)?,
                3 => tx.signature = r.bytes(tag, ty, 0)?,
                4 => tx.import_time = r.int(tag, ty)?,
                5 => tx.attribute = r.int32(tag, ty)?,
                6 => tx.source = r.string(tag, ty)?,
                7 => tx.sender = r.bytes(tag, ty, 0)?,
                8 => tx.extra_data = r.string(tag, ty)?,
                _ => r.skip(ty, 0)?,
            }
        }
        if !have_data {
            return Err(TarsError::MissingData);
        }
        tx.data.check_version()?;
        Ok(tx)
    }
}

// ---------------------------------------------------------------------------------------------------------
// Reader

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], TarsError> {
        let end = self.pos.checked_add(n).ok_or(TarsError::Truncated(self.pos))?;
        let s = self.buf.get(self.pos..end).ok_or(TarsError::Truncated(self.pos))?;
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, TarsError> {
        Ok(self.take(1)?[0])
    }

    fn head(&mut self) -> Result<(u8, u8), TarsError> {
        let b = self.u8()?;
        let ty = b & 0x0f;
        let mut tag = b >> 4;
        if tag == 15 {
            tag = self.u8()?;
        }
        Ok((tag, ty))
    }

    /// Next field head; `None` at a struct end (inside a struct) or at the end of input (top level).
    fn next_head(&mut self, in_struct: bool) -> Result<Option<(u8, u8)>, TarsError> {
        if self.pos >= self.buf.len() {
            return if in_struct { Err(TarsError::UnterminatedStruct) } else { Ok(None) };
        }
        let (tag, ty) = self.head()?;
        if ty == TYPE_STRUCT_END {
            return if in_struct { Ok(None) } else { Err(TarsError::StrayStructEnd) };
        }
        Ok(Some((tag, ty)))
    }

    fn int(&mut self, tag: u8, ty: u8) -> Result<i64, TarsError> {
        Ok(match ty {
            TYPE_ZERO => 0,
            TYPE_INT8 => i64::from(i8::from_be_bytes([self.u8()?])),
            TYPE_INT16 => {
                let b = self.take(2)?;
                i64::from(i16::from_be_bytes([b[0], b[1]]))
            }
            TYPE_INT32 => {
                let b = self.take(4)?;
                i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            }
            TYPE_INT64 => {
                let b = self.take(8)?;
                i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }
            _ => return Err(TarsError::WrongType { tag, found: ty }),
        })
    }

    fn int32(&mut self, tag: u8, ty: u8) -> Result<i32, TarsError> {
        let v = self.int(tag, ty)?;
        i32::try_from(v).map_err(|_| TarsError::IntOutOfRange { tag, value: v })
    }

    fn length(&mut self) -> Result<usize, TarsError> {
        let (_, ty) = self.head()?;
        let n = self.int(0, ty)?;
        let len = usize::try_from(n).map_err(|_| TarsError::BadLength(n))?;
        // A declared length can never exceed what is left: reject before allocating anything.
        if len > self.buf.len().saturating_sub(self.pos) {
            return Err(TarsError::BadLength(n));
        }
        Ok(len)
    }

    fn raw_string(&mut self, tag: u8, ty: u8) -> Result<&'a [u8], TarsError> {
        let len = match ty {
            TYPE_STRING1 => usize::from(self.u8()?),
            TYPE_STRING4 => {
                let b = self.take(4)?;
                u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
            }
            _ => return Err(TarsError::WrongType { tag, found: ty }),
        };
        self.take(len)
    }

    fn string(&mut self, tag: u8, ty: u8) -> Result<String, TarsError> {
        let raw = self.raw_string(tag, ty)?;
        String::from_utf8(raw.to_vec()).map_err(|_| TarsError::NotUtf8(tag))
    }

    /// `vector<byte>`: normally a SIMPLE_LIST; a generic LIST of byte-sized integers is accepted too.
    fn bytes(&mut self, tag: u8, ty: u8, depth: usize) -> Result<Vec<u8>, TarsError> {
        match ty {
            TYPE_SIMPLE_LIST => {
                let (_, elem) = self.head()?;
                if elem != TYPE_INT8 {
                    return Err(TarsError::WrongType { tag, found: elem });
                }
                let len = self.length()?;
                Ok(self.take(len)?.to_vec())
            }
            TYPE_LIST => {
                if depth >= MAX_DEPTH {
                    return Err(TarsError::TooDeep);
                }
                let len = self.length()?;
                // Each element takes at least one byte, so `len` is bounded by the remaining input.
                let mut out = Vec::with_capacity(len);
                for _ in 0..len {
                    let (etag, ety) = self.head()?;
                    let v = self.int(etag, ety)?;
                    let b = i8::try_from(v).map_err(|_| TarsError::IntOutOfRange { tag, value: v })?;
                    out.push(b.to_be_bytes()[0]);
                }
                Ok(out)
            }
            _ => Err(TarsError::WrongType { tag, found: ty }),
        }
    }

    fn skip(&mut self, ty: u8, depth: usize) -> Result<(), TarsError> {
        if depth >= MAX_DEPTH {
            return Err(TarsError::TooDeep);
        }
        match ty {
            TYPE_ZERO => {}
            TYPE_INT8 => {
                self.take(1)?;
            }
            TYPE_INT16 => {
                self.take(2)?;
            }
            TYPE_INT32 | TYPE_FLOAT => {
                self.take(4)?;
            }
            TYPE_INT64 | TYPE_DOUBLE => {
                self.take(8)?;
            }
            TYPE_STRING1 | TYPE_STRING4 => {
                self.raw_string(0, ty)?;
            }
            TYPE_MAP => {
                let len = self.length()?;
                for _ in 0..len {
                    for _ in 0..2 {
                        let (_, t) = self.head()?;
                        self.skip(t, depth + 1)?;
                    }
                }
            }
            TYPE_LIST => {
                let len = self.length()?;
                for _ in 0..len {
                    let (_, t) = self.head()?;
                    self.skip(t, depth + 1)?;
                }
            }
            TYPE_SIMPLE_LIST => {
                let (_, elem) = self.head()?;
                if elem != TYPE_INT8 {
                    return Err(TarsError::WrongType { tag: 0, found: elem });
                }
                let len = self.length()?;
                self.take(len)?;
            }
            TYPE_STRUCT_BEGIN => loop {
                if self.pos >= self.buf.len() {
                    return Err(TarsError::UnterminatedStruct);
                }
                let (_, t) = self.head()?;
                if t == TYPE_STRUCT_END {
                    break;
                }
                self.skip(t, depth + 1)?;
            },
            other => return Err(TarsError::UnknownType(other)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_widths_follow_tars() {
        // Hand-computed: head byte (tag<<4|type) then big-endian value of the smallest width.
        let mut w = Writer::default();
        w.int(1, 0);
        w.int(2, -1);
        w.int(3, 522);
        w.int(4, 70_000);
        w.int(5, 1 << 40);
        assert_eq!(hex::encode(&w.buf), "1c20ff31020a4200011170530000010000000000");
    }

    #[test]
    fn large_tag_uses_extra_byte() {
        let mut w = Writer::default();
        w.int(20, 1);
        assert_eq!(w.buf, vec![0xf0, 20, 1]);
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.head().unwrap(), (20, TYPE_INT8));
    }

    #[test]
    fn declared_length_beyond_input_is_rejected() {
        // tag 7 SIMPLE_LIST, elem head 0x00, length INT32 0x7fffffff, no payload.
        let bytes = [0x7d, 0x00, 0x02, 0x7f, 0xff, 0xff, 0xff];
        assert!(matches!(TransactionData::decode(&bytes), Err(TarsError::BadLength(_))));
    }

    #[test]
    fn deep_nesting_is_rejected() {
        // tag 9 (unknown) STRUCT_BEGIN repeated: skipping recurses and must stop at MAX_DEPTH.
        let bytes = vec![0x9a; 64];
        assert!(TransactionData::decode(&bytes).is_err());
    }
}
