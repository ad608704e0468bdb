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
