//! Removes what an uploaded image carries besides its picture: EXIF (GPS position, camera and
//! phone serial numbers, time taken), XMP, IPTC, comments and text chunks. A photo a patient
//! sends from their phone would otherwise tell everyone who can see it where they live.
//!
//! The image is not re-encoded (no quality loss, no image codec in the server): the file's own
//! structure is walked and only the parts that draw the picture are kept — JPEG segments,
//! PNG chunks, WebP RIFF chunks. A JPEG's orientation is the one EXIF field kept (in a minimal
//! EXIF block of its own), since phones store portrait photos sideways and rely on it.
//! Anything that does not parse is refused rather than passed through.

/// Why an image could not be cleaned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the image is damaged or not what it claims to be ({})",
            self.0
        )
    }
}

/// The image without its metadata. `content_type` is what `blob::sniff_image` recognised.
pub fn strip(bytes: &[u8], content_type: &str) -> Result<Vec<u8>, Malformed> {
    match content_type {
        "image/jpeg" => jpeg(bytes),
        "image/png" => png(bytes),
        "image/webp" => webp(bytes),
        _ => Err(Malformed("not an image type this server cleans")),
    }
}

fn jpeg(bytes: &[u8]) -> Result<Vec<u8>, Malformed> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(Malformed("no JPEG start marker"));
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut orientation = None;
    let mut kept_orientation = false;
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        while bytes.get(at) == Some(&0xFF) && bytes.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) else {
            return Err(Malformed("a JPEG segment does not start with a marker"));
        };
        if marker == 0xD9 {
            out.extend_from_slice(&[0xFF, 0xD9]);
            return Ok(out);
        }
        let len = match (bytes.get(at + 2), bytes.get(at + 3)) {
            (Some(&hi), Some(&lo)) => usize::from(hi) << 8 | usize::from(lo),
            _ => return Err(Malformed("a JPEG segment is cut short")),
        };
        let end = at + 2 + len;
        if len < 2 || end > bytes.len() {
            return Err(Malformed("a JPEG segment is longer than the file"));
        }
        let segment = &bytes[at..end];
        let payload = &segment[4..];
        let keep = match marker {
            // APP1: EXIF or XMP. Only the orientation survives.
            0xE1 => {
                if let Some(o) = payload.strip_prefix(b"Exif\0\0").and_then(exif_orientation) {
                    orientation = Some(o);
                }
                false
            }
            // APP0 (JFIF), APP2 (ICC colour profile), APP14 (Adobe colour transform) draw the
            // picture; other APPn (IPTC, maker notes) and comments do not.
            0xE0 | 0xE2 | 0xEE => true,
            0xE3..=0xEF | 0xFE => false,
            _ => true,
        };
        if !kept_orientation && marker != 0xE0 && marker != 0xE1 {
            // The orientation block goes after JFIF, before the frame.
            if let Some(o) = orientation.filter(|o| *o != 1) {
                out.extend_from_slice(&orientation_segment(o));
            }
            kept_orientation = true;
        }
        if keep {
            out.extend_from_slice(segment);
        }
        at = end;
        if marker == 0xDA {
            // Start of scan: the compressed picture runs to the end-of-image marker; restart
            // markers (FFD0–FFD7) and stuffed zero bytes (FF00) belong to it.
            let mut i = at;
            loop {
                match (bytes.get(i), bytes.get(i + 1)) {
                    (Some(&0xFF), Some(&next)) if next == 0x00 || (0xD0..=0xD7).contains(&next) => {
                        i += 2;
                    }
                    (Some(&0xFF), Some(_)) => break,
                    (Some(_), _) => i += 1,
                    (None, _) => return Err(Malformed("the JPEG has no end")),
                }
            }
            out.extend_from_slice(&bytes[at..i]);
            at = i;
        }
    }
}

