//! What an uploaded photo tells about its owner beyond its pixels — EXIF (GPS position,
//! camera, serial numbers, times), XMP, IPTC, comments, text chunks, appended images —
//! taken out before it is stored, without re-encoding: the containers' segments are
//! dropped losslessly (`img-parts`). Only the EXIF orientation survives, rewritten as an
//! EXIF block of that one tag, so photos keep showing upright.

use img_parts::jpeg::{markers, Jpeg, JpegSegment};
use img_parts::png::Png;
use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::WebP;
use img_parts::{Bytes, ImageEXIF};

/// The file is not a well-formed JPEG, PNG, WebP or GIF container.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed;

/// `bytes` of an image of `content_type` without its metadata.
pub fn strip_metadata(content_type: &str, bytes: Vec<u8>) -> Result<Vec<u8>, Malformed> {
    let bytes = Bytes::from(bytes);
    let cleaned = match content_type {
        "image/jpeg" => strip_jpeg(bytes)?,
        "image/png" => strip_png(bytes)?,
        "image/webp" => strip_webp(bytes)?,
        "image/gif" => Bytes::from(strip_gif(&bytes)?),
        _ => bytes,
    };
    Ok(cleaned.to_vec())
}

/// A GIF without its comment and plain-text extensions and without application
/// extensions other than the animation loop (`NETSCAPE2.0`, `ANIMEXTS1.0`): XMP and any
/// tool's private data travel in those. Frames, their timing and colour tables are kept
/// byte for byte; whatever follows the trailer is dropped. GIF has no `img-parts` support,
/// and its block structure is a few lines (GIF89a specification, sections 17–27).
fn strip_gif(bytes: &[u8]) -> Result<Vec<u8>, Malformed> {
    let byte = |at: usize| bytes.get(at).copied().ok_or(Malformed);
    // The size of a colour table a packed field announces, if it has one.
    let table = |packed: u8| {
        if packed & 0x80 != 0 {
            3usize << ((packed & 0x07) + 1)
        } else {
            0
        }
    };
    // The end of the sub-blocks starting at `at` (after their zero terminator).
    let sub_blocks_end = |mut at: usize| -> Result<usize, Malformed> {
        loop {
            let size = usize::from(byte(at)?);
            at += 1 + size;
            if size == 0 {
                return Ok(at);
            }
        }
    };
    if bytes.len() < 13 || !(bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a")) {
        return Err(Malformed);
    }
    let mut at = 13 + table(byte(10)?);
    let mut out = bytes.get(..at).ok_or(Malformed)?.to_vec();
    loop {
        match byte(at)? {
            0x3B => {
                out.push(0x3B);
                return Ok(out);
            }
            0x2C => {
                let descriptor_end = at + 10;
                let data = descriptor_end + table(byte(at + 9)?) + 1; // + LZW code size
                let end = sub_blocks_end(data)?;
                out.extend_from_slice(bytes.get(at..end).ok_or(Malformed)?);
                at = end;
            }
            0x21 => {
                let label = byte(at + 1)?;
                let end = sub_blocks_end(at + 2)?;
                let keep = match label {
                    0xF9 => true,
                    0xFF => {
                        let id = bytes.get(at + 3..at + 14).ok_or(Malformed)?;
                        byte(at + 2)? == 11 && (id == b"NETSCAPE2.0" || id == b"ANIMEXTS1.0")
                    }
                    _ => false,
                };
                if keep {
                    out.extend_from_slice(bytes.get(at..end).ok_or(Malformed)?);
                }
                at = end;
            }
            _ => return Err(Malformed),
        }
    }
}

/// The EXIF orientation (1–8) recorded in raw EXIF (TIFF) data, if any and not the default.
fn orientation(exif: Option<Bytes>) -> Option<u16> {
    let parsed = exif::Reader::new().read_raw(exif?.to_vec()).ok()?;
    let field = parsed.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?;
    let value = u16::try_from(field.value.get_uint(0)?).ok()?;
    (2..=8).contains(&value).then_some(value)
}

