//! A GDB Remote Serial Protocol client: the debug port of a target that offers a GDB server
//! (QEMU's gdbstub, OpenOCD, a J-Link GDB server) as a [`DebugPort`].
//!
//! Target state: a GDB server stops the target when a client attaches (QEMU's gdbstub does), so
//! [`GdbRemote::connect`] returns with the target **halted** and asks the server why (`?`) to
//! confirm it; the caller resumes. `resume` lets it run without waiting for it to stop again.
//! While it runs, most servers cannot serve packets (QEMU's stops the machine on any byte it
//! receives), so memory access, `reset` and `detach` first halt it; memory access resumes it
//! afterwards, so reading memory never leaves a running target stopped.
//!
//! Every exchange waits at most [`PACKET_TIMEOUT`] through [`Stream::read_until`]: a wait ends on
//! data, a hang-up, its deadline or a stop request, never on a fixed sleep.
//!
//! What QEMU 7.2's gdbstub does, measured against it: `PacketSize=1000` (4096 bytes, the largest
//! `m` it serves is 0x800 bytes); no `QStartNoAckMode` (every packet is acknowledged); no `X`
//! (binary writes answer empty, so writes fall back to `M`); a read of unmapped memory answers
//! `E14`, but a write to unmapped memory answers `OK` and is dropped; resetting needs the
//! monitor command `system_reset` (`qRcmd`), after which the machine stays stopped until `c`;
//! and with no valid vector table a running Cortex-M locks up and QEMU exits.

use std::io;
use std::time::{Duration, Instant};

use super::debug::{DebugError, DebugPort, FlashImage};
use super::{tcp, ReadOutcome, Stream};

/// How long one packet exchange may take before the debug server counts as unresponsive.
pub const PACKET_TIMEOUT: Duration = Duration::from_secs(5);

/// How many times a packet is sent again after the server answers `-` (bad checksum).
const RETRANSMITS: usize = 3;

/// The packet size GDB assumes when the server does not state one.
const DEFAULT_PACKET_SIZE: usize = 400;

/// Room for the command part of a memory packet ("M" + 16 hex digits + "," + 16 + ":") and the
/// framing ("$", "#xx").
const MEMORY_HEADER: usize = 35 + 4;

/// A reply longer than this is not a GDB server talking: stop collecting it.
const MAX_REPLY: usize = 1 << 20;

/// Replies are shown up to this many bytes in messages.
const SHOWN: usize = 80;

/// A GDB server's debug port.
pub struct GdbRemote {
    stream: Stream,
    /// "HOST:PORT" as given, for messages.
    endpoint: String,
    /// Received bytes not yet consumed, and where consumption stands in them.
    inbox: Vec<u8>,
    consumed: usize,
    /// Whether packets are still acknowledged (`+`/`-`): until `QStartNoAckMode` is accepted.
    acks: bool,
    /// The largest packet the server accepts, from `qSupported`.
    packet_size: usize,
    /// Whether the target runs (after `c` or detach): packets must not be sent before halting.
    running: bool,
    /// Whether the server takes binary `X` writes; unknown until the first write.
    binary_writes: Option<bool>,
    detached: bool,
    /// When the answer to what was last sent is overdue.
    deadline: Instant,
}

impl GdbRemote {
    /// Connects to the GDB server at `host:port` (TCP connect bounded by `timeout`), negotiates
    /// packet size and acknowledgement mode, and confirms the target is halted.
    pub fn connect(host: &str, port: u16, timeout: Duration) -> Result<GdbRemote, DebugError> {
        let endpoint = format!("{host}:{port}");
        let stream = tcp::open(host, port, timeout).map_err(|e| connect_error(&endpoint, &e))?;
        let mut gdb = GdbRemote {
            stream,
            endpoint,
            inbox: Vec::new(),
            consumed: 0,
            acks: true,
            packet_size: DEFAULT_PACKET_SIZE,
            running: false,
            binary_writes: None,
            detached: false,
            deadline: Instant::now() + PACKET_TIMEOUT,
        };
        gdb.negotiate()?;
        gdb.confirm_halted()?;
        Ok(gdb)
    }

