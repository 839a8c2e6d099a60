//! The dashboard over real HTTP on SQLite and (when available) PostgreSQL: a chosen period
//! against the one before it, new and returning customers' revenue, an outlier order flagged,
//! excluded from the analytics (revenue and Gini as computed by hand) and included again,
//! dates that cannot be read, and staff kept away from the action.
//!
//! The shop, with the clock on 2026-12-05 and the period 2026-11-01 to 2026-11-30 (the one
//! before: 2026-10-02 to 2026-10-31):
//! - R-1 bought $100 on 10-10, then $50 on 11-05 and $30 on 11-20: returning in November;
//! - R-2 bought $40 on 09-01 and $20 on 11-10: returning;
//! - N-1 bought $60 on 11-12 and N-2 $25 and $15 on 11-15: new;
//! - W-1, a one-off wholesale order of $5,000 on 11-25: new, and far above the usual;
//! - F-1 … F-16 bought once each in June ($20 … $35), so that there are enough orders (25) to
//!   tell what is usual.

mod common;

use common::*;
use enishi_core::Role;
use serde_json::{json, Value};

fn buy(app: &App, order_id: &str, customer: &str, name: &str, day: &str, total: &str) {
    let body = json!({"order_id": order_id, "placed_at": format!("{day}T12:00:00Z"), "currency": "USD", "total": total,
        "channel": "in_store", "customer": {"external_id": customer, "name": name},
        "lines": [{"sku": "BEANS-1", "quantity": 1, "unit_price": total}]});
    let (s, v) = app.admin("POST", "/api/v1/orders", Some(body));
    assert_eq!(s, 201, "{v}");
}

fn shop() -> Vec<App> {
    let mut apps = Vec::new();
    for db in enishi_store::testing::all() {
        let app = start_at(db, enishi_core::ManualClock::at("2026-12-05T03:00:00Z".parse().unwrap()));
        buy(&app, "O-1", "R-1", "Rin Abe", "2026-10-10", "100.00");
        buy(&app, "O-2", "R-1", "Rin Abe", "2026-11-05", "50.00");
        buy(&app, "O-3", "R-1", "Rin Abe", "2026-11-20", "30.00");
        buy(&app, "O-4", "R-2", "Ren Ito", "2026-09-01", "40.00");
        buy(&app, "O-5", "R-2", "Ren Ito", "2026-11-10", "20.00");
        buy(&app, "O-6", "N-1", "Nao Ueda", "2026-11-12", "60.00");
        buy(&app, "O-7", "N-2", "Nana Eto", "2026-11-15", "25.00");
        buy(&app, "O-8", "N-2", "Nana Eto", "2026-11-15", "15.00");
        buy(&app, "W-1", "W-1", "Wholesale Oka", "2026-11-25", "5000.00");
        for i in 1..=16 {
            buy(
                &app,
                &format!("F-O{i}"),
                &format!("F-{i}"),
                &format!("Filler {i}"),
                "2026-06-15",
                &format!("{}.00", 19 + i),
            );
        }
        apps.push(app);
    }
    apps
}

