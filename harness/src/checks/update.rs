//! Software update integrity (NIST IR 8259A SU.1-SU.4; NIST IR 8425 5a; ETSI EN 303 645 5.3, 5.7;
//! TS 103 701 5.3-2-2, 5.3-9-1, 5.3-10-1). Images are MCUboot images. Every tampered image is
//! derived from one valid image, so a lab can test a product with only its own signed image; a
//! test unit that declares its signing key gets fresh images for every version a check needs.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use mcuboot_image::{Image, Version};

use super::{CheckDef, Conclusion, Context, ParamDef, ENGINEERING_UNIT};
use crate::config::SoftwareUpdateCap;
use crate::device::{CutRun, DeviceError, Dut, State};
use crate::image::{self, MutationKind, SignOptions};
use crate::transport::debug::DebugError;

pub static CHECKS: [CheckDef; 9] = [
    CheckDef {
        id: "SU-01",
        title: "a valid newer image installs and the new version runs",
        needs: &["software-update"],
        state: State::Initialized,
        params: &[],
        run: valid_image_installs,
    },
    CheckDef {
        id: "SU-02",
        title: "images with a flipped byte in header, payload or trailer are rejected",
        needs: &["software-update"],
        state: State::Initialized,
        params: &[],
        run: |ctx| rejects_mutations(ctx, &[MutationKind::Corrupted]),
    },
    CheckDef {
        id: "SU-03",
        title: "truncated and padded images are rejected",
        needs: &["software-update"],
        state: State::Initialized,
        params: &[],
        run: |ctx| rejects_mutations(ctx, &[MutationKind::Truncated, MutationKind::Padded]),
    },
    CheckDef {
        id: "SU-04",
        title: "unsigned, signature-stripped and foreign-key images are rejected",
        needs: &["software-update"],
        state: State::Initialized,
        params: &[],
        run: rejects_unsigned,
    },
    CheckDef {
        id: "SU-05",
        title: "a validly signed image for another model is rejected",
        needs: &["software-update"],
        state: State::Initialized,
        params: &[],
        run: rejects_other_model,
    },
    CheckDef {
        id: "SU-06",
        title: "a validly signed older image is rejected (anti-rollback)",
        needs: &["software-update"],
        state: State::Initialized,
        params: &[],
        run: rejects_downgrade,
    },
    CheckDef {
        id: "SU-07",
        title: "power cuts during transfer, swap and first boot never brick; a retry succeeds",
        needs: &["software-update"],
        state: State::Initialized,
        params: &[
            ParamDef { name: "trials", default: "20", help: "power cuts, spread over the phases in turn" },
            ParamDef {
                name: "seed",
                default: "8259",
                help: "seeds the cut instants, so a run can be repeated",
            },
        ],
        run: power_cuts,
    },
    CheckDef {
        id: "SU-09",
        title: "an update without authentication is refused",
        needs: &["software-update"],
        state: State::Initialized,
        params: &[],
        run: needs_authentication,
    },
    CheckDef {
        id: "SU-12",
        title: "an image changed in flash through the debug port does not run",
        needs: &["software-update", ENGINEERING_UNIT],
        state: State::Initialized,
        params: &[],
        run: tampered_resident_image_refused,
    },
];

/// The declaration, the running version, and where images are written.
pub(super) struct Updater {
    cap: SoftwareUpdateCap,
    /// The target file's folder: relative image and key paths are relative to it.
    base: PathBuf,
    dir: PathBuf,
}

/// An image on disk, ready to push.
pub(super) struct ImageFile {
    path: PathBuf,
    pub(super) version: Version,
    /// What the image is, for messages.
    label: String,
}

impl Updater {
    pub(super) fn new(dut: &Dut) -> Result<Updater, DeviceError> {
        let cap = dut
            .target()
            .capabilities
            .software_update
            .clone()
            .ok_or_else(|| DeviceError::Config("software-update is not declared".into()))?;
        let base = dut.target().file.parent().map(PathBuf::from).unwrap_or_default();
        let dir = dut.state_dir().join("images");
        std::fs::create_dir_all(&dir)
            .map_err(|e| DeviceError::Config(format!("cannot create {}: {e}", dir.display())))?;
        Ok(Updater { cap, base, dir })
    }

