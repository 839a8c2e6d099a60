//! The defects of the hardening review, each pinned on SQLite and PostgreSQL: overflow,
//! creation races, control characters, what staff may read and write, spreadsheet formulas.

mod common;

use common::*;
use serde_json::{json, Value};

/// Sends `bodies` to `path` at once, one thread each: the statuses and answers.
fn at_once(app: &App, path: &str, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let barrier = std::sync::Barrier::new(bodies.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = bodies
            .into_iter()
            .map(|b| {
                let barrier = &barrier;
                s.spawn(move || {
                    let text = b.to_string();
                    barrier.wait();
                    let (status, v, _) = app.call("POST", path, Some(&app.admin), Some(&text));
                    (status, v)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

#[test]
fn concurrent_creation_acknowledges_only_what_is_stored() {
    for app in apps() {
        for round in 0..12 {
            // Eight clients create the same customer, each with its own name.
            let ext = format!("RACE-{round}");
            let bodies = (0..8).map(|i| json!({"external_id": ext, "name": format!("Client {i}")})).collect();
            let answers = at_once(&app, "/api/v1/customers", bodies);
            let created: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 201).map(|(_, v)| v).collect();
            assert_eq!(created.len(), 1, "round {round}: {answers:?}");
            let (_, stored) = app.admin("GET", &format!("/api/v1/customers?external_id={ext}"), None);
            assert_eq!(stored["items"][0]["name"], created[0]["name"], "round {round}: the 201 is what is stored");
            for (s, v) in &answers {
                assert!(*s == 201 || *s == 409, "round {round}: {s} {v}");
            }
            // The same body sent eight times: one 201, seven 200 with the stored row.
            let ext = format!("SAME-{round}");
            let bodies = (0..8).map(|_| json!({"external_id": ext, "name": "Hana"})).collect();
            let answers = at_once(&app, "/api/v1/customers", bodies);
            let mut statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
            statuses.sort();
            assert_eq!(statuses, [200, 200, 200, 200, 200, 200, 200, 201], "round {round}: {answers:?}");
            let ids: std::collections::HashSet<String> = answers.iter().map(|(_, v)| v["id"].to_string()).collect();
            assert_eq!(ids.len(), 1, "every answer is the one stored row");

            // Eight clients send the same order: one 201, seven replays of it.
            let id = format!("RACE-ORDER-{round}");
            let bodies = (0..8).map(|i| order(&id, &format!("RC-{round}-{i}"), "10.00")).collect();
            let answers = at_once(&app, "/api/v1/orders", bodies);
            let created = answers.iter().filter(|(s, _)| *s == 201).count();
            let brief: Vec<_> = answers
                .iter()
                .map(|(s, v)| (s, v["id"].clone(), v["customer_id"].clone(), v["code"].clone()))
                .collect();
            assert_eq!(created, 1, "round {round}: {brief:?}");
            let (_, stored) = app.admin("GET", &format!("/api/v1/orders/{id}"), None);
            let first = answers.iter().find(|(s, _)| *s == 201).unwrap();
            assert_eq!(stored["customer_id"], first.1["customer_id"], "round {round}");
        }
    }
}

#[test]
fn overflowing_points_and_money_are_refused_with_out_of_range() {
    for app in apps() {
        let doc = enishi_loyalty::starter("cafe").unwrap();
        let (s, v, _) = app.call("PUT", "/api/v1/loyalty/program", Some(&app.admin), Some(doc));
        assert_eq!(s, 201, "{v}");
        let (s, c) = app.admin("POST", "/api/v1/customers", Some(json!({"external_id": "C-1"})));
        assert_eq!(s, 201, "{c}");
        let adjust = format!("/api/v1/customers/{}/loyalty/adjustments", c["id"]);
        // The most negative 64-bit integer once slipped past the ±10,000,000 check and wrapped.
        for points in [i64::MIN, -10_000_001] {
            let body = json!({"points": points, "reason": "x", "idempotency_key": format!("k{points}")});
            let (s, v) = app.admin("POST", &adjust, Some(body));
            assert_eq!((s, v["field"].as_str()), (422, Some("points")), "{v}");
        }
        let (s, v) = app.admin("GET", "/api/v1/loyalty/verify", None);
        assert_eq!((s, &v["mismatches"]), (200, &json!([])), "{v}");

        // Quantity × unit price beyond the largest amount: refused, not capped.
        let mut o = order("BIG-1", "C-2", "1.00");
        o["total"] = Value::Null;
        o["lines"][0]["quantity"] = json!(2_147_483_648i64);
        o["lines"][0]["unit_price"] = json!("999999.99");
        let (s, v) = app.admin("POST", "/api/v1/orders", Some(o.clone()));
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (422, Some("out_of_range"), Some("lines[0].quantity"))
        );
        o["lines"][0]["quantity"] = json!(1_000_000_000);
        let (s, v) = app.admin("POST", "/api/v1/orders", Some(o.clone()));
        assert_eq!((s, v["code"].as_str()), (422, Some("out_of_range")), "{v}");
        o["lines"] = json!([{"sku": "A", "quantity": 1, "unit_price": "900000000000"},
                            {"sku": "B", "quantity": 1, "unit_price": "900000000000"}]);
        let (s, v) = app.admin("POST", "/api/v1/orders", Some(o));
        assert_eq!((s, v["code"].as_str(), v["field"].as_str()), (422, Some("out_of_range"), Some("lines")));
        assert_eq!(app.admin("GET", "/api/v1/orders/BIG-1", None).0, 404, "nothing was stored");

        // A programme whose counts could overflow is refused, naming the field.
        let mut doc: Value = serde_json::from_str(doc).unwrap();
        doc["referrals"]["referrer_points"] = json!(9_000_000_000_000_000i64);
        let (s, v, _) = app.call("PUT", "/api/v1/loyalty/program", Some(&app.admin), Some(&doc.to_string()));
        assert_eq!((s, v["field"].as_str()), (422, Some("referrals.referrer_points")), "{v}");
        doc["referrals"]["referrer_points"] = json!(50);
        doc["earning"]["points_per_unit"] = json!("100000");
        let (s, v, _) = app.call("PUT", "/api/v1/loyalty/program", Some(&app.admin), Some(&doc.to_string()));
        assert_eq!((s, v["field"].as_str()), (422, Some("earning.points_per_unit")), "{v}");
    }
}

#[test]
fn control_characters_are_refused_everywhere_with_the_field_named() {
    for app in apps() {
        let post = |path: &str, body: &str| {
            let (s, v, _) = app.call("POST", path, Some(&app.admin), Some(body));
            (s, v["code"].as_str().map(String::from), v["field"].as_str().map(String::from))
        };
        let refused = |field: &str| (422, Some("invalid_field".to_string()), Some(field.to_string()));
        assert_eq!(post("/api/v1/customers", r#"{"external_id": "N-1", "name": "Ha\u0000na"}"#), refused("name"));
        assert_eq!(
            post("/api/v1/customers", r#"{"external_id": "N-1", "address": {"city": "\u001b[31mKyoto"}}"#),
            refused("address.city")
        );
        assert_eq!(
            post("/api/v1/customers", r#"{"external_id": "N-1", "attributes": {"k\u0007": "v"}}"#).2.as_deref(),
            Some("attributes.k\\u{7}")
        );
        assert_eq!(
            post("/api/v1/customers", r#"{"external_id": "N-1", "attributes": {"  ": "v"}}"#),
            refused("attributes.  ")
        );
        let mut o = order("N-ORDER", "N-2", "10.00");
        o["lines"][0]["product_name"] = json!("Beans\u{0}");
        assert_eq!(post("/api/v1/orders", &o.to_string()), refused("lines[0].product_name"));
        // Tab and newline are text, where text is free.
        let (s, c) = app.admin("POST", "/api/v1/customers", Some(json!({"external_id": "N-3", "name": "Hana"})));
        assert_eq!(s, 201);
        let (s, v) = app.admin(
            "POST",
            &format!("/api/v1/customers/{}/interactions", c["id"]),
            Some(json!({"kind": "note", "body": "line one\nline two\tand a tab"})),
        );
        assert_eq!(s, 201, "{v}");
        // Query parameters and path segments.
        let (s, v, _) = app.call("GET", "/api/v1/customers?q=a%00b", Some(&app.admin), None);
        assert_eq!((s, v["field"].as_str()), (422, Some("q")), "{v}");
        let (s, v, _) = app.call("GET", "/api/v1/orders/A%00", Some(&app.admin), None);
        assert_eq!((s, v["field"].as_str()), (422, Some("path")), "{v}");
        // Console forms.
        let cookie = app.session(enishi_core::Role::Admin);
        let (s, _, body) = app.form("/settings", &cookie, &[("time_zone", "Asia/Tokyo\u{0}"), ("currency", "JPY")]);
        assert_eq!(s, 422, "{body}");
        // Nothing was stored.
        let (_, found) = app.admin("GET", "/api/v1/customers?external_id=N-1", None);
        assert_eq!(found["items"], json!([]));
    }
}

#[test]
fn staff_find_customers_by_a_term_but_cannot_page_out_the_base() {
    for app in apps() {
        for i in 0..30 {
            let body = json!({"external_id": format!("S-{i}"), "name": format!("Sato {i}"), "email": format!("s{i}@example.com")});
            assert_eq!(app.admin("POST", "/api/v1/customers", Some(body)).0, 201);
        }
        let staff = |path: &str| {
            let (s, v, _) = app.call("GET", path, Some(&app.staff), None);
            (s, v)
        };
        // No term, a one-character term, a filter alone or a later page: refused.
        for path in [
            "/api/v1/customers",
            "/api/v1/customers?q=S",
            "/api/v1/customers?lifecycle_stage=new",
            "/api/v1/customers?q=Sato&after=5",
        ] {
            let (s, v) = staff(path);
            assert_eq!((s, v["code"].as_str()), (403, Some("forbidden")), "{path}: {v}");
        }
        // A term finds at most 20, with no next page, even when more match.
        let (s, v) = staff("/api/v1/customers?q=Sato&limit=500");
        assert_eq!(s, 200, "{v}");
        assert_eq!((v["items"].as_array().unwrap().len(), &v["next_cursor"]), (20, &Value::Null));
        let (s, v) = staff("/api/v1/customers?email=s3@example.com");
        assert_eq!((s, v["items"][0]["external_id"].as_str()), (200, Some("S-3")));
        // Managers list and page as before.
        let (s, v) = app.admin("GET", "/api/v1/customers?limit=25", None);
        assert_eq!((s, v["items"].as_array().unwrap().len()), (200, 25));
        assert!(v["next_cursor"].is_number());
        // Searches are rate-limited per token: 30 a minute (two made above).
        let mut statuses = Vec::new();
        for _ in 0..30 {
            let (s, v, _) = app.call("GET", "/api/v1/customers?q=Sato", Some(&app.staff), None);
            statuses.push((s, v["code"].as_str().map(String::from)));
        }
        assert_eq!(statuses.iter().filter(|(s, _)| *s == 200).count(), 28);
        assert_eq!(statuses.last().unwrap(), &(429, Some("rate_limited".into())));
        // The console shows staff a search box and no list until they type a term.
        let cookie = app.session(enishi_core::Role::Staff);
        let (s, html) = app.page("/customers", &cookie);
        assert_eq!(s, 200);
        assert!(!html.contains("S-29") && html.contains("staff see at most 20"), "{html}");
        let (_, html) = app.page("/customers?q=Sato", &cookie);
        assert_eq!(html.matches("<tr><td><a href=\"/customers/").count(), 20, "{html}");
        assert!(!html.contains("after="));
    }
}

#[test]
fn staff_orders_above_the_limit_need_a_manager() {
    for app in apps() {
        let big = order("BIG-STAFF", "L-1", "5000.00");
        let (s, v, _) = app.call("POST", "/api/v1/orders", Some(&app.staff), Some(&big.to_string()));
        assert_eq!((s, v["code"].as_str()), (403, Some("confirmation_required")), "{v}");
        let small = order("SMALL-STAFF", "L-1", "57.40");
        assert_eq!(app.call("POST", "/api/v1/orders", Some(&app.staff), Some(&small.to_string())).0, 201);
        assert_eq!(app.admin("POST", "/api/v1/orders", Some(big)).0, 201, "a manager's token records it");
        // The limit is a setting.
        let store = enishi_store::Store::open(&app._db.url).unwrap();
        store
            .write(|c| enishi_store::repo::settings::set(c, enishi_store::repo::settings::STAFF_ORDER_LIMIT, "10000"))
            .unwrap();
        let fine = order("BIG-STAFF-2", "L-1", "5000.00");
        assert_eq!(app.call("POST", "/api/v1/orders", Some(&app.staff), Some(&fine.to_string())).0, 201);
        store
            .write(|c| enishi_store::repo::settings::set(c, enishi_store::repo::settings::STAFF_ORDER_LIMIT, "100"))
            .unwrap();

        // At the till: a staff sale above the limit asks for a manager's sign-in.
        let (_, c) = app.admin("GET", "/api/v1/customers?external_id=L-1", None);
        let path = format!("/customers/{}/purchases", c["items"][0]["id"]);
        let staff = app.session(enishi_core::Role::Staff);
        let csrf = app.page(&format!("/customers/{}", c["items"][0]["id"]), &staff).1;
        let csrf = csrf.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let sale = [("csrf", csrf.as_str()), ("amount", "250"), ("sku", ""), ("category", "")];
        let (s, _, html) = app.form(&path, &staff, &sale);
        assert_eq!(s, 200);
        assert!(html.contains("id=\"manager-confirmation\"") && html.contains("value=\"250\""), "{html}");
        // A wrong password, or another staff member's sign-in, does not confirm it.
        let manager = format!("m-{}@shop.example", app.base.len());
        store
            .write(|c| {
                enishi_store::repo::users::create(
                    c,
                    &manager,
                    "",
                    enishi_core::Role::Marketer,
                    enishi_core::Language::En,
                    PASSWORD,
                )
            })
            .unwrap();
        let with = |email: &str, password: &str| {
            let mut f = sale.to_vec();
            f.extend([("manager_email", email), ("manager_password", password)]);
            app.form(&path, &staff, &f)
        };
        assert_eq!(with(&manager, "wrong password").0, 403);
        let (_, orders_before) = app.admin("GET", &format!("/api/v1/customers/{}/orders", c["items"][0]["id"]), None);
        let (s, location, _) = with(&manager, PASSWORD);
        assert_eq!(s, 303, "confirmed by a manager");
        assert!(location.unwrap().contains("recorded="));
        let (_, orders_after) = app.admin("GET", &format!("/api/v1/customers/{}/orders", c["items"][0]["id"]), None);
        let count = |v: &Value| v.as_array().or(v["items"].as_array()).map(Vec::len).unwrap();
        assert_eq!(count(&orders_after), count(&orders_before) + 1, "{orders_after}");
        // Under the limit, staff record alone.
        let (s, _, _) =
            app.form(&path, &staff, &[("csrf", csrf.as_str()), ("amount", "99"), ("sku", ""), ("category", "")]);
        assert_eq!(s, 303);
    }
}

#[test]
fn every_response_carries_security_headers_and_pages_need_no_inline_style() {
    for app in apps() {
        let get = |path: &str, cookie: Option<&str>| {
            let mut r = ureq::get(&format!("{}{path}", app.base));
            if let Some(c) = cookie {
                r = r.set("Cookie", c);
            }
            if path.starts_with("/api/") {
                r = r.set("Authorization", &format!("Bearer {}", app.admin));
            }
            match r.call() {
                Ok(r) => r,
                Err(ureq::Error::Status(_, r)) => r,
                Err(e) => panic!("{path}: {e}"),
            }
        };
        for path in ["/login", "/api/v1/customers", "/api/v1/nowhere", "/style.css"] {
            let r = get(path, None);
            let csp = r.header("content-security-policy").unwrap_or_default().to_string();
            assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
            assert!(csp.contains("style-src 'self'") && csp.contains("form-action 'self'"), "{path}: {csp}");
            assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-"), "{path}: {csp}");
            assert_eq!(r.header("x-content-type-options"), Some("nosniff"), "{path}");
            assert!(r.header("referrer-policy").is_some(), "{path}");
            let cache = r.header("cache-control").unwrap_or_default();
            if path == "/style.css" {
                assert!(cache.starts_with("max-age"), "{path}: {cache}");
            } else {
                assert_eq!(cache, "no-store", "{path}");
            }
        }
        assert_eq!(get("/style.css", None).content_type(), "text/css");
        let script = get("/segments.js", None);
        assert_eq!(script.content_type(), "text/javascript");
        let script = script.into_string().unwrap();
        for unsafe_call in ["eval(", "innerHTML", "new Function", "document.write"] {
            assert!(!script.contains(unsafe_call), "the builder's script uses {unsafe_call}");
        }
        // The policy allows no inline style or script: the pages must not need any.
        let cookie = app.session(enishi_core::Role::Admin);
        app.admin("POST", "/api/v1/orders", Some(order("H-1", "H-1", "10.00")));
        let pages = [
            "/",
            "/customers",
            "/customers/1",
            "/analytics",
            "/loyalty",
            "/import",
            "/settings",
            "/tokens",
            "/segments",
            "/join-card",
        ];
        for path in pages.into_iter().chain(["/segments/new?preset=0"]) {
            let r = get(path, Some(&cookie));
            assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
            // The one script a page may load is the builder's file, from this server.
            let html = r.into_string().unwrap().replacen("<script src=\"/segments.js\" defer></script>", "", 1);
            for inline in ["style=", "<style", "<script", "onclick=", "oninput="] {
                assert!(!html.contains(inline), "{path} has {inline}");
            }
        }
    }
}

#[test]
fn the_contract_refuses_what_it_does_not_document() {
    for app in apps() {
        let (s, c) = app.admin("POST", "/api/v1/customers", Some(json!({"external_id": "K-1"})));
        assert_eq!(s, 201);
        let status = |path: &str, token: &str| {
            let (s, v, _) = app.call("GET", path, Some(token), None);
            (s, v["code"].as_str().unwrap_or_default().to_string(), v["field"].as_str().unwrap_or_default().to_string())
        };
        let admin = app.admin.clone();
        // Paging is refused outside its range, not clamped.
        assert_eq!(status("/api/v1/customers?limit=501", &admin), (422, "invalid_field".into(), "limit".into()));
        assert_eq!(status("/api/v1/customers?limit=0", &admin), (422, "invalid_field".into(), "limit".into()));
        let path = format!("/api/v1/customers/{}/orders?offset=-1", c["id"]);
        assert_eq!(status(&path, &admin), (422, "invalid_field".into(), "offset".into()));
        assert_eq!(status("/api/v1/accounts?after=-1", &admin), (422, "invalid_field".into(), "after".into()));
        assert_eq!(status("/api/v1/audit?before=-1", &admin), (422, "invalid_field".into(), "before".into()));
        for field in ["external_id", "email", "lifecycle_stage", "rfm_segment"] {
            let path = format!("/api/v1/customers?{field}=%20");
            assert_eq!(status(&path, &admin), (422, "invalid_field".into(), field.into()), "a blank {field} filter");
        }
        for (query, field) in
            [("top=0", "top"), ("top=1001", "top"), ("horizon_days=0", "horizon_days"), ("months=121", "months")]
        {
            let path = format!("/api/v1/analytics/clv?{query}");
            assert_eq!(status(&path, &admin), (422, "invalid_field".into(), field.into()), "{query}");
        }
        // An id is digits only: `+1` is not customer 1.
        let plus = format!("/api/v1/customers/+{}", c["id"]);
        assert_eq!(status(&plus, &admin).0, 400);
        // A role that may not call a route learns that first, whatever its parameters.
        assert_eq!(status("/api/v1/analytics/rfm?as_of=not-a-date", &app.staff).0, 403);
        assert_eq!(status("/api/v1/analytics/loyal?baseline=2026-01-01&loyal_percent=NaN", &admin).0, 422);
        // The programme document is JSON, sent as JSON.
        let doc = enishi_loyalty::starter("cafe").unwrap();
        let r = ureq::put(&format!("{}/api/v1/loyalty/program", app.base))
            .set("Authorization", &format!("Bearer {}", app.admin))
            .set("Content-Type", "text/plain")
            .send_string(doc);
        let s = match r {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(s, _)) => s,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(s, 415);
    }
}

/// Every `code` the server can answer is in the Problem schema's enumeration.
#[test]
fn every_problem_code_the_server_uses_is_documented() {
    let doc: Value = serde_json::from_str(enishi_server::openapi()).unwrap();
    let documented: Vec<&str> = doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // Every source file, in `src` and its module folders (`src/api/`).
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut used = std::collections::BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ").replace("( ", "(");
        // `ApiError::new(StatusCode::X, "code", …)` and the loyalty errors' `conflict("code", …)`.
        let after_status =
            text.split("ApiError::new(StatusCode::").skip(1).filter_map(|p| p.split_once(", \"").map(|x| x.1));
        for after in after_status.chain(text.split("conflict(\"").skip(1)) {
            let code: String = after.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if code.len() > 3 && after[code.len()..].starts_with('"') {
                used.insert(code);
            }
        }
    }
    assert!(used.len() > 15, "{used:?}");
    for code in &used {
        assert!(documented.contains(&code.as_str()), "code {code} is answered but not in the Problem enumeration");
    }
}

#[test]
fn health_and_readiness_answer_without_a_token() {
    for app in apps() {
        let (s, v, _) = app.call("GET", "/healthz", None, None);
        assert_eq!((s, v["status"].as_str()), (200, Some("ok")));
        let (s, v, _) = app.call("GET", "/readyz", None, None);
        assert_eq!((s, v["status"].as_str()), (200, Some("ready")));
    }
}

/// Posts the sign-in form as a visitor from `ip` (through a local proxy): the status.
fn sign_in_from(base: &str, ip: &str, email: &str, password: &str, with_token: bool) -> u16 {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let page = agent.get(&format!("{base}/login")).call().unwrap();
    let cookie = page.header("set-cookie").unwrap().split(';').next().unwrap().to_string();
    let html = page.into_string().unwrap();
    let token = html.split("name=\"login_token\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let token = if with_token { token } else { String::new() };
    let form = [("login_token", token.as_str()), ("email", email), ("password", password)];
    match agent.post(&format!("{base}/login")).set("Cookie", &cookie).set("X-Forwarded-For", ip).send_form(&form) {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(s, _)) => s,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn sign_ins_slow_down_guessing_without_locking_anyone_out() {
    for db in enishi_store::testing::all() {
        let url = db.url.clone();
        let app = start(db);
        let store = enishi_store::Store::open(&url).unwrap();
        for who in ["a", "b", "c", "d", "e"] {
            let email = format!("{who}@shop.example");
            let role = enishi_core::Role::Staff;
            store
                .write(|c| enishi_store::repo::users::create(c, &email, "", role, enishi_core::Language::En, PASSWORD))
                .unwrap();
        }
        // A form without its anti-forgery pair is refused.
        assert_eq!(sign_in_from(&app.base, "198.51.100.1", "a@shop.example", PASSWORD, false), 403);
        // Spraying one password over many accounts from one address: after three failures
        // that address waits, whatever account it tries next.
        for who in ["a", "b", "c"] {
            assert_eq!(sign_in_from(&app.base, "198.51.100.2", &format!("{who}@shop.example"), "guess", true), 401);
        }
        assert_eq!(sign_in_from(&app.base, "198.51.100.2", "d@shop.example", PASSWORD, true), 429);
        // Another address is not slowed down by it.
        assert_eq!(sign_in_from(&app.base, "198.51.100.3", "d@shop.example", PASSWORD, true), 303);
        // Guessing one account from many addresses: that account waits, briefly.
        for n in 10..13 {
            assert_eq!(sign_in_from(&app.base, &format!("203.0.113.{n}"), "e@shop.example", "guess", true), 401);
        }
        assert_eq!(sign_in_from(&app.base, "203.0.113.20", "e@shop.example", PASSWORD, true), 429);
        // The counters are in the database: another server (or a restarted one) makes them wait too.
        let rt = tokio::runtime::Runtime::new().unwrap();
        let state =
            enishi_server::AppState::new(std::sync::Arc::new(enishi_store::Store::open(&url).unwrap())).unwrap();
        let other = rt.block_on(enishi_server::spawn(state, "127.0.0.1:0")).unwrap();
        let other = format!("http://{}", other.addr);
        assert_eq!(sign_in_from(&other, "203.0.113.21", "e@shop.example", PASSWORD, true), 429);
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert_eq!(sign_in_from(&other, "203.0.113.21", "e@shop.example", PASSWORD, true), 303, "no lock-out");
    }
}

#[test]
fn the_audit_log_records_who_did_what_and_cannot_be_changed() {
    for app in apps() {
        let doc = enishi_loyalty::starter("cafe").unwrap();
        assert_eq!(app.call("PUT", "/api/v1/loyalty/program", Some(&app.admin), Some(doc)).0, 201);
        let (_, c) =
            app.admin("POST", "/api/v1/customers", Some(json!({"external_id": "AU-1", "email": "au@example.com"})));
        let id = c["id"].clone();
        let adjust = json!({"points": 120, "reason": "apology", "idempotency_key": "au-1"});
        assert_eq!(
            app.admin("POST", &format!("/api/v1/customers/{id}/loyalty/adjustments"), Some(adjust.clone())).0,
            201
        );
        assert_eq!(app.admin("POST", &format!("/api/v1/customers/{id}/loyalty/adjustments"), Some(adjust)).0, 200);
        assert_eq!(
            app.admin("PATCH", &format!("/api/v1/customers/{id}"), Some(json!({"phone": "+81 90 1111 2222"}))).0,
            200
        );
        let (s, log) = app.admin("GET", "/api/v1/audit", None);
        assert_eq!(s, 200, "{log}");
        let actions: Vec<&str> =
            log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(
            actions,
            ["customers.update", "points.adjust", "program.apply"],
            "newest first; a replay adds nothing"
        );
        let entry = &log["items"][1];
        assert_eq!(entry["actor"], "token:t (admin)");
        assert_eq!(entry["subject"], format!("customer:{id}"));
        assert!(entry["after"].as_str().unwrap().contains("\"balance\":120"));
        let update = log["items"][0]["after"].as_str().unwrap();
        assert!(update.contains("phone") && !update.contains("1111"), "names the field, not the value: {update}");
        // Staff searches are recorded too; only admins read the log.
        app.call("GET", "/api/v1/customers?q=AU-1", Some(&app.staff), None);
        let (_, log) = app.admin("GET", "/api/v1/audit?limit=1", None);
        assert_eq!(
            (log["items"][0]["action"].as_str(), log["items"][0]["actor"].as_str()),
            (Some("customers.list"), Some("token:t (staff)"))
        );
        assert_eq!(app.call("GET", "/api/v1/audit", Some(&app.staff), None).0, 403);
        // The console shows it to admins and records console changes by user.
        let admin = app.session(enishi_core::Role::Admin);
        let (s, html) = app.page("/audit", &admin);
        assert!(s == 200 && html.contains("points.adjust"), "{html}");
        assert_eq!(app.page("/audit", &app.session(enishi_core::Role::Staff)).0, 403);
        // Append-only in the database itself.
        let store = enishi_store::Store::open(&app._db.url).unwrap();
        for sql in ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"] {
            let r = store.write(|c| c.execute(sql, &[]));
            assert!(r.is_err(), "{sql} must be refused");
        }
        assert!(store.read(|c| c.query_one("SELECT COUNT(*) FROM audit_log", &[])?.int(0)).unwrap() >= 4);
    }
}

#[test]
fn an_erased_customer_is_gone_from_the_files_and_stays_gone() {
    for app in apps() {
        let doc = enishi_loyalty::starter("cafe").unwrap();
        assert_eq!(app.call("PUT", "/api/v1/loyalty/program", Some(&app.admin), Some(doc)).0, 201);
        let email = "erase-me-7f3a@example.com";
        let mut o = order("PRIV-1", "PRIV-C", "12.00");
        o["customer"] =
            json!({"external_id": "PRIV-C", "email": email, "name": "Hana Sato", "phone": "+81 90 7777 1234"});
        let (s, placed) = app.admin("POST", "/api/v1/orders", Some(o));
        assert_eq!(s, 201, "{placed}");
        let id = placed["customer_id"].clone();
        let note = json!({"kind": "complaint", "body": format!("write to {email} about the grinder")});
        assert_eq!(app.admin("POST", &format!("/api/v1/customers/{id}/interactions"), Some(note)).0, 201);
        let event =
            json!({"events": [{"customer_external_id": "PRIV-C", "name": "viewed", "properties": {"email": email}}]});
        assert_eq!(app.admin("POST", "/api/v1/events", Some(event)).0, 200);

        let adjust = json!({"points": 50, "reason": "welcome", "idempotency_key": "priv-welcome"});
        assert_eq!(app.admin("POST", &format!("/api/v1/customers/{id}/loyalty/adjustments"), Some(adjust)).0, 201);

        // Access: everything held about her, in one document.
        let (s, data) = app.admin("GET", &format!("/api/v1/customers/{id}/privacy-export"), None);
        assert_eq!(s, 200, "{data}");
        assert_eq!(data["customer"]["email"], email);
        assert_eq!((data["orders"].as_array().unwrap().len(), data["interactions"].as_array().unwrap().len()), (1, 1));
        assert_eq!(data["loyalty"]["ledger"].as_array().unwrap().len(), 1);
        assert_eq!(app.call("GET", &format!("/api/v1/customers/{id}/privacy-export"), Some(&app.staff), None).0, 403);

        // Erasure: the personal data goes; the books stay and still balance.
        let (s, v) = app.admin("POST", &format!("/api/v1/customers/{id}/erasure"), None);
        assert_eq!(s, 200, "{v}");
        let (_, after) = app.admin("GET", &format!("/api/v1/customers/{id}"), None);
        assert_eq!((after["email"].clone(), after["name"].clone()), (Value::Null, Value::Null));
        assert_eq!(after["external_id"], format!("erased:{id}"));
        assert_eq!(after["stats"]["order_count"], 1, "aggregates stay");
        let (_, verify) = app.admin("GET", "/api/v1/loyalty/verify", None);
        assert_eq!(verify["mismatches"], json!([]));
        let (_, data) = app.admin("GET", &format!("/api/v1/customers/{id}/privacy-export"), None);
        assert!(!data.to_string().contains(email) && !data.to_string().contains("7777"), "{data}");
        // Not in the SQLite file or its WAL.
        let store = enishi_store::Store::open(&app._db.url).unwrap();
        if store.backend() == enishi_store::Backend::Sqlite {
            for path in [app._db.url.clone(), format!("{}-wal", app._db.url)] {
                let bytes = std::fs::read(&path).unwrap_or_default();
                let found = bytes.windows(email.len()).any(|w| w == email.as_bytes());
                assert!(!found, "{email} is still in {path}");
            }
        }
        // An old file or a replayed order does not bring her back.
        let csv = "order_id,customer_id,placed_at,sku,quantity,unit_price\nPRIV-2,PRIV-C,2026-01-05,S,1,3\nOTHER-1,OTHER-C,2026-01-05,S,1,3\n";
        let opts = enishi_ingest::orders::OrderImportOptions::new(enishi_ingest::formats::OrderFormat::Generic);
        let out =
            enishi_ingest::orders::import_orders(&store, csv.as_bytes(), "old.csv", &opts, Default::default()).unwrap();
        assert_eq!((out.summary.rows_of_erased_customers, out.summary.orders_created), (1, 1));
        let (_, found) = app.admin("GET", "/api/v1/customers?external_id=PRIV-C", None);
        assert_eq!(found["items"], json!([]));
        let (s, v) = app.admin("POST", "/api/v1/orders", Some(order("PRIV-3", "PRIV-C", "5.00")));
        assert_eq!((s, v["field"].as_str()), (422, Some("customer.external_id")), "{v}");
        let (_, log) = app.admin("GET", "/api/v1/audit?limit=5", None);
        assert!(log.to_string().contains("customers.erase"));
    }
}

#[test]
fn the_retention_job_deletes_old_events_and_messages_only() {
    for app in apps() {
        let (_, c) = app.admin("POST", "/api/v1/customers", Some(json!({"external_id": "RT-1"})));
        let id = c["id"].clone();
        let events = json!({"events": [
            {"customer_external_id": "RT-1", "name": "viewed", "occurred_at": "2023-01-01T00:00:00Z"},
            {"customer_external_id": "RT-1", "name": "viewed", "occurred_at": "2026-11-01T00:00:00Z"}]});
        assert_eq!(app.admin("POST", "/api/v1/events", Some(events)).0, 200);
        for sent in ["2020-01-01T00:00:00Z", "2026-11-01T00:00:00Z"] {
            let m = json!({"channel": "email", "subject": "hello", "sent_at": sent});
            assert_eq!(app.admin("POST", &format!("/api/v1/customers/{id}/communications"), Some(m)).0, 201);
        }
        let store = std::sync::Arc::new(enishi_store::Store::open(&app._db.url).unwrap());
        let state = enishi_server::AppState::new(store.clone()).unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T00:00:00Z").unwrap().timestamp();
        assert_eq!(enishi_server::scheduler::purge_expired(&state, now).unwrap(), 2, "a 2023 event and a 2020 message");
        let (_, events) = app.admin("GET", &format!("/api/v1/customers/{id}/events"), None);
        let (_, messages) = app.admin("GET", &format!("/api/v1/customers/{id}/communications"), None);
        let count = |v: &Value| v.as_array().or(v["items"].as_array()).map(Vec::len).unwrap();
        assert_eq!((count(&events), count(&messages)), (1, 1));
        // A shorter policy is a setting.
        let key = enishi_store::repo::settings::RETENTION_DAYS_EVENTS;
        store.write(|c| enishi_store::repo::settings::set(c, key, "7")).unwrap();
        assert_eq!(enishi_server::scheduler::purge_expired(&state, now).unwrap(), 1);
    }
}

/// Every API route, for every role and for no token, answers as its documentation says:
/// 401 without a token (except the public ones), 403 for a role the description does not
/// list, and neither 401, 403 nor a server error for the roles it lists.
#[test]
fn every_api_route_enforces_the_roles_it_documents() {
    let doc: Value = serde_json::from_str(enishi_server::openapi()).unwrap();
    for app in apps() {
        let store = enishi_store::Store::open(&app._db.url).unwrap();
        let marketer =
            store.write(|c| enishi_store::repo::tokens::create(c, enishi_core::Role::Marketer, "m")).unwrap();
        app.admin("POST", "/api/v1/orders", Some(order("O-1", "C-1", "10.00")));
        let tokens = [("admin", app.admin.clone()), ("marketer", marketer), ("staff", app.staff.clone())];
        let mut checked = 0;
        for (method, path) in enishi_server::api_routes() {
            let op = &doc["paths"][path][method];
            let description = op["description"].as_str().unwrap_or_default();
            let roles: Vec<&str> = description
                .split("Roles: ")
                .nth(1)
                .map(|r| {
                    let list = r.split(['.', '\n', '(']).next().unwrap_or_default();
                    list.split(',').filter_map(|x| x.split_whitespace().next()).collect()
                })
                .unwrap_or_default();
            let url =
                path.replace("{id}", "1").replace("{order_id}", "O-1").replace("{sku}", "S-1").replace("{code}", "X");
            let url = if url == "/api/v1/customers" && method == "get" { format!("{url}?q=Sato") } else { url };
            let body = matches!(method, "post" | "put" | "patch").then_some("{}");
            let public = roles.is_empty();
            let (s, _, _) = app.call(&method.to_uppercase(), &url, None, body);
            if public {
                assert_eq!(s, 200, "{method} {path} is public");
                continue;
            }
            assert_eq!(s, 401, "{method} {path} without a token");
            for (role, token) in &tokens {
                let (s, v, _) = app.call(&method.to_uppercase(), &url, Some(token), body);
                if roles.contains(role) {
                    assert!(s != 401 && s != 403 && s < 500, "{method} {path} as {role}: {s} {v}");
                } else {
                    assert_eq!(s, 403, "{method} {path} as {role} (documented: {roles:?}): {v}");
                }
                checked += 1;
            }
        }
        assert!(checked > 140, "{checked}");
    }
}

#[test]
fn admins_handle_privacy_requests_from_the_console() {
    for app in apps() {
        let body = json!({"external_id": "CON-1", "email": "console-erase-5d2@example.com", "name": "Mori"});
        let (_, c) = app.admin("POST", "/api/v1/customers", Some(body));
        let id = c["id"].clone();
        let admin = app.session(enishi_core::Role::Admin);
        let marketer = app.session(enishi_core::Role::Marketer);
        let (_, html) = app.page(&format!("/customers/{id}"), &admin);
        assert!(html.contains("id=\"privacy\""), "admins see the privacy card");
        assert!(!app.page(&format!("/customers/{id}"), &marketer).1.contains("id=\"privacy\""));
        let (s, json_text) = app.page(&format!("/customers/{id}/privacy-export"), &admin);
        assert!(s == 200 && json_text.contains("console-erase-5d2@example.com"), "{json_text}");
        assert_eq!(app.page(&format!("/customers/{id}/privacy-export"), &marketer).0, 403);
        let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let path = format!("/customers/{id}/erase");
        // The shop id must be typed to confirm.
        assert_eq!(app.form(&path, &admin, &[("csrf", &csrf), ("confirm", "CON-2")]).0, 422);
        let (_, still) = app.admin("GET", &format!("/api/v1/customers/{id}"), None);
        assert_eq!(still["email"], "console-erase-5d2@example.com");
        assert_eq!(app.form(&path, &admin, &[("csrf", &csrf), ("confirm", "CON-1")]).0, 303);
        let (_, gone) = app.admin("GET", &format!("/api/v1/customers/{id}"), None);
        assert_eq!((gone["email"].clone(), gone["external_id"].clone()), (Value::Null, json!(format!("erased:{id}"))));
    }
}

#[test]
fn metrics_count_requests_by_route_template() {
    for app in apps() {
        app.admin("POST", "/api/v1/customers", Some(json!({"external_id": "MX-1"})));
        for _ in 0..3 {
            assert_eq!(app.admin("GET", "/api/v1/customers/1", None).0, 200);
        }
        let text = ureq::get(&format!("{}/metrics", app.base)).call().unwrap().into_string().unwrap();
        assert!(
            text.contains(
                "enishi_http_requests_total{route=\"/api/v1/customers/{id}\",method=\"GET\",status=\"200\"} 3"
            ),
            "{text}"
        );
        assert!(text.contains("enishi_http_request_duration_seconds_count{route=\"/api/v1/customers/{id}\"} 3"));
        assert!(
            text.contains("enishi_db_pool_connections{state=\"max\"} 8")
                && text.contains("enishi_jobs{state=\"queued\"} 0")
        );
        assert!(!text.contains("MX-1"), "templates, not values");
    }
}

#[test]
fn a_request_past_the_time_limit_is_answered_503_timeout() {
    let limit = std::time::Duration::from_millis(300);
    let app = start_with(enishi_store::testing::sqlite(), |s| s.with_request_timeout(limit));
    // Another process holds SQLite's write lock for 3 s: a write waits past the limit.
    let holder = enishi_store::Store::open(&app._db.url).unwrap();
    let (locked, unlocked) = (std::sync::Barrier::new(2), std::time::Duration::from_secs(3));
    std::thread::scope(|scope| {
        scope.spawn(|| {
            holder
                .write(|_| {
                    locked.wait();
                    std::thread::sleep(unlocked);
                    Ok::<_, enishi_store::StoreError>(())
                })
                .unwrap()
        });
        locked.wait();
        let body = json!({"external_id": "T-1"}).to_string();
        let started = std::time::Instant::now();
        let raw = app.raw(&format!(
            "POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            app.admin,
            body.len()
        ));
        assert!(started.elapsed() < unlocked, "answered at the limit, not when the lock was released");
        let lower = raw.to_ascii_lowercase();
        assert!(lower.starts_with("http/1.1 503") && lower.contains("retry-after: 5"), "{raw}");
        assert!(raw.contains(r#""code":"timeout""#), "{raw}");
    });
    // Once the lock is gone, requests are answered again.
    let (status, body, _) = app.call("GET", "/api/v1/customers?limit=5", Some(&app.admin), None);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn responses_are_gzipped_for_clients_that_accept_it() {
    let app = start(enishi_store::testing::sqlite());
    let ask = |encoding: &str| {
        app.raw(&format!("GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n{encoding}Connection: close\r\n\r\n"))
            .to_ascii_lowercase()
    };
    let zipped = ask("Accept-Encoding: gzip\r\n");
    assert!(zipped.starts_with("http/1.1 200") && zipped.contains("content-encoding: gzip"), "{zipped:.300}");
    let plain = ask("");
    assert!(plain.starts_with("http/1.1 200") && !plain.contains("content-encoding"), "{plain:.300}");
}

#[test]
fn every_answer_carries_a_request_id_and_problems_name_it() {
    let app = start(enishi_store::testing::sqlite());
    let ask = |id: Option<&str>| {
        let header = id.map(|i| format!("X-Request-Id: {i}\r\n")).unwrap_or_default();
        app.raw(&format!("GET /api/v1/customers/999 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n{header}Connection: close\r\n\r\n", app.admin))
    };
    let echoed = ask(Some("pos-7.a_b"));
    assert!(echoed.contains("x-request-id: pos-7.a_b") && echoed.contains(r#""request_id":"pos-7.a_b""#), "{echoed}");
    for id in [None, Some("no spaces allowed"), Some(&"x".repeat(65)[..])] {
        let made = ask(id);
        let header = made.lines().find_map(|l| l.strip_prefix("x-request-id: ")).unwrap_or_default().trim().to_string();
        assert!(header.len() == 32 && header.bytes().all(|b| b.is_ascii_hexdigit()), "{id:?}: {made}");
        assert!(made.contains(&format!(r#""request_id":"{header}""#)), "{made}");
    }
}
