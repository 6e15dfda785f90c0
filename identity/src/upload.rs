//! Image upload validation, reusable for selfies and later repair photos (DESIGN §4, §10).
//!
//! Order matters: byte cap → format sniffed from the magic bytes (never the file name or the declared type) →
//! dimensions read from the header by our own small parser → pixel limits → decode with explicit `image::Limits`
//! → optional downscale → re-encode (which drops EXIF, comments, ICC data and anything after the image) →
//! output cap → SHA-256. A decompression bomb is refused at the header step, before any large allocation.

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use std::fmt;
use std::io::Cursor;

/// The two formats accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageKind {
    Jpeg,
    Png,
}

impl ImageKind {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("the upload is empty")]
    Empty,
    #[error("the upload is larger than {max} bytes")]
    TooLarge { max: usize },
    #[error("the upload is not a JPEG or PNG image")]
    UnsupportedFormat,
    #[error("the image header is malformed or truncated")]
    MalformedHeader,
    #[error("the image is {width}x{height}, beyond the allowed size")]
    TooManyPixels { width: u32, height: u32 },
    #[error("the image data is truncated or corrupt")]
    Corrupt,
    #[error("the normalised image is larger than {max} bytes")]
    OutputTooLarge { max: usize },
    #[error("the PDF is malformed, truncated or has data after its end")]
    PdfMalformed,
    #[error("the PDF is encrypted or carries active content (scripts, launch actions, embedded files)")]
    PdfActiveContent,
    #[error("the PDF encodes a stream other than with Flate or an image codec, or names its filter indirectly")]
    PdfUnsupportedFilter,
}

impl UploadError {
    /// Stable code for problem+json.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "image_empty",
            Self::TooLarge { .. } => "image_too_large",
            Self::UnsupportedFormat => "image_unsupported_format",
            Self::MalformedHeader => "image_malformed_header",
            Self::TooManyPixels { .. } => "image_too_many_pixels",
            Self::Corrupt => "image_corrupt",
            Self::OutputTooLarge { .. } => "image_output_too_large",
            Self::PdfMalformed => "pdf_malformed",
            Self::PdfActiveContent => "pdf_active_content",
            Self::PdfUnsupportedFilter => "pdf_unsupported_filter",
        }
    }
}

/// Limits for one kind of upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImagePolicy {
    pub max_input_bytes: usize,
    pub max_output_bytes: usize,
    pub max_width: u32,
    pub max_height: u32,
    pub max_pixels: u64,
    /// Passed to the decoder as `Limits::max_alloc` and checked against the decoded buffer size up front.
    pub max_alloc_bytes: u64,
    /// Larger images are scaled down (aspect kept) so the longest side is at most this.
    pub max_output_side: u32,
    pub jpeg_quality: u8,
}

impl ImagePolicy {
    /// Selfies for the face factor: ≤ 10 MiB in, ≤ 3 MiB out (DESIGN §4), ≤ 8192 px a side, ≤ 40 Mpx,
    /// ≤ 192 MiB decoder allocation, scaled to ≤ 1920 px (more than face comparison needs).
    pub const SELFIE: ImagePolicy = ImagePolicy {
        max_input_bytes: 10 * 1024 * 1024,
        max_output_bytes: 3 * 1024 * 1024,
        max_width: 8192,
        max_height: 8192,
        max_pixels: 40_000_000,
        max_alloc_bytes: 192 * 1024 * 1024,
        max_output_side: 1920,
        jpeg_quality: 90,
    };

    /// Repair photos (DESIGN §8): same input limits, kept larger (≤ 2560 px) so details stay readable.
    pub const REPAIR_PHOTO: ImagePolicy = ImagePolicy { max_output_side: 2560, ..ImagePolicy::SELFIE };

    /// Photos of a property certificate for the manual registry review: kept at A4 / 300 dpi (≤ 3508 px) so
    /// the small print stays readable, ≤ 8 MiB out.
    pub const CERTIFICATE_SCAN: ImagePolicy =
        ImagePolicy { max_output_side: 3508, max_output_bytes: 8 * 1024 * 1024, ..ImagePolicy::SELFIE };
}

/// The largest PDF scan accepted (the same input cap as images).
pub const MAX_PDF_BYTES: usize = 10 * 1024 * 1024;

/// The kinds of certificate scan accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanKind {
    Jpeg,
    Png,
    Pdf,
}

