//! Customer logos (`imageFile`): which files are accepted, how large, and the names
//! of the original and its `small_` and `medium_` renditions. Decoding and resizing are an
//! adapter's job ([`crate::ports::ImageRenderer`]); the rules about them live here.

use crate::input::InputError;

/// The largest logo upload: 2 MB (the API's limit: "image size should not exceed 2Mo").
pub const MAX_LOGO_BYTES: usize = 2 * 1024 * 1024;

/// How large a decoded image may be. Checked from the header, before any pixel is decoded,
/// so a small file claiming huge dimensions (an image bomb) is refused without the memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageBounds {
    /// The longest side, in pixels.
    pub max_side: u32,
    /// Width times height.
    pub max_pixels: u64,
}

/// The bounds for every image the service decodes: 16 megapixels (64 MiB as RGBA) at most.
pub const IMAGE_BOUNDS: ImageBounds = ImageBounds {
    max_side: 8192,
    max_pixels: 4096 * 4096,
};

/// The four formats accepted for a logo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    /// JPEG.
    Jpeg,
    /// GIF.
    Gif,
    /// PNG.
    Png,
    /// BMP.
    Bmp,
}

impl ImageKind {
    /// The four.
    pub const ALL: [Self; 4] = [Self::Jpeg, Self::Gif, Self::Png, Self::Bmp];

    /// The kind of a sniffed media type, if it is one of the four.
    #[must_use]
    pub fn from_mime(mime: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.mime() == mime)
    }

    /// The media type.
    #[must_use]
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Png => "image/png",
            Self::Bmp => "image/bmp",
        }
    }

    /// The file extension the stored names carry.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Gif => "gif",
            Self::Png => "png",
            Self::Bmp => "bmp",
        }
    }
}

/// A file a client uploaded in a multipart body.
#[derive(Clone, PartialEq, Eq)]
pub struct Upload {
    /// The name the client sent, if any (never trusted for the type).
    pub file_name: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("file_name", &self.file_name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// An uploaded logo that passed the checks that need no decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoUpload {
    /// Its format, from the bytes.
    pub kind: ImageKind,
    /// The client's file name, sanitized, for the stored name.
    pub stem: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl LogoUpload {
    /// Checks size, then format by content (the name is never trusted).
    ///
    /// # Errors
    /// [`InputError::FileTooLarge`] over [`MAX_LOGO_BYTES`]; [`InputError::UnsupportedFileType`]
    /// unless the bytes start like a jpg, gif, png or bmp.
    pub fn new(upload: Upload) -> Result<Self, InputError> {
        if upload.bytes.len() > MAX_LOGO_BYTES {
            return Err(InputError::FileTooLarge);
        }
        let kind = crate::documents::MimeType::sniff(&upload.bytes)
            .image_kind()
            .ok_or(InputError::UnsupportedFileType)?;
        Ok(Self {
            kind,
            stem: stem(upload.file_name.as_deref()),
            bytes: upload.bytes,
        })
    }
}

/// The client's file name without its extension, reduced to `[A-Za-z0-9_-]`, at most 64
/// characters: stored names go into URLs and blob keys.
fn stem(file_name: Option<&str>) -> String {
    let name = file_name.unwrap_or_default();
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let without_ext = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    let cleaned: String = without_ext
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if cleaned.trim_matches('_').is_empty() {
        "logo".to_owned()
    } else {
        cleaned
    }
}

/// Which rendition of a logo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogoVariant {
    /// As uploaded.
    Original,
    /// `small_`: fits 64×64.
    Small,
    /// `medium_`: fits 256×256.
    Medium,
}

impl LogoVariant {
    /// Every rendition, original first.
    pub const ALL: [Self; 3] = [Self::Original, Self::Small, Self::Medium];

    /// The rendition's file-name prefix.
    #[must_use]
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Original => "",
            Self::Small => "small_",
            Self::Medium => "medium_",
        }
    }

    /// The box a resized rendition fits in (aspect kept, never enlarged); `None` for the
    /// original.
    #[must_use]
    pub fn bounding_box(self) -> Option<u32> {
        match self {
            Self::Original => None,
            Self::Small => Some(64),
            Self::Medium => Some(256),
        }
    }
}

