//! MCUboot images on the harness side: signing with a test unit's key, and tampered variants
//! derived from one valid image (which needs no key). Parsing and verification live in the
//! `mcuboot-image` crate, shared with the reference device.

pub mod cli;

use std::path::Path;

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ed25519_dalek::{Signer, SigningKey};
use mcuboot_image::{tlv, Header, Image, ParseError, Version};
use sha2::{Digest, Sha256};

/// Reads an Ed25519 private key in PKCS#8 PEM, as `imgtool keygen -t ed25519` writes it.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("key {}: {e}", path.display()))?;
    SigningKey::from_pkcs8_pem(&text).map_err(|e| {
        format!(
            "key {}: expected an Ed25519 private key in PKCS#8 PEM (imgtool keygen -t ed25519): {e}",
            path.display()
        )
    })
}

/// A public key from a private key PEM, a public key PEM (SubjectPublicKeyInfo) or 32 raw bytes.
pub fn load_public_key(path: &Path) -> Result<[u8; 32], String> {
    let bytes = std::fs::read(path).map_err(|e| format!("key {}: {e}", path.display()))?;
    if let Ok(raw) = <[u8; 32]>::try_from(bytes.as_slice()) {
        return Ok(raw);
    }
    let text = String::from_utf8_lossy(&bytes);
    if let Ok(k) = SigningKey::from_pkcs8_pem(&text) {
        return Ok(k.verifying_key().to_bytes());
    }
    ed25519_dalek::VerifyingKey::from_public_key_pem(&text).map(|k| k.to_bytes()).map_err(|_| {
        format!("key {}: expected an Ed25519 key: PKCS#8 or public-key PEM, or 32 raw bytes", path.display())
    })
}

/// A key nobody else has: for "signed by someone else" images.
pub fn random_signing_key() -> SigningKey {
    let mut seed = [0u8; 32];
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .expect("/dev/urandom is readable");
    SigningKey::from_bytes(&seed)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// What goes into a signed image besides its payload.
#[derive(Clone, Debug)]
pub struct SignOptions {
    pub version: Version,
    pub security_counter: Option<u32>,
    pub model: Option<Vec<u8>>,
    pub header_size: u16,
    pub load_addr: u32,
}

fn push_tlv(area: &mut Vec<u8>, kind: u16, value: &[u8]) {
    area.extend_from_slice(&kind.to_le_bytes());
    area.extend_from_slice(&(value.len() as u16).to_le_bytes());
    area.extend_from_slice(value);
}

fn tlv_area(magic: u16, tlvs: &[u8]) -> Vec<u8> {
    let mut area = magic.to_le_bytes().to_vec();
    area.extend_from_slice(&((tlvs.len() + 4) as u16).to_le_bytes());
    area.extend_from_slice(tlvs);
    area
}

/// Signs `payload` as imgtool does with `--pad-header`: header padded with 0xff to
/// `header_size`, payload, protected TLVs (security counter, model), then SHA256, KEYHASH and
/// the Ed25519 signature of the SHA-256 digest.
pub fn sign(payload: &[u8], opts: &SignOptions, key: &SigningKey) -> Vec<u8> {
    let mut protected = Vec::new();
    if let Some(counter) = opts.security_counter {
        push_tlv(&mut protected, tlv::SEC_CNT, &counter.to_le_bytes());
    }
    if let Some(model) = &opts.model {
        push_tlv(&mut protected, tlv::MODEL, model);
    }
    let protected =
        if protected.is_empty() { Vec::new() } else { tlv_area(tlv::PROT_INFO_MAGIC, &protected) };
    let header = Header {
        load_addr: opts.load_addr,
        header_size: opts.header_size.max(mcuboot_image::HEADER_LEN as u16),
        protected_tlv_size: protected.len() as u16,
        payload_size: payload.len() as u32,
        flags: 0,
        version: opts.version,
    };
    let mut image = header.to_bytes().to_vec();
    // imgtool pads with the erased value of flash, 0xff.
    image.resize(header.header_size as usize, 0xFF);
    image.extend_from_slice(payload);
    image.extend_from_slice(&protected);
    let digest: [u8; 32] = Sha256::digest(&image).into();
    let mut tlvs = Vec::new();
    push_tlv(&mut tlvs, tlv::SHA256, &digest);
    push_tlv(&mut tlvs, tlv::KEYHASH, &mcuboot_image::key_hash(key.verifying_key().as_bytes()));
    push_tlv(&mut tlvs, tlv::ED25519, &key.sign(&digest).to_bytes());
    image.extend_from_slice(&tlv_area(tlv::INFO_MAGIC, &tlvs));
    image
}

/// The same image (payload, version, counter, model, header size) signed with another key.
pub fn resign(bytes: &[u8], key: &SigningKey) -> Result<Vec<u8>, ParseError> {
    let image = Image::parse(bytes)?;
    let h = image.header();
    let opts = SignOptions {
        version: h.version,
        security_counter: image.security_counter(),
        model: image.model().map(<[u8]>::to_vec),
        header_size: h.header_size,
        load_addr: h.load_addr,
    };
    Ok(sign(image.payload(), &opts, key))
}

/// Which requirement a tampered image tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MutationKind {
    /// One byte flipped: the hash or the signature no longer matches.
    Corrupted,
    /// Cut short.
    Truncated,
    /// Bytes after the image's end.
    Padded,
    /// Hash kept, signature (and key hash) removed.
    Unsigned,
}

