//! The console in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver). Every page visited is screenshotted into `target/browser-screenshots/`, and a
//! page fails the test on any console error or any request answered 400 or more.
//!
//! `.ci/run` installs chromium and chromium-driver and sets `ENISHI_TEST_BROWSER=1`, which makes
//! this test fail rather than skip when the browser is missing.

use enishi_core::{Language, Role};
use enishi_server::{spawn, AppState};
use enishi_store::repo::{tokens, users};
use enishi_store::testing;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// The W3C element key in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session on it.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    shots: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Browser {
    fn start() -> Option<Browser> {
        let required = std::env::var_os("ENISHI_TEST_BROWSER").is_some();
        if !PathBuf::from(CHROMEDRIVER).exists() || !PathBuf::from(CHROMIUM).exists() {
            assert!(!required, "ENISHI_TEST_BROWSER is set but {CHROMEDRIVER} or {CHROMIUM} is missing");
            eprintln!("NOTE: browser tests SKIPPED (install chromium and chromium-driver to run them)");
            return None;
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=en-US"]},
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let answer: Value =
            ureq::post(&format!("{base}/session")).send_json(caps).expect("new session").into_json().unwrap();
        let session = answer["value"]["sessionId"].as_str().expect("session id").to_string();
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        let shots = shots.canonicalize().unwrap();
        let browser = Browser { driver, base, session, shots };
        // Elements are looked for until they appear (pages load slower on a busy machine).
        browser.cmd("POST", "/timeouts", Some(json!({"implicit": 15_000, "pageLoad": 60_000})));
        Some(browser)
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = ureq::request(method, &url);
        let resp = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match resp {
            Ok(r) => r.into_json::<Value>().unwrap()["value"].take(),
            Err(ureq::Error::Status(code, r)) => {
                panic!("{method} {path}: {code} {}", r.into_string().unwrap_or_default())
            }
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/value"), Some(json!({"text": text})));
    }

    /// Clicks something that stays on the page (a checkbox).
    fn tick(&self, css: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
    }

    /// Clicks something that loads a new page, and waits until the new page has loaded.
    fn click(&self, css: &str) {
        let el = self.find(css);
        self.script("window.__enishiOldPage = true;");
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
        let started = Instant::now();
        while self.script("return window.__enishiOldPage !== true && document.readyState === 'complete'") != json!(true)
        {
            assert!(started.elapsed() < Duration::from_secs(30), "clicking {css} loaded no new page");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits (up to 30 s) until an element matching `css` is on the page, as pages that
    /// refresh themselves come and go.
    fn wait_for(&self, css: &str) {
        let started = Instant::now();
        let probe =
            format!("return document.readyState === 'complete' && document.querySelector({}) !== null", json!(css));
        while self.script(&probe) != json!(true) {
            assert!(started.elapsed() < Duration::from_secs(30), "{css} never appeared");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Empties a text field, then types `text` into it.
    fn replace_text(&self, css: &str, text: &str) {
        let el = self.find(css);
        self.cmd("POST", &format!("/element/{el}/clear"), Some(json!({})));
        self.cmd("POST", &format!("/element/{el}/value"), Some(json!({"text": text})));
    }

    /// Waits (up to 30 s) until the text of the element matching `css` satisfies `ok`: what
    /// the page's script fills in arrives a little later.
    fn wait_text(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        let probe = format!("var e = document.querySelector({}); return e ? e.textContent : null", json!(css));
        loop {
            let text = self.script(&probe).as_str().unwrap_or_default().to_string();
            if ok(&text) {
                return text;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "{css} still reads {text:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn text(&self, css: &str) -> String {
        let el = self.find(css);
        self.cmd("GET", &format!("/element/{el}/text"), None).as_str().unwrap_or_default().to_string()
    }

    fn title(&self) -> String {
        self.cmd("GET", "/title", None).as_str().unwrap_or_default().to_string()
    }

    fn script(&self, js: &str) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": js, "args": []})))
    }

    /// Sends key strokes to the focused element (WebDriver key codes, e.g. U+E004 Tab).
    fn keys(&self, text: &str) {
        let actions: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                [json!({"type": "keyDown", "value": c.to_string()}), json!({"type": "keyUp", "value": c.to_string()})]
            })
            .collect();
        self.cmd("POST", "/actions", Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})));
    }

    fn resize(&self, width: u32, height: u32) {
        self.cmd("POST", "/window/rect", Some(json!({"width": width, "height": height})));
    }

    fn screenshot(&self, name: &str) {
        let png = self.cmd("GET", "/screenshot", None);
        std::fs::write(self.shots.join(format!("{name}.png")), base64_decode(png.as_str().unwrap())).unwrap();
    }

    /// Console errors since the last look (reading them clears them).
    fn console_errors(&self) -> Vec<String> {
        let logs = self.cmd("POST", "/se/log", Some(json!({"type": "browser"})));
        logs.as_array()
            .map(|a| a.iter().filter(|l| l["level"] == "SEVERE").map(|l| l["message"].to_string()).collect())
            .unwrap_or_default()
    }

    /// Screenshots a page that answers a refusal on purpose (`status`), and checks that this
    /// refusal is the only error.
    fn check_refused(&self, name: &str, status: u16) {
        self.screenshot(name);
        let errors = self.console_errors();
        assert!(errors.iter().all(|e| e.contains(&format!("status of {status}"))), "{name}: {errors:?}");
    }

    /// Screenshots the page as `name.png`, then fails on console errors and failed requests.
    fn check(&self, name: &str) {
        self.screenshot(name);
        let errors = self.console_errors();
        assert!(errors.is_empty(), "{name}: console errors {errors:?}");
        let failed = self.script(
            "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))\
             .filter(e => e.responseStatus >= 400).map(e => e.name + ' ' + e.responseStatus)",
        );
        assert_eq!(failed, json!([]), "{name}: failed requests");
    }
}

/// Standard base64, as WebDriver sends screenshots.
fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            _ => 63,
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=' && !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &c)| acc | (value(c) << (18 - 6 * i)));
        out.push((n >> 16) as u8);
        if chunk.len() > 2 {
            out.push((n >> 8) as u8);
        }
        if chunk.len() > 3 {
            out.push(n as u8);
        }
    }
    out
}

