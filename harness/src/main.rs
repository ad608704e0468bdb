//! The `hilt` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use hilt::run::{exit, plan, RunOptions};
use hilt::{checks, config};

const AFTER_HELP: &str = "\
Exit codes:
  0  no check FAILed and none ended in ERROR
  1  at least one check FAILed (the device does not conform)
  2  usage or configuration error (a bad target or suite file, a bad option)
  3  at least one ERROR and no FAIL (the harness could not decide: device unreachable, timeout)
  130, 143  stopped by SIGINT or SIGTERM: devices powered off, results list the checks not run

Examples:
  hilt                                       run the default suites on the built-in reference device
  hilt run --target targets/refdev.yaml ID-03        run one check
  REFDEV_FLAWS=id-shared hilt run                    see ID-02 fail on a flawed reference device
  hilt run --target targets/qemu-mps2-an385.yaml     the same device as firmware under QEMU (ci/firmware.sh builds it)
  HILT_QEMU_UNIT=engineering hilt run --target targets/qemu-mps2-an385.yaml ID-12 FR-03 SU-12
                                             the checks that look inside through the debug port
  hilt check targets/my-board.yaml           validate a target file without touching a device
  hilt list                                  show every check and the requirements it covers
  hilt probes                                list probes and serial ports for a target file";

