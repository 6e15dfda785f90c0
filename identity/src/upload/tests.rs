use super::*;

// ---- independent construction of test images ------------------------------------------------------------

fn crc32(data: &[u8]) -> u32 {
    // Bitwise CRC-32 (ISO-HDLC, reflected 0xEDB88320), as PNG specifies.
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn chunk(out: &mut Vec<u8>, ty: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut c = ty.to_vec();
    c.extend_from_slice(data);
    out.extend_from_slice(&c);
    out.extend_from_slice(&crc32(&c).to_be_bytes());
}

/// A PNG written by hand (RGB 8-bit, zlib "stored" blocks), independent of the `image` crate.
fn hand_png(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            raw.extend_from_slice(&pixel(x, y));
        }
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, b) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = b.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(b);
    }
    z.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut png = PNG_MAGIC.to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn gradient(x: u32, y: u32) -> [u8; 3] {
    [(x * 7 % 256) as u8, (y * 13 % 256) as u8, ((x + y) % 256) as u8]
}

/// A baseline JPEG from the `jpeg-encoder` backend (a different code base from the zune-jpeg decoder).
fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| image::Rgb(gradient(x, y)));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).unwrap();
    out
}

/// Inserts an APP1 Exif segment after SOI: a little-endian TIFF IFD with Orientation and an ASCII tag
/// (ImageDescription, 0x010E) holding `marker`.
fn with_exif(jpeg: &[u8], orientation: u16, marker: &str) -> Vec<u8> {
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes()); // two entries
    // Orientation: SHORT, count 1, value inline.
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]);
    // ImageDescription: ASCII, count n, offset after the IFD.
    let text = format!("{marker}\0");
    let text_offset = 8 + 2 + 2 * 12 + 4;
    tiff.extend_from_slice(&0x010Eu16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&(text.len() as u32).to_le_bytes());
    tiff.extend_from_slice(&(text_offset as u32).to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    tiff.extend_from_slice(text.as_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

// ---- tests -----------------------------------------------------------------------------------------------

#[test]
fn a_valid_png_is_normalised_and_hashed() {
    let png = hand_png(4, 3, gradient);
    let out = normalize_image(&png, &ImagePolicy::SELFIE).unwrap();
    assert_eq!((out.kind, out.width, out.height), (ImageKind::Png, 4, 3));
    assert!(out.bytes.starts_with(PNG_MAGIC));
    use sha2::Digest;
    let expected: [u8; 32] = sha2::Sha256::digest(&out.bytes).into();
    assert_eq!(out.sha256, expected);
    // Pixels survive (PNG is lossless): decode the output and compare with the generator.
    let back = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
    assert_eq!(back.get_pixel(3, 2).0, gradient(3, 2));
    assert!(!format!("{out:?}").contains("bytes: ["));
}

#[test]
fn html_renamed_to_jpg_is_refused() {
    let html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>";
    assert_eq!(normalize_image(html, &ImagePolicy::SELFIE), Err(UploadError::UnsupportedFormat));
    // Nor are other real image formats (GIF).
    assert_eq!(normalize_image(b"GIF89a\x01\x00\x01\x00", &ImagePolicy::SELFIE), Err(UploadError::UnsupportedFormat));
    assert_eq!(normalize_image(b"", &ImagePolicy::SELFIE), Err(UploadError::Empty));
}

#[test]
fn oversized_upload_is_refused_by_size() {
    let mut big = PNG_MAGIC.to_vec();
    big.resize(ImagePolicy::SELFIE.max_input_bytes + 1, 0);
    assert_eq!(
        normalize_image(&big, &ImagePolicy::SELFIE),
        Err(UploadError::TooLarge { max: 10 * 1024 * 1024 })
    );
}

#[test]
fn png_declaring_50000_by_50000_is_refused_fast() {
    // A 64x64 image whose IHDR claims 50,000 x 50,000 (7.5 GB of RGB once decoded).
    let mut png = hand_png(64, 64, gradient);
    png[16..20].copy_from_slice(&50_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&50_000u32.to_be_bytes());
    let ihdr_crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&ihdr_crc.to_be_bytes());
    let start = std::time::Instant::now();
    assert_eq!(
        normalize_image(&png, &ImagePolicy::SELFIE),
        Err(UploadError::TooManyPixels { width: 50_000, height: 50_000 })
    );
    assert!(start.elapsed() < std::time::Duration::from_millis(100), "{:?}", start.elapsed());

    // Even with our own pixel limits lifted, the decoder limits (max_alloc) refuse it before allocating.
    let lax = ImagePolicy { max_width: 100_000, max_height: 100_000, max_pixels: u64::MAX, ..ImagePolicy::SELFIE };
    let start = std::time::Instant::now();
    assert!(matches!(normalize_image(&png, &lax), Err(UploadError::TooManyPixels { .. })));
    assert!(start.elapsed() < std::time::Duration::from_millis(100), "{:?}", start.elapsed());
}

#[test]
fn truncated_images_are_refused() {
    let png = hand_png(64, 64, gradient);
    let cut = &png[..png.len() / 2];
    assert_eq!(normalize_image(cut, &ImagePolicy::SELFIE), Err(UploadError::Corrupt));
    assert_eq!(normalize_image(&png[..20], &ImagePolicy::SELFIE), Err(UploadError::MalformedHeader));

    let jpg = jpeg(64, 64);
    assert!(normalize_image(&jpg, &ImagePolicy::SELFIE).is_ok());
    let cut = &jpg[..jpg.len() * 2 / 3];
    assert_eq!(normalize_image(cut, &ImagePolicy::SELFIE), Err(UploadError::Corrupt));
    assert_eq!(normalize_image(&jpg[..10], &ImagePolicy::SELFIE), Err(UploadError::MalformedHeader));
}

#[test]
fn trailing_garbage_is_dropped() {
    for (kind, mut bytes) in [(ImageKind::Png, hand_png(8, 8, gradient)), (ImageKind::Jpeg, jpeg(8, 8))] {
        bytes.extend_from_slice(b"<?php system($_GET['c']); ?>TRAILER");
        let out = normalize_image(&bytes, &ImagePolicy::SELFIE).unwrap();
        assert_eq!(out.kind, kind);
        assert!(!contains(&out.bytes, b"TRAILER"), "{kind:?}");
        assert!(!contains(&out.bytes, b"<?php"), "{kind:?}");
    }
}

#[test]
fn exif_is_removed_and_its_orientation_applied() {
    let src = with_exif(&jpeg(40, 20), 6, "GPS-SECRET-31.2304N");
    assert!(contains(&src, b"Exif\0\0") && contains(&src, b"GPS-SECRET"));
    assert_eq!(header_dimensions(ImageKind::Jpeg, &src).unwrap(), (40, 20));
    let out = normalize_image(&src, &ImagePolicy::SELFIE).unwrap();
    assert!(!contains(&out.bytes, b"Exif"));
    assert!(!contains(&out.bytes, b"GPS-SECRET"));
    // Orientation 6 = rotate 90° clockwise: a 40x20 image becomes 20x40.
    assert_eq!((out.width, out.height), (20, 40));
}

#[test]
fn large_images_are_scaled_down() {
    let png = hand_png(3000, 10, gradient);
    let out = normalize_image(&png, &ImagePolicy::SELFIE).unwrap();
    assert_eq!(out.width, 1920);
    assert!(out.height >= 6 && out.height <= 7, "{}", out.height);
}

#[test]
fn output_cap_is_enforced() {
    let tiny_out = ImagePolicy { max_output_bytes: 100, ..ImagePolicy::SELFIE };
    let noisy = hand_png(64, 64, |x, y| [((x * 31) ^ (y * 17)) as u8, (x * y) as u8, (x ^ y) as u8]);
    assert_eq!(normalize_image(&noisy, &tiny_out), Err(UploadError::OutputTooLarge { max: 100 }));
}

#[test]
fn header_parser_reads_jpeg_sof() {
    assert_eq!(header_dimensions(ImageKind::Jpeg, &jpeg(33, 17)).unwrap(), (33, 17));
    assert_eq!(header_dimensions(ImageKind::Png, &hand_png(5, 9, gradient)).unwrap(), (5, 9));
}

// ---- certificate scans (manual registry review) ------------------------------------------------------------

/// A minimal one-page PDF written by hand, with `extra` placed in the page dictionary.
fn hand_pdf(extra: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
         2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
         3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] {extra}>> endobj\n\
         trailer << /Root 1 0 R >>\nstartxref\n0\n%%EOF\n"
    )
    .into_bytes()
}

