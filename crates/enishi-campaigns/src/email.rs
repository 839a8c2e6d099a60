//! Email over SMTP: the server's address from `ENISHI_SMTP_URL` (or the `smtp_url` setting),
//! messages built by lettre as multipart text + HTML with the one-click unsubscribe headers of
//! RFC 8058, and one SMTP session reused for many messages (a small client of our own: it
//! must stop between `DATA` and the content, and send the content with its final dot at once).
//!
//! The connection is plain (`smtp://`), upgraded with STARTTLS (`smtp://…?tls=starttls`) or
//! TLS from the first byte (`smtps://`), verified by rustls against the webpki roots plus an
//! optional extra CA certificate (`ENISHI_SMTP_CA_FILE` or the `smtp_ca_file` setting). A
//! login is only ever sent over an encrypted connection, or to a loopback host.
//!
//! Delivery is split where exactly-once needs it: the envelope and `DATA` first, then the
//! caller records the hand-over, then the message's content and its final dot.

use crate::template::Rendered;
use crate::Error;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Address;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Settings key of the SMTP server's address when `ENISHI_SMTP_URL` is not set.
pub const SMTP_URL: &str = "smtp_url";
/// Settings key of the default From address (`ENISHI_SMTP_FROM` overrides it).
pub const SMTP_FROM: &str = "smtp_from";
/// Settings key of a PEM file of CA certificates trusted besides the webpki roots, for a
/// private relay (`ENISHI_SMTP_CA_FILE` overrides it).
pub const SMTP_CA_FILE: &str = "smtp_ca_file";

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// No encryption (`smtp://`, or `?tls=none`).
    Plain,
    /// A plain connection upgraded with STARTTLS before anything else is sent; a server that
    /// does not offer it is refused (`smtp://…?tls=starttls`, and `smtp://` with a login to a
    /// host other than loopback).
    StartTls,
    /// TLS from the first byte (`smtps://`, port 465 by default).
    Tls,
}

/// How to reach the SMTP server.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// User and password for AUTH, if any.
    pub credentials: Option<(String, String)>,
    /// Seconds to wait for the server.
    pub timeout: Duration,
    /// Plain, STARTTLS or TLS.
    pub security: Security,
    /// A PEM file of CA certificates trusted besides the webpki roots.
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.security {
            Security::Plain => write!(f, "smtp://{}:{}", self.host, self.port),
            Security::StartTls => write!(f, "smtp://{}:{}?tls=starttls", self.host, self.port),
            Security::Tls => write!(f, "smtps://{}:{}", self.host, self.port),
        }
    }
}

