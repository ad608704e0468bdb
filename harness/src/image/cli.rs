//! `hilt image ...`: make, sign, inspect and mutate MCUboot images from the command line.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use mcuboot_image::{tlv, Image, Version};

use super::{load_public_key, load_signing_key, mutations, sha256_hex, sign, SignOptions};

/// Shown under the help of `hilt image` and of the commands that take a signing key.
pub const KEYS_NOTE: &str = "\
Keys: Ed25519 in PKCS#8 PEM, the format `imgtool keygen -t ed25519` writes. These commands are for
test devices only: hilt signs the images a check sends to a unit on the bench, with a test unit's
key. The keys under fixtures/keys are published test keys for the reference device: never sign a
product with them, and never build a device that trusts them. Sign production images with your
release process, not with hilt.";

/// Shown under `hilt image --help`.
pub const IMAGE_HELP: &str = "\
Images are MCUboot's format (header, payload, TLVs: SHA-256, key hash, Ed25519 signature), the
same bytes `imgtool sign --pad-header` writes, so MCUboot and imgtool accept them.

Examples:
  hilt image keygen -o unit-TEST-ONLY.pem
  hilt image sign --key unit-TEST-ONLY.pem --version 1.2.0 --security-counter 5 --model my-board app.bin -o fw.bin
  hilt image inspect fw.bin --key unit-TEST-ONLY.pem        exit 0 valid, 1 invalid, 2 unreadable
  hilt image mutate fw.bin -o tampered/                     every tampered variant, no key needed

Keys: Ed25519 in PKCS#8 PEM, the format `imgtool keygen -t ed25519` writes. These commands are for
test devices only. The keys under fixtures/keys are published test keys for the reference device:
never sign a product with them, and never build a device that trusts them.";

#[derive(Subcommand)]
pub enum ImageCommand {
    /// Sign a payload (a raw firmware binary) into an MCUboot image, as `imgtool sign --pad-header`.
    #[command(after_help = KEYS_NOTE)]
    Sign {
        /// Private key (PKCS#8 PEM).
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
        /// Image version, MAJOR.MINOR.REVISION[+BUILD].
        #[arg(long, value_parser = parse_version)]
        version: Version,
        /// Security counter for anti-rollback (a protected SEC_CNT TLV).
        #[arg(long, value_name = "N")]
        security_counter: Option<u32>,
        /// The model the image is for (hilt's protected MODEL TLV, 0xa0).
        #[arg(long)]
        model: Option<String>,
        /// Header size, padded with 0xff before the payload (imgtool's --header-size).
        #[arg(long, default_value = "0x200", value_parser = parse_u16)]
        header_size: u16,
        /// The raw firmware binary to put in the image.
        #[arg(value_name = "PAYLOAD")]
        payload: PathBuf,
        /// Where to write the image.
        #[arg(short, long, value_name = "OUT")]
        out: PathBuf,
    },
    /// Show an image's header and TLVs, check its hash, and with --key its signature.
    ///
    /// Exit code 0 when the image is valid (hash, and signature when a key is given), 1 when it
    /// is not, 2 when it cannot be read.
    Inspect {
        /// The image file; it must end where its TLV area ends (trailing bytes make it invalid).
        #[arg(value_name = "IMAGE")]
        image: PathBuf,
        /// Public or private key (PEM) or 32 raw public-key bytes to verify the signature with.
        #[arg(long, value_name = "KEY")]
        key: Option<PathBuf>,
    },
    /// Write every tampered variant of a valid image into DIR, as DIR/<name>.bin.
    ///
    /// No key needed: a lab can test a product with only its own signed image. The variants
    /// (names are stable ids, used in reports): flip-header, flip-payload, flip-trailer (one byte
    /// flipped in the header, the payload, the signature); truncate-1, truncate-half, header-only
    /// (cut short); append (16 bytes after the end); strip-signature (signature removed, hash and
    /// key hash kept); unsigned (only the SHA-256 TLV). A device must refuse every one of them.
    /// Prints one line per variant: name, size, kind, description.
    Mutate {
        /// A valid MCUboot image (it must parse; its signature is not checked).
        #[arg(value_name = "IMAGE")]
        image: PathBuf,
        /// Directory to write the variants into (created if missing).
        #[arg(short, long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Make a new Ed25519 signing key (PKCS#8 PEM), for test units. Refuses to overwrite a file.
    #[command(after_help = KEYS_NOTE)]
    Keygen {
        /// Where to write the key; an existing file is never overwritten.
        #[arg(short, long, value_name = "KEY")]
        out: PathBuf,
    },
}

fn parse_version(s: &str) -> Result<Version, String> {
    s.parse().map_err(|e: mcuboot_image::BadVersion| e.to_string())
}

fn parse_u16(s: &str) -> Result<u16, String> {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u16::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("expected a number up to 65535 (decimal or 0x hex), found {s:?}"))
}