#[test]
fn a_shop_owner_signs_in_finds_a_customer_and_sees_their_points() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store
        .write(|c| users::create(c, "owner@shop.example", "Aiko", Role::Admin, Language::En, "correct horse battery"))
        .unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    let api = |method: &str, path: &str, body: Value| {
        ureq::request(method, &format!("{app}{path}"))
            .set("Authorization", &format!("Bearer {admin}"))
            .send_json(body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    };
    api(
        "PUT",
        "/api/v1/loyalty/program",
        json!({"name": "Classic", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1, "minimum_order": "10"},
               "tiers": {"basis": "spend", "window": {"rolling_days": 365},
                         "levels": [{"id": "member", "name": "Member", "threshold": "0"}, {"id": "gold", "name": "Gold", "threshold": "500"}]}}),
    );
    api(
        "POST",
        "/api/v1/orders",
        json!({"order_id": "W-1", "placed_at": "2026-11-02 10:00", "total": "57.40",
               "customer": {"external_id": "C-1", "name": "Hana Sato", "email": "hana@example.com"},
               "lines": [{"sku": "BEANS-1", "quantity": 2, "unit_price": "28.70", "category": "coffee"}]}),
    );

    browser.go(&format!("{app}/"));
    assert_eq!(browser.title(), "Sign in · Enishi", "signed-out visitors are sent to sign in");
    browser.check("01-sign-in");
    browser.type_into("input[name=email]", "owner@shop.example");
    browser.type_into("input[name=password]", "not the password");
    browser.click("form[action='/login'] button");
    assert!(browser.text("[role=alert]").contains("do not match"), "{}", browser.text("main"));
    browser.check_refused("01b-sign-in-refused", 401);
    browser.type_into("input[name=password]", "correct horse battery");
    browser.click("form[action='/login'] button");
    assert_eq!(browser.title(), "Dashboard · Enishi");
    browser.check("02-dashboard");
    browser.click("header a[href='/customers']");
    browser.check("03-customers");
    browser.type_into("input[name=q]", "Hana");
    browser.click("form[action='/customers'] button");
    browser.check("04-search");
    browser.click("td a[href^='/customers/']");
    assert!(browser.title().starts_with("Hana Sato"), "{}", browser.title());
    assert!(browser.text("#loyalty").contains("57 points"), "{}", browser.text("#loyalty"));
    assert!(browser.text("#loyalty").contains("Tier: Member"), "{}", browser.text("#loyalty"));
    browser.check("05-customer");
    // Record a purchase at the till and see the points it earned.
    browser.type_into("#record-purchase input[name=amount]", "30.00");
    browser.click("#record-purchase button");
    assert!(browser.text("[role=status]").contains("earned 30 points"), "{}", browser.text("main"));
    assert!(browser.text("#loyalty").contains("87 points"), "{}", browser.text("#loyalty"));
    browser.check("06-purchase-recorded");
    let customer_url = browser.cmd("GET", "/url", None).as_str().unwrap().split('?').next().unwrap().to_string();
    browser.type_into("#record-purchase input[name=amount]", "12,50");
    browser.click("#record-purchase button");
    assert!(browser.text("[role=alert]").contains("amount"), "{}", browser.text("main"));
    browser.check_refused("07-purchase-refused", 422);
    browser.go(&customer_url);
    browser.resize(390, 844);
    let overflow = browser.script(
        "return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)\
         .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))",
    );
    assert_eq!(overflow, json!([]), "nothing is wider than a phone");
    browser.check("08-customer-phone");
    browser.resize(1280, 900);
    // Adjust points with a reason; the balance follows.
    browser.type_into("#adjust input[name=points]", "-7");
    browser.type_into("#adjust input[name=reason]", "Coffee spilled, goodwill corrected");
    browser.click("#adjust button");
    assert!(browser.text("#flash").contains("Points adjusted"), "{}", browser.text("main"));
    assert!(browser.text("#loyalty").contains("80 points"), "{}", browser.text("#loyalty"));
    // Record a complaint; it shows as an open issue until resolved.
    browser.type_into("#record-interaction input[name=body]", "Milk was sour");
    browser.click("#record-interaction button");
    assert!(browser.text("#open-issues").contains("Milk was sour"), "{}", browser.text("main"));
    browser.check("08b-interaction");
    browser.click("#open-issues button");
    assert!(browser.text("#open-issues").contains("Nothing open"), "{}", browser.text("#open-issues"));
    browser.go(&format!("{app}/"));
    let charts = browser
        .script("return Array.from(document.querySelectorAll('svg.chart')).map(s => s.querySelector(':scope > title') !== null)");
    assert!(
        charts.as_array().is_some_and(|c| !c.is_empty() && c.iter().all(|t| t == true)),
        "every chart has a title: {charts}"
    );
    browser.check("09-dashboard");
    browser.click("header a[href='/analytics']");
    assert!(browser.text("#rfm-grid").contains("R5"), "{}", browser.text("main"));
    assert!(browser.text("#distributions").contains("Order value"), "{}", browser.text("main"));
    browser.check("09b-analytics");

    // Change the loyalty programme as JSON: a bad value is refused with the field named, a good
    // one is saved to the draft and applies after its changes are confirmed.
    browser.click("header a[href='/loyalty']");
    browser.check("10-loyalty");
    browser.click("#edit-programme");
    browser.click("a[href='/loyalty/editor/json']");
    let doc = json!({"name": "Classic", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1, "minimum_order": "-5"}});
    browser.script(&format!(
        "document.getElementById('document').value = {};",
        serde_json::to_string(&doc.to_string()).unwrap()
    ));
    browser.click("form[action='/loyalty/editor/json'] button");
    let error = browser.text("#programme-error");
    assert!(error.contains("earning.minimum_order") && error.contains("must not be negative"), "{error}");
    browser.check_refused("11-loyalty-invalid", 422);
    let good = json!({"name": "Classic v2", "effective_from": "2026-01-01", "earning": {"points_per_unit": 2}});
    browser.script(&format!(
        "document.getElementById('document').value = {};",
        serde_json::to_string(&good.to_string()).unwrap()
    ));
    browser.click("form[action='/loyalty/editor/json'] button");
    browser.click("#review-changes");
    browser.click("#apply");
    assert!(browser.text("#versions").contains("console: owner@shop.example"), "{}", browser.text("main"));
    browser.click("a[href='/loyalty']");
    assert!(browser.text("main").contains("Version 2"), "{}", browser.text("main"));
    browser.check("12-loyalty-applied");

    // Upload a CSV import: a bad row stops it with the rejected-rows report, unless the good rows
    // are to be imported anyway.
    let csv = browser.shots.join("upload.csv");
    std::fs::write(
        &csv,
        "order_id,customer_id,placed_at,sku,quantity,unit_price\n\
         U-1,C-9,2026-10-01 10:00,BEANS-1,1,12.50\n\
         U-2,C-9,2026-10-02 10:00,BEANS-1,two,12.50\n\
         U-3,C-8,2026-10-03 10:00,MUG,1,8.00\n",
    )
    .unwrap();
    browser.click("header a[href='/imports']");
    browser.check("13-import");
    browser.type_into("input[name=file]", csv.to_str().unwrap());
    browser.click("form[action='/imports'] button");
    browser.wait_for("#import-summary");
    assert!(browser.text("#import-summary").contains("nothing was imported"), "{}", browser.text("main"));
    let report = browser.text("#rejected-rows");
    assert!(report.contains('3') && report.contains("quantity"), "line 3, column quantity: {report}");
    browser.check("14-import-refused");
    browser.type_into("input[name=file]", csv.to_str().unwrap());
    browser.tick("input[name=skip_bad_rows]");
    browser.click("form[action='/imports'] button");
    browser.wait_for("#import-summary");
    let summary = browser.text("#import-summary");
    assert!(summary.contains("2 orders") && summary.contains("1 row rejected"), "{summary}");
    assert!(browser.text("#rejected-rows").contains("quantity"));
    browser.check("15-import-with-report");
    browser.click("header a[href='/imports']");
    assert!(browser.text("#recent-imports").contains("upload.csv"), "{}", browser.text("main"));

    // Owners' pages, then the console in Japanese, reached by keyboard.
    browser.click("header a[href='/users']");
    browser.check("16-users");
    browser.click("header a[href='/settings']");
    browser.check("17-settings");
    browser.click("header a[href='/tokens']");
    browser.check("18-tokens");
    browser.click("header a[href='/account']");
    browser.check("19-account");
    browser.click("#switch-language");
    assert_eq!(browser.title(), "アカウント · Enishi");
    browser.go(&format!("{app}/"));
    assert_eq!(browser.text("h1"), "ダッシュボード");
    let lang = browser.script("return document.documentElement.lang");
    assert_eq!(lang, "ja");
    browser.check("20-dashboard-ja");
    browser.go(&customer_url);
    assert!(browser.text("#loyalty").contains("80ポイント"), "{}", browser.text("#loyalty"));
    browser.check("21-customer-ja");
    // The first Tab reaches the skip link; following it lands on the content.
    browser.script("document.activeElement.blur()");
    browser.keys("\u{E004}");
    let focused = browser.script("return document.activeElement.className");
    assert_eq!(focused, "skip", "the first Tab stop is the skip link");
    browser.click("#switch-language");
    assert_eq!(browser.text("h1"), "Hana Sato");
    server.stop();
}

#[test]
fn a_marketer_builds_a_nested_segment_counts_it_saves_it_and_lists_its_customers() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store
        .write(|c| users::create(c, "mika@shop.example", "Mika", Role::Marketer, Language::En, "correct horse battery"))
        .unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    // Hana bought beans for a little; Ken bought a mug; Yui bought beans for a lot.
    for (order, customer, name, sku, total) in [
        ("W-1", "C-1", "Hana Sato", "BEANS-1", "57.40"),
        ("W-2", "C-2", "Ken Ito", "MUG-1", "12.00"),
        ("W-3", "C-3", "Yui Mori", "BEANS-1", "120.00"),
    ] {
        ureq::post(&format!("{app}/api/v1/orders"))
            .set("Authorization", &format!("Bearer {admin}"))
            .send_json(json!({"order_id": order, "placed_at": "2026-06-01 10:00", "total": total,
                "customer": {"external_id": customer, "name": name},
                "lines": [{"sku": sku, "quantity": 1, "unit_price": total}]}))
            .unwrap_or_else(|e| panic!("order {order}: {e}"));
    }

    browser.go(&format!("{app}/login"));
    browser.type_into("input[name=email]", "mika@shop.example");
    browser.type_into("input[name=password]", "correct horse battery");
    browser.click("form[action='/login'] button");
    browser.click("header a[href='/segments']");
    browser.check("30-segments-empty");
    browser.click("#new-segment");
    assert_eq!(browser.title(), "New segment · Enishi");
    browser.wait_for("#builder[data-live=on]");
    browser.check("31-builder-new");

    // orders >= 1 and (bought(sku: "MUG-1") or spend >= 100), built with the buttons.
    browser.tick("select[name='pick.0'] option[value='orders']");
    browser.click("button[value='add:0']");
    browser.replace_text("input[name='a.0.0']", "");
    browser.replace_text("input[name='v.0.0']", "1");
    browser.click("button[value='group:0']");
    browser.tick("select[name='pick.0.1'] option[value='bought']");
    browser.click("button[value='add:0.1']");
    browser.replace_text("input[name='a.0.1.0']", "sku: \"MUG-1\"");
    browser.tick("select[name='pick.0.1'] option[value='spend']");
    browser.click("button[value='add:0.1']");
    assert_eq!(browser.text("select[name='g.0.1'] option:checked"), "any of these (OR)");
    // A value the condition cannot take is pointed at as it is typed, without a post.
    browser.replace_text("input[name='v.0.1.1']", "lots");
    browser.wait_text("[data-path='0.1.1'] .error", |t| t.contains("compared with a number"));
    assert!(browser.text("[data-path='0.0']").contains("orders"), "only the bad condition is marked");
    let unmarked = browser.script("return document.querySelector(\"[data-path='0.0']\").classList.contains('bad')");
    assert_eq!(unmarked, json!(false));
    browser.check("32-builder-live-error");
    // The live count follows the edit, and the text form with it.
    browser.replace_text("input[name='v.0.1.1']", "100");
    browser.wait_text("#count", |t| t == "2");
    let text = browser.script("return document.getElementById('text').value");
    assert_eq!(text, json!("orders >= 1 and (bought(sku: \"MUG-1\") or spend >= 100)"));
    // The Count button gives the same count and a sample, without the script.
    browser.click("#count-button");
    assert_eq!(browser.text("#count"), "2");
    let sample = browser.text("#sample");
    assert!(sample.contains("Ken Ito") && sample.contains("Yui Mori") && !sample.contains("Hana"), "{sample}");
    browser.check("33-builder-counted");

    browser.type_into("input[name=name]", "Mugs or big spenders");
    browser.type_into("input[name=description]", "offer beans to mug buyers");
    browser.click("#save");
    assert!(browser.text("#flash").contains("Mugs or big spenders"), "{}", browser.text("main"));
    let row = browser.text("#segments tbody tr");
    assert!(row.contains("Mugs or big spenders") && row.contains("offer beans") && row.contains('2'), "{row}");
    browser.check("34-segments-saved");
    browser.click("#segments a.members");
    let list = browser.text("main table");
    assert!(list.contains("Ken Ito") && list.contains("Yui Mori") && !list.contains("Hana Sato"), "{list}");
    browser.check("35-customers-in-segment");

    // Back in the builder the saved rule is the tree; the text form is an alternative.
    browser.go(&format!("{app}/segments/Mugs%20or%20big%20spenders"));
    assert_eq!(browser.text("#count"), "2");
    browser.replace_text("#text", "orders >= 1 and not (bought(sku: \"MUG-1\")");
    browser.click("button[value=text]");
    assert!(browser.text("#text-error").contains("Line 1, column"), "{}", browser.text("main"));
    browser.check_refused("36-builder-text-error", 422);
    browser.replace_text("#text", "orders >= 1 and not bought(sku: \"MUG-1\")");
    browser.click("button[value=text]");
    assert_eq!(browser.text("#count"), "2");
    let negated = browser.script("return document.querySelector(\"input[name='n.0.1']\").checked");
    assert_eq!(negated, json!(true), "the text became a negated condition in the tree");
    browser.check("37-builder-from-text");
    browser.click("#switch-language");
    assert_eq!(browser.text("select[name='g.0'] option:checked"), "すべてに該当（AND）");
    assert!(browser.text("#preview").contains("現在の人数"), "{}", browser.text("#preview"));
    browser.check("38-builder-ja");
    browser.click("header a[href='/segments']");
    assert_eq!(browser.text("h1"), "セグメント一覧");
    browser.check("39-segments-ja");
    server.stop();
}