/// Hardware-in-the-loop conformance harness for IoT device security.
///
/// hilt drives a device over its serial console and network ports, runs conformance checks organised
/// by NIST IR 8259A capability, and writes JUnit, JSON and a transcript of every byte exchanged.
/// Without a subcommand it runs `hilt run` with its defaults.
#[derive(Parser)]
#[command(name = "hilt", version, after_help = AFTER_HELP, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a subcommand, the options of `hilt run`.
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run suites against a target and write results.
    ///
    /// Each check is brought to the device state it needs (factory default, initialized), run, and
    /// recorded at once in OUT/junit.xml, OUT/results.json and OUT/transcripts/<ID>.log;
    /// OUT/manifest.json holds the SHA-256 of each (check it later with `hilt verify OUT`).
    #[command(after_help = AFTER_HELP)]
    Run(RunArgs),
    /// List the checks of suites with the requirements each covers, and every check hilt knows.
    ///
    /// For a profile (a suite that lists its scheme's requirements, e.g. nist-ir-8425), also which
    /// checks cover each requirement and which requirements no check covers yet.
    List {
        /// Suites to list, by name (testsuites/NAME.yaml) or file; repeatable.
        #[arg(long = "suite", value_name = "NAME|FILE", default_values_t = DEFAULT_SUITES.map(String::from))]
        suites: Vec<String>,
    },
    /// Validate target and suite files without touching a device.
    ///
    /// Errors name file:line:column and what was expected. Exit code 0 if all are valid, 2 if not.
    Check {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Check a results directory against its evidence manifest.
    ///
    /// Recomputes the SHA-256 of every file listed in DIR/manifest.json and reports files that
    /// changed, went missing, or were added. Exit code 0 if everything matches, 1 if anything
    /// differs, 2 if the manifest is missing or unreadable.
    Verify {
        #[arg(value_name = "DIR", default_value = "results")]
        dir: PathBuf,
    },
    /// List the debug probes and serial ports attached to this machine, as target-file lines.
    ///
    /// Debug probes: those probe-rs drives (CMSIS-DAP, ST-Link, J-Link, FTDI, ESP USB-JTAG), each as
    /// VID:PID:SERIAL with the line that selects it; copy it under `debug:` in the target file and
    /// put in the chip name probe-rs knows, e.g.
    /// `probe: { selector: "1366:1015:000683000000", chip: nRF52840_xxAA }`.
    ///
    /// Serial ports: those the OS enumerates (USB adapters, on-board UARTs; never pseudo-terminals),
    /// each with its line for `channels:`. A USB adapter is matched by VID, PID and serial number,
    /// which keeps working when it comes back as another /dev/ttyACM*.
    ///
    /// Exit code 0 when listing worked, even if nothing is attached; 2 if enumeration failed.
    Probes,
    /// Make, sign, inspect and mutate MCUboot update images (for test devices only).
    #[command(subcommand, after_help = hilt::image::cli::IMAGE_HELP)]
    Image(hilt::image::cli::ImageCommand),
    /// Start the built-in reference device (host build): a console on a pseudo-terminal and a
    /// management port on 127.0.0.1. Flaws are switched on with REFDEV_FLAWS=name,name.
    ReferenceDevice {
        /// Options for the reference device (see `hilt reference-device --help`).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Target file: how to reach the device and what it declares.
    #[arg(long, value_name = "FILE", default_value = "targets/refdev.yaml")]
    target: PathBuf,
    /// Suite to run, by name (testsuites/NAME.yaml) or file; repeatable.
    #[arg(long = "suite", value_name = "NAME|FILE", default_values_t = DEFAULT_SUITES.map(String::from))]
    suites: Vec<String>,
    /// Directory for junit.xml, results.json, manifest.json and transcripts/.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// Skip checks whose name contains this text; repeatable.
    #[arg(long, value_name = "TEXT")]
    skip: Vec<String>,
    /// Filters match a check's id or full name exactly instead of as a substring.
    #[arg(long)]
    exact: bool,
    /// List the selected checks without running them.
    #[arg(long)]
    list: bool,
    /// Run only checks whose name contains one of these (e.g. ID-02, "power").
    #[arg(value_name = "FILTER")]
    filters: Vec<String>,
}

/// The suites `hilt run` uses when none is named.
const DEFAULT_SUITES: [&str; 4] = ["identity", "software-update", "access-lockout", "factory-reset"];

fn main() -> ExitCode {
    // `hilt list | head` should end quietly, as other command-line tools do, not panic on EPIPE.
    // Device channels are unaffected: std sends on sockets with MSG_NOSIGNAL, and a pty whose
    // device died answers EIO, not SIGPIPE.
    // SAFETY: resetting a signal disposition before any thread starts.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    let code = match cli.command {
        None => run(cli.run),
        Some(Command::Run(args)) => run(args),
        Some(Command::List { suites }) => list(&suites),
        Some(Command::Check { files }) => check(&files),
        Some(Command::Verify { dir }) => verify(&dir),
        Some(Command::Probes) => hilt::transport::inventory::run(),
        Some(Command::Image(cmd)) => hilt::image::cli::run(cmd),
        Some(Command::ReferenceDevice { args }) => refdev_host::run(args),
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}

fn run(args: RunArgs) -> i32 {
    if let Err(e) = hilt::interrupt::install() {
        eprintln!("hilt: cannot install signal handlers: {e}");
        return exit::USAGE;
    }
    let target = match config::load_target(&args.target) {
        Ok(t) => t,
        Err(d) => return report_config_errors(&d.0),
    };
    let suites = match load_suites(&args.suites) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let planned = plan::plan(&target, &suites);
    let opts = RunOptions {
        out_dir: args.out,
        filters: args.filters,
        skip: args.skip,
        exact: args.exact,
        list: args.list,
    };
    hilt::run::run(target, &suites, planned, &opts)
}

/// Loads and validates suites; prints every error and returns the exit code on failure.
fn load_suites(names: &[String]) -> Result<Vec<config::Suite>, i32> {
    let mut suites = Vec::new();
    let mut errors = Vec::new();
    for name in names {
        match config::load_suite(&plan::suite_path(name)) {
            Ok(s) => {
                errors.extend(plan::validate_suite(&s));
                suites.push(s);
            }
            Err(d) => errors.extend(d),
        }
    }
    if errors.is_empty() {
        Ok(suites)
    } else {
        Err(report_config_errors(&errors))
    }
}

fn report_config_errors(errors: &[config::Diagnostic]) -> i32 {
    for e in errors {
        eprintln!("{e}");
    }
    eprintln!("hilt: {} configuration error(s)", errors.len());
    exit::USAGE
}

fn list(suite_names: &[String]) -> i32 {
    let suites = match load_suites(suite_names) {
        Ok(s) => s,
        Err(code) => return code,
    };
    for suite in &suites {
        println!("suite {} ({})", suite.name, suite.file.display());
        for c in &suite.checks {
            println!("  {:<6} {}", c.id, c.title);
            for r in &c.requirements {
                println!("         covers {r}");
            }
        }
        if !suite.requirements.is_empty() {
            let covering = |r: &String| -> Vec<&str> {
                suite.checks.iter().filter(|c| c.requirements.contains(r)).map(|c| c.id.as_str()).collect()
            };
            let uncovered = suite.requirements.iter().filter(|r| covering(r).is_empty()).count();
            println!(
                "  requirements of the profile: {} covered, {uncovered} not covered by any check yet",
                suite.requirements.len() - uncovered
            );
            for r in &suite.requirements {
                match covering(r).as_slice() {
                    [] => println!("    {r:<40} NOT COVERED"),
                    ids => println!("    {r:<40} {}", ids.join(", ")),
                }
            }
        }
    }
    println!("checks hilt knows (a suite selects them):");
    for def in checks::all() {
        println!("  {:<6} {:<60} needs {}", def.id, def.title, def.needs.join(", "));
    }
    exit::OK
}

fn check(files: &[PathBuf]) -> i32 {
    let mut errors = Vec::new();
    for file in files {
        match config::load_any(file) {
            Ok(config::Loaded::Target(t)) => {
                println!("{}: valid target {:?}", file.display(), t.name)
            }
            Ok(config::Loaded::Suite(s)) => {
                let problems = plan::validate_suite(&s);
                if problems.is_empty() {
                    println!("{}: valid suite {:?} ({} checks)", file.display(), s.name, s.checks.len());
                }
                errors.extend(problems);
            }
            Err(d) => errors.extend(d),
        }
    }
    if errors.is_empty() {
        exit::OK
    } else {
        report_config_errors(&errors)
    }
}

fn verify(dir: &std::path::Path) -> i32 {
    match hilt::report::manifest::verify(dir) {
        Err(e) => {
            eprintln!("hilt: {e}");
            exit::USAGE
        }
        Ok((listed, findings)) if findings.is_empty() => {
            println!("{}: all {listed} files match the manifest", dir.display());
            exit::OK
        }
        Ok((listed, findings)) => {
            for f in &findings {
                println!("{f}");
            }
            println!("{}: {} of {listed} listed files differ or are unlisted", dir.display(), findings.len());
            exit::FAIL
        }
    }
}