/// The stored name of a logo, `{stamp}-{nonce}_{stem}.{ext}`. The nonce (random, from the
/// caller) makes every upload a new name even within one second, so a name's bytes never
/// change: caches may keep them for good, and dropping a replaced logo can never delete the
/// bytes of the one that replaced it. It is also what keeps the logo's URL, served without a
/// key, unguessable: a version-4 UUID's 122 random bits in 32 hexadecimal digits (names
/// stored before carry 8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogoName(String);

impl LogoName {
    /// Names a new upload.
    #[must_use]
    pub fn new(stamp_millis: i64, nonce: u128, upload: &LogoUpload) -> Self {
        Self(format!(
            "{stamp_millis}-{nonce:032x}_{}.{}",
            upload.stem,
            upload.kind.extension()
        ))
    }

    /// Rebuilds a stored value without checks (adapters only).
    #[must_use]
    pub fn from_trusted(name: String) -> Self {
        Self(name)
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file of one rendition.
    #[must_use]
    pub fn file(&self, variant: LogoVariant) -> LogoFile {
        LogoFile(format!("{}{}", variant.prefix(), self.0))
    }

    /// Which rendition `file` (as requested in a URL) is, if it is one of this logo's.
    #[must_use]
    pub fn variant_of(&self, file: &str) -> Option<LogoVariant> {
        LogoVariant::ALL
            .into_iter()
            .find(|v| file.strip_prefix(v.prefix()) == Some(self.0.as_str()))
    }

    /// The media type of every rendition.
    #[must_use]
    pub fn mime(&self) -> &'static str {
        let ext = self.0.rsplit('.').next().unwrap_or_default();
        ImageKind::ALL
            .into_iter()
            .find(|k| k.extension() == ext)
            .map_or(crate::documents::MimeType::OCTET_STREAM, ImageKind::mime)
    }
}

/// One rendition's file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogoFile(String);

impl LogoFile {
    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why an image could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The bytes do not decode as the format they start like.
    #[error("the image cannot be decoded")]
    Undecodable,
    /// The header claims more pixels than [`IMAGE_BOUNDS`] allow: refused before decoding.
    #[error("the image is {width}x{height} pixels")]
    TooManyPixels {
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
    },
}

impl From<ImageError> for InputError {
    fn from(e: ImageError) -> Self {
        match e {
            ImageError::Undecodable => Self::UnsupportedFileType,
            ImageError::TooManyPixels { width, height } => {
                crate::documents::DocumentRule::ImagePixels { width, height }.into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png() -> Vec<u8> {
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()
    }

    #[test]
    fn logos_are_checked_by_content_then_named_safely() {
        let upload = |name: &str, bytes: Vec<u8>| Upload {
            file_name: Some(name.into()),
            bytes,
        };
        let logo = LogoUpload::new(upload("../My Logo (v2).gif", png())).unwrap();
        assert_eq!(logo.kind, ImageKind::Png);
        let nonce = 0x0123_4567_89ab_cdef_0011_2233_4455_beef;
        let name = LogoName::new(1_471_338_230_737, nonce, &logo);
        let expected = "1471338230737-0123456789abcdef001122334455beef_My_Logo__v2_.png";
        assert_eq!(name.as_str(), expected);
        assert_ne!(name, LogoName::new(1_471_338_230_737, nonce - 1, &logo));
        assert_eq!(
            name.file(LogoVariant::Small).as_str(),
            format!("small_{expected}")
        );
        assert_eq!(
            name.variant_of(&format!("medium_{expected}")),
            Some(LogoVariant::Medium)
        );
        assert_eq!(name.variant_of(&format!("large_{expected}")), None);
        // A name stored before nonces had 128 bits is still its own.
        let older = LogoName::from_trusted("1471338230737-0000beef_logo.png".into());
        assert_eq!(
            older.variant_of("small_1471338230737-0000beef_logo.png"),
            Some(LogoVariant::Small)
        );
        assert_eq!(name.mime(), "image/png");

        assert_eq!(
            LogoUpload::new(upload("logo.png", b"%PDF-1.4".to_vec())),
            Err(InputError::UnsupportedFileType)
        );
        let mut big = png();
        big.resize(MAX_LOGO_BYTES + 1, 0);
        assert_eq!(
            LogoUpload::new(upload("logo.png", big)),
            Err(InputError::FileTooLarge)
        );
    }
}
