extern crate std;

use std::string::ToString;
use std::vec::Vec;

use super::*;
use proptest::prelude::*;

/// A signed image built by hand, as imgtool lays it out: the parser's reference input.
fn build(payload: &[u8], key: &ed25519_dalek::SigningKey, model: &[u8], counter: u32) -> Vec<u8> {
    let mut protected = Vec::new();
    let push_tlv = |area: &mut Vec<u8>, kind: u16, value: &[u8]| {
        area.extend_from_slice(&kind.to_le_bytes());
        area.extend_from_slice(&(value.len() as u16).to_le_bytes());
        area.extend_from_slice(value);
    };
    let mut prot_tlvs = Vec::new();
    push_tlv(&mut prot_tlvs, tlv::SEC_CNT, &counter.to_le_bytes());
    push_tlv(&mut prot_tlvs, tlv::MODEL, model);
    protected.extend_from_slice(&tlv::PROT_INFO_MAGIC.to_le_bytes());
    protected.extend_from_slice(&((prot_tlvs.len() + 4) as u16).to_le_bytes());
    protected.extend_from_slice(&prot_tlvs);
    let header = Header {
        load_addr: 0,
        header_size: 0x200,
        protected_tlv_size: protected.len() as u16,
        payload_size: payload.len() as u32,
        flags: 0,
        version: "1.2.3".parse().unwrap(),
    };
    let mut image = header.to_bytes().to_vec();
    image.resize(0x200, 0);
    image.extend_from_slice(payload);
    image.extend_from_slice(&protected);
    let digest: [u8; 32] = Sha256::digest(&image).into();
    use ed25519_dalek::Signer;
    let sig = key.sign(&digest);
    let mut tlvs = Vec::new();
    push_tlv(&mut tlvs, tlv::SHA256, &digest);
    push_tlv(&mut tlvs, tlv::KEYHASH, &key_hash(key.verifying_key().as_bytes()));
    push_tlv(&mut tlvs, tlv::ED25519, &sig.to_bytes());
    image.extend_from_slice(&tlv::INFO_MAGIC.to_le_bytes());
    image.extend_from_slice(&((tlvs.len() + 4) as u16).to_le_bytes());
    image.extend_from_slice(&tlvs);
    image
}

fn key(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

#[test]
fn a_signed_image_parses_and_verifies() {
    let k = key(7);
    let bytes = build(b"hello firmware", &k, b"refdev-a", 5);
    let image = Image::parse(&bytes).unwrap();
    assert_eq!(image.payload(), b"hello firmware");
    assert_eq!(image.header().version.to_string(), "1.2.3");
    assert_eq!(image.security_counter(), Some(5));
    assert_eq!(image.model(), Some(&b"refdev-a"[..]));
    assert_eq!(image.tlvs().count(), 5);
    assert_eq!(image.tlvs().filter(|t| t.protected).count(), 2);
    verify(&image, k.verifying_key().as_bytes()).unwrap();
    assert_eq!(verify(&image, key(8).verifying_key().as_bytes()), Err(VerifyError::UnknownKey));
}

#[test]
fn every_flipped_byte_fails_parse_or_verify() {
    let k = key(1);
    let bytes = build(&[0x55; 64], &k, b"m", 1);
    for i in 0..bytes.len() {
        // The header's padding and the unused flags are not meaningful to flip past the hash:
        // every byte is covered by the hash or is itself hash, key hash or signature.
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        let ok =
            Image::parse(&b).map(|im| verify(&im, k.verifying_key().as_bytes()).is_ok()).unwrap_or(false);
        assert!(!ok, "flipping byte {i} still verified");
    }
}

#[test]
fn length_errors_are_told_apart() {
    let bytes = build(b"x", &key(2), b"m", 1);
    assert_eq!(
        Image::parse(&bytes[..bytes.len() - 1]).unwrap_err(),
        ParseError::Truncated { needed: bytes.len() }
    );
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0xFF; 16]);
    assert_eq!(Image::parse(&longer).unwrap_err(), ParseError::TrailingBytes { extra: 16 });
    assert_eq!(Image::parse_prefix(&longer).unwrap().len(), bytes.len());
    assert_eq!(Image::parse(&bytes[..0x200]).unwrap_err(), ParseError::Truncated { needed: 0x200 + 1 + 4 });
}

#[test]
fn versions_round_trip_and_order() {
    for text in ["0.0.0", "1.2.3", "255.255.65535+4294967295"] {
        assert_eq!(text.parse::<Version>().unwrap().to_string(), text);
    }
    for bad in ["", "1", "1.2", "1.2.3.4", "256.0.0", "1.2.x", "1.2.3+"] {
        assert!(bad.parse::<Version>().is_err(), "{bad}");
    }
    assert!("1.2.3".parse::<Version>().unwrap() < "1.3.0".parse().unwrap());
}

#[test]
fn huge_sizes_in_the_header_are_errors() {
    let bytes = build(b"abc", &key(4), b"m", 1);
    for (payload_size, hdr_size) in [(u32::MAX, 0x200u16), (u32::MAX - 0x1ff, 0x200), (0xFFFF_FF00, 0xFFFF)] {
        let mut b = bytes.clone();
        b[12..16].copy_from_slice(&payload_size.to_le_bytes());
        b[8..10].copy_from_slice(&hdr_size.to_le_bytes());
        assert!(matches!(
            Image::parse_prefix(&b),
            Err(ParseError::Truncated { .. } | ParseError::BadHeaderSize)
        ));
    }
    let mut b = bytes.clone();
    b[10..12].copy_from_slice(&u16::MAX.to_le_bytes());
    assert!(Image::parse(&b).is_err());
}

#[test]
fn errors_and_versions_read_well() {
    assert_eq!(ParseError::Truncated { needed: 9 }.to_string(), "truncated: the image needs 9 bytes");
    assert_eq!(VerifyError::UnknownKey.to_string(), "signed with another key (KEYHASH differs)");
    let v: Version = "1.2.3+4".parse().unwrap();
    assert_eq!(v, Version { major: 1, minor: 2, revision: 3, build: 4 });
    assert_eq!(v.to_string(), "1.2.3+4");
    assert_eq!("1.2.3+0".parse::<Version>().unwrap().to_string(), "1.2.3");
    assert!(BadVersion.to_string().contains("MAJOR.MINOR.REVISION"));
}

#[test]
fn key_hash_is_sha256_of_the_der_public_key() {
    // imgtool's ed25519 key: get_public_bytes() is the DER SubjectPublicKeyInfo (44 bytes), and
    // KEYHASH is SHA-256 of it.
    let public = [0x11u8; 32];
    let mut der = std::vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    der.extend_from_slice(&public);
    assert_eq!(der.len(), 44);
    assert_eq!(key_hash(&public), <[u8; 32]>::from(Sha256::digest(&der)));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        if let Ok(image) = Image::parse_prefix(&bytes) {
            let _ = image.tlvs().count();
            let _ = verify(&image, &[0; 32]);
        }
    }

    #[test]
    fn mutated_images_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut bytes = build(b"payload", &key(3), b"m", 1);
        for (at, v) in edits {
            let i = at % bytes.len();
            bytes[i] = v;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        if let Ok(image) = Image::parse(&bytes) {
            let _ = image.tlvs().map(|t| t.value.len()).sum::<usize>();
            let _ = image.security_counter();
            let _ = verify(&image, key(3).verifying_key().as_bytes());
        }
    }
}
