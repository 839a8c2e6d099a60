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