#[test]
fn certificate_scans_accept_images_and_plain_pdfs() {
    let png = validate_certificate_scan(&hand_png(64, 48, gradient)).unwrap();
    assert_eq!((png.kind, png.sha256_hex().len()), (ScanKind::Png, 64));
    assert_eq!(validate_certificate_scan(&jpeg(4000, 100)).unwrap().kind, ScanKind::Jpeg);
    let pdf = hand_pdf("");
    let scan = validate_certificate_scan(&pdf).unwrap();
    assert_eq!((scan.kind, scan.bytes.as_slice()), (ScanKind::Pdf, pdf.as_slice()));
    assert!(!format!("{scan:?}").contains("%PDF"), "Debug never shows the bytes");
    assert_eq!(ScanKind::parse(scan.kind.as_str()), Some(ScanKind::Pdf));
}

#[test]
fn certificate_scans_refuse_active_truncated_and_foreign_content() {
    for (extra, what) in [
        ("/AA << /O << /S /JavaScript /JS (app.alert(1)) >> >> ", "script"),
        ("/AA << /O << /S /Java#53cript >> >> ", "escaped script name"),
        ("/AA << /O << /S /Launch /F (cmd.exe) >> >> ", "launch"),
        ("/Names << /EmbeddedFiles 4 0 R >> ", "embedded file"),
    ] {
        assert_eq!(validate_certificate_scan(&hand_pdf(extra)), Err(UploadError::PdfActiveContent), "{what}");
    }
    let pdf = hand_pdf("");
    assert_eq!(validate_certificate_scan(&pdf[..pdf.len() / 2]), Err(UploadError::PdfMalformed), "truncated");
    let mut appended = pdf.clone();
    appended.extend_from_slice(b"<html>payload</html>");
    assert_eq!(validate_certificate_scan(&appended), Err(UploadError::PdfMalformed), "data after %%EOF");
    assert_eq!(validate_certificate_scan(b"%PDF-9.9\n%%EOF"), Err(UploadError::PdfMalformed));
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(MAX_PDF_BYTES + 1, b' ');
    assert_eq!(validate_certificate_scan(&big), Err(UploadError::TooLarge { max: MAX_PDF_BYTES }));
    assert_eq!(validate_certificate_scan(b"<html>not a scan</html>"), Err(UploadError::UnsupportedFormat));
    assert_eq!(validate_certificate_scan(b""), Err(UploadError::Empty));
}

