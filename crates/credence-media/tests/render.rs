//! The codec against images made in memory: renditions per box in the source format, never
//! enlarged, undecodable bytes, and image bombs refused from their headers.

#![allow(clippy::expect_used, clippy::unwrap_used, reason = "tests")]

use std::io::Cursor;
use std::sync::Arc;

use credence_domain::documents::logo::{IMAGE_BOUNDS, ImageBounds, ImageError, ImageKind};
use credence_domain::ports::ImageRenderer;
use credence_media::ImageCodec;
use image::codecs::gif::GifEncoder;
use image::{DynamicImage, ExtendedColorType, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

const KINDS: [ImageKind; 4] = [
    ImageKind::Jpeg,
    ImageKind::Gif,
    ImageKind::Png,
    ImageKind::Bmp,
];

fn format(kind: ImageKind) -> ImageFormat {
    match kind {
        ImageKind::Jpeg => ImageFormat::Jpeg,
        ImageKind::Gif => ImageFormat::Gif,
        ImageKind::Png => ImageFormat::Png,
        ImageKind::Bmp => ImageFormat::Bmp,
    }
}

/// A gradient, so that every codec has something to encode.
fn picture(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    }))
}

fn encoded(image: &DynamicImage, kind: ImageKind) -> Vec<u8> {
    if kind == ImageKind::Gif {
        // The fastest quantizer: the default takes seconds for 800x600 in a debug build.
        let mut out = Vec::new();
        let rgba = image.to_rgba8();
        GifEncoder::new_with_speed(&mut out, 30)
            .encode(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                ExtendedColorType::Rgba8,
            )
            .unwrap();
        return out;
    }
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format(kind)).unwrap();
    out.into_inner()
}

async fn render(bytes: &[u8], kind: ImageKind, boxes: &[u32]) -> Result<Vec<Vec<u8>>, ImageError> {
    ImageCodec.render(bytes, kind, IMAGE_BOUNDS, boxes).await
}

fn dimensions(bytes: &[u8], kind: ImageKind) -> (u32, u32) {
    let image = image::load_from_memory_with_format(bytes, format(kind))
        .unwrap_or_else(|e| panic!("{kind:?} output does not decode: {e}"));
    (image.width(), image.height())
}