    pub(super) fn key(&self) -> Result<Option<ed25519_dalek::SigningKey>, DeviceError> {
        self.cap
            .signing_key
            .as_ref()
            .map(|k| image::load_signing_key(&self.base.join(k)).map_err(DeviceError::Config))
            .transpose()
    }

    /// Writes `bytes` as `name`, notes its digest in the transcript, and describes it.
    fn save(&self, dut: &mut Dut, name: &str, bytes: &[u8], label: String) -> Result<ImageFile, DeviceError> {
        let path = self.dir.join(format!("{name}.bin"));
        std::fs::write(&path, bytes)
            .map_err(|e| DeviceError::Config(format!("cannot write {}: {e}", path.display())))?;
        let version = mcuboot_image::Header::parse(bytes)
            .map_or(Version { major: 0, minor: 0, revision: 0, build: 0 }, |h| h.version);
        dut.note(format!(
            "image {name}: {} bytes, sha256 {}, {label}",
            bytes.len(),
            image::sha256_hex(bytes)
        ));
        Ok(ImageFile { path, version, label })
    }

    /// A valid image newer than `running`: signed here with the test key, or the declared one.
    pub(super) fn newer(&self, dut: &mut Dut, running: Version) -> Result<ImageFile, DeviceError> {
        match self.key()? {
            Some(key) => {
                let version = next_version(running);
                let bytes = self.sign(version, Some(ordinal(version)), &self.cap.model, &key);
                self.save(dut, "newer", &bytes, format!("valid, version {version}"))
            }
            None => {
                let declared = self.declared(|i| Some(i.newer.clone()), "newer")?;
                self.load(dut, "newer", &declared, "valid, as declared".into())
            }
        }
    }

    fn load(
        &self,
        dut: &mut Dut,
        name: &str,
        path: &std::path::Path,
        label: String,
    ) -> Result<ImageFile, DeviceError> {
        let bytes = std::fs::read(self.base.join(path))
            .map_err(|e| DeviceError::Config(format!("software-update.images: {}: {e}", path.display())))?;
        self.save(dut, name, &bytes, label)
    }

    fn declared(
        &self,
        pick: impl Fn(&crate::config::UpdateImages) -> Option<PathBuf>,
        name: &str,
    ) -> Result<PathBuf, DeviceError> {
        self.cap.images.as_ref().and_then(pick).ok_or_else(|| {
            DeviceError::Config(format!(
                "software-update declares neither a signing-key nor images.{name}: hilt has no such image to push"
            ))
        })
    }

    fn sign(
        &self,
        version: Version,
        counter: Option<u32>,
        model: &str,
        key: &ed25519_dalek::SigningKey,
    ) -> Vec<u8> {
        let opts = SignOptions {
            version,
            security_counter: counter,
            model: Some(model.as_bytes().to_vec()),
            header_size: self.cap.header_size,
            load_addr: 0,
        };
        image::sign(&test_payload(model, version), &opts, key)
    }

    /// Pushes `image` through the declared update operation; returns its outcome (`ok` = accepted)
    /// with the device's reason for a refusal, if it gave one.
    fn push(&self, dut: &mut Dut, image: &ImageFile) -> Result<String, DeviceError> {
        let size = std::fs::metadata(&image.path).map(|m| m.len()).unwrap_or(0).to_string();
        let path = image.path.display().to_string();
        dut.note(format!("pushing {} ({})", image.path.display(), image.label));
        let m = dut.op_past_lockout(&self.cap.update, &[("image", &path), ("size", &size)])?;
        // The device's reason, when the operation captures one, makes the evidence readable.
        Ok(match m.captures.get("reason") {
            Some(reason) if m.outcome != "ok" => format!("{}: {reason}", m.outcome),
            _ => m.outcome,
        })
    }

    fn activate(&self, dut: &mut Dut) -> Result<(), DeviceError> {
        dut.op_ok(&self.cap.activate, &[]).map(drop)
    }

