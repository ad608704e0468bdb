//! TCP channels (a device's management port, a gateway's console server).

use std::io;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::Stream;

pub fn open(host: &str, port: u16, timeout: Duration) -> io::Result<Stream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host}:{port} resolves to no address"));
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                // Operations are short lines: send each one at once.
                s.set_nodelay(true)?;
                return Ok(Stream::new(Box::new(s), addr.to_string()));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}