    /// Ends the target's process (`k`; QEMU exits) and waits for the server to hang up.
    pub fn kill(mut self) -> Result<(), DebugError> {
        self.halt()?;
        // No reply to wait for: the server may hang up before it even acknowledges.
        self.send_raw(&frame(b"k"))?;
        let mut scratch = [0u8; 256];
        loop {
            match self.stream.read_until(&mut scratch, self.deadline) {
                // A final `W`/`X` packet or an ack may precede the hang-up.
                ReadOutcome::Data(_) => {}
                ReadOutcome::Closed(_) => return Ok(()),
                ReadOutcome::Interrupted => return Err(DebugError::Interrupted),
                ReadOutcome::TimedOut => {
                    return Err(self.io(format!(
                        "still connected {} s after `k` (kill): the server did not end the target",
                        PACKET_TIMEOUT.as_secs()
                    )))
                }
            }
        }
    }

    /// `qSupported` (packet size, no-ack mode), then `QStartNoAckMode` if offered.
    fn negotiate(&mut self) -> Result<(), DebugError> {
        let reply = self.exchange(b"qSupported:swbreak+;hwbreak+")?;
        let features = Features::parse(&reply);
        if let Some(size) = features.packet_size {
            if size < MEMORY_HEADER + 2 {
                return Err(
                    self.io(format!("qSupported states PacketSize={size:x}, too small to carry memory"))
                );
            }
            self.packet_size = size;
        }
        if features.no_ack {
            let reply = self.exchange(b"QStartNoAckMode")?;
            if reply != b"OK" {
                return Err(self.unexpected("OK to QStartNoAckMode", &reply));
            }
            self.acks = false;
        }
        Ok(())
    }

    /// `?`: the server must report a stop (the target halted on attach), not an exit.
    fn confirm_halted(&mut self) -> Result<(), DebugError> {
        let reply = self.exchange(b"?")?;
        match classify(&reply) {
            Reply::Stop => Ok(()),
            _ => Err(self.unexpected("a stop reply (S/T) to `?`", &reply)),
        }
    }

    /// Runs `op` with the target halted, resuming it afterwards if it was running.
    fn while_halted<T>(
        &mut self,
        op: impl FnOnce(&mut Self) -> Result<T, DebugError>,
    ) -> Result<T, DebugError> {
        let was_running = self.running;
        self.halt()?;
        let result = op(self);
        // A refusal is the target's answer, the exchange itself went fine: let it run again.
        if was_running && matches!(result, Ok(_) | Err(DebugError::Refused(_))) {
            self.resume()?;
        }
        result
    }

    /// The most bytes one `m` reply can carry: two hex digits per byte inside the framing.
    fn read_chunk(&self) -> usize {
        (self.packet_size - 4) / 2
    }

    /// The most bytes one `M`/`X` packet can carry, at two characters per byte (hex, or escaped
    /// binary at worst).
    fn write_chunk(&self) -> usize {
        (self.packet_size - MEMORY_HEADER) / 2
    }

    fn read_block(&mut self, address: u64, buf: &mut [u8]) -> Result<(), DebugError> {
        let command = format!("m{address:x},{:x}", buf.len());
        let reply = self.exchange(command.as_bytes())?;
        match classify(&reply) {
            Reply::Error => Err(DebugError::Refused(format!(
                "{} refused to read {} bytes at {address:#x} ({})",
                self.describe(),
                buf.len(),
                shown(&reply)
            ))),
            Reply::Data if reply.len() == 2 * buf.len() => match hex_decode(&reply) {
                Some(bytes) => {
                    buf.copy_from_slice(&bytes);
                    Ok(())
                }
                None => {
                    Err(self.unexpected(&format!("{} hex digits for `{command}`", 2 * buf.len()), &reply))
                }
            },
            _ => Err(self.unexpected(&format!("{} hex digits for `{command}`", 2 * buf.len()), &reply)),
        }
    }

    /// Writes one block with `X` (binary) if the server takes it, else `M` (hex).
    fn write_block(&mut self, address: u64, data: &[u8]) -> Result<(), DebugError> {
        if self.binary_writes != Some(false) {
            let mut packet = format!("X{address:x},{:x}:", data.len()).into_bytes();
            packet.extend_from_slice(&escape_binary(data));
            let reply = self.exchange(&packet)?;
            // An empty answer to `X` means "unknown packet": fall back to `M` from now on.
            if !(reply.is_empty() && self.binary_writes.is_none()) {
                self.binary_writes = Some(true);
                return self.write_reply(address, data.len(), 'X', &reply);
            }
            self.binary_writes = Some(false);
        }
        let packet = format!("M{address:x},{:x}:{}", data.len(), hex_encode(data));
        let reply = self.exchange(packet.as_bytes())?;
        self.write_reply(address, data.len(), 'M', &reply)
    }