/// A tampered image derived from a valid one.
pub struct Mutation {
    /// A stable id for reports and file names.
    pub name: &'static str,
    pub kind: MutationKind,
    pub description: String,
    pub bytes: Vec<u8>,
}

/// Every tampered variant of the valid image `bytes`. Needs no key.
pub fn mutations(bytes: &[u8]) -> Result<Vec<Mutation>, ParseError> {
    let image = Image::parse(bytes)?;
    let h = image.header();
    let payload_start = h.header_size as usize;
    let flipped = |at: usize| {
        let mut b = bytes.to_vec();
        b[at] ^= 0x01;
        b
    };
    let m = |name, kind, description: String, bytes| Mutation { name, kind, description, bytes };
    let mut out = vec![
        // Byte 20 is the major version: a tampered header that still parses.
        m(
            "flip-header",
            MutationKind::Corrupted,
            "version byte of the header flipped (offset 20)".into(),
            flipped(20),
        ),
        m(
            "flip-payload",
            MutationKind::Corrupted,
            format!("middle payload byte flipped (offset {})", payload_start + image.payload().len() / 2),
            flipped(payload_start + image.payload().len() / 2),
        ),
        m(
            "flip-trailer",
            MutationKind::Corrupted,
            format!("last byte flipped, inside the signature (offset {})", bytes.len() - 1),
            flipped(bytes.len() - 1),
        ),
        m(
            "truncate-1",
            MutationKind::Truncated,
            "last byte cut off".into(),
            bytes[..bytes.len() - 1].to_vec(),
        ),
        m(
            "truncate-half",
            MutationKind::Truncated,
            format!("cut to half, {} bytes", bytes.len() / 2),
            bytes[..bytes.len() / 2].to_vec(),
        ),
        m(
            "header-only",
            MutationKind::Truncated,
            format!("only the {payload_start}-byte header"),
            bytes[..payload_start].to_vec(),
        ),
        m("append", MutationKind::Padded, "16 bytes appended".into(), [bytes, &[0xA5; 16][..]].concat()),
    ];
    // Rebuild the unprotected area from the hash alone (and with the key hash, without signature).
    let signed = image.signed_region();
    let hash = image.tlvs().find(|t| t.kind == tlv::SHA256 && !t.protected).map(|t| t.value.to_vec());
    let keyhash = image.tlvs().find(|t| t.kind == tlv::KEYHASH && !t.protected).map(|t| t.value.to_vec());
    if let Some(hash) = hash {
        let mut only_hash = Vec::new();
        push_tlv(&mut only_hash, tlv::SHA256, &hash);
        let mut no_sig = only_hash.clone();
        if let Some(kh) = keyhash {
            push_tlv(&mut no_sig, tlv::KEYHASH, &kh);
        }
        let with = |tlvs: &[u8]| [signed, &tlv_area(tlv::INFO_MAGIC, tlvs)].concat();
        out.push(m(
            "strip-signature",
            MutationKind::Unsigned,
            "signature TLV removed, hash and key hash kept".into(),
            with(&no_sig),
        ));
        out.push(m(
            "unsigned",
            MutationKind::Unsigned,
            "only the SHA-256 TLV: no key hash, no signature".into(),
            with(&only_hash),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> SignOptions {
        SignOptions {
            version: "1.2.3".parse().unwrap(),
            security_counter: Some(7),
            model: Some(b"refdev-a".to_vec()),
            header_size: 0x200,
            load_addr: 0,
        }
    }

    #[test]
    fn signed_images_verify_and_resigned_ones_do_not() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let bytes = sign(b"firmware", &opts(), &key);
        let image = Image::parse(&bytes).unwrap();
        mcuboot_image::verify(&image, key.verifying_key().as_bytes()).unwrap();
        assert_eq!(image.security_counter(), Some(7));
        let other = resign(&bytes, &random_signing_key()).unwrap();
        let other = Image::parse(&other).unwrap();
        assert_eq!(other.payload(), b"firmware");
        assert!(mcuboot_image::verify(&other, key.verifying_key().as_bytes()).is_err());
    }

    #[test]
    fn every_mutation_fails_verification() {
        let key = SigningKey::from_bytes(&[3; 32]);
        let bytes = sign(&[0x42; 3000], &opts(), &key);
        let all = mutations(&bytes).unwrap();
        assert_eq!(all.len(), 9);
        for m in all {
            let ok = Image::parse(&m.bytes)
                .map(|i| mcuboot_image::verify(&i, key.verifying_key().as_bytes()).is_ok())
                .unwrap_or(false);
            assert!(!ok, "{} still verifies", m.name);
        }
    }
}
