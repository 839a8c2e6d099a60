//! The API and pages over real HTTP, against SQLite and (when available) PostgreSQL.

mod common;

use common::*;
use enishi_core::{Language, Role};
use enishi_server::AppState;
use enishi_store::repo::users;
use enishi_store::testing;
use serde_json::{json, Value};
use std::sync::Arc;

#[test]
fn auth_is_required_and_roles_are_enforced() {
    for app in apps() {
        let (s, v, ctype) = app.call("GET", "/api/v1/customers", None, None);
        assert_eq!((s, v["code"].as_str()), (401, Some("unauthorized")));
        assert_eq!(ctype, "application/problem+json");
        assert_eq!(app.call("GET", "/api/v1/customers", Some("enishi_wrong"), None).0, 401);
        assert_eq!(app.call("GET", "/api/v1/health", None, None).0, 200);
        let (s, created) = app.admin("POST", "/api/v1/customers", Some(json!({"external_id": "C-9"})));
        assert_eq!(s, 201);
        let path = format!("/api/v1/customers/{}", created["id"]);
        let (s, v, _) = app.call("DELETE", &path, Some(&app.staff), None);
        assert_eq!((s, v["code"].as_str()), (403, Some("forbidden")));
        assert_eq!(app.call("GET", &path, Some(&app.staff), None).0, 200);
        assert_eq!(app.admin("DELETE", &path, None).0, 204);
        assert_eq!(app.admin("GET", &path, None).0, 404);
        assert_eq!(app.admin("GET", "/api/v1/nowhere", None).0, 404);
    }
}

#[test]
fn orders_are_idempotent_and_explain_bad_input() {
    for app in apps() {
        let (s, first) = app.admin("POST", "/api/v1/orders", Some(order("A-1001", "C-1", "57.40")));
        assert_eq!(s, 201, "{first}");
        assert_eq!(first["total"], "57.40");
        assert_eq!(first["lines"][0]["amount"], "57.40");
        let (s, again) = app.admin("POST", "/api/v1/orders", Some(order("A-1001", "C-1", "99.00")));
        assert_eq!((s, &again), (200, &first), "a replay answers the first result");
        let (_, found) = app.admin("GET", "/api/v1/customers?external_id=C-1", None);
        assert_eq!(found["items"].as_array().unwrap().len(), 1);
        assert_eq!(found["items"][0]["stats"]["order_count"], 1);
        assert_eq!(found["items"][0]["email"], "hana@example.com");
        let (_, one) = app.admin("GET", &format!("/api/v1/customers/{}", found["items"][0]["id"]), None);
        assert_eq!(one["scores"], Value::Null, "not scored yet");

        let cases: Vec<(String, u16, &str)> = vec![
            ("{not json".into(), 400, "malformed_json"),
            (json!({"order_id": "X"}).to_string(), 422, "invalid_body"),
            (
                {
                    let mut o = order("X-6", "C-1", "1");
                    o["lines"][0]["quantity"] = json!("two");
                    o.to_string()
                },
                422,
                "invalid_body",
            ),
            (
                json!({"order_id": 5, "placed_at": "x", "customer": {"external_id": "c"}, "lines": []}).to_string(),
                422,
                "invalid_body",
            ),
            (order("X-1", "C-1", "12,50").to_string(), 422, "invalid_field"),
            (
                {
                    let mut o = order("X-2", "C-1", "1");
                    o["lines"][0]["quantity"] = json!(0);
                    o.to_string()
                },
                422,
                "invalid_field",
            ),
            (
                {
                    let mut o = order("X-3", "C-1", "1");
                    o["placed_at"] = json!("2026-02-30");
                    o.to_string()
                },
                422,
                "invalid_field",
            ),
            (
                {
                    let mut o = order("X-4", "C-1", "1");
                    o["customer"]["email"] = json!("nope");
                    o.to_string()
                },
                422,
                "invalid_field",
            ),
            (
                {
                    let mut o = order("X-5", "C-1", "1");
                    o["extra"] = json!(1);
                    o.to_string()
                },
                422,
                "invalid_body",
            ),
        ];
        for (body, status, code) in cases {
            let (s, v, _) = app.call("POST", "/api/v1/orders", Some(&app.admin), Some(&body));
            assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{body} → {v}");
        }
        let (_, v, _) =
            app.call("POST", "/api/v1/orders", Some(&app.admin), Some(&order("X-1", "C-1", "12,50").to_string()));
        assert_eq!(v["field"], "total");
        // A body over the limit is refused from its Content-Length, before it is read (the
        // server may close the connection while a client still writes, so only the head and
        // the start of the body are sent here).
        let answer = app.raw(&format!(
            "POST /api/v1/orders HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"order_id\": \"xxxx",
            app.admin,
            3 * 1024 * 1024
        ));
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("payload_too_large"), "{answer}");
        assert_eq!(app.admin("GET", "/api/v1/customers/abc", None).0, 400);
        let (s, v, ctype) = app.call("PUT", "/api/v1/orders", Some(&app.admin), Some("{}"));
        assert_eq!(
            (s, v["code"].as_str(), ctype.as_str()),
            (405, Some("method_not_allowed"), "application/problem+json")
        );
        let mut bad = order("X-7", "C-1", "1");
        bad["lines"][0]["quantity"] = json!("two");
        let (_, v, _) = app.call("POST", "/api/v1/orders", Some(&app.admin), Some(&bad.to_string()));
        assert_eq!(v["field"], "lines[0].quantity", "{v}");
        assert_eq!(app.admin("GET", "/api/v1/orders/A-1001", None).0, 200);
    }
}

#[test]
fn returns_full_partial_and_refused() {
    for app in apps() {
        app.admin("POST", "/api/v1/orders", Some(order("B-1", "C-2", "57.40")));
        let (s, r) = app.admin(
            "POST",
            "/api/v1/orders/B-1/returns",
            Some(json!({"return_id": "RB-1", "lines": [{"sku": "BEANS-1", "quantity": 1}], "reason": "damaged"})),
        );
        assert_eq!(s, 201, "{r}");
        assert_eq!(r["amount"], "28.70");
        assert_eq!(
            app.admin(
                "POST",
                "/api/v1/orders/B-1/returns",
                Some(json!({"return_id": "RB-1", "lines": [{"sku": "BEANS-1", "quantity": 1}]}))
            )
            .0,
            200
        );
        let (s, v) = app.admin(
            "POST",
            "/api/v1/orders/B-1/returns",
            Some(json!({"return_id": "RB-2", "lines": [{"sku": "BEANS-1", "quantity": 2}]})),
        );
        assert_eq!((s, v["code"].as_str()), (422, Some("invalid_field")), "{v}");
        let (s, full) = app.admin("POST", "/api/v1/orders/B-1/returns", Some(json!({"return_id": "RB-3"})));
        assert_eq!(s, 201);
        assert_eq!(full["lines"][0]["quantity"], 1);
        let (_, o) = app.admin("GET", "/api/v1/orders/B-1", None);
        assert_eq!(o["returned_amount"], "57.40");
        assert_eq!(o["returns"].as_array().unwrap().len(), 2);
        assert_eq!(app.admin("POST", "/api/v1/orders/B-1/returns", Some(json!({"return_id": "RB-4"}))).0, 422);
        let (s, v) = app.admin("POST", "/api/v1/orders/NOPE/returns", Some(json!({"return_id": "RB-5"})));
        assert_eq!((s, v["code"].as_str()), (404, Some("unknown_order")));
    }
}

