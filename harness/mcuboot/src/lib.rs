//! MCUboot images: the header, the payload, and the TLV areas after it (a protected area the hash
//! covers, then an unprotected one holding the hash, the key hash and the signature).
//!
//! `no_std` and no allocator, because the reference device's firmware uses this same parser and
//! verifier as hilt does. Nothing here panics on any input: an image is untrusted bytes.
//!
//! Layout (little-endian, as MCUboot's bootutil/image.h and imgtool write it):
//! header { magic u32, load_addr u32, hdr_size u16, protect_tlv_size u16, img_size u32, flags u32,
//! version { major u8, minor u8, revision u16, build u32 }, pad u32 } (32 bytes, padded to hdr_size);
//! payload (img_size bytes); protected TLV area (protect_tlv_size bytes, info magic 0x6908) if any;
//! unprotected TLV area (info magic 0x6907). Each area starts with { magic u16, total_len u16 }
//! (total_len counts that info), each TLV is { type u16, len u16, value }.

#![no_std]

use core::fmt;
use sha2::{Digest, Sha256};

mod version;

pub use version::{BadVersion, Version};

pub const HEADER_MAGIC: u32 = 0x96f3_b83d;
/// The fixed header; `header_size` may be larger (padding before the payload).
pub const HEADER_LEN: usize = 32;

/// TLV types hilt reads or writes.
pub mod tlv {
    pub const KEYHASH: u16 = 0x01;
    pub const SHA256: u16 = 0x10;
    pub const ED25519: u16 = 0x24;
    pub const SEC_CNT: u16 = 0x50;
    /// hilt's vendor TLV (protected): the model or hardware id the image is for, in ASCII.
    pub const MODEL: u16 = 0x00a0;
    pub const INFO_MAGIC: u16 = 0x6907;
    pub const PROT_INFO_MAGIC: u16 = 0x6908;

    /// A readable name for a TLV type, for `hilt image inspect`.
    pub fn name(kind: u16) -> &'static str {
        match kind {
            KEYHASH => "KEYHASH",
            0x02 => "PUBKEY",
            SHA256 => "SHA256",
            0x11 => "SHA384",
            0x20 => "RSA2048_PSS",
            0x22 => "ECDSA_SIG",
            0x23 => "RSA3072_PSS",
            ED25519 => "ED25519",
            0x40 => "DEPENDENCY",
            SEC_CNT => "SEC_CNT",
            0x60 => "BOOT_RECORD",
            MODEL => "MODEL (hilt)",
            _ => "?",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub load_addr: u32,
    pub header_size: u16,
    pub protected_tlv_size: u16,
    pub payload_size: u32,
    pub flags: u32,
    pub version: Version,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl Header {
    pub fn parse(bytes: &[u8]) -> Result<Header, ParseError> {
        if bytes.len() < HEADER_LEN {
            return Err(ParseError::TooShort);
        }
        if u32_at(bytes, 0) != HEADER_MAGIC {
            return Err(ParseError::BadMagic);
        }
        let header = Header {
            load_addr: u32_at(bytes, 4),
            header_size: u16_at(bytes, 8),
            protected_tlv_size: u16_at(bytes, 10),
            payload_size: u32_at(bytes, 12),
            flags: u32_at(bytes, 16),
            version: Version {
                major: bytes[20],
                minor: bytes[21],
                revision: u16_at(bytes, 22),
                build: u32_at(bytes, 24),
            },
        };
        if (header.header_size as usize) < HEADER_LEN {
            return Err(ParseError::BadHeaderSize);
        }
        Ok(header)
    }

    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&HEADER_MAGIC.to_le_bytes());
        b[4..8].copy_from_slice(&self.load_addr.to_le_bytes());
        b[8..10].copy_from_slice(&self.header_size.to_le_bytes());
        b[10..12].copy_from_slice(&self.protected_tlv_size.to_le_bytes());
        b[12..16].copy_from_slice(&self.payload_size.to_le_bytes());
        b[16..20].copy_from_slice(&self.flags.to_le_bytes());
        b[20] = self.version.major;
        b[21] = self.version.minor;
        b[22..24].copy_from_slice(&self.version.revision.to_le_bytes());
        b[24..28].copy_from_slice(&self.version.build.to_le_bytes());
        b
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    TooShort,
    BadMagic,
    BadHeaderSize,
    BadTlvArea,
    Truncated { needed: usize },
    TrailingBytes { extra: usize },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooShort => write!(f, "shorter than the {HEADER_LEN}-byte MCUboot header"),
            ParseError::BadMagic => write!(f, "no MCUboot header magic 0x{HEADER_MAGIC:08x} at the start"),
            ParseError::BadHeaderSize => write!(f, "header size below {HEADER_LEN} bytes"),
            ParseError::BadTlvArea => write!(f, "the TLV area after the payload is malformed"),
            ParseError::Truncated { needed } => write!(f, "truncated: the image needs {needed} bytes"),
            ParseError::TrailingBytes { extra } => write!(f, "{extra} bytes after the end of the image"),
        }
    }
}