/// The HTML of the element with id `id` (up to its closing tag `end`).
fn part<'a>(html: &'a str, id: &str, end: &str) -> &'a str {
    let start = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[start..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

fn csrf_in(html: &str) -> String {
    html.split("name=\"csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string()
}

const NOVEMBER: &str = "/?from=2026-11-01&to=2026-11-30";

#[test]
fn a_period_against_the_one_before_with_new_and_returning_revenue_and_an_outlier_excluded_and_included() {
    for app in shop() {
        let admin = app.session(Role::Admin);
        let (s, html) = app.page(NOVEMBER, &admin);
        assert_eq!(s, 200, "{html}");
        assert!(part(&html, "period-shown", "</p>")
            .contains("2026-11-01 to 2026-11-30 (30 days), compared with 2026-10-02 to 2026-10-31"));

        // Five customers bought $5,200 in 7 orders; the month before, R-1 alone, $100 (new then).
        let revenue = part(&html, "kpi-revenue", "</section>");
        assert!(revenue.contains("$5,200.00") && revenue.contains("7 orders"), "{revenue}");
        assert!(revenue.contains("Previous period: $100.00") && revenue.contains("▲ 5100.0%"), "{revenue}");
        // Returning: R-1 $80 + R-2 $20; new: N-1 $60 + N-2 $40 + W-1 $5,000.
        let returning = part(&html, "kpi-returning", "</section>");
        assert!(
            returning.contains("$100.00") && returning.contains("2 customers who had bought before · 1.9% of revenue"),
            "{returning}"
        );
        assert!(returning.contains("Previous period: $0.00") && returning.contains(">new<"), "{returning}");
        let new = part(&html, "kpi-new", "</section>");
        assert!(
            new.contains("$5,100.00") && new.contains("3 customers with their first order · 98.1% of revenue"),
            "{new}"
        );
        assert!(new.contains("Previous period: $100.00"), "{new}");
        // Gini of 20, 40, 60, 80, 5000: 2·25600/(5·5200) − 6/5 = 0.769…; the top customer of five is 5000/5200.
        let top = part(&html, "kpi-top", "</section>");
        assert!(top.contains("96.2%") && top.contains("Gini 0.77"), "{top}");

        // The outlier is flagged with why, and drawn clipped in the revenue chart, not flattening it.
        let unusual = part(&html, "unusual-orders", "</table>");
        assert!(unusual.contains("Wholesale Oka") && unusual.contains("$5,000.00"), "{unusual}");
        assert!(unusual.contains("× the median order") && unusual.contains("Exclude from analytics"), "{unusual}");
        assert!(!unusual.contains("O-1<") && !unusual.contains("Rin Abe"), "only the outlier: {unusual}");
        let chart = part(&html, "rev-svg", "</svg>");
        assert!(chart.contains("Revenue of each day of the period"), "30 days, by day: {chart}");
        assert_eq!(chart.matches("class=\"clipped\"").count(), 1, "{chart}");
        assert!(chart.contains("▲ $5,000.00"), "{chart}");

        // Excluded by the owner: gone from revenue, Gini and the chart; the order and its customer stay.
        let form_action = unusual.split("action=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();
        let csrf = csrf_in(&html);
        let fields = [("csrf", csrf.as_str()), ("exclude", "1"), ("from", "2026-11-01"), ("to", "2026-11-30")];
        let (s, location, body) = app.form(&form_action, &admin, &fields);
        assert_eq!(s, 303, "{body}");
        assert_eq!(location.as_deref(), Some("/?from=2026-11-01&to=2026-11-30&done=excluded#unusual"));
        let (_, html) = app.page("/?from=2026-11-01&to=2026-11-30&done=excluded", &admin);
        assert!(html.contains("Order excluded from the analytics."), "{html}");
        let revenue = part(&html, "kpi-revenue", "</section>");
        assert!(revenue.contains("$200.00") && revenue.contains("6 orders · median order $27.50"), "{revenue}");
        assert!(revenue.contains("▲ 100.0%"), "{revenue}");
        // Gini of 20, 40, 60, 80: 2·600/(4·200) − 5/4 = 0.25; the top 20% of four is 0.8 of the $80 customer.
        let top = part(&html, "kpi-top", "</section>");
        assert!(top.contains("32.0%") && top.contains("Gini 0.25"), "{top}");
        let new = part(&html, "kpi-new", "</section>");
        assert!(
            new.contains("$100.00") && new.contains("2 customers with their first order · 50.0% of revenue"),
            "{new}"
        );
        let unusual = part(&html, "unusual-orders", "</table>");
        assert!(unusual.contains("Excluded by ") && unusual.contains("Include again"), "{unusual}");
        assert!(!part(&html, "rev-svg", "</svg>").contains("clipped"), "nothing to clip any more");
        // Listed whatever the period, so that it can always be included again.
        let (_, october) = app.page("/?from=2026-10-01&to=2026-10-31", &admin);
        assert!(part(&october, "unusual-orders", "</table>").contains("Include again"), "{october}");
        let (_, order) = app.admin("GET", "/api/v1/orders/W-1", None);
        assert_eq!(order["total"], "5000.00", "the order itself is untouched: {order}");
        let (_, audit) = app.admin("GET", "/api/v1/audit", None);
        let entry = &audit["items"][0];
        assert_eq!(
            (entry["action"].as_str(), entry["subject"].as_str()),
            (Some("orders.analytics_exclusion"), Some("order:W-1")),
            "{audit}"
        );

        // The analytics API leaves it out too: all-time revenue $5,780 less $5,000.
        let (_, pareto) = app.admin("GET", "/api/v1/analytics/pareto?as_of=2026-11-30", None);
        assert_eq!(pareto["revenue"].as_f64(), Some(780.0), "{pareto}");
        // The analytics page still answers, its KPIs without the order.
        let (s, page) = app.page("/analytics", &admin);
        assert_eq!(s, 200, "{page}");
        let note = part(&page, "excluded-orders", "</p>");
        assert!(note.contains("Left out of these figures: 1 order excluded from the analytics ($5,000.00)"), "{note}");

        // Included again: back as it was.
        let fields = [("csrf", csrf.as_str()), ("exclude", "0"), ("from", "2026-11-01"), ("to", "2026-11-30")];
        let (s, location, _) = app.form(&form_action, &admin, &fields);
        assert_eq!((s, location.as_deref()), (303, Some("/?from=2026-11-01&to=2026-11-30&done=included#unusual")));
        let (_, html) = app.page(NOVEMBER, &admin);
        assert!(part(&html, "kpi-revenue", "</section>").contains("$5,200.00"));
        assert!(part(&html, "kpi-top", "</section>").contains("Gini 0.77"));
        let (_, pareto) = app.admin("GET", "/api/v1/analytics/pareto?as_of=2026-11-30", None);
        assert_eq!(pareto["revenue"].as_f64(), Some(5780.0), "{pareto}");
        assert!(!app.page("/analytics", &admin).1.contains("id=\"excluded-orders\""));

        // A form that says neither, or without the token: refused, nothing written.
        let (s, _, _) = app.form(&form_action, &admin, &[("csrf", csrf.as_str()), ("exclude", "maybe")]);
        assert_eq!(s, 400);
        let (s, _, _) = app.form(&form_action, &admin, &[("exclude", "1")]);
        assert_eq!(s, 403);
        let (s, _, _) = app.form("/orders/999999/analytics", &admin, &[("csrf", csrf.as_str()), ("exclude", "1")]);
        assert_eq!(s, 404);
        assert!(part(&app.page(NOVEMBER, &admin).1, "kpi-revenue", "</section>").contains("$5,200.00"));
    }
}

#[test]
fn staff_cannot_exclude_an_order_and_the_api_excludes_for_managers_only() {
    for app in shop() {
        let staff = app.session(Role::Staff);
        let (s, _) = app.page("/", &staff);
        assert_eq!(s, 303, "staff land on the till");
        let (_, till) = app.page("/till", &staff);
        let csrf = csrf_in(&till);
        let (_, order) = app.admin("GET", "/api/v1/orders/W-1", None);
        let id = order["id"].as_i64().unwrap_or_else(|| panic!("{order}"));
        let (s, _, html) =
            app.form(&format!("/orders/{id}/analytics"), &staff, &[("csrf", csrf.as_str()), ("exclude", "1")]);
        assert_eq!(s, 403, "{html}");

        let (s, v, _) = app.call("PUT", "/api/v1/orders/W-1/analytics-exclusion", Some(&app.staff), None);
        assert_eq!(s, 403, "{v}");
        let (_, pareto) = app.admin("GET", "/api/v1/analytics/pareto?as_of=2026-11-30", None);
        assert_eq!(pareto["revenue"].as_f64(), Some(5780.0), "nothing excluded by staff: {pareto}");

        let (s, v) = app.admin("PUT", "/api/v1/orders/W-1/analytics-exclusion", None);
        assert_eq!((s, &v), (200, &json!({"order_id": "W-1", "excluded_from_analytics": true, "changed": true})));
        let (s, v) = app.admin("PUT", "/api/v1/orders/W-1/analytics-exclusion", None);
        assert_eq!((s, v["changed"].clone()), (200, Value::Bool(false)), "idempotent");
        let (_, kpis) = app.admin("GET", "/api/v1/analytics/kpis?as_of=2026-11-30", None);
        assert_eq!(kpis["orders"].as_u64(), Some(24), "{kpis}");
        let (s, v) = app.admin("DELETE", "/api/v1/orders/W-1/analytics-exclusion", None);
        assert_eq!((s, v["excluded_from_analytics"].clone()), (200, Value::Bool(false)));
        let (_, kpis) = app.admin("GET", "/api/v1/analytics/kpis?as_of=2026-11-30", None);
        assert_eq!(kpis["orders"].as_u64(), Some(25), "{kpis}");
        let (s, _) = app.admin("PUT", "/api/v1/orders/NOPE/analytics-exclusion", None);
        assert_eq!(s, 404);
    }
}

#[test]
fn dates_that_cannot_be_read_keep_what_was_typed_and_the_default_is_the_last_twelve_months() {
    for app in shop() {
        let admin = app.session(Role::Admin);
        // The default: 2025-12-06 to 2026-12-05, the preset marked.
        let (s, html) = app.page("/", &admin);
        assert_eq!(s, 200, "{html}");
        let form = part(&html, "period", "</form>");
        assert!(form.contains("value=\"2025-12-06\"") && form.contains("value=\"2026-12-05\""), "{form}");
        assert!(
            form.contains("href=\"/?from=2025-12-06&amp;to=2026-12-05\" class=\"button\" aria-current=\"true\""),
            "{form}"
        );
        assert!(form.contains("href=\"/?from=2026-11-06&amp;to=2026-12-05\""), "last 30 days: {form}");
        assert!(form.contains("href=\"/?from=2026-01-01&amp;to=2026-12-05\""), "this year: {form}");
        assert!(part(&html, "rev-svg", "</svg>").contains("Revenue of each month of the period"));
        // Every customer of the year; the lapsed ones by name, with their id beside it.
        assert!(part(&html, "kpi-customers", "</section>").contains(">21<"), "{html}");
        let lapsed = part(&html, "lapsed", "</table>");
        assert!(lapsed.contains(">Filler ") && lapsed.contains(">F-"), "{lapsed}");

        for (query, why) in [
            ("?from=2026-13-01&to=2026-11-30", "From: “2026-13-01” is not a date."),
            ("?from=yesterday&to=2026-11-30", "From: “yesterday” is not a date."),
            ("?from=2026-11-01&to=30/11/2026", "To: “30/11/2026” is not a date."),
            ("?from=2026-11-30&to=2026-11-01", "The start date is after the end date."),
            ("?from=1990-01-01&to=2026-11-01", "Choose a period of at most ten years."),
        ] {
            let (s, html) = app.page(&format!("/{query}"), &admin);
            assert_eq!(s, 422, "{query}: {html}");
            let form = part(&html, "period", "</form>");
            assert!(form.contains(why) && form.contains("The last 12 months are shown meanwhile."), "{query}: {form}");
            let typed = query.split(['=', '&']).nth(1).unwrap();
            assert!(form.contains(&format!("value=\"{typed}\"")), "{query}: what was typed is kept: {form}");
            assert!(html.contains("id=\"kpi-revenue\""), "the default period is shown below: {html}");
        }
        // Full-width digits and slashes are read.
        let (s, html) = app.page("/?from=２０２６／１１／０１&to=2026-11-30", &admin);
        assert!(s == 200 && part(&html, "kpi-revenue", "</section>").contains("$5,200.00"), "{html}");
    }
}

#[test]
fn a_voided_outlier_leaves_the_figures_and_a_refund_counts_what_is_left() {
    for app in shop() {
        let admin = app.session(Role::Admin);
        // The wholesale order voided (a full return through the API), $10 of O-2 refunded.
        let (s, v) =
            app.admin("POST", "/api/v1/orders/W-1/returns", Some(json!({"return_id": "V-W1", "reason": "test"})));
        assert_eq!(s, 201, "{v}");
        let refund = json!({"return_id": "V-O2", "amount": "10.00", "reason": "late"});
        assert_eq!(app.admin("POST", "/api/v1/orders/O-2/returns", Some(refund)).0, 201);

        let (_, html) = app.page(NOVEMBER, &admin);
        // $5,200 less the $5,000 voided and the $10 refunded; the voided order is a purchase of nothing.
        let revenue = part(&html, "kpi-revenue", "</section>");
        assert!(revenue.contains("$190.00") && revenue.contains("7 orders"), "{revenue}");
        assert!(!html.contains("id=\"unusual-orders\""), "a voided order is not flagged: {html}");
        let (_, pareto) = app.admin("GET", "/api/v1/analytics/pareto?as_of=2026-11-30", None);
        assert_eq!(pareto["revenue"].as_f64(), Some(770.0), "$5,780 less $5,010: {pareto}");
    }
}