#[test]
fn timeline_shows_orders_messages_and_interactions_newest_first() {
    for app in apps() {
        app.admin("POST", "/api/v1/orders", Some(order("T-1", "C-3", "57.40")));
        let (_, found) = app.admin("GET", "/api/v1/customers?external_id=C-3", None);
        let id = found["items"][0]["id"].as_i64().unwrap();
        let (s, _) = app.admin(
            "POST",
            &format!("/api/v1/customers/{id}/communications"),
            Some(json!({"channel": "email", "subject": "Thank you for your visit", "sent_at": "2026-11-21T10:00:00+09:00", "status": "delivered"})),
        );
        assert_eq!(s, 201);
        let (s, inter) = app.admin(
            "POST",
            &format!("/api/v1/customers/{id}/interactions"),
            Some(json!({"kind": "complaint", "body": "Beans arrived crushed", "occurred_at": "2026-11-22T09:00:00+09:00"})),
        );
        assert_eq!(s, 201);
        let (_, t) = app.admin("GET", &format!("/api/v1/customers/{id}/timeline"), None);
        let kinds: Vec<&str> = t["items"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["interaction", "communication", "order"]);
        let (_, open) = app.admin("GET", "/api/v1/interactions?status=open", None);
        assert_eq!(open["items"].as_array().unwrap().len(), 1);
        let (s, resolved) = app.admin("POST", &format!("/api/v1/interactions/{}/resolve?staff=aya", inter["id"]), None);
        assert_eq!((s, resolved["status"].as_str()), (200, Some("resolved")));

        // The page shows the same three, newest first, to a signed-in visitor.
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        let cookie = app.session(Role::Staff);
        let html = agent
            .get(&format!("{}/customers/{id}", app.base))
            .set("Cookie", &cookie)
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        let (a, b, c) = (
            html.find("Beans arrived crushed").unwrap(),
            html.find("Thank you for your visit").unwrap(),
            html.find("Order T-1").unwrap(),
        );
        assert!(a < b && b < c, "newest first on the page");
        let list = agent
            .get(&format!("{}/customers?q=C-3", app.base))
            .set("Cookie", &cookie)
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        assert!(list.contains("Hana Sato"));
        let anonymous = agent.get(&format!("{}/", app.base)).call();
        let status = match anonymous {
            Ok(r) => r.status(),
            Err(ureq::Error::Status(s, _)) => s,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(status, 303, "the page needs a session");
    }
}

#[test]
fn customers_create_update_clear_and_events() {
    for app in apps() {
        let body = json!({"external_id": "C-7", "name": "Ken Ito", "email": "ken@example.com", "phone": "+81 90 1234 5678",
            "address": {"city": "Osaka", "country": "JP"}, "birthday": "1985-06-01", "channels": ["in_store"], "tags": ["vip"],
            "attributes": {"drink": "latte"}, "consents": {"email": {"status": "opted_in", "source": "signup_form"}}});
        let (s, c) = app.admin("POST", "/api/v1/customers", Some(body.clone()));
        assert_eq!(s, 201, "{c}");
        assert_eq!(c["consents"][0]["status"], "opted_in");
        // The same creation again is a replay (200, the stored customer); different details conflict.
        let (s, v) = app.admin("POST", "/api/v1/customers", Some(body.clone()));
        assert_eq!((s, &v["id"]), (200, &c["id"]), "{v}");
        let mut other = body;
        other["name"] = json!("Kenji Ito");
        let (s, v) = app.admin("POST", "/api/v1/customers", Some(other));
        assert_eq!((s, v["code"].as_str()), (409, Some("customer_exists")));
        let path = format!("/api/v1/customers/{}", c["id"]);
        let (s, u) =
            app.admin("PATCH", &path, Some(json!({"phone": null, "locale": "ja", "attributes": {"size": "M"}})));
        assert_eq!(s, 200, "{u}");
        assert_eq!(u["phone"], Value::Null);
        assert_eq!(u["locale"], "ja");
        assert_eq!(u["attributes"], json!({"drink": "latte", "size": "M"}));
        assert_eq!(app.admin("PATCH", &path, Some(json!({"colour": "red"}))).0, 422);
        assert_eq!(app.admin("PATCH", &path, Some(json!({"account_id": 999}))).0, 422);
        let (_, search) = app.admin("GET", "/api/v1/customers?q=ken", None);
        assert_eq!(search["items"].as_array().unwrap().len(), 1);

        let events = json!({"events": [
            {"customer_external_id": "C-7", "name": "viewed_product", "properties": {"sku": "BEANS-1"}, "event_id": "e-1"},
            {"customer_external_id": "C-7", "name": "added_to_cart", "event_id": "e-2"}]});
        let (s, v) = app.admin("POST", "/api/v1/events", Some(events.clone()));
        assert_eq!((s, v["stored"].as_u64()), (200, Some(2)));
        let (_, v) = app.admin("POST", "/api/v1/events", Some(events));
        assert_eq!(v["duplicates"], 2);
        let (s, v) = app.admin(
            "POST",
            "/api/v1/events",
            Some(json!({"events": [{"customer_external_id": "C-404", "name": "x"}]})),
        );
        assert_eq!((s, v["field"].as_str()), (422, Some("events[0].customer_external_id")));
        let (_, ev) = app.admin("GET", &format!("{path}/events"), None);
        assert_eq!(ev["items"].as_array().unwrap().len(), 2);
    }
}

#[test]
fn garbage_never_gets_a_server_error() {
    let app = start(testing::sqlite());
    let bodies = [
        "",
        "null",
        "[]",
        "{}",
        "\"x\"",
        "{\"a\":",
        "{\"order_id\":null}",
        "{\"events\":[null]}",
        "{\"external_id\":\"\"}",
        "\u{0}",
    ];
    for (method, path) in enishi_server::api_routes() {
        let path = path.replace("{id}", "1").replace("{sku}", "S").replace("{order_id}", "O").replace("{code}", "C");
        for b in bodies {
            let body = (method != "get" && method != "delete").then_some(b);
            let (s, _, _) = app.call(&method.to_uppercase(), &path, Some(&app.admin), body);
            assert!(s < 500, "{method} {path} with {b:?} → {s}");
        }
    }
}

#[test]
fn the_openapi_document_describes_every_route() {
    let doc: Value = serde_json::from_str(enishi_server::openapi()).expect("valid JSON");
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for method in
            ops.as_object().unwrap().keys().filter(|k| ["get", "post", "patch", "put", "delete"].contains(&k.as_str()))
        {
            documented.push((method.clone(), path.clone()));
        }
    }
    let mut routes: Vec<(String, String)> =
        enishi_server::api_routes().iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    documented.sort();
    routes.sort();
    assert_eq!(documented, routes);
    let app = start(testing::sqlite());
    let (s, served, _) = app.call("GET", "/api/v1/openapi.json", None, None);
    assert_eq!((s, served), (200, doc));
}

/// The route list is read from the router's registrations; each route in it must really be
/// served: answered by its handler (here 401 without a token, or 200 when public), not by the
/// unknown-route or wrong-method fallback.
#[test]
fn every_documented_route_is_served() {
    let app = start(testing::sqlite());
    let routes = enishi_server::api_routes();
    assert!(routes.len() > 50, "{routes:?}");
    for (method, path) in routes {
        let url = path.replace("{id}", "1").replace("{sku}", "S").replace("{order_id}", "O").replace("{code}", "C");
        let url = url.replace("{name}", "N");
        let (s, v, _) = app.call(&method.to_uppercase(), &url, None, None);
        assert!(s == 401 || s == 200, "{method} {path} → {s} {v}");
    }
}

#[test]
fn analytics_rfm_and_pareto_over_the_api() {
    for app in apps() {
        for (i, total) in ["10.00", "20.00", "30.00", "40.00", "400.00"].iter().enumerate() {
            let mut o = order(&format!("P-{i}"), &format!("C-{i}"), total);
            o["lines"][0]["unit_price"] = json!(total);
            o["lines"][0]["quantity"] = json!(1);
            assert_eq!(app.admin("POST", "/api/v1/orders", Some(o)).0, 201);
        }
        let (s, p) = app.admin("GET", "/api/v1/analytics/pareto?as_of=2026-11-30", None);
        assert_eq!(s, 200, "{p}");
        assert_eq!(p["customers"], 5);
        assert!((p["top_20_share"].as_f64().unwrap() - 0.8).abs() < 1e-9, "{p}");
        let (s, r) = app.admin("GET", "/api/v1/analytics/rfm?as_of=2026-11-30", None);
        assert_eq!(s, 200, "{r}");
        let counted: u64 = r["segments"].as_array().unwrap().iter().map(|s| s["customers"].as_u64().unwrap()).sum();
        assert_eq!(counted, 5);
        assert_eq!(app.admin("GET", "/api/v1/analytics/rfm?as_of=yesterday", None).0, 422);
        let (s, k) = app.admin("GET", "/api/v1/analytics/kpis?as_of=2026-11-30", None);
        assert_eq!((s, k["orders"].as_u64()), (200, Some(5)), "{k}");
        assert_eq!(k["order_value"]["median"], 30.0);
        let by_hour: u64 = k["orders_by_hour"].as_array().unwrap().iter().map(|h| h.as_u64().unwrap()).sum();
        assert_eq!((by_hour, k["customers_acquired"].as_i64(), k["referral_share"].as_f64()), (5, Some(5), Some(0.0)));
        let (s, l) = app.admin(
            "GET",
            "/api/v1/analytics/loyal?baseline=2026-11-25&as_of=2026-12-31&loyal_percent=20&semi_percent=20",
            None,
        );
        assert_eq!(s, 200, "{l}");
        let dates: Vec<&str> = l["trend"].as_array().unwrap().iter().map(|m| m["date"].as_str().unwrap()).collect();
        assert_eq!(dates, ["2026-11-25", "2026-11-30", "2026-12-31"]);
        assert_eq!(l["trend"][0]["customers"], 5);
        assert_eq!(l["trend"][0]["loyal"].as_u64().unwrap() + l["trend"][0]["semi_loyal"].as_u64().unwrap(), 2);
        assert_eq!(
            app.admin("GET", "/api/v1/analytics/loyal?baseline=2026-11-25&loyal_percent=90&semi_percent=20", None).0,
            422
        );
        assert_eq!(app.admin("GET", "/api/v1/analytics/loyal", None).0, 400, "baseline is required");
        let (s, lc) = app.admin("GET", "/api/v1/analytics/lifecycle?as_of=2027-06-30&lapsed=2", None);
        assert_eq!(s, 200, "{lc}");
        let stages: Vec<&str> = lc["funnel"].as_array().unwrap().iter().map(|f| f["stage"].as_str().unwrap()).collect();
        assert_eq!(stages, ["new", "active", "inactive", "at_risk", "lost"]);
        assert_eq!(lc["funnel"][4]["customers"], 5, "single buyers silent for months are lost");
        assert_eq!(lc["lapsed"][0]["external_id"], "C-4", "the biggest spender is most at stake");
        assert_eq!(lc["lapsed"].as_array().unwrap().len(), 2);
        let (s, clv) = app.admin("GET", "/api/v1/analytics/clv?calibration_end=2026-11-30&top=3", None);
        assert_eq!(s, 200, "{clv}");
        assert_eq!((clv["customers"].as_u64(), clv["top_customers"].as_array().map(Vec::len)), (Some(5), Some(3)));
        assert!(clv["bgnbd"]["r"].as_f64().is_some(), "{clv}");
        assert_eq!(
            clv["excluded"]["gamma_gamma_without_repeat_purchases"], 5,
            "single buyers are counted, not dropped"
        );
        assert_eq!(app.admin("GET", "/api/v1/analytics/clv?calibration_end=2000-01-01", None).0, 409);
        assert_eq!(app.admin("GET", "/api/v1/analytics/clv?discount=2", None).0, 422);
        let (s, mbg) = app.admin("GET", "/api/v1/analytics/clv?calibration_end=2026-11-30&model=mbg-nbd", None);
        assert_eq!((s, mbg["count_model"].as_str()), (200, Some("mbg/nbd")), "{mbg}");
        let (s, pnbd) = app.admin("GET", "/api/v1/analytics/clv?calibration_end=2026-11-30&model=pareto-nbd", None);
        assert_eq!((s, pnbd["count_model"].as_str()), (200, Some("pareto/nbd")), "{pnbd}");
        assert!(pnbd["bgnbd"]["beta"].as_f64().is_some(), "{pnbd}");
        assert_eq!(app.admin("GET", "/api/v1/analytics/clv?model=pareto", None).0, 422);
        let (s, _, _) = app.call("GET", "/api/v1/analytics/rfm", Some(&app.staff), None);
        assert_eq!(s, 403, "staff see no analytics");
    }
}

fn timed_order(id: &str, at: &str, total: &str) -> Value {
    json!({"order_id": id, "placed_at": at, "total": total, "channel": "in_store",
           "customer": {"external_id": "L-1", "name": "Hana Sato"},
           "lines": [{"sku": "BEANS-1", "quantity": 1, "unit_price": total}]})
}

