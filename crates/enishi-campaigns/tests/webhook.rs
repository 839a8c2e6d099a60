//! The webhook channel against a real HTTP server process on loopback (a Python receiver in
//! tests/support that checks each signature as docs/campaigns.md tells receivers to), on
//! SQLite and PostgreSQL: signatures, retries after a refused connection and a 503, a 400 that
//! fails for good, consent and contact fields, a coupon issued once per message, and a
//! journey's webhook step posted once per occurrence.

#[path = "support/shop.rs"]
mod shop;

use enishi_campaigns::campaigns as ops;
use enishi_campaigns::journeys::{self, pass};
use enishi_campaigns::sender::SendOptions;
use enishi_campaigns::template::Parts;
use enishi_campaigns::webhook::{self, WebhookSender};
use enishi_core::{BusinessClock, Clock, ManualClock};
use enishi_store::repo::campaigns as repo;
use enishi_store::{params, testing, Store};
use shop::{customer, free_port, news_segment, t0, yen};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

const SECRET: &str = "test-secret-0123456789";

/// The test webhook receiver; stopped when dropped.
struct Receiver {
    child: Child,
    out: PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    fn start(dir: &Path, port: u16, extra: &[&str]) -> Receiver {
        let out = dir.join(format!("webhook-{port}.jsonl"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/webhook_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--port", &port.to_string(), "--out", &out.display().to_string(), "--secret", SECRET])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the webhook receiver did not start");
        Receiver { child, out }
    }

    fn received(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

const PROGRAMME: &str = r#"{"name": "cafe", "effective_from": "2026-01-01",
    "earning": {"points_per_unit": 1},
    "rewards": [{"id": "free", "name": "Free coffee", "cost": 0, "kind": "discount", "value": "3"}]}"#;

#[test]
fn webhook_messages_are_signed_retried_and_accepted_once_each() {
    for db in testing::all() {
        let clock = ManualClock::at(t0());
        let store = Store::open(&db.url).unwrap().with_clock(Arc::new(clock.clone()));
        let dir = tempfile::tempdir().unwrap();
        store
            .write(|c| {
                for id in 1..=8 {
                    let consents: Vec<(&str, &str)> = match id {
                        2 => vec![("sms", "opted_out")],
                        3 => vec![],
                        5 => vec![("sms", "opted_in"), ("email", "opted_in")],
                        _ => vec![("sms", "opted_in")],
                    };
                    customer(c, id, true, &consents);
                }
                enishi_rewards::apply_program(c, PROGRAMME, BusinessClock::default(), "test").unwrap();
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();
        news_segment(&store);
        let parts = Parts {
            subject: "{{ customer.honorific }}へ".into(),
            html: "".into(),
            text: "{{ customer.honorific }}、クーポン {{ coupon.code }}（{{ coupon.expires_on }}まで）".into(),
        };
        store.write(|c| ops::save_template(c, "line-ja", "ja", &parts, yen())).unwrap();
        let port = free_port();
        let doc = |name: &str, coupon: bool| {
            let mut d = serde_json::json!({"name": name, "channel": "webhook", "audience": {"segment": "news"},
                "template": "line-ja", "webhook_url": format!("http://127.0.0.1:{port}/hook"),
                "webhook_secret": SECRET});
            if coupon {
                d["coupon"] = serde_json::json!({"reward": "free", "valid_days": 14});
            }
            d.to_string()
        };
        // A template showing a coupon needs a campaign that issues one, of a reward that exists.
        let e = store.write(|c| ops::create(c, &doc("no coupon", false), yen())).unwrap_err().to_string();
        assert!(e.contains("issues none"), "{e}");
        let bad = doc("bad reward", true).replace("\"free\"", "\"cake\"");
        let e = store.write(|c| ops::create(c, &bad, yen())).unwrap_err().to_string();
        assert!(e.contains("coupon.reward"), "{e}");
        let k = store.write(|c| ops::create(c, &doc("line v1", true), yen())).unwrap();
        let calendar = BusinessClock::default();
        let m = store.write(|c| ops::start(c, &k, &calendar)).unwrap();
        assert_eq!(m.skipped[0], ("no_consent", 2), "{:?}", m.skipped);

        let mut options = SendOptions::new("");
        options.retry_seconds = 30;
        let mut sender = WebhookSender::new(&store, options, calendar, yen());
        // Nobody listens yet: every message waits for a retry.
        let r = sender.round().unwrap();
        assert_eq!((r.claimed, r.retried, r.sent), (6, 6, 0), "{r:?}");
        // The receiver answers 503 to each message's first request, then 200; C6 gets 400.
        let receiver = Receiver::start(dir.path(), port, &["--busy", "1", "--reject", "C6"]);
        assert_eq!(sender.round().unwrap().claimed, 0, "not before the retry is due");
        clock.advance(chrono::Duration::seconds(31));
        let r = sender.round().unwrap();
        assert_eq!((r.claimed, r.retried), (6, 6), "{r:?}");
        clock.advance(chrono::Duration::seconds(61));
        let r = sender.round().unwrap();
        assert_eq!((r.sent, r.failed), (5, 1), "{r:?}");
        assert_eq!(store.read(|c| repo::pending(c, None)).unwrap(), 0);
        let k = store.read(|c| ops::find(c, "line v1")).unwrap();
        assert_eq!(k.state, repo::CampaignState::Done);

        let got = receiver.received();
        assert!(got.iter().all(|g| g["valid"] == true), "every signature checks out");
        let accepted: Vec<&serde_json::Value> = got.iter().filter(|g| g["status"] == 200).collect();
        let mut to: Vec<&str> =
            accepted.iter().map(|g| g["body"]["customer"]["external_id"].as_str().unwrap()).collect();
        to.sort();
        assert_eq!(to, ["C1", "C4", "C5", "C7", "C8"], "each accepted exactly once");
        for g in &accepted {
            let key = g["key"].as_str().unwrap();
            assert_eq!(g["body"]["idempotency_key"], key);
            // The same key on every try; the 503 try before it carried the same coupon.
            let tries: Vec<&serde_json::Value> = got.iter().filter(|x| x["key"] == key).collect();
            assert_eq!(tries.iter().map(|x| x["status"].as_i64().unwrap()).collect::<Vec<_>>(), [503, 200]);
            assert_eq!(tries[0]["body"]["message"], tries[1]["body"]["message"]);
            assert_eq!(g["timestamp"], (t0().timestamp() + 92).to_string());
            let body = &g["body"];
            assert_eq!(body["campaign"]["name"], "line v1");
            assert_eq!((body["variant"].as_str(), body["consent"].as_str()), (Some("A"), Some("sms")));
            let id = body["customer"]["id"].as_i64().unwrap();
            assert_eq!(body["customer"]["phone"], format!("+8190{id:08}"));
            // Email only for the customer who opted in to it.
            assert_eq!(body["customer"]["email"].is_string(), id == 5, "{body}");
            let coupons = store
                .read(|c| {
                    c.query(
                        "SELECT code FROM loyalty_coupons WHERE customer_id = $1 AND source = 'campaign'",
                        params![id],
                    )
                })
                .unwrap();
            assert_eq!(coupons.len(), 1, "one coupon per message, retries included");
            let code = coupons[0].text(0).unwrap();
            let text = body["message"]["text"].as_str().unwrap();
            assert_eq!(text, format!("佐藤 花子{id} 様、クーポン {code}（2026年12月18日まで）"));
            assert_eq!(body["message"]["subject"], format!("佐藤 花子{id} 様へ"));
        }
        let rejected: Vec<&serde_json::Value> = got.iter().filter(|g| g["status"] == 400).collect();
        assert_eq!(rejected.len(), 1);
        let failed = store
            .read(|c| c.query("SELECT status, reason FROM campaign_recipients WHERE customer_id = 6", &[]))
            .unwrap();
        assert_eq!(failed[0].text(0).unwrap(), "failed");
        assert!(failed[0].text(1).unwrap().contains("400"), "{:?}", failed[0].text(1));
        let history =
            store.read(|c| c.query("SELECT COUNT(*) FROM communications WHERE channel = 'webhook'", &[])).unwrap();
        assert_eq!(history[0].int(0).unwrap(), 5);
    }
}

#[test]
fn a_webhook_campaign_names_its_consent_and_its_secret_is_checked() {
    for (extra, says) in
        [(r#""webhook_consent": "line""#, "webhook_consent"), (r#""webhook_secret": "short""#, "webhook_secret")]
    {
        let json = format!(
            r#"{{"name": "n", "channel": "webhook", "audience": {{"segment": "s"}}, "template": "t",
                "webhook_url": "https://hooks.example/x", {extra}}}"#
        );
        let e = enishi_campaigns::Definition::parse(&json).unwrap_err().to_string();
        assert!(e.contains(says), "{extra}: {e}");
    }
    let d = enishi_campaigns::Definition::parse(
        r#"{"name": "n", "channel": "webhook", "audience": {"segment": "s"}, "template": "t",
            "webhook_url": "https://hooks.example/x", "webhook_consent": "phone"}"#,
    )
    .unwrap();
    assert_eq!(d.consent(), "phone");
    // Without a secret in the document or the settings, sending cannot sign.
    let db = testing::sqlite();
    let e = db.store.read(|c| webhook::secret_of(c, &d)).unwrap_err().to_string();
    assert!(e.contains("--webhook-secret"), "{e}");
}

/// Stores an order (no lines) of customer `customer` placed at `at`.
fn order(c: &mut dyn enishi_store::Conn, id: i64, customer: i64, at: i64) {
    c.execute(
        "INSERT INTO orders (id, order_ref, customer_id, placed_at, placed_day, channel, currency, total, status, created_at) \
         VALUES ($1, $2, $3, $4, 0, 'online', 'JPY', 12000000, 'completed', $4)",
        params![id, format!("O{id}"), customer, at],
    )
    .unwrap();
}

#[test]
fn a_journey_step_posts_a_signed_webhook_once_per_occurrence() {
    for db in testing::all() {
        let clock = ManualClock::at(t0());
        let store = Store::open(&db.url).unwrap().with_clock(Arc::new(clock.clone()));
        let dir = tempfile::tempdir().unwrap();
        let calendar = BusinessClock::default();
        store
            .write(|c| {
                customer(c, 1, true, &[("sms", "opted_in")]);
                customer(c, 2, true, &[]);
                enishi_store::repo::settings::set(c, "campaign_quiet_hours", "none")?;
                let parts = Parts {
                    subject: "{{ customer.honorific }}へ".into(),
                    html: "".into(),
                    text: "{{ customer.honorific }}、ご来店ありがとうございました".into(),
                };
                ops::save_template(c, "thanks-line", "ja", &parts, yen())?;
                Ok::<_, enishi_campaigns::Error>(())
            })
            .unwrap();
        let port = free_port();
        let doc = |secret: &str| {
            serde_json::json!({"name": "thanks", "trigger": {"kind": "days_after_order", "days": 1},
                "exit": {"on_order": false},
                "steps": [{"key": "line", "channel": "webhook", "template": "thanks-line",
                           "webhook_url": format!("http://127.0.0.1:{port}/hook"), "webhook_secret": secret}]})
            .to_string()
        };
        let e = store.write(|c| journeys::create(c, &doc("short"), yen(), &calendar)).unwrap_err();
        assert!(e.to_string().starts_with("steps[0]: webhook_secret"), "{e}");
        journeys_create(&store, &doc(SECRET));
        clock.advance(chrono::Duration::hours(1));
        let at = clock.now().timestamp();
        store
            .write(|c| {
                order(c, 1, 1, at);
                order(c, 2, 1, at + 60);
                order(c, 3, 2, at);
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();
        let receiver = Receiver::start(dir.path(), port, &[]);
        let mut sender = WebhookSender::new(&store, SendOptions::new(""), calendar, yen());
        clock.advance(chrono::Duration::days(1) + chrono::Duration::minutes(2));
        let p = pass::run(&store, &calendar).unwrap();
        // C2 has no consent on sms; C1's second order waits for the first message to leave.
        assert_eq!((p.entered, p.queued, p.skipped, p.postponed), (3, 1, 1, 1), "{p:?} {}", db.url);
        assert_eq!(sender.round().unwrap().sent, 1);
        clock.advance(chrono::Duration::minutes(11));
        assert_eq!(pass::run(&store, &calendar).unwrap().queued, 1);
        assert_eq!(sender.round().unwrap().sent, 1);
        assert_eq!(pass::run(&store, &calendar).unwrap(), pass::Pass::default());
        assert_eq!(sender.round().unwrap().claimed, 0);

        let got = receiver.received();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got.iter().all(|g| g["valid"] == true && g["status"] == 200));
        let steps: Vec<&str> = got.iter().map(|g| g["body"]["step"].as_str().unwrap()).collect();
        assert_eq!(steps, ["line (order:1)", "line (order:2)"]);
        assert_ne!(got[0]["key"], got[1]["key"], "a key per occurrence");
        for g in &got {
            assert_eq!(g["body"]["campaign"]["name"], "thanks / line");
            assert_eq!(g["body"]["customer"]["external_id"], "C1");
            assert_eq!(g["body"]["message"]["text"], "佐藤 花子1 様、ご来店ありがとうございました");
        }
        let reasons =
            store.read(|c| c.query("SELECT reason FROM campaign_recipients WHERE customer_id = 2", &[])).unwrap();
        assert_eq!(reasons[0].opt_text(0).unwrap().as_deref(), Some("no_consent"));
        let history = store
            .read(|c| c.query("SELECT step FROM communications WHERE channel = 'webhook' ORDER BY step", &[]))
            .unwrap();
        let history: Vec<String> = history.iter().map(|r| r.text(0).unwrap()).collect();
        assert_eq!(history, ["line (order:1)", "line (order:2)"]);
    }
}

fn journeys_create(store: &Store, json: &str) {
    store.write(|c| journeys::create(c, json, yen(), &BusinessClock::default())).unwrap();
}

#[test]
fn webhook_messages_keep_the_channel_rate() {
    for db in testing::all() {
        let clock = ManualClock::at(t0());
        let store = Store::open(&db.url).unwrap().with_clock(Arc::new(clock.clone()));
        let dir = tempfile::tempdir().unwrap();
        let (n, rate) = (6_u32, 5.0);
        store
            .write(|c| {
                for id in 1..=i64::from(n) {
                    customer(c, id, true, &[("sms", "opted_in")]);
                }
                enishi_store::repo::settings::set(c, enishi_campaigns::pace::WEBHOOK_RATE, "5")?;
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();
        news_segment(&store);
        let parts = Parts { subject: "hi".into(), html: "".into(), text: "{{ customer.honorific }}".into() };
        store.write(|c| ops::save_template(c, "line-ja", "ja", &parts, yen())).unwrap();
        let port = free_port();
        let receiver = Receiver::start(dir.path(), port, &[]);
        let doc = serde_json::json!({"name": "paced", "channel": "webhook", "audience": {"segment": "news"},
            "template": "line-ja", "webhook_url": format!("http://127.0.0.1:{port}/hook"), "webhook_secret": SECRET});
        let k = store.write(|c| ops::create(c, &doc.to_string(), yen())).unwrap();
        store.write(|c| ops::start(c, &k, &BusinessClock::default())).unwrap();
        let mut sender = WebhookSender::new(&store, SendOptions::new(""), BusinessClock::default(), yen());
        let started = std::time::Instant::now();
        let r = sender.run_until_done(std::time::Duration::from_secs(2), &mut |_| {}).unwrap();
        let took = started.elapsed().as_secs_f64();
        assert_eq!(r.sent, n as usize, "{r:?}");
        assert_eq!(receiver.received().len(), n as usize);
        let least = f64::from(n - 1) / rate;
        assert!(took >= least * 0.95, "{n} messages at {rate}/s took {took:.2} s, less than {least:.2} s");
        assert!(took < least + 4.0, "{took:.2} s");
    }
}
