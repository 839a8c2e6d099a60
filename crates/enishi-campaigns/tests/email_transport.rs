//! How email reaches the server, against a real SMTP server process on loopback (Python's
//! aiosmtpd with a certificate the test makes, signed by a CA the test makes): TLS from the
//! first byte (smtps) and STARTTLS deliver, with a login; a certificate that does not verify
//! and STARTTLS required but not offered are refused for good, the campaign's messages given
//! back untried; and the send rate, shared by two senders, on SQLite and PostgreSQL.

#[path = "support/shop.rs"]
mod shop;
mod support;

use enishi_campaigns::campaigns as ops;
use enishi_campaigns::email::{Refusal, Security, Session, SmtpConfig};
use enishi_campaigns::sender::{SendOptions, Sender};
use enishi_campaigns::template::Parts;
use enishi_core::{BusinessClock, ManualClock};
use enishi_store::repo::campaigns as repo;
use enishi_store::{params, testing, Store};
use shop::{customer, news_segment, t0, yen};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::SmtpServer;

/// A test CA's certificate and a server certificate it signed for 127.0.0.1 and localhost,
/// written as PEM files into `dir`: (CA file, certificate file, key file).
fn certificates(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, format!("Enishi test CA {name}"));
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    server.distinguished_name.push(rcgen::DnType::CommonName, "127.0.0.1");
    let cert = server.signed_by(&key, &issuer).unwrap();
    let paths =
        (dir.join(format!("{name}-ca.pem")), dir.join(format!("{name}-cert.pem")), dir.join(format!("{name}-key.pem")));
    std::fs::write(&paths.0, ca_cert.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

fn tls_server(dir: &Path, mode: &str, cert: &Path, key: &Path, extra: &[&str]) -> SmtpServer {
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let mut args = vec!["--tls", mode, "--cert", cert.as_str(), "--key", key.as_str()];
    args.extend_from_slice(extra);
    SmtpServer::start(dir, &args)
}

fn config(url: &str, ca: Option<&Path>) -> SmtpConfig {
    let mut c = SmtpConfig::parse(url).unwrap();
    c.timeout = Duration::from_secs(10);
    match ca {
        Some(path) => c.with_ca_file(path).unwrap(),
        None => c,
    }
}

/// Sends one small message through a new session.
fn deliver(config: &SmtpConfig, subject: &str) -> Result<(), Refusal> {
    let mut s = Session::open(config)?;
    let (from, to) = ("shop@corner.example".parse().unwrap(), "hana@example.com".parse().unwrap());
    s.begin(&from, &to)?;
    s.finish(
        format!("From: shop@corner.example\r\nTo: hana@example.com\r\nSubject: {subject}\r\n\r\nHello.\r\n").as_bytes(),
    )?;
    s.close();
    Ok(())
}

fn setup_error(r: Result<(), Refusal>) -> String {
    match r {
        Err(Refusal::Setup(why)) => why,
        other => panic!("a setup refusal expected, got {other:?}"),
    }
}

#[test]
fn smtps_and_starttls_deliver_with_a_login_and_are_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(dir.path(), "shop");

    let server = tls_server(dir.path(), "implicit", &cert, &key, &["--auth", "aya:s3cret"]);
    let smtps = config(&format!("smtps://aya:s3cret@127.0.0.1:{}", server.port), Some(&ca));
    assert_eq!(smtps.security, Security::Tls);
    deliver(&smtps, "over smtps").unwrap();
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0]["tls"].as_bool(), got[0]["login"].as_bool()), (Some(true), Some(true)));
    assert_eq!(support::header(got[0]["data"].as_str().unwrap(), "Subject"), Some("over smtps"));
    assert_eq!(got[0]["to"][0], "hana@example.com");
    // The wrong password is the setup's fault, not the message's.
    let wrong = config(&format!("smtps://aya:nope@127.0.0.1:{}", server.port), Some(&ca));
    assert!(setup_error(deliver(&wrong, "x")).contains("refused the login"));

    let server = tls_server(dir.path(), "starttls", &cert, &key, &["--auth", "aya:s3cret"]);
    let url = format!("smtp://aya:s3cret@127.0.0.1:{}?tls=starttls", server.port);
    let starttls = config(&url, Some(&ca));
    assert_eq!(starttls.security, Security::StartTls);
    deliver(&starttls, "over STARTTLS").unwrap();
    let got = server.received();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0]["tls"].as_bool(), got[0]["login"].as_bool()), (Some(true), Some(true)));
    assert_eq!(support::header(got[0]["data"].as_str().unwrap(), "Subject"), Some("over STARTTLS"));
    // The server requires STARTTLS: a plain session is turned away before any mail.
    let plain = config(&format!("smtp://127.0.0.1:{}", server.port), None);
    assert!(deliver(&plain, "in clear").is_err());
    assert_eq!(server.received().len(), 1);
}