impl ScanKind {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Pdf => "application/pdf",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
            Self::Pdf => "pdf",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "jpeg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }
}

/// A validated certificate scan: a re-encoded image, or a PDF that passed [`check_pdf`]. Debug never shows the
/// bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateScan {
    pub kind: ScanKind,
    pub bytes: Vec<u8>,
    pub sha256: [u8; 32],
}

impl CertificateScan {
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

impl fmt::Debug for CertificateScan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateScan")
            .field("kind", &self.kind)
            .field("len", &self.bytes.len())
            .field("sha256", &self.sha256_hex())
            .finish()
    }
}

/// Validates a property-certificate scan (manual registry review): a JPEG or PNG goes through
/// [`normalize_image`] with [`ImagePolicy::CERTIFICATE_SCAN`]; a PDF (sniffed from its header, never the name)
/// through [`check_pdf`] and is kept as sent. Anything else is refused.
pub fn validate_certificate_scan(bytes: &[u8]) -> Result<CertificateScan, UploadError> {
    if bytes.starts_with(b"%PDF-") {
        check_pdf(bytes)?;
        return Ok(CertificateScan { kind: ScanKind::Pdf, bytes: bytes.to_vec(), sha256: crate::sha256(bytes) });
    }
    let image = normalize_image(bytes, &ImagePolicy::CERTIFICATE_SCAN)?;
    let kind = match image.kind {
        ImageKind::Jpeg => ScanKind::Jpeg,
        ImageKind::Png => ScanKind::Png,
    };
    Ok(CertificateScan { kind, bytes: image.bytes, sha256: image.sha256 })
}

/// Names that make a PDF more than a document: scripts, actions that launch programs or submit forms, embedded
/// files, rich media, XFA forms, and encryption (staff could not read it).
const PDF_DENIED_NAMES: &[&[u8]] = &[
    b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles", b"RichMedia", b"XFA", b"SubmitForm",
    b"ImportData", b"GoToR", b"GoToE", b"Encrypt",
];

/// Most bytes all Flate streams of one PDF may inflate to. Beyond it the file is refused rather than scanned in
/// part: a decompression bomb, or far more than any scanned paper needs.
pub const MAX_PDF_INFLATED_BYTES: usize = 64 * 1024 * 1024;

/// A PDF's structure, as far as it can be checked without a PDF parser: a `%PDF-1.x`/`%PDF-2.x` header, an
/// `%%EOF` marker with nothing but whitespace after it (a cut-off upload has none; appended data is refused as
/// for images), and no name from a deny list anywhere in the file or inside any zlib-compressed stream (object
/// streams hide dictionaries there), `#xx` escapes decoded so `/Java#53cript` is caught. Every `/Filter` (and
/// `/FFilter`), in the file or in an inflated stream, must be one the scan sees through ([`filter_chain_allowed`]):
/// an ASCIIHex, ASCII85, LZW or RunLength stream would hide its dictionaries from the scan while any reader
/// decodes them, so such a file is refused. This is defence in depth: scans are only ever served as downloads,
/// never rendered by the server.
pub fn check_pdf(bytes: &[u8]) -> Result<(), UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    if bytes.len() > MAX_PDF_BYTES {
        return Err(UploadError::TooLarge { max: MAX_PDF_BYTES });
    }
    let version_ok = matches!(bytes.get(..8), Some([b'%', b'P', b'D', b'F', b'-', b'1' | b'2', b'.', d]) if d.is_ascii_digit());
    if !version_ok {
        return Err(UploadError::PdfMalformed);
    }
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
    if !bytes[..end].ends_with(b"%%EOF") || !bytes.windows(7).any(|w| w == b"trailer" || w == b"startxr") {
        return Err(UploadError::PdfMalformed);
    }
    check_pdf_names(bytes)?;
    let mut budget = MAX_PDF_INFLATED_BYTES;
    for data in stream_contents(bytes) {
        let inflated = inflate_prefix(data, budget)?;
        budget -= inflated.len();
        check_pdf_names(&inflated)?;
    }
    Ok(())
}

/// The deny list and the filter rule over one run of PDF bytes (the file, or one inflated stream).
fn check_pdf_names(bytes: &[u8]) -> Result<(), UploadError> {
    if names_denied(bytes) {
        return Err(UploadError::PdfActiveContent);
    }
    if !filters_allowed(bytes) {
        return Err(UploadError::PdfUnsupportedFilter);
    }
    Ok(())
}