/// A parsed image over borrowed bytes.
#[derive(Clone, Copy, Debug)]
pub struct Image<'a> {
    bytes: &'a [u8],
    header: Header,
    /// Where the payload ends and the TLV areas begin.
    tlv_start: usize,
    /// Where the protected area ends and the unprotected one begins.
    unprotected_start: usize,
}

impl<'a> Image<'a> {
    /// The image must end exactly where its TLV area ends.
    pub fn parse(bytes: &'a [u8]) -> Result<Image<'a>, ParseError> {
        let image = Image::parse_prefix(bytes)?;
        match bytes.len() - image.len() {
            0 => Ok(image),
            extra => Err(ParseError::TrailingBytes { extra }),
        }
    }

    /// The image at the start of `bytes`; what follows it is ignored (e.g. the rest of a slot).
    pub fn parse_prefix(bytes: &'a [u8]) -> Result<Image<'a>, ParseError> {
        let header = Header::parse(bytes)?;
        let tlv_start = (header.header_size as usize)
            .checked_add(header.payload_size as usize)
            .ok_or(ParseError::BadHeaderSize)?;
        let protected = header.protected_tlv_size as usize;
        if protected != 0 {
            area(bytes, tlv_start, tlv::PROT_INFO_MAGIC, Some(protected))?;
        }
        let unprotected_start = tlv_start + protected;
        let end = unprotected_start + area(bytes, unprotected_start, tlv::INFO_MAGIC, None)?;
        Ok(Image { bytes: &bytes[..end], header, tlv_start, unprotected_start })
    }

    pub fn header(&self) -> Header {
        self.header
    }

    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[self.header.header_size as usize..self.tlv_start]
    }

    /// What the SHA256 TLV covers: header, padding, payload and the protected TLV area.
    pub fn signed_region(&self) -> &'a [u8] {
        &self.bytes[..self.unprotected_start]
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Every TLV: the protected area first, then the unprotected one.
    pub fn tlvs(&self) -> Tlvs<'a> {
        let protected = self.header.protected_tlv_size != 0;
        let first = if protected { self.tlv_start } else { self.unprotected_start };
        Tlvs { image: *self, at: first + 4, end: area_end(self.bytes, first), in_protected: protected }
    }

    pub fn find(&self, kind: u16) -> Option<Tlv<'a>> {
        self.tlvs().find(|t| t.kind == kind)
    }

    fn find_protected(&self, kind: u16) -> Option<Tlv<'a>> {
        self.tlvs().find(|t| t.kind == kind && t.protected)
    }

    /// The protected security counter (anti-rollback).
    pub fn security_counter(&self) -> Option<u32> {
        let v = self.find_protected(tlv::SEC_CNT)?.value;
        (v.len() == 4).then(|| u32_at(v, 0))
    }

    /// The protected MODEL value.
    pub fn model(&self) -> Option<&'a [u8]> {
        self.find_protected(tlv::MODEL).map(|t| t.value)
    }
}

/// Checks the TLV area at `start` (its info magic, its length, each TLV inside); returns its length.
fn area(bytes: &[u8], start: usize, magic: u16, expect_len: Option<usize>) -> Result<usize, ParseError> {
    let need = |n: usize| ParseError::Truncated { needed: n };
    // From here on `start` is within `bytes`, so no sum below can overflow, even where usize is
    // 32 bits and a header claims a payload of nearly 4 GiB.
    if start > bytes.len() {
        return Err(need(start.saturating_add(4)));
    }
    if bytes.len() < start + 4 {
        return Err(need(start + 4));
    }
    if u16_at(bytes, start) != magic {
        return Err(ParseError::BadTlvArea);
    }
    let len = u16_at(bytes, start + 2) as usize;
    if len < 4 || expect_len.is_some_and(|e| e != len) {
        return Err(ParseError::BadTlvArea);
    }
    if bytes.len() < start + len {
        return Err(need(start + len));
    }
    let mut at = start + 4;
    while at < start + len {
        if at + 4 > start + len {
            return Err(ParseError::BadTlvArea);
        }
        at += 4 + u16_at(bytes, at + 2) as usize;
        if at > start + len {
            return Err(ParseError::BadTlvArea);
        }
    }
    Ok(len)
}

