//! Connections to the receiver: TCP, or TLS with rustls over a std `TcpStream`, made
//! non-blocking after the handshake so the sender thread never waits on a slow peer.

use super::config::{SyslogConfig, Transport};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// Why a connection attempt or a connection failed.
#[derive(Debug)]
pub enum Failure {
    /// Resolving or connecting failed.
    Connect(io::Error),
    /// The TLS handshake failed (certificate not trusted, wrong name, protocol error).
    Tls(String),
    /// Writing failed (reset, broken pipe).
    Send(io::Error),
    /// The receiver closed the connection.
    PeerClosed,
}

/// TLS client settings built once from the configuration.
pub struct TlsSetup {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

/// The host part of `host:port` (brackets of an IPv6 literal removed).
pub fn host_of(address: &str) -> &str {
    let h = address.rsplit_once(':').map(|(h, _)| h).unwrap_or(address);
    h.trim_start_matches('[').trim_end_matches(']')
}

impl TlsSetup {
    /// Loads the CA file and the optional client certificate and key.
    pub fn new(c: &SyslogConfig) -> Result<TlsSetup, String> {
        let mut roots = RootCertStore::empty();
        if let Some(ca) = &c.tls_ca_file {
            let certs =
                CertificateDer::pem_file_iter(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("{}: {e}", ca.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", ca.display()))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let b = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots);
        let config = match (&c.tls_cert_file, &c.tls_key_file) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_file_iter(cert)
                    .map_err(|e| format!("{}: {e}", cert.display()))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("{}: {e}", cert.display()))?;
                // The key's content is never printed, only that it could not be read.
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|_| format!("{}: no usable private key", key.display()))?;
                b.with_client_auth_cert(chain, key)
                    .map_err(|e| format!("client certificate: {e}"))?
            }
            (None, None) => b.with_no_client_auth(),
            _ => return Err("tls_cert_file and tls_key_file go together".into()),
        };
        let name = c
            .tls_server_name
            .clone()
            .unwrap_or_else(|| host_of(&c.address).to_string());
        let server_name = ServerName::try_from(name.clone())
            .map_err(|_| format!("invalid TLS server name {name:?}"))?;
        Ok(TlsSetup {
            config: Arc::new(config),
            server_name,
        })
    }
}

/// An open connection.
pub enum Conn {
    Tcp(TcpStream),
    Tls(Box<ClientConnection>, TcpStream),
}

fn resolve(address: &str) -> io::Result<Vec<SocketAddr>> {
    Ok(address.to_socket_addrs()?.collect())
}

/// Connects (and handshakes) within `timeout`.
pub fn connect(
    transport: Transport,
    address: &str,
    tls: Option<&TlsSetup>,
    timeout: Duration,
) -> Result<Conn, Failure> {
    let addrs = resolve(address).map_err(Failure::Connect)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "address resolves to nothing");
    let mut sock = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                sock = Some(s);
                break;
            }
            Err(e) => last = e,
        }
    }
    let sock = sock.ok_or(Failure::Connect(last))?;
    let _ = sock.set_nodelay(true);
    match (transport, tls) {
        (Transport::Tls, Some(t)) => {
            let mut conn = ClientConnection::new(t.config.clone(), t.server_name.clone())
                .map_err(|e| Failure::Tls(e.to_string()))?;
            sock.set_read_timeout(Some(timeout))
                .and_then(|_| sock.set_write_timeout(Some(timeout)))
                .map_err(Failure::Connect)?;
            let mut s = &sock;
            while conn.is_handshaking() {
                if let Err(e) = conn.complete_io(&mut s) {
                    return Err(Failure::Tls(e.to_string()));
                }
            }
            sock.set_nonblocking(true).map_err(Failure::Connect)?;
            Ok(Conn::Tls(Box::new(conn), sock))
        }
        (Transport::Tls, None) => Err(Failure::Tls("no TLS settings".into())),
        _ => {
            sock.set_nonblocking(true).map_err(Failure::Connect)?;
            Ok(Conn::Tcp(sock))
        }
    }
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