#[test]
fn a_yen_till_takes_amounts_as_typed_and_confirms_an_unusual_sale_in_japanese_and_english() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store
        .write(|c| {
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::CURRENCY, "JPY")
                .map_err(users::UserError::from)?;
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::TIME_ZONE, "Asia/Tokyo")
                .map_err(users::UserError::from)?;
            users::create(c, "ten@cafe.example", "Ten", Role::Staff, Language::Ja, "correct horse battery")?;
            users::create(c, "sam@cafe.example", "Sam", Role::Staff, Language::En, "correct horse battery")?;
            Ok::<_, users::UserError>(())
        })
        .unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    let api = |method: &str, path: &str, body: Value| {
        ureq::request(method, &format!("{app}{path}"))
            .set("Authorization", &format!("Bearer {admin}"))
            .send_json(body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    };
    api(
        "PUT",
        "/api/v1/loyalty/program",
        json!({"name": "Cafe", "effective_from": "2026-01-01",
               "earning": {"points_per_unit": 0.01, "minimum_order": "1000"}}),
    );
    struct Pass {
        lang: &'static str,
        email: &'static str,
        width: (u32, u32),
        /// The amount field's label, the flash of the 1,200 sale, the loyalty card after it,
        /// the question, the flash of the confirmed sale.
        says: [&'static str; 5],
        /// How the sale is typed.
        typed: &'static str,
    }
    let passes = [
        Pass {
            lang: "ja",
            email: "ten@cafe.example",
            width: (390, 844),
            says: [
                "金額（¥）",
                "¥1,200 で 12 ポイント獲得",
                "22ポイント",
                "金額は正しいですか",
                "¥50,000 で 500 ポイント獲得",
            ],
            typed: "1,200円",
        },
        Pass {
            lang: "en",
            email: "sam@cafe.example",
            width: (1280, 900),
            says: [
                "Amount (¥)",
                "¥1,200 earned 12 points",
                "22 points",
                "Is the amount right?",
                "¥50,000 earned 500 points",
            ],
            typed: "¥1,200",
        },
    ];
    for (n, p) in passes.iter().enumerate() {
        let order: Value = api(
            "POST",
            "/api/v1/orders",
            json!({"order_id": format!("J-{n}"), "placed_at": "2026-11-02 10:00", "total": "1000",
                   "customer": {"external_id": format!("C-J{n}"), "name": "山田 花子"},
                   "lines": [{"sku": "LATTE", "quantity": 1, "unit_price": "1000"}]}),
        )
        .into_json()
        .unwrap();
        let width = if p.width.0 < 500 { "phone" } else { "desktop" };
        let shot = |step: u32, what: &str| format!("{}-till-{what}-{}-{width}", 30 + step + 100 * n as u32, p.lang);

        browser.resize(p.width.0, p.width.1);
        sign_in_as(&browser, &app, p.email);
        browser.go(&format!("{app}/customers/{}", order["customer_id"]));
        assert_eq!(browser.text("h1"), "山田 花子");
        assert!(browser.text("#record-purchase").contains(p.says[0]), "{}", browser.text("#record-purchase"));

        // The sale as typed: recorded as ¥1,200, earning its 12 points.
        browser.type_into("#till-sale input[name=amount]", p.typed);
        browser.click("#till-sale button");
        let flash = browser.text("#flash");
        assert!(flash.contains(p.says[1]), "{flash}");
        assert!(browser.text("#loyalty").contains(p.says[2]), "{}", browser.text("#loyalty"));
        browser.check(&shot(0, "yen-recorded"));

        // ¥50,000 is far above this customer's usual: the till asks, keeping what was typed.
        browser.type_into("#till-sale input[name=amount]", "¥50,000");
        browser.click("#till-sale button");
        let question = browser.text("#till-confirm");
        assert!(question.contains("¥50,000") && question.contains(p.says[3]), "{question}");
        let typed = browser.script("return document.querySelector('#till-sale input[name=amount]').value");
        assert_eq!(typed, json!("¥50,000"));
        browser.check(&shot(1, "unusual-sale"));
        browser.click("#till-confirm button");
        let flash = browser.text("#flash");
        assert!(flash.contains(p.says[4]), "{flash}");
        let overflow = browser.script(
            "return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)\
             .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))",
        );
        assert_eq!(overflow, json!([]), "nothing is wider than the window");
        browser.check(&shot(2, "confirmed"));
    }
    server.stop();
}

#[test]
fn a_japanese_owner_imports_a_shift_jis_pos_export_through_the_mapping_screen() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store
        .write(|c| {
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::CURRENCY, "JPY")?;
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::TIME_ZONE, "Asia/Tokyo")?;
            users::create(c, "owner@cafe.example", "Mika", Role::Admin, Language::Ja, "correct horse battery")
        })
        .unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);

    // What the café's till exports: Shift_JIS, CRLF, Japanese headers, a column Enishi does
    // not need, and a quantity typed in kanji on line 5.
    let text = "注文番号,顧客ID,購入日時,商品コード,商品名,数量,単価,店舗名\r\n\
                R-1,K-1,2026-11-20 18:05,BEAN-1,深煎りブレンド,2,1200,渋谷店\r\n\
                R-1,K-1,2026-11-20 18:05,CUP-1,髙橋さんのカップ,1,0,渋谷店\r\n\
                R-2,K-2,2026-11-21 10:00,BEAN-1,深煎りブレンド,1,1200,渋谷店\r\n\
                R-3,K-3,2026-11-21 11:00,BEAN-1,深煎りブレンド,二,1200,渋谷店\r\n";
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    let file = browser.shots.join("pos-shift-jis.csv");
    std::fs::write(&file, &sjis).unwrap();

    browser.go(&format!("{app}/login"));
    browser.type_into("input[name=email]", "owner@cafe.example");
    browser.type_into("input[name=password]", "correct horse battery");
    browser.click("form[action='/login'] button");
    browser.click("header a[href='/imports']");
    assert_eq!(browser.text("h1"), "データの取り込み");
    browser.type_into("input[name=file]", file.to_str().unwrap());
    browser.tick("input[name=skip_bad_rows]");
    browser.click("form[action='/imports'] button");

    // The mapping screen: the file's headers, decoded, next to the fields Enishi guessed.
    browser.wait_for("#column-mapping");
    assert_eq!(browser.text("h1"), "注文の取り込み");
    let intro = browser.text("#mapping-intro");
    assert!(intro.contains("Shift_JIS") && intro.contains("保存されます"), "{intro}");
    let mapping = browser.text("#column-mapping");
    assert!(mapping.contains("注文番号") && mapping.contains("髙橋さんのカップ"), "{mapping}");
    let chosen =
        browser.script("return Array.from(document.querySelectorAll('#column-mapping select')).map(s => s.value)");
    assert_eq!(
        chosen,
        json!(["order_id", "customer_id", "placed_at", "sku", "product_name", "quantity", "unit_price", ""]),
        "guessed from the Japanese headers; 店舗名 is not imported"
    );
    browser.check("40-import-mapping-ja");
    browser.click("form[action^='/imports/map/'] button");

    browser.wait_for("#import-summary");
    let summary = browser.text("#import-summary");
    assert!(
        summary.contains("4行を読み込み、2件の注文・0件の返品・2人の顧客を作成")
            && summary.contains("1行を除外しました"),
        "{summary}"
    );
    let rejected = browser.text("#rejected-rows");
    assert!(
        rejected.contains('5') && rejected.contains("数量") && rejected.contains("整数ではありません"),
        "{rejected}"
    );
    assert!(browser.text("#download-rejected").contains("ダウンロード"));
    browser.check("41-import-done-ja");

    // The names arrived intact.
    let product: Value = ureq::get(&format!("{app}/api/v1/products/CUP-1"))
        .set("Authorization", &format!("Bearer {admin}"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(product["name"], "髙橋さんのカップ");
    server.stop();
}

/// Signs the browser out (when signed in) and in again as `email`.
fn sign_in_as(browser: &Browser, app: &str, email: &str) {
    browser.go(&format!("{app}/login"));
    browser.type_into("input[name=email]", email);
    browser.type_into("input[name=password]", "correct horse battery");
    browser.click("form[action='/login'] button");
}

/// Chooses `value` in the `<select>` matching `css`.
fn choose(browser: &Browser, css: &str, value: &str) {
    browser.script(&format!("document.querySelector({}).value = {};", json!(css), json!(value)));
}

#[test]
fn staff_enrol_a_walk_in_edit_consent_and_a_manager_merges_the_duplicate_in_japanese_and_english() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store
        .write(|c| {
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::CURRENCY, "JPY")
                .map_err(users::UserError::from)?;
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::TIME_ZONE, "Asia/Tokyo")
                .map_err(users::UserError::from)?;
            for (email, role, language) in [
                ("ten@cafe.example", Role::Staff, Language::Ja),
                ("mika@cafe.example", Role::Admin, Language::Ja),
                ("sam@cafe.example", Role::Staff, Language::En),
                ("owner@cafe.example", Role::Admin, Language::En),
            ] {
                users::create(c, email, email.split('@').next().unwrap(), role, language, "correct horse battery")?;
            }
            Ok::<_, users::UserError>(())
        })
        .unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    let api = |method: &str, path: &str, body: Value| -> Value {
        ureq::request(method, &format!("{app}{path}"))
            .set("Authorization", &format!("Bearer {admin}"))
            .send_json(body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
            .into_json()
            .unwrap()
    };
    api(
        "PUT",
        "/api/v1/loyalty/program",
        json!({"name": "Cafe", "effective_from": "2026-01-01", "earning": {"points_per_unit": 0.01}}),
    );

    // (language, staff, owner, the customer kept, the walk-in's name and phone, what the pages say)
    struct Pass {
        lang: &'static str,
        staff: &'static str,
        owner: &'static str,
        kept: &'static str,
        name: &'static str,
        phone: &'static str,
        enrolled: &'static str,
        taken: &'static str,
        saved: &'static str,
        merged: &'static str,
        width: (u32, u32),
    }
    let passes = [
        Pass {
            lang: "ja",
            staff: "ten@cafe.example",
            owner: "mika@cafe.example",
            kept: "山田 花子",
            name: "やまだ はなこ",
            phone: "090-1234-5678",
            enrolled: "顧客を登録しました。",
            taken: "すでにこの電話番号を使っています",
            saved: "連絡先を保存しました。",
            merged: "記録をこの顧客に統合しました。",
            width: (390, 844),
        },
        Pass {
            lang: "en",
            staff: "sam@cafe.example",
            owner: "owner@cafe.example",
            kept: "Hana Sato",
            name: "Hana S.",
            phone: "080 9999 0000",
            enrolled: "Customer enrolled.",
            taken: "already has this phone number",
            saved: "Contact details saved.",
            merged: "Records merged into this customer.",
            width: (1280, 900),
        },
    ];
    for (n, p) in passes.iter().enumerate() {
        let order = api(
            "POST",
            "/api/v1/orders",
            json!({"order_id": format!("K-{n}"), "placed_at": "2026-11-02 10:00", "total": "1200",
                   "customer": {"external_id": format!("C-K{n}"), "name": p.kept},
                   "lines": [{"sku": "LATTE", "quantity": 1, "unit_price": "1200"}]}),
        );
        let kept = order["customer_id"].as_i64().unwrap();
        let shot = |step: u32, what: &str| format!("{}-{what}-{}", 60 + 10 * n as u32 + step, p.lang);

        // Staff enrol the walk-in at the till.
        browser.resize(p.width.0, p.width.1);
        sign_in_as(&browser, &app, p.staff);
        browser.go(&format!("{app}/customers"));
        browser.click("#enrol-link");
        browser.type_into("#enrol input[name=name]", p.name);
        browser.type_into("#enrol input[name=furigana]", "ヤマダ ハナコ");
        browser.type_into("#enrol input[name=phone]", p.phone);
        choose(&browser, "#enrol select[name=consent_email]", "opted_in");
        choose(&browser, "#enrol select[name=consent_sms]", "opted_out");
        browser.check(&shot(0, "enrol-form"));
        browser.click("#enrol button");
        assert_eq!(browser.text("h1"), p.name);
        assert!(browser.text("#flash").contains(p.enrolled), "{}", browser.text("#flash"));
        assert!(browser.text("#consent").contains(p.staff), "{}", browser.text("#consent"));
        let walk_in = browser.script("return location.pathname.split('/')[2]").as_str().unwrap().to_string();
        browser.check(&shot(1, "enrolled"));

        // The same phone again is refused on the same form, keeping what was typed.
        browser.go(&format!("{app}/customers/new"));
        browser.type_into("#enrol input[name=name]", "Someone");
        browser.type_into("#enrol input[name=phone]", &p.phone.replace(['-', ' '], ""));
        browser.click("#enrol button");
        assert!(browser.text("#contact-error").contains(p.taken), "{}", browser.text("#contact-error"));
        let typed = browser.script("return document.querySelector('#enrol input[name=name]').value");
        assert_eq!(typed, json!("Someone"));
        browser.check_refused(&shot(2, "enrol-duplicate"), 422);

        // Consent edited on the profile: withdrawn, and on the trail with who.
        browser.go(&format!("{app}/customers/{walk_in}"));
        browser.click("#edit-contact-link");
        choose(&browser, "#edit-contact select[name=consent_email]", "opted_out");
        browser.check(&shot(3, "edit-consent"));
        browser.click("#edit-contact button");
        assert!(browser.text("#flash").contains(p.saved), "{}", browser.text("#flash"));
        browser.tick("#consent-history summary");
        let trail = browser.script("return document.querySelector('#consent-trail').textContent");
        let trail = trail.as_str().unwrap();
        // The sources in words: the console and the till, with who.
        let (console, till) = match p.lang {
            "ja" => (format!("管理画面（{}）", p.staff), format!("レジ（{}）", p.staff)),
            _ => (format!("Console ({})", p.staff), format!("Till ({})", p.staff)),
        };
        assert!(trail.contains(&console) && trail.contains(&till), "{trail}");
        assert!(
            browser.text("#consent-trail thead").contains(if p.lang == "ja" { "日本時間" } else { "Japan time" }),
            "{}",
            browser.text("#consent-trail thead")
        );
        browser.check(&shot(4, "consent-trail"));

        // The owner merges the walk-in into the customer they already were.
        sign_in_as(&browser, &app, p.owner);
        browser.go(&format!("{app}/customers/{kept}"));
        browser.click("#merge-link");
        browser.type_into("#merge-find input[name=other]", p.phone);
        browser.click("#merge-find button");
        assert!(browser.text("#merge-confirm").contains(&format!("C-K{n}")), "{}", browser.text("#merge-confirm"));
        browser.check(&shot(5, "merge-confirm"));
        browser.click("#merge-confirm button");
        assert!(browser.text("#flash").contains(p.merged), "{}", browser.text("#flash"));
        assert_eq!(browser.text("h1"), p.kept);
        // The phone moved with the record, shown in the national form.
        assert!(browser.text("#contact").contains(&p.phone.replace(' ', "-")), "{}", browser.text("#contact"));
        assert!(
            browser.text("#timeline").contains("W-"),
            "the merge is on the timeline: {}",
            browser.text("#timeline")
        );
        browser.check(&shot(6, "merged"));
    }
    server.stop();
}

