//! The customers list over real HTTP on SQLite and (when available) PostgreSQL: sorted by a
//! column's header (both ways, kept with the search in every link and followed by the
//! export), page numbers with previous and next, the columns each user chooses, and names,
//! dates and phones written for a Japanese reader.

mod common;

use common::*;
use enishi_core::Role;
use enishi_store::{params, CustomerUpsert};

/// 120 customers `L-001` … `L-120` named `Cust 001` …; customer i spent i × ¥100 over
/// i % 3 + 1 orders, has i points (none for every tenth), and is scored: RFM segment and
/// lifecycle stage in turn. `L-007` has a Japanese address and phone.
fn seed(app: &App) {
    let store = enishi_store::Store::open(&app._db.url).unwrap();
    let segments = ["champions", "at_risk", "hibernating", "lost"];
    let stages = ["new", "active", "inactive", "at_risk", "lost"];
    store
        .write(|c| {
            for i in 1..=120i64 {
                let u = CustomerUpsert {
                    external_id: Some(format!("L-{i:03}").parse().unwrap()),
                    name: Some(format!("Cust {i:03}")),
                    email: Some(format!("l{i}@example.com").parse().unwrap()),
                    ..CustomerUpsert::default()
                };
                let k = enishi_store::repo::customers::upsert(c, &u)?.id();
                // 2026-12-03 03:00 UTC, and a day earlier for each customer before the last.
                let last = 1_796_266_800 - (120 - i) * 86_400;
                c.execute(
                    "INSERT INTO customer_stats (customer_id, first_order_at, last_order_at, order_count, purchase_days, \
                     total_spend, updated_at) VALUES ($1, $2 - 8640000, $2, $3, $3, $4, 0)",
                    params![k, last, i % 3 + 1, i * 100 * 10_000],
                )?;
                if i % 10 != 0 {
                    c.execute(
                        "INSERT INTO loyalty_accounts (customer_id, balance, referral_code, updated_at) VALUES ($1, $2, $3, 0)",
                        params![k, i, format!("RL{i:03}")],
                    )?;
                }
                c.execute(
                    "INSERT INTO customer_scores (customer_id, rfm_as_of_day, rfm_r, rfm_f, rfm_m, rfm_segment, \
                     lifecycle_stage, lifecycle_as_of_day, loyal_class, updated_at) VALUES ($1, 0, 3, 3, 3, $2, $3, 0, 'other', 0)",
                    params![k, segments[(i % 4) as usize], stages[(i % 5) as usize]],
                )?;
                if i == 7 {
                    c.execute(
                        "UPDATE customers SET phone = '+819012345678', postal_code = '1500043', region = '東京都', \
                         city = '渋谷区', address_line1 = '道玄坂1-2-3', country = 'JP', locale = 'ja' WHERE id = $1",
                        params![k],
                    )?;
                }
            }
            Ok::<_, enishi_store::StoreError>(())
        })
        .unwrap();
}

/// The shop ids of the list's rows, in order.
fn rows(html: &str) -> Vec<String> {
    html.split("<tr><td><a href=\"/customers/")
        .skip(1)
        .map(|r| r.split('>').nth(1).unwrap().split('<').next().unwrap().to_string())
        .collect()
}

/// The `href` of the element with `id`.
fn href_of(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id}: {html}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag = &html[tag_start..html[tag_start..].find('>').unwrap() + tag_start];
    tag.split("href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&")
}

/// The link of the column header `code`.
fn header_link(html: &str, code: &str) -> String {
    let th = html.split(&format!("data-column=\"{code}\"")).nth(1).unwrap_or_else(|| panic!("no {code}: {html}"));
    th.split("href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&amp;", "&")
}

/// The list's table, without the search form's options.
fn table_of(html: &str) -> &str {
    html.split("id=\"customer-list\"").nth(1).unwrap_or_else(|| panic!("no list: {html}"))
}

fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string()
}