#[test]
fn a_certificate_that_does_not_verify_or_a_missing_starttls_is_refused_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = certificates(dir.path(), "shop");
    let (other_ca, _, _) = certificates(dir.path(), "other");
    let server = tls_server(dir.path(), "implicit", &cert, &key, &[]);
    for ca in [Some(other_ca.as_path()), None] {
        let why = setup_error(deliver(&config(&format!("smtps://127.0.0.1:{}", server.port), ca), "x"));
        assert!(why.contains("does not verify") && why.contains("ENISHI_SMTP_CA_FILE"), "{why}");
    }
    let starttls = tls_server(dir.path(), "starttls", &cert, &key, &[]);
    let url = format!("smtp://127.0.0.1:{}?tls=starttls", starttls.port);
    let why = setup_error(deliver(&config(&url, Some(&other_ca)), "x"));
    assert!(why.contains("does not verify"), "{why}");
    // smtps:// to a plain server fails as TLS, at once.
    let plain = SmtpServer::start(dir.path(), &[]);
    let started = Instant::now();
    let why = setup_error(deliver(&config(&format!("smtps://127.0.0.1:{}", plain.port), None), "x"));
    assert!(why.contains("TLS"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // STARTTLS asked for, not offered.
    let url = format!("smtp://127.0.0.1:{}?tls=starttls", plain.port);
    let why = setup_error(deliver(&config(&url, None), "x"));
    assert!(why.contains("does not offer STARTTLS"), "{why}");
    assert!(server.received().is_empty() && starttls.received().is_empty() && plain.received().is_empty());
}

/// Customers 1–`n` with email consent in the segment `news`, and a one-variant campaign to
/// them without a holdout, started.
fn campaign(store: &Store, n: i64) -> i64 {
    store
        .write(|c| {
            for id in 1..=n {
                customer(c, id, false, &[("email", "opted_in")]);
            }
            Ok::<_, enishi_store::StoreError>(())
        })
        .unwrap();
    news_segment(store);
    let parts = Parts { subject: "Hello {{ customer.name }}".into(), html: "<p>Hi</p>".into(), text: "Hi".into() };
    store.write(|c| ops::save_template(c, "hello", "en", &parts, yen())).unwrap();
    let doc = r#"{"name": "hello v1", "channel": "email", "audience": {"segment": "news"}, "template": "hello",
        "sender": {"name": "Aya", "email": "aya@corner.example"}}"#;
    let k = store.write(|c| ops::create(c, doc, yen())).unwrap();
    store.write(|c| ops::start(c, &k, &BusinessClock::default())).unwrap();
    k.id
}

#[test]
fn a_campaign_waits_untried_while_the_certificate_does_not_verify_then_goes_out_over_tls() {
    for db in testing::all() {
        let clock = ManualClock::at(t0());
        let store = Store::open(&db.url).unwrap().with_clock(Arc::new(clock.clone()));
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = certificates(dir.path(), "shop");
        let (other_ca, _, _) = certificates(dir.path(), "other");
        let id = campaign(&store, 5);
        let server = tls_server(dir.path(), "starttls", &cert, &key, &[]);
        let url = format!("smtp://127.0.0.1:{}?tls=starttls", server.port);
        let mut sender =
            Sender::new(&store, config(&url, Some(&other_ca)), SendOptions::new(""), BusinessClock::default(), yen());
        let e = sender.round().unwrap_err().to_string();
        assert!(e.contains("does not verify"), "{e}");
        // Not a retry loop: every message is still queued, unclaimed, with no attempt counted.
        let rows = store
            .read(|c| {
                c.query(
                    "SELECT status, attempts, claimed_by FROM campaign_recipients WHERE campaign_id = $1",
                    params![id],
                )
            })
            .unwrap();
        assert_eq!(rows.len(), 5);
        for r in &rows {
            assert_eq!((r.text(0).unwrap().as_str(), r.int(1).unwrap()), ("queued", 0));
            assert!(r.opt_text(2).unwrap().is_none());
        }
        let mut sender =
            Sender::new(&store, config(&url, Some(&ca)), SendOptions::new(""), BusinessClock::default(), yen());
        let r = sender.run_until_done(Duration::from_secs(5), &mut |_| {}).unwrap();
        assert_eq!(r.sent, 5, "{r:?}");
        let got = server.received();
        assert_eq!(got.len(), 5);
        assert!(got.iter().all(|m| m["tls"] == true));
        assert_eq!(store.read(|c| repo::pending(c, None)).unwrap(), 0);
    }
}

#[test]
fn two_senders_share_the_email_rate() {
    for db in testing::all() {
        let clock = ManualClock::at(t0());
        let store = Store::open(&db.url).unwrap().with_clock(Arc::new(clock.clone()));
        let dir = tempfile::tempdir().unwrap();
        let (n, rate) = (12_u32, 10.0);
        campaign(&store, i64::from(n));
        store.write(|c| enishi_store::repo::settings::set(c, enishi_campaigns::pace::EMAIL_RATE, "10")).unwrap();
        let server = SmtpServer::start(dir.path(), &[]);
        let url = format!("smtp://127.0.0.1:{}", server.port);
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..2 {
                let (store, url) = (&store, url.clone());
                s.spawn(move || {
                    let mut options = SendOptions::new("");
                    options.batch = 3;
                    let mut sender = Sender::new(store, config(&url, None), options, BusinessClock::default(), yen());
                    sender.run_until_done(Duration::from_secs(2), &mut |_| {}).unwrap();
                });
            }
        });
        let took = started.elapsed().as_secs_f64();
        assert_eq!(server.received().len(), n as usize);
        let least = f64::from(n - 1) / rate;
        assert!(took >= least * 0.95, "{n} messages at {rate}/s took {took:.2} s, less than {least:.2} s");
        assert!(took < least + 4.0, "{took:.2} s");
    }
}
