//! `enishi tasks` as a user runs it: make a task for a customer, list it (overdue, one
//! user's), mark it done; bad input exits 2 and writes nothing.

use enishi_core::{Language, Role};
use enishi_store::repo::{customers, tasks, users};
use enishi_store::CustomerUpsert;
use std::path::Path;
use std::process::{Command, Output};

fn enishi(url: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_enishi"))
        .args(["--database-url", url])
        .args(args)
        .current_dir(dir)
        .env_remove("ENISHI_DATABASE_URL")
        .output()
        .expect("run enishi")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn tasks_are_made_listed_and_done_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db").display().to_string();
    let store = enishi_store::Store::open(&db).unwrap();
    store
        .write(|c| {
            let u = CustomerUpsert {
                external_id: Some("C-1".parse().unwrap()),
                name: Some("Hana".into()),
                ..Default::default()
            };
            let id = customers::upsert(c, &u)?.id();
            let owner = users::create(c, "own@shop.example", "Owner", Role::Staff, Language::En, "a long password")
                .map_err(|e| enishi_store::StoreError::Decode(e.to_string()))?;
            tasks::set_customer_owner(c, id, Some(owner))
        })
        .unwrap();
    let run = |args: &[&str]| enishi(&db, dir.path(), args);

    for (args, flag) in [
        (vec!["--customer", "C-1", "--kind", "fax"], "--kind"),
        (vec!["--customer", "C-1", "--due", "someday"], "--due"),
        (vec!["--customer", "C-9"], "--customer"),
        (vec!["--customer", "C-1", "--assignee", "who@shop.example"], "--assignee"),
    ] {
        let mut all = vec!["tasks", "create", "--title", "Call her", "--due", "2020-01-01"];
        all.extend(args);
        let out = run(&all);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(flag), "{}", text(&out.stderr));
    }
    assert!(text(&run(&["tasks", "list"]).stdout).is_empty(), "nothing written");

    let out = run(&["tasks", "create", "--customer", "C-1", "--title", "Call her", "--due", "2020-01-01"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id = text(&out.stdout).trim().to_string();
    let listed = text(&run(&["tasks", "list", "--overdue", "--assignee", "own@shop.example"]).stdout);
    assert!(listed.starts_with(&format!("{id}\t")), "{listed}");
    assert!(listed.contains("(overdue)\topen\tcall\tHana\town@shop.example\tCall her"), "for the owner: {listed}");
    let out = run(&["tasks", "done", &id, "--outcome", "She is happy"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&run(&["tasks", "list"]).stdout).is_empty());
    let done = text(&run(&["tasks", "list", "--status", "done"]).stdout);
    assert!(done.contains("\tdone\tcall\t"), "{done}");
    assert_eq!(run(&["tasks", "done", "999"]).status.code(), Some(2));
    assert_eq!(run(&["tasks", "list", "--status", "later"]).status.code(), Some(2));
}