    fn confirm(&self, dut: &mut Dut) -> Result<(), DeviceError> {
        match &self.cap.confirm {
            Some(op) => dut.op_past_lockout(op, &[]).and_then(|m| expect_ok(op, m.outcome)),
            None => Ok(()),
        }
    }

    /// Pushes, activates and confirms `image`. Err(message) when the device did not end up
    /// running it: a FAIL for the caller to word.
    pub(super) fn install(
        &self,
        dut: &mut Dut,
        image: &ImageFile,
    ) -> Result<Result<(), String>, DeviceError> {
        let outcome = self.push(dut, image)?;
        if outcome != "ok" {
            return Ok(Err(format!("the valid image {} was refused: {outcome}", image.version)));
        }
        self.activate(dut)?;
        let running = running_version(dut)?;
        if running != image.version {
            return Ok(Err(format!(
                "after activation the device runs {running}, expected {}",
                image.version
            )));
        }
        self.confirm(dut)?;
        Ok(Ok(()))
    }
}

fn expect_ok(op: &str, outcome: String) -> Result<(), DeviceError> {
    if outcome == "ok" {
        Ok(())
    } else {
        Err(DeviceError::Lifecycle(format!("operation {op} ended with outcome {outcome:?}, not ok")))
    }
}

/// The version the device reports through `lifecycle.version`.
pub(super) fn running_version(dut: &mut Dut) -> Result<Version, DeviceError> {
    let op =
        dut.target().lifecycle.version.clone().ok_or_else(|| {
            DeviceError::Config("lifecycle.version is needed to see which image runs".into())
        })?;
    let m = dut.op_ok(&op, &[])?;
    let text = m.captures.get("version").cloned().unwrap_or_default();
    text.parse().map_err(|_| {
        DeviceError::Lifecycle(format!(
            "{op} reported version {text:?}, expected MAJOR.MINOR.REVISION[+BUILD]"
        ))
    })
}

/// The next version a test unit is updated to: the revision counts up, so runs on the same unit
/// go on for 65535 updates.
fn next_version(v: Version) -> Version {
    match v.revision.checked_add(1) {
        Some(revision) => Version { revision, build: 0, ..v },
        None => Version { minor: v.minor.wrapping_add(1), revision: 0, build: 0, ..v },
    }
}

/// A version as a security counter, so newer always counts higher.
fn ordinal(v: Version) -> u32 {
    (v.major as u32) << 24 | (v.minor as u32) << 16 | v.revision as u32
}

/// A test image's payload: text naming it, then filler, about 3 KiB.
fn test_payload(model: &str, version: Version) -> Vec<u8> {
    let mut payload = format!("{model} application {version}\n").into_bytes();
    let mut x = ordinal(version) as u64 | 1;
    while payload.len() < 3072 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        payload.push(x as u8);
    }
    payload
}

fn valid_image_installs(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let up = Updater::new(ctx.dut)?;
    let before = running_version(ctx.dut)?;
    let image = up.newer(ctx.dut, before)?;
    if let Err(why) = up.install(ctx.dut, &image)? {
        return Ok(Conclusion::fail(why));
    }
    if ctx.dut.has_power_control() {
        ctx.dut.power_cycle()?;
        let after = running_version(ctx.dut)?;
        if after != image.version {
            return Ok(Conclusion::fail(format!(
                "{} ran after activation, but after a power cycle the device runs {after}: the update did not stick",
                image.version
            )));
        }
    }
    ctx.measure("version_before", before, "");
    ctx.measure("version_after", image.version, "");
    Ok(Conclusion::pass(format!(
        "{before} -> {} installed, activated, confirmed and still running after a power cycle",
        image.version
    )))
}