/// Bytes our TCP stack has sent but the peer has not acknowledged, plus unsent bytes
/// (`SIOCOUTQ`); `None` if the kernel does not say.
#[allow(unsafe_code)] // reason: SIOCOUTQ has no safe wrapper in libc, rustix or socket2.
fn unacked(sock: &TcpStream) -> Option<u64> {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one c_int through the pointer we pass.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
    (r == 0).then_some(n.max(0) as u64)
}

impl Conn {
    fn sock(&self) -> &TcpStream {
        match self {
            Conn::Tcp(s) | Conn::Tls(_, s) => s,
        }
    }

    /// Writes as much of `buf` as the connection takes now; returns the bytes of `buf`
    /// taken and the bytes written to the socket (the same for TCP; TLS records for TLS).
    pub fn write_some(&mut self, buf: &[u8]) -> Result<(usize, u64), Failure> {
        match self {
            Conn::Tcp(s) => {
                let mut done = 0;
                while done < buf.len() {
                    match s.write(buf.get(done..).unwrap_or_default()) {
                        Ok(0) => return Err(Failure::PeerClosed),
                        Ok(n) => done += n,
                        Err(e) if would_block(&e) => break,
                        Err(e) => return Err(Failure::Send(e)),
                    }
                }
                Ok((done, done as u64))
            }
            Conn::Tls(c, s) => {
                let mut done = 0;
                let mut wire = 0u64;
                loop {
                    while c.wants_write() {
                        match c.write_tls(s) {
                            Ok(n) => wire += n as u64,
                            Err(e) if would_block(&e) => return Ok((done, wire)),
                            Err(e) => return Err(Failure::Send(e)),
                        }
                    }
                    if done >= buf.len() {
                        return Ok((done, wire));
                    }
                    let end = buf.len().min(done + 16_384);
                    match c.writer().write(buf.get(done..end).unwrap_or_default()) {
                        // rustls' plaintext buffer is full: wait for the socket.
                        Ok(0) => return Ok((done, wire)),
                        Ok(n) => done += n,
                        Err(e) => return Err(Failure::Send(e)),
                    }
                }
            }
        }
    }

    /// Bytes written to the socket that the peer's TCP has not acknowledged yet
    /// (`SIOCOUTQ`); `None` if the kernel does not say.
    pub fn unacked(&self) -> Option<u64> {
        unacked(self.sock())
    }

    /// TLS: rustls still holds records to write.
    pub fn tls_pending(&self) -> bool {
        matches!(self, Conn::Tls(c, _) if c.wants_write())
    }

    /// Reads and discards what the peer sent (syslog receivers send nothing but TLS
    /// records); reports a close or an error.
    pub fn poll_peer(&mut self) -> Result<(), Failure> {
        let mut buf = [0u8; 4096];
        match self {
            Conn::Tcp(s) => loop {
                match s.read(&mut buf) {
                    Ok(0) => return Err(Failure::PeerClosed),
                    Ok(_) => {}
                    Err(e) if would_block(&e) => return Ok(()),
                    Err(e) => return Err(Failure::Send(e)),
                }
            },
            Conn::Tls(c, s) => loop {
                match c.read_tls(s) {
                    Ok(0) => return Err(Failure::PeerClosed),
                    Ok(_) => {
                        let st = c
                            .process_new_packets()
                            .map_err(|e| Failure::Tls(e.to_string()))?;
                        if st.peer_has_closed() {
                            return Err(Failure::PeerClosed);
                        }
                        let mut r = c.reader();
                        while matches!(r.read(&mut buf), Ok(n) if n > 0) {}
                    }
                    Err(e) if would_block(&e) => return Ok(()),
                    Err(e) => return Err(Failure::Send(e)),
                }
            },
        }
    }

    /// Closes politely (TLS close_notify), without waiting.
    /// Ends our sending side (TLS close_notify, then a TCP FIN) and keeps reading: a peer
    /// that then closes cleanly has read everything we sent.
    pub fn half_close(&mut self) {
        if let Conn::Tls(c, s) = self {
            c.send_close_notify();
            let _ = c.write_tls(s);
        }
        let _ = self.sock().shutdown(std::net::Shutdown::Write);
    }

    pub fn shutdown(mut self) {
        if let Conn::Tls(c, s) = &mut self {
            c.send_close_notify();
            let _ = c.write_tls(s);
        }
        let _ = self.sock().shutdown(std::net::Shutdown::Both);
    }
}