fn zlib(inner: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(inner).unwrap();
    z.finish().unwrap()
}

/// A PDF with one object stream holding `data` (zlib bytes, as a PDF writer stores them).
fn pdf_with_stream_bytes(data: &[u8]) -> Vec<u8> {
    let mut pdf = format!(
        "%PDF-1.5\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
         5 0 obj << /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length {} >>\nstream\r\n",
        data.len()
    )
    .into_bytes();
    pdf.extend_from_slice(data);
    pdf.extend_from_slice(b"\r\nendstream\nendobj\ntrailer << /Root 1 0 R >>\nstartxref\n0\n%%EOF\n");
    pdf
}

/// A PDF with one object stream whose (zlib) contents are `inner`.
fn pdf_with_object_stream(inner: &[u8]) -> Vec<u8> {
    pdf_with_stream_bytes(&zlib(inner))
}

#[test]
fn active_content_hidden_in_a_compressed_object_stream_is_found() {
    // Repetitive enough that zlib really compresses it (a tiny input may be stored as is).
    let hidden = pdf_with_object_stream(b"6 0 << /S /JavaScript /JS (app.alert(1)) >> ".repeat(20).as_slice());
    assert!(!names_denied(&hidden), "the name is only inside the compressed stream");
    assert_eq!(validate_certificate_scan(&hidden), Err(UploadError::PdfActiveContent));
    let escaped = pdf_with_object_stream(b"6 0 << /OpenAction << /S /Laun#63h /F (cmd.exe) >> >>");
    assert_eq!(validate_certificate_scan(&escaped), Err(UploadError::PdfActiveContent));
    // A damaged stream is scanned as far as it inflates.
    let mut inner = b"6 0 << /S /JavaScript >> 7 0 [".to_vec();
    for i in 0..3000u32 {
        inner.extend_from_slice(format!("{} ", i.wrapping_mul(2_654_435_761) % 99_991).as_bytes());
    }
    let full = zlib(&inner);
    let cut = pdf_with_stream_bytes(&full[..full.len() / 2]);
    assert!(!names_denied(&cut));
    assert_eq!(validate_certificate_scan(&cut), Err(UploadError::PdfActiveContent));
    // Plain page contents in a compressed stream are fine.
    let clean = pdf_with_object_stream(b"BT /F1 12 Tf 72 712 Td (Certificate) Tj ET");
    assert_eq!(validate_certificate_scan(&clean).unwrap().kind, ScanKind::Pdf);
}