/// Pushes each image, expecting every one refused and the running version unchanged after an
/// activation (a reboot): the old image keeps running.
fn rejects_all(ctx: &mut Context, up: &Updater, images: &[ImageFile]) -> Result<Conclusion, DeviceError> {
    let before = running_version(ctx.dut)?;
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for image in images {
        let outcome = up.push(ctx.dut, image)?;
        if outcome == "ok" {
            accepted.push(image.label.clone());
        } else {
            refused.push(format!("{} ({outcome})", image.label));
        }
    }
    if !accepted.is_empty() {
        return Ok(Conclusion::fail(format!(
            "expected every image refused before activation; accepted: {}",
            accepted.join("; ")
        )));
    }
    up.activate(ctx.dut)?;
    let after = running_version(ctx.dut)?;
    if after != before {
        return Ok(Conclusion::fail(format!(
            "every image was refused, yet after a reboot the device runs {after} instead of {before}"
        )));
    }
    Ok(Conclusion::pass(format!("refused: {}; {before} still runs after a reboot", refused.join("; "))))
}

fn rejects_mutations(ctx: &mut Context, kinds: &[MutationKind]) -> Result<Conclusion, DeviceError> {
    let up = Updater::new(ctx.dut)?;
    let running = running_version(ctx.dut)?;
    let base = up.newer(ctx.dut, running)?;
    let images = mutated(ctx.dut, &up, &base, kinds)?;
    rejects_all(ctx, &up, &images)
}

/// The mutations of `base` of the given kinds, saved for pushing.
fn mutated(
    dut: &mut Dut,
    up: &Updater,
    base: &ImageFile,
    kinds: &[MutationKind],
) -> Result<Vec<ImageFile>, DeviceError> {
    let bytes = std::fs::read(&base.path)
        .map_err(|e| DeviceError::Config(format!("cannot read {}: {e}", base.path.display())))?;
    let all = image::mutations(&bytes).map_err(|e| {
        DeviceError::Config(format!("the valid image {} is not an MCUboot image: {e}", base.path.display()))
    })?;
    all.into_iter()
        .filter(|m| kinds.contains(&m.kind))
        .map(|m| up.save(dut, m.name, &m.bytes, format!("{}: {}", m.name, m.description)))
        .collect()
}

fn rejects_unsigned(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let up = Updater::new(ctx.dut)?;
    let running = running_version(ctx.dut)?;
    let base = up.newer(ctx.dut, running)?;
    let mut images = mutated(ctx.dut, &up, &base, &[MutationKind::Unsigned])?;
    // A key hilt makes now: the device cannot know it.
    let foreign = image::random_signing_key();
    let bytes = std::fs::read(&base.path)
        .map_err(|e| DeviceError::Config(format!("cannot read {}: {e}", base.path.display())))?;
    let resigned = image::resign(&bytes, &foreign).map_err(|e| {
        DeviceError::Config(format!("the valid image {} is not an MCUboot image: {e}", base.path.display()))
    })?;
    images.push(up.save(
        ctx.dut,
        "foreign-key",
        &resigned,
        "foreign-key: the same image signed with a key hilt made".into(),
    )?);
    rejects_all(ctx, &up, &images)
}

fn rejects_other_model(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let up = Updater::new(ctx.dut)?;
    let running = running_version(ctx.dut)?;
    let other = up.cap.other_model.clone();
    let image = match up.key()? {
        Some(key) => {
            let version = next_version(running);
            let bytes = up.sign(version, Some(ordinal(version)), &other, &key);
            up.save(ctx.dut, "other-model", &bytes, format!("validly signed {version} for model {other}"))?
        }
        None => match up.cap.images.as_ref().and_then(|i| i.other_model.clone()) {
            Some(p) => up.load(ctx.dut, "other-model", &p, format!("declared image for model {other}"))?,
            None => {
                return Ok(Conclusion::inconclusive(
                    "needs a manufacturer-signed image for another model (software-update.images.other-model) or a signing key",
                ))
            }
        },
    };
    rejects_all(ctx, &up, &[image])
}