#[test]
fn loyalty_end_to_end_over_http() {
    for app in apps() {
        // Before a programme: orders still record, with no loyalty; loyalty reads say so.
        let (s, v) = app.admin("GET", "/api/v1/loyalty/program", None);
        assert_eq!((s, v["code"].as_str()), (409, Some("no_program")));
        let program = json!({"name": "Classic", "effective_from": "2026-01-01",
            "earning": {"points_per_unit": 1, "minimum_order": "10.00"},
            "promotions": [{"id": "double", "name": "Double points", "starts": "2026-11-13 18:00",
                            "ends": "2026-11-15 18:00", "multiplier": 2}],
            "rewards": [{"id": "five-off", "name": "$5 off", "cost": 50, "kind": "discount", "value": "5.00"}]});
        // A bad value is refused with the field that is wrong; staff may not change the programme.
        let mut bad = program.clone();
        bad["promotions"][0]["multiplier"] = json!(0.5);
        let (s, v) = app.admin("PUT", "/api/v1/loyalty/program", Some(bad));
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (422, Some("invalid_program"), Some("promotions[0].multiplier"))
        );
        let (s, _, _) = app.call("PUT", "/api/v1/loyalty/program", Some(&app.staff), Some(&program.to_string()));
        assert_eq!(s, 403);
        let (s, v) = app.admin("PUT", "/api/v1/loyalty/program", Some(program));
        assert_eq!((s, v["version"].as_i64()), (201, Some(1)));

        let earn = |id: &str, at: &str, total: &str| -> (u16, Value) {
            app.admin("POST", "/api/v1/orders", Some(timed_order(id, at, total)))
        };
        let points = |v: &Value| v["loyalty"]["points_earned"].as_i64().unwrap();
        assert_eq!(points(&earn("H-1", "2026-11-01 10:00", "9.99").1), 0);
        assert_eq!(points(&earn("H-2", "2026-11-01 11:00", "10.00").1), 10);
        let (s, v) = earn("H-3", "2026-11-02 11:00", "57.40");
        assert_eq!((s, points(&v)), (201, 57));
        assert_eq!(v["loyalty"]["breakdown"][0]["source"], "base");
        assert_eq!(points(&earn("H-4", "2026-11-15 17:00", "30").1), 60);
        let (_, v) = earn("H-4", "2026-11-15 17:00", "30");
        assert_eq!(v["loyalty"]["breakdown"][1]["name"], "Double points", "a replay answers the same breakdown");
        assert_eq!(points(&earn("H-5", "2026-11-15 18:01", "30").1), 30);
        // The same order sent twice never earns twice.
        let (s, v) = earn("H-5", "2026-11-15 18:01", "30");
        assert_eq!((s, v["loyalty"]["balance"].as_i64()), (200, Some(157)));

        let id = v["customer_id"].as_i64().unwrap();
        let (s, v) = app.admin(
            "POST",
            "/api/v1/orders/H-3/returns",
            Some(json!({"return_id": "HR-3", "returned_at": "2026-11-16 09:00"})),
        );
        assert_eq!((s, v["loyalty"]["points_reversed"].as_i64()), (201, Some(57)));
        let (s, v) = app.admin("GET", &format!("/api/v1/customers/{id}/loyalty"), None);
        assert_eq!((s, v["balance"].as_i64(), v["available"].as_i64()), (200, Some(100), Some(100)));
        let code = v["referral_code"].as_str().unwrap().to_string();
        assert!(code.starts_with('R'));
        // A friend signs up with her code and is attributed to her; an unknown code is refused.
        let (s, friend) =
            app.admin("POST", "/api/v1/customers", Some(json!({"external_id": "L-2", "referral_code": code})));
        assert_eq!((s, friend["referred_by"].as_i64()), (201, Some(id)), "{friend}");
        let (s, bad) =
            app.admin("POST", "/api/v1/customers", Some(json!({"external_id": "L-3", "referral_code": "RZZZZZZZZ"})));
        assert_eq!((s, bad["field"].as_str()), (422, Some("referral_code")));
        let (_, v) = app.admin("GET", &format!("/api/v1/customers/{id}/loyalty"), None);
        assert_eq!(v["referrals"], 1);

        // Redeem, replay, use the coupon once.
        let redeem = json!({"reward_id": "five-off", "idempotency_key": "till-7-0001"});
        let (s, v) = app.admin("POST", &format!("/api/v1/customers/{id}/loyalty/redemptions"), Some(redeem.clone()));
        assert_eq!((s, v["balance"].as_i64()), (201, Some(50)));
        let code = v["coupon"]["code"].as_str().unwrap().to_string();
        let (s, v) = app.admin("POST", &format!("/api/v1/customers/{id}/loyalty/redemptions"), Some(redeem));
        assert_eq!((s, v["coupon"]["code"].as_str()), (200, Some(code.as_str())));
        let (s, _) = app.admin("POST", &format!("/api/v1/coupons/{code}/uses"), Some(json!({"use_ref": "H-9"})));
        assert_eq!(s, 201);
        let (s, v) = app.admin("POST", &format!("/api/v1/coupons/{code}/uses"), Some(json!({"use_ref": "H-10"})));
        assert_eq!((s, v["code"].as_str()), (409, Some("coupon_unusable")));
        let too_much = json!({"reward_id": "five-off", "idempotency_key": "k2"});
        app.admin("POST", &format!("/api/v1/customers/{id}/loyalty/redemptions"), Some(too_much));
        let (s, v) = app.admin(
            "POST",
            &format!("/api/v1/customers/{id}/loyalty/redemptions"),
            Some(json!({"reward_id": "five-off", "idempotency_key": "k3"})),
        );
        assert_eq!((s, v["code"].as_str()), (409, Some("insufficient_points")));

        // Adjustments need a manager and a reason; staff are refused.
        let adj = json!({"points": 25, "reason": "goodwill", "idempotency_key": "adj-1"});
        let (s, _, _) = app.call(
            "POST",
            &format!("/api/v1/customers/{id}/loyalty/adjustments"),
            Some(&app.staff),
            Some(&adj.to_string()),
        );
        assert_eq!(s, 403);
        let (s, v) = app.admin("POST", &format!("/api/v1/customers/{id}/loyalty/adjustments"), Some(adj));
        assert_eq!((s, v["balance"].as_i64()), (201, Some(25)));
        let (s, v) = app.admin("GET", &format!("/api/v1/customers/{id}/loyalty/ledger?limit=2"), None);
        assert_eq!((s, v["entries"][0]["kind"].as_str()), (200, Some("adjust")));
        // An order's entry explains itself with the names of its programme version (it is
        // stored as [kind, index, points]).
        let (_, v) = app.admin("GET", &format!("/api/v1/customers/{id}/loyalty/ledger?limit=100"), None);
        let earn = v["entries"].as_array().unwrap().iter().find(|e| e["kind"] == "earn").expect("an earn entry");
        let detail: serde_json::Value = serde_json::from_str(earn["detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["breakdown"][0]["source"], "base");
        assert_eq!(detail["breakdown"][0]["name"], "Points per amount spent");
        assert_eq!(detail["breakdown"][0]["points"], earn["points"]);
        let (s, v) = app.admin("GET", "/api/v1/loyalty/report", None);
        let promo = &v["promotions"][0];
        assert_eq!((s, promo["participants"].as_i64(), promo["points_given"].as_i64()), (200, Some(1), Some(30)));
        assert_eq!(promo["during"]["orders"].as_i64(), Some(1));
        let (s, v) = app.admin("GET", "/api/v1/loyalty/verify", None);
        assert_eq!((s, v["mismatches"].as_array().map(Vec::len)), (200, Some(0)));
    }
}

#[test]
fn a_weekly_promotion_over_http_earns_at_its_boundaries_and_is_reported_per_occurrence() {
    for db in testing::all() {
        db.store
            .write(|c| enishi_store::repo::settings::set(c, enishi_store::repo::settings::TIME_ZONE, "Asia/Tokyo"))
            .unwrap();
        // Wednesday 2026-12-09, 21:00 in Tokyo.
        let app = start_at(db, enishi_core::ManualClock::at("2026-12-09T12:00:00Z".parse().unwrap()));
        let program = json!({"name": "Happy", "effective_from": "2026-11-01", "earning": {"points_per_unit": 1},
            "promotions": [{"id": "tuesday", "name": "Tuesday afternoons", "starts": "2026-12-01", "multiplier": 2,
                            "repeat": {"weekdays": ["tue"], "from": "14:00", "until": "17:00"}}]});
        let mut bad = program.clone();
        bad["promotions"][0]["repeat"]["weekdays"] = json!(["tue", "tue"]);
        let (s, v) = app.admin("PUT", "/api/v1/loyalty/program", Some(bad));
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (422, Some("invalid_program"), Some("promotions[0].repeat.weekdays[1]"))
        );
        let (s, _) = app.admin("PUT", "/api/v1/loyalty/program", Some(program));
        assert_eq!(s, 201);
        let earn = |id: &str, at: &str, total: &str| -> i64 {
            let (s, v) = app.admin("POST", "/api/v1/orders", Some(timed_order(id, at, total)));
            assert_eq!(s, 201, "{v}");
            v["loyalty"]["points_earned"].as_i64().unwrap()
        };
        // Tuesdays before the promotion: one order on 17 November, two on the 24th.
        assert_eq!(earn("W-1", "2026-11-17 15:00", "20"), 20);
        assert_eq!(earn("W-2", "2026-11-24 15:00", "20"), 20);
        assert_eq!(earn("W-3", "2026-11-24 16:00", "40"), 40);
        // The first Tuesday of the promotion, at its boundaries, and a Monday.
        assert_eq!(earn("W-4", "2026-12-01 13:59", "30"), 30);
        assert_eq!(earn("W-5", "2026-12-01 14:00", "30"), 60);
        assert_eq!(earn("W-6", "2026-12-01 16:59:59", "30"), 60);
        assert_eq!(earn("W-7", "2026-12-01 17:00", "30"), 30);
        assert_eq!(earn("W-8", "2026-11-30 15:00", "30"), 30);
        assert_eq!(earn("W-9", "2026-12-08T06:00:00Z", "10"), 20, "15:00 in Tokyo");

        let (s, v) = app.admin("GET", "/api/v1/loyalty/report", None);
        assert_eq!(s, 200, "{v}");
        let promo = &v["promotions"][0];
        assert_eq!(promo["repeat"], json!({"weekdays": ["tue"], "from": "14:00", "until": "17:00"}));
        assert_eq!((promo["during"].clone(), promo["points_given"].as_i64()), (Value::Null, Some(70)));
        let occurrences = promo["occurrences"].as_array().unwrap();
        assert_eq!(occurrences.len(), 2, "{promo}");
        // Newest first: 8 December, then 1 December, 14:00–17:00 in Tokyo.
        let (dec8, dec1) = (&occurrences[0], &occurrences[1]);
        assert_eq!(dec8["during"]["from"], "2026-12-08T05:00:00Z");
        assert_eq!(
            (dec1["during"]["from"].as_str(), dec1["during"]["to"].as_str()),
            (Some("2026-12-01T05:00:00Z"), Some("2026-12-01T08:00:00Z"))
        );
        assert_eq!((dec1["during"]["orders"].as_i64(), dec1["during"]["spend"].as_str()), (Some(2), Some("60.00")));
        assert_eq!((dec1["points_given"].as_i64(), dec1["participants"].as_i64()), (Some(60), Some(1)));
        // Compared with the Tuesdays without it since the first order: 24 and 17 November
        // (1 December had an occurrence, so 8 December compares with the same two).
        for o in [dec1, dec8] {
            let b = &o["baseline"];
            assert_eq!(b["weeks"], json!(["2026-11-24T05:00:00Z", "2026-11-17T05:00:00Z"]), "{o}");
            assert_eq!((b["orders"].as_f64(), b["spend"].as_str()), (Some(1.5), Some("40.00")));
        }
        assert_eq!(dec1["spend_change_percent"].as_f64(), Some(50.0));
        assert_eq!(dec8["orders_change_percent"].as_f64().map(|c| c.round()), Some(-33.0));

        // The console shows the schedule and each occurrence, in English and Japanese.
        let (s, html) = app.page("/loyalty", &app.session(Role::Admin));
        assert_eq!(s, 200);
        assert!(html.contains("Every Tue 14:00–17:00"), "{html}");
        assert!(html.contains("2026-12-01 14:00–17:00") && html.contains("1.5 orders"), "{html}");
        let store = enishi_store::Store::open(&app._db.url).unwrap();
        store.write(|c| users::create(c, "ken@shop.example", "Ken", Role::Admin, Language::Ja, PASSWORD)).unwrap();
        let (_, html) = app.page("/loyalty", &app.sign_in("ken@shop.example", PASSWORD).unwrap());
        assert!(html.contains("毎週火 14:00〜17:00") && html.contains("通常比"), "{html}");
    }
}