#[test]
fn staff_resolve_a_complaint_from_the_inbox_and_the_till_asks_how_it_is_now() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store
        .write(|c| users::create(c, "sae@cafe.example", "Sae", Role::Staff, Language::En, "correct horse battery"))
        .unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    let api = |method: &str, path: &str, body: Value| -> Value {
        ureq::request(method, &format!("{app}{path}"))
            .set("Authorization", &format!("Bearer {admin}"))
            .send_json(body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
            .into_json()
            .unwrap()
    };
    let order = api(
        "POST",
        "/api/v1/orders",
        json!({"order_id": "G-1", "placed_at": "2026-11-02 10:00", "total": "30.00",
               "customer": {"external_id": "C-G", "name": "Goro Ito"},
               "lines": [{"sku": "GRINDER", "quantity": 1, "unit_price": "30.00"}]}),
    );
    let customer = order["customer_id"].as_i64().unwrap();
    api(
        "POST",
        &format!("/api/v1/customers/{customer}/interactions"),
        json!({"kind": "complaint", "body": "The grinder jams", "channel": "phone"}),
    );

    browser.go(&format!("{app}/login"));
    browser.type_into("input[name=email]", "sae@cafe.example");
    browser.type_into("input[name=password]", "correct horse battery");
    browser.click("form[action='/login'] button");
    browser.click("a[href='/inbox']");
    assert!(browser.text("#inbox").contains("Goro Ito"), "{}", browser.text("#inbox"));
    browser.check("40-inbox-one-open-complaint");

    // The page: resolved, with a note.
    browser.click("#inbox a[href^='/interactions/']");
    assert!(browser.text("#interaction").contains("The grinder jams"));
    browser.tick("select[name=status] option[value=resolved]");
    browser.type_into("textarea[name=resolution]", "Sent a new burr set");
    browser.check("41-interaction-resolving");
    browser.click("#save-interaction");
    assert_eq!(browser.text("#flash"), "Saved.");
    assert!(browser.text("main").contains("Nothing open."));
    browser.check("42-inbox-empty-after-resolving");

    // At the till, the customer's page prompts to ask how it is now, until staff have asked.
    browser.go(&format!("{app}/customers/{customer}"));
    let prompt = browser.text("#ask-how");
    assert!(prompt.contains("The grinder jams") && prompt.contains("Sent a new burr set"), "{prompt}");
    assert!(browser.text("main").contains("The grinder jams → Sent a new burr set"), "the note is on the timeline");
    browser.check("43-till-asks-how-it-is-now");
    browser.click("#ask-how button");
    let gone = browser.script("return document.querySelector('#ask-how') === null");
    assert_eq!(gone, json!(true));
    browser.check("44-till-asked");
    server.stop();
}