#[test]
fn the_list_sorts_pages_and_shows_the_columns_each_user_chose() {
    for app in apps() {
        seed(&app);
        let admin = app.session(Role::Admin);

        // In id order at first, 50 a page, with page numbers and next.
        let (s, html) = app.page("/customers", &admin);
        assert_eq!(s, 200);
        assert_eq!(rows(&html).len(), 50);
        assert_eq!(rows(&html)[0], "L-001");
        assert!(html.contains("<strong aria-current=\"page\">1</strong>"), "{html}");
        assert!(html.contains("href=\"/customers?page=3\">3</a>") && !html.contains("rel=\"prev\""), "{html}");

        // A header sorts: spend largest first, then the other way round on a second click.
        let by_spend = header_link(&html, "spend");
        assert_eq!(by_spend, "/customers?sort=spend&dir=desc");
        let (_, html) = app.page(&by_spend, &admin);
        assert_eq!(&rows(&html)[..3], ["L-120", "L-119", "L-118"]);
        assert!(html.contains("data-column=\"spend\" aria-sort=\"descending\""), "{html}");
        assert_eq!(header_link(&html, "spend"), "/customers?sort=spend&dir=asc");
        assert_eq!(header_link(&html, "name"), "/customers?sort=name&dir=asc");
        // Page 2 keeps the order; previous and next keep it too.
        let (_, html) = app.page("/customers?sort=spend&dir=desc&page=2", &admin);
        assert_eq!(rows(&html)[0], "L-070");
        assert!(html.contains("rel=\"prev\" href=\"/customers?sort=spend&amp;dir=desc\""), "{html}");
        assert!(html.contains("rel=\"next\" href=\"/customers?sort=spend&amp;dir=desc&amp;page=3\""), "{html}");
        // A page past the last shows the last.
        let (_, html) = app.page("/customers?sort=spend&dir=desc&page=99", &admin);
        assert_eq!(rows(&html).len(), 20);
        assert!(html.contains("<strong aria-current=\"page\">3</strong>") && !html.contains("rel=\"next\""));
        // Ties (orders) stay in id order; customers without points come last either way.
        let (_, html) = app.page("/customers?sort=orders&dir=desc", &admin);
        assert_eq!(&rows(&html)[..3], ["L-002", "L-005", "L-008"]);
        let (_, html) = app.page("/customers?sort=points&dir=asc&page=3", &admin);
        assert_eq!(rows(&html).last().map(String::as_str), Some("L-120"));
        assert_eq!(rows(&html)[8], "L-010", "the twelve without an account after the rest");

        // With a search: the links keep it, and the export follows the order.
        let (_, html) = app.page("/customers?q=Cust+11&sort=spend&dir=asc", &admin);
        assert_eq!(
            rows(&html),
            ["L-110", "L-111", "L-112", "L-113", "L-114", "L-115", "L-116", "L-117", "L-118", "L-119"]
        );
        assert_eq!(header_link(&html, "spend"), "/customers?q=Cust+11&sort=spend&dir=desc");
        let export = href_of(&html, "export-list");
        assert_eq!(export, "/customers/export.csv?q=Cust+11&sort=spend&dir=asc");
        let (_, csv) = app.page(&export.replace("dir=asc", "dir=desc"), &admin);
        let ids: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(&ids[..3], ["L-119", "L-118", "L-117"], "{csv}");

        // The default columns; the choice is remembered for this user and for them only.
        let (_, html) = app.page("/customers?q=Cust+00", &admin);
        for shown in ["points", "segment", "loyal"] {
            assert!(html.contains(&format!("data-column=\"{shown}\"")), "{shown}: {html}");
        }
        assert!(!html.contains("data-column=\"lifecycle\"") && !html.contains("data-column=\"tier\""));
        let csrf = csrf_in(&html);
        let (s, location, _) = app.form(
            "/customers/columns",
            &admin,
            &[("csrf", &csrf), ("back", "?q=Cust+00&sort=spend&dir=desc"), ("lifecycle", "1"), ("tier", "1")],
        );
        assert_eq!((s, location.as_deref()), (303, Some("/customers?q=Cust+00&sort=spend&dir=desc")));
        let (_, html) = app.page("/customers?q=Cust+00", &admin);
        assert!(html.contains("data-column=\"lifecycle\"") && html.contains("data-column=\"tier\""), "{html}");
        assert!(!html.contains("data-column=\"points\""), "{html}");
        let list = table_of(&html);
        assert!(list.contains(">Later than usual<") && list.contains(">Long overdue<"), "lifecycle names: {list}");
        let other = app.session(Role::Marketer);
        assert!(app.page("/customers", &other).1.contains("data-column=\"points\""));
        // The form goes back to the list only.
        let (_, location, _) = app.form(
            "/customers/columns",
            &admin,
            &[("csrf", &csrf), ("back", "//evil.example/?q=x"), ("points", "1")],
        );
        assert_eq!(location.as_deref(), Some("/customers"));
        assert_eq!(app.form("/customers/columns", &admin, &[("csrf", "forged"), ("points", "1")]).0, 403);

        // Staff get one short page of their search, whatever page they ask for.
        let staff = app.session(Role::Staff);
        let (_, html) = app.page("/customers?q=Cust&page=2&sort=spend&dir=desc", &staff);
        assert_eq!(rows(&html).len(), 20);
        assert_eq!(rows(&html)[0], "L-120");
        assert!(!html.contains("id=\"pager\""), "{html}");
    }
}

#[test]
fn a_japanese_reader_gets_japanese_names_dates_addresses_and_phones() {
    for app in apps() {
        seed(&app);
        let admin = app.session(Role::Admin);
        let csrf = csrf_in(&app.page("/customers", &admin).1);
        assert_eq!(app.form("/language", &admin, &[("csrf", &csrf), ("language", "ja")]).0, 303);
        let (_, html) = app.page("/customers?q=Cust+00&sort=segment&dir=asc", &admin);
        assert!(html.contains("表示する列") && html.contains("RFMセグメント"), "{html}");
        // RFM At Risk and the lifecycle stage at_risk no longer read alike.
        let list = table_of(&html);
        assert!(list.contains(">離反の恐れ<") && list.contains(">休眠<") && !html.contains("冬眠"), "{list}");
        assert!(list.contains(">2026年8月6日<"), "dates: {list}");
        let csrf = csrf_in(&html);
        app.form("/customers/columns", &admin, &[("csrf", &csrf), ("back", ""), ("lifecycle", "1")]);
        let (_, html) = app.page("/customers?q=Cust+00", &admin);
        let list = table_of(&html);
        assert!(list.contains(">しばらくご無沙汰<") && !list.contains(">離反の恐れ<"), "{list}");

        // The profile: address from the postal code, the phone in the national form, the
        // language by name, the business time zone by its everyday name.
        let (_, found) = app.admin("GET", "/api/v1/customers?external_id=L-007", None);
        let id = found["items"][0]["id"].as_i64().unwrap();
        let (_, html) = app.page(&format!("/customers/{id}"), &admin);
        assert!(html.contains("〒150-0043 東京都渋谷区道玄坂1-2-3"), "{html}");
        assert!(html.contains("090-1234-5678") && !html.contains("+819012345678"), "{html}");
        assert!(html.contains("言語: 日本語"), "{html}");
        assert!(!html.contains("(UTC)") && !html.contains("（UTC）") || html.contains("協定世界時"), "{html}");
    }
}
