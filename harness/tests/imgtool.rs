//! Cross-check with imgtool, MCUboot's own image tool (PyPI): an independent implementation of
//! the image format. hilt's images must verify with it, its images with hilt and the reference
//! device, and the same inputs must give byte-identical images.
//!
//! `ci/imgtool.sh` installs imgtool into a venv; CI sets HILT_IMGTOOL to it and
//! HILT_REQUIRE_IMGTOOL=1, so the cross-check cannot be skipped there.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{hilt, out_dir, repo_root};

const KEY: &str = "fixtures/keys/refdev-TEST-ONLY-ed25519.pem";
const PAYLOAD: &str = "fixtures/images/refdev-a-payload.bin";

fn imgtool() -> Option<PathBuf> {
    let path = std::env::var("HILT_IMGTOOL")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo_root().join("target/tools/imgtool-venv/bin/imgtool"));
    if path.exists() {
        return Some(path);
    }
    let required = std::env::var("HILT_REQUIRE_IMGTOOL").is_ok_and(|v| v == "1");
    assert!(!required, "imgtool not found at {} (run ci/imgtool.sh)", path.display());
    eprintln!("imgtool not found at {}: cross-check skipped (ci/imgtool.sh installs it)", path.display());
    None
}

/// imgtool with `args`, from the repository root; panics with its output when it fails.
fn run_imgtool(tool: &PathBuf, args: &[&str]) -> String {
    let out = Command::new(tool).current_dir(repo_root()).args(args).output().expect("imgtool runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "imgtool {args:?} failed:\n{text}");
    text
}

fn imgtool_sign(tool: &PathBuf, version: &str, out: &str) {
    let model_hex = format!("0x{}", b"refdev-a".iter().map(|b| format!("{b:02x}")).collect::<String>());
    run_imgtool(
        tool,
        &[
            "sign",
            "-k",
            KEY,
            "--header-size",
            "0x200",
            "--pad-header",
            "--slot-size",
            "0x4000",
            "--version",
            version,
            "--security-counter",
            "1",
            "--custom-tlv",
            "0xa0",
            &model_hex,
            PAYLOAD,
            out,
        ],
    );
}

/// `hilt image sign` of the test payload for model refdev-a.
fn hilt_sign(version: &str, counter: &str, out: &str) {
    let args = ["image", "sign", "--key", KEY, "--version", version, "--security-counter", counter];
    let (code, output) = hilt(&[&args[..], &["--model", "refdev-a", PAYLOAD, "-o", out]].concat(), &[]);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn imgtool_and_hilt_make_the_same_image() {
    let Some(tool) = imgtool() else { return };
    let dir = out_dir("imgtool-same");
    let theirs = dir.join("imgtool.bin").display().to_string();
    let ours = dir.join("hilt.bin").display().to_string();
    imgtool_sign(&tool, "1.0.0", &theirs);
    hilt_sign("1.0.0", "1", &ours);
    let (a, b) = (std::fs::read(&theirs).unwrap(), std::fs::read(&ours).unwrap());
    assert!(
        a == b,
        "imgtool and hilt images differ (first difference at byte {:?})",
        a.iter().zip(&b).position(|(x, y)| x != y)
    );
    // And the reference device's factory image is exactly that image, reproducibly.
    assert_eq!(std::fs::read(repo_root().join("fixtures/images/refdev-a-1.0.0.bin")).unwrap(), a);
}

#[test]
fn mcuboot_image_parses_and_verifies_what_imgtool_signs() {
    let Some(tool) = imgtool() else { return };
    let dir = out_dir("imgtool-parse");
    let theirs = dir.join("imgtool-3.1.4.bin");
    imgtool_sign(&tool, "3.1.4+15", &theirs.display().to_string());
    let bytes = std::fs::read(&theirs).unwrap();
    let image = mcuboot_image::Image::parse(&bytes).expect("imgtool's image parses");
    let h = image.header();
    assert_eq!(h.version, "3.1.4+15".parse().unwrap());
    assert_eq!((h.header_size, h.load_addr, h.flags), (0x200, 0, 0));
    assert_eq!(image.security_counter(), Some(1));
    assert_eq!(image.model(), Some(&b"refdev-a"[..]));
    assert_eq!(image.payload(), std::fs::read(repo_root().join(PAYLOAD)).unwrap());
    let public: [u8; 32] = std::fs::read(repo_root().join("fixtures/keys/refdev-TEST-ONLY-ed25519.pub"))
        .unwrap()
        .try_into()
        .unwrap();
    // KEYHASH is imgtool's SHA-256 of the DER SubjectPublicKeyInfo; the signature is over the digest.
    assert_eq!(image.find(mcuboot_image::tlv::KEYHASH).unwrap().value, mcuboot_image::key_hash(&public));
    mcuboot_image::verify(&image, &public).expect("imgtool's image verifies");
    let foreign =
        hilt::image::load_public_key(&repo_root().join("fixtures/keys/foreign-TEST-ONLY-ed25519.pem"))
            .unwrap();
    assert_eq!(mcuboot_image::verify(&image, &foreign), Err(mcuboot_image::VerifyError::UnknownKey));
}

#[test]
fn imgtool_verifies_hilt_images_and_rejects_their_mutations() {
    let Some(tool) = imgtool() else { return };
    let dir = out_dir("imgtool-verify");
    let ours = dir.join("hilt.bin").display().to_string();
    hilt_sign("2.3.4", "9", &ours);
    let text = run_imgtool(&tool, &["verify", "-k", KEY, &ours]);
    assert!(text.contains("Image was correctly validated"), "{text}");
    let mutated = dir.join("mutated");
    let (code, _) = hilt(&["image", "mutate", &ours, "-o", &mutated.display().to_string()], &[]);
    assert_eq!(code, 0);
    for entry in std::fs::read_dir(&mutated).unwrap() {
        let path = entry.unwrap().path();
        // imgtool reads an image out of a slot-sized file, so bytes after the image are none of
        // its business; the device (SU-03) is where appended bytes must be refused.
        if path.ends_with("append.bin") {
            continue;
        }
        let out = Command::new(&tool)
            .args(["verify", "-k"])
            .arg(repo_root().join(KEY))
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.contains("Image was correctly validated"),
            "imgtool accepted {}: {text}",
            path.display()
        );
    }
}

#[test]
fn the_reference_device_installs_an_image_imgtool_signed() {
    let Some(tool) = imgtool() else { return };
    let dir = out_dir("imgtool-device");
    let image = dir.join("imgtool-9.0.0.bin").display().to_string();
    imgtool_sign(&tool, "9.0.0", &image);
    let (code, out) = hilt(&["image", "inspect", &image, "--key", KEY], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("version 9.0.0") && text.contains("\"refdev-a\""), "{text}");
    // A target that declares this image as the one to install: SU-01 pushes it to the device.
    let target = std::fs::read_to_string(repo_root().join("targets/refdev.yaml")).unwrap().replace(
        "signing-key: ../fixtures/keys/refdev-TEST-ONLY-ed25519.pem",
        &format!("images: {{ newer: {image} }}"),
    );
    let target_file = dir.join("refdev-imgtool.yaml");
    std::fs::write(&target_file, target).unwrap();
    let r = common::run_with(
        "imgtool-device-run",
        &[],
        &["--target", &target_file.display().to_string(), "--suite", "software-update", "SU-01"],
    );
    assert_eq!(r.code, 0, "{}", r.explain());
    assert!(r.message("SU-01").contains("-> 9.0.0"), "{}", r.message("SU-01"));
}