fn rejects_downgrade(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let up = Updater::new(ctx.dut)?;
    let running = running_version(ctx.dut)?;
    let image = match up.key()? {
        Some(key) => {
            let version = previous_version(running);
            // Security counter 0: below any floor the device may hold.
            let bytes = up.sign(version, Some(0), &up.cap.model, &key);
            up.save(ctx.dut, "older", &bytes, format!("validly signed older {version}, security counter 0"))?
        }
        None => {
            match up.cap.images.as_ref().and_then(|i| i.older.clone()) {
                Some(p) => up.load(ctx.dut, "older", &p, "declared older image".into())?,
                None => return Ok(Conclusion::inconclusive(
                    "needs a manufacturer-signed older image (software-update.images.older) or a signing key",
                )),
            }
        }
    };
    rejects_all(ctx, &up, &[image])
}

fn previous_version(v: Version) -> Version {
    match (v.revision, v.minor, v.major) {
        (r, _, _) if r > 0 => Version { revision: r - 1, build: 0, ..v },
        (_, m, _) if m > 0 => Version { minor: m - 1, revision: u16::MAX, build: 0, ..v },
        (_, _, major) => {
            Version { major: major.saturating_sub(1), minor: u8::MAX, revision: u16::MAX, build: 0 }
        }
    }
}

fn needs_authentication(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let up = Updater::new(ctx.dut)?;
    let Some(op) = up.cap.unauthenticated.clone() else {
        return Ok(Conclusion::inconclusive(
            "the target declares no software-update.unauthenticated operation to attempt an update without a login",
        ));
    };
    let running = running_version(ctx.dut)?;
    let image = up.newer(ctx.dut, running)?;
    let size = std::fs::metadata(&image.path).map(|m| m.len()).unwrap_or(0).to_string();
    let path = image.path.display().to_string();
    let outcome = ctx.dut.op(&op, &[("image", &path), ("size", &size)])?.outcome;
    if outcome != "denied" {
        return Ok(Conclusion::fail(format!(
            "expected an update without a login refused; {op} answered {outcome:?}"
        )));
    }
    Ok(Conclusion::pass(format!("{op} was refused without a login")))
}

/// Where in an update a power cut lands.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// During the update operation: erase, transfer, verification, staging.
    Transfer,
    /// During activation: the reboot, the bootloader's check and switch, the first boot.
    Swap,
    /// After the first boot, during the confirmation.
    Confirm,
}

/// A small seeded generator (SplitMix64): the same seed gives the same cut instants.
pub(super) struct SplitMix(pub(super) u64);

