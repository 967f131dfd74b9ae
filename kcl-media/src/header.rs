//! Header readers: dimensions (and, for JPEG, the EXIF orientation) from the first
//! bytes of a file, without decoding a pixel. Every read is bounds-checked: a short or
//! garbled header is [`ImageError::Corrupt`], never a panic.

use kcl_core::ports::{ImageError, ImageFormat};

/// What a header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// Stored width.
    pub(crate) width: u32,
    /// Stored height.
    pub(crate) height: u32,
    /// EXIF orientation (1-8) when the header has one (JPEG only here; the other
    /// formats get theirs from the `image` decoder).
    pub(crate) orientation: Option<u8>,
    /// JPEG only: whether the frame is one libjpeg's 8-bit Huffman decoder handles
    /// (SOF0 baseline, SOF1 extended or SOF2 progressive, 8-bit samples). Lossless,
    /// arithmetic-coded and 12-bit JPEGs take the `image` crate's path.
    pub(crate) jpeg_huffman_8bit: bool,
}

fn corrupt(what: &str) -> ImageError {
    ImageError::Corrupt(what.to_owned())
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn le16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn le24(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(3)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
}

fn le32(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads the header of `data`, already sniffed as `format`.
pub(crate) fn read(format: ImageFormat, data: &[u8]) -> Result<Header, ImageError> {
    let header = match format {
        ImageFormat::Jpeg => jpeg(data)?,
        ImageFormat::Png => png(data)?,
        ImageFormat::Gif => gif(data)?,
        ImageFormat::WebP => webp(data)?,
    };
    if header.width == 0 || header.height == 0 {
        return Err(corrupt("zero width or height in the header"));
    }
    Ok(header)
}

/// JPEG: walks the marker segments up to the first SOFn, noting an APP1 Exif
/// orientation on the way.
fn jpeg(data: &[u8]) -> Result<Header, ImageError> {
    let mut pos = 2; // after SOI
    let mut orientation = None;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        match data.get(pos) {
            Some(0xFF) => {}
            Some(_) => return Err(corrupt("JPEG: expected a marker")),
            None => return Err(corrupt("JPEG: truncated before the frame header")),
        }
        while data.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *data
            .get(pos)
            .ok_or_else(|| corrupt("JPEG: truncated before the frame header"))?;
        pos += 1;
        match marker {
            // Standalone markers: TEM, RSTn, SOI.
            0x01 | 0xD0..=0xD8 => continue,
            0xD9 => return Err(corrupt("JPEG: end of image before the frame header")),
            0xDA => return Err(corrupt("JPEG: scan before the frame header")),
            _ => {}
        }
        let len = usize::from(be16(data, pos).ok_or_else(|| corrupt("JPEG: truncated segment"))?);
        if len < 2 {
            return Err(corrupt("JPEG: bad segment length"));
        }
        let segment = data
            .get(pos + 2..pos + len)
            .ok_or_else(|| corrupt("JPEG: truncated segment"))?;
        match marker {
            // SOF0-3, 5-7, 9-11, 13-15 (not DHT C4, JPG C8, DAC CC).
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let height = be16(segment, 1).ok_or_else(|| corrupt("JPEG: short frame header"))?;
                let width = be16(segment, 3).ok_or_else(|| corrupt("JPEG: short frame header"))?;
                return Ok(Header {
                    width: u32::from(width),
                    height: u32::from(height),
                    orientation,
                    jpeg_huffman_8bit: matches!(marker, 0xC0..=0xC2) && segment.first() == Some(&8),
                });
            }
            0xE1 if orientation.is_none() && segment.starts_with(b"Exif\0\0") => {
                orientation = exif_orientation(&segment[6..]);
            }
            _ => {}
        }
        pos += len;
    }
}

/// Scans allowed in a JPEG (a guard against the many-scans denial of service: each
/// progressive scan, however small, makes the decoder walk the whole coefficient
/// buffer). Real progressive JPEGs have about 10.
pub(crate) const MAX_SCANS: u32 = 500;