#[test]
fn a_segment_promotion_and_a_personal_offer_over_http() {
    for db in testing::all() {
        let app = start_at(db, enishi_core::ManualClock::at("2026-12-09T12:00:00Z".parse().unwrap()));
        let program = json!({"name": "Regulars", "effective_from": "2026-11-01", "earning": {"points_per_unit": 1},
            "promotions": [{"id": "regulars", "name": "Triple for regulars", "starts": "2026-12-01", "ends": "2026-12-31", "multiplier": 3,
                            "segment": "Regulars"}],
            "rewards": [{"id": "ten-off", "name": "10% off", "cost": 0, "kind": "percent_off", "value": "10"}],
            "offers": [{"id": "favourite", "name": "10% off your favourite", "segment": "Regulars",
                        "reward": "ten-off", "product": "most_bought"}]});
        let (s, v) = app.admin("PUT", "/api/v1/loyalty/program", Some(program.clone()));
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (422, Some("invalid_program"), Some("promotions[0].segment")),
            "{v}"
        );
        let (s, v) = app.admin("POST", "/api/v1/segments", Some(json!({"name": "Regulars", "rule": "orders >= 2"})));
        assert_eq!(s, 201, "{v}");
        let (s, v) = app.admin("PUT", "/api/v1/loyalty/program", Some(program));
        assert_eq!(s, 201, "{v}");
        let earn = |id: &str, customer: &str, at: &str| -> i64 {
            let (s, v) = app.admin("POST", "/api/v1/orders", Some(json!({"order_id": id, "placed_at": at, "total": "10",
                "customer": {"external_id": customer}, "lines": [{"sku": "BEANS", "quantity": 1, "unit_price": "10"}]})));
            assert_eq!(s, 201, "{v}");
            v["loyalty"]["points_earned"].as_i64().unwrap()
        };
        assert_eq!(earn("R-1", "R", "2026-11-20T10:00:00Z"), 10);
        assert_eq!(earn("R-2", "R", "2026-11-21T10:00:00Z"), 10);
        assert_eq!(earn("N-1", "N", "2026-11-21T10:00:00Z"), 10);
        assert_eq!(earn("R-3", "R", "2026-12-02T10:00:00Z"), 30, "a regular: triple");
        assert_eq!(earn("N-2", "N", "2026-12-02T10:00:00Z"), 10, "one order before the day: not yet a regular");
        assert_eq!(earn("N-3", "N", "2026-12-03T10:00:00Z"), 30, "a regular from the next day");

        let (s, v) = app.admin("POST", "/api/v1/loyalty/offers/favourite/issue?round=2026-12", None);
        assert_eq!(s, 200, "{v}");
        assert_eq!((v["members"].as_i64(), v["issued"].as_i64(), v["already"].as_i64()), (Some(2), Some(2), Some(0)));
        let (_, v) = app.admin("POST", "/api/v1/loyalty/offers/favourite/issue?round=2026-12", None);
        assert_eq!((v["issued"].as_i64(), v["already"].as_i64()), (Some(0), Some(2)), "{v}");
        let (s, v) = app.admin("POST", "/api/v1/loyalty/offers/nope/issue", None);
        assert_eq!((s, v["field"].as_str()), (422, Some("offer")), "{v}");
        let (s, v) = app.admin("POST", "/api/v1/loyalty/offers/favourite/issue?round=a%20b", None);
        assert_eq!((s, v["field"].as_str()), (422, Some("round")), "{v}");
        let (s, _, _) = app.call("POST", "/api/v1/loyalty/offers/favourite/issue", Some(&app.staff), None);
        assert_eq!(s, 403, "staff may not issue offers");
        let (s, v) = app.admin("GET", "/api/v1/loyalty/suggestions?weeks=4&hours=1", None);
        assert_eq!(s, 200, "{v}");
        let first = &v[0];
        assert!(first["window"]["weekday"].is_string() && first["cost"]["orders"].as_i64() >= Some(1), "{v}");
        assert_eq!(
            first["draft"]["promotions"].as_array().map(Vec::len),
            Some(2),
            "the programme's and the happy hour"
        );
        let (s, v) = app.admin("GET", "/api/v1/loyalty/suggestions?weeks=1", None);
        assert_eq!((s, v["field"].as_str()), (422, Some("weeks")), "{v}");
        let (s, _, _) = app.call("GET", "/api/v1/loyalty/suggestions", Some(&app.staff), None);
        assert_eq!(s, 403);
        let (s, v) = app.admin("DELETE", "/api/v1/segments/Regulars", None);
        assert_eq!((s, v["code"].as_str()), (409, Some("segment_in_use")), "the programme names it: {v}");
        assert!(v["detail"].as_str().unwrap().contains("promotions[0].segment"), "{v}");
    }
}

#[test]
fn account_rollups_rank_accounts_by_their_contacts_revenue() {
    for app in apps() {
        let mut ids = Vec::new();
        for (ext, industry) in [("ACC-1", "hotel"), ("ACC-2", "retail")] {
            let (s, a) = app.admin(
                "POST",
                "/api/v1/accounts",
                Some(
                    json!({"external_id": ext, "name": format!("{ext} Ltd"), "industry": industry, "region": "Tokyo"}),
                ),
            );
            assert_eq!(s, 201, "{a}");
            ids.push(a["id"].as_i64().unwrap());
        }
        for (order, customer, total, account) in
            [("K-1", "KC-1", "100.00", ids[0]), ("K-2", "KC-2", "50.00", ids[0]), ("K-3", "KC-3", "400.00", ids[1])]
        {
            let (s, o) = app.admin("POST", "/api/v1/orders", Some(order_for(order, customer, total)));
            assert_eq!(s, 201, "{o}");
            let path = format!("/api/v1/customers/{}", o["customer_id"]);
            assert_eq!(app.admin("PATCH", &path, Some(json!({"account_id": account}))).0, 200);
        }
        app.admin("POST", "/api/v1/orders/K-3/returns", Some(json!({"return_id": "KR-3", "amount": "100.00"})));
        let (s, v) = app.admin("GET", "/api/v1/analytics/accounts", None);
        assert_eq!(s, 200, "{v}");
        let items = v["items"].as_array().unwrap();
        assert_eq!(items[0]["external_id"], "ACC-2");
        assert_eq!(items[0]["revenue"], "300.00", "net of returns");
        assert_eq!((items[1]["revenue"].as_str(), items[1]["contacts"].as_i64()), (Some("150.00"), Some(2)));
        assert_eq!(items[1]["active_contacts"], 2);
        let (_, v) = app.admin("GET", "/api/v1/analytics/accounts?industry=hotel", None);
        assert_eq!(v["items"].as_array().unwrap().len(), 1);
        assert_eq!(app.admin("GET", "/api/v1/analytics/accounts?limit=0", None).0, 422);
    }
}

/// The anti-forgery token of the first form on a page.
fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string()
}

fn order_for(id: &str, customer: &str, total: &str) -> Value {
    json!({"order_id": id, "placed_at": "2026-11-10 10:00", "total": total, "customer": {"external_id": customer},
           "lines": [{"sku": "S-1", "quantity": 1, "unit_price": total}]})
}

