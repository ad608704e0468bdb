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
    let bytes = std::fs::read(path).map_err(|e| format!("key {}: {e}", path.display()))?;
    let expected = "expected an Ed25519 private key in PKCS#8 PEM (imgtool keygen -t ed25519)";
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("key {}: {expected}, found binary data", path.display()))?;
    SigningKey::from_pkcs8_pem(text).map_err(|e| format!("key {}: {expected}: {e}", path.display()))
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
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex of `bytes`, as evidence shows them.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
#[derive(Clone, Debug)]
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
    use mcuboot_image::VerifyError;

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
        let names: Vec<_> = all.iter().map(|m| (m.name, m.kind)).collect();
        use MutationKind::*;
        assert_eq!(
            names,
            [
                ("flip-header", Corrupted),
                ("flip-payload", Corrupted),
                ("flip-trailer", Corrupted),
                ("truncate-1", Truncated),
                ("truncate-half", Truncated),
                ("header-only", Truncated),
                ("append", Padded),
                ("strip-signature", Unsigned),
                ("unsigned", Unsigned),
            ]
        );
        for m in all {
            let ok = Image::parse(&m.bytes)
                .map(|i| mcuboot_image::verify(&i, key.verifying_key().as_bytes()).is_ok())
                .unwrap_or(false);
            assert!(!ok, "{} still verifies", m.name);
        }
    }

    #[test]
    fn mutations_change_only_what_they_say() {
        let key = SigningKey::from_bytes(&[4; 32]);
        let bytes = sign(&[0x17; 1000], &opts(), &key);
        let valid = Image::parse(&bytes).unwrap();
        let pk = key.verifying_key().to_bytes();
        let get = |name: &str| mutations(&bytes).unwrap().into_iter().find(|m| m.name == name).unwrap().bytes;
        let differing = |b: &[u8]| b.iter().zip(&bytes).filter(|(x, y)| x != y).count();
        for name in ["flip-header", "flip-payload", "flip-trailer"] {
            assert_eq!(differing(&get(name)), 1, "{name}");
        }
        // flip-header still parses (a signed field changed), flip-payload breaks the hash, and
        // flip-trailer the signature.
        let h = get("flip-header");
        assert_eq!(Image::parse(&h).unwrap().header().version.major, 0);
        let p = get("flip-payload");
        assert_eq!(mcuboot_image::check_hash(&Image::parse(&p).unwrap()), Err(VerifyError::HashMismatch));
        let t = get("flip-trailer");
        assert_eq!(mcuboot_image::verify(&Image::parse(&t).unwrap(), &pk), Err(VerifyError::BadSignature));
        assert_eq!(get("header-only"), &bytes[..0x200]);
        assert_eq!(&get("append")[..bytes.len()], &bytes[..]);
        assert_eq!(get("truncate-half").len(), bytes.len() / 2);
        // Signature stripped: hash and key hash as before, nothing else; the TLV info length fixed.
        let s = get("strip-signature");
        let stripped = Image::parse(&s).unwrap();
        assert_eq!(stripped.signed_region(), valid.signed_region());
        assert_eq!(mcuboot_image::check_hash(&stripped).unwrap(), mcuboot_image::check_hash(&valid).unwrap());
        assert_eq!(stripped.find(tlv::KEYHASH).map(|t| t.value), valid.find(tlv::KEYHASH).map(|t| t.value));
        assert_eq!(mcuboot_image::verify(&stripped, &pk), Err(VerifyError::SignatureMissing));
        let u = get("unsigned");
        let unsigned = Image::parse(&u).unwrap();
        assert!(mcuboot_image::check_hash(&unsigned).is_ok());
        assert_eq!(unsigned.tlvs().filter(|t| !t.protected).count(), 1);
        assert_eq!(mcuboot_image::verify(&unsigned, &pk), Err(VerifyError::KeyHashMissing));
        // Not an image: no variants.
        assert!(mutations(&bytes[..100]).is_err());
    }

    #[test]
    fn sign_without_protected_tlvs_and_with_a_small_header() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let o =
            SignOptions { security_counter: None, model: None, header_size: 8, load_addr: 0x1000, ..opts() };
        let bytes = sign(b"", &o, &key);
        let image = Image::parse(&bytes).unwrap();
        let h = image.header();
        assert_eq!((h.header_size, h.protected_tlv_size, h.payload_size, h.load_addr), (32, 0, 0, 0x1000));
        assert_eq!((image.security_counter(), image.model()), (None, None));
        mcuboot_image::verify(&image, key.verifying_key().as_bytes()).unwrap();
        // Header padding is flash's erased value, as imgtool --pad-header writes it.
        let padded = sign(b"x", &opts(), &key);
        assert!(padded[mcuboot_image::HEADER_LEN..0x200].iter().all(|&b| b == 0xff));
    }

    #[test]
    fn keys_load_from_every_form_and_errors_name_the_file() {
        use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey, EncodePublicKey};
        let dir = std::env::temp_dir().join(format!("hilt-image-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = SigningKey::from_bytes(&[6; 32]);
        let public = key.verifying_key().to_bytes();
        let private_pem = dir.join("k.pem");
        std::fs::write(&private_pem, key.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes()).unwrap();
        let public_pem = dir.join("k.pub.pem");
        std::fs::write(&public_pem, key.verifying_key().to_public_key_pem(LineEnding::LF).unwrap()).unwrap();
        let raw = dir.join("k.pub");
        std::fs::write(&raw, public).unwrap();
        assert_eq!(load_signing_key(&private_pem).unwrap().to_bytes(), key.to_bytes());
        for p in [&private_pem, &public_pem, &raw] {
            assert_eq!(load_public_key(p).unwrap(), public, "{}", p.display());
        }
        // A public key cannot sign; junk and missing files are named.
        let e = load_signing_key(&public_pem).unwrap_err();
        assert!(e.contains("k.pub.pem") && e.contains("PKCS#8"), "{e}");
        let junk = dir.join("junk");
        std::fs::write(&junk, b"hello").unwrap();
        let e = load_public_key(&junk).unwrap_err();
        assert!(e.contains("junk") && e.contains("Ed25519"), "{e}");
        let e = load_signing_key(&dir.join("missing.pem")).unwrap_err();
        assert!(e.contains("missing.pem"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_committed_test_keys_are_imgtool_pkcs8() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/keys");
        let key = load_signing_key(&root.join("refdev-TEST-ONLY-ed25519.pem")).unwrap();
        let raw = std::fs::read(root.join("refdev-TEST-ONLY-ed25519.pub")).unwrap();
        assert_eq!(key.verifying_key().as_bytes(), &raw[..]);
        let foreign = load_signing_key(&root.join("foreign-TEST-ONLY-ed25519.pem")).unwrap();
        assert_ne!(foreign.verifying_key(), key.verifying_key());
    }
}