/// The Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block.
fn exif_orientation(tiff: &[u8]) -> Option<u16> {
    let big = match tiff.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |i: usize| -> Option<u16> {
        let b = tiff.get(i..i + 2)?;
        Some(if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    };
    let u32_at = |i: usize| -> Option<usize> {
        let b = tiff.get(i..i + 4)?;
        let v = if big {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        };
        usize::try_from(v).ok()
    };
    let ifd = u32_at(4)?;
    let count = usize::from(u16_at(ifd)?);
    (0..count).find_map(|n| {
        let entry = ifd + 2 + n * 12;
        (u16_at(entry)? == 0x0112)
            .then(|| u16_at(entry + 8))
            .flatten()
            .filter(|o| (1..=8).contains(o))
    })
}

/// An APP1 segment holding an EXIF block with the orientation and nothing else.
fn orientation_segment(orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::with_capacity(26);
    tiff.extend_from_slice(b"MM\0\x2A\0\0\0\x08"); // big-endian, IFD0 at offset 8
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // one value
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]); // padding of the 4-byte value field
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let len = 2 + 6 + tiff.len();
    let mut seg = vec![0xFF, 0xE1, (len >> 8) as u8, (len & 0xFF) as u8];
    seg.extend_from_slice(b"Exif\0\0");
    seg.extend_from_slice(&tiff);
    seg
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// PNG chunks that draw the picture; all others (text, EXIF, time, unknown) are dropped.
const PNG_KEEP: [&[u8; 4]; 12] = [
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    b"bKGD", b"pHYs",
];

