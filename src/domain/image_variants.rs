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
/// The largest image accepted, in either dimension, and the most memory its decoding may
/// take: a 10 MB file can claim billions of pixels.
const MAX_EDGE: u32 = 12_000;
const MAX_DECODE_BYTES: u64 = 512 * 1024 * 1024;

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

/// Decodes `bytes` (JPEG, PNG, GIF, WebP) upright, within the decoding limits.
pub fn decode_upright(bytes: &[u8]) -> Result<DynamicImage, String> {
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
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image =
        DynamicImage::from_decoder(decoder).map_err(|e| format!("unreadable image: {e}"))?;
    image.apply_orientation(orientation);
    Ok(image)
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
    let image = decode_upright(bytes)?;
    let (width, height) = image.dimensions();
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
    }
}