#[test]
fn a_marketer_writes_a_template_runs_a_campaign_through_the_wizard_and_reads_its_results() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store
        .write(|c| {
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::CURRENCY, "JPY")
                .map_err(users::UserError::from)?;
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::TIME_ZONE, "Asia/Tokyo")
                .map_err(users::UserError::from)?;
            users::create(c, "mika@cafe.example", "Mika", Role::Marketer, Language::Ja, "correct horse battery")?;
            for id in 1..=12_i64 {
                c.execute(
                    "INSERT INTO customers (id, external_id, name, email, locale, postal_code, region, city, address_line1, \
                     first_seen_at, created_at, updated_at) VALUES ($1, $2, '佐藤 花子', $3, 'ja', '150-0001', '東京都', '渋谷区', '1-2-3', 0, 0, 0)",
                    &[id.into(), format!("C-{id}").into(), format!("c{id}@example.com").into()],
                )
                .map_err(users::UserError::from)?;
                if id % 3 != 0 {
                    c.execute(
                        "INSERT INTO customer_consents (customer_id, channel, status, changed_at, source) VALUES ($1, 'postal', 'opted_in', 0, 't')",
                        &[id.into()],
                    )
                    .map_err(users::UserError::from)?;
                }
            }
            Ok::<_, users::UserError>(())
        })
        .unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    let api = |method: &str, path: &str, body: Value| {
        ureq::request(method, &format!("{app}{path}"))
            .set("Authorization", &format!("Bearer {admin}"))
            .send_json(body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    };
    api("POST", "/api/v1/segments", json!({"name": "常連", "rule": "name"}));

    // In Japanese at desktop width: a template with a merge field, previewed for a customer.
    sign_in_as(&browser, &app, "mika@cafe.example");
    browser.click("header a[href='/campaigns']");
    assert_eq!(browser.text("h1"), "キャンペーン");
    browser.check("60-campaigns-empty-ja");
    browser.click("#templates-link");
    browser.click("#new-template");
    browser.type_into("input[name=name]", "秋のご案内");
    browser.type_into("input[name=subject]", "{{ customer.honorific }}、秋のおすすめ");
    browser.type_into("#html", "<p>{{ customer.nmae }}</p>");
    browser.click("#save-template");
    assert!(browser.text("#template-error").contains("customer.nmae"), "{}", browser.text("main"));
    browser.check_refused("61-template-refused-ja", 422);
    browser.replace_text("#html", "<p>{{ customer.honorific }}</p><p>{{ points.balance }} ポイント</p>");
    browser.type_into("#text", "{{ customer.honorific }}\n{{ unsubscribe_url }}");
    browser.type_into("input[name=customer]", "C-1");
    browser.click("#preview-template");
    assert_eq!(browser.text("#preview-subject"), "佐藤 花子 様、秋のおすすめ");
    let framed = browser.script(
        "var f = document.getElementById('preview-html'); return [f.getAttribute('sandbox'), f.getAttribute('srcdoc')]",
    );
    assert_eq!(framed[0], json!(""), "the preview frame is sandboxed");
    assert!(framed[1].as_str().unwrap().contains("佐藤 花子 様"), "{framed}");
    browser.check("62-template-preview-ja");
    browser.click("#save-template");
    assert!(browser.text("#flash").contains("秋のご案内"), "{}", browser.text("main"));
    browser.check("63-templates-ja");

    // The wizard: a postal DM to the segment, two versions, a holdout, a goal; started now.
    browser.go(&format!("{app}/campaigns/new"));
    choose(&browser, "select[name=audience]", "segment:常連");
    choose(&browser, "select[name=channel]", "postal");
    browser.replace_text("input[name=share_1]", "50");
    browser.replace_text("input[name=share_2]", "50");
    browser.replace_text("input[name=holdout]", "20");
    choose(&browser, "select[name=goal]", "sku");
    browser.type_into("input[name=goal_value]", "MUG-1");
    browser.type_into("input[name=cost]", "120");
    browser.type_into("input[name=mailing]", "秋の DM");
    browser.type_into("input[name=version]", "v1");
    browser.type_into("input[name=name]", "秋の DM v1");
    browser.tick("input[name=when][value=now]");
    browser.check("64-wizard-ja");
    browser.click("#create-campaign");
    assert_eq!(browser.text("h1"), "秋の DM v1");
    assert!(browser.text("#audience-line").contains("同意なし 4"), "{}", browser.text("#audience-line"));
    browser.click("#confirm-letters");
    assert!(browser.text("#flash").contains("投函済み"), "{}", browser.text("main"));
    // Recipients buy the mug an hour after the letters were posted.
    let recipients: Vec<i64> = db
        .store
        .read(|c| {
            c.query("SELECT customer_id FROM campaign_recipients WHERE status = 'sent' ORDER BY customer_id", &[])
                .map(|rows| rows.iter().map(|r| r.int(0).unwrap()).collect::<Vec<i64>>())
        })
        .unwrap();
    let soon = (chrono::Utc::now() + chrono::Duration::minutes(30)).to_rfc3339();
    for id in recipients.iter().take(3) {
        api(
            "POST",
            "/api/v1/orders",
            json!({"order_id": format!("M-{id}"), "placed_at": soon, "total": "1500",
                   "customer": {"external_id": format!("C-{id}")},
                   "lines": [{"sku": "MUG-1", "quantity": 1, "unit_price": "1500"}]}),
        );
    }
    let here = browser.cmd("GET", "/url", None);
    browser.go(here.as_str().unwrap().split('?').next().unwrap());
    let conversions = browser.text("#results tr.arm-all td:nth-child(3)");
    assert_eq!(conversions, "3", "three conversions: {}", browser.text("#results"));
    assert!(browser.text("#campaign-state").contains("完了"), "{}", browser.text("#campaign-facts"));
    browser.check("65-results-ja");

    // The same results in English at phone width.
    browser.click("#switch-language");
    browser.resize(390, 844);
    assert_eq!(browser.text("#results th"), "Version");
    let overflow = browser.script(
        "return Array.from(document.querySelectorAll('body *')).filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > window.innerWidth + 1)\
         .map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))",
    );
    assert_eq!(overflow, json!([]), "nothing but the scrolling table is wider than a phone");
    browser.check("66-results-en-phone");
    browser.click("header a[href='/campaigns']");
    assert!(browser.text("#campaigns").contains("秋の DM v1"), "{}", browser.text("main"));
    browser.check("67-campaigns-en-phone");
    browser.click("#templates-link");
    browser.click("#templates a");
    browser.click("#preview-template");
    assert_eq!(browser.text("#preview-subject"), "佐藤 花子 様、秋のおすすめ");
    browser.check("68-template-preview-en-phone");
    browser.resize(1280, 900);
    browser.click("header a[href='/campaigns']");
    browser.click("#new-campaign");
    browser.check("69-wizard-en");
    server.stop();
}

/// Fails when the page scrolls sideways at its width, or when anything a thumb presses (a
/// button, a choice's label, a link standing alone, a text box) is smaller than 44 × 44 px.
fn check_phone_layout(browser: &Browser, name: &str) {
    let width = browser.script("return window.innerWidth").as_i64().unwrap();
    assert!(width <= 420, "{name}: the page is at phone width, not {width} px");
    let scroll = browser.script("return document.documentElement.scrollWidth - window.innerWidth").as_i64().unwrap();
    let wide = browser.script(
        "return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)\
         .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))",
    );
    assert!(scroll <= 0, "{name}: the page scrolls sideways by {scroll} px: {wide}");
    let small = browser.script(
        "return Array.from(document.querySelectorAll('button, .scale label, .choices label, textarea, main > p > a'))\
         .map(e => [e.tagName + ' ' + e.textContent.trim().slice(0, 20), e.getBoundingClientRect()])\
         .filter(([_, r]) => r.width < 44 || r.height < 44).map(([n, r]) => n + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))",
    );
    assert_eq!(small, json!([]), "{name}: touch targets under 44 px");
}

#[test]
fn a_japanese_customer_answers_a_survey_and_uses_their_page_on_a_phone() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store.write(|c| enishi_store::repo::settings::set(c, "shop_name", "珈琲 縁")).unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    db.store.write(|c| enishi_store::repo::settings::set(c, "public_url", &app)).unwrap();
    let api = |method: &str, path: &str, body: Value| -> Value {
        ureq::request(method, &format!("{app}{path}"))
            .set("Authorization", &format!("Bearer {admin}"))
            .send_json(body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
            .into_json()
            .unwrap()
    };
    api(
        "PUT",
        "/api/v1/loyalty/program",
        json!({"name": "Cafe", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1, "minimum_order": "10"},
               "tiers": {"basis": "spend", "window": {"rolling_days": 365},
                         "levels": [{"id": "member", "name": "メンバー", "threshold": "0"}, {"id": "gold", "name": "ゴールド", "threshold": "500"}]}}),
    );
    let order = api(
        "POST",
        "/api/v1/orders",
        json!({"order_id": "P-1", "placed_at": "2026-11-02 10:00", "total": "120.00",
               "customer": {"external_id": "C-P", "name": "山田 花子", "email": "hanako@example.com"},
               "lines": [{"sku": "LATTE", "quantity": 1, "unit_price": "120.00"}]}),
    );
    let id = order["customer_id"].as_i64().unwrap();
    api("PATCH", &format!("/api/v1/customers/{id}"), json!({"locale": "ja-JP"}));
    api("POST", "/api/v1/surveys", json!({"name": "ご来店後", "kind": "nps"}));
    api("POST", "/api/v1/surveys/%E3%81%94%E6%9D%A5%E5%BA%97%E5%BE%8C/invitations", json!({"customers": ["C-P"]}));
    let (survey_link, page_link) = db
        .store
        .write(|c| {
            let s = enishi_campaigns::surveys::find(c, "ご来店後")?;
            let i = enishi_store::repo::surveys::invitations(c, s.id)?.remove(0);
            let now = c.now();
            Ok::<_, enishi_campaigns::Error>((
                enishi_campaigns::surveys::link(c, &i)?,
                enishi_campaigns::my_page::link(c, id, now)?,
            ))
        })
        .unwrap();
    assert!(survey_link.starts_with(&app) && page_link.starts_with(&app), "{survey_link} {page_link}");

    // The survey, on a phone, in Japanese: choose 9, write a comment, send.
    browser.resize(390, 844);
    browser.go(&survey_link);
    assert_eq!(browser.title(), "アンケートのお願い");
    assert!(browser.text("legend").contains("珈琲 縁をご友人や同僚にすすめる可能性"), "{}", browser.text("legend"));
    check_phone_layout(&browser, "survey");
    browser.check("40-survey-ja-phone");
    browser.tick(".scale label:nth-child(10)");
    assert_eq!(browser.script("return document.querySelector('input[name=score]:checked').value"), json!("9"));
    browser.type_into("textarea[name=comment]", "ラテがおいしかったです。<b>また来ます</b>");
    browser.click("form button[type=submit]");
    assert_eq!(browser.title(), "ありがとうございました");
    assert!(browser.text("[role=status]").contains("ご回答ありがとうございました"));
    assert!(
        browser.text("#answer").contains("9 / 10") && browser.text("#answer").contains("<b>また来ます</b>"),
        "shown as typed"
    );
    check_phone_layout(&browser, "survey answered");
    browser.check("41-survey-answered-ja-phone");
    // Opened again, the link shows the answer and asks nothing.
    browser.go(&survey_link);
    assert!(browser.text("#answer").contains("9 / 10"));
    assert_eq!(browser.script("return document.querySelectorAll('input[name=score]').length"), json!(0));
    let results = api("GET", "/api/v1/surveys/%E3%81%94%E6%9D%A5%E5%BA%97%E5%BE%8C/results", json!(null));
    assert_eq!(results["nps"]["promoters"], 1);

    // The customer's own page: points, tier, preferences; SMS wanted, then unsubscribe.
    browser.go(&page_link);
    assert_eq!(browser.title(), "山田 花子 様のページ");
    assert!(browser.text("#points").contains("120"), "{}", browser.text("#points"));
    assert!(
        browser.text("#tier").contains("メンバー") && browser.text("#tier").contains("ゴールド"),
        "{}",
        browser.text("#tier")
    );
    check_phone_layout(&browser, "customer page");
    browser.check("42-my-page-ja-phone");
    browser.tick("input[value=sms]");
    browser.click("#preferences form button[type=submit]");
    assert!(browser.text("[role=status]").contains("ご連絡方法の設定を保存しました"));
    assert_eq!(browser.script("return document.querySelector('input[value=sms]').checked"), json!(true));
    check_phone_layout(&browser, "preferences saved");
    browser.check("43-my-page-saved-ja-phone");
    let customer = api("GET", &format!("/api/v1/customers/{id}/360"), json!(null));
    let sms = customer["consent"].as_array().unwrap().iter().find(|c| c["channel"] == "sms").unwrap().clone();
    assert_eq!((sms["status"].as_str(), sms["source"].as_str()), (Some("opted_in"), Some("customer page")));
    browser.click("form[action$='/unsubscribe'] button");
    assert!(browser.text("[role=status]").contains("今後、お知らせはお送りしません"));
    assert_eq!(browser.script("return document.querySelectorAll('input[name=channel]:checked').length"), json!(0));
    check_phone_layout(&browser, "unsubscribed");
    browser.check("44-my-page-unsubscribed-ja-phone");
    server.stop();
}

/// Fails on any button, field, link-button or search result on the page under 44 px either
/// way (a finger on a till's phone), naming them.
fn check_touch_targets(browser: &Browser, name: &str) {
    let small = browser.script(
        "return Array.from(document.querySelectorAll('main button, main .button, main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), main select, ul.hits a'))\
         .filter(e => e.offsetParent !== null)\
         .map(e => [e.tagName + '#' + e.id + ' ' + (e.textContent || e.name || '').trim().slice(0, 20), e.getBoundingClientRect()])\
         .filter(([_, r]) => r.width < 44 || r.height < 44).map(([n, r]) => n + ' ' + Math.round(r.width) + 'x' + Math.round(r.height))",
    );
    assert_eq!(small, json!([]), "{name}: touch targets under 44 px");
}

