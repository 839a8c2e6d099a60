//! Email over SMTP: the server's address from `ENISHI_SMTP_URL` (or the `smtp_url` setting),
//! messages built by lettre as multipart text + HTML with the one-click unsubscribe headers of
//! RFC 8058, and one SMTP session reused for many messages (a small client of our own: it
//! must stop between `DATA` and the content, and send the content with its final dot at once).
//!
//! Delivery is split where exactly-once needs it: the envelope and `DATA` first, then the
//! caller records the hand-over, then the message's content and its final dot.

use crate::template::Rendered;
use crate::Error;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Address;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Settings key of the SMTP server's address when `ENISHI_SMTP_URL` is not set.
pub const SMTP_URL: &str = "smtp_url";
/// Settings key of the default From address (`ENISHI_SMTP_FROM` overrides it).
pub const SMTP_FROM: &str = "smtp_from";

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
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "smtp://{}:{}", self.host, self.port)
    }
}

impl SmtpConfig {
    /// Reads `smtp://[user:pass@]host[:port]` (port 25 when absent). User and password are
    /// percent-decoded. Encrypted transports (`smtps://`, STARTTLS) are refused with a clear
    /// message in this build: put a local relay (Postfix, an SMTP proxy) in front of a remote
    /// provider.
    pub fn parse(url: &str) -> Result<SmtpConfig, Error> {
        let bad = |why: &str| Error::Invalid(format!("SMTP address '{}': {why}", redact(url)));
        let rest = url.trim().strip_prefix("smtp://").ok_or_else(|| {
            if url.trim().starts_with("smtps://") {
                bad("TLS is not built into this version; relay through a local SMTP server (smtp://127.0.0.1:25)")
            } else {
                bad("it must start with smtp://")
            }
        })?;
        let rest = rest.trim_end_matches('/');
        let (auth, hostport) = match rest.rsplit_once('@') {
            Some((a, h)) => (Some(a), h),
            None => (None, rest),
        };
        let credentials = match auth {
            None => None,
            Some(a) => {
                let (u, p) = a.split_once(':').ok_or_else(|| bad("write the login as user:password@"))?;
                Some((decode(u), decode(p)))
            }
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse::<u16>().map_err(|_| bad("the port is not a number"))?),
            None => (hostport.to_string(), 25),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(SmtpConfig { host, port, credentials, timeout: Duration::from_secs(60) })
    }
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

/// The SMTP server and default From address in force: `ENISHI_SMTP_URL` and
/// `ENISHI_SMTP_FROM` when set, else the settings; `None` when no server is configured.
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
    Ok(Some((SmtpConfig::parse(&url)?, from)))
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
}

/// An open SMTP session: a plain TCP connection with Nagle's algorithm off (the content and
/// its final dot would otherwise wait for a delayed acknowledgement, 40 ms a message).
pub struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    broken: bool,
}

/// A server reply: its code and text.
type Reply = (u16, String);

fn io_refusal(e: std::io::Error) -> Refusal {
    Refusal::Transient(format!("connection: {e}"))
}

impl Session {
    /// Connects, reads the greeting, says EHLO and logs in (AUTH PLAIN).
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
        let writer = stream.try_clone().map_err(io_refusal)?;
        let mut s = Session { reader: BufReader::new(stream), writer, broken: false };
        s.expect(2, false)?;
        s.send(b"EHLO enishi.localhost\r\n")?;
        s.expect(2, false)?;
        if let Some((user, pass)) = &config.credentials {
            use base64::Engine;
            let token = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{pass}"));
            s.send(format!("AUTH PLAIN {token}\r\n").as_bytes())?;
            s.expect(2, false)?;
        }
        Ok(s)
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        self.writer.write_all(bytes).map_err(|e| {
            self.broken = true;
            io_refusal(e)
        })
    }

    fn reply(&mut self) -> Result<Reply, Refusal> {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).map_err(|e| {
                self.broken = true;
                io_refusal(e)
            })?;
            if n == 0 || line.len() < 4 || line.len() > 2_048 {
                self.broken = true;
                return Err(Refusal::Transient("the server closed the connection".into()));
            }
            let code: u16 = line[..3].parse().map_err(|_| {
                self.broken = true;
                Refusal::Transient(format!("not an SMTP reply: {}", line.trim_end()))
            })?;
            text.push_str(line[4..].trim_end());
            if line.as_bytes()[3] != b'-' {
                return Ok((code, text));
            }
            text.push(' ');
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
        assert_eq!((c.host.as_str(), c.port, c.credentials), ("127.0.0.1", 2525, None));
        let c = SmtpConfig::parse("smtp://aya%40shop:p%3Ass@mail.example.com").unwrap();
        assert_eq!(c.port, 25);
        assert_eq!(c.credentials, Some(("aya@shop".into(), "p:ss".into())));
        let e = SmtpConfig::parse("smtps://u:secret@mail.example.com:465").unwrap_err().to_string();
        assert!(e.contains("TLS") && !e.contains("secret"), "{e}");
        assert!(SmtpConfig::parse("http://x").is_err());
        assert!(SmtpConfig::parse("smtp://x:port").is_err());
        assert!(SmtpConfig::parse("smtp://:25").is_err());
    }
}