/// Whether `host` is this machine (`localhost` or a loopback address): the one place a login
/// may travel unencrypted.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl SmtpConfig {
    /// Reads `smtp://[user:pass@]host[:port][?tls=starttls|none]` (port 25 when absent) or
    /// `smtps://[user:pass@]host[:port]` (TLS from the first byte, port 465 when absent).
    /// User and password are percent-decoded. `smtp://` is plain unless `?tls=starttls` asks
    /// for STARTTLS — except with a login to a host other than loopback, which is always
    /// upgraded with STARTTLS (a password is never sent in clear to another machine; asking
    /// for that with `?tls=none` is refused).
    pub fn parse(url: &str) -> Result<SmtpConfig, Error> {
        let bad = |why: &str| Error::Invalid(format!("SMTP address '{}': {why}", redact(url)));
        let trimmed = url.trim();
        let (implicit, rest) = if let Some(r) = trimmed.strip_prefix("smtps://") {
            (true, r)
        } else if let Some(r) = trimmed.strip_prefix("smtp://") {
            (false, r)
        } else {
            return Err(bad("it must start with smtp:// or smtps://"));
        };
        // The login first (a password may hold any character but @), then ?options.
        let (auth, hostport) = match rest.rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, rest),
        };
        let (hostport, query) = match hostport.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (hostport, None),
        };
        let mut asked: Option<Security> = None;
        for pair in query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("tls", "starttls")) if !implicit => asked = Some(Security::StartTls),
                Some(("tls", "none")) if !implicit => asked = Some(Security::Plain),
                Some(("tls", _)) if implicit => {
                    return Err(bad("smtps:// is TLS from the first byte; leave out ?tls="));
                }
                Some(("tls", _)) => return Err(bad("tls= takes starttls or none")),
                _ => return Err(bad(&format!("unknown option '{pair}' (the only one is tls=starttls|none)"))),
            }
        }
        let hostport = hostport.trim_end_matches('/');
        let credentials = match auth {
            None => None,
            Some(a) => {
                let (u, p) = a.split_once(':').ok_or_else(|| bad("write the login as user:password@"))?;
                Some((decode(u), decode(p)))
            }
        };
        let default_port = if implicit { 465 } else { 25 };
        let port = |p: &str| p.parse::<u16>().map_err(|_| bad("the port is not a number"));
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            // An IPv6 address: [::1]:25.
            let (h, after) = bracketed.split_once(']').ok_or_else(|| bad("an unclosed ["))?;
            match after.strip_prefix(':') {
                Some(p) => (h.to_string(), port(p)?),
                None if after.is_empty() => (h.to_string(), default_port),
                None => return Err(bad("write the port as [address]:port")),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), port(p)?),
                None => (hostport.to_string(), default_port),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let security = match (implicit, asked) {
            (true, _) => Security::Tls,
            (false, Some(Security::Plain)) if credentials.is_some() && !is_loopback(&host) => {
                return Err(bad(
                    "a password is never sent unencrypted to another machine: use smtps:// or ?tls=starttls",
                ));
            }
            (false, Some(s)) => s,
            (false, None) if credentials.is_some() && !is_loopback(&host) => Security::StartTls,
            (false, None) => Security::Plain,
        };
        Ok(SmtpConfig { host, port, credentials, timeout: Duration::from_secs(60), security, ca_file: None })
    }

    /// Trusts the CA certificates of the PEM file `path` besides the webpki roots; refused
    /// when the file cannot be read or holds no certificate.
    pub fn with_ca_file(mut self, path: &Path) -> Result<SmtpConfig, Error> {
        check_ca_file(path)?;
        self.ca_file = Some(path.to_path_buf());
        Ok(self)
    }

    /// Whether the connection is encrypted (STARTTLS or TLS).
    pub fn is_encrypted(&self) -> bool {
        self.security != Security::Plain
    }
}

/// Checks that `path` is a PEM file of certificates (for `smtp_ca_file`).
pub fn check_ca_file(path: &Path) -> Result<(), Error> {
    extra_roots(path).map(|_| ()).map_err(Error::Invalid)
}

/// The certificates of a PEM file, or why they cannot be read.
fn extra_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let what = |why: String| format!("the SMTP CA file {}: {why}", path.display());
    let pem = std::fs::read(path).map_err(|e| what(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| what(format!("not PEM certificates ({e})")))?;
    if certs.is_empty() {
        return Err(what("holds no certificate (-----BEGIN CERTIFICATE-----)".into()));
    }
    Ok(certs)
}

