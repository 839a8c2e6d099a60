//! TLS to PostgreSQL against a real server: a private PostgreSQL instance started for the test
//! with TLS on and plain connections refused, and certificates made for it.

use enishi_store::{Conn, Store, StoreError};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// The directory of PostgreSQL's server programs, if they are installed.
fn server_programs() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("postgres").exists() && bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop()
}

/// Runs a command as the `postgres` user (the server refuses to run as root).
fn as_postgres(program: &Path) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(program);
    c
}

/// A certificate authority and the server certificate it signed for 127.0.0.1 only.
struct Certificates {
    ca_pem: String,
    server_pem: String,
    server_key_pem: String,
}

fn certificates() -> Certificates {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "Enishi test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let server_key = rcgen::KeyPair::generate().unwrap();
    let mut server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    server.distinguished_name.push(rcgen::DnType::CommonName, "127.0.0.1");
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    Certificates { ca_pem: ca_cert.pem(), server_pem: server_cert.pem(), server_key_pem: server_key.serialize_pem() }
}

/// A private PostgreSQL server that takes only TLS connections; stopped when dropped.
struct TlsServer {
    port: u16,
    dir: tempfile::TempDir,
    server: Child,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(bin: &Path, certs: &Certificates) -> TlsServer {
    let dir = tempfile::tempdir().unwrap();
    let owner = |p: &Path| {
        let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(p).status().unwrap().success();
        assert!(ok, "chown {}", p.display());
    };
    owner(dir.path());
    let data = dir.path().join("data");
    let init = as_postgres(&bin.join("initdb"))
        .args(["-D"])
        .arg(&data)
        .args(["-U", "postgres", "-A", "trust", "--no-sync"])
        .output()
        .unwrap();
    assert!(init.status.success(), "initdb: {}", String::from_utf8_lossy(&init.stderr));
    std::fs::write(data.join("server.crt"), &certs.server_pem).unwrap();
    std::fs::write(data.join("server.key"), &certs.server_key_pem).unwrap();
    // Only TLS connections over TCP are let in.
    std::fs::write(
        data.join("pg_hba.conf"),
        "hostssl all all 127.0.0.1/32 trust\nhostnossl all all 0.0.0.0/0 reject\nlocal all all trust\n",
    )
    .unwrap();
    owner(dir.path());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(data.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let port = free_port();
    let server = as_postgres(&bin.join("postgres"))
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "ssl=on", "-c", "fsync=off"])
        .arg("-k")
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = TlsServer { port, dir, server };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "the test server did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server
}

fn uses_tls(store: &Store) -> bool {
    store
        .read(|c: &mut dyn Conn| -> Result<bool, StoreError> {
            let rows =
                c.query("SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])?;
            Ok(rows.first().map(|r| r.int(0)).transpose()? == Some(1))
        })
        .unwrap()
}

fn open_error(url: &str) -> String {
    match Store::open(url) {
        Ok(_) => panic!("{url} opened"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn connections_are_encrypted_and_the_certificate_is_checked_as_sslmode_says() {
    let Some(bin) = server_programs() else {
        assert!(
            std::env::var("ENISHI_TEST_PG").is_err(),
            "ENISHI_TEST_PG is set but PostgreSQL's programs are missing"
        );
        eprintln!("NOTE: TLS suite SKIPPED: PostgreSQL's server programs are not installed");
        return;
    };
    let root_user = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root_user {
        eprintln!("NOTE: TLS suite SKIPPED: starting a private PostgreSQL as its own user needs root");
        return;
    }
    let certs = certificates();
    let server = start(&bin, &certs);
    let ca = server.dir.path().join("ca.pem");
    std::fs::write(&ca, &certs.ca_pem).unwrap();
    let other_ca = server.dir.path().join("other-ca.pem");
    std::fs::write(&other_ca, certificates().ca_pem).unwrap();
    let url = |host: &str, params: &str| format!("postgres://postgres@{host}:{}/postgres?{params}", server.port);
    let root = |file: &Path| format!("sslrootcert={}", file.display());

    // Encrypted without a check, and with the chain and the name checked.
    let store = Store::open(&url("127.0.0.1", "sslmode=require")).unwrap();
    assert!(uses_tls(&store));
    let store = Store::open(&url("127.0.0.1", &format!("sslmode=verify-full&{}", root(&ca)))).unwrap();
    assert!(uses_tls(&store));
    // The server lets no plain connection in.
    let e = open_error(&url("127.0.0.1", "sslmode=disable"));
    assert!(e.contains("no encryption"), "{e}");
    // A certificate for 127.0.0.1 reached as localhost: the chain holds, the name does not.
    let store = Store::open(&url("localhost", &format!("sslmode=verify-ca&{}", root(&ca)))).unwrap();
    assert!(uses_tls(&store));
    let e = open_error(&url("localhost", &format!("sslmode=verify-full&{}", root(&ca))));
    assert!(e.contains("certificate"), "{e}");
    // Another authority's certificate is not trusted, in either verify mode.
    for mode in ["verify-ca", "verify-full"] {
        let e = open_error(&url("127.0.0.1", &format!("sslmode={mode}&{}", root(&other_ca))));
        assert!(e.contains("certificate"), "{mode}: {e}");
    }
    let e = open_error(&url("127.0.0.1", "sslmode=verify-full"));
    assert!(e.contains("needs sslrootcert"), "{e}");
}
