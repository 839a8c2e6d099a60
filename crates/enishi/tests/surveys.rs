//! `enishi customer link [--qr FILE.svg]` as a user runs it: the QR code written decodes to
//! the link printed.

use enishi_store::{params, Store};
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