/// Runs one `hilt image` command; returns the exit code.
pub fn run(cmd: ImageCommand) -> i32 {
    match cmd {
        ImageCommand::Sign { key, version, security_counter, model, header_size, payload, out } => {
            let opts = SignOptions {
                version,
                security_counter,
                model: model.map(String::into_bytes),
                header_size,
                load_addr: 0,
            };
            or_usage(sign_file(&key, &payload, &opts, &out))
        }
        ImageCommand::Inspect { image, key } => inspect(&image, key.as_deref()),
        ImageCommand::Mutate { image, out } => or_usage(mutate(&image, &out)),
        ImageCommand::Keygen { out } => or_usage(keygen(&out)),
    }
}

fn or_usage(r: Result<(), String>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("hilt image: {e}");
            2
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

fn sign_file(key: &Path, payload: &Path, opts: &SignOptions, out: &Path) -> Result<(), String> {
    let key = load_signing_key(key)?;
    let image = sign(&read(payload)?, opts, &key);
    write(out, &image)?;
    println!(
        "{}: {} bytes, version {}, sha256 {}",
        out.display(),
        image.len(),
        opts.version,
        sha256_hex(&image)
    );
    Ok(())
}

fn inspect(path: &Path, key: Option<&Path>) -> i32 {
    let bytes = match read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("hilt image: {e}");
            return 2;
        }
    };
    println!("{}: {} bytes, sha256 {}", path.display(), bytes.len(), sha256_hex(&bytes));
    let image = match Image::parse(&bytes) {
        Ok(i) => i,
        Err(e) => {
            println!("INVALID: {e}");
            return 1;
        }
    };
    let h = image.header();
    println!(
        "header: version {}, header size 0x{:x}, payload {} bytes, protected TLVs {} bytes, load address 0x{:x}, flags 0x{:x}",
        h.version, h.header_size, h.payload_size, h.protected_tlv_size, h.load_addr, h.flags
    );
    for t in image.tlvs() {
        let area = if t.protected { "protected" } else { "unprotected" };
        let shown: String = if t.kind == tlv::MODEL {
            format!("{:?}", String::from_utf8_lossy(t.value))
        } else {
            t.value.iter().map(|b| format!("{b:02x}")).collect()
        };
        println!(
            "  TLV 0x{:02x} {:<12} {area:<11} {:>3} bytes  {shown}",
            t.kind,
            tlv::name(t.kind),
            t.value.len()
        );
    }
    let verdict = match key {
        None => mcuboot_image::check_hash(&image).map(|_| "hash matches (no --key: signature not checked)"),
        Some(k) => match load_public_key(k) {
            Ok(pk) => mcuboot_image::verify(&image, &pk).map(|_| "hash matches, signature valid for the key"),
            Err(e) => {
                eprintln!("hilt image: {e}");
                return 2;
            }
        },
    };
    match verdict {
        Ok(text) => {
            println!("VALID: {text}");
            0
        }
        Err(e) => {
            println!("INVALID: {e}");
            1
        }
    }
}

fn mutate(path: &Path, dir: &Path) -> Result<(), String> {
    let bytes = read(path)?;
    let all = mutations(&bytes).map_err(|e| format!("{}: not a valid MCUboot image: {e}", path.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for m in all {
        let out = dir.join(format!("{}.bin", m.name));
        write(&out, &m.bytes)?;
        println!("{:<16} {:>6} bytes  {:?}  {}", m.name, m.bytes.len(), m.kind, m.description);
    }
    Ok(())
}

fn keygen(out: &Path) -> Result<(), String> {
    use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, EncodePrivateKey};
    if out.exists() {
        return Err(format!("{} exists; not overwriting a key", out.display()));
    }
    let key = super::random_signing_key();
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| format!("cannot encode the key: {e}"))?;
    write(out, pem.as_bytes())?;
    println!("{}: new Ed25519 key (PKCS#8 PEM)", out.display());
    Ok(())
}
