//! Image decoding and resizing for Credence: the adapter behind the domain's
//! [`ImageRenderer`] port.
//!
//! It exists so that the domain stays free of codecs: `credence-domain` says which images are
//! accepted, how large they may be ([`ImageBounds`]) and which renditions a logo has; this crate
//! is the only one that depends on the `image` crate (with just the four formats a logo may
//! have: JPEG, GIF, PNG, BMP).
//!
//! Decoding and resizing are CPU work, so [`ImageCodec::render`] runs them on tokio's blocking
//! pool ([`tokio::task::spawn_blocking`]), never on the async runtime's worker threads.
//!
//! An image bomb (a small file whose header claims huge dimensions) is refused from the
//! header, before any pixel is decoded; the decoder then runs under [`image::Limits`] derived
//! from the same bounds, so even a header that lies cannot make it allocate beyond them.

#![forbid(unsafe_code)]

use std::io::Cursor;

use async_trait::async_trait;
use credence_domain::documents::logo::{ImageBounds, ImageError, ImageKind};
use credence_domain::ports::ImageRenderer;
use image::codecs::gif::GifEncoder;
use image::error::LimitErrorKind;
use image::{DynamicImage, ExtendedColorType, ImageFormat, ImageReader, Limits};

/// The most bytes a decoded pixel may take: 16-bit RGBA, which PNG can hold.
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// Room for what a decoder allocates besides the pixels (palettes, row buffers, the
/// compressed stream, ...), and the whole budget while only the header is read.
const ALLOC_MARGIN: u64 = 16 * 1024 * 1024;

/// The GIF quantizer's speed, 1 (best palette, slowest) to 30: the default of 1 takes
/// seconds for one 256-pixel rendition in a debug build; 10 keeps logo colours well.
const GIF_SPEED: i32 = 10;

/// The [`ImageRenderer`] on the `image` crate. Stateless: build it with `ImageCodec` (or
/// [`ImageCodec::default`]) and share it as an `Arc<dyn ImageRenderer>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImageCodec;

impl ImageCodec {
    /// The codec.
    #[must_use]
    pub const fn new() -> Self {
        Self
    }
}

#[async_trait]
impl ImageRenderer for ImageCodec {
    async fn render(
        &self,
        bytes: &[u8],
        kind: ImageKind,
        bounds: ImageBounds,
        boxes: &[u32],
    ) -> Result<Vec<Vec<u8>>, ImageError> {
        let bytes = bytes.to_vec();
        let boxes = boxes.to_vec();
        tokio::task::spawn_blocking(move || render_blocking(&bytes, kind, bounds, &boxes))
            .await
            // A panicking decoder (or a cancelled task) means these bytes cannot be rendered.
            .unwrap_or(Err(ImageError::Undecodable))
    }
}

/// The `image` format of a domain image kind.
fn format_for(kind: ImageKind) -> ImageFormat {
    match kind {
        ImageKind::Jpeg => ImageFormat::Jpeg,
        ImageKind::Gif => ImageFormat::Gif,
        ImageKind::Png => ImageFormat::Png,
        ImageKind::Bmp => ImageFormat::Bmp,
    }
}

/// Header check, bounded decode, one encoded rendition per box. Blocking: runs on the
/// blocking pool.
fn render_blocking(
    bytes: &[u8],
    kind: ImageKind,
    bounds: ImageBounds,
    boxes: &[u32],
) -> Result<Vec<Vec<u8>>, ImageError> {
    let format = format_for(kind);
    let (width, height) = header_dimensions(bytes, format)?;
    if !within(bounds, width, height) {
        return Err(ImageError::TooManyPixels { width, height });
    }
    let image = decode(bytes, format, bounds, width, height)?;
    boxes
        .iter()
        .map(|&side| {
            let side = side.max(1);
            if image.width() > side || image.height() > side {
                encode(&image.thumbnail(side, side), format)
            } else {
                // Never enlarged: a small image keeps its dimensions.
                encode(&image, format)
            }
        })
        .collect()
}

/// The dimensions the header claims, read without decoding a pixel (the decoders of the
/// four formats parse only the headers when built). The allocation budget is small: a header
/// needs no pixel buffer.
fn header_dimensions(bytes: &[u8], format: ImageFormat) -> Result<(u32, u32), ImageError> {
    let mut limits = Limits::no_limits();
    limits.max_alloc = Some(ALLOC_MARGIN);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    reader
        .into_dimensions()
        .map_err(|_| ImageError::Undecodable)
}

/// Whether an image of these dimensions fits the bounds.
fn within(bounds: ImageBounds, width: u32, height: u32) -> bool {
    width <= bounds.max_side
        && height <= bounds.max_side
        && u64::from(width) * u64::from(height) <= bounds.max_pixels
}

/// Decodes under limits derived from `bounds`, so a decoder that meets other dimensions than
/// the header's, or allocates more than the pixels need, stops instead of allocating.
/// `width` and `height` are the header's, reported when a dimension limit trips.
fn decode(
    bytes: &[u8],
    format: ImageFormat,
    bounds: ImageBounds,
    width: u32,
    height: u32,
) -> Result<DynamicImage, ImageError> {
    let mut limits = Limits::no_limits();
    limits.max_image_width = Some(bounds.max_side);
    limits.max_image_height = Some(bounds.max_side);
    limits.max_alloc = Some(
        bounds
            .max_pixels
            .saturating_mul(MAX_BYTES_PER_PIXEL)
            .saturating_add(ALLOC_MARGIN),
    );
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    reader.decode().map_err(|error| match error {
        image::ImageError::Limits(limit)
            if matches!(limit.kind(), LimitErrorKind::DimensionError) =>
        {
            ImageError::TooManyPixels { width, height }
        }
        _ => ImageError::Undecodable,
    })
}

/// Encodes in `format`, first converting to a pixel type its encoder takes: JPEG has no
/// alpha; the GIF and BMP encoders take 8-bit RGB(A); PNG takes whatever its decoder gave.
fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    let written =
        match (format, image) {
            (ImageFormat::Gif, _) => {
                let rgba = image.to_rgba8();
                let mut encoder = GifEncoder::new_with_speed(&mut out, GIF_SPEED);
                let written = encoder.encode(
                    rgba.as_raw(),
                    rgba.width(),
                    rgba.height(),
                    ExtendedColorType::Rgba8,
                );
                // Dropping the encoder writes the GIF trailer.
                drop(encoder);
                written
            }
            (ImageFormat::Jpeg, DynamicImage::ImageRgb8(_) | DynamicImage::ImageLuma8(_))
            | (ImageFormat::Bmp, DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_))
            | (ImageFormat::Png, _) => image.write_to(&mut Cursor::new(&mut out), format),
            (ImageFormat::Jpeg, _) => DynamicImage::ImageRgb8(image.to_rgb8())
                .write_to(&mut Cursor::new(&mut out), format),
            _ => DynamicImage::ImageRgba8(image.to_rgba8())
                .write_to(&mut Cursor::new(&mut out), format),
        };
    // The pixels decoded but do not encode back: nothing the caller can act on differently.
    written.map_err(|_| ImageError::Undecodable)?;
    Ok(out)
}