#[test]
fn a_pdf_inflating_beyond_the_limit_is_refused() {
    use std::io::Write;
    // 70 MiB of zeros compress to about 70 KiB.
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..70 {
        z.write_all(&zeros).unwrap();
    }
    let data = z.finish().unwrap();
    let mut pdf = b"%PDF-1.5\n1 0 obj << /Length 1 /Filter /FlateDecode >>\nstream\n".to_vec();
    pdf.extend_from_slice(&data);
    pdf.extend_from_slice(b"\nendstream\nendobj\ntrailer << >>\nstartxref\n0\n%%EOF\n");
    assert!(pdf.len() < MAX_PDF_BYTES);
    assert_eq!(validate_certificate_scan(&pdf), Err(UploadError::PdfMalformed));
}

// ---- stream filters the scan cannot see through --------------------------------------------------------------

/// A PDF with one stream: `dict` is its dictionary's entries (filter, type), `data` its raw contents.
fn pdf_with_stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut pdf = format!(
        "%PDF-1.5\n1 0 obj << /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >> endobj\n\
         5 0 obj << {dict} /Length {} >>\nstream\n",
        data.len()
    )
    .into_bytes();
    pdf.extend_from_slice(data);
    pdf.extend_from_slice(b"\nendstream\nendobj\ntrailer << /Root 1 0 R >>\nstartxref\n0\n%%EOF\n");
    pdf
}

/// What an object stream holding a script action as its object 6 decodes to.
const SCRIPT_OBJECTS: &[u8] = b"6 0 << /S /JavaScript /JS (app.alert(1)) >> ";

fn ascii_hex(data: &[u8]) -> Vec<u8> {
    let mut out = hex::encode(data).into_bytes();
    out.push(b'>');
    out
}

/// ASCII85 (Adobe's base-85, `z` for four zero bytes not used), ended by `~>`.
fn ascii85(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for group in data.chunks(4) {
        let mut word = [0u8; 4];
        word[..group.len()].copy_from_slice(group);
        let mut n = u32::from_be_bytes(word);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = b'!' + (n % 85) as u8;
            n /= 85;
        }
        out.extend_from_slice(&digits[..group.len() + 1]);
    }
    out.extend_from_slice(b"~>");
    out
}

/// LZW as PDF decodes it (9-bit codes, MSB first): a clear code, every byte as its literal code, end of data.
/// Fewer than 254 bytes never widen the codes.
fn lzw(data: &[u8]) -> Vec<u8> {
    assert!(data.len() < 254);
    let codes = std::iter::once(256u32).chain(data.iter().map(|&b| u32::from(b))).chain(std::iter::once(257));
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u64, 0);
    for code in codes {
        acc = (acc << 9) | u64::from(code);
        bits += 9;
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        out.push((acc << (8 - bits)) as u8);
    }
    out
}

/// RunLength with literal runs of three bytes (so no name survives in the raw bytes), ended by 128.
fn run_length(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for run in data.chunks(3) {
        out.push(run.len() as u8 - 1);
        out.extend_from_slice(run);
    }
    out.push(128);
    out
}

#[test]
fn encoders_used_below_decode_back() {
    // Hand-checked against the specification's examples: "Man " is 9jqo^ in ASCII85.
    assert_eq!(ascii85(b"Man "), b"9jqo^~>");
    assert_eq!(ascii85(b"Ma"), b"9jn~>");
    assert_eq!(ascii_hex(b"/J"), b"2f4a>");
    // Clear (256), 'A' (65), EOD (257) in 9 bits: 100000000 001000001 100000001, padded.
    assert_eq!(lzw(b"A"), [0b1000_0000, 0b0001_0000, 0b0110_0000, 0b0010_0000]);
    assert_eq!(run_length(b"/Java"), b"\x02/Ja\x01va\x80");
}

