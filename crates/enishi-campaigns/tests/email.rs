//! Email campaigns against a real SMTP server process on loopback (Python's aiosmtpd, started
//! by the test; `.ci/run` installs it), on SQLite and PostgreSQL: who gets what, who is
//! skipped and why, retries after 421, suppression after 550, and conversions in the window.

use base64::Engine;
use chrono::{TimeZone, Utc};
use enishi_campaigns::campaigns as ops;
use enishi_campaigns::email::SmtpConfig;
use enishi_campaigns::results::results;
use enishi_campaigns::sender::{SendOptions, Sender};
use enishi_campaigns::template::Parts;
use enishi_campaigns::unsubscribe;
use enishi_core::{BusinessClock, Currency, ManualClock};
use enishi_store::repo::campaigns as repo;
use enishi_store::{params, testing, Store};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;

/// The test SMTP server; stopped when dropped.
pub struct SmtpServer {
    child: Child,
    /// Where it writes what it accepted.
    pub out: PathBuf,
    /// Its port.
    pub port: u16,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    fn start(dir: &Path, extra: &[&str]) -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let out = dir.join(format!("smtp-{port}.jsonl"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../enishi/tests/support/smtp_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--port", &port.to_string(), "--out", &out.display().to_string()])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP server did not start (is aiosmtpd installed?)");
        SmtpServer { child, out, port }
    }

    fn received(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn yen() -> Currency {
    Currency::from_str("JPY").unwrap()
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 4, 10, 0, 0).unwrap()
}

/// Customers 1–60 with the tag `news`; c2 opted out of email, c3 never asked, c4 without an
/// email address, c5's address suppressed, c6 and c7 with two marketing messages this week.
fn shop(store: &Store) {
    store
        .write(|c| {
            let now = t0().timestamp();
            for i in 1..=60_i64 {
                let email = if i == 4 { None } else { Some(format!("c{i}@example.com")) };
                let name = if i % 2 == 0 { format!("佐藤 花子{i}") } else { format!("Hana {i}") };
                c.execute(
                    "INSERT INTO customers (id, external_id, name, email, locale, first_seen_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, 'ja', $5, $5, $5)",
                    params![i, format!("C{i}"), name, email, now - 86_400 * 30],
                )?;
                c.execute("INSERT INTO customer_tags (customer_id, tag, position) VALUES ($1, 'news', 0)", params![i])?;
                let status = match i {
                    2 => Some("opted_out"),
                    3 => None,
                    _ => Some("opted_in"),
                };
                if let Some(s) = status {
                    c.execute(
                        "INSERT INTO customer_consents (customer_id, channel, status, changed_at, source) VALUES ($1, 'email', $2, $3, 'test')",
                        params![i, s, now - 86_400],
                    )?;
                }
            }
            for i in [6_i64, 7] {
                for d in [1_i64, 3] {
                    c.execute(
                        "INSERT INTO communications (customer_id, channel, subject, sent_at, status, created_at, purpose) \
                         VALUES ($1, 'email', 'earlier', $2, 'sent', $2, 'marketing')",
                        params![i, now - d * 86_400],
                    )?;
                }
            }
            repo::suppress(c, "email", "c5@example.com", "complaint", "test")?;
            Ok::<_, enishi_store::StoreError>(())
        })
        .unwrap();
    let calendar = BusinessClock::default();
    store
        .write(|c| {
            let rule = enishi_segments::text::parse("tag = \"news\"").unwrap();
            enishi_segments::saved::create(c, "news", "", &rule, &calendar)?;
            ops::save_template(
                c,
                "offer-ja",
                "ja",
                &Parts {
                    subject: "{{ customer.honorific }}、{{ points.balance }}ポイントのお知らせ".into(),
                    html: "<p>{{ customer.honorific }}</p><a href=\"{{ unsubscribe_url }}\">配信停止</a>".into(),
                    text: "{{ customer.honorific }}\n{{ 1200 | money }}\n{{ unsubscribe_url }}".into(),
                },
                yen(),
            )?;
            ops::save_template(
                c,
                "offer-en",
                "en",
                &Parts {
                    subject: "Hello {{ customer.name }}".into(),
                    html: "<p>Dear {{ customer.honorific }}, from {{ sender.name }}</p>".into(),
                    text: "Dear {{ customer.honorific }}, from {{ sender.name }}.\n.a line that starts with a dot\n{{ unsubscribe_url }}".into(),
                },
                yen(),
            )?;
            Ok::<_, enishi_campaigns::Error>(())
        })
        .unwrap();
}

const CAMPAIGN: &str = r#"{"name": "winter DM v1", "mailing": "winter DM", "version": "v1", "channel": "email",
  "audience": {"segment": "news"}, "holdout_percent": 10, "attribution_days": 7, "cost_per_message": "100",
  "sender": {"name": "Aya", "email": "aya@corner.example"},
  "variants": [{"key": "A", "template": "offer-ja", "share": 50}, {"key": "B", "template": "offer-en", "share": 50}]}"#;