#[test]
fn staff_at_a_phone_till_find_the_customer_by_phone_and_card_record_a_sale_and_never_browse() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store
        .write(|c| {
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::CURRENCY, "JPY")?;
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::TIME_ZONE, "Asia/Tokyo")?;
            users::create(c, "mika@cafe.example", "Mika", Role::Staff, Language::Ja, "correct horse battery")
        })
        .unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    let api = |method: &str, path: &str, body: Value| {
        ureq::request(method, &format!("{app}{path}"))
            .set("Authorization", &format!("Bearer {admin}"))
            .send_json(body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    };
    api(
        "PUT",
        "/api/v1/loyalty/program",
        json!({"name": "Cafe", "effective_from": "2026-01-01",
               "earning": {"points_per_unit": 0.01, "minimum_order": "1000"},
               "rewards": [{"id": "free-latte", "name": "ラテ1杯無料", "cost": 100, "kind": "free_item", "sku": "LATTE", "valid_days": 30}],
               "stamp_cards": [{"id": "latte-card", "name": "ラテスタンプ", "stamps": 5, "minimum_spend": "400",
                                "categories": ["coffee"], "reward": "free-latte"}]}),
    );
    let order: Value = api(
        "POST",
        "/api/v1/orders",
        json!({"order_id": "T-1", "placed_at": "2026-11-02 10:00", "total": "1000",
               "customer": {"external_id": "C-1024", "name": "山田 花子", "phone": "090-1234-5678"},
               "lines": [{"sku": "LATTE", "quantity": 1, "unit_price": "1000", "category": "coffee"}]}),
    )
    .into_json()
    .unwrap();
    let id = order["customer_id"].as_i64().unwrap();
    db.store.write(|c| enishi_store::repo::customers::set_furigana(c, id, Some("やまだ はなこ"))).unwrap();
    for (n, name) in ["佐藤 健", "佐藤 健太"].iter().enumerate() {
        api("POST", "/api/v1/customers", json!({"external_id": format!("C-20{n}"), "name": name}));
    }

    // Signed in, staff land on the till's search box, focused, at phone width.
    browser.resize(390, 844);
    sign_in_as(&browser, &app, "mika@cafe.example");
    assert_eq!(browser.title(), "レジ · Enishi");
    assert_eq!(browser.script("return document.activeElement.id"), json!("till-q"), "the box has the focus");
    check_phone_layout(&browser, "till");
    check_touch_targets(&browser, "till");
    browser.check("40-till-search-ja-phone");

    // Several matches: a short list, one tap each.
    browser.type_into("#till-q", "佐藤");
    browser.click("#till-search button");
    assert_eq!(browser.script("return document.querySelectorAll('#till-results a').length"), json!(2));
    check_touch_targets(&browser, "till results");
    browser.check("41-till-results-ja-phone");

    // A phone number typed with +81 opens the customer: the sale form first, then points,
    // stamps and open issues.
    browser.replace_text("#till-q", "+81 90-1234-5678");
    browser.click("#till-search button");
    assert_eq!(browser.text("h1"), "山田 花子");
    let order_of = browser.script(
        "var at = id => document.getElementById(id).getBoundingClientRect().top;\
         return [at('record-purchase') < at('loyalty'), at('loyalty') < at('open-issues'), at('open-issues') < at('contact')]",
    );
    assert_eq!(order_of, json!([true, true, true]), "the till's order");
    assert!(browser.text("#loyalty").contains("ラテスタンプ"), "{}", browser.text("#loyalty"));
    check_phone_layout(&browser, "till customer");
    check_touch_targets(&browser, "till customer");
    browser.check("42-till-customer-ja-phone");

    // The sale, typed as people type it.
    browser.type_into("#till-sale input[name=amount]", "1,200円");
    browser.type_into("#till-sale input[name=category]", "coffee");
    browser.click("#till-sale button");
    let flash = browser.text("#flash");
    assert!(flash.contains("¥1,200 で 12 ポイント獲得"), "{flash}");
    browser.check("43-till-sale-recorded-ja-phone");

    // The member card's QR code scanned into the box (a scanner types it, then Enter).
    browser.go(&format!("{app}/customers/{id}/card"));
    let link = browser.text("#card-link");
    browser.go(&format!("{app}/till"));
    browser.type_into("#till-q", &link);
    browser.click("#till-search button");
    assert_eq!(browser.text("h1"), "山田 花子", "the card opens its customer");

    // Staff never reach the dashboard or a list of customers without a term.
    browser.go(&format!("{app}/"));
    assert_eq!(browser.title(), "レジ · Enishi", "the dashboard sends staff to the till");
    assert_eq!(
        browser.script("return document.querySelectorAll('header a[href=\"/\"]').length"),
        json!(1),
        "only the logo"
    );
    browser.go(&format!("{app}/customers"));
    assert_eq!(browser.script("return document.querySelectorAll('main tbody tr').length"), json!(0));
    assert!(browser.text("main").contains("20"), "{}", browser.text("main"));
    browser.check("44-staff-customers-without-a-term-ja-phone");
    server.stop();
}

#[test]
fn a_customer_joins_on_a_phone_and_confirms_their_email() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store.write(|c| enishi_store::repo::settings::set(c, "shop_name", "珈琲 縁")).unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    db.store.write(|c| enishi_store::repo::settings::set(c, "public_url", &app)).unwrap();
    ureq::put(&format!("{app}/api/v1/loyalty/program"))
        .set("Authorization", &format!("Bearer {admin}"))
        .send_json(json!({"name": "Cafe", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
                          "join": {"points": 100}}))
        .unwrap();

    // The form on a phone, in Japanese: a missing contact is shown, then the sign-up is taken.
    browser.resize(390, 844);
    browser.go(&format!("{app}/join?lang=ja"));
    assert_eq!(browser.title(), "会員登録");
    assert!(browser.text("#join").contains("珈琲 縁からのお知らせや特典をメールで受け取ることに同意します"));
    check_phone_layout(&browser, "join");
    browser.check("45-join-ja-phone");
    browser.type_into("#name", "山田 花子");
    browser.click("#join button[type=submit]");
    assert!(browser.text("#join-errors").contains("メールアドレスか電話番号"), "{}", browser.text("#join-errors"));
    assert_eq!(browser.script("return document.querySelector('#name').value"), json!("山田 花子"), "kept");
    check_phone_layout(&browser, "join refused");
    browser.check_refused("46-join-refused-ja-phone", 422);
    browser.type_into("#email", "hanako@example.com");
    browser.tick("input[value=email]");
    browser.click("#join button[type=submit]");
    assert!(browser.text("#join-done").contains("確認のリンクをお送りしました"), "{}", browser.text("#join-done"));
    check_phone_layout(&browser, "join done");
    browser.check("47-join-check-email-ja-phone");

    // The link in the email: asks, then confirms, with the welcome points.
    let link = db
        .store
        .write(|c| {
            let r = c.query_one("SELECT id, expires_at FROM join_requests", &[])?;
            let key = enishi_campaigns::unsubscribe::signing_key(c)?;
            let purpose = enishi_campaigns::links::Purpose::Join;
            Ok::<_, enishi_campaigns::Error>(enishi_campaigns::links::url(&app, &key, purpose, r.int(0)?, r.int(1)?))
        })
        .unwrap();
    browser.go(&link);
    check_phone_layout(&browser, "join confirm");
    browser.check("48-join-confirm-ja-phone");
    browser.click("form button[type=submit]");
    assert!(browser.text("#join-confirmed").contains("登録が完了しました"));
    assert!(browser.text("#welcome").contains("100"), "{}", browser.text("#welcome"));
    check_phone_layout(&browser, "join confirmed");
    browser.check("49-join-confirmed-ja-phone");
    server.stop();
}