/// Walks a JPEG's marker segments and entropy-coded data to its EOI marker: the number
/// of scans (SOS markers), or `None` when the file ends first (cut short: some decoders,
/// libjpeg among them, would silently pad it with grey).
pub(crate) fn jpeg_scans(data: &[u8]) -> Option<u32> {
    let mut pos = 2;
    let mut scans = 0u32;
    loop {
        while data.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let &marker = data.get(pos)?;
        pos += 1;
        match marker {
            0xD9 => return Some(scans),
            0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }
        pos += usize::from(be16(data, pos)?);
        if marker == 0xDA {
            scans = scans.saturating_add(1);
            // Inside entropy-coded data 0xFF is always followed by 0x00 (a stuffed
            // byte), RSTn or more 0xFF fill bytes; anything else is the next marker.
            loop {
                pos += memchr::memchr(0xFF, data.get(pos..)?)?;
                match *data.get(pos + 1)? {
                    0x00 | 0xD0..=0xD7 => pos += 2,
                    0xFF => pos += 1,
                    _ => break,
                }
            }
        } else if data.get(pos) != Some(&0xFF) {
            if scans == 0 {
                return None;
            }
            // Stray bytes between scans (decoders skip them with a warning).
            pos += memchr::memchr(0xFF, data.get(pos..)?)?;
        }
    }
}

/// [`jpeg_scans`] as a check: `Corrupt` for a JPEG cut short or with more than
/// [`MAX_SCANS`] scans (as libjpeg-turbo's scan limit reports it).
pub(crate) fn check_jpeg_data(data: &[u8]) -> Result<(), ImageError> {
    match jpeg_scans(data) {
        None => Err(corrupt(
            "JPEG: truncated (no end-of-image marker after the scan)",
        )),
        Some(scans) if scans > MAX_SCANS => Err(ImageError::Corrupt(format!(
            "JPEG: {scans} scans, over the limit of {MAX_SCANS}"
        ))),
        Some(_) => Ok(()),
    }
}