    fn write_reply(&self, address: u64, len: usize, kind: char, reply: &[u8]) -> Result<(), DebugError> {
        match classify(reply) {
            Reply::Ok => Ok(()),
            Reply::Error => Err(DebugError::Refused(format!(
                "{} refused to write {len} bytes at {address:#x} ({})",
                self.describe(),
                shown(reply)
            ))),
            _ => Err(self.unexpected(&format!("OK or Enn to `{kind}` ({len} bytes at {address:#x})"), reply)),
        }
    }

    /// `qRcmd`: a monitor command; its output (`O` packets) is collected until `OK`.
    fn monitor(&mut self, command: &str) -> Result<String, DebugError> {
        let packet = format!("qRcmd,{}", hex_encode(command.as_bytes()));
        let mut reply = self.exchange(packet.as_bytes())?;
        let mut output = String::new();
        loop {
            match classify(&reply) {
                Reply::Ok => return Ok(output),
                Reply::Output => {
                    let text = hex_decode(&reply[1..]).unwrap_or_default();
                    output.push_str(&String::from_utf8_lossy(&text));
                }
                Reply::Empty => {
                    return Err(DebugError::Unsupported(format!(
                        "{} has no monitor commands (qRcmd), so no `monitor {command}`",
                        self.describe()
                    )))
                }
                Reply::Error => {
                    return Err(DebugError::Unsupported(format!(
                        "{} rejected `monitor {command}` ({}){}",
                        self.describe(),
                        shown(&reply),
                        if output.is_empty() { String::new() } else { format!(": {}", output.trim()) }
                    )))
                }
                _ => return Err(self.unexpected(&format!("O<hex> or OK to `monitor {command}`"), &reply)),
            }
            reply = self.receive_packet()?;
        }
    }

    /// Sends a packet and returns the server's reply.
    fn exchange(&mut self, payload: &[u8]) -> Result<Vec<u8>, DebugError> {
        self.send_packet(payload)?;
        self.receive_packet()
    }

    /// Sends a packet; while acknowledgements are on, waits for `+`, sending it again on `-`.
    fn send_packet(&mut self, payload: &[u8]) -> Result<(), DebugError> {
        let framed = frame(payload);
        for _ in 0..=RETRANSMITS {
            self.send_raw(&framed)?;
            if !self.acks || self.await_ack(payload)? {
                return Ok(());
            }
        }
        Err(self.io(format!(
            "`{}` was refused with `-` (bad checksum) {} times",
            shown(&payload[..payload.len().min(20)]),
            RETRANSMITS + 1
        )))
    }

    /// `true` on `+`, `false` on `-`. A packet arriving first is acknowledged and passed over:
    /// QEMU announces the stop it makes when a client attaches to a running machine that way.
    fn await_ack(&mut self, payload: &[u8]) -> Result<bool, DebugError> {
        loop {
            match self.next_byte()? {
                b'+' => return Ok(true),
                b'-' => return Ok(false),
                b'$' => {
                    self.frame_body()?;
                    self.send_raw(b"+")?;
                }
                other => {
                    return Err(self.unexpected(
                        &format!("+ or - acknowledging `{}`", shown(&payload[..payload.len().min(20)])),
                        &[other],
                    ))
                }
            }
        }
    }

    /// Receives one packet, checks its checksum (asking for it again on a mismatch while
    /// acknowledgements are on) and returns its run-length-decoded payload.
    fn receive_packet(&mut self) -> Result<Vec<u8>, DebugError> {
        for _ in 0..=RETRANSMITS {
            let (raw, sum) = self.receive_frame()?;
            if checksum(&raw) == sum {
                if self.acks {
                    self.send_raw(b"+")?;
                }
                return decode_rle(&raw).map_err(|why| self.io(format!("{why} in reply `{}`", shown(&raw))));
            }
            if !self.acks {
                return Err(self.io(format!("reply `{}` has a bad checksum {sum:02x}", shown(&raw))));
            }
            self.send_raw(b"-")?;
        }
        Err(self.io(format!("{} replies in a row had bad checksums", RETRANSMITS + 1)))
    }