#[test]
fn streams_in_filters_the_scan_cannot_read_are_refused() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("/Type /ObjStm /N 1 /First 4 /Filter /ASCIIHexDecode", ascii_hex(SCRIPT_OBJECTS), "ASCIIHex"),
        ("/Type /ObjStm /N 1 /First 4 /Filter /AHx", ascii_hex(SCRIPT_OBJECTS), "ASCIIHex abbreviated"),
        ("/Type /ObjStm /N 1 /First 4 /Filter /ASCII85Decode", ascii85(SCRIPT_OBJECTS), "ASCII85"),
        ("/Type /ObjStm /N 1 /First 4 /Filter /LZWDecode", lzw(SCRIPT_OBJECTS), "LZW"),
        ("/Type /ObjStm /N 1 /First 4 /Filter /RunLengthDecode", run_length(SCRIPT_OBJECTS), "RunLength"),
        (
            "/Type /ObjStm /N 1 /First 4 /Filter [/ASCIIHexDecode /FlateDecode]",
            ascii_hex(&zlib(SCRIPT_OBJECTS)),
            "chain ASCIIHex then Flate",
        ),
        ("/Type /ObjStm /N 1 /First 4 /Filter [/FlateDecode /FlateDecode]", zlib(&zlib(&SCRIPT_OBJECTS.repeat(20))), "Flate twice"),
        ("/Type /ObjStm /N 1 /First 4 /Filter 7 0 R", ascii_hex(SCRIPT_OBJECTS), "indirect filter"),
        ("/Type /ObjStm /N 1 /First 4 /Fil#74er /ASCII#48exDecode", ascii_hex(SCRIPT_OBJECTS), "escaped names"),
        ("/Type /ObjStm /N 1 /First 4 /Filter %c\n[ /Crypt ]", ascii_hex(SCRIPT_OBJECTS), "Crypt after a comment"),
        ("/Type /XRef /W [1 2 1] /Size 6 /Filter /ASCIIHexDecode", ascii_hex(b"\x01\x00\x0f\x00"), "xref stream"),
        ("/FFilter /ASCII85Decode /F (x.bin)", Vec::new(), "external file filter"),
    ];
    for (dict, data, what) in cases {
        let pdf = pdf_with_stream(dict, &data);
        assert!(!names_denied(&pdf), "{what}: the script name is not visible in the raw bytes");
        assert_eq!(validate_certificate_scan(&pdf), Err(UploadError::PdfUnsupportedFilter), "{what}");
    }
    // A stream dictionary inside a Flate object stream (some readers take one there) is checked too.
    let nested = b"6 0 << /Filter /ASCIIHexDecode /Length 9 >>\nstream\n2f4a533e\nendstream ".repeat(4);
    let pdf = pdf_with_stream("/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", &zlib(&nested));
    assert!(filters_allowed(&pdf), "only inside the compressed stream");
    assert_eq!(validate_certificate_scan(&pdf), Err(UploadError::PdfUnsupportedFilter));
    assert_eq!(UploadError::PdfUnsupportedFilter.code(), "pdf_unsupported_filter");
}

#[test]
fn flate_and_image_filters_are_accepted() {
    let page = b"BT /F1 12 Tf 72 712 Td (Certificate) Tj ET";
    for (dict, data) in [
        ("/Filter /FlateDecode", zlib(page)),
        ("/Filter[/FlateDecode]", zlib(page)),
        ("/Filter /Fl", zlib(page)),
        ("/Subtype /Image /Filter /DCTDecode", jpeg(8, 8)),
        ("/Subtype /Image /Filter [ /FlateDecode /DCTDecode ]", zlib(&jpeg(8, 8))),
        ("/Subtype /Image /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns 8 >>", vec![0x26, 0xA0]),
        ("/Subtype /Image /Filter /JBIG2Decode", vec![0; 16]),
        ("/Subtype /Image /Filter /JPXDecode", vec![0; 16]),
        ("/Filter []", page.to_vec()),
        ("", page.to_vec()),
    ] {
        let pdf = pdf_with_stream(dict, &data);
        assert_eq!(validate_certificate_scan(&pdf).map(|s| s.kind), Ok(ScanKind::Pdf), "{dict}");
    }
    // An image codec is the last step: decoding pixels further would make them bytes again.
    let pdf = pdf_with_stream("/Filter [/DCTDecode /FlateDecode]", &jpeg(8, 8));
    assert_eq!(validate_certificate_scan(&pdf), Err(UploadError::PdfUnsupportedFilter));
}

#[test]
fn a_name_ended_by_nul_is_still_read() {
    // NUL is PDF white-space: a reader ends the name there.
    let pdf = hand_pdf("/AA << /O << /S /JavaScript\0/JS\0(app.alert(1)) >> >> ");
    assert_eq!(validate_certificate_scan(&pdf), Err(UploadError::PdfActiveContent));
}