/// The rustls settings: the webpki roots plus the configured CA file.
fn tls_config(config: &SmtpConfig) -> Result<Arc<rustls::ClientConfig>, Refusal> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = &config.ca_file {
        for cert in extra_roots(path).map_err(Refusal::Setup)? {
            roots.add(cert).map_err(|e| Refusal::Setup(format!("the SMTP CA file {}: {e}", path.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Refusal::Setup(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(tls))
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// The SMTP server and default From address in force: `ENISHI_SMTP_URL`, `ENISHI_SMTP_FROM`
/// and `ENISHI_SMTP_CA_FILE` when set, else the settings; `None` when no server is
/// configured.
pub fn configured(c: &mut dyn enishi_store::Conn) -> Result<Option<(SmtpConfig, String)>, Error> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let url = match env("ENISHI_SMTP_URL") {
        Some(u) => u,
        None => match enishi_store::repo::settings::get(c, SMTP_URL)? {
            Some(u) => u,
            None => return Ok(None),
        },
    };
    let from = match env("ENISHI_SMTP_FROM") {
        Some(f) => f,
        None => enishi_store::repo::settings::get(c, SMTP_FROM)?.unwrap_or_default(),
    };
    let ca_file = match env("ENISHI_SMTP_CA_FILE") {
        Some(f) => Some(f),
        None => enishi_store::repo::settings::get(c, SMTP_CA_FILE)?,
    };
    let ca_file = ca_file.filter(|f| !f.trim().is_empty() && !f.trim().eq_ignore_ascii_case("none"));
    let mut config = SmtpConfig::parse(&url)?;
    if let Some(path) = ca_file {
        config = config.with_ca_file(Path::new(path.trim()))?;
    }
    Ok(Some((config, from)))
}

/// Whether `s` is an address SMTP can send to (and from).
pub fn is_address(s: &str) -> bool {
    s.trim().parse::<Address>().is_ok()
}

/// One email to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// From.
    pub from: Mailbox,
    /// To.
    pub to: Mailbox,
    /// The unsubscribe page (List-Unsubscribe).
    pub unsubscribe_url: String,
    /// A Message-ID unique to this campaign and customer.
    pub message_id: String,
    /// Campaign and variant, for the X-Enishi-Campaign header.
    pub tag: String,
}

/// The message as sent: headers, then text and HTML alternatives.
pub fn build(out: &Outgoing, rendered: &Rendered) -> Result<Vec<u8>, Error> {
    let header = |name: &'static str, value: String| HeaderValue::new(HeaderName::new_from_ascii_str(name), value);
    let message = lettre::Message::builder()
        .from(out.from.clone())
        .to(out.to.clone())
        .subject(rendered.subject.clone())
        .message_id(Some(out.message_id.clone()))
        .raw_header(header("List-Unsubscribe", format!("<{}>", out.unsubscribe_url)))
        .raw_header(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()))
        .raw_header(header("X-Enishi-Campaign", out.tag.clone()))
        .multipart(MultiPart::alternative_plain_html(rendered.text.clone(), rendered.html.clone()))
        .map_err(|e| Error::Invalid(format!("the message: {e}")))?;
    Ok(message.formatted())
}

/// What became of one step of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Try again later (4xx, a lost connection).
    Transient(String),
    /// Will never work for this recipient (5xx to RCPT): suppress the address.
    BadRecipient(String),
    /// The server refused this message for good (5xx to the content).
    Permanent(String),
    /// No message can go out as configured — the server's certificate does not verify, TLS
    /// fails, STARTTLS is required but not offered, the login is refused: nothing is sent
    /// (and no message is counted as tried) until the configuration or the server is fixed.
    Setup(String),
}

impl Refusal {
    /// What the server or the connection said.
    pub fn reason(&self) -> &str {
        match self {
            Refusal::Transient(s) | Refusal::BadRecipient(s) | Refusal::Permanent(s) | Refusal::Setup(s) => s,
        }
    }
}

/// Sends one message of Enishi's own (a task digest, a sign-up confirmation) on `session`,
/// opening it first when there is none or the last one broke. After a refusal the session is
/// reset for the next message, or dropped when it cannot be. The error is the reason, for the
/// job that asked for the message.
pub fn send_on(
    session: &mut Option<Session>,
    smtp: &SmtpConfig,
    from: &Address,
    to: &Address,
    message: &[u8],
) -> Result<(), String> {
    if session.as_ref().is_none_or(Session::is_broken) {
        *session = Some(Session::open(smtp).map_err(|r| r.reason().to_string())?);
    }
    let Some(open) = session.as_mut() else { return Err("no SMTP session".into()) };
    let Err(r) = open.begin(from, to).and_then(|()| open.finish(message)) else { return Ok(()) };
    if !open.reset() {
        *session = None;
    }
    Err(r.reason().to_string())
}

/// The connection under a session: plain TCP, or TLS over it.
enum Transport {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Transport::Plain(s) => s.read(buf),
            Transport::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Transport::Plain(s) => s.write(buf),
            Transport::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Transport::Plain(s) => s.flush(),
            Transport::Tls(s) => s.flush(),
        }
    }
}

