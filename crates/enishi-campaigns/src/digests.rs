//! The assignees' daily task digests by email (docs/listening.md, "Reminders"): the
//! scheduler's daily work queues one `tasks.digest` job per assignee with tasks due that day;
//! this sends each through the campaign SMTP server, in the assignee's console language, and
//! marks the job done. A job is claimed under a lease, so several servers on one PostgreSQL
//! never send the same digest twice while it is in hand; a failed send is tried again later
//! (the job queue's backoff), and a digest the server refuses for good ends dead, with why.

use crate::email::{Session, SmtpConfig};
use crate::Error;
use enishi_core::{BusinessClock, Language};
use enishi_store::repo::{jobs, tasks, users};
use enishi_store::Store;
use lettre::message::{Mailbox, MultiPart};
use serde::Deserialize;

/// How many digests one round claims.
const BATCH: i64 = 20;
/// How long a claimed digest is held (seconds).
const LEASE: i64 = 120;

/// A digest job's payload ([`tasks::Digest`]), as read back.
#[derive(Debug, Deserialize)]
struct Payload {
    user_id: i64,
    email: String,
    name: String,
    day: String,
    tasks: Vec<Item>,
}

/// One task of a digest.
#[derive(Debug, Deserialize)]
struct Item {
    id: i64,
    customer_id: i64,
    customer: Option<String>,
    kind: String,
    title: String,
    /// The rule that made the task (absent from digests queued before rules were named).
    #[serde(default)]
    rule: Option<String>,
    due_at: String,
    overdue: bool,
}

/// Where a digest's times and link point: the business time zone and the public address.
struct Place<'a> {
    calendar: &'a BusinessClock,
    public_url: &'a str,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Digests claimed.
    pub claimed: usize,
    /// Digests sent.
    pub sent: usize,
    /// Digests that failed this time (tried again later, or dead after their last attempt).
    pub failed: usize,
}

/// Sends the digests that are due, from `from` through `smtp`, as `worker`, with due times in
/// the business time zone of `calendar` and a link to the console's tasks page under the
/// public address (`enishi settings --public-url`).
pub fn deliver(
    store: &Store,
    smtp: &SmtpConfig,
    from: &str,
    worker: &str,
    calendar: &BusinessClock,
) -> Result<Delivered, Error> {
    if from.trim().is_empty() {
        // Without a From address (`enishi settings --smtp-from`) digests wait in the queue.
        return Ok(Delivered::default());
    }
    let from: Mailbox = from
        .trim()
        .parse()
        .map_err(|e| Error::Invalid(format!("the From address \"{from}\" for task digests: {e}")))?;
    let now = store.now().timestamp();
    let public_url = store.read(crate::unsubscribe::public_url)?;
    let claimed = store.write(|c| jobs::claim(c, &[tasks::DIGEST_JOB], worker, now, now + LEASE, BATCH))?;
    let mut out = Delivered { claimed: claimed.len(), ..Delivered::default() };
    if claimed.is_empty() {
        return Ok(out);
    }
    let mut session = None;
    for job in claimed {
        let at = Place { calendar, public_url: &public_url };
        let result = send_one(store, smtp, &mut session, &from, &job.payload, &at);
        let now = store.now().timestamp();
        match result {
            Ok(()) => {
                store.write(|c| jobs::complete(c, job.id, worker, now))?;
                out.sent += 1;
            }
            Err(why) => {
                store.write(|c| jobs::fail(c, job.id, worker, &why, now))?;
                out.failed += 1;
            }
        }
    }
    if let Some(s) = session {
        s.close();
    }
    Ok(out)
}

/// Sends one digest, opening the session when there is none (or the last one broke).
fn send_one(
    store: &Store,
    smtp: &SmtpConfig,
    session: &mut Option<Session>,
    from: &Mailbox,
    payload: &str,
    at: &Place<'_>,
) -> Result<(), String> {
    let digest: Payload = serde_json::from_str(payload).map_err(|e| format!("the digest cannot be read: {e}"))?;
    let language =
        store.read(|c| users::get(c, digest.user_id)).map_err(|e| e.to_string())?.map_or(Language::En, |u| u.language);
    let to: Mailbox = format!("{} <{}>", quoted(&digest.name), digest.email.trim())
        .parse()
        .map_err(|e| format!("the assignee's address \"{}\": {e}", digest.email))?;
    let message = compose(&digest, language, from, &to, at)?;
    crate::email::send_on(session, smtp, &from.email, &to.email, &message)
}

/// A display name safe inside a mailbox: quoted, without quotes or line breaks of its own.
fn quoted(name: &str) -> String {
    let clean: String = name.chars().filter(|c| !matches!(c, '"' | '\\' | '\r' | '\n')).collect();
    format!("\"{}\"", clean.trim())
}

/// The digest as an email, from `from` to `to`.
fn compose(
    digest: &Payload,
    language: Language,
    from: &Mailbox,
    to: &Mailbox,
    at: &Place<'_>,
) -> Result<Vec<u8>, String> {
    let (subject, text, html) = contents(digest, language, at);
    let message = lettre::Message::builder()
        .from(from.clone())
        .to(to.clone())
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("the digest message: {e}"))?;
    Ok(message.formatted())
}