#[test]
fn an_owner_sorts_pages_and_picks_the_columns_of_the_customers_list_in_japanese_and_english() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    for (email, name, language) in
        [("owner@shop.example", "Aiko", Language::En), ("tencho@shop.example", "店長", Language::Ja)]
    {
        db.store.write(|c| users::create(c, email, name, Role::Admin, language, "correct horse battery")).unwrap();
    }
    db.store
        .write(|c| {
            // 120 customers: customer i spent i × ¥1,000 over i % 3 + 1 orders, has i points,
            // an RFM segment and a lifecycle stage in turn; L-007 lives in Shibuya.
            let segments = ["champions", "at_risk", "hibernating", "cant_lose_them"];
            let stages = ["new", "active", "inactive", "at_risk", "lost"];
            for i in 1..=120i64 {
                let u = enishi_store::CustomerUpsert {
                    external_id: Some(format!("L-{i:03}").parse().unwrap()),
                    name: Some(format!("Cust {i:03}")),
                    ..enishi_store::CustomerUpsert::default()
                };
                let k = enishi_store::repo::customers::upsert(c, &u)?.id();
                let last = 1_796_266_800 - (120 - i) * 86_400;
                c.execute(
                    "INSERT INTO customer_stats (customer_id, first_order_at, last_order_at, order_count, purchase_days, \
                     total_spend, updated_at) VALUES ($1, $2 - 8640000, $2, $3, $3, $4, 0)",
                    enishi_store::params![k, last, i % 3 + 1, i * 1000 * 10_000],
                )?;
                c.execute(
                    "INSERT INTO loyalty_accounts (customer_id, balance, tier, referral_code, updated_at) VALUES ($1, $2, $3, $4, 0)",
                    enishi_store::params![k, i, if i > 60 { "gold" } else { "member" }, format!("RL{i:03}")],
                )?;
                c.execute(
                    "INSERT INTO customer_scores (customer_id, rfm_as_of_day, rfm_r, rfm_f, rfm_m, rfm_segment, \
                     lifecycle_stage, lifecycle_as_of_day, loyal_class, updated_at) VALUES ($1, 0, 3, 3, 3, $2, $3, 0, 'other', 0)",
                    enishi_store::params![k, segments[(i % 4) as usize], stages[(i % 5) as usize]],
                )?;
                if i == 7 {
                    c.execute(
                        "UPDATE customers SET name = '山田 花子', furigana = 'やまだ はなこ', phone = '+819012345678', \
                         postal_code = '1500043', region = '東京都', city = '渋谷区', address_line1 = '道玄坂1-2-3', \
                         country = 'JP', locale = 'ja', birthday = '1990-04-01' WHERE id = $1",
                        enishi_store::params![k],
                    )?;
                }
            }
            Ok::<_, enishi_store::StoreError>(())
        })
        .unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    ureq::put(&format!("{app}/api/v1/loyalty/program"))
        .set("Authorization", &format!("Bearer {admin}"))
        .send_json(json!({"name": "Classic", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
               "tiers": {"basis": "spend", "window": {"rolling_days": 365},
                         "levels": [{"id": "member", "name": "Member", "threshold": "0"}, {"id": "gold", "name": "Gold", "threshold": "50000"}]}}))
        .unwrap();
    let first_row = |browser: &Browser| browser.text("#customer-list tbody tr td");
    let url = |browser: &Browser| browser.cmd("GET", "/url", None).as_str().unwrap().to_string();

    for (email, lang) in [("owner@shop.example", "en"), ("tencho@shop.example", "ja")] {
        sign_in_as(&browser, &app, email);
        browser.go(&format!("{app}/customers"));
        // A header sorts: spend, largest first; a second click the other way round.
        browser.click("th[data-column=spend] a");
        assert!(url(&browser).ends_with("/customers?sort=spend&dir=desc"), "{}", url(&browser));
        assert_eq!(first_row(&browser), "L-120");
        let spend = browser.text("th[data-column=spend]");
        assert!(spend.ends_with('▼'), "{spend}");
        browser.click("th[data-column=spend] a");
        assert_eq!(first_row(&browser), "L-001");
        // Page numbers and next keep the order.
        browser.click("#pager a[rel=next]");
        assert!(url(&browser).ends_with("sort=spend&dir=asc&page=2"), "{}", url(&browser));
        assert_eq!(first_row(&browser), "L-051");
        assert_eq!(browser.text("#pager [aria-current=page]"), "2");
        browser.click("#pager a[href$='page=3']");
        assert_eq!(first_row(&browser), "L-101");
        browser.check(&format!("70-customers-sorted-paged-{lang}"));
        browser.click("#pager a[rel=prev]");
        assert_eq!(first_row(&browser), "L-051");
        // The tier column is shown at first (the programme has tiers); swap points for lifecycle.
        assert!(browser.script("return document.querySelector('th[data-column=tier]') !== null") == json!(true));
        browser.tick("#columns summary");
        browser.tick("#columns input[name=points]");
        browser.tick("#columns input[name=lifecycle]");
        browser.click("#show-columns");
        assert!(url(&browser).ends_with("sort=spend&dir=asc&page=2"), "back where it was: {}", url(&browser));
        assert!(browser.script("return document.querySelector('th[data-column=points]') === null") == json!(true));
        let header = browser.text("#customer-list thead");
        let row = browser.text("#customer-list tbody tr");
        if lang == "ja" {
            assert!(header.contains("ライフサイクル") && header.contains("RFMセグメント"), "{header}");
            // L-051: RFM "Can't Lose Them", lifecycle active — named apart, in Japanese.
            assert!(row.contains("離れかけの上得意") && row.contains("いつも通り"), "{row}");
            assert!(row.contains("2026年"), "dates in Japanese: {row}");
        } else {
            assert!(header.contains("Lifecycle") && header.contains("Tier"), "{header}");
            assert!(row.contains("Can't Lose Them") && row.contains("In rhythm") && !row.contains("Gold"), "{row}");
        }
        browser.check(&format!("71-customers-columns-{lang}"));
        // Sorting by the chosen lifecycle column: by stage, newcomers first.
        browser.click("th[data-column=lifecycle] a");
        assert_eq!(first_row(&browser), "L-005");
        browser.resize(390, 844);
        browser.check(&format!("72-customers-sorted-{lang}-phone"));
        browser.resize(1280, 900);
    }
    // A Japanese customer's profile for a Japanese reader: address, phone, dates, language.
    browser.go(&format!("{app}/customers?q=%E3%83%A4%E3%83%9E%E3%83%80"));
    browser.click("#customer-list td a[href^='/customers/']");
    let contact = browser.text("#contact");
    assert!(contact.contains("〒150-0043 東京都渋谷区道玄坂1-2-3"), "{contact}");
    assert!(contact.contains("090-1234-5678") && contact.contains("1990年4月1日"), "{contact}");
    assert!(contact.contains("言語: 日本語"), "{contact}");
    browser.check("73-customer-japanese-formats-ja");
    server.stop();
}

#[test]
fn an_owner_edits_the_programme_in_forms_previews_it_applies_it_and_rolls_back_in_japanese_and_english() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store
        .write(|c| {
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::CURRENCY, "JPY")
                .map_err(users::UserError::from)?;
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::TIME_ZONE, "Asia/Tokyo")
                .map_err(users::UserError::from)?;
            users::create(c, "mika@cafe.example", "Mika", Role::Admin, Language::Ja, "correct horse battery")?;
            users::create(c, "owner@cafe.example", "Owner", Role::Marketer, Language::En, "correct horse battery")
        })
        .unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    let api = |method: &str, path: &str, body: Option<Value>| -> Value {
        let req = ureq::request(method, &format!("{app}{path}")).set("Authorization", &format!("Bearer {admin}"));
        let resp = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        resp.unwrap_or_else(|e| panic!("{method} {path}: {e}")).into_json().unwrap()
    };
    api(
        "PUT",
        "/api/v1/loyalty/program",
        Some(json!({"name": "Cafe", "effective_from": "2026-01-01",
               "earning": {"points_per_unit": 0.01, "minimum_order": "1000"},
               "tiers": {"basis": "spend", "window": {"rolling_days": 365},
                         "levels": [{"id": "member", "name": "Member", "names": {"ja": "メンバー"}, "threshold": "0"},
                                    {"id": "gold", "name": "Gold", "names": {"ja": "ゴールド"}, "threshold": "50000"}]}})),
    );
    let in_force = |api: &dyn Fn(&str, &str, Option<Value>) -> Value| {
        let v = api("GET", "/api/v1/loyalty/program", None);
        (v["version"].as_i64().unwrap(), v["document"]["earning"]["points_per_unit"].as_str().unwrap().to_string())
    };

    // (language, who, the promotion's name as they see it, what the pages say)
    for (lang, email, seen, texts) in [
        ("ja", "mika@cafe.example", "静かな午後", ["下書きに保存", "下書きとは", "この変更をバージョン", "バージョン"]),
        (
            "en",
            "owner@cafe.example",
            "Quiet afternoons",
            ["Save to the draft", "differs from it", "Apply these changes", "Version"],
        ),
    ] {
        let (before, _) = in_force(&api);
        browser.resize(1280, 900);
        sign_in_as(&browser, &app, email);
        browser.go(&format!("{app}/loyalty"));
        browser.click("#edit-programme");
        assert!(browser.text("#settings-form").contains(texts[0]), "{}", browser.text("main"));
        browser.check(&format!("40-editor-earning-{lang}"));
        browser.replace_text("#f-earning-points_per_unit", "0.02");
        browser.click("#settings-form button");
        assert!(browser.text("#draft-state").contains(texts[1]), "{}", browser.text("#draft-state"));

        // A weekly promotion: a time typed wrong is refused next to its field and kept.
        browser.click("a[href='/loyalty/editor/promotions']");
        browser.click("#add-entry");
        browser.type_into("#f-id", "quiet");
        browser.type_into("#f-name", "Quiet afternoons");
        browser.type_into("#f-names-ja", "静かな午後");
        browser.type_into("#f-multiplier", "2");
        browser.tick("input[name='repeat.weekdays'][value=tue]");
        browser.type_into("#f-repeat-from", "2pm");
        browser.type_into("#f-repeat-until", "17:00");
        browser.click("#entry-form button");
        assert!(browser.text("#f-repeat-from-error").contains("2pm"), "{}", browser.text("#entry-form"));
        assert_eq!(browser.script("return document.getElementById('f-repeat-from').value"), json!("2pm"));
        assert_eq!(
            browser.script("return document.querySelector(\"input[name='repeat.weekdays'][value=tue]\").checked"),
            json!(true)
        );
        browser.check_refused(&format!("41-editor-promotion-refused-{lang}"), 422);
        browser.replace_text("#f-repeat-from", "14:00");
        browser.click("#entry-form button");
        assert!(browser.text("#entries").contains(seen), "{}", browser.text("main"));
        browser.check(&format!("42-editor-promotions-{lang}"));
        browser.resize(390, 844);
        browser.go(&format!("{app}/loyalty/editor/promotions?edit=0"));
        check_phone_layout(&browser, &format!("42b-editor-promotion-phone-{lang}"));
        browser.check(&format!("42b-editor-promotion-phone-{lang}"));
        browser.resize(1280, 900);

        // Preview: ¥3,000 on a Tuesday afternoon earns 120 under the draft, 30 in force.
        browser.go(&format!("{app}/loyalty/editor/preview"));
        browser.type_into("#p-amount", "3,000円");
        browser.type_into("#p-at", "2026-12-08 15:00");
        choose(&browser, "#p-tier", "member");
        browser.click("#preview-form button");
        assert_eq!(
            browser.script("return document.querySelector('#under-draft [data-points]').dataset.points"),
            json!("120")
        );
        assert_eq!(
            browser.script("return document.querySelector('#under-in-force [data-points]').dataset.points"),
            json!("30")
        );
        assert!(browser.text("#under-draft").contains(seen), "{}", browser.text("#under-draft"));
        browser.check(&format!("43-editor-preview-{lang}"));

        // The changes, then applying them once confirmed.
        browser.click("#review-changes");
        let changes = browser.text("#changes");
        assert!(changes.contains(seen) && changes.contains("0.02"), "{changes}");
        assert!(browser.text("#apply-form").contains(texts[2]), "{}", browser.text("#apply-form"));
        browser.check(&format!("44-editor-changes-{lang}"));
        browser.click("#apply");
        assert_eq!(in_force(&api), (before + 1, "0.02".into()));
        assert!(browser.text("#versions").contains(&format!("console: {email}")), "{}", browser.text("#versions"));
        browser.check(&format!("45-versions-{lang}"));

        // Roll back to the version before, after seeing what that changes.
        browser.click(&format!("#versions tr[data-version='{before}'] a.button"));
        assert!(browser.text("#changes").contains(seen), "{}", browser.text("main"));
        assert!(browser.text("h1").contains(texts[3]), "{}", browser.text("h1"));
        browser.check(&format!("46-rollback-{lang}"));
        browser.click("#roll-back");
        assert_eq!(in_force(&api), (before + 2, "0.01".into()));
        let newest = browser.text(&format!("#versions tr[data-version='{}']", before + 2));
        assert!(newest.contains(email), "{newest}");
        browser.check(&format!("47-rolled-back-{lang}"));
    }
    server.stop();
}