/// The Orientation tag (0x0112) of IFD0 of a TIFF-structured EXIF block, if valid.
pub(crate) fn exif_orientation(tiff: &[u8]) -> Option<u8> {
    let little = match tiff.get(..4)? {
        [b'I', b'I', 42, 0] => true,
        [b'M', b'M', 0, 42] => false,
        _ => return None,
    };
    let u16_at = |at: usize| {
        if little {
            le16(tiff, at)
        } else {
            be16(tiff, at)
        }
    };
    let u32_at = |at: usize| {
        if little {
            le32(tiff, at)
        } else {
            be32(tiff, at)
        }
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    for i in 0..count {
        let entry = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        if u16_at(entry)? == 0x0112 {
            // Type SHORT (3), count 1: the value sits in the first two bytes of the
            // value field.
            if u16_at(entry + 2)? != 3 {
                return None;
            }
            let value = u16_at(entry + 8)?;
            return (1..=8).contains(&value).then_some(value as u8);
        }
    }
    None
}

/// PNG: the IHDR chunk, which must come first.
fn png(data: &[u8]) -> Result<Header, ImageError> {
    if data.get(12..16) != Some(b"IHDR") {
        return Err(corrupt("PNG: no IHDR chunk"));
    }
    let width = be32(data, 16).ok_or_else(|| corrupt("PNG: truncated IHDR"))?;
    let height = be32(data, 20).ok_or_else(|| corrupt("PNG: truncated IHDR"))?;
    Ok(Header {
        width,
        height,
        orientation: None,
        jpeg_huffman_8bit: false,
    })
}

/// GIF: the logical screen descriptor.
fn gif(data: &[u8]) -> Result<Header, ImageError> {
    let width = le16(data, 6).ok_or_else(|| corrupt("GIF: truncated screen descriptor"))?;
    let height = le16(data, 8).ok_or_else(|| corrupt("GIF: truncated screen descriptor"))?;
    Ok(Header {
        width: u32::from(width),
        height: u32::from(height),
        orientation: None,
        jpeg_huffman_8bit: false,
    })
}

/// WebP: the first chunk, `VP8 ` (lossy), `VP8L` (lossless) or `VP8X` (extended).
fn webp(data: &[u8]) -> Result<Header, ImageError> {
    let short = || corrupt("WebP: truncated header");
    let chunk = data.get(12..16).ok_or_else(short)?;
    let body = 20; // after the chunk's fourcc and size
    let (width, height) = match chunk {
        b"VP8 " => {
            // 3-byte frame tag, start code 9D 01 2A, then 14-bit width and height.
            if data.get(body + 3..body + 6) != Some(&[0x9D, 0x01, 0x2A]) {
                return Err(corrupt("WebP: bad VP8 start code"));
            }
            let w = le16(data, body + 6).ok_or_else(short)? & 0x3FFF;
            let h = le16(data, body + 8).ok_or_else(short)? & 0x3FFF;
            (u32::from(w), u32::from(h))
        }
        b"VP8L" => {
            if data.get(body) != Some(&0x2F) {
                return Err(corrupt("WebP: bad VP8L signature"));
            }
            let bits = le32(data, body + 1).ok_or_else(short)?;
            ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        }
        b"VP8X" => {
            let w = le24(data, body + 4).ok_or_else(short)? + 1;
            let h = le24(data, body + 7).ok_or_else(short)? + 1;
            (w, h)
        }
        _ => return Err(corrupt("WebP: unknown first chunk")),
    };
    Ok(Header {
        width,
        height,
        orientation: None,
        jpeg_huffman_8bit: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exif_orientation_both_byte_orders() {
        // II, IFD at 8, one entry: tag 0x0112, type 3, count 1, value 6.
        let le = [
            b'I', b'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0,
        ];
        assert_eq!(exif_orientation(&le), Some(6));
        let be = [
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0,
        ];
        assert_eq!(exif_orientation(&be), Some(8));
        assert_eq!(exif_orientation(&le[..15]), None);
        assert_eq!(exif_orientation(b"garbage"), None);
    }

    #[test]
    fn jpeg_scans_walk_the_entropy_coded_data() {
        // SOI; a scan (empty header) whose data holds a stuffed FF 00 and RST0, then
        // fill bytes before a segment whose body is D9 (not an EOI), stray bytes, a
        // second scan, EOI.
        let data = [
            0xFF, 0xD8, // SOI
            0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, // scan 1
            0xFF, 0xFF, 0xC4, 0x00, 0x03, 0xD9, // a segment whose body is D9
            0x01, 0x02, // stray bytes between scans
            0xFF, 0xDA, 0x00, 0x02, 0x78, // scan 2
            0xFF, 0xD9, // EOI
        ];
        assert_eq!(jpeg_scans(&data), Some(2));
        for cut in 0..data.len() {
            assert_eq!(jpeg_scans(&data[..cut]), None, "cut at {cut}");
        }
        assert!(check_jpeg_data(&data).is_ok());
        assert!(matches!(
            check_jpeg_data(&data[..data.len() - 1]),
            Err(ImageError::Corrupt(_))
        ));
        // Over MAX_SCANS scans.
        let mut many = data[..2].to_vec();
        for _ in 0..=MAX_SCANS {
            many.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x00]);
        }
        many.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(jpeg_scans(&many), Some(MAX_SCANS + 1));
        assert!(
            matches!(check_jpeg_data(&many), Err(ImageError::Corrupt(m)) if m.contains("scans"))
        );
    }

    #[test]
    fn garbage_never_panics() {
        for n in 0..64 {
            let mut data = vec![0xFFu8, 0xD8, 0xFF];
            data.extend((0..n).map(|i| (i * 37 % 256) as u8));
            for format in [
                ImageFormat::Jpeg,
                ImageFormat::Png,
                ImageFormat::Gif,
                ImageFormat::WebP,
            ] {
                let _ = read(format, &data);
            }
        }
    }
}
