//! The expect engine over a real pseudo-terminal, opened through the serial-port code exactly as a
//! USB adapter would be. The test plays the device on the pty's master side.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::thread;
use std::time::{Duration, Instant};

use hilt::device::expect::{Channel, ExpectError};
use hilt::device::transcript::Transcript;
use hilt::transport::serial;
use regex::bytes::Regex;

/// A pty pair in raw mode: (device side, the path hilt opens).
fn pty() -> (File, String) {
    let (mut master, mut slave) = (-1, -1);
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: valid out-pointers; the name buffer is larger than any pty path.
    unsafe {
        assert_eq!(
            libc::openpty(&mut master, &mut slave, name.as_mut_ptr(), std::ptr::null(), std::ptr::null()),
            0
        );
        let mut t: libc::termios = std::mem::zeroed();
        libc::tcgetattr(slave, &mut t);
        libc::cfmakeraw(&mut t);
        libc::tcsetattr(slave, libc::TCSANOW, &t);
        let path = std::ffi::CStr::from_ptr(name.as_ptr()).to_string_lossy().into_owned();
        // The test keeps no slave descriptor: hilt's own open is the only one, as on a bench.
        libc::close(slave);
        (File::from_raw_fd(master), path)
    }
}

fn channel(path: &str) -> Channel {
    Channel::new("console", serial::open_path(path, 115200).expect("open pty through serialport"))
}

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap()
}

/// Far away: a wait that ends before it ended on an event, not on the deadline.
fn far() -> Instant {
    Instant::now() + Duration::from_secs(60)
}

#[test]
fn the_earliest_alternative_matches_with_its_captures_across_chunks() {
    let (mut dev, path) = pty();
    let mut ch = channel(&path);
    let mut t = Transcript::new(&[]);
    ch.send(b"login x\n", &mut t).unwrap();
    let mut got = [0u8; 8];
    dev.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"login x\n");
    let writer = thread::spawn(move || {
        dev.write_all(b"LOCK").unwrap();
        dev.write_all(b"ED 30\r\nLOGIN DENIED\r\n").unwrap();
        dev
    });
    let (ok, locked) = (re("LOGIN OK"), re(r"LOCKED (?P<remaining>\d+)"));
    let denied = re("LOGIN DENIED");
    let m = ch.expect(&[("ok", &ok), ("denied", &denied), ("locked", &locked)], &[], far(), &mut t).unwrap();
    assert_eq!(m.outcome, "locked");
    assert_eq!(m.captures["remaining"], "30");
    writer.join().unwrap();
}

#[test]
fn a_crash_banner_ends_the_wait_at_once() {
    let (mut dev, path) = pty();
    let mut ch = channel(&path);
    let mut t = Transcript::new(&[]);
    dev.write_all(b"booting\r\n*** PANIC: hard fault at 0x0800_1234\r\n").unwrap();
    let err = ch.expect(&[("ok", &re("READY"))], &[re("PANIC")], far(), &mut t).unwrap_err();
    match err {
        ExpectError::Crash { pattern, tail } => {
            assert_eq!(pattern, "PANIC");
            assert!(tail.contains("hard fault"), "{tail}");
        }
        other => panic!("expected a crash, got {other:?}"),
    }
}

#[test]
fn silence_times_out_naming_what_was_expected() {
    let (_dev, path) = pty();
    let mut ch = channel(&path);
    let mut t = Transcript::new(&[]);
    let deadline = Instant::now() + Duration::from_millis(200);
    let err = ch.expect(&[("ok", &re("ID=\\w+"))], &[], deadline, &mut t).unwrap_err();
    match err {
        ExpectError::Timeout { expected, .. } => assert_eq!(expected, vec!["ID=\\w+".to_string()]),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(Instant::now() >= deadline, "a timeout is only reported once the deadline has passed");
}

#[test]
fn a_flood_without_newlines_stays_bounded_and_the_answer_is_still_found() {
    let (mut dev, path) = pty();
    let mut ch = channel(&path);
    let mut t = Transcript::with_capacity(&[], 64 * 1024);
    let writer = thread::spawn(move || {
        let junk = vec![b'A'; 64 * 1024];
        for _ in 0..64 {
            dev.write_all(&junk).unwrap();
        }
        dev.write_all(b"ID=42\r\n").unwrap();
        dev
    });
    let m = ch.expect(&[("ok", &re(r"ID=(?P<id>\d+)"))], &[], far(), &mut t).unwrap();
    assert_eq!(m.captures["id"], "42");
    assert!(
        t.dropped() >= 4 * 1024 * 1024 - 64 * 1024,
        "transcript kept only its capacity: dropped {}",
        t.dropped()
    );
    writer.join().unwrap();
}

#[test]
fn a_device_that_vanishes_closes_the_channel() {
    let (mut dev, path) = pty();
    let mut ch = channel(&path);
    let mut t = Transcript::new(&[]);
    dev.write_all(b"partial answ").unwrap();
    drop(dev);
    let err = ch.expect(&[("ok", &re("OK"))], &[], far(), &mut t).unwrap_err();
    assert!(matches!(err, ExpectError::Closed { .. }), "{err:?}");
}

#[test]
fn output_from_before_a_send_never_answers_it() {
    let (mut dev, path) = pty();
    let mut ch = channel(&path);
    let mut t = Transcript::new(&[]);
    // One write, so the stale line arrives in the same read as the marker hilt waits for: after
    // the marker matches, "LOGIN OK" sits unconsumed in the window when the next command is sent.
    dev.write_all(b"SYNC\r\nLOGIN OK\r\n").unwrap();
    ch.expect(&[("ok", &re("SYNC"))], &[], far(), &mut t).unwrap();
    let ok = re("LOGIN OK");
    let mut probe = [0u8; 1];
    // The device answers only after it has read the command, so the stale line is already queued.
    let writer = thread::spawn(move || {
        let mut got = Vec::new();
        while !got.ends_with(b"\n") {
            dev.read_exact(&mut probe).unwrap();
            got.push(probe[0]);
        }
        dev.write_all(b"LOGIN DENIED\r\n").unwrap();
        dev
    });
    ch.send(b"login wrong\n", &mut t).unwrap();
    let m = ch.expect(&[("ok", &ok), ("denied", &re("LOGIN DENIED"))], &[], far(), &mut t).unwrap();
    assert_eq!(m.outcome, "denied", "the stale LOGIN OK must not answer the new login");
    writer.join().unwrap();
    assert!(t.render().contains("LOGIN OK"), "the stale line is still in the evidence");
}