/// Raw EXIF (TIFF, big-endian) holding only the orientation: one IFD of one SHORT entry.
fn orientation_only_exif(orientation: u16) -> Bytes {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend(1u16.to_be_bytes()); // one entry
    tiff.extend(0x0112u16.to_be_bytes()); // Orientation
    tiff.extend(3u16.to_be_bytes()); // SHORT
    tiff.extend(1u32.to_be_bytes()); // one value
    tiff.extend(orientation.to_be_bytes());
    tiff.extend([0, 0]); // the value field's padding
    tiff.extend(0u32.to_be_bytes()); // no next IFD
    Bytes::from(tiff)
}

const EXIF_PREFIX: &[u8] = b"Exif\0\0";

/// JPEG: the application segments that decoding needs (JFIF, the ICC profile, Adobe's colour
/// transform) stay; every other APPn (EXIF, XMP, IPTC, MPF, maker data) and comments go, in
/// the header and between scans, and nothing after the end of the image is kept.
fn strip_jpeg(bytes: Bytes) -> Result<Bytes, Malformed> {
    let mut jpeg = Jpeg::from_bytes(bytes).map_err(|_| Malformed)?;
    let turn = orientation(jpeg.exif());
    let segments = jpeg.segments_mut();
    segments.retain(|s| keeps_jpeg_segment(s.marker(), s.contents()));
    // The first scan holds the rest of the file (a file without one ended at EOI).
    if let Some(scan) = segments.last_mut().filter(|s| s.marker() == markers::SOS) {
        let entropy = until_end_of_image(&scan_data(scan));
        *scan = JpegSegment::new_with_entropy(markers::SOS, scan.contents().clone(), entropy);
    }
    if let Some(turn) = turn {
        let mut contents = EXIF_PREFIX.to_vec();
        contents.extend_from_slice(&orientation_only_exif(turn));
        // Right after SOI, or after JFIF's APP0, which must come first.
        let at = usize::from(
            segments
                .first()
                .is_some_and(|s| s.marker() == markers::APP0),
        );
        segments.insert(
            at,
            JpegSegment::new_with_contents(markers::APP1, Bytes::from(contents)),
        );
    }
    Ok(jpeg.encoder().bytes())
}

fn keeps_jpeg_segment(marker: u8, contents: &[u8]) -> bool {
    match marker {
        markers::APP0 => contents.starts_with(b"JFIF\0"),
        markers::APP2 => contents.starts_with(b"ICC_PROFILE\0"),
        markers::APP14 => contents.starts_with(b"Adobe"),
        markers::APP1..=markers::APP15 | markers::COM => false,
        _ => true,
    }
}

/// What follows the first scan's header: its entropy-coded data, with the segments and
/// scans after it (`img-parts` keeps all of it, to the end of the file, as one block).
fn scan_data(scan: &JpegSegment) -> Bytes {
    let whole = scan.clone().encoder().bytes();
    whole.slice(scan.len().min(whole.len())..)
}

/// Entropy-coded data and the segments between progressive scans, up to and including
/// EOI: application segments and comments met on the way are dropped, and whatever
/// follows EOI (appended images, trailers) is cut off.
fn until_end_of_image(data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        let byte = data[i];
        let next = data.get(i + 1).copied();
        // Data, stuffed 0xFF 0x00, restart markers and fill bytes are copied through.
        if byte != 0xFF || matches!(next, None | Some(0x00 | 0xFF | 0xD0..=0xD7)) {
            out.push(byte);
            i += 1;
            continue;
        }
        let marker = next.unwrap_or_default();
        if marker == markers::EOI {
            out.extend_from_slice(&[0xFF, markers::EOI]);
            break;
        }
        if matches!(marker, 0x01 | markers::SOI) {
            out.extend_from_slice(&[0xFF, marker]);
            i += 2;
            continue;
        }
        let length = data
            .get(i + 2..i + 4)
            .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
        let end = (i + 2 + length).min(data.len());
        if !(matches!(marker, markers::APP0..=markers::APP15 | markers::COM)) {
            out.extend_from_slice(&data[i..end]);
        }
        i = end;
    }
    Bytes::from(out)
}

/// PNG chunks a decoder or a colour-managed display uses (critical chunks, transparency,
/// colour and gamma, physical size, animation); every other ancillary chunk (eXIf, tEXt,
/// zTXt, iTXt with XMP, tIME, private chunks) goes.
const PNG_KEPT_ANCILLARY: [&[u8; 4]; 14] = [
    b"tRNS", b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP", b"mDCV", b"cLLI", b"bKGD",
    b"pHYs", b"acTL", b"fcTL", b"fdAT",
];