#[test]
fn every_page_renders_for_each_role_and_refuses_what_a_role_may_not_use() {
    let app = start(testing::sqlite());
    app.admin("POST", "/api/v1/orders", Some(order("M-1", "C-1", "20.00")));
    let sessions = [app.session(Role::Admin), app.session(Role::Marketer), app.session(Role::Staff)];
    // (path, admin, marketer, staff)
    let matrix = [
        ("/", 200, 200, 303),
        ("/till", 200, 200, 200),
        ("/till?q=C-1", 303, 303, 303),
        ("/till?q=nobody", 200, 200, 200),
        ("/customers/1", 200, 200, 200),
        ("/customers", 200, 200, 200),
        ("/customers?stage=lost&segment=champions", 200, 200, 200),
        ("/customers/export.csv", 200, 200, 403),
        ("/analytics", 200, 200, 403),
        ("/loyalty", 200, 200, 403),
        ("/imports", 200, 200, 403),
        ("/users", 200, 403, 403),
        ("/tokens", 200, 403, 403),
        ("/settings", 200, 403, 403),
        ("/account", 200, 200, 200),
        ("/inbox", 200, 200, 200),
        ("/tasks", 200, 200, 200),
        ("/tasks/rules", 200, 403, 403),
        ("/customers/999", 404, 404, 404),
        ("/audit", 200, 403, 403),
        ("/customers/1/privacy-export", 200, 403, 403),
        ("/customers/new", 200, 200, 200),
        ("/customers/1/edit", 200, 200, 200),
        ("/customers/999/edit", 404, 404, 404),
        ("/customers/1/merge", 200, 200, 403),
        ("/customers/1/merge?other=C-1", 200, 200, 403),
        ("/imports/jobs/999", 404, 404, 403),
        ("/imports/jobs/999/rejected.csv", 404, 404, 403),
        ("/imports/map/999", 404, 404, 403),
        ("/campaigns", 200, 200, 403),
        ("/campaigns/new", 200, 200, 403),
        ("/campaigns/nothing", 404, 404, 403),
        ("/campaigns/nothing/letters.csv", 404, 404, 403),
        ("/templates", 200, 200, 403),
        ("/templates/new", 200, 200, 403),
        ("/templates/nothing", 404, 404, 403),
        ("/journeys", 200, 200, 403),
        ("/journeys/new", 200, 200, 403),
        ("/journeys/nothing", 404, 404, 403),
        ("/overview", 308, 308, 308),
        // Public: the same for everyone, signed in or not.
        ("/login", 200, 200, 200),
        ("/favicon.svg", 200, 200, 200),
        ("/favicon.ico", 200, 200, 200),
        ("/style.css", 200, 200, 200),
        ("/healthz", 200, 200, 200),
        ("/readyz", 200, 200, 200),
        ("/metrics", 200, 200, 200),
    ];
    for (path, admin, market, staff) in matrix {
        for (cookie, want) in sessions.iter().zip([admin, market, staff]) {
            let (status, _) = app.page(path, cookie);
            assert_eq!(status, want, "{path} as {cookie}");
        }
    }
    // Signed out, every page leads to the sign-in page; forms without the anti-forgery token are refused.
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let signed_out = agent.get(&format!("{}/loyalty", app.base)).call().unwrap();
    assert_eq!((signed_out.status(), signed_out.header("location")), (303, Some("/login")));
    let cookie = &sessions[0];
    let (s, _, _) = app.form("/customers/1/purchases", cookie, &[("csrf", "nope"), ("amount", "10")]);
    assert_eq!(s, 403);
    // Every form a role may not use is refused (403) with a good anti-forgery token; the
    // state-changing forms of admins are refused to marketers and staff alike.
    let refused: &[(&str, &[usize])] = &[
        ("/customers/1/erase", &[1, 2]),
        ("/users/1/role", &[1, 2]),
        ("/users/1/access", &[1, 2]),
        ("/tokens", &[1, 2]),
        ("/tokens/1/revoke", &[1, 2]),
        ("/settings", &[1, 2]),
        ("/customers/1/adjustments", &[2]),
        ("/customers/1/merge", &[2]),
        ("/imports", &[2]),
        ("/imports/map/1", &[2]),
        ("/tasks/rules", &[1, 2]),
        ("/customers/1/owner", &[2]),
        ("/templates", &[2]),
        ("/campaigns/new", &[2]),
        ("/campaigns/x/start", &[2]),
        ("/campaigns/x/cancel", &[2]),
        ("/campaigns/x/confirm", &[2]),
        ("/journeys", &[2]),
        ("/journeys/x/pause", &[2]),
        ("/journeys/x/resume", &[2]),
    ];
    for &(path, roles) in refused {
        for &r in roles {
            let csrf = csrf_in(&app.page("/account", &sessions[r]).1);
            let (s, _, _) = app.form(path, &sessions[r], &[("csrf", &csrf)]);
            assert_eq!(s, 403, "POST {path} as role {r}");
        }
    }
    // Staff may not adjust points, even with a good form.
    let staff_csrf = csrf_in(&app.page("/customers/1", &sessions[2]).1);
    let (s, _, _) = app.form(
        "/customers/1/adjustments",
        &sessions[2],
        &[("csrf", &staff_csrf), ("key", "k"), ("points", "5"), ("reason", "x")],
    );
    assert_eq!(s, 403);

    // An owner makes a staff token on the tokens page; it works on the API, then is revoked.
    let csrf = csrf_in(&app.page("/tokens", cookie).1);
    let made = ureq::post(&format!("{}/tokens", app.base))
        .set("Cookie", cookie)
        .send_form(&[("csrf", csrf.as_str()), ("role", "staff"), ("label", "till 2")])
        .unwrap();
    assert_eq!(made.status(), 201);
    let html = made.into_string().unwrap();
    let token = html.split("id=\"new-token\">").nth(1).and_then(|r| r.split('<').next()).unwrap().to_string();
    assert_eq!(app.call("GET", "/api/v1/customers?q=Sato", Some(&token), None).0, 200, "staff search by a term");
    let (s, _, _) = app.call("GET", "/api/v1/analytics/rfm", Some(&token), None);
    assert_eq!(s, 403, "the new token has the staff role");
    let id = html.split("action=\"/tokens/").nth(1).and_then(|r| r.split('/').next()).unwrap().to_string();
    ureq::post(&format!("{}/tokens/{id}/revoke", app.base))
        .set("Cookie", cookie)
        .send_form(&[("csrf", csrf.as_str())])
        .unwrap();
    assert_eq!(app.call("GET", "/api/v1/customers", Some(&token), None).0, 401, "revoked");
}

#[test]
fn the_scheduler_runs_loyalty_jobs_and_refreshes_scores_once_a_day() {
    for db in testing::all() {
        let store = Arc::new(enishi_store::Store::open(&db.url).unwrap());
        let state = AppState::new(store.clone()).unwrap();
        store
            .write(|c| {
                let doc = r#"{"name": "x", "effective_from": "2020-01-01", "earning": {"points_per_unit": 1},
                              "expiry": {"policy": "months_after_earning", "months": 1}}"#;
                enishi_rewards::apply_program(c, doc, enishi_core::BusinessClock::default(), "t")
            })
            .unwrap();
        let app = start(db);
        // C-0 and C-1 buy A and B together; C-2 buys only A, so B is what C-2 is likely to buy next.
        for (i, skus) in [&["A", "B"][..], &["A", "B"][..], &["A"][..]].iter().enumerate() {
            let lines: Vec<Value> =
                skus.iter().map(|s| json!({"sku": s, "quantity": 1, "unit_price": "10.00"})).collect();
            let o = json!({"order_id": format!("S-{i}"), "placed_at": "2026-11-10 10:00",
                           "customer": {"external_id": format!("C-{i}")}, "lines": lines});
            assert_eq!(app.admin("POST", "/api/v1/orders", Some(o)).0, 201);
        }
        // As a large import leaves it: the first tick rebuilds the purchase summary.
        store.write(enishi_store::repo::purchase_summary::mark_stale).unwrap();
        let (s, _) = app.admin("POST", "/api/v1/segments", Some(json!({"name": "Buyers", "rule": "orders >= 1"})));
        assert_eq!(s, 201);
        let now = chrono::Utc::now().timestamp() + 60 * 86_400;
        let ticker = enishi_server::scheduler::Ticker::new(std::time::Duration::from_secs(60));
        let first = enishi_server::scheduler::tick(&state, now, &ticker);
        assert!(first.errors.is_empty(), "{:?}", first.errors);
        assert!(first.scores_refreshed);
        assert!(first.purchase_summary_rebuilt);
        let counted = store
            .read(|c| {
                let seg = enishi_store::repo::segments::by_name(c, "Buyers")?.unwrap();
                enishi_store::repo::segments::counts_since(c, seg.id, 0)
            })
            .unwrap();
        let day = enishi_core::BusinessClock::default().day_number(enishi_store::instant(now));
        assert_eq!(
            counted.last().map(|d| (d.day, d.members)),
            Some((day, 3)),
            "the daily work counts every saved segment: {counted:?}"
        );
        assert!(store.read(enishi_store::repo::purchase_summary::state).unwrap().fresh);
        assert_eq!(first.lifecycle_changes, 3);
        assert_eq!(
            first.loyalty.as_ref().map(|r| r.points_expired),
            Some(50),
            "points older than a month expire: {first:?}"
        );
        let again = enishi_server::scheduler::tick(&state, now + 60, &ticker);
        assert!(!again.scores_refreshed, "scores once a day");
        assert!(!again.purchase_summary_rebuilt, "a fresh summary is left alone");
        let (_, found) = app.admin("GET", "/api/v1/customers?external_id=C-2", None);
        let id = found["items"][0]["id"].as_i64().unwrap();
        let (_, one) = app.admin("GET", &format!("/api/v1/customers/{id}"), None);
        assert!(one["scores"]["rfm"].is_object(), "{one}");
        assert!(one["scores"]["loyal_class"].is_string(), "the daily scoring ranks buyers: {one}");
        assert!(one["scores"]["lifecycle_stage"].is_string(), "{one}");
        let (_, page) = app.page(&format!("/customers/{id}"), &app.session(Role::Admin));
        assert!(
            page.contains("id=\"scores\"") && page.contains("Lifecycle: <strong>Later than usual</strong> since"),
            "{page}"
        );
        assert!(page.contains("Loyal class: <strong>"), "the profile shows the loyal class: {page}");
        let (s, recs) = app.admin("GET", &format!("/api/v1/customers/{id}/recommendations"), None);
        assert_eq!((s, recs["items"][0]["sku"].as_str()), (200, Some("B")), "{recs}");
    }
}