fn decoded_subject(data: &str) -> String {
    // The header with its folded continuation lines, each RFC 2047 word decoded and joined.
    let mut lines = data.lines().skip_while(|l| !l.starts_with("Subject: "));
    let mut words: Vec<String> = vec![lines.next().unwrap().trim_start_matches("Subject: ").to_string()];
    words.extend(lines.take_while(|l| l.starts_with(' ')).map(|l| l.trim().to_string()));
    let mut text = String::new();
    let mut previous_encoded = false;
    for token in words.iter().flat_map(|w| w.split(' ')) {
        let (piece, encoded) = match token.strip_prefix("=?utf-8?b?").and_then(|s| s.strip_suffix("?=")) {
            Some(b) => (String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap()).unwrap(), true),
            None => (token.to_string(), false),
        };
        if !(text.is_empty() || encoded && previous_encoded) {
            text.push(' ');
        }
        text.push_str(&piece);
        previous_encoded = encoded;
    }
    text
}

fn header<'a>(data: &'a str, name: &str) -> Option<&'a str> {
    data.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
}

#[test]
fn a_campaign_reaches_exactly_the_customers_it_may_with_retries_and_suppression() {
    for db in testing::all() {
        let clock = ManualClock::at(t0());
        let store = Store::open(&db.url).unwrap().with_clock(Arc::new(clock.clone()));
        let dir = tempfile::tempdir().unwrap();
        shop(&store);
        store.write(|c| enishi_store::repo::settings::set(c, "campaign_quiet_hours", "none")).unwrap();
        let calendar = BusinessClock::default();
        let k = store.write(|c| ops::create(c, CAMPAIGN, yen())).unwrap();
        let m = store.write(|c| ops::start(c, &k, &calendar)).unwrap();
        assert_eq!(m.audience, 60);
        assert_eq!(
            m.skipped,
            vec![("no_consent", 2), ("no_address", 1), ("suppressed", 1), ("frequency_cap", 2)],
            "{:?}",
            db.url
        );
        let skipped = store.read(|c| repo::skipped(c, k.id)).unwrap();
        let reasons: Vec<(String, String)> = skipped.into_iter().map(|(_, e, r)| (e, r)).collect();
        for (who, why) in [
            ("C2", "no_consent"),
            ("C3", "no_consent"),
            ("C4", "no_address"),
            ("C5", "suppressed"),
            ("C6", "frequency_cap"),
            ("C7", "frequency_cap"),
        ] {
            assert!(reasons.contains(&(who.to_string(), why.to_string())), "{who} {why}: {reasons:?}");
        }
        // Starting twice is refused; nothing is queued twice.
        let k = store.read(|c| ops::find(c, "winter DM v1")).unwrap();
        assert!(store.write(|c| ops::start(c, &k, &calendar)).is_err());

        let server = SmtpServer::start(dir.path(), &["--refuse", "3", "--reject", "c8@example.com"]);
        let mut options = SendOptions::new("shop@corner.example");
        options.retry_seconds = 30;
        options.batch = 20;
        let smtp = SmtpConfig::parse(&format!("smtp://127.0.0.1:{}", server.port)).unwrap();
        let mut sender = Sender::new(&store, smtp, options, calendar, yen());
        for _ in 0..20 {
            sender.round().unwrap();
            if store.read(|c| repo::pending(c, None)).unwrap() == 0 {
                break;
            }
            clock.advance(chrono::Duration::minutes(5));
        }
        assert_eq!(store.read(|c| repo::pending(c, None)).unwrap(), 0);
        let arms: Vec<(i64, String, String)> = store
            .read(|c| {
                c.query("SELECT customer_id, arm, status FROM campaign_recipients WHERE campaign_id = $1 ORDER BY customer_id", params![k.id])
            })
            .unwrap()
            .iter()
            .map(|r| (r.int(0).unwrap(), r.text(1).unwrap(), r.text(2).unwrap()))
            .collect();
        let received = server.received();
        let mut to: Vec<String> = received.iter().map(|m| m["to"][0].as_str().unwrap().to_string()).collect();
        to.sort();
        let mut expected: Vec<String> = arms
            .iter()
            .filter(|(id, arm, _)| arm != "holdout" && arm != "-" && *id != 8)
            .map(|(id, _, _)| format!("c{id}@example.com"))
            .collect();
        expected.sort();
        assert_eq!(to, expected, "each eligible customer exactly once, nobody else");
        let holdout = arms.iter().filter(|(_, a, _)| a == "holdout").count();
        assert!((1..=15).contains(&holdout), "{holdout}");
        assert!(arms.iter().any(|(_, a, _)| a == "A") && arms.iter().any(|(_, a, _)| a == "B"));
        // The 550 recipient failed and is suppressed for the next campaign.
        assert!(
            arms.contains(&(8, arms.iter().find(|x| x.0 == 8).unwrap().1.clone(), "failed".into()))
                || arms.iter().any(|x| x.0 == 8 && x.1 == "holdout")
        );
        if arms.iter().any(|x| x.0 == 8 && x.1 != "holdout") {
            assert!(store.read(|c| repo::is_suppressed(c, "email", "c8@example.com")).unwrap());
        }
        // Merge fields, headers and the unsubscribe link.
        let key = store.write(unsubscribe::signing_key).unwrap();
        for msg in &received {
            let data = msg["data"].as_str().unwrap();
            let rcpt = msg["to"][0].as_str().unwrap();
            let id: i64 = rcpt.trim_start_matches('c').trim_end_matches("@example.com").parse().unwrap();
            let arm = &arms.iter().find(|x| x.0 == id).unwrap().1;
            assert_eq!(header(data, "List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
            let link = header(data, "List-Unsubscribe").unwrap().trim_matches(|c| c == '<' || c == '>');
            let token = link.rsplit('/').next().unwrap();
            assert_eq!(unsubscribe::verify(&key, token), Some((id, k.id)), "{link}");
            assert!(header(data, "From").unwrap().contains("aya@corner.example"));
            let subject = decoded_subject(data);
            if arm == "A" {
                let name = if id % 2 == 0 { format!("佐藤 花子{id}") } else { format!("Hana {id}") };
                assert_eq!(subject, format!("{name} 様、0ポイントのお知らせ"), "{data}");
            } else {
                assert!(subject.starts_with("Hello "), "{subject}");
                assert!(data.contains("from Aya"), "{data}");
                assert!(data.contains("\n.a line that starts with a dot"), "dot-stuffing undone by the server: {data}");
            }
        }
        // The communication history has each message once.
        let history: i64 = store
            .read(|c| c.query_one("SELECT COUNT(*) FROM communications WHERE campaign_id = $1", params![k.id]))
            .unwrap()
            .int(0)
            .unwrap();
        assert_eq!(history as usize, received.len());
        let k = store.read(|c| ops::find(c, "winter DM v1")).unwrap();
        assert_eq!(k.state, repo::CampaignState::Done);

        // Conversions: orders inside the 7-day window count, those before the message or at
        // its end do not; the holdout is counted from the send's start.
        let sent_at: Vec<(i64, String, i64)> = store
            .read(|c| {
                c.query(
                    "SELECT customer_id, arm, COALESCE(sent_at, 0) FROM campaign_recipients WHERE campaign_id = $1 AND status IN ('sent', 'holdout') ORDER BY customer_id",
                    params![k.id],
                )
            })
            .unwrap()
            .iter()
            .map(|r| (r.int(0).unwrap(), r.text(1).unwrap(), r.int(2).unwrap()))
            .collect();
        let start = k.started_at.unwrap();
        let mut expect_a = 0;
        let mut order_no = 0;
        store
            .write(|c| {
                for (i, (id, arm, at)) in sent_at.iter().enumerate() {
                    let base = if arm == "holdout" { start } else { *at };
                    let offsets: &[i64] = match i % 3 {
                        0 => &[3600, 7200],        // inside, twice: one conversion
                        1 => &[7 * 86_400],        // at the end: outside
                        _ => &[-60],               // before: outside
                    };
                    if i % 3 == 0 && arm == "A" {
                        expect_a += 1;
                    }
                    for off in offsets {
                        order_no += 1;
                        c.execute(
                            "INSERT INTO orders (order_ref, customer_id, placed_at, placed_day, channel, currency, total, status, created_at) \
                             VALUES ($1, $2, $3, 0, 'online', 'JPY', 12000000, 'completed', $3)",
                            params![format!("O{order_no}"), *id, base + off],
                        )?;
                    }
                }
                Ok::<_, enishi_store::StoreError>(())
            })
            .unwrap();
        let r = store.read(|c| results(c, &k)).unwrap();
        let a = r.arms.iter().find(|x| x.arm == "A").unwrap();
        assert_eq!(a.conversions, expect_a, "{r:?}");
        assert_eq!(a.revenue.parse::<f64>().unwrap(), 2400.0 * expect_a as f64, "two orders of ¥1,200 each");
        assert_eq!(a.cost.parse::<f64>().unwrap(), 100.0 * a.members as f64);
        let h = r.arms.iter().find(|x| x.arm == "holdout").unwrap();
        assert_eq!(h.members as usize, holdout);
        assert!(a.uplift.is_some());
        assert!(r
            .statuses
            .iter()
            .any(|s| s.status == "skipped" && s.reason.as_deref() == Some("frequency_cap") && s.count == 2));
    }
}
