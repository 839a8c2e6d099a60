//! Journeys as a user runs them from the command line: a bad document refused with its field
//! named, a journey created, listed and shown, one pass that enters a first purchase and sends
//! the welcome to a real SMTP server process, once, and the journey paused and resumed.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

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

/// The test SMTP server; killed when dropped.
struct Smtp(Child, u16);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn smtp_server(out: &Path) -> Smtp {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_server.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["--port", &port.to_string(), "--out", &out.display().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with aiosmtpd");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the SMTP server did not start (pip install aiosmtpd)");
    Smtp(child, port)
}

/// Stores an order `reference` of ¥1,200 now for the customer with the shop's id `customer`.
fn order(store: &enishi_store::Store, reference: &str, customer: &str, channel: &str) {
    store
        .write(|c| {
            let now = c.now();
            c.execute(
                "INSERT INTO orders (order_ref, customer_id, placed_at, placed_day, channel, currency, total, status, created_at) \
                 SELECT $2, id, $1, 0, $4, 'JPY', 12000000, 'completed', $1 FROM customers WHERE external_id = $3",
                enishi_store::params![now, reference, customer, channel],
            )
        })
        .unwrap();
}

#[test]
fn a_journey_is_created_listed_shown_and_run_from_the_command_line() {
    let db = enishi_store::testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let url = &db.url;
    std::fs::write(p.join("customers.csv"), "external_id,name,email,email_consent\nC1,Hana,c1@example.com,opted_in\n")
        .unwrap();
    std::fs::write(p.join("body.html"), "<p>{{ customer.honorific }}</p>").unwrap();
    std::fs::write(p.join("body.txt"), "{{ customer.honorific }} {{ unsubscribe_url }}").unwrap();
    let doc = |delay: &str| {
        format!(
            r#"{{"name": "welcome", "trigger": {{"kind": "first_purchase"}}, "sender": {{"email": "shop@corner.example"}},
                "steps": [{{"key": "hello", "template": "t", "delay": "{delay}"}}]}}"#
        )
    };
    std::fs::write(p.join("bad.json"), doc("soon")).unwrap();
    std::fs::write(p.join("welcome.json"), doc("0")).unwrap();
    run(url, p, &["import", "customers", "customers.csv"]);
    run(url, p, &["settings", "--quiet-hours", "none"]);
    let save = ["template", "save", "t", "--locale", "en", "--subject", "Welcome", "--html", "body.html"];
    run(url, p, &[&save[..], &["--text", "body.txt"]].concat());

    let bad = enishi(url, p, &["journey", "create", "bad.json"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2), "a user's mistake");
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("steps[0].delay"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    run(url, p, &["journey", "create", "welcome.json"]);

    let store = enishi_store::Store::open(url).unwrap();
    order(&store, "O1", "C1", "online");
    let received = p.join("received.jsonl");
    let server = smtp_server(&received);
    let smtp = format!("smtp://127.0.0.1:{}", server.1);
    let first = enishi(url, p, &["journey", "run", "--send"]).env("ENISHI_SMTP_URL", &smtp).output().unwrap();
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(said.contains("entered 1, queued 1, skipped 0") && said.contains("sent 1"), "{said}");
    let again = run(url, p, &["journey", "run"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("entered 0, queued 0"));
    assert_eq!(std::fs::read_to_string(&received).unwrap().lines().count(), 1, "the welcome, once");

    let list = String::from_utf8(run(url, p, &["journey", "list"]).stdout).unwrap();
    assert!(list.contains("welcome\tfirst_purchase\tactive 0\tdone 1\texited 0"), "{list}");
    let shown: serde_json::Value =
        serde_json::from_slice(&run(url, p, &["journey", "show", "welcome", "--json"]).stdout).unwrap();
    assert_eq!(shown["steps"][0]["campaign"], "welcome / hello");
    assert_eq!(shown["steps"][0]["messages"][0], serde_json::json!(["sent", null, 1]));
    assert_eq!(shown["latest"][0]["customer"], "C1");
    let text = String::from_utf8(run(url, p, &["journey", "show", "welcome"]).stdout).unwrap();
    assert!(text.contains("step 1 hello (campaign \"welcome / hello\"): 1 sent"), "{text}");
    let missing = enishi(url, p, &["journey", "show", "nope"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));

    // Paused, the journey enters nobody; resumed, it goes on.
    let paused = String::from_utf8(run(url, p, &["journey", "pause", "welcome"]).stdout).unwrap();
    assert!(paused.contains("journey \"welcome\" is paused"), "{paused}");
    let list = String::from_utf8(run(url, p, &["journey", "list"]).stdout).unwrap();
    assert!(list.contains("exited 0\tpaused"), "{list}");
    store
        .write(|c| {
            let now = c.now();
            c.execute(
                "INSERT INTO customers (external_id, name, email, first_seen_at, created_at, updated_at) \
                 VALUES ('C2', 'Ren', 'c2@example.com', $1, $1, $1)",
                enishi_store::params![now],
            )
        })
        .unwrap();
    order(&store, "O2", "C2", "online");
    assert!(String::from_utf8_lossy(&run(url, p, &["journey", "run"]).stdout).contains("entered 0"));
    let resumed = String::from_utf8(run(url, p, &["journey", "resume", "welcome"]).stdout).unwrap();
    assert!(resumed.contains("is running"), "{resumed}");
    assert!(String::from_utf8_lossy(&run(url, p, &["journey", "run"]).stdout).contains("entered 1"));
}

#[test]
fn a_journey_run_with_send_makes_its_call_tasks_without_an_smtp_server() {
    let db = enishi_store::testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let url = &db.url;
    std::fs::write(p.join("customers.csv"), "external_id,name,phone,phone_consent\nC1,Hana,090-1234-5678,opted_in\n")
        .unwrap();
    std::fs::write(
        p.join("thanks.json"),
        r#"{"name": "thanks", "trigger": {"kind": "first_purchase"},
            "steps": [{"key": "call", "channel": "call", "call": {"title": "Thank-you call"}}]}"#,
    )
    .unwrap();
    run(url, p, &["import", "customers", "customers.csv"]);
    run(url, p, &["settings", "--quiet-hours", "none"]);
    run(url, p, &["journey", "create", "thanks.json"]);
    let store = enishi_store::Store::open(url).unwrap();
    order(&store, "O1", "C1", "in_store");
    // No SMTP server is configured: a journey without email steps does not need one.
    let out = enishi(url, p, &["journey", "run", "--send"]).env_remove("ENISHI_SMTP_URL").output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("queued 1") && said.contains("created 1 call tasks"), "{said}");
    assert!(!said.contains("sent "), "no email was sent: {said}");
    let tasks = String::from_utf8(run(url, p, &["tasks", "list"]).stdout).unwrap();
    assert!(tasks.contains("Thank-you call"), "{tasks}");
}