#[test]
fn the_server_and_its_store_tell_the_time_by_one_clock() {
    for db in testing::all() {
        let clock = enishi_core::ManualClock::at("2026-03-01T10:00:00Z".parse().unwrap());
        db.store
            .write(|c| {
                let doc = r#"{"name": "x", "effective_from": "2026-01-01", "earning": {"points_per_unit": 1},
                              "pending_days": 2}"#;
                enishi_rewards::apply_program(c, doc, enishi_core::BusinessClock::default(), "t")
            })
            .unwrap();
        let app = start_at(db, clock.clone());
        let placed = |id: &str, at: &str| {
            let o = json!({"order_id": id, "placed_at": at, "customer": {"external_id": "C-1"},
                           "lines": [{"sku": "A", "quantity": 1, "unit_price": "40.00"}]});
            app.admin("POST", "/api/v1/orders", Some(o))
        };
        assert_eq!(placed("K-1", "2026-03-01 10:00").0, 201);
        let (s, future) = placed("K-2", "2026-03-10 10:00");
        assert_eq!((s, future["field"].as_str()), (422, Some("placed_at")), "more than a day ahead: {future}");
        let (_, found) = app.admin("GET", "/api/v1/customers?external_id=C-1", None);
        let id = found["items"][0]["id"].as_i64().unwrap();
        let points = || {
            let (_, l) = app.admin("GET", &format!("/api/v1/customers/{id}/loyalty"), None);
            (l["available"].as_i64(), l["pending"].as_i64())
        };
        assert_eq!(points(), (Some(0), Some(40)), "pending for two days");
        // Interactions without a time are stamped with the clock's.
        let note = json!({"kind": "note", "body": "asked about decaf"});
        assert_eq!(app.admin("POST", &format!("/api/v1/customers/{id}/interactions"), Some(note)).0, 201);
        let (_, notes) = app.admin("GET", &format!("/api/v1/customers/{id}/interactions"), None);
        let at = notes["items"][0]["occurred_at"].as_str().unwrap();
        assert!(at.starts_with("2026-03-01T10:00:00"), "{notes}");

        clock.advance(chrono::Duration::days(2));
        assert_eq!(points(), (Some(40), Some(0)), "usable two days later, by the clock");
        clock.set("2026-03-10T09:00:00Z".parse().unwrap());
        assert_eq!(placed("K-2", "2026-03-10 10:00").0, 201, "no longer in the future");
    }
}