fn strip_png(bytes: Bytes) -> Result<Bytes, Malformed> {
    let mut png = Png::from_bytes(bytes).map_err(|_| Malformed)?;
    if png.chunks().first().map(|c| c.kind()) != Some(*b"IHDR") {
        return Err(Malformed);
    }
    let turn = orientation(png.exif());
    png.chunks_mut().retain(|c| {
        let kind = c.kind();
        let critical = kind[0].is_ascii_uppercase();
        critical || PNG_KEPT_ANCILLARY.contains(&&kind)
    });
    if let Some(turn) = turn {
        // eXIf must come before the image data: right after IHDR.
        let chunk = img_parts::png::PngChunk::new(*b"eXIf", orientation_only_exif(turn));
        png.chunks_mut().insert(1, chunk);
    }
    Ok(png.encoder().bytes())
}

/// WebP chunks of the image itself (bitstreams, alpha, animation, the ICC profile); EXIF,
/// XMP and unknown chunks go, and the VP8X header's flags say so.
const WEBP_KEPT: [&[u8; 4]; 7] = [
    b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
];
const VP8X_EXIF_FLAG: u8 = 0x08;
const VP8X_XMP_FLAG: u8 = 0x04;

fn strip_webp(bytes: Bytes) -> Result<Bytes, Malformed> {
    let mut webp = WebP::from_bytes(bytes).map_err(|_| Malformed)?;
    let turn = orientation(webp.exif());
    webp.chunks_mut().retain(|c| WEBP_KEPT.contains(&&c.id()));
    let mut has_vp8x = false;
    for chunk in webp.chunks_mut() {
        if chunk.id() != *b"VP8X" {
            continue;
        }
        let mut header = chunk.content().data().ok_or(Malformed)?.to_vec();
        let flags = header.first_mut().ok_or(Malformed)?;
        *flags &= !(VP8X_EXIF_FLAG | VP8X_XMP_FLAG);
        if turn.is_some() {
            *flags |= VP8X_EXIF_FLAG;
        }
        *chunk = RiffChunk::new(*b"VP8X", RiffContent::Data(Bytes::from(header)));
        has_vp8x = true;
    }
    // EXIF needs the extended format's header; a simple WebP has nowhere to record it.
    if let (Some(turn), true) = (turn, has_vp8x) {
        let chunk = RiffChunk::new(*b"EXIF", RiffContent::Data(orientation_only_exif(turn)));
        webp.chunks_mut().push(chunk);
    }
    Ok(webp.encoder().bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Raw EXIF with an orientation, a camera make and a GPS position, as a phone writes.
    fn phone_exif(orientation: u16) -> Vec<u8> {
        let mut t = b"II\x2a\0\x08\0\0\0".to_vec();
        // IFD0 at 8: Make (ASCII, offset 50), Orientation (SHORT), GPS IFD pointer (LONG, 62).
        t.extend(3u16.to_le_bytes());
        t.extend([0x0F, 0x01, 2, 0]);
        t.extend(8u32.to_le_bytes());
        t.extend(50u32.to_le_bytes());
        t.extend([0x12, 0x01, 3, 0]);
        t.extend(1u32.to_le_bytes());
        t.extend(orientation.to_le_bytes());
        t.extend([0, 0]);
        t.extend([0x25, 0x88, 4, 0]);
        t.extend(1u32.to_le_bytes());
        t.extend(62u32.to_le_bytes());
        t.extend(0u32.to_le_bytes());
        assert_eq!(t.len(), 50);
        t.extend(b"PhoneCo\0");
        t.extend([0, 0, 0, 0]); // to 62
                                // GPS IFD: GPSLatitudeRef "N".
        t.extend(1u16.to_le_bytes());
        t.extend([0x01, 0x00, 2, 0]);
        t.extend(2u32.to_le_bytes());
        t.extend(*b"N\0\0\0");
        t.extend(0u32.to_le_bytes());
        t
    }

    fn jpeg_with(segments: &[(u8, Vec<u8>)], trailer: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8];
        for (marker, contents) in segments {
            bytes.extend([0xFF, *marker]);
            bytes.extend(u16::try_from(contents.len() + 2).unwrap().to_be_bytes());
            bytes.extend(contents);
        }
        // SOS header, entropy with a stuffed 0xFF and a restart, a comment between scans,
        // a second scan, EOI.
        bytes.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0]);
        bytes.extend([0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        bytes.extend([0xFF, 0xFE, 0, 7]);
        bytes.extend(b"where");
        bytes.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0, 0x78]);
        bytes.extend([0xFF, 0xD9]);
        bytes.extend(trailer);
        bytes
    }

    fn exif_segment(orientation: u16) -> (u8, Vec<u8>) {
        let mut contents = EXIF_PREFIX.to_vec();
        contents.extend(phone_exif(orientation));
        (markers::APP1, contents)
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_jpeg_loses_gps_camera_xmp_comments_and_trailers_but_keeps_its_orientation() {
        let jfif = (markers::APP0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0".to_vec());
        let xmp = (
            markers::APP1,
            b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>".to_vec(),
        );
        let icc = (markers::APP2, b"ICC_PROFILE\0\x01\x01profile".to_vec());
        let sof = (markers::SOF0, vec![8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
        let input = jpeg_with(
            &[jfif, exif_segment(6), xmp, icc, sof],
            b"appended image with PhoneCo",
        );
        let out = strip_metadata("image/jpeg", input).unwrap();
        for gone in [&b"PhoneCo"[..], b"xmpmeta", b"where", b"appended"] {
            assert!(!contains(&out, gone), "{}", String::from_utf8_lossy(gone));
        }
        assert!(contains(&out, b"ICC_PROFILE"));
        assert!(out.ends_with(&[0x78, 0xFF, 0xD9]));
        assert!(contains(&out, &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]));
        let parsed = Jpeg::from_bytes(Bytes::from(out)).unwrap();
        assert_eq!(parsed.segments()[0].marker(), markers::APP0);
        assert_eq!(orientation(parsed.exif()), Some(6));
        let exif = exif::Reader::new()
            .read_raw(parsed.exif().unwrap().to_vec())
            .unwrap();
        assert_eq!(exif.fields().count(), 1, "only the orientation");
    }

    #[test]
    fn an_upright_jpeg_keeps_no_exif_at_all() {
        let sof = (markers::SOF0, vec![8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
        let out = strip_metadata("image/jpeg", jpeg_with(&[exif_segment(1), sof], b"")).unwrap();
        assert!(Jpeg::from_bytes(Bytes::from(out)).unwrap().exif().is_none());
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        img_parts::png::PngChunk::new(*kind, Bytes::copy_from_slice(data))
            .encoder()
            .bytes()
            .to_vec()
    }

    #[test]
    fn a_png_keeps_its_image_chunks_and_loses_text_time_and_exif() {
        let mut input = b"\x89PNG\r\n\x1a\n".to_vec();
        input.extend(png_chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]));
        input.extend(png_chunk(b"eXIf", &phone_exif(8)));
        input.extend(png_chunk(
            b"iTXt",
            b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta/>",
        ));
        input.extend(png_chunk(b"tEXt", b"Author\0Someone"));
        input.extend(png_chunk(b"gAMA", &[0, 0, 0xB1, 0x8F]));
        input.extend(png_chunk(b"IDAT", b"pixels"));
        input.extend(png_chunk(b"IEND", b""));
        let out = strip_metadata("image/png", input).unwrap();
        for gone in [&b"PhoneCo"[..], b"xmpmeta", b"Someone"] {
            assert!(!contains(&out, gone));
        }
        let png = Png::from_bytes(Bytes::from(out)).unwrap();
        let kinds: Vec<[u8; 4]> = png.chunks().iter().map(|c| c.kind()).collect();
        assert_eq!(kinds, [*b"IHDR", *b"eXIf", *b"gAMA", *b"IDAT", *b"IEND"]);
        assert_eq!(orientation(png.exif()), Some(8));
    }

    fn riff_chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut chunk = id.to_vec();
        chunk.extend(u32::try_from(data.len()).unwrap().to_le_bytes());
        chunk.extend(data);
        if data.len() % 2 == 1 {
            chunk.push(0);
        }
        chunk
    }

    #[test]
    fn a_webp_loses_exif_and_xmp_and_its_header_flags_follow() {
        let mut body = b"WEBP".to_vec();
        body.extend(riff_chunk(
            b"VP8X",
            &[VP8X_EXIF_FLAG | VP8X_XMP_FLAG, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        ));
        body.extend(riff_chunk(b"VP8L", &[0x2F, 0, 0, 0, 0]));
        body.extend(riff_chunk(b"EXIF", &phone_exif(3)));
        body.extend(riff_chunk(b"XMP ", b"<x:xmpmeta/>"));
        let mut input = b"RIFF".to_vec();
        input.extend(u32::try_from(body.len()).unwrap().to_le_bytes());
        input.extend(body);
        let out = strip_metadata("image/webp", input).unwrap();
        assert!(!contains(&out, b"PhoneCo") && !contains(&out, b"xmpmeta"));
        let webp = WebP::from_bytes(Bytes::from(out)).unwrap();
        let ids: Vec<[u8; 4]> = webp.chunks().iter().map(|c| c.id()).collect();
        assert_eq!(ids, [*b"VP8X", *b"VP8L", *b"EXIF"]);
        let flags = webp
            .chunk_by_id(*b"VP8X")
            .unwrap()
            .content()
            .data()
            .unwrap()[0];
        assert_eq!(
            flags, VP8X_EXIF_FLAG,
            "EXIF (the orientation) stays, XMP goes"
        );
        assert_eq!(orientation(webp.exif()), Some(3));
    }

    #[test]
    fn broken_containers_are_refused() {
        assert_eq!(
            strip_metadata("image/jpeg", vec![0xFF, 0xD8, 0xFF, 0xE1, 0xFF]),
            Err(Malformed)
        );
        assert_eq!(
            strip_metadata("image/png", b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec()),
            Err(Malformed)
        );
        assert_eq!(
            strip_metadata("image/webp", b"RIFF\0".to_vec()),
            Err(Malformed)
        );
        let gif = b"GIF89a\x01\0\x01\0\0\0\0\x3B".to_vec();
        assert_eq!(strip_metadata("image/gif", gif.clone()), Ok(gif));
        assert_eq!(
            strip_metadata(
                "image/gif",
                b"GIF89a\x01\0\x01\0\0\0\0\x21\xFE\x05ab".to_vec()
            ),
            Err(Malformed),
            "a block cut short"
        );
    }

    /// One 1×1 frame, with a comment, an XMP application extension, the loop extension and
    /// a graphic control block around it, then bytes after the trailer.
    fn gif_with_metadata() -> Vec<u8> {
        let mut gif = b"GIF89a\x01\0\x01\0\x80\0\0".to_vec(); // a 2-colour global table
        gif.extend([0, 0, 0, 255, 255, 255]);
        gif.extend(b"\x21\xFF\x0bNETSCAPE2.0\x03\x01\0\0\0");
        gif.extend(b"\x21\xFE\x0dShot at home!\0");
        gif.extend(b"\x21\xFF\x0bXMP DataXMP\x0a<x:gps 1/>\0");
        gif.extend(b"\x21\xF9\x04\0\x0a\0\0\0");
        gif.extend(b"\x2C\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0");
        gif.extend(b"\x3Btrailing secrets");
        gif
    }

    #[test]
    fn a_gif_loses_comments_and_private_extensions_but_keeps_its_frames_and_loop() {
        let cleaned = strip_metadata("image/gif", gif_with_metadata()).expect("a GIF");
        let text = String::from_utf8_lossy(&cleaned);
        assert!(!text.contains("Shot at home"), "{text}");
        assert!(!text.contains("XMP"), "{text}");
        assert!(!text.contains("trailing"), "{text}");
        assert!(text.contains("NETSCAPE2.0"), "the loop stays");
        assert!(
            cleaned.windows(3).any(|w| w == b"\x21\xF9\x04"),
            "frame timing stays"
        );
        assert_eq!(cleaned.last(), Some(&0x3B));
        let decoded = image::load_from_memory(&cleaned).expect("still decodes");
        assert_eq!((decoded.width(), decoded.height()), (1, 1));
    }
}
