//! Campaigns as a user runs them from the command line, against a real SMTP server process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn enishi(url: &str, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_enishi"));
    cmd.args(["--database-url", url]).args(args).current_dir(dir).env_remove("ENISHI_DATABASE_URL");
    cmd
}

fn run(url: &str, dir: &Path, args: &[&str]) -> Output {
    let out = enishi(url, dir, args).output().expect("run enishi");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

struct SmtpServer {
    child: Child,
    out: PathBuf,
    port: u16,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp_server(dir: &Path, extra: &[&str]) -> SmtpServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = dir.join("received.jsonl");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["--port", &port.to_string(), "--out", &out.display().to_string()])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with aiosmtpd");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the SMTP server did not start (pip install aiosmtpd)");
    SmtpServer { child, out, port }
}

fn recipients(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["to"][0].as_str().unwrap().to_string())
        .collect()
}

/// 5,000 recipients; the SMTP server takes message 2,501 and never answers, the sender is
/// killed (SIGKILL) while it waits, and a second run finishes: the server has received each of
/// the 5,000 exactly once.
#[test]
fn a_campaign_killed_half_way_and_resumed_sends_each_message_exactly_once() {
    let db = enishi_store::testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let mut csv = String::from("external_id,name,email,tags,email_consent\n");
    for i in 1..=5_000 {
        csv.push_str(&format!("C{i},Customer {i},c{i}@example.com,news,opted_in\n"));
    }
    std::fs::write(p.join("customers.csv"), csv).unwrap();
    std::fs::write(p.join("body.html"), "<p>{{ customer.honorific }}</p>").unwrap();
    std::fs::write(p.join("body.txt"), "{{ customer.honorific }} {{ unsubscribe_url }}").unwrap();
    std::fs::write(
        p.join("campaign.json"),
        r#"{"name": "big", "channel": "email", "audience": {"segment": "news"}, "template": "t",
            "sender": {"email": "shop@corner.example"}}"#,
    )
    .unwrap();
    let url = &db.url;
    run(url, p, &["import", "customers", "customers.csv"]);
    run(url, p, &["settings", "--quiet-hours", "none"]);
    run(url, p, &["segment", "create", "news", "tag = \"news\""]);
    run(
        url,
        p,
        &[
            "template",
            "save",
            "t",
            "--locale",
            "en",
            "--subject",
            "Hi {{ customer.name }}",
            "--html",
            "body.html",
            "--text",
            "body.txt",
        ],
    );
    run(url, p, &["campaign", "create", "campaign.json"]);

    let server = smtp_server(p, &["--stall-after", "2500"]);
    let smtp = format!("smtp://127.0.0.1:{}", server.port);
    let send = ["campaign", "send", "big", "--lease-seconds", "3", "--retry-seconds", "1"];
    let mut first = enishi(url, p, &send)
        .env("ENISHI_SMTP_URL", &smtp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while recipients(&server.out).len() < 2_501 {
        assert!(Instant::now() < deadline, "the first run did not get half-way");
        assert!(first.try_wait().unwrap().is_none(), "the first run ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The server has message 2,501 and is holding back its answer: the sender is waiting.
    std::thread::sleep(Duration::from_millis(300));
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    std::thread::sleep(Duration::from_secs(4)); // the first run's leases run out

    let out = enishi(url, p, &send).env("ENISHI_SMTP_URL", &smtp).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("settled 1 unconfirmed"), "{said}");

    let mut got = recipients(&server.out);
    assert_eq!(got.len(), 5_000, "every message arrived once, none twice");
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 5_000);

    let results = run(url, p, &["campaign", "results", "big", "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&results.stdout).unwrap();
    assert_eq!(r["state"], "done");
    let sent: i64 = r["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "sent")
        .map(|s| s["count"].as_i64().unwrap())
        .sum();
    assert_eq!(sent, 5_000, "{r}");
}

/// A scheduled campaign is started and sent by `enishi serve` when its time comes.
#[test]
fn the_server_sends_a_scheduled_campaign_when_its_time_comes() {
    let db = enishi_store::testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let mut csv = String::from("external_id,name,email,tags,email_consent\n");
    for i in 1..=30 {
        csv.push_str(&format!(
            "C{i},Customer {i},c{i}@example.com,news,{}\n",
            if i == 1 { "opted_out" } else { "opted_in" }
        ));
    }
    std::fs::write(p.join("customers.csv"), csv).unwrap();
    std::fs::write(p.join("body.txt"), "{{ customer.honorific }}").unwrap();
    std::fs::write(
        p.join("campaign.json"),
        r#"{"name": "later", "channel": "email", "audience": {"segment": "news"}, "template": "t",
            "sender": {"email": "shop@corner.example"}}"#,
    )
    .unwrap();
    let url = &db.url;
    run(url, p, &["import", "customers", "customers.csv"]);
    run(url, p, &["settings", "--quiet-hours", "none", "--smtp-from", "shop@corner.example"]);
    run(url, p, &["segment", "create", "news", "tag = \"news\""]);
    run(
        url,
        p,
        &["template", "save", "t", "--locale", "en", "--subject", "Hi", "--html", "body.txt", "--text", "body.txt"],
    );
    run(url, p, &["campaign", "create", "campaign.json"]);
    run(url, p, &["campaign", "schedule", "later", "2026-01-01 09:00"]);
    let server = smtp_server(p, &[]);
    run(url, p, &["settings", "--smtp-url", &format!("smtp://127.0.0.1:{}", server.port)]);
    let mut serve = enishi(url, p, &["serve", "--addr", "127.0.0.1:0"])
        .env_remove("ENISHI_SMTP_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while recipients(&server.out).len() < 29 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let _ = serve.kill();
    serve.wait().unwrap();
    let mut got = recipients(&server.out);
    got.sort();
    assert_eq!(got.len(), 29, "everyone but the customer who opted out, once");
    assert!(!got.contains(&"c1@example.com".to_string()));
    let list = run(url, p, &["campaign", "list", "--json"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("\"state\":\"done\""),
        "{}",
        String::from_utf8_lossy(&list.stdout)
    );
}

/// A postal campaign: started, its letters exported for the print shop in Japanese address
/// order sorted by postal code, then recorded as posted when confirmed.
#[test]
fn a_postal_campaign_exports_the_print_shops_list_and_records_letters_when_confirmed() {
    let db = enishi_store::testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("customers.csv"),
        "external_id,name,postal_code,region,city,address_line1,tags,postal_consent\n\
         K1,佐藤 花子,150-0043,東京都,渋谷区,道玄坂1-2-3,dm,opted_in\n\
         K2,=HYPERLINK(\"x\"),060-0001,北海道,札幌市,北1条西1,dm,opted_in\n\
         K3,鈴木 一郎,530-0001,大阪府,大阪市,梅田1-1,dm,opted_out\n\
         K4,田中 次郎,,,,,dm,opted_in\n",
    )
    .unwrap();
    std::fs::write(
        p.join("campaign.json"),
        r#"{"name": "winter letter", "channel": "postal", "audience": {"segment": "dm"}, "cost_per_message": "120"}"#,
    )
    .unwrap();
    let url = &db.url;
    run(url, p, &["import", "customers", "customers.csv"]);
    run(url, p, &["segment", "create", "dm", "tag = \"dm\""]);
    run(url, p, &["campaign", "create", "campaign.json"]);
    let early = enishi(url, p, &["campaign", "export", "winter letter"]).output().unwrap();
    assert_eq!(early.status.code(), Some(2), "a draft has no letters yet");
    let started = run(url, p, &["campaign", "start", "winter letter"]);
    let said = String::from_utf8_lossy(&started.stderr);
    assert!(said.contains("2 queued") && said.contains("1 no_consent") && said.contains("1 no_address"), "{said}");
    let out = run(url, p, &["campaign", "export", "winter letter"]);
    let csv = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "postal_code,prefecture,city,street,building,name,external_id");
    assert!(lines[1].starts_with("〒060-0001,北海道,札幌市") && lines[1].contains("'=HYPERLINK"), "{csv}");
    assert!(lines[2].starts_with("〒150-0043,東京都,渋谷区,道玄坂1-2-3,,佐藤 花子 様,K1"), "{csv}");
    assert_eq!(lines.len(), 3, "{csv}");
    let confirmed = run(url, p, &["campaign", "confirm", "winter letter"]);
    assert!(String::from_utf8_lossy(&confirmed.stdout).contains("recorded 2 letters"));
    let results = run(url, p, &["campaign", "results", "winter letter", "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&results.stdout).unwrap();
    assert_eq!(r["state"], "done");
    assert_eq!(r["total"]["members"], 2);
    assert_eq!(r["total"]["cost"].as_str().unwrap().parse::<f64>().unwrap(), 240.0);
    let again = enishi(url, p, &["campaign", "export", "winter letter"]).output().unwrap();
    assert_eq!(again.status.code(), Some(2), "a done campaign has no letters left to post");
}