    /// Reads `$payload#xx`, skipping stray acknowledgements before it.
    fn receive_frame(&mut self) -> Result<(Vec<u8>, u8), DebugError> {
        loop {
            match self.next_byte()? {
                b'$' => return self.frame_body(),
                b'+' => continue,
                other => return Err(self.unexpected("a packet ($…)", &[other])),
            }
        }
    }

    /// The rest of a packet after its `$`: the raw payload and the checksum it states.
    fn frame_body(&mut self) -> Result<(Vec<u8>, u8), DebugError> {
        let mut raw = Vec::new();
        loop {
            match self.next_byte()? {
                b'#' => break,
                byte if raw.len() < MAX_REPLY => raw.push(byte),
                _ => return Err(self.io(format!("reply longer than {MAX_REPLY} bytes without its end (#)"))),
            }
        }
        let digits = [self.next_byte()?, self.next_byte()?];
        match hex_decode(&digits) {
            Some(sum) => Ok((raw, sum[0])),
            None => {
                Err(self.unexpected(&format!("two hex digits of checksum after `{}#`", shown(&raw)), &digits))
            }
        }
    }

    /// The next received byte, waiting for more to arrive until [`PACKET_TIMEOUT`] after the
    /// last send.
    fn next_byte(&mut self) -> Result<u8, DebugError> {
        while self.consumed == self.inbox.len() {
            self.inbox.resize(64 * 1024, 0);
            self.consumed = 0;
            match self.stream.read_until(&mut self.inbox, self.deadline) {
                ReadOutcome::Data(n) => self.inbox.truncate(n),
                ReadOutcome::TimedOut => {
                    self.inbox.clear();
                    return Err(self.io(format!("no answer within {} s", PACKET_TIMEOUT.as_secs())));
                }
                ReadOutcome::Closed(why) => {
                    self.inbox.clear();
                    return Err(self.io(format!("connection lost ({why})")));
                }
                ReadOutcome::Interrupted => {
                    self.inbox.clear();
                    return Err(DebugError::Interrupted);
                }
            }
        }
        self.consumed += 1;
        Ok(self.inbox[self.consumed - 1])
    }

    fn send_raw(&mut self, bytes: &[u8]) -> Result<(), DebugError> {
        if self.detached {
            return Err(self.io("already detached".into()));
        }
        self.stream.write_all(bytes).map_err(|e| self.io(format!("cannot send: {e}")))?;
        self.deadline = Instant::now() + PACKET_TIMEOUT;
        Ok(())
    }

    /// Waits for the stop reply that follows an interrupt, passing over console output.
    fn await_stop(&mut self) -> Result<(), DebugError> {
        loop {
            let reply = self.receive_packet()?;
            match classify(&reply) {
                Reply::Stop => return Ok(()),
                Reply::Output => continue,
                _ => return Err(self.unexpected("a stop reply (S/T) after the interrupt", &reply)),
            }
        }
    }

    fn io(&self, what: String) -> DebugError {
        DebugError::Io(format!("{}: {what}", self.describe()))
    }

    fn unexpected(&self, expected: &str, seen: &[u8]) -> DebugError {
        self.io(format!("expected {expected}, got `{}`", shown(seen)))
    }
}

impl DebugPort for GdbRemote {
    fn describe(&self) -> String {
        format!("gdb-remote {}", self.endpoint)
    }

    fn read_memory(&mut self, address: u64, buf: &mut [u8]) -> Result<(), DebugError> {
        let chunk = self.read_chunk();
        self.while_halted(|gdb| {
            for (i, block) in buf.chunks_mut(chunk).enumerate() {
                gdb.read_block(address + (i * chunk) as u64, block)?;
            }
            Ok(())
        })
    }

    fn write_memory(&mut self, address: u64, data: &[u8]) -> Result<(), DebugError> {
        let chunk = self.write_chunk();
        self.while_halted(|gdb| {
            for (i, block) in data.chunks(chunk).enumerate() {
                gdb.write_block(address + (i * chunk) as u64, block)?;
            }
            Ok(())
        })
    }