#[test]
fn servers_sharing_a_database_run_each_period_once_and_a_restart_remembers() {
    use enishi_server::scheduler::{tick, Ticker};
    for db in testing::all() {
        // Two servers: their own stores (connection pools) on one database.
        let states: Vec<AppState> =
            (0..2).map(|_| AppState::new(Arc::new(enishi_store::Store::open(&db.url).unwrap())).unwrap()).collect();
        let hour = std::time::Duration::from_secs(3600);
        let tickers = [Ticker::new(hour), Ticker::new(hour)];
        // A minute into an hour, so the rounds below stay in one hourly slot and one day.
        let now = chrono::Utc::now().timestamp() / 3600 * 3600 + 60;
        for round in 0..3 {
            // Both tick at the same moment, many times over.
            let at = now + round * 60;
            let ticks: Vec<_> = std::thread::scope(|s| {
                let handles: Vec<_> =
                    states.iter().zip(&tickers).map(|(st, t)| s.spawn(move || tick(st, at, t))).collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert!(ticks.iter().all(|t| t.errors.is_empty()), "{ticks:?}");
            let daily = ticks.iter().filter(|t| t.scores_refreshed).count();
            let loyalty = ticks.iter().filter(|t| t.loyalty.is_some()).count();
            assert_eq!(
                (daily, loyalty),
                (usize::from(round == 0), usize::from(round == 0)),
                "round {round}: {ticks:?}"
            );
        }
        // A restarted server (a new ticker) knows the day is done; the next day and the next
        // slot run once more.
        let restarted = Ticker::new(hour);
        assert!(!tick(&states[1], now + 300, &restarted).scores_refreshed);
        let next_day = tick(&states[1], now + 86_400, &restarted);
        assert!(next_day.scores_refreshed && next_day.loyalty.is_some(), "{next_day:?}");
        assert!(!tick(&states[0], now + 86_400, &tickers[0]).scores_refreshed);
        // A server ticking every minute counts minutes; the hourly servers keep their slots.
        let minutely = Ticker::new(std::time::Duration::from_secs(60));
        assert!(tick(&states[0], now + 86_400 + 60, &minutely).loyalty.is_some());
        assert!(tick(&states[1], now + 2 * 86_400, &tickers[1]).loyalty.is_some(), "the hourly slot still runs");
    }
}

#[test]
fn console_users_sign_in_switch_language_and_run_the_till() {
    for db in testing::all() {
        let app = start(db);
        app.admin("POST", "/api/v1/orders", Some(order("U-1", "C-1", "20.00")));
        let owner = app.session(Role::Admin);

        // Wrong passwords are refused; after three the address must wait a growing while, and
        // then the right password works (no lock-out).
        let store = enishi_store::Store::open(&app._db.url).unwrap();
        store.write(|c| users::create(c, "aya@shop.example", "Aya", Role::Staff, Language::Ja, PASSWORD)).unwrap();
        for _ in 0..3 {
            assert_eq!(app.sign_in("aya@shop.example", "wrong password").unwrap_err(), 401);
        }
        assert_eq!(app.sign_in("aya@shop.example", PASSWORD).unwrap_err(), 429, "wait after three failures");
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert!(app.sign_in("aya@shop.example", PASSWORD).is_ok(), "the right password after the wait");

        // A user's language is theirs: Japanese pages, switched to English and back.
        let staff = app.session(Role::Staff);
        let (_, html) = app.page("/till", &staff);
        assert!(html.contains("<html lang=\"en\"") && html.contains("<h1>Till</h1>"), "{html}");
        let csrf = csrf_in(&html);
        let (s, _, _) = app.form("/language", &staff, &[("csrf", &csrf), ("language", "ja")]);
        assert_eq!(s, 303);
        let (_, html) = app.page("/till", &staff);
        assert!(html.contains("<html lang=\"ja\"") && html.contains("<h1>レジ</h1>"), "{html}");
        assert!(!html.contains("href=\"/analytics\""), "staff see no link to pages they may not use");
        let (_, html) = app.page("/customers/1", &staff);
        assert!(html.contains("購入を記録") && html.contains("対応を記録"), "{html}");
        assert!(!html.contains("id=\"adjust\""), "staff adjust nothing");
        let (s, _, html) = app.form("/customers/1/purchases", &staff, &[("csrf", &csrf), ("amount", "12,50")]);
        assert!(
            s == 422 && html.contains("12,50&#39; は金額ではありません"),
            "the engine's message in Japanese: {html}"
        );

        // Staff record an interaction and resolve it from the customer's page.
        let (s, location, _) = app.form(
            "/customers/1/interactions",
            &staff,
            &[("csrf", &csrf), ("kind", "complaint"), ("body", "Cup was cold")],
        );
        assert_eq!((s, location.as_deref()), (303, Some("/customers/1?done=interaction")));
        let (_, html) = app.page("/customers/1?done=interaction", &staff);
        assert!(html.contains("対応履歴を記録しました") && html.contains("Cup was cold"), "{html}");
        let open = html.split("id=\"open-issues\"").nth(1).unwrap();
        let action = open.split("action=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();
        assert!(action.ends_with("/resolve"), "{action}");
        assert_eq!(app.form(&action, &staff, &[("csrf", &csrf)]).0, 303);
        let (_, html) = app.page("/customers/1", &staff);
        assert!(html.split("id=\"open-issues\"").nth(1).unwrap().contains("未解決の案件はありません"), "{html}");
        let (s, _, html) =
            app.form("/customers/1/interactions", &staff, &[("csrf", &csrf), ("kind", "fax"), ("body", "x")]);
        assert_eq!(s, 422, "{html}");

        // A marketer adjusts points with a reason, once per form.
        app.admin(
            "PUT",
            "/api/v1/loyalty/program",
            Some(json!({"name": "x", "effective_from": "2020-01-01", "earning": {"points_per_unit": 1}})),
        );
        let marketer = app.session(Role::Marketer);
        let (_, html) = app.page("/customers/1", &marketer);
        let form = html.split("id=\"adjust\"").nth(1).unwrap();
        let key = form.split("name=\"key\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();
        let mcsrf = csrf_in(&html);
        let fields = [("csrf", mcsrf.as_str()), ("key", key.as_str()), ("points", "25"), ("reason", "goodwill")];
        assert_eq!(app.form("/customers/1/adjustments", &marketer, &fields).0, 303);
        assert_eq!(app.form("/customers/1/adjustments", &marketer, &fields).0, 303, "a resent form is done once");
        let (_, l) = app.admin("GET", "/api/v1/customers/1/loyalty", None);
        assert_eq!(l["balance"], 25, "{l}");
        let bad = [("csrf", mcsrf.as_str()), ("key", "k2"), ("points", "lots"), ("reason", "x")];
        assert_eq!(app.form("/customers/1/adjustments", &marketer, &bad).0, 422);
        let no_reason = [("csrf", mcsrf.as_str()), ("key", "k3"), ("points", "5"), ("reason", " ")];
        assert_eq!(app.form("/customers/1/adjustments", &marketer, &no_reason).0, 422);

        // The owner adds a user, who signs in; the last owner cannot be demoted.
        let ocsrf = csrf_in(&app.page("/users", &owner).1);
        let add = [
            ("csrf", ocsrf.as_str()),
            ("email", "Ken@Shop.example"),
            ("name", "Ken"),
            ("role", "marketer"),
            ("language", "en"),
            ("password", "short"),
        ];
        let (s, _, html) = app.form("/users", &owner, &add);
        assert!(s == 422 && html.contains("at least 10 characters"), "{s} {html}");
        let mut add = add;
        add[5] = ("password", "long enough password");
        assert_eq!(app.form("/users", &owner, &add).0, 303);
        assert_eq!(app.form("/users", &owner, &add).0, 409, "the email is taken");
        assert!(app.sign_in("ken@shop.example", "long enough password").is_ok());
        let admins: Vec<i64> =
            store.read(users::list).unwrap().iter().filter(|u| u.role == Role::Admin).map(|u| u.id).collect();
        assert_eq!(admins.len(), 1);
        let (s, _, html) =
            app.form(&format!("/users/{}/role", admins[0]), &owner, &[("csrf", &ocsrf), ("role", "staff")]);
        assert!(s == 409 && html.contains("last enabled owner"), "{s} {html}");

        // Settings take effect at once; a bad time zone is refused with the field named.
        let (s, _, html) =
            app.form("/settings", &owner, &[("csrf", &ocsrf), ("time_zone", "Mars/Olympus"), ("currency", "JPY")]);
        assert!(s == 422 && html.contains("Business time zone"), "{s} {html}");
        for fake in ["YEN", "XYZ"] {
            let (s, _, html) =
                app.form("/settings", &owner, &[("csrf", &ocsrf), ("time_zone", "Asia/Tokyo"), ("currency", fake)]);
            let said = format!("&#39;{fake}&#39; is not an ISO 4217 currency code");
            assert!(s == 422 && html.contains(&said) && html.contains(&format!("value=\"{fake}\"")), "{s} {html}");
        }
        let (s, _, _) =
            app.form("/settings", &owner, &[("csrf", &ocsrf), ("time_zone", "Asia/Tokyo"), ("currency", "jpy")]);
        assert_eq!(s, 303);
        let (_, html) = app.page("/settings", &owner);
        assert!(html.contains("value=\"Asia/Tokyo\"") && html.contains("value=\"JPY\""), "{html}");

        // Signing out ends the session; changing a password ends the others.
        let (s, _, _) = app.form(
            "/account/password",
            &marketer,
            &[("csrf", &mcsrf), ("current", "nope"), ("new", "another long password")],
        );
        assert_eq!(s, 422);
        let (s, _, _) = app.form("/logout", &marketer, &[("csrf", &mcsrf)]);
        assert_eq!(s, 303);
        assert_eq!(app.page("/", &marketer).0, 303, "signed out");
        let (s, _, _) = app.form(
            "/account/password",
            &owner,
            &[("csrf", &ocsrf), ("current", PASSWORD), ("new", "another long password")],
        );
        assert_eq!(s, 303);
        assert_eq!(app.page("/", &owner).0, 200, "the session in use stays");
    }
}

#[test]
fn console_imports_run_in_the_background_and_show_only_to_their_starter() {
    let app = start(testing::sqlite());
    let (alice, bob, owner) = (app.session(Role::Marketer), app.session(Role::Marketer), app.session(Role::Admin));
    let csrf = csrf_in(&app.page("/imports", &alice).1);
    let csv = "order_id,customer_id,placed_at,sku,quantity,unit_price\nI-1,C-1,2026-10-01 10:00,A,1,5.00\n";
    let boundary = "enishi-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\ngeneric\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"shop.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n\
         --{boundary}--\r\n"
    );
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let resp = agent
        .post(&format!("{}/imports", app.base))
        .set("Cookie", &alice)
        .set("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
        .send_string(&body)
        .unwrap();
    assert_eq!(resp.status(), 303);
    let job = resp.header("location").unwrap().to_string();
    assert!(job.starts_with("/imports/jobs/"), "{job}");
    let started = std::time::Instant::now();
    loop {
        let (s, html) = app.page(&job, &alice);
        assert_eq!(s, 200);
        if html.contains("id=\"import-summary\"") {
            assert!(html.contains("1 row read; 1 order, 0 returns and 1 customer created"), "plurals: {html}");
            break;
        }
        assert!(html.contains("<progress") && html.contains("http-equiv=\"refresh\""), "{html}");
        assert!(started.elapsed().as_secs() < 30, "the import finished");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(app.page(&job, &bob).0, 404, "another marketer does not see it");
    assert_eq!(app.page(&job, &owner).0, 200, "owners do");
    assert_eq!(app.page("/imports/jobs/999", &owner).0, 404);
    let (_, html) = app.page("/imports", &alice);
    assert!(html.contains("id=\"recent-imports\"") && html.contains("shop.csv"), "{html}");
}

/// Uploads `file` to the console's import page with the other form `fields`: the redirect.
fn upload_file(app: &App, cookie: &str, fields: &[(&str, &str)], file_name: &str, file: &[u8]) -> String {
    let boundary = "enishi-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes(),
        );
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .bytes(),
    );
    body.extend(file);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let resp = agent
        .post(&format!("{}/imports", app.base))
        .set("Cookie", cookie)
        .set("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
        .send_bytes(&body)
        .unwrap();
    assert_eq!(resp.status(), 303);
    resp.header("location").unwrap().to_string()
}

/// The finished job page at `job`.
fn finished(app: &App, cookie: &str, job: &str) -> String {
    let started = std::time::Instant::now();
    loop {
        let (s, html) = app.page(job, cookie);
        assert_eq!(s, 200, "{html}");
        if html.contains("id=\"import-summary\"") {
            return html;
        }
        assert!(started.elapsed().as_secs() < 30, "the import finished");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_shift_jis_file_with_japanese_headers_imports_through_the_mapping_screen() {
    let app = start(testing::sqlite());
    let (alice, bob) = (app.session(Role::Marketer), app.session(Role::Marketer));
    let csrf = csrf_in(&app.page("/imports", &alice).1);
    let text = "注文番号,顧客ID,購入日時,商品コード,商品名,数量,単価,店舗名\r\n\
                J-1,K-1,2026-11-20 18:05,BEAN-1,深煎りブレンド,2,1200,渋谷店\r\n\
                J-2,K-2,2026-11-20 18:10,BEAN-1,深煎りブレンド,二,1200,渋谷店\r\n";
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(text);
    let fields = [("csrf", csrf.as_str()), ("kind", "orders"), ("format", "generic"), ("skip_bad_rows", "1")];
    let map = upload_file(&app, &alice, &fields, "pos.csv", &sjis);
    assert!(map.starts_with("/imports/map/"), "Japanese headers lead to the mapping screen: {map}");
    assert_eq!(app.page(&map, &bob).0, 404, "another marketer does not see the upload");
    let (s, html) = app.page(&map, &alice);
    assert_eq!(s, 200);
    assert!(html.contains("read as Shift_JIS") && html.contains("深煎りブレンド"), "decoded: {html}");
    // The guesses: 注文番号 feeds order_id …, 店舗名 nothing.
    assert!(html.contains("<option value=\"order_id\" selected>"), "{html}");
    // Two columns for one field, then a required field left out, are refused on the page.
    let form = |c1: &str, c5: &str| -> Vec<(String, String)> {
        let mut f = vec![("csrf".to_string(), csrf.clone())];
        for (i, field) in ["order_id", c1, "placed_at", "sku", "product_name", c5, "unit_price", ""].iter().enumerate()
        {
            f.push((format!("c{i}"), field.to_string()));
        }
        f
    };
    let post = |f: Vec<(String, String)>| {
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        app.form(&map, &alice, &pairs)
    };
    let (s, _, html) = post(form("customer_id", "sku"));
    assert_eq!(s, 422);
    assert!(html.contains("Two columns feed sku"), "{html}");
    let (s, _, html) = post(form("", "quantity"));
    assert_eq!(s, 422);
    assert!(html.contains("required field: customer_id"), "{html}");
    let (s, job, _) = post(form("customer_id", "quantity"));
    assert_eq!(s, 303);
    let job = job.unwrap();
    let html = finished(&app, &alice, &job);
    assert!(html.contains("2 rows read; 1 order, 0 returns and 1 customer created"), "{html}");
    assert!(html.contains("1 row rejected"), "{html}");
    // The rejected row, at its true line and named by the file's header, downloads as CSV.
    let csv = ureq::get(&format!("{}{job}/rejected.csv", app.base)).set("Cookie", &alice).call().unwrap();
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    let csv = csv.into_string().unwrap();
    assert!(csv.starts_with("\u{FEFF}line,column,order_id,reason\n3,\"数量\",\"J-2\","), "{csv}");
    assert_eq!(app.page(&format!("{job}/rejected.csv"), &bob).0, 404);
    let stored = app.admin("GET", "/api/v1/customers/1", None).1;
    assert_eq!(stored["external_id"], "K-1", "{stored}");
    // The next file with these headers comes with the shop's mapping chosen.
    let map = upload_file(&app, &alice, &fields, "pos2.csv", &sjis);
    let html = app.page(&map, &alice).1;
    assert!(html.contains("<option value=\"quantity\" selected>"), "remembered: {html}");
    // Files in Enishi's own names go straight to their import: customers and products too.
    let csv = "external_id,name\r\nK-9,山田 花子\r\n";
    let fields = [("csrf", csrf.as_str()), ("kind", "customers"), ("format", "generic")];
    let job = upload_file(&app, &alice, &fields, "k.csv", csv.as_bytes());
    let html = finished(&app, &alice, &job);
    assert!(html.contains("1 row read; 1 customer created, 0 updated; 0 rows rejected"), "{html}");
    let fields = [("csrf", csrf.as_str()), ("kind", "products"), ("format", "generic")];
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("商品コード,商品名,価格\r\nMUG-1,マグカップ,1500\r\n");
    let map = upload_file(&app, &alice, &fields, "p.csv", &sjis);
    let pairs = [("csrf", csrf.as_str()), ("c0", "sku"), ("c1", "name"), ("c2", "price")];
    let (s, job, _) = app.form(&map, &alice, &pairs);
    assert_eq!(s, 303);
    let html = finished(&app, &alice, &job.unwrap());
    assert!(html.contains("1 row read; 1 product created"), "{html}");
    let product = app.admin("GET", "/api/v1/products/MUG-1", None).1;
    assert_eq!(product["name"], "マグカップ", "{product}");
    // A customer file's consent columns keep their own names through the mapping.
    let fields = [("csrf", csrf.as_str()), ("kind", "customers"), ("format", "generic")];
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("顧客ID,氏名,email_consent\r\nK-5,佐藤 健,opted_in\r\n");
    let map = upload_file(&app, &alice, &fields, "k2.csv", &sjis);
    let html = app.page(&map, &alice).1;
    assert!(html.contains("<option value=\"email_consent\" selected>"), "{html}");
    let pairs = [("csrf", csrf.as_str()), ("c0", "external_id"), ("c1", "name"), ("c2", "email_consent")];
    let (s, job, _) = app.form(&map, &alice, &pairs);
    assert_eq!(s, 303);
    let html = finished(&app, &alice, &job.unwrap());
    assert!(html.contains("1 row read; 1 customer created"), "{html}");
    // A format products do not come in is refused.
    let fields = [("csrf", csrf.as_str()), ("kind", "products"), ("format", "shopify")];
    let (s, _) = upload_refused(&app, &alice, &fields);
    assert_eq!(s, 400);
}

/// Posts an upload expected to be refused: its status and page.
fn upload_refused(app: &App, cookie: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let boundary = "enishi-test-boundary";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.csv\"\r\n\r\nsku\r\nA\r\n--{boundary}--\r\n"
    ));
    match ureq::post(&format!("{}/imports", app.base))
        .set("Cookie", cookie)
        .set("Content-Type", &format!("multipart/form-data; boundary={boundary}"))
        .send_string(&body)
    {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn customers_are_found_by_tag_and_sales_channel() {
    for app in apps() {
        for (id, tags, channels) in
            [("T-1", json!(["vip", "beans"]), json!(["ecommerce"])), ("T-2", json!(["vip"]), json!(["in_store"]))]
        {
            let body = json!({"external_id": id, "tags": tags, "channels": channels});
            assert_eq!(app.admin("POST", "/api/v1/customers", Some(body)).0, 201);
        }
        let found = |query: &str| {
            let (s, page) = app.admin("GET", &format!("/api/v1/customers?{query}"), None);
            assert_eq!(s, 200, "{page}");
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["external_id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(found("tag=vip"), ["T-1", "T-2"]);
        assert_eq!(found("tag=vip&channel=in_store"), ["T-2"]);
        assert_eq!(found("tag=beans&channel=in_store"), Vec::<String>::new());
        let (s, problem) = app.admin("GET", "/api/v1/customers?channel=fax", None);
        assert_eq!((s, problem["field"].as_str()), (422, Some("channel")), "{problem}");
        let (s, problem) = app.admin("GET", "/api/v1/customers?tag=%20", None);
        assert_eq!((s, problem["field"].as_str()), (422, Some("tag")), "{problem}");
    }
}

/// The location a till form sends to, and the page there.
fn follow(app: &App, cookie: &str, answer: (u16, Option<String>, String)) -> String {
    assert_eq!(answer.0, 303, "{}", answer.2);
    app.page(&answer.1.expect("a location"), cookie).1
}

#[test]
fn the_till_takes_yen_as_people_type_them_and_asks_before_unusual_sales() {
    for app in apps() {
        let owner = app.session(Role::Admin);
        let ocsrf = csrf_in(&app.page("/settings", &owner).1);
        let yen = [("csrf", ocsrf.as_str()), ("time_zone", "Asia/Tokyo"), ("currency", "JPY")];
        assert_eq!(app.form("/settings", &owner, &yen).0, 303);
        app.admin(
            "PUT",
            "/api/v1/loyalty/program",
            Some(json!({"name": "cafe", "effective_from": "2020-01-01",
                        "earning": {"points_per_unit": 0.01, "minimum_order": "1000"}})),
        );
        assert_eq!(app.admin("POST", "/api/v1/orders", Some(order_for("Y-1", "C-Y", "1000"))).0, 201);
        let (_, found) = app.admin("GET", "/api/v1/customers?external_id=C-Y", None);
        let id = found["items"][0]["id"].as_i64().unwrap();
        let (page, purchases) = (format!("/customers/{id}"), format!("/customers/{id}/purchases"));
        let orders = || app.admin("GET", &format!("/api/v1/customers/{id}/orders"), None).1;
        let count = |v: &Value| v.as_array().or(v["items"].as_array()).map(Vec::len).unwrap();

        // The currency changed at once: the customer's spend is in yen.
        let staff = app.session(Role::Staff);
        let (_, html) = app.page(&page, &staff);
        assert!(html.contains("¥1,000") && html.contains("Amount (¥)"), "{html}");
        let csrf = csrf_in(&html);
        let sale = |amount: &str| [("csrf", csrf.clone()), ("amount", amount.to_string())];
        let send = |fields: &[(&str, String)]| {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.form(&purchases, &staff, &fields)
        };

        // 1,200円 records ¥1,200 and earns its 12 points, said on the customer's page.
        let html = follow(&app, &staff, send(&sale("1,200円")));
        assert!(html.contains("¥1,200 earned 12 points."), "{html}");
        let (_, l) = app.admin("GET", &format!("/api/v1/customers/{id}/loyalty"), None);
        assert_eq!(l["balance"], 22, "10 for the first order, 12 for this one: {l}");
        let listed = orders();
        assert!(listed.to_string().contains("\"total\":\"1200"), "{listed}");
        // Full-width digits and the yen sign are read as well.
        let html = follow(&app, &staff, send(&sale("￥１，２００")));
        assert!(html.contains("¥1,200 earned 12 points."), "{html}");

        // A sale under the minimum is recorded and says why it earned nothing.
        let html = follow(&app, &staff, send(&sale("500")));
        assert!(html.contains("¥500, no points — under the ¥1,000 minimum."), "{html}");

        // Refused sales keep what was typed, on the customer's page.
        let before = count(&orders());
        for (typed, said) in [
            ("0", "A sale must be more than ¥0."),
            ("-300", "A sale must be more than ¥0."),
            ("1200.5", "&#39;1200.5&#39; has decimals, but amounts in JPY have none: write it like ¥1,200."),
            ("$12.50", "&#39;$12.50&#39; is in another currency ($): this shop records JPY."),
            ("12,50", "&#39;12,50&#39; is not an amount: write it like ¥1,200."),
        ] {
            let (s, _, html) = send(&sale(typed));
            assert_eq!(s, 422, "{typed}: {html}");
            assert!(html.contains(said), "{typed}: {html}");
            assert!(
                html.contains(&format!(
                    "name=\"amount\" inputmode=\"decimal\" required placeholder=\"1,200\" value=\"{typed}\""
                )),
                "{typed}: {html}"
            );
            assert!(html.contains("id=\"open-issues\""), "the customer's own page: {html}");
        }
        assert_eq!(count(&orders()), before, "nothing refused was recorded");

        // A sale far above the customer's usual asks first, carrying what was typed.
        let (s, _, html) = send(&sale("¥50,000"));
        assert!(s == 200 && html.contains("id=\"till-confirm\""), "{s} {html}");
        assert!(html.contains("¥50,000 is more than 10 times this customer's average sale (¥975)"), "{html}");
        assert!(
            html.contains("name=\"confirmed\" value=\"50000.00\"") && html.contains("Yes, record ¥50,000"),
            "{html}"
        );
        assert_eq!(count(&orders()), before, "not recorded before it is confirmed");
        // A confirmation of another amount confirms nothing.
        let mut other = sale("¥60,000").to_vec();
        other.push(("confirmed", "50000".into()));
        assert!(send(&other).2.contains("id=\"till-confirm\""));
        let mut confirmed = sale("¥50,000").to_vec();
        confirmed.push(("confirmed", "50000".into()));
        let html = follow(&app, &staff, send(&confirmed));
        assert!(html.contains("¥50,000 earned 500 points."), "{html}");
        assert_eq!(count(&orders()), before + 1);

        // The success message cannot be written through the address, nor shown twice.
        let (_, html) = app.page(&format!("{page}?recorded=Recorded%20order%20FORGED&earned=999999"), &staff);
        assert!(!html.contains("FORGED") && !html.contains("999999") && !html.contains("id=\"flash\""), "{html}");
        let (s, location, _) = send(&sale("1000"));
        assert_eq!(s, 303);
        let location = location.unwrap();
        assert!(app.page(&location, &staff).1.contains("id=\"flash\""));
        assert!(!app.page(&location, &staff).1.contains("id=\"flash\""), "said once");
        let (s, location, _) = send(&sale("1000"));
        assert_eq!(s, 303);
        assert!(!app.page(&location.unwrap(), &owner).1.contains("id=\"flash\""), "said only to who sent the form");

        // An adjustment far above what the customer's orders earn asks first as well.
        let marketer = app.session(Role::Marketer);
        let (_, html) = app.page(&page, &marketer);
        let mcsrf = csrf_in(&html);
        let adjust = [("csrf", mcsrf.as_str()), ("key", "big-1"), ("points", "5000"), ("reason", "typo?")];
        let (s, _, html) = app.form(&format!("/customers/{id}/adjustments"), &marketer, &adjust);
        assert!(
            s == 200 && html.contains("id=\"adjust-confirm\"") && html.contains("name=\"confirmed\" value=\"5000\""),
            "{html}"
        );
        let (_, l) = app.admin("GET", &format!("/api/v1/customers/{id}/loyalty"), None);
        let balance = l["balance"].as_i64().unwrap();
        let mut sure = adjust.to_vec();
        sure.push(("confirmed", "5000"));
        assert_eq!(app.form(&format!("/customers/{id}/adjustments"), &marketer, &sure).0, 303);
        let (_, l) = app.admin("GET", &format!("/api/v1/customers/{id}/loyalty"), None);
        assert_eq!(l["balance"].as_i64().unwrap(), balance + 5000);

        // A refused adjustment comes back on the customer's page, keeping what was typed.
        let bad = [("csrf", mcsrf.as_str()), ("key", "bad-1"), ("points", "lots"), ("reason", "kept <b>reason</b>")];
        let (s, _, html) = app.form(&format!("/customers/{id}/adjustments"), &marketer, &bad);
        assert_eq!(s, 422, "{html}");
        assert!(
            html.contains("id=\"adjust-error\"") && html.contains("id=\"timeline\""),
            "the customer's page: {html}"
        );
        assert!(html.contains("value=\"lots\"") && html.contains("value=\"kept &lt;b&gt;reason&lt;/b&gt;\""), "{html}");
        let blank = [("csrf", mcsrf.as_str()), ("key", "bad-2"), ("points", "5"), ("reason", " ")];
        let (s, _, html) = app.form(&format!("/customers/{id}/adjustments"), &marketer, &blank);
        assert!(s == 422 && html.contains("an adjustment needs a reason") && html.contains("value=\"5\""), "{html}");
        let (_, l) = app.admin("GET", &format!("/api/v1/customers/{id}/loyalty"), None);
        assert_eq!(l["balance"].as_i64().unwrap(), balance + 5000, "nothing adjusted");
    }
}