impl SplitMix {
    fn next_fraction(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The `k`-th of `n` seeded fractions, stratified: each falls at random in its own `1/n` of
    /// [0, 1), so every window wider than `1/n` of a phase gets a cut (plain random instants can
    /// all miss a short window: a one-sector copy inside a longer swap, seen on QEMU).
    pub(super) fn stratified(&mut self, k: u64, n: u64) -> f64 {
        (k as f64 + self.next_fraction()) / n.max(1) as f64
    }
}

/// How long each phase took in an update without cuts: the span the cuts are spread over.
struct PhaseTimes {
    transfer: Duration,
    swap: Duration,
    confirm: Duration,
}

fn power_cuts(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let trials = ctx.params.u64("trials").map_err(DeviceError::Config)?;
    let mut rng = SplitMix(ctx.params.u64("seed").map_err(DeviceError::Config)?);
    let up = Updater::new(ctx.dut)?;
    if up.key()?.is_none() {
        return Ok(Conclusion::inconclusive(
            "needs a signing key (software-update.signing-key): every trial installs a fresh version",
        ));
    }
    if !ctx.dut.has_power_control() {
        return Ok(Conclusion::inconclusive("the target declares no power control to cut"));
    }
    // One clean update first: it measures the phases and shows the update works at all.
    let running = running_version(ctx.dut)?;
    let image = up.newer(ctx.dut, running)?;
    let mut times = match timed_install(ctx.dut, &up, &image)? {
        Ok(t) => t,
        Err(why) => return Ok(Conclusion::fail(format!("before any power cut: {why}"))),
    };
    for trial in 0..trials {
        let phase = [Phase::Transfer, Phase::Swap, Phase::Confirm][trial as usize % 3];
        // This phase's trials: `trial % 3` picks the phase, `trial / 3` is the k-th of them.
        let in_phase = (trials + 2 - trial % 3) / 3;
        let before = running_version(ctx.dut)?;
        let image = up.newer(ctx.dut, before)?;
        let span = match phase {
            Phase::Transfer => times.transfer,
            Phase::Swap => times.swap,
            Phase::Confirm => times.confirm,
        };
        let offset = span.mul_f64(rng.stratified(trial / 3, in_phase));
        let at =
            format!("trial {}/{trials}: cut {:.1} ms into {phase:?}", trial + 1, offset.as_secs_f64() * 1e3);
        ctx.dut.note(format!("{at} ({} -> {})", before, image.version));
        let cut = match phase {
            Phase::Transfer => {
                let path = image.path.display().to_string();
                let size = std::fs::metadata(&image.path).map(|m| m.len()).unwrap_or(0).to_string();
                ctx.dut.op_with_cut(
                    &up.cap.update,
                    &[("image", &path), ("size", &size)],
                    Instant::now() + offset,
                )?
            }
            Phase::Swap | Phase::Confirm => {
                let outcome = up.push(ctx.dut, &image)?;
                if outcome != "ok" {
                    return Ok(Conclusion::fail(format!(
                        "{at}: the valid image was refused before the cut: {outcome}"
                    )));
                }
                if let Phase::Swap = phase {
                    ctx.dut.op_with_cut(&up.cap.activate, &[], Instant::now() + offset)?
                } else {
                    up.activate(ctx.dut)?;
                    match up.cap.confirm.clone() {
                        Some(op) => ctx.dut.op_with_cut(&op, &[], Instant::now() + offset)?,
                        None => ctx.dut.op_with_cut(&up.cap.activate, &[], Instant::now() + offset)?,
                    }
                }
            }
        };
        ctx.dut.note(format!(
            "{at}: {}",
            if matches!(cut, CutRun::Cut) { "landed mid-operation" } else { "landed after it" }
        ));
        ctx.dut.power_on()?;
        let after = match running_version(ctx.dut) {
            Ok(v) => v,
            Err(e) if e.is_device_crash() => {
                return Ok(Conclusion::fail(format!("{at}: the device no longer boots: {e}")));
            }
            Err(e) => return Err(e),
        };
        if after != before && after != image.version {
            return Ok(Conclusion::fail(format!(
                "{at}: the device runs {after}, neither the old {before} nor the new {}",
                image.version
            )));
        }
        // The retry: finish what the cut interrupted. A full install is timed again: the
        // shortest time seen for each phase is the span later cuts spread over, so a one-off
        // delay on a loaded host does not push them past the work they should interrupt.
        let retried = if after == image.version {
            up.confirm(ctx.dut).map(|_| Ok(()))?
        } else {
            timed_install(ctx.dut, &up, &image)?.map(|t| times = times.shortest(&t))
        };
        if let Err(why) = retried {
            return Ok(Conclusion::fail(format!(
                "{at}: the device came back with {after}, but the retry failed: {why}"
            )));
        }
    }
    ctx.dut.power_cycle()?;
    let last = running_version(ctx.dut)?;
    ctx.measure("trials", trials, "");
    ctx.measure("transfer_ms", format!("{:.1}", times.transfer.as_secs_f64() * 1e3), "ms");
    ctx.measure("swap_ms", format!("{:.1}", times.swap.as_secs_f64() * 1e3), "ms");
    Ok(Conclusion::pass(format!(
        "{trials} power cuts spread over transfer, swap and confirmation: the device always booted a valid image and every retry succeeded; it runs {last}"
    )))
}

impl PhaseTimes {
    fn shortest(&self, other: &PhaseTimes) -> PhaseTimes {
        PhaseTimes {
            transfer: self.transfer.min(other.transfer),
            swap: self.swap.min(other.swap),
            confirm: self.confirm.min(other.confirm),
        }
    }
}

/// Installs `image`, timing each phase.
fn timed_install(
    dut: &mut Dut,
    up: &Updater,
    image: &ImageFile,
) -> Result<Result<PhaseTimes, String>, DeviceError> {
    let start = Instant::now();
    let outcome = up.push(dut, image)?;
    if outcome != "ok" {
        return Ok(Err(format!("the valid image {} was refused: {outcome}", image.version)));
    }
    let transfer = start.elapsed();
    let start = Instant::now();
    up.activate(dut)?;
    let swap = start.elapsed();
    let running = running_version(dut)?;
    if running != image.version {
        return Ok(Err(format!("after activation the device runs {running}, expected {}", image.version)));
    }
    let start = Instant::now();
    up.confirm(dut)?;
    Ok(Ok(PhaseTimes { transfer, swap, confirm: start.elapsed() }))
}

/// EN 303 645 5.7-1 (secure boot), TS 103 701 5.7-1-2's "bit manipulation": one payload byte of
/// every resident image is flipped through the debug port, then the device is reset. It must not
/// run a changed image. The bytes are put back afterwards and the device must boot again.
fn tampered_resident_image_refused(ctx: &mut Context) -> Result<Conclusion, DeviceError> {
    let debug = ctx.dut.debug_config()?;
    if debug.images.is_empty() {
        return Ok(Conclusion::not_applicable("the target's debug section declares no `images` regions"));
    }
    let before = running_version(ctx.dut)?;
    // (address, original byte) of each flip.
    let flips: Vec<(u64, u8, String)> = ctx.dut.with_debug(|port| {
        let mut flips = Vec::new();
        for region in &debug.images {
            let bytes = port.read(region.address, region.size)?;
            let Ok(image) = Image::parse_prefix(&bytes) else { continue };
            let header = image.header();
            let offset = header.header_size as u64 + header.payload_size as u64 / 2;
            let original = bytes[offset as usize];
            port.write(region.address + offset, &[original ^ 0x01])?;
            // A plain memory write may not reach flash (no flash algorithm): a flip that did not
            // land would make a refusal look like a running tampered image, so read it back.
            if port.read(region.address + offset, 1)?[0] == original {
                return Err(DebugError::Unsupported(format!(
                    "writing {:#x} through the debug port left flash unchanged: this port cannot write it",
                    region.address + offset
                )));
            }
            flips.push((region.address + offset, original, format!("{} {}", region.label(), header.version)));
        }
        Ok(flips)
    })?;
    if flips.is_empty() {
        return Err(DeviceError::Config(format!(
            "no MCUboot image found in the declared image regions ({}); check debug.images",
            debug.images.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ")
        )));
    }
    let changed = flips.iter().map(|(at, _, what)| format!("{what}: byte at {at:#x}")).collect::<Vec<_>>();
    ctx.dut.note(format!("flipped one payload bit of {}; resetting", changed.join(", ")));
    ctx.dut.reset()?;
    let verdict = match running_version(ctx.dut) {
        Ok(version) => Conclusion::fail(format!(
            "expected the device to refuse an image changed in flash; after a bit flip in {} it booted and runs {version}",
            changed.join(", ")
        )),
        Err(e) if e.is_device_crash() => Conclusion::pass(format!(
            "after a bit flip in {}, the device refused to run it ({e}); restored, it runs {before} again",
            changed.join(", ")
        )),
        Err(e) => return Err(e),
    };
    ctx.dut
        .with_debug(|port| flips.iter().try_for_each(|(at, original, _)| port.write(*at, &[*original])))?;
    ctx.dut.reset()?;
    let restored = running_version(ctx.dut)?;
    if restored != before {
        return Err(DeviceError::Lifecycle(format!(
            "after the original bytes were written back the device runs {restored}, not {before}"
        )));
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::SplitMix;

    #[test]
    fn stratified_fractions_fall_each_in_its_own_slice_and_repeat_with_the_seed() {
        let (mut a, mut b) = (SplitMix(8259), SplitMix(8259));
        for k in 0..7 {
            let f = a.stratified(k, 7);
            assert!((k as f64 / 7.0..(k + 1) as f64 / 7.0).contains(&f), "{k}: {f}");
            assert_eq!(f, b.stratified(k, 7));
        }
    }
}