    /// Interrupts (raw 0x03) a running target and waits for its stop reply.
    fn halt(&mut self) -> Result<(), DebugError> {
        if !self.running {
            return Ok(());
        }
        self.send_raw(&[0x03])?;
        self.await_stop()?;
        self.running = false;
        Ok(())
    }

    /// `c`: the target runs; its next stop is only awaited by `halt`.
    fn resume(&mut self) -> Result<(), DebugError> {
        if self.running {
            return Ok(());
        }
        self.send_packet(b"c")?;
        self.running = true;
        Ok(())
    }

    /// GDB has no reset packet: `monitor system_reset` (QEMU's), then continue.
    fn reset(&mut self) -> Result<(), DebugError> {
        self.halt()?;
        self.monitor("system_reset")?;
        self.resume()
    }

    fn flash(&mut self, _image: &FlashImage) -> Result<(), DebugError> {
        Err(DebugError::Unsupported(format!(
            "gdb-remote: {} offers no flash programming; write RAM-mapped memory with write_memory",
            self.endpoint
        )))
    }

    /// `D`: the server lets the target run and this client is done.
    fn detach(&mut self) -> Result<(), DebugError> {
        self.halt()?;
        let reply = self.exchange(b"D")?;
        if classify(&reply) != Reply::Ok {
            return Err(self.unexpected("OK to `D` (detach)", &reply));
        }
        self.detached = true;
        self.running = true;
        Ok(())
    }
}

fn connect_error(endpoint: &str, e: &io::Error) -> DebugError {
    if e.kind() == io::ErrorKind::ConnectionRefused {
        DebugError::Refused(format!("no debug server at {endpoint} (connection refused)"))
    } else {
        DebugError::Io(format!("cannot connect to a debug server at {endpoint}: {e}"))
    }
}

/// What the server offers, from its `qSupported` reply.
#[derive(Debug, Default, PartialEq)]
struct Features {
    packet_size: Option<usize>,
    no_ack: bool,
}

impl Features {
    fn parse(reply: &[u8]) -> Features {
        let mut features = Features::default();
        for item in reply.split(|&b| b == b';') {
            if let Some(size) = item.strip_prefix(b"PacketSize=") {
                features.packet_size = parse_hex(size).and_then(|s| usize::try_from(s).ok());
            } else if item == b"QStartNoAckMode+" {
                features.no_ack = true;
            }
        }
        features
    }
}

/// The kinds of reply a GDB server gives.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    /// An empty packet: the server does not know the request.
    Empty,
    Ok,
    /// `Enn` (or `E.text`): the request failed.
    Error,
    /// `S`/`T`: the target stopped.
    Stop,
    /// `W`/`X`: the target's process ended.
    Exited,
    /// `O` + hex: console output.
    Output,
    /// Anything else: data (memory contents, features).
    Data,
}

fn classify(reply: &[u8]) -> Reply {
    let is_hex = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_hexdigit);
    match reply {
        [] => Reply::Empty,
        b"OK" => Reply::Ok,
        // Hex memory contents have an even length, so three characters are never data.
        [b'E', a, b] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => Reply::Error,
        [b'E', b'.', ..] => Reply::Error,
        [b'S', a, b] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => Reply::Stop,
        [b'T', a, b, ..] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => Reply::Stop,
        [b'W' | b'X', a, b, ..] if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => Reply::Exited,
        [b'O', rest @ ..] if is_hex(rest) && rest.len().is_multiple_of(2) => Reply::Output,
        _ => Reply::Data,
    }
}

/// The modulo-256 sum of a packet's payload.
fn checksum(payload: &[u8]) -> u8 {
    payload.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))
}

/// `$payload#xx`.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(payload.len() + 4);
    framed.push(b'$');
    framed.extend_from_slice(payload);
    framed.extend_from_slice(format!("#{:02x}", checksum(payload)).as_bytes());
    framed
}