fn area_end(bytes: &[u8], start: usize) -> usize {
    start + u16_at(bytes, start + 2) as usize
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub kind: u16,
    pub value: &'a [u8],
    pub protected: bool,
    /// Offset of this TLV's 4-byte header in the image.
    pub offset: usize,
}

/// Iterates over an image's TLVs; see [`Image::tlvs`]. The areas were checked by the parser.
#[derive(Clone, Debug)]
pub struct Tlvs<'a> {
    image: Image<'a>,
    at: usize,
    end: usize,
    in_protected: bool,
}

impl<'a> Iterator for Tlvs<'a> {
    type Item = Tlv<'a>;

    fn next(&mut self) -> Option<Tlv<'a>> {
        let bytes = self.image.bytes;
        if self.at >= self.end {
            if !self.in_protected {
                return None;
            }
            // From the protected area on into the unprotected one.
            self.in_protected = false;
            let start = self.image.unprotected_start;
            self.at = start + 4;
            self.end = area_end(bytes, start);
            return self.next();
        }
        let len = u16_at(bytes, self.at + 2) as usize;
        let tlv = Tlv {
            kind: u16_at(bytes, self.at),
            value: &bytes[self.at + 4..self.at + 4 + len],
            protected: self.in_protected,
            offset: self.at,
        };
        self.at += 4 + len;
        Some(tlv)
    }
}

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo; imgtool hashes the whole DER as KEYHASH.
const ED25519_SPKI_PREFIX: [u8; 12] =
    [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// The KEYHASH imgtool and MCUboot compute for an Ed25519 key: SHA-256 of its DER public key.
pub fn key_hash(public_key: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(ED25519_SPKI_PREFIX);
    h.update(public_key);
    h.finalize().into()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    HashMissing,
    HashMismatch,
    KeyHashMissing,
    UnknownKey,
    SignatureMissing,
    BadSignature,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VerifyError::HashMissing => "no SHA256 TLV",
            VerifyError::HashMismatch => "the SHA256 TLV does not match the image",
            VerifyError::KeyHashMissing => "no KEYHASH TLV",
            VerifyError::UnknownKey => "signed with another key (KEYHASH differs)",
            VerifyError::SignatureMissing => "no ED25519 signature TLV",
            VerifyError::BadSignature => "the ED25519 signature does not verify",
        })
    }
}

/// The SHA256 TLV, checked against the signed region.
pub fn check_hash(image: &Image) -> Result<[u8; 32], VerifyError> {
    let tlv = image.tlvs().find(|t| t.kind == tlv::SHA256 && !t.protected).ok_or(VerifyError::HashMissing)?;
    let digest: [u8; 32] = Sha256::digest(image.signed_region()).into();
    if tlv.value != digest {
        return Err(VerifyError::HashMismatch);
    }
    Ok(digest)
}

/// Hash, key hash and the Ed25519 signature over the SHA-256 digest (what imgtool signs for
/// Ed25519 unless told to sign the whole image).
pub fn verify(image: &Image, public_key: &[u8; 32]) -> Result<(), VerifyError> {
    let digest = check_hash(image)?;
    let unprotected = |kind| image.tlvs().find(|t| t.kind == kind && !t.protected);
    let keyhash = unprotected(tlv::KEYHASH).ok_or(VerifyError::KeyHashMissing)?;
    if keyhash.value != key_hash(public_key) {
        return Err(VerifyError::UnknownKey);
    }
    let sig = unprotected(tlv::ED25519).ok_or(VerifyError::SignatureMissing)?;
    let sig = ed25519_dalek::Signature::from_slice(sig.value).map_err(|_| VerifyError::BadSignature)?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(public_key).map_err(|_| VerifyError::UnknownKey)?;
    key.verify_strict(&digest, &sig).map_err(|_| VerifyError::BadSignature)
}

#[cfg(test)]
mod tests;