/// The digest's subject (with the count), text and HTML: each task (overdue ones marked) with
/// its customer, kind and due time, and the link to the tasks page.
fn contents(digest: &Payload, language: Language, at: &Place<'_>) -> (String, String, String) {
    let ja = language == Language::Ja;
    let n = digest.tasks.len();
    let subject = if ja {
        format!("本日のタスク {n} 件（{}）", digest.day)
    } else {
        format!("Your tasks for {}: {n}", digest.day)
    };
    let link = format!("{}/tasks", at.public_url.trim_end_matches('/'));
    let line = |t: &Item| {
        let who = t.customer.clone().unwrap_or_else(|| format!("#{}", t.customer_id));
        let late = match (t.overdue, ja) {
            (true, true) => "【期限切れ】",
            (true, false) => "[overdue] ",
            _ => "",
        };
        let due = chrono::DateTime::parse_from_rfc3339(&t.due_at).map_or_else(
            |_| t.due_at.clone(),
            |d| at.calendar.format_local(d.with_timezone(&chrono::Utc), "%Y-%m-%d %H:%M"),
        );
        // A rule's task is named in the assignee's language, whatever was stored.
        let title = t.rule.as_deref().and_then(|r| tasks::rule_title(r, ja)).unwrap_or(&t.title);
        if ja {
            format!("{late}{title}（{} 様、{}、期限 {due}）", who, kind_ja(&t.kind))
        } else {
            format!("{late}{title} ({who}, {}, due {due})", t.kind)
        }
    };
    let greeting = if ja { format!("{} さん", digest.name) } else { format!("Hello {},", digest.name) };
    let intro = if ja { "今日が期限のタスクです。" } else { "These tasks are due today:" };
    let open = if ja { "タスクを開く" } else { "Open your tasks" };
    let mut text = format!("{greeting}\n\n{intro}\n\n");
    for t in &digest.tasks {
        text.push_str(&format!("- {} [#{}]\n", line(t), t.id));
    }
    text.push_str(&format!("\n{open}: {link}\n"));
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let mut html = format!("<p>{}</p><p>{}</p><ul>", esc(&greeting), esc(intro));
    for t in &digest.tasks {
        html.push_str(&format!("<li>{}</li>", esc(&line(t))));
    }
    html.push_str(&format!("</ul><p><a href=\"{}\">{}</a></p>", esc(&link), esc(open)));
    (subject, text, html)
}

/// A task kind in Japanese.
fn kind_ja(kind: &str) -> &str {
    match kind {
        "call" => "電話",
        "email" => "メール",
        "letter" => "手紙",
        "meeting" => "面談",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::{contents, Item, Payload, Place};
    use enishi_core::{BusinessClock, Language};

    fn digest() -> Payload {
        let task = |id, title: &str, overdue| Item {
            id,
            customer_id: 7,
            customer: Some("佐藤 花子".into()),
            kind: "call".into(),
            title: title.into(),
            rule: None,
            due_at: "2026-12-04T09:00:00+00:00".into(),
            overdue,
        };
        Payload {
            user_id: 1,
            email: "aki@shop.example".into(),
            name: "Aki".into(),
            day: "2026-12-04".into(),
            tasks: vec![task(3, "Ask how the <b>grinder</b> is", true), task(4, "Thank-you call", false)],
        }
    }

    #[test]
    fn a_rules_task_is_named_in_the_assignees_language_whatever_was_stored() {
        let utc = BusinessClock::new("UTC").unwrap();
        let at = Place { calendar: &utc, public_url: "https://shop.example" };
        let mut d = digest();
        d.tasks[1].title = "苦情のフォローアップ".into();
        d.tasks[1].rule = Some("complaint".into());
        let (_, text, _) = contents(&d, Language::En, &at);
        assert!(text.contains("- Follow up on the complaint (佐藤 花子, call, due"), "{text}");
        d.tasks[1].title = "Call a detractor about their survey answer".into();
        d.tasks[1].rule = Some("detractor".into());
        let (_, text, _) = contents(&d, Language::Ja, &at);
        assert!(text.contains("- アンケートで批判的な回答のお客様へお電話（佐藤 花子 様、電話、"), "{text}");
        d.tasks[1].rule = Some("campaign".into());
        let (_, text, _) = contents(&d, Language::Ja, &at);
        assert!(text.contains("- Call a detractor about their survey answer（"), "a campaign's call keeps its title");
    }

    #[test]
    fn a_digest_lists_each_task_in_the_assignees_language_with_html_escaped() {
        let tokyo = BusinessClock::new("Asia/Tokyo").unwrap();
        let at = Place { calendar: &tokyo, public_url: "https://shop.example/" };
        let (subject, text, html) = contents(&digest(), Language::Ja, &at);
        assert_eq!(subject, "本日のタスク 2 件（2026-12-04）");
        assert!(
            text.contains(
                "【期限切れ】Ask how the <b>grinder</b> is（佐藤 花子 様、電話、期限 2026-12-04 18:00） [#3]"
            ),
            "{text}"
        );
        assert!(text.contains("- Thank-you call（佐藤 花子 様、電話、期限 2026-12-04 18:00） [#4]"), "{text}");
        assert!(text.contains("タスクを開く: https://shop.example/tasks"), "{text}");
        assert!(html.contains("Ask how the &lt;b&gt;grinder&lt;/b&gt; is") && !html.contains("<b>"), "{html}");
        let utc = BusinessClock::new("UTC").unwrap();
        let (subject, text, _) =
            contents(&digest(), Language::En, &Place { calendar: &utc, public_url: "http://127.0.0.1:8080" });
        assert_eq!(subject, "Your tasks for 2026-12-04: 2");
        assert!(
            text.contains("[overdue] Ask how the <b>grinder</b> is (佐藤 花子, call, due 2026-12-04 09:00) [#3]"),
            "{text}"
        );
        assert!(text.contains("Open your tasks: http://127.0.0.1:8080/tasks"), "{text}");
    }
}