/// PDF white-space (ISO 32000-1 §7.2.2): NUL, tab, line feed, form feed, carriage return, space. Readers end a
/// name at any of them, NUL included.
fn is_pdf_whitespace(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

/// Whether a byte ends a name: white-space or a delimiter.
fn ends_name(b: u8) -> bool {
    is_pdf_whitespace(b) || b"/[]<>(){}%".contains(&b)
}

/// Every name in `bytes` (wherever it stands: keys, values, strings, stream data), `#xx` escapes decoded, with
/// the index just past it.
fn pdf_names(bytes: &[u8]) -> impl Iterator<Item = (Vec<u8>, usize)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let start = i + bytes.get(i..)?.iter().position(|&b| b == b'/')?;
        let (name, end) = read_name(bytes, start + 1);
        i = end;
        Some((name, end))
    })
}

/// The name starting at `i` (just past its `/`), escapes decoded, and the index just past it.
fn read_name(bytes: &[u8], mut i: usize) -> (Vec<u8>, usize) {
    let mut name = Vec::new();
    while let Some(&b) = bytes.get(i) {
        if ends_name(b) {
            break;
        }
        if b == b'#'
            && let Some(v) = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            name.push(v);
            i += 3;
            continue;
        }
        name.push(b);
        i += 1;
    }
    (name, i)
}

/// Flate, inflated and scanned here; at most once, first in a chain.
const PDF_FLATE_FILTERS: &[&[u8]] = &[b"FlateDecode", b"Fl"];
/// Image codecs: their data is pixels, which no reader parses as PDF objects; at most one, last in a chain.
const PDF_IMAGE_FILTERS: &[&[u8]] = &[b"DCTDecode", b"DCT", b"JPXDecode", b"CCITTFaxDecode", b"CCF", b"JBIG2Decode"];

/// The filter chains a scan may use: none, Flate, one image codec, or Flate then one image codec. Anything else
/// (ASCIIHex, ASCII85, LZW, RunLength, Crypt, Flate twice) decodes to bytes this check never sees.
fn filter_chain_allowed(chain: &[Vec<u8>]) -> bool {
    let flate = |n: &Vec<u8>| PDF_FLATE_FILTERS.contains(&n.as_slice());
    let image = |n: &Vec<u8>| PDF_IMAGE_FILTERS.contains(&n.as_slice());
    match chain {
        [] => true,
        [only] => flate(only) || image(only),
        [first, last] => flate(first) && image(last),
        _ => false,
    }
}

/// Whether every `/Filter` and `/FFilter` in `bytes` is followed by a name or an array of names forming an
/// allowed chain. An indirect reference (`/Filter 7 0 R`), which may name any filter from elsewhere, or anything
/// else there is refused. Position-independent like the deny list, so no trick of the file's structure hides a
/// stream dictionary from it (a name inside a string is checked too, which costs nothing real).
fn filters_allowed(bytes: &[u8]) -> bool {
    pdf_names(bytes)
        .filter(|(name, _)| name == b"Filter" || name == b"FFilter")
        .all(|(_, end)| filter_value(bytes, end).is_some_and(|chain| filter_chain_allowed(&chain)))
}

/// The names of a filter value starting at `i`: `/Name` or `[/A /B]`; `None` for anything else.
fn filter_value(bytes: &[u8], i: usize) -> Option<Vec<Vec<u8>>> {
    let mut i = skip_blank(bytes, i);
    match bytes.get(i)? {
        b'/' => Some(vec![read_name(bytes, i + 1).0]),
        b'[' => {
            let mut chain = Vec::new();
            i += 1;
            loop {
                i = skip_blank(bytes, i);
                match bytes.get(i)? {
                    b']' => return Some(chain),
                    b'/' => {
                        let (name, end) = read_name(bytes, i + 1);
                        chain.push(name);
                        i = end;
                    }
                    _ => return None,
                }
            }
        }
        _ => None,
    }
}

/// The index of the first byte at or after `i` that is neither white-space nor in a comment.
fn skip_blank(bytes: &[u8], mut i: usize) -> usize {
    while let Some(&b) = bytes.get(i) {
        if is_pdf_whitespace(b) {
            i += 1;
        } else if b == b'%' {
            while bytes.get(i).is_some_and(|&c| c != b'\n' && c != b'\r') {
                i += 1;
            }
        } else {
            break;
        }
    }
    i
}