/// Binary data for `X`: `#`, `$`, `}` and `*` become 0x7d followed by the byte xor 0x20.
fn escape_binary(data: &[u8]) -> Vec<u8> {
    let mut escaped = Vec::with_capacity(data.len() + data.len() / 8);
    for &b in data {
        if matches!(b, b'#' | b'$' | b'}' | b'*') {
            escaped.extend_from_slice(&[b'}', b ^ 0x20]);
        } else {
            escaped.push(b);
        }
    }
    escaped
}

/// Expands run-length encoding: `c*n` is `c` followed by `n - 29` more copies of it.
fn decode_rle(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b != b'*' {
            out.push(b);
            continue;
        }
        let Some(&previous) = out.last() else {
            return Err("run-length marker `*` with nothing before it".into());
        };
        let Some(&count) = bytes.next() else {
            return Err("run-length marker `*` without a count".into());
        };
        if !(b' '..=b'~').contains(&count) || count < 29 + 3 {
            return Err(format!("run-length count `{}` out of range", shown(&[count])));
        }
        out.extend(std::iter::repeat_n(previous, usize::from(count - 29)));
    }
    Ok(out)
}

fn hex_encode(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex digit pairs to bytes; `None` on an odd length or a non-hex character.
fn hex_decode(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2).map(|pair| Some(hex_value(pair[0])? << 4 | hex_value(pair[1])?)).collect()
}

fn hex_value(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|v| v as u8)
}

/// A hex number such as qSupported's `PacketSize=1000`.
fn parse_hex(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 16 {
        return None;
    }
    text.iter().try_fold(0u64, |n, &d| Some(n << 4 | u64::from(hex_value(d)?)))
}

