//! The call-list channel and the contact plan as a user runs them from the command line:
//! the call list as CSV, the plan as JSON, and bad input refused with exit code 2.

use std::path::Path;
use std::process::{Command, Output};

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

fn refused(url: &str, dir: &Path, args: &[&str], says: &str) {
    let out = enishi(url, dir, args).output().expect("run enishi");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: {err}");
}

#[test]
fn a_call_list_and_a_contact_plan_from_the_command_line() {
    let db = enishi_store::testing::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("customers.csv"),
        "external_id,name,phone,email,tags,phone_consent,email_consent\n\
         K1,佐藤 花子,090-1111-2222,k1@example.com,vip,opted_in,opted_in\n\
         K2,鈴木 一郎,,k2@example.com,vip,opted_in,opted_in\n\
         K3,田中 次郎,03-1234-5678,,vip,opted_out,\n",
    )
    .unwrap();
    std::fs::write(
        p.join("calls.json"),
        r#"{"name": "thanks", "channel": "call", "audience": {"segment": "vip"}, "call": {"title": "Thank-you call"}}"#,
    )
    .unwrap();
    let url = &db.url;
    run(url, p, &["import", "customers", "customers.csv"]);
    run(url, p, &["segment", "create", "vip", "tag = \"vip\""]);
    run(url, p, &["campaign", "create", "calls.json"]);
    let sent = run(url, p, &["campaign", "send", "thanks"]);
    assert!(String::from_utf8_lossy(&sent.stdout).contains("created 1 call tasks"), "{sent:?}");
    let out = run(url, p, &["campaign", "export", "thanks"]);
    let csv = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "customer_id,name,furigana,phone,last_order,points,open_issue,due,assignee");
    assert!(lines[1].starts_with("K1,佐藤 花子,,090-1111-2222,,0,,"), "{csv}");
    assert_eq!(lines.len(), 2, "{csv}");
    let tasks = run(url, p, &["tasks", "list"]);
    assert!(String::from_utf8_lossy(&tasks.stdout).contains("Thank-you call"), "{tasks:?}");

    let plan = run(
        url,
        p,
        &["campaign", "plan", "--budget", "3", "--cost", "call=800,letter=150,email=2", "--audience", "vip", "--json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!((v["plan"]["reached"].as_i64(), v["plan"]["cost"].as_str()), (Some(1), Some("2")), "{v}");
    refused(
        url,
        p,
        &["campaign", "plan", "--budget", "3", "--cost", "call=800,letter=150", "--audience", "vip"],
        "email=",
    );
    refused(
        url,
        p,
        &["campaign", "plan", "--budget", "-1", "--cost", "call=1,letter=1,email=1", "--audience", "vip"],
        "--budget",
    );
    refused(
        url,
        p,
        &["campaign", "plan", "--budget", "9", "--cost", "call=1,letter=1,email=1", "--audience", "nobody"],
        "nobody",
    );
    refused(
        url,
        p,
        &[
            "campaign",
            "plan",
            "--budget",
            "9",
            "--cost",
            "call=1,letter=1,email=1",
            "--audience",
            "vip",
            "--create",
            "w",
        ],
        "email template",
    );
}