/// The raw contents of every `stream … endstream` of a PDF (whatever their filter).
fn stream_contents(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let find = |hay: &[u8], needle: &[u8], from: usize| hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from);
    let mut from = 0;
    std::iter::from_fn(move || {
        loop {
            let at = find(bytes, b"stream", from)?;
            from = at + 6;
            // `endstream` contains `stream`: only a keyword followed by an end of line opens a stream.
            let start = match bytes.get(from..from + 2) {
                Some([b'\r', b'\n']) => from + 2,
                Some([b'\n', _]) | Some([b'\n']) => from + 1,
                _ => continue,
            };
            if at >= 3 && &bytes[at - 3..at] == b"end" {
                continue;
            }
            let stop = find(bytes, b"endstream", start).unwrap_or(bytes.len());
            from = stop;
            return Some(&bytes[start..stop]);
        }
    })
}

/// What a zlib stream inflates to, as far as it is valid (a viewer may render a damaged stream's readable
/// start, so that start is scanned too); empty for data that is not zlib. More than `budget` bytes is refused.
fn inflate_prefix(data: &[u8], budget: usize) -> Result<Vec<u8>, UploadError> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut inflater = Decompress::new(true);
    let mut out: Vec<u8> = Vec::new();
    loop {
        if out.len() > budget {
            return Err(UploadError::PdfMalformed);
        }
        // decompress_vec writes only into spare capacity; grow it in steps up to just past the budget.
        if out.capacity() == out.len() {
            out.reserve((budget + 1 - out.len()).min(256 * 1024));
        }
        let (read, written) = (inflater.total_in(), inflater.total_out());
        let rest = data.get(usize::try_from(read).unwrap_or(usize::MAX)..).unwrap_or_default();
        match inflater.decompress_vec(rest, &mut out, FlushDecompress::None) {
            Ok(Status::StreamEnd) | Err(_) => break,
            Ok(_) if inflater.total_in() == read && inflater.total_out() == written && out.capacity() > out.len() => break,
            Ok(_) => {}
        }
    }
    if out.len() > budget {
        return Err(UploadError::PdfMalformed);
    }
    Ok(out)
}

/// Whether any PDF name in `bytes` (with `#xx` escapes decoded) is on the deny list.
fn names_denied(bytes: &[u8]) -> bool {
    pdf_names(bytes).any(|(name, _)| PDF_DENIED_NAMES.contains(&name.as_slice()))
}

impl Default for ImagePolicy {
    fn default() -> Self {
        Self::SELFIE
    }
}

