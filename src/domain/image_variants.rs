//! The sizes of an image a client needs, made once after upload: a preview (at most
//! `PREVIEW_EDGE` pixels on the long side) for feeds, square avatar sizes for avatars,
//! each upright (the EXIF orientation applied to the pixels) and re-encoded as lossy WebP,
//! so no metadata of the original survives in them; and a BlurHash, the placeholder a
//! client paints while the preview loads.
//!
//! Decoding and resizing use the `image` crate (pure Rust, the de-facto standard, with
//! decoding limits against decompression bombs and EXIF orientation support); WebP is
//! encoded by libwebp through the `webp` crate (the `image` crate writes only lossless
//! WebP, several times larger for photos). Pure functions: the caller runs them on a
//! blocking thread.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView, ImageDecoder, ImageReader, Limits};

/// The long side of a preview, in pixels.
pub const PREVIEW_EDGE: u32 = 640;
/// The avatar sizes (square, in pixels), each a variant `avatar_{size}`.
pub const AVATAR_SIZES: [u32; 3] = [64, 128, 256];
/// WebP quality of the variants (0–100).
const QUALITY: f32 = 80.0;
/// The largest image accepted, in either dimension and in pixels, checked from its header
/// before any pixel is decoded: a 10 MB file can claim billions of pixels.
const MAX_EDGE: u32 = 12_000;
pub const MAX_PIXELS: u64 = 50_000_000;
/// The memory one image may take while it is processed, every copy included: the decoded
/// pixels (at most 50 MP at 8 bytes each, 400 MB) and the working copies made from them
/// (at most `MAX_WORKING_EDGE` a side, a few each, in the worst pixel format).
const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;
/// The largest side of the working copy a decoded image is first reduced to; every
/// variant is made from it, never from the full decode (which is dropped at once).
pub const MAX_WORKING_EDGE: u32 = 2048;
/// The most bytes a pixel takes in any format a decoder gives (RGBA 32-bit float).
const MAX_BYTES_PER_PIXEL: u64 = 16;
/// Working copies alive at once at most: the copy, its upright turn, a variant's resize
/// and its RGB(A) conversion.
const WORKING_COPIES: u64 = 4;

/// One made size of an image.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: Vec<u8>,
}

/// What processing an image yields: its upright size, its placeholder and its variants.
#[derive(Debug, Clone)]
pub struct Processed {
    pub width: u32,
    pub height: u32,
    pub blurhash: String,
    pub variants: Vec<Variant>,
}

/// Which variants to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A post's image: the preview.
    Post,
    /// An avatar: the preview and the avatar sizes.
    Avatar,
}

/// A decoded image: its upright size, and an upright working copy at most `working_edge`
/// a side to make variants from.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub width: u32,
    pub height: u32,
    pub image: DynamicImage,
}

/// Decodes `bytes` (JPEG, PNG, GIF, WebP) upright, within the limits: at most
/// `MAX_EDGE` a side and `MAX_PIXELS` in all, read from the header before decoding, and
/// the decoded pixels plus every working copy within `MAX_DECODE_BYTES`. The full decode
/// is reduced to a working copy at most `working_edge` (≤ `MAX_WORKING_EDGE`) a side
/// before anything else is done with it, so orientation and resizing copy only that.
pub fn decode_upright(bytes: &[u8], working_edge: u32) -> Result<Decoded, String> {
    let working_edge = working_edge.clamp(1, MAX_WORKING_EDGE);
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("unreadable image: {e}"))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_EDGE);
    limits.max_image_height = Some(MAX_EDGE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| format!("unreadable image: {e}"))?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(format!(
            "the image is {width}×{height}: at most {} megapixels are accepted",
            MAX_PIXELS / 1_000_000
        ));
    }
    let working = u64::from(working_edge).pow(2) * MAX_BYTES_PER_PIXEL * WORKING_COPIES;
    if decoder.total_bytes().saturating_add(working) > MAX_DECODE_BYTES {
        return Err("the image takes too much memory to decode".into());
    }
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let full = DynamicImage::from_decoder(decoder).map_err(|e| format!("unreadable image: {e}"))?;
    let mut image = if width.max(height) > working_edge {
        // Area-averaged straight into the small buffer: no full-size intermediate.
        full.thumbnail(working_edge, working_edge)
    } else {
        full
    };
    image.apply_orientation(orientation);
    use image::metadata::Orientation::{Rotate270, Rotate270FlipH, Rotate90, Rotate90FlipH};
    let (width, height) = match orientation {
        Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH => (height, width),
        _ => (width, height),
    };
    Ok(Decoded {
        width,
        height,
        image,
    })
}

/// Lossy WebP of `image` (alpha kept when it has any).
pub fn webp_of(image: &DynamicImage) -> Vec<u8> {
    let (width, height) = image.dimensions();
    if image.color().has_alpha() {
        let rgba = image.to_rgba8();
        webp::Encoder::from_rgba(rgba.as_raw(), width, height)
            .encode(QUALITY)
            .to_vec()
    } else {
        let rgb = image.to_rgb8();
        webp::Encoder::from_rgb(rgb.as_raw(), width, height)
            .encode(QUALITY)
            .to_vec()
    }
}

/// The size that fits `width`×`height` within `edge` on its long side (never larger).
pub fn fit_within(width: u32, height: u32, edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= edge || long == 0 {
        return (width.max(1), height.max(1));
    }
    let scale = |side: u32| -> u32 {
        let scaled = u64::from(side) * u64::from(edge) / u64::from(long);
        u32::try_from(scaled).unwrap_or(edge).max(1)
    };
    (scale(width), scale(height))
}

