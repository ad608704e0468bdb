//! `hilt image ...` as a user runs it: sign, inspect, mutate, keygen, and the committed test keys
//! and factory image (fixtures/keys, fixtures/images) that the reference device is built with.

mod common;

use std::path::Path;

use common::{hilt, out_dir, repo_root};
use mcuboot_image::{verify, Image};

const KEY: &str = "fixtures/keys/refdev-TEST-ONLY-ed25519.pem";
const PUB: &str = "fixtures/keys/refdev-TEST-ONLY-ed25519.pub";
const FOREIGN: &str = "fixtures/keys/foreign-TEST-ONLY-ed25519.pem";
const PAYLOAD: &str = "fixtures/images/refdev-a-payload.bin";
const FACTORY: &str = "fixtures/images/refdev-a-1.0.0.bin";

/// `hilt ARGS`: exit code, stdout, stderr.
fn run(args: &[&str]) -> (i32, String, String) {
    let (code, out) = hilt(args, &[]);
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// What the first command in fixtures/images/README.md makes.
fn readme_payload() -> Vec<u8> {
    let mut p = b"refdev-a application 1.0.0\n".to_vec();
    for i in 1..=87 {
        p.extend_from_slice(format!("refdev-a application filler {i:06}\n").as_bytes());
    }
    p
}

#[test]
fn the_committed_payload_is_what_the_readme_command_makes() {
    assert_eq!(
        read(PAYLOAD),
        readme_payload(),
        "regenerate it with the command in fixtures/images/README.md"
    );
    let readme = std::fs::read_to_string(repo_root().join("fixtures/images/README.md")).unwrap();
    assert!(readme.contains("seq -f 'refdev-a application filler %06g' 1 87"), "README and test disagree");
}

#[test]
fn re_signing_the_committed_payload_gives_the_committed_factory_image() {
    let dir = out_dir("image-factory");
    let out = s(&dir.join("factory.bin"));
    let (code, stdout, stderr) = run(&[
        "image",
        "sign",
        "--key",
        KEY,
        "--version",
        "1.0.0",
        "--security-counter",
        "1",
        "--model",
        "refdev-a",
        PAYLOAD,
        "-o",
        &out,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("version 1.0.0"), "{stdout}");
    let made = std::fs::read(&out).unwrap();
    let committed = read(FACTORY);
    assert!(
        made == committed,
        "re-signed image differs from {FACTORY} (first difference at {:?}); see fixtures/images/README.md",
        made.iter().zip(&committed).position(|(a, b)| a != b)
    );
    let image = Image::parse(&committed).unwrap();
    let h = image.header();
    assert_eq!((h.version.to_string().as_str(), h.header_size, h.load_addr), ("1.0.0", 0x200, 0));
    assert_eq!(image.security_counter(), Some(1));
    assert_eq!(image.model(), Some(&b"refdev-a"[..]));
    assert!(image.payload().starts_with(b"refdev-a application 1.0.0\n"));
}

#[test]
fn the_test_keys_belong_together() {
    let public: [u8; 32] = read(PUB).try_into().expect("the .pub file is 32 raw bytes");
    let factory = read(FACTORY);
    let image = Image::parse(&factory).unwrap();
    verify(&image, &public).unwrap();
    let foreign = hilt::image::load_public_key(&repo_root().join(FOREIGN)).unwrap();
    assert_ne!(foreign, public);
    assert_eq!(verify(&image, &foreign), Err(mcuboot_image::VerifyError::UnknownKey));
    let readme = std::fs::read_to_string(repo_root().join("fixtures/keys/README.md")).unwrap();
    assert!(readme.contains("never for products"), "{readme}");
}

#[test]
fn inspect_shows_the_image_and_its_verdict() {
    // Every form of the key: private PEM, raw public bytes.
    for key in [KEY, PUB] {
        let (code, stdout, _) = run(&["image", "inspect", FACTORY, "--key", key]);
        assert_eq!(code, 0, "{stdout}");
        for want in [
            "version 1.0.0",
            "header size 0x200",
            "payload 3072 bytes",
            "SEC_CNT",
            "01000000",
            "\"refdev-a\"",
            "SHA256",
            "KEYHASH",
            "ED25519",
            "VALID: hash matches, signature valid",
        ] {
            assert!(stdout.contains(want), "{want:?} missing from:\n{stdout}");
        }
    }
    // Without a key: the hash only.
    let (code, stdout, _) = run(&["image", "inspect", FACTORY]);
    assert_eq!(code, 0);
    assert!(stdout.contains("signature not checked"), "{stdout}");
    // Another signer's key: invalid, exit 1.
    let (code, stdout, _) = run(&["image", "inspect", FACTORY, "--key", FOREIGN]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("INVALID: signed with another key"), "{stdout}");
}

#[test]
fn inspect_tells_invalid_from_unusable() {
    let dir = out_dir("image-inspect-bad");
    // Not an image at all: invalid (1), the reason said.
    let junk = dir.join("junk.bin");
    std::fs::write(&junk, b"not an image").unwrap();
    let (code, stdout, _) = run(&["image", "inspect", &s(&junk)]);
    assert_eq!(code, 1);
    assert!(stdout.contains("INVALID: shorter than the 32-byte MCUboot header"), "{stdout}");
    // A file that is not there, a key that is not a key: usage (2), the file named.
    let (code, _, stderr) = run(&["image", "inspect", &s(&dir.join("missing.bin"))]);
    assert_eq!(code, 2);
    assert!(stderr.contains("missing.bin"), "{stderr}");
    let (code, _, stderr) = run(&["image", "inspect", FACTORY, "--key", PAYLOAD]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("refdev-a-payload.bin") && stderr.contains("expected an Ed25519 key"),
        "{stderr}"
    );
    // No image argument: clap's usage error.
    let (code, _, _) = run(&["image", "inspect"]);
    assert_eq!(code, 2);
}

#[test]
fn mutate_writes_every_variant_and_none_verifies() {
    let dir = out_dir("image-mutate");
    let out = dir.join("tampered");
    let (code, stdout, stderr) = run(&["image", "mutate", FACTORY, "-o", &s(&out)]);
    assert_eq!(code, 0, "{stderr}");
    let names = [
        "flip-header",
        "flip-payload",
        "flip-trailer",
        "truncate-1",
        "truncate-half",
        "header-only",
        "append",
        "strip-signature",
        "unsigned",
    ];
    assert_eq!(stdout.lines().count(), names.len(), "{stdout}");
    let factory_len = read(FACTORY).len();
    for name in names {
        let line = stdout.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name}: {stdout}"));
        let file = out.join(format!("{name}.bin"));
        let len = std::fs::metadata(&file).unwrap().len() as usize;
        assert!(line.contains(&format!("{len} bytes")), "{line}");
        let (code, shown, _) = run(&["image", "inspect", &s(&file), "--key", PUB]);
        assert_eq!(code, 1, "{name} still valid:\n{shown}");
        match name {
            "truncate-1" => assert_eq!(len, factory_len - 1),
            "header-only" => assert_eq!(len, 0x200),
            "append" => assert_eq!(len, factory_len + 16),
            _ => {}
        }
    }
    // Only the signature is gone: the hash still matches without a key.
    let (code, _, _) = run(&["image", "inspect", &s(&out.join("strip-signature.bin"))]);
    assert_eq!(code, 0);
    // A file that is not a valid image has no variants.
    let (code, _, stderr) = run(&["image", "mutate", PAYLOAD, "-o", &s(&dir.join("none"))]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a valid MCUboot image"), "{stderr}");
}

#[test]
fn keygen_makes_a_key_that_signs_and_never_overwrites() {
    let dir = out_dir("image-keygen");
    let key = s(&dir.join("unit.pem"));
    let (code, _, stderr) = run(&["image", "keygen", "-o", &key]);
    assert_eq!(code, 0, "{stderr}");
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
    let (code, _, stderr) = run(&["image", "keygen", "-o", &key]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not overwriting"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), pem);

    let image = s(&dir.join("signed.bin"));
    let (code, _, stderr) = run(&[
        "image",
        "sign",
        "--key",
        &key,
        "--version",
        "2.1.0+7",
        "--header-size",
        "64",
        PAYLOAD,
        "-o",
        &image,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, _) = run(&["image", "inspect", &image, "--key", &key]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("version 2.1.0+7") && stdout.contains("header size 0x40"), "{stdout}");
    let (code, _, _) = run(&["image", "inspect", &image, "--key", PUB]);
    assert_eq!(code, 1);
}

#[test]
fn sign_refuses_bad_options() {
    let dir = out_dir("image-sign-bad");
    let out = s(&dir.join("x.bin"));
    let (code, _, stderr) = run(&["image", "sign", "--key", KEY, "--version", "1.2", PAYLOAD, "-o", &out]);
    assert_eq!(code, 2);
    assert!(stderr.contains("MAJOR.MINOR.REVISION"), "{stderr}");
    let (code, _, stderr) = run(&[
        "image",
        "sign",
        "--key",
        KEY,
        "--version",
        "1.2.0",
        "--header-size",
        "0x1g",
        PAYLOAD,
        "-o",
        &out,
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("0x1g"), "{stderr}");
    let (code, _, stderr) = run(&["image", "sign", "--key", PUB, "--version", "1.2.0", PAYLOAD, "-o", &out]);
    assert_eq!(code, 2);
    assert!(stderr.contains("refdev-TEST-ONLY-ed25519.pub") && stderr.contains("PKCS#8"), "{stderr}");
    assert!(!Path::new(&out).exists());
}

#[test]
fn help_says_the_keys_are_for_test_devices_only() {
    for sub in [&["image", "--help"][..], &["image", "sign", "--help"], &["image", "keygen", "--help"]] {
        let (code, stdout, _) = run(sub);
        assert_eq!(code, 0);
        let stdout = stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(stdout.contains("test"), "{sub:?}:\n{stdout}");
        assert!(stdout.contains("never sign a product"), "{sub:?}:\n{stdout}");
    }
    let (_, stdout, _) = run(&["image", "mutate", "--help"]);
    assert!(stdout.contains("No key needed"), "{stdout}");
}