/// Received bytes for a message: non-printables escaped, long replies cut.
fn shown(bytes: &[u8]) -> String {
    let mut text: String =
        bytes.iter().take(SHOWN).flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect();
    if bytes.len() > SHOWN {
        text.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// The inverse of `escape_binary`, as a server applies it.
    fn unescape_binary(escaped: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut bytes = escaped.iter();
        while let Some(&b) = bytes.next() {
            out.push(if b == b'}' { bytes.next().map_or(b, |n| n ^ 0x20) } else { b });
        }
        out
    }

    /// Run-length encoding as a server may apply it (runs of 4 to 97, avoiding `#`/`$` counts).
    fn encode_rle(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < data.len() {
            let mut run = 1;
            while i + run < data.len() && data[i + run] == data[i] && run < 98 {
                run += 1;
            }
            let mut repeat = run - 1;
            while matches!(repeat + 29, 35 | 36) {
                repeat -= 1;
            }
            if repeat >= 3 {
                out.push(data[i]);
                out.extend_from_slice(&[b'*', (repeat + 29) as u8]);
                i += repeat + 1;
            } else {
                out.push(data[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn checksum_is_the_sum_modulo_256() {
        assert_eq!(checksum(b""), 0);
        assert_eq!(checksum(b"OK"), 0x9a);
        assert_eq!(checksum(b"?"), 0x3f);
        assert_eq!(checksum(&[0xff, 0x02]), 0x01);
    }

    #[test]
    fn frames_carry_payload_and_checksum() {
        assert_eq!(frame(b"m21000000,4"), b"$m21000000,4#50".to_vec());
        assert_eq!(frame(b""), b"$#00".to_vec());
        assert_eq!(frame(b"OK"), b"$OK#9a".to_vec());
    }

    #[test]
    fn escapes_exactly_the_four_special_bytes() {
        assert_eq!(escape_binary(b"#$}*"), vec![0x7d, 0x03, 0x7d, 0x04, 0x7d, 0x5d, 0x7d, 0x0a]);
        assert_eq!(escape_binary(&[0x00, 0x7e, 0xff, 0x03]), vec![0x00, 0x7e, 0xff, 0x03]);
    }

    #[test]
    fn decodes_run_lengths() {
        // From the GDB manual: "0* " is "0000".
        assert_eq!(decode_rle(b"0* ").unwrap(), b"0000");
        assert_eq!(decode_rle(b"T05thread:01;").unwrap(), b"T05thread:01;");
        assert_eq!(decode_rle(b"ab*\"c").unwrap(), b"abbbbbbc");
        assert!(decode_rle(b"*a").unwrap_err().contains("nothing before"));
        assert!(decode_rle(b"a*").unwrap_err().contains("without a count"));
        assert!(decode_rle(b"a*\x01").unwrap_err().contains("out of range"));
    }

    #[test]
    fn parses_hex() {
        assert_eq!(hex_decode(b"00ff7Fa0"), Some(vec![0x00, 0xff, 0x7f, 0xa0]));
        assert_eq!(hex_decode(b"abc"), None);
        assert_eq!(hex_decode(b"zz"), None);
        assert_eq!(parse_hex(b"1000"), Some(0x1000));
        assert_eq!(parse_hex(b""), None);
        assert_eq!(parse_hex(b"12345678123456789"), None);
        assert_eq!(hex_encode(&[0xde, 0xad, 0x01]), "dead01");
    }

    #[test]
    fn reads_qemu_features() {
        let qemu = b"PacketSize=1000;qXfer:features:read+;vContSupported+;multiprocess+";
        assert_eq!(Features::parse(qemu), Features { packet_size: Some(0x1000), no_ack: false });
        let openocd = b"PacketSize=4000;qXfer:memory-map:read-;QStartNoAckMode+";
        assert_eq!(Features::parse(openocd), Features { packet_size: Some(0x4000), no_ack: true });
        assert_eq!(Features::parse(b""), Features::default());
    }

    #[test]
    fn classifies_replies() {
        assert_eq!(classify(b""), Reply::Empty);
        assert_eq!(classify(b"OK"), Reply::Ok);
        assert_eq!(classify(b"E14"), Reply::Error);
        assert_eq!(classify(b"E.memory locked"), Reply::Error);
        assert_eq!(classify(b"T05thread:p01.01;"), Reply::Stop);
        assert_eq!(classify(b"S02"), Reply::Stop);
        assert_eq!(classify(b"W00"), Reply::Exited);
        assert_eq!(classify(b"X09"), Reply::Exited);
        assert_eq!(classify(b"O68690a"), Reply::Output);
        assert_eq!(classify(b"abcd0000"), Reply::Data);
        // Data that merely starts like another kind.
        assert_eq!(classify(b"E1"), Reply::Data);
        assert_eq!(classify(b"E1a2"), Reply::Data);
        assert_eq!(classify(b"O6"), Reply::Data);
    }

    #[test]
    fn messages_escape_what_was_received() {
        assert_eq!(shown(b"$E\x0314\xff"), "$E\\x0314\\xff");
        assert!(shown(&[b'a'; 200]).ends_with("… (200 bytes)"));
    }

    #[test]
    fn refused_connection_is_the_locked_port_answer() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            connect_error("10.0.0.2:1234", &refused),
            DebugError::Refused("no debug server at 10.0.0.2:1234 (connection refused)".into())
        );
        let timeout = io::Error::from(io::ErrorKind::TimedOut);
        assert!(matches!(connect_error("10.0.0.2:1234", &timeout), DebugError::Io(_)));
    }

    proptest! {
        #[test]
        fn escaping_round_trips_and_hides_framing_bytes(data in vec(any::<u8>(), 0..512)) {
            let escaped = escape_binary(&data);
            prop_assert!(!escaped.iter().any(|b| matches!(b, b'#' | b'$' | b'*')));
            prop_assert_eq!(unescape_binary(&escaped), data);
        }

        #[test]
        fn run_length_decoding_inverts_encoding(
            data in vec(prop_oneof![Just(b'0'), Just(b'f'), any::<u8>()], 0..512)
        ) {
            prop_assume!(!data.contains(&b'*'));
            prop_assert_eq!(decode_rle(&encode_rle(&data)).unwrap(), data);
        }

        #[test]
        fn hex_round_trips(data in vec(any::<u8>(), 0..256)) {
            prop_assert_eq!(hex_decode(hex_encode(&data).as_bytes()), Some(data));
        }

        #[test]
        fn framed_packets_verify(text in "[ -\"%-~]{0,256}") {
            let payload = text.as_bytes();
            let framed = frame(payload);
            let body = &framed[1..framed.len() - 3];
            let sum = hex_decode(&framed[framed.len() - 2..]).unwrap()[0];
            prop_assert_eq!(body, payload);
            prop_assert_eq!(checksum(body), sum);
        }

        #[test]
        fn classification_never_panics(reply in vec(any::<u8>(), 0..16)) {
            let _ = classify(&reply);
        }
    }
}