/// The BlurHash of `image` (4×3 components, computed on a small copy).
pub fn blurhash_of(image: &DynamicImage) -> Result<String, String> {
    let small = image.thumbnail(32, 32).to_rgba8();
    blurhash::encode(4, 3, small.width(), small.height(), small.as_raw())
        .map_err(|e| format!("blurhash: {e}"))
}

/// A variant named `name` of `image` scaled to fit within `edge`.
pub fn preview_variant(name: &str, image: &DynamicImage, edge: u32) -> Variant {
    let (width, height) = image.dimensions();
    let (w, h) = fit_within(width, height, edge);
    let scaled = if (w, h) == (width, height) {
        image.clone()
    } else {
        image.resize_exact(w, h, FilterType::Triangle)
    };
    Variant {
        name: name.to_owned(),
        content_type: "image/webp",
        width: w,
        height: h,
        bytes: webp_of(&scaled),
    }
}

/// An avatar variant: the centre square of `image`, `size` pixels a side.
fn avatar_variant(image: &DynamicImage, size: u32) -> Variant {
    let scaled = image.resize_to_fill(size, size, FilterType::Lanczos3);
    Variant {
        name: format!("avatar_{size}"),
        content_type: "image/webp",
        width: scaled.width(),
        height: scaled.height(),
        bytes: webp_of(&scaled),
    }
}

/// Everything made of an uploaded image.
pub fn process_image(bytes: &[u8], purpose: Purpose) -> Result<Processed, String> {
    // The avatar sizes are cut from the centre square, so their copy keeps more pixels.
    let working_edge = match purpose {
        Purpose::Post => PREVIEW_EDGE,
        Purpose::Avatar => PREVIEW_EDGE.max(AVATAR_SIZES[AVATAR_SIZES.len() - 1] * 4),
    };
    let Decoded {
        width,
        height,
        image,
    } = decode_upright(bytes, working_edge)?;
    let mut variants = vec![preview_variant("preview", &image, PREVIEW_EDGE)];
    if purpose == Purpose::Avatar {
        variants.extend(
            AVATAR_SIZES
                .iter()
                .map(|&size| avatar_variant(&image, size)),
        );
    }
    Ok(Processed {
        width,
        height,
        blurhash: blurhash_of(&image)?,
        variants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, RgbImage};

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(image)
            .write_to(&mut out, ImageFormat::Png)
            .expect("a PNG");
        out.into_inner()
    }

    /// PNG's chunk checksum (CRC-32, ISO 3309), bit by bit.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for byte in bytes {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn sizes_fit_within_the_edge_and_never_grow() {
        assert_eq!(fit_within(4000, 3000, 640), (640, 480));
        assert_eq!(fit_within(3000, 4000, 640), (480, 640));
        assert_eq!(fit_within(300, 200, 640), (300, 200));
        assert_eq!(fit_within(10_000, 1, 640), (640, 1));
    }

    #[test]
    fn an_image_gets_a_webp_preview_and_a_blurhash() {
        let made = process_image(&png(1280, 720), Purpose::Post).expect("processed");
        assert_eq!((made.width, made.height), (1280, 720));
        assert_eq!(made.variants.len(), 1);
        let preview = &made.variants[0];
        assert_eq!(
            (preview.name.as_str(), preview.width, preview.height),
            ("preview", 640, 360)
        );
        assert_eq!(&preview.bytes[..4], b"RIFF");
        assert_eq!(&preview.bytes[8..12], b"WEBP");
        assert!(
            blurhash::decode(&made.blurhash, 8, 8, 1.0).is_ok(),
            "{}",
            made.blurhash
        );
    }

    #[test]
    fn an_avatar_gets_square_sizes() {
        let made = process_image(&png(300, 200), Purpose::Avatar).expect("processed");
        let sizes: Vec<(String, u32, u32)> = made
            .variants
            .iter()
            .map(|v| (v.name.clone(), v.width, v.height))
            .collect();
        assert_eq!(
            sizes,
            vec![
                ("preview".to_owned(), 300, 200),
                ("avatar_64".to_owned(), 64, 64),
                ("avatar_128".to_owned(), 128, 128),
                ("avatar_256".to_owned(), 256, 256),
            ]
        );
    }

    #[test]
    fn garbage_and_oversized_images_are_refused() {
        assert!(process_image(b"\x89PNG\r\n\x1a\nnot really", Purpose::Post).is_err());
        assert!(process_image(&png(1, 1)[..20], Purpose::Post).is_err());
        // A header claiming 8000×8000 (64 MP, each side within the edge limit) is refused
        // before a pixel is decoded: the data behind it is not even there.
        let mut header = png(1, 1);
        header[16..20].copy_from_slice(&8000u32.to_be_bytes());
        header[20..24].copy_from_slice(&8000u32.to_be_bytes());
        let crc = crc32(&header[12..29]);
        header[29..33].copy_from_slice(&crc.to_be_bytes());
        let err = process_image(&header, Purpose::Post).expect_err("too many pixels");
        assert!(err.contains("megapixels"), "{err}");
    }

    #[test]
    fn the_working_copy_is_small_and_the_size_reported_is_upright() {
        let decoded = decode_upright(&png(3000, 1000), 640).expect("decoded");
        assert_eq!((decoded.width, decoded.height), (3000, 1000));
        assert_eq!(decoded.image.dimensions(), (640, 213));
        let whole = decode_upright(&png(300, 100), 640).expect("decoded");
        assert_eq!(whole.image.dimensions(), (300, 100));
    }
}