/// An open SMTP session: a TCP connection (with TLS when configured) with Nagle's algorithm
/// off (the content and its final dot would otherwise wait for a delayed acknowledgement, 40
/// ms a message).
pub struct Session {
    reader: BufReader<Transport>,
    broken: bool,
}

/// A server reply: its code and text.
type Reply = (u16, String);

fn io_refusal(e: std::io::Error) -> Refusal {
    Refusal::Transient(format!("connection: {e}"))
}

/// What a failed TLS handshake means: a certificate or protocol failure is the setup's (it
/// will fail the same way every time); a timeout or a reset is transient.
fn tls_refusal(config: &SmtpConfig, e: std::io::Error) -> Refusal {
    let server = format!("{}:{}", config.host, config.port);
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidCertificate(why)) => Refusal::Setup(format!(
            "the certificate of the SMTP server {server} does not verify ({why:?}); for a private relay or \
             a self-signed certificate, trust its CA with ENISHI_SMTP_CA_FILE or `enishi settings --smtp-ca-file`"
        )),
        Some(other) => Refusal::Setup(format!(
            "TLS with the SMTP server {server} failed: {other} (is it a TLS port? smtps:// is TLS from the \
             first byte, usually port 465; STARTTLS is smtp://…:587?tls=starttls)"
        )),
        None => Refusal::Transient(format!("TLS with {server}: {e}")),
    }
}

/// Wraps `tcp` in TLS for `config.host` and completes the handshake.
fn start_tls(config: &SmtpConfig, mut tcp: TcpStream) -> Result<Transport, Refusal> {
    let name = ServerName::try_from(config.host.clone())
        .map_err(|_| Refusal::Setup(format!("'{}' is not a host name TLS can verify", config.host)))?;
    let mut conn =
        rustls::ClientConnection::new(tls_config(config)?, name).map_err(|e| Refusal::Setup(format!("TLS: {e}")))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| tls_refusal(config, e))?;
    }
    Ok(Transport::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))))
}

impl Session {
    /// Connects (with TLS for `smtps://`), reads the greeting, says EHLO, upgrades with
    /// STARTTLS when the configuration asks for it (and says EHLO again), and logs in (AUTH
    /// PLAIN) — only over an encrypted connection or to a loopback host.
    pub fn open(config: &SmtpConfig) -> Result<Session, Refusal> {
        let address = (config.host.as_str(), config.port)
            .to_socket_addrs()
            .map_err(io_refusal)?
            .next()
            .ok_or_else(|| Refusal::Transient(format!("{} does not resolve", config.host)))?;
        let stream = TcpStream::connect_timeout(&address, config.timeout).map_err(io_refusal)?;
        stream.set_nodelay(true).map_err(io_refusal)?;
        stream.set_read_timeout(Some(config.timeout)).map_err(io_refusal)?;
        stream.set_write_timeout(Some(config.timeout)).map_err(io_refusal)?;
        let transport = match config.security {
            Security::Tls => start_tls(config, stream)?,
            Security::Plain | Security::StartTls => Transport::Plain(stream),
        };
        let mut s = Session { reader: BufReader::new(transport), broken: false };
        s.expect(2, false)?;
        let offers = s.ehlo()?;
        if config.security == Security::StartTls {
            if !offers.iter().any(|o| o.eq_ignore_ascii_case("STARTTLS")) {
                return Err(Refusal::Setup(format!(
                    "the SMTP server {}:{} does not offer STARTTLS, which the address requires \
                     (?tls=starttls, or a login to a host other than loopback)",
                    config.host, config.port
                )));
            }
            s.send(b"STARTTLS\r\n")?;
            let (code, text) = s.reply()?;
            if code != 220 {
                return Err(Refusal::Setup(format!("the SMTP server refused STARTTLS: {code} {text}")));
            }
            if !s.reader.buffer().is_empty() {
                // Anything sent before the handshake could have been injected on the way.
                return Err(Refusal::Setup("the SMTP server sent data before the TLS handshake".into()));
            }
            let Transport::Plain(tcp) = s.reader.into_inner() else {
                return Err(Refusal::Setup("STARTTLS on a connection that is already TLS".into()));
            };
            s = Session { reader: BufReader::new(start_tls(config, tcp)?), broken: false };
            s.ehlo()?;
        }
        if let Some((user, pass)) = &config.credentials {
            if !config.is_encrypted() && !is_loopback(&config.host) {
                return Err(Refusal::Setup(format!(
                    "a password is never sent unencrypted to {}: use smtps:// or ?tls=starttls",
                    config.host
                )));
            }
            use base64::Engine;
            let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"));
            s.send(format!("AUTH PLAIN {token}\r\n").as_bytes())?;
            let (code, text) = s.reply()?;
            match code / 100 {
                2 => {}
                5 => return Err(Refusal::Setup(format!("the SMTP server refused the login: {code} {text}"))),
                _ => return Err(Refusal::Transient(format!("{code} {text}"))),
            }
        }
        Ok(s)
    }

