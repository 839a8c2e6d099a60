//! `enishi survey create|invite|results` and `enishi customer link [--qr FILE.svg]` as a user
//! runs them: bad input exits 2 and writes nothing; the results match hand-computed values; the
//! QR code written decodes to the link printed.

use enishi_store::repo::surveys as repo;
use enishi_store::{params, Store};
use serde_json::Value;
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

/// Ten customers C1–C10, the first three tagged `vip`, and the saved segment `vip`.
fn customers(store: &Store) {
    store
        .write(|c| {
            for id in 1..=10i64 {
                c.execute(
                    "INSERT INTO customers (id, external_id, name, email, locale, first_seen_at, created_at, updated_at) \
                     VALUES ($1, $2, 'Hana', $3, 'ja', 0, 0, 0)",
                    params![id, format!("C{id}"), format!("c{id}@example.com")],
                )?;
            }
            c.execute("INSERT INTO customer_tags (customer_id, tag, position) VALUES (1, 'vip', 0), (2, 'vip', 0), (3, 'vip', 0)", &[])?;
            let rule = enishi_segments::text::parse("tag = \"vip\"").unwrap();
            enishi_segments::saved::create(c, "vip", "", &rule, &enishi_core::BusinessClock::default())?;
            Ok::<_, enishi_segments::Error>(())
        })
        .unwrap();
}

/// Reads the dark modules out of the QR code's path (`Mx yhNv1h-Nz` per run) and draws them
/// at 4 pixels a module, as a printer would.
fn raster(svg: &str) -> (usize, Vec<u8>) {
    let size: usize = svg.split("viewBox=\"0 0 ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let d = svg.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
    let px = size * 4;
    let mut image = vec![255u8; px * px];
    for run in d.split('M').filter(|r| !r.is_empty()) {
        let (xy, rest) = run.split_once('h').unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        let len: usize = rest.split('v').next().unwrap().parse().unwrap();
        for module in x..x + len {
            for dy in 0..4 {
                for dx in 0..4 {
                    image[(y * 4 + dy) * px + module * 4 + dx] = 0;
                }
            }
        }
    }
    (px, image)
}

#[test]
fn surveys_are_made_invited_and_read_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db").display().to_string();
    let store = Store::open(&db).unwrap();
    customers(&store);
    let run = |args: &[&str]| enishi(&db, dir.path(), args);
    let surveys = |store: &Store| store.read(repo::list).unwrap().len();

    // Mistakes exit 2, name what is wrong and make nothing.
    for (args, says) in [
        (vec!["survey", "create", "After visit", "--kind", "stars"], "kind"),
        (vec!["survey", "create", "After visit", "--kind", "nps", "--valid-days", "0"], "valid_days"),
        (vec!["survey", "create", " ", "--kind", "nps"], "name"),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
    }
    assert_eq!(surveys(&store), 0, "nothing was made");

    let out = run(&["survey", "create", "After visit", "--kind", "nps", "--valid-days", "30"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"After visit\" (nps), links valid 30 days"), "{}", text(&out.stdout));
    assert_eq!(run(&["survey", "create", "After visit", "--kind", "csat"]).status.code(), Some(2), "a name in use");

    // Invite: an unknown survey or segment exits 2; the segment's three members are invited
    // once, a second run skips them.
    assert_eq!(run(&["survey", "invite", "Nope", "--segment", "vip"]).status.code(), Some(2));
    let out = run(&["survey", "invite", "After visit", "--segment", "nobody"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nobody"), "{}", text(&out.stderr));
    let out = run(&["survey", "invite", "After visit", "--segment", "vip"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "invited 3 customers to \"After visit\"");
    assert_eq!(
        text(&run(&["survey", "invite", "After visit", "--segment", "vip"]).stdout).trim(),
        "invited 0 customers to \"After visit\""
    );

    // Answers 10, 7 and 2: one promoter, one passive, one detractor → NPS 0.0.
    store
        .write(|c| {
            let s = repo::by_name(c, "After visit")?.unwrap();
            for (i, score) in repo::invitations(c, s.id)?.iter().zip([10, 7, 2]) {
                let comment = (score == 2).then(|| "Too slow".to_string());
                repo::answer(c, i.id, &repo::Answer { score: Some(score), reason: None, comment })?;
            }
            Ok::<_, enishi_store::StoreError>(())
        })
        .unwrap();
    let out = run(&["survey", "results", "After visit"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert!(printed.starts_with("After visit (nps): 3 invited, 3 answered\n"), "{printed}");
    assert!(printed.contains("NPS 0.0: 1 promoters, 1 passives, 1 detractors"), "{printed}");
    let out = run(&["survey", "results", "After visit", "--json"]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["nps"]["score"], 0.0);
    assert_eq!((json["invited"].as_u64(), json["answered"].as_u64()), (Some(3), Some(3)));
    assert_eq!(json["comments"][0]["comment"], "Too slow");
    assert_eq!(run(&["survey", "results", "After visit", "--segment", "nobody"]).status.code(), Some(2));
    assert_eq!(run(&["survey", "results", "Nope"]).status.code(), Some(2));

    // A CSAT survey's distribution over the five levels.
    assert!(run(&["survey", "create", "Satisfaction", "--kind", "csat"]).status.success());
    assert!(run(&["survey", "invite", "Satisfaction", "--segment", "vip"]).status.success());
    store
        .write(|c| {
            let s = repo::by_name(c, "Satisfaction")?.unwrap();
            for (i, level) in repo::invitations(c, s.id)?.iter().zip([5, 4, 1]) {
                repo::answer(c, i.id, &repo::Answer { score: Some(level), ..Default::default() })?;
            }
            Ok::<_, enishi_store::StoreError>(())
        })
        .unwrap();
    let printed = text(&run(&["survey", "results", "Satisfaction"]).stdout);
    for line in ["1 Not satisfied: 1", "2 Slightly satisfied: 0", "4 Very satisfied: 1", "5 Extremely satisfied: 1"] {
        assert!(printed.contains(line), "{line}: {printed}");
    }
    // Two of three at 4–5; (5 + 4 + 1) / 3 = 3.33.
    assert!(printed.contains("satisfied (4-5): 66.7%, average 3.33"), "{printed}");
}

#[test]
fn the_customer_link_prints_and_writes_a_qr_code_that_decodes_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db").display().to_string();
    let store = Store::open(&db).unwrap();
    customers(&store);
    let run = |args: &[&str]| enishi(&db, dir.path(), args);
    let svg = dir.path().join("card.svg");

    let out = run(&["customer", "link", "C-404", "--qr", svg.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!svg.exists(), "nothing written for an unknown customer");

    let out = run(&["customer", "link", "C2", "--qr", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let link = text(&out.stdout).trim().to_string();
    assert!(link.contains("/me/2."), "{link}");
    let written = std::fs::read_to_string(&svg).unwrap();
    assert!(written.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && written.ends_with("</svg>"));
    let (px, image) = raster(&written);
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(px, px, |x, y| image[y * px + x]);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    assert_eq!(grids[0].decode().unwrap().1, link, "the QR code is the link printed");

    let out = run(&["customer", "link", "C2", "--qr", "/nonexistent-dir/card.svg"]);
    assert!(!out.status.success(), "a file that cannot be written is an error");
}
