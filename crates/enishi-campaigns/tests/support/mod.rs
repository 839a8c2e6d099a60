//! A real SMTP server process on loopback for the tests (Python's aiosmtpd,
//! `crates/enishi/tests/support/smtp_server.py`), and what it received.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The test SMTP server; stopped when dropped. Its standard input stays open while it runs.
pub struct SmtpServer {
    child: Child,
    /// Where it writes what it accepted, one JSON object per message.
    pub out: PathBuf,
    /// Its port.
    pub port: u16,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    /// Starts a server writing into `dir`, with the script's `extra` options.
    pub fn start(dir: &Path, extra: &[&str]) -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let out = dir.join(format!("smtp-{port}.jsonl"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../enishi/tests/support/smtp_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--port", &port.to_string(), "--out", &out.display().to_string()])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start (is aiosmtpd installed?)");
        SmtpServer { child, out, port }
    }

    /// The messages received so far.
    pub fn received(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// A header's value in a message's raw data.
pub fn header<'a>(data: &'a str, name: &str) -> Option<&'a str> {
    data.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
}