#[test]
fn a_manager_voids_an_order_and_reverses_an_adjustment_in_japanese_and_english() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store
        .write(|c| {
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::CURRENCY, "JPY")
                .map_err(users::UserError::from)?;
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::TIME_ZONE, "Asia/Tokyo")
                .map_err(users::UserError::from)?;
            users::create(c, "mika@cafe.example", "Mika", Role::Admin, Language::Ja, "correct horse battery")?;
            users::create(c, "owner@cafe.example", "Owner", Role::Marketer, Language::En, "correct horse battery")?;
            Ok::<_, users::UserError>(())
        })
        .unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    let api = |method: &str, path: &str, body: Value| -> Value {
        ureq::request(method, &format!("{app}{path}"))
            .set("Authorization", &format!("Bearer {admin}"))
            .send_json(body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
            .into_json()
            .unwrap()
    };
    api(
        "PUT",
        "/api/v1/loyalty/program",
        json!({"name": "Cafe", "effective_from": "2026-01-01", "earning": {"points_per_unit": 0.01}}),
    );
    // (language, user, width, what the pages say: the question, voided, reversed)
    let passes = [
        (
            "ja",
            "mika@cafe.example",
            (390, 844),
            [
                "お客様に ¥1,200 を返金し、12 ポイントを差し引きます。",
                "注文 V-ja を取り消しました。¥1,200 を返金し、12 ポイントを差し引きました。",
                "ポイント調整を取り消しました。",
            ],
        ),
        (
            "en",
            "owner@cafe.example",
            (1280, 900),
            [
                "¥1,200 is refunded to the customer and 12 points are taken back.",
                "Order V-en voided: ¥1,200 refunded, 12 points taken back.",
                "Adjustment reversed.",
            ],
        ),
    ];
    for (n, (lang, email, width, says)) in passes.iter().enumerate() {
        let order = api(
            "POST",
            "/api/v1/orders",
            json!({"order_id": format!("V-{lang}"), "placed_at": "2026-11-02 10:00", "total": "1200",
                   "customer": {"external_id": format!("C-V{lang}"), "name": "山田 花子"},
                   "lines": [{"sku": "LATTE", "quantity": 2, "unit_price": "600"}]}),
        );
        let id = order["customer_id"].as_i64().unwrap();
        let balance =
            || api("GET", &format!("/api/v1/customers/{id}/loyalty"), json!(null))["balance"].as_i64().unwrap();
        assert_eq!(balance(), 12);
        let shot = |step: u32, what: &str| format!("{}-{what}-{lang}", 150 + 10 * n as u32 + step);
        browser.resize(width.0, width.1);
        sign_in_as(&browser, &app, email);
        browser.go(&format!("{app}/customers/{id}"));

        // The order opens to "void or refund"; voiding asks first, saying what it will do.
        browser.tick("#orders details.order summary");
        browser.tick("#orders details.order-corrections summary");
        browser.type_into("#orders form.void-order input[name=reason]", "二重に登録");
        browser.check(&shot(0, "void-form"));
        browser.click("#orders form.void-order button");
        let question = browser.text("#correction-confirm");
        assert!(question.contains(says[0]), "{question}");
        assert_eq!(balance(), 12, "nothing before it is confirmed");
        browser.check(&shot(1, "void-confirm"));
        browser.click("#correction-confirm button");
        assert!(browser.text("#flash").contains(says[1]), "{}", browser.text("#flash"));
        assert_eq!(balance(), 0, "the points it earned are taken back");
        assert!(browser.text("#timeline").contains("二重に登録"), "{}", browser.text("#timeline"));
        browser.check(&shot(2, "voided"));

        // An adjustment, then reversed from the timeline with its reason.
        browser.type_into("#adjust input[name=points]", "50");
        browser.type_into("#adjust input[name=reason]", "goodwill");
        browser.click("#adjust button");
        assert_eq!(balance(), 50);
        browser.tick("#timeline details.reverse summary");
        browser.type_into("#timeline details.reverse input[name=reason]", "wrong customer");
        browser.check(&shot(3, "reverse-form"));
        browser.click("#timeline details.reverse button");
        assert!(browser.text("#flash").contains(says[2]), "{}", browser.text("#flash"));
        assert_eq!(balance(), 0);
        assert!(browser.script("return document.querySelector('#timeline details.reverse')").is_null());
        browser.check(&shot(4, "reversed"));
    }
    server.stop();
}

/// The widths of the dashboard's charts as shares of the main column's content width.
fn chart_widths(browser: &Browser) -> Vec<f64> {
    let widths = browser.script(
        "const m = document.querySelector('main'); const s = getComputedStyle(m);\
         const w = m.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);\
         return Array.from(document.querySelectorAll('main svg.chart')).map(c => c.getBoundingClientRect().width / w)",
    );
    widths.as_array().unwrap().iter().map(|w| w.as_f64().unwrap()).collect()
}

#[test]
fn an_owner_reads_the_dashboard_over_a_period_and_leaves_an_outlier_out_in_english_and_japanese() {
    let Some(browser) = Browser::start() else { return };
    let db = testing::sqlite();
    let admin = db.store.write(|c| tokens::create(c, Role::Admin, "browser")).unwrap();
    db.store
        .write(|c| {
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::CURRENCY, "JPY")
                .map_err(users::UserError::from)?;
            enishi_store::repo::settings::set(c, enishi_store::repo::settings::TIME_ZONE, "Asia/Tokyo")
                .map_err(users::UserError::from)?;
            users::create(c, "owner@cafe.example", "Owner", Role::Admin, Language::En, "correct horse battery")?;
            users::create(c, "mika@cafe.example", "Mika", Role::Admin, Language::Ja, "correct horse battery")
        })
        .unwrap();
    let store = enishi_store::Store::open(&db.url).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(spawn(AppState::new(Arc::new(store)).unwrap(), "127.0.0.1:0")).unwrap();
    let app = format!("http://{}", server.addr);
    // A café's year: 12 regulars buying ¥1,000–¥4,000 every month or so (the last four silent
    // for seven months now), and one wholesale order of ¥480,000 twenty days ago.
    let now = chrono::Utc::now();
    let mut n = 0;
    let mut buy = |customer: &str, name: &str, days_ago: i64, total: i64| {
        n += 1;
        let at = (now - chrono::Duration::days(days_ago)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let body = json!({"order_id": format!("B-{n}"), "placed_at": at, "total": total.to_string(), "channel": "in_store",
            "customer": {"external_id": customer, "name": name},
            "lines": [{"sku": "LATTE", "quantity": 1, "unit_price": total.to_string()}]});
        ureq::post(&format!("{app}/api/v1/orders"))
            .set("Authorization", &format!("Bearer {admin}"))
            .send_json(body)
            .unwrap_or_else(|e| panic!("order: {e}"));
    };
    let names = [
        "佐藤 花子",
        "鈴木 一郎",
        "高橋 美咲",
        "田中 健",
        "伊藤 さくら",
        "渡辺 翔",
        "山本 葵",
        "中村 蓮",
        "小林 結衣",
        "加藤 陸",
        "吉田 芽衣",
        "山田 大和",
    ];
    for (i, name) in names.iter().enumerate() {
        let i = i as i64;
        let silent = if i >= 8 { 210 } else { 0 };
        for visit in 0..(3 + i % 5) {
            let days_ago = 5 + i * 3 + silent + visit * (25 + i * 4);
            buy(&format!("C-{i}"), name, days_ago, 1_000 + (i * 250 + visit * 130) % 3_000);
        }
    }
    buy("W-1", "株式会社オカ商事", 20, 480_000);

    for (email, lang, heading, unusual, exclude, include) in [
        ("owner@cafe.example", "en", "Dashboard", "Unusual orders", "Exclude from analytics", "Include again"),
        ("mika@cafe.example", "ja", "ダッシュボード", "飛び抜けて高額な注文", "分析から除外", "分析に戻す"),
    ] {
        // Tall enough for the whole dashboard in one screenshot.
        browser.resize(1280, 3400);
        sign_in_as(&browser, &app, email);
        assert_eq!(browser.text("h1"), heading);
        let widths = chart_widths(&browser);
        assert!(
            widths.len() >= 4 && widths.iter().all(|w| *w >= 0.9),
            "{lang}: every chart takes the page's width: {widths:?}"
        );
        assert!(browser.text("#unusual").contains(unusual), "{}", browser.text("main"));
        assert!(browser.text("#unusual-orders").contains("¥480,000"), "{}", browser.text("#unusual-orders"));
        assert!(browser.text("#lapsed").contains("C-"), "lapsed customers by name and id: {}", browser.text("main"));
        let gini = browser.text("#kpi-top");
        browser.check(&format!("70-dashboard-{lang}"));

        // Left out of the analytics: the revenue and the Gini move, and the action turns around.
        browser.click("#unusual-orders button");
        assert!(browser.text("#unusual-orders button").contains(include), "{}", browser.text("#unusual"));
        assert_ne!(browser.text("#kpi-top"), gini, "the Gini without the outlier");
        browser.check(&format!("71-dashboard-excluded-{lang}"));
        browser.click("#unusual-orders button");
        assert!(browser.text("#unusual-orders button").contains(exclude));
        assert_eq!(browser.text("#kpi-top"), gini, "included again");

        // The last 30 days, at phone width: the charts still fill the page, nothing overflows.
        browser.click("#period a.button");
        assert!(browser.text("#period-shown").contains('3'), "{}", browser.text("#period-shown"));
        browser.resize(390, 3000);
        let widths = chart_widths(&browser);
        assert!(widths.iter().all(|w| *w >= 0.9), "{lang} phone: {widths:?}");
        let overflow = browser.script(
            "return Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)\
             .map(e => e.tagName + '#' + e.id + '.' + e.className.baseVal + e.className + ' ' + Math.round(e.getBoundingClientRect().right))",
        );
        assert_eq!(overflow, json!([]), "{lang}: nothing is wider than a phone");
        browser.check(&format!("72-dashboard-30-days-{lang}-phone"));

        // A date that cannot be read is said on the page, what was typed kept.
        browser.resize(1280, 900);
        browser.go(&format!("{app}/?from=2026-13-01&to=2026-11-30"));
        assert!(browser.text("#period-error").contains("2026-13-01"), "{}", browser.text("main"));
        browser.check_refused(&format!("73-dashboard-bad-date-{lang}"), 422);
    }
    server.stop();
}