fn png(bytes: &[u8]) -> Result<Vec<u8>, Malformed> {
    if !bytes.starts_with(&PNG_SIGNATURE) {
        return Err(Malformed("no PNG signature"));
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&PNG_SIGNATURE);
    let mut at = PNG_SIGNATURE.len();
    loop {
        let header = bytes
            .get(at..at + 8)
            .ok_or(Malformed("a PNG chunk is cut short"))?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let end = at
            .checked_add(12)
            .and_then(|n| n.checked_add(len))
            .filter(|e| *e <= bytes.len())
            .ok_or(Malformed("a PNG chunk is longer than the file"))?;
        let kind = &header[4..8];
        if PNG_KEEP.iter().any(|k| k.as_slice() == kind) {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        if kind == b"IEND" {
            return Ok(out);
        }
    }
}

fn webp(bytes: &[u8]) -> Result<Vec<u8>, Malformed> {
    if bytes.len() < 12 || !bytes.starts_with(b"RIFF") || &bytes[8..12] != b"WEBP" {
        return Err(Malformed("no WebP header"));
    }
    let mut chunks = Vec::with_capacity(bytes.len());
    let mut at = 12;
    while at < bytes.len() {
        let header = bytes
            .get(at..at + 8)
            .ok_or(Malformed("a WebP chunk is cut short"))?;
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let padded = len + (len & 1);
        let end = at
            .checked_add(8 + padded)
            .filter(|e| *e <= bytes.len())
            .ok_or(Malformed("a WebP chunk is longer than the file"))?;
        match &header[..4] {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let mut chunk = bytes[at..end].to_vec();
                // Flags: bit 3 says EXIF follows, bit 2 XMP; neither will.
                if let Some(flags) = chunk.get_mut(8) {
                    *flags &= !0b0000_1100;
                }
                chunks.extend_from_slice(&chunk);
            }
            _ => chunks.extend_from_slice(&bytes[at..end]),
        }
        at = end;
    }
    let size = u32::try_from(chunks.len() + 4).map_err(|_| Malformed("the WebP is too large"))?;
    let mut out = Vec::with_capacity(chunks.len() + 12);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend_from_slice(&chunks);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG-shaped file: SOI, JFIF, an EXIF block with GPS-like text and orientation 6, a
    /// comment, a quantisation table, a scan with stuffed and restart bytes, EOI.
    fn phone_jpeg() -> Vec<u8> {
        let mut exif = b"Exif\0\0II\x2A\0\x08\0\0\0".to_vec();
        exif.extend_from_slice(&2u16.to_le_bytes());
        // Orientation = 6 (rotate 90°).
        exif.extend_from_slice(&0x0112u16.to_le_bytes());
        exif.extend_from_slice(&3u16.to_le_bytes());
        exif.extend_from_slice(&1u32.to_le_bytes());
        exif.extend_from_slice(&[6, 0, 0, 0]);
        // A made-up GPS pointer, and the secret in the block.
        exif.extend_from_slice(&0x8825u16.to_le_bytes());
        exif.extend_from_slice(&4u16.to_le_bytes());
        exif.extend_from_slice(&1u32.to_le_bytes());
        exif.extend_from_slice(&[0, 0, 0, 0]);
        exif.extend_from_slice(&[0, 0, 0, 0]);
        exif.extend_from_slice(b"GPS 23.1291N 113.2644E");
        let segment = |marker: u8, payload: &[u8]| {
            let len = payload.len() + 2;
            let mut s = vec![0xFF, marker, (len >> 8) as u8, len as u8];
            s.extend_from_slice(payload);
            s
        };
        let mut f = vec![0xFF, 0xD8];
        f.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        f.extend(segment(0xE1, &exif));
        f.extend(segment(0xFE, b"home address"));
        f.extend(segment(0xDB, &[0u8; 65]));
        f.extend(segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
        f.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        f.extend_from_slice(&[0xFF, 0xD9]);
        f
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_jpeg_loses_its_exif_and_comments_but_keeps_picture_and_orientation() {
        let original = phone_jpeg();
        let clean = strip(&original, "image/jpeg").unwrap();
        assert!(!contains(&clean, b"GPS 23.1291N"));
        assert!(!contains(&clean, b"home address"));
        assert!(contains(&clean, b"JFIF"));
        assert!(contains(
            &clean,
            &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9]
        ));
        let app1 = clean
            .windows(2)
            .position(|w| w == [0xFF, 0xE1])
            .expect("a minimal EXIF with the orientation");
        assert_eq!(exif_orientation(&clean[app1 + 10..]), Some(6));
        // Cleaning is stable.
        assert_eq!(strip(&clean, "image/jpeg").unwrap(), clean);
    }

    #[test]
    fn a_png_keeps_only_the_chunks_that_draw_it() {
        let chunk = |kind: &[u8; 4], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        let mut f = PNG_SIGNATURE.to_vec();
        f.extend(chunk(b"IHDR", &[0; 13]));
        f.extend(chunk(b"tEXt", b"Author\0patient name"));
        f.extend(chunk(b"eXIf", b"MM\0*GPS"));
        f.extend(chunk(b"IDAT", b"pixels"));
        f.extend(chunk(b"IEND", b""));
        let clean = strip(&f, "image/png").unwrap();
        assert!(!contains(&clean, b"patient name"));
        assert!(!contains(&clean, b"GPS"));
        assert!(contains(&clean, b"IDATpixels"));
        assert!(clean.ends_with(&chunk(b"IEND", b"")));
    }

    #[test]
    fn a_webp_loses_exif_and_xmp_and_says_so_in_its_header() {
        let chunk = |kind: &[u8; 4], data: &[u8]| {
            let mut c = kind.to_vec();
            c.extend_from_slice(&(data.len() as u32).to_le_bytes());
            c.extend_from_slice(data);
            if data.len() % 2 == 1 {
                c.push(0);
            }
            c
        };
        let mut body = b"WEBP".to_vec();
        body.extend(chunk(b"VP8X", &[0b0000_1100, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        body.extend(chunk(b"VP8 ", b"frame"));
        body.extend(chunk(b"EXIF", b"GPS here"));
        body.extend(chunk(b"XMP ", b"<x:xmpmeta/>"));
        let mut f = b"RIFF".to_vec();
        f.extend_from_slice(&(body.len() as u32).to_le_bytes());
        f.extend(body);
        let clean = strip(&f, "image/webp").unwrap();
        assert!(!contains(&clean, b"GPS here"));
        assert!(!contains(&clean, b"xmpmeta"));
        assert_eq!(clean[20], 0, "flags cleared");
        let size = u32::from_le_bytes([clean[4], clean[5], clean[6], clean[7]]) as usize;
        assert_eq!(size + 8, clean.len());
    }

    #[test]
    fn damaged_files_are_refused_not_passed_through() {
        let mut cut = phone_jpeg();
        cut.truncate(40);
        assert!(strip(&cut, "image/jpeg").is_err());
        assert!(strip(&PNG_SIGNATURE, "image/png").is_err());
        assert!(strip(b"RIFF\x04\0\0\0WEBPVP8 \xff\xff\xff\x7f", "image/webp").is_err());
        assert!(strip(b"GIF89a", "image/gif").is_err());
    }
}