/// The CRC-32 (ISO-HDLC) PNG chunks carry, bit by bit.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
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
fn crc32_matches_the_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[tokio::test]
async fn each_format_renders_one_copy_per_box_in_the_same_format() {
    for kind in KINDS {
        let bytes = encoded(&picture(800, 600), kind);
        let out = render(&bytes, kind, &[64, 256]).await.unwrap();
        assert_eq!(out.len(), 2, "{kind:?}");
        assert_eq!(dimensions(&out[0], kind), (64, 48), "{kind:?}");
        assert_eq!(dimensions(&out[1], kind), (256, 192), "{kind:?}");
        assert_eq!(
            image::guess_format(&out[0]).unwrap(),
            format(kind),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn renditions_come_in_the_order_of_the_boxes_and_keep_a_portrait_aspect() {
    let bytes = encoded(&picture(300, 600), ImageKind::Png);
    let out = render(&bytes, ImageKind::Png, &[256, 64]).await.unwrap();
    assert_eq!(dimensions(&out[0], ImageKind::Png), (128, 256));
    assert_eq!(dimensions(&out[1], ImageKind::Png), (32, 64));
}

#[tokio::test]
async fn no_box_gives_no_rendition() {
    let bytes = encoded(&picture(80, 60), ImageKind::Png);
    assert_eq!(render(&bytes, ImageKind::Png, &[]).await, Ok(vec![]));
}

#[tokio::test]
async fn a_small_image_is_never_enlarged() {
    for kind in KINDS {
        let bytes = encoded(&picture(40, 30), kind);
        let out = render(&bytes, kind, &[64, 256]).await.unwrap();
        assert_eq!(dimensions(&out[0], kind), (40, 30), "{kind:?}");
        assert_eq!(dimensions(&out[1], kind), (40, 30), "{kind:?}");
    }
}

#[tokio::test]
async fn a_box_between_the_sides_shrinks_only_the_long_side_to_it() {
    let bytes = encoded(&picture(100, 40), ImageKind::Bmp);
    let out = render(&bytes, ImageKind::Bmp, &[50]).await.unwrap();
    assert_eq!(dimensions(&out[0], ImageKind::Bmp), (50, 20));
}

#[tokio::test]
async fn png_alpha_is_kept() {
    let image = DynamicImage::ImageRgba8(RgbaImage::from_pixel(400, 400, Rgba([10, 20, 30, 128])));
    let bytes = encoded(&image, ImageKind::Png);
    let out = render(&bytes, ImageKind::Png, &[64]).await.unwrap();
    let small = image::load_from_memory_with_format(&out[0], ImageFormat::Png).unwrap();
    assert!(small.color().has_alpha());
    assert_eq!(small.to_rgba8().get_pixel(10, 10)[3], 128);
}

#[tokio::test]
async fn garbage_after_a_png_signature_is_undecodable() {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend(std::iter::repeat_n(0x5A, 200));
    assert_eq!(
        render(&bytes, ImageKind::Png, &[64]).await,
        Err(ImageError::Undecodable)
    );
}

#[tokio::test]
async fn a_truncated_image_is_undecodable() {
    // Not JPEG: its decoder is lenient and fills a truncated scan, as browsers do.
    for kind in [ImageKind::Gif, ImageKind::Png, ImageKind::Bmp] {
        let bytes = encoded(&picture(800, 600), kind);
        let cut = &bytes[..bytes.len() / 3];
        assert_eq!(
            render(cut, kind, &[64]).await,
            Err(ImageError::Undecodable),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn empty_bytes_and_another_format_are_undecodable() {
    for kind in KINDS {
        assert_eq!(
            render(&[], kind, &[64]).await,
            Err(ImageError::Undecodable),
            "{kind:?}"
        );
    }
    let png = encoded(&picture(80, 60), ImageKind::Png);
    assert_eq!(
        render(&png, ImageKind::Jpeg, &[64]).await,
        Err(ImageError::Undecodable)
    );
}

#[tokio::test]
async fn over_max_pixels_is_refused_even_within_max_side() {
    let bytes = encoded(&picture(800, 600), ImageKind::Png);
    let bounds = ImageBounds {
        max_side: 1000,
        max_pixels: 800 * 600 - 1,
    };
    assert_eq!(
        ImageCodec
            .render(&bytes, ImageKind::Png, bounds, &[64])
            .await,
        Err(ImageError::TooManyPixels {
            width: 800,
            height: 600
        })
    );
}

#[tokio::test]
async fn over_max_side_is_refused_even_within_max_pixels() {
    let bytes = encoded(&picture(800, 600), ImageKind::Gif);
    let bounds = ImageBounds {
        max_side: 799,
        max_pixels: u64::MAX,
    };
    assert_eq!(
        ImageCodec
            .render(&bytes, ImageKind::Gif, bounds, &[64])
            .await,
        Err(ImageError::TooManyPixels {
            width: 800,
            height: 600
        })
    );
}

#[tokio::test]
async fn an_image_exactly_at_the_bounds_is_rendered() {
    let bytes = encoded(&picture(800, 600), ImageKind::Jpeg);
    let bounds = ImageBounds {
        max_side: 800,
        max_pixels: 800 * 600,
    };
    let out = ImageCodec
        .render(&bytes, ImageKind::Jpeg, bounds, &[64])
        .await
        .unwrap();
    assert_eq!(dimensions(&out[0], ImageKind::Jpeg), (64, 48));
}

/// A real 1x1 PNG whose IHDR is rewritten to claim `width` x `height`, CRC recomputed: a
/// valid header in front of a few bytes of pixels.
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = encoded(&picture(1, 1), ImageKind::Png);
    // Signature (8), chunk length (4), "IHDR" (4), then width and height, big-endian.
    assert_eq!(&bytes[12..16], b"IHDR");
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    // The CRC covers the chunk type and its 13 data bytes.
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[tokio::test]
async fn a_png_bomb_is_refused_from_its_header() {
    let bomb = png_bomb(100_000, 100_000);
    assert!(bomb.len() < 100);
    assert_eq!(
        render(&bomb, ImageKind::Png, &[64, 256]).await,
        Err(ImageError::TooManyPixels {
            width: 100_000,
            height: 100_000
        })
    );
}

#[test]
fn the_patched_png_header_is_well_formed() {
    // The bomb is refused for its dimensions, not for a bad CRC: the same patch reads back.
    let bytes = png_bomb(2, 2);
    let (width, height) = image::ImageReader::with_format(Cursor::new(&bytes), ImageFormat::Png)
        .into_dimensions()
        .unwrap();
    assert_eq!((width, height), (2, 2));
}

#[tokio::test]
async fn a_bmp_bomb_is_refused_from_its_header() {
    let mut bomb = encoded(&picture(1, 1), ImageKind::Bmp);
    // BITMAPINFOHEADER: width at 18, height at 22, little-endian i32.
    // (Over 65535 the BMP decoder itself refuses the header: that is `Undecodable`.)
    bomb[18..22].copy_from_slice(&60_000_i32.to_le_bytes());
    bomb[22..26].copy_from_slice(&60_000_i32.to_le_bytes());
    assert_eq!(
        render(&bomb, ImageKind::Bmp, &[64]).await,
        Err(ImageError::TooManyPixels {
            width: 60_000,
            height: 60_000
        })
    );
}

#[tokio::test]
async fn a_gif_bomb_is_refused_from_its_header() {
    let mut bomb = encoded(&picture(1, 1), ImageKind::Gif);
    // Logical screen descriptor after "GIF89a": width and height, little-endian u16.
    bomb[6..8].copy_from_slice(&u16::MAX.to_le_bytes());
    bomb[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
    assert_eq!(
        render(&bomb, ImageKind::Gif, &[64]).await,
        Err(ImageError::TooManyPixels {
            width: 65_535,
            height: 65_535
        })
    );
}

#[tokio::test]
async fn a_jpeg_bomb_is_refused_from_its_header() {
    let mut bomb = encoded(&picture(8, 8), ImageKind::Jpeg);
    // SOF0: FF C0, length (2), precision (1), then height and width, big-endian u16.
    let sof = bomb
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline JPEG has a SOF0 marker");
    bomb[sof + 5..sof + 7].copy_from_slice(&60_000_u16.to_be_bytes());
    bomb[sof + 7..sof + 9].copy_from_slice(&60_000_u16.to_be_bytes());
    assert_eq!(
        render(&bomb, ImageKind::Jpeg, &[64]).await,
        Err(ImageError::TooManyPixels {
            width: 60_000,
            height: 60_000
        })
    );
}

#[tokio::test]
async fn the_codec_serves_as_the_port() {
    let renderer: Arc<dyn ImageRenderer> = Arc::new(ImageCodec::new());
    let bytes = encoded(&picture(800, 600), ImageKind::Png);
    let out = renderer
        .render(&bytes, ImageKind::Png, IMAGE_BOUNDS, &[64])
        .await
        .unwrap();
    assert_eq!(dimensions(&out[0], ImageKind::Png), (64, 48));
}