    /// Says EHLO and returns the extensions the server offers (the first word of each line
    /// after the greeting).
    fn ehlo(&mut self) -> Result<Vec<String>, Refusal> {
        self.send(b"EHLO enishi.localhost\r\n")?;
        let (code, lines) = self.reply_lines()?;
        if code / 100 != 2 {
            return Err(Refusal::Transient(format!("EHLO: {code} {}", lines.join(" "))));
        }
        Ok(lines.iter().skip(1).filter_map(|l| l.split_whitespace().next().map(str::to_string)).collect())
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        let out = self.reader.get_mut();
        out.write_all(bytes).and_then(|()| out.flush()).map_err(|e| {
            self.broken = true;
            io_refusal(e)
        })
    }

    fn reply(&mut self) -> Result<Reply, Refusal> {
        let (code, lines) = self.reply_lines()?;
        Ok((code, lines.join(" ")))
    }

    /// Reads a reply: its code and the text of each of its lines.
    fn reply_lines(&mut self) -> Result<(u16, Vec<String>), Refusal> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).map_err(|e| {
                self.broken = true;
                io_refusal(e)
            })?;
            if n == 0 || line.len() < 4 || line.len() > 2_048 || lines.len() > 100 {
                self.broken = true;
                return Err(Refusal::Transient("the server closed the connection".into()));
            }
            let Some(code) = line.get(..3).and_then(|c| c.parse::<u16>().ok()) else {
                self.broken = true;
                return Err(Refusal::Transient(format!("not an SMTP reply: {}", line.trim_end())));
            };
            lines.push(line.get(4..).unwrap_or_default().trim_end().to_string());
            if line.as_bytes()[3] != b'-' {
                return Ok((code, lines));
            }
        }
    }

    /// Reads a reply and wants its first digit to be `class` (2, or 3 after DATA).
    fn expect(&mut self, class: u16, at_recipient: bool) -> Result<(), Refusal> {
        let (code, text) = self.reply()?;
        if code / 100 == class {
            return Ok(());
        }
        let said = format!("{code} {text}");
        if code == 421 {
            self.broken = true;
        }
        Err(match code / 100 {
            5 if at_recipient => Refusal::BadRecipient(said),
            5 => Refusal::Permanent(said),
            _ => Refusal::Transient(said),
        })
    }

    /// Sends the envelope and `DATA`: after this only the content is left.
    pub fn begin(&mut self, from: &Address, to: &Address) -> Result<(), Refusal> {
        self.send(format!("MAIL FROM:<{from}>\r\n").as_bytes())?;
        self.expect(2, false)?;
        self.send(format!("RCPT TO:<{to}>\r\n").as_bytes())?;
        self.expect(2, true)?;
        self.send(b"DATA\r\n")?;
        self.expect(3, false)
    }

    /// Sends the content (dot-stuffed) with its final dot in one write, and reads the answer.
    pub fn finish(&mut self, message: &[u8]) -> Result<(), Refusal> {
        let mut out = Vec::with_capacity(message.len() + 64);
        let mut line_start = true;
        for &b in message {
            if line_start && b == b'.' {
                out.push(b'.');
            }
            out.push(b);
            line_start = b == b'\n';
        }
        if !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        self.send(&out)?;
        self.expect(2, false)
    }

    /// Abandons a transaction begun with [`Session::begin`] (RSET); `false` when the session
    /// is no longer usable.
    pub fn reset(&mut self) -> bool {
        if self.broken {
            return false;
        }
        self.send(b"RSET\r\n").is_ok() && self.expect(2, false).is_ok()
    }

    /// Whether the session broke (it must be opened again).
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// Says goodbye.
    pub fn close(mut self) {
        if self.send(b"QUIT\r\n").is_ok() {
            let _ = self.reply();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_addresses_are_read_and_passwords_decoded() {
        let c = SmtpConfig::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.credentials, c.security), ("127.0.0.1", 2525, None, Security::Plain));
        let c = SmtpConfig::parse("smtp://aya%40shop:p%3Ass@mail.example.com").unwrap();
        assert_eq!(c.port, 25);
        assert_eq!(c.credentials, Some(("aya@shop".into(), "p:ss".into())));
        assert!(SmtpConfig::parse("http://x").is_err());
        assert!(SmtpConfig::parse("smtp://x:port").is_err());
        assert!(SmtpConfig::parse("smtp://:25").is_err());
    }

    #[test]
    fn encryption_is_read_from_the_address_and_a_login_never_travels_in_clear() {
        let c = SmtpConfig::parse("smtps://u:secret@mail.example.com").unwrap();
        assert_eq!((c.port, c.security), (465, Security::Tls));
        assert_eq!(format!("{c:?}"), "smtps://mail.example.com:465", "no password in the debug form");
        let c = SmtpConfig::parse("smtp://mail.example.com:587?tls=starttls").unwrap();
        assert_eq!((c.port, c.security, c.credentials), (587, Security::StartTls, None));
        // A login to another machine is upgraded with STARTTLS; to loopback it stays plain.
        let c = SmtpConfig::parse("smtp://u:p@mail.example.com:587").unwrap();
        assert_eq!(c.security, Security::StartTls);
        let c = SmtpConfig::parse("smtp://u:p?x@127.0.0.1:2525").unwrap();
        assert_eq!((c.security, c.credentials), (Security::Plain, Some(("u".into(), "p?x".into()))));
        let c = SmtpConfig::parse("smtp://u:p@[::1]:2525?tls=none").unwrap();
        assert_eq!((c.host.as_str(), c.port, c.security), ("::1", 2525, Security::Plain));
        let e = SmtpConfig::parse("smtp://u:secret@mail.example.com?tls=none").unwrap_err().to_string();
        assert!(e.contains("never sent unencrypted") && !e.contains("secret"), "{e}");
        for wrong in ["smtps://h?tls=starttls", "smtp://h?tls=yes", "smtp://h?ssl=1", "smtp://[::1:25"] {
            assert!(SmtpConfig::parse(wrong).is_err(), "{wrong}");
        }
        assert!(is_loopback("localhost") && is_loopback("127.0.0.2") && is_loopback("::1"));
        assert!(!is_loopback("mail.example.com") && !is_loopback("10.0.0.1"));
    }

    #[test]
    fn a_ca_file_that_holds_no_certificate_is_refused() {
        let dir = std::env::temp_dir().join(format!("enishi-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("empty.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let c = SmtpConfig::parse("smtps://mail.example.com").unwrap();
        let e = c.clone().with_ca_file(&path).unwrap_err().to_string();
        assert!(e.contains("no certificate"), "{e}");
        let e = c.with_ca_file(&dir.join("missing.pem")).unwrap_err().to_string();
        assert!(e.contains("missing.pem"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