/// A validated, re-encoded image. Debug never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct NormalizedImage {
    pub kind: ImageKind,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes` (the normalised image: the one sent to the provider and the hash that is stored).
    pub sha256: [u8; 32],
}

impl NormalizedImage {
    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

impl fmt::Debug for NormalizedImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NormalizedImage")
            .field("kind", &self.kind)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("len", &self.bytes.len())
            .field("sha256", &self.sha256_hex())
            .finish()
    }
}

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The format from the magic bytes alone.
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if bytes.starts_with(PNG_MAGIC) {
        Some(ImageKind::Png)
    } else {
        None
    }
}

/// Width and height from the header, without decoding: PNG's IHDR, or the first JPEG SOFn segment.
pub fn header_dimensions(kind: ImageKind, bytes: &[u8]) -> Result<(u32, u32), UploadError> {
    let be16 = |i: usize| -> Option<u32> { Some(u32::from(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?]))) };
    match kind {
        ImageKind::Png => {
            // signature(8) | length(4) | "IHDR" | width(4) | height(4)
            if bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
                return Err(UploadError::MalformedHeader);
            }
            let w = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
            let h = u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
            Ok((w, h))
        }
        ImageKind::Jpeg => {
            let mut i = 2;
            loop {
                // Markers are 0xFF followed by a code; extra 0xFF bytes are fill.
                if bytes.get(i) != Some(&0xFF) {
                    return Err(UploadError::MalformedHeader);
                }
                while bytes.get(i) == Some(&0xFF) {
                    i += 1;
                }
                let marker = *bytes.get(i).ok_or(UploadError::MalformedHeader)?;
                i += 1;
                match marker {
                    0x01 | 0xD0..=0xD7 => continue,
                    // SOS or EOI before any frame header: no dimensions.
                    0xDA | 0xD9 => return Err(UploadError::MalformedHeader),
                    _ => {}
                }
                let len = be16(i).ok_or(UploadError::MalformedHeader)? as usize;
                if len < 2 {
                    return Err(UploadError::MalformedHeader);
                }
                let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
                if is_sof {
                    // length(2) | precision(1) | height(2) | width(2)
                    let h = be16(i + 3).ok_or(UploadError::MalformedHeader)?;
                    let w = be16(i + 5).ok_or(UploadError::MalformedHeader)?;
                    return Ok((w, h));
                }
                i += len;
            }
        }
    }
}

/// True when the JPEG has an end-of-image marker after its first start-of-scan: a cut-off upload has none,
/// and some JPEG decoders would otherwise pad the missing rows with grey instead of failing.
fn jpeg_has_eoi_after_sos(bytes: &[u8]) -> bool {
    let sos = bytes.windows(2).position(|w| w == [0xFF, 0xDA]);
    let eoi = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    matches!((sos, eoi), (Some(s), Some(e)) if e > s)
}

/// Validates and normalises an uploaded image. See the module documentation for the steps.
pub fn normalize_image(bytes: &[u8], policy: &ImagePolicy) -> Result<NormalizedImage, UploadError> {
    if bytes.is_empty() {
        return Err(UploadError::Empty);
    }
    if bytes.len() > policy.max_input_bytes {
        return Err(UploadError::TooLarge { max: policy.max_input_bytes });
    }
    let kind = sniff(bytes).ok_or(UploadError::UnsupportedFormat)?;
    let (width, height) = header_dimensions(kind, bytes)?;
    if width == 0
        || height == 0
        || width > policy.max_width
        || height > policy.max_height
        || u64::from(width) * u64::from(height) > policy.max_pixels
    {
        return Err(UploadError::TooManyPixels { width, height });
    }
    if kind == ImageKind::Jpeg && !jpeg_has_eoi_after_sos(bytes) {
        return Err(UploadError::Corrupt);
    }

    let mut limits = Limits::default();
    limits.max_image_width = Some(policy.max_width);
    limits.max_image_height = Some(policy.max_height);
    limits.max_alloc = Some(policy.max_alloc_bytes);
    let format = match kind {
        ImageKind::Jpeg => ImageFormat::Jpeg,
        ImageKind::Png => ImageFormat::Png,
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(map_decode_error)?;
    let (dw, dh) = decoder.dimensions();
    if (dw, dh) != (width, height) {
        // Our header parser and the decoder disagree: treat as malformed rather than guess.
        return Err(UploadError::MalformedHeader);
    }
    if decoder.total_bytes() > policy.max_alloc_bytes {
        return Err(UploadError::TooManyPixels { width, height });
    }
    let orientation = decoder.orientation().ok();
    let mut image = DynamicImage::from_decoder(decoder).map_err(map_decode_error)?;
    if let Some(o) = orientation {
        // EXIF is dropped below, so bake its rotation into the pixels first.
        image.apply_orientation(o);
    }
    if image.width().max(image.height()) > policy.max_output_side {
        image = image.resize(policy.max_output_side, policy.max_output_side, image::imageops::FilterType::Triangle);
    }

    let mut out = Vec::new();
    match kind {
        ImageKind::Jpeg => {
            let rgb = DynamicImage::ImageRgb8(image.to_rgb8());
            let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, policy.jpeg_quality);
            enc.encode_image(&rgb).map_err(|_| UploadError::Corrupt)?;
        }
        ImageKind::Png => {
            let normalised = if image.color().has_alpha() {
                DynamicImage::ImageRgba8(image.to_rgba8())
            } else {
                DynamicImage::ImageRgb8(image.to_rgb8())
            };
            normalised.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).map_err(|_| UploadError::Corrupt)?;
        }
    }
    if out.len() > policy.max_output_bytes {
        return Err(UploadError::OutputTooLarge { max: policy.max_output_bytes });
    }
    let sha256 = crate::sha256(&out);
    Ok(NormalizedImage { kind, width: image.width(), height: image.height(), bytes: out, sha256 })
}

fn map_decode_error(e: image::ImageError) -> UploadError {
    match e {
        image::ImageError::Limits(_) => UploadError::TooManyPixels { width: 0, height: 0 },
        image::ImageError::Unsupported(_) => UploadError::UnsupportedFormat,
        _ => UploadError::Corrupt,
    }
}

#[cfg(test)]
mod tests;
