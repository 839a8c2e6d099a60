//! Sign-ups on the public join page (docs/join.md): a customer gives their name, furigana, an
//! email and/or a phone, a birthday month and their consent per channel, at the till (a QR
//! code), at a table or in a web shop (a plain form post).
//!
//! A sign-up with an email waits for the address to be confirmed (double opt-in): the form is
//! kept as a join request and a confirmation email with a signed link that expires
//! ([`crate::links`], [`VALID_HOURS`]) is queued as a [`CONFIRM_JOB`], sent through the
//! campaign SMTP server by [`deliver`]. Only when the link is followed is the customer created
//! or matched and the consent recorded, with the source "join page, 2026-12-03 14:05,
//! confirmed 14:07". A sign-up with a phone only is recorded at once.
//!
//! A customer who already exists (the same email, or the same normalised phone) is matched,
//! not duplicated: only what their record lacks is filled in, and the consent given is added.
//! The page answers the same whether or not the address was known. A customer the join page
//! creates gets the programme's `join` perk ([`enishi_rewards::welcome`]). Each sign-up and
//! each confirmation is one transaction.

use crate::email::{Session, SmtpConfig};
use crate::links::{self, Purpose, Refused};
use crate::template::Language;
use crate::unsubscribe::{public_url, signing_key};
use crate::Error;
use enishi_core::{BusinessClock, ConsentChannel, ConsentStatus, Email, ExternalId, Phone, PhoneCountry};
use enishi_rewards::{Programs, Welcome};
use enishi_store::repo::audit::{self, NewAuditEntry};
use enishi_store::repo::{customers, jobs, joins, settings};
use enishi_store::{instant, Conn, ConsentChange, CustomerUpsert, JsonMap, Store};
use lettre::message::{Mailbox, MultiPart};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The job that sends a sign-up's confirmation email.
pub const CONFIRM_JOB: &str = "join.confirm";
/// Setting: hours a confirmation link is valid (default [`DEFAULT_VALID_HOURS`]).
pub const VALID_HOURS: &str = "join_confirm_valid_hours";
/// Two days.
pub const DEFAULT_VALID_HOURS: i64 = 48;
/// The consent source's start, and the audit's actor.
pub const SOURCE: &str = "join page";
/// The acquisition source of a customer the join page creates.
pub const ACQUISITION: &str = "join_page";
/// A second sign-up of one address within this many seconds sends no second email.
pub const RESEND_AFTER: i64 = 600;
/// Longest name or furigana accepted (characters).
pub const MAX_NAME_CHARS: usize = 100;
/// Longest email or phone accepted as typed (characters).
pub const MAX_CONTACT_CHARS: usize = 254;

/// The form as posted: text as typed, empty is "not given".
#[derive(Debug, Clone, Default)]
pub struct Form {
    /// Full name (needed).
    pub name: String,
    /// How the name reads.
    pub furigana: String,
    /// Email.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// Birthday month, `1` to `12`.
    pub birthday_month: String,
    /// The channels ticked (`email`, `sms`, `postal`, `phone`); unknown names are wrong.
    pub channels: Vec<String>,
    /// The page's language.
    pub language: Language,
    /// The workspace's phone country: a number in its national form is stored in E.164.
    pub phone_country: Option<PhoneCountry>,
}

/// What is wrong with a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrong {
    /// The name is missing, too long or has control characters.
    Name,
    /// The furigana is too long or has control characters.
    Furigana,
    /// The email is not an address.
    Email,
    /// The phone is not a number.
    Phone,
    /// Neither an email nor a phone is given.
    Contact,
    /// The birthday month is not 1 to 12.
    BirthdayMonth,
    /// A channel is unknown, or email/SMS/phone consent without that contact.
    Consent,
}

/// What the page says after a sign-up: the same whether the customer was known or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    /// An email was given: "check your inbox".
    CheckEmail,
    /// A phone only: "you are registered".
    Registered,
}

/// A form as checked, kept on a join request until it is confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Checked {
    name: String,
    furigana: Option<String>,
    email: Option<Email>,
    phone: Option<Phone>,
    birthday_month: Option<u32>,
    channels: Vec<ConsentChannel>,
    language: String,
}

fn text(value: &str, max: usize) -> Result<Option<String>, ()> {
    let t = value.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().count() > max || t.chars().any(char::is_control) {
        return Err(());
    }
    Ok(Some(t.to_string()))
}

/// Checks a form: the checked form, or everything wrong with it.
fn check(f: &Form) -> Result<Checked, Vec<Wrong>> {
    let mut wrong = Vec::new();
    let name = match text(&f.name, MAX_NAME_CHARS) {
        Ok(Some(n)) => n,
        _ => {
            wrong.push(Wrong::Name);
            String::new()
        }
    };
    let furigana = text(&f.furigana, MAX_NAME_CHARS).unwrap_or_else(|()| {
        wrong.push(Wrong::Furigana);
        None
    });
    let email = match text(&f.email, MAX_CONTACT_CHARS) {
        Ok(None) => None,
        Ok(Some(e)) => e.parse::<Email>().map_err(|_| wrong.push(Wrong::Email)).ok(),
        Err(()) => {
            wrong.push(Wrong::Email);
            None
        }
    };
    let phone = match text(&f.phone, MAX_CONTACT_CHARS) {
        Ok(None) => None,
        Ok(Some(p)) => {
            p.parse::<Phone>().map(|p| p.in_country(f.phone_country)).map_err(|_| wrong.push(Wrong::Phone)).ok()
        }
        Err(()) => {
            wrong.push(Wrong::Phone);
            None
        }
    };
    if f.email.trim().is_empty() && f.phone.trim().is_empty() {
        wrong.push(Wrong::Contact);
    }
    let birthday_month = match f.birthday_month.trim() {
        "" => None,
        m => match m.parse::<u32>() {
            Ok(n) if (1..=12).contains(&n) => Some(n),
            _ => {
                wrong.push(Wrong::BirthdayMonth);
                None
            }
        },
    };
    let mut channels = Vec::new();
    for name in &f.channels {
        match name.parse::<ConsentChannel>() {
            Ok(ch) if !channels.contains(&ch) => channels.push(ch),
            Ok(_) => {}
            Err(_) => wrong.push(Wrong::Consent),
        }
    }
    let needs = |ch: ConsentChannel| match ch {
        ConsentChannel::Email => !f.email.trim().is_empty(),
        ConsentChannel::Sms | ConsentChannel::Phone => !f.phone.trim().is_empty(),
        ConsentChannel::Postal => true,
    };
    if channels.iter().any(|ch| !needs(*ch)) {
        wrong.push(Wrong::Consent);
    }
    wrong.dedup();
    if !wrong.is_empty() {
        return Err(wrong);
    }
    Ok(Checked { name, furigana, email, phone, birthday_month, channels, language: f.language.tag().to_string() })
}

/// Takes a sign-up at `now`: checks the form (what is wrong, if anything, and nothing is
/// written); a form from a bot (`honeypot` filled) is answered as a person's would be and
/// nothing is written; with an email, the sign-up waits for its confirmation (one email per
/// address every [`RESEND_AFTER`] seconds); with a phone only, it is recorded at once.
pub fn submit(
    c: &mut dyn Conn,
    programs: &Programs,
    form: &Form,
    honeypot: bool,
    now: i64,
) -> Result<Result<Joined, Vec<Wrong>>, Error> {
    let k = match check(form) {
        Ok(k) => k,
        Err(wrong) => return Ok(Err(wrong)),
    };
    let joined = if k.email.is_some() { Joined::CheckEmail } else { Joined::Registered };
    if honeypot {
        return Ok(Ok(joined));
    }
    let Some(email) = &k.email else {
        record(c, programs, &k, now, None)?;
        return Ok(Ok(joined));
    };
    joins::purge_expired(c, now)?;
    if joins::waiting_since(c, email.as_str(), now - RESEND_AFTER)? {
        return Ok(Ok(joined));
    }
    let hours = settings::days(c, VALID_HOURS, DEFAULT_VALID_HOURS)?.clamp(1, 24 * 30);
    let expires = now + hours * 3_600;
    let body = serde_json::to_string(&k).map_err(|e| Error::Invalid(format!("sign-up: {e}")))?;
    let id = joins::insert(c, email.as_str(), &body, &k.language, now, expires)?;
    let key = format!("{CONFIRM_JOB}:{id}");
    let payload = json!({ "request": id }).to_string();
    let job = jobs::NewJob {
        kind: CONFIRM_JOB,
        idempotency_key: &key,
        payload: &payload,
        run_after: now,
        max_attempts: jobs::DEFAULT_ATTEMPTS,
    };
    jobs::enqueue(c, &job, now)?;
    Ok(Ok(joined))
}

/// A sign-up's confirmation as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    /// The sign-up's language.
    pub language: Language,
    /// Confirmed before (this time changed nothing).
    pub already: bool,
    /// The join perk given now, if any.
    pub welcome: Option<Welcome>,
}

/// The sign-up a confirmation link names at `now`, locked, or why it is refused.
fn open(c: &mut dyn Conn, token: &str, now: i64) -> Result<Result<joins::JoinRequest, Refused>, Error> {
    let key = signing_key(c)?;
    let id = match links::verify(&key, Purpose::Join, token, now) {
        Ok(id) => id,
        Err(r) => return Ok(Err(r)),
    };
    match joins::get_for_update(c, id)? {
        Some(r) if r.confirmed_at.is_none() && now >= r.expires_at => Ok(Err(Refused::Expired)),
        Some(r) => Ok(Ok(r)),
        None => Ok(Err(Refused::Invalid)),
    }
}

/// What the page of a confirmation link shows before it is followed: the sign-up's language
/// and whether it is confirmed already; or why the link is refused.
pub fn pending(c: &mut dyn Conn, token: &str, now: i64) -> Result<Result<(Language, bool), Refused>, Error> {
    Ok(open(c, token, now)?.map(|r| (Language::of(&r.language), r.confirmed_at.is_some())))
}

/// Confirms the sign-up of a link at `now`, in one transaction: the customer is created or
/// matched, the consent recorded and the perk given. A second confirmation changes nothing.
pub fn confirm(
    c: &mut dyn Conn,
    programs: &Programs,
    token: &str,
    now: i64,
) -> Result<Result<Confirmed, Refused>, Error> {
    let r = match open(c, token, now)? {
        Ok(r) => r,
        Err(why) => return Ok(Err(why)),
    };
    let language = Language::of(&r.language);
    if r.confirmed_at.is_some() {
        return Ok(Ok(Confirmed { language, already: true, welcome: None }));
    }
    let k: Checked =
        serde_json::from_str(&r.form).map_err(|e| Error::Invalid(format!("join request {}: {e}", r.id)))?;
    let (customer_id, welcome) = record(c, programs, &k, r.requested_at, Some(now))?;
    joins::confirm(c, r.id, customer_id, now)?;
    Ok(Ok(Confirmed { language, already: false, welcome }))
}

/// The consent source: "join page, 2026-12-03 14:05" and, when confirmed, ", confirmed 14:07"
/// (with the date when it is another day), in the business time zone.
fn source(clock: &BusinessClock, requested: i64, confirmed: Option<i64>) -> String {
    let at = |t: i64| clock.format_local(instant(t), "%Y-%m-%d %H:%M");
    let mut s = format!("{SOURCE}, {}", at(requested));
    if let Some(t) = confirmed {
        let same_day = clock.local_date(instant(t)) == clock.local_date(instant(requested));
        let when = if same_day { clock.format_local(instant(t), "%H:%M") } else { at(t) };
        s.push_str(&format!(", confirmed {when}"));
    }
    s
}

/// Records a sign-up (requested at `requested`; confirmed at `confirmed` when it had an
/// email): matches the customer by email, then by phone, or creates one; fills in what a
/// matched record lacks; opts in to the channels ticked; gives a new customer the join perk.
/// The customer's id and the perk given.
fn record(
    c: &mut dyn Conn,
    programs: &Programs,
    k: &Checked,
    requested: i64,
    confirmed: Option<i64>,
) -> Result<(i64, Option<Welcome>), Error> {
    let now = confirmed.unwrap_or(requested);
    let email = k.email.as_ref().map(Email::as_str);
    let phone = k.phone.as_ref().map(Phone::as_str);
    let source = source(programs.clock(), requested, confirmed);
    let consents: Vec<ConsentChange> = k
        .channels
        .iter()
        .map(|ch| ConsentChange { channel: *ch, status: ConsentStatus::OptedIn, at: None, source: source.clone() })
        .collect();
    let birthday_month = |k: &Checked| {
        k.birthday_month.map(|m| {
            let mut a = JsonMap::new();
            a.insert("birthday_month".into(), json!(m));
            a
        })
    };
    let (id, created) = match customers::contact_taken(c, email, phone, None)? {
        Some(found) => {
            let Some(before) = customers::get(c, found.id)? else {
                return Err(Error::NotFound(format!("customer {}", found.id)));
            };
            // A phone that another customer has stays with them.
            let phone_free = match phone {
                Some(p) => customers::contact_taken(c, None, Some(p), Some(found.id))?.is_none(),
                None => false,
            };
            let has_month = before.birthday.is_some() || before.attributes.contains_key("birthday_month");
            // Consent to email is for the address confirmed: a record found by its phone that
            // has another address does not get it.
            let other_address = matches!((&before.email, email), (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b));
            let consents: Vec<ConsentChange> =
                consents.into_iter().filter(|x| !(other_address && x.channel == ConsentChannel::Email)).collect();
            let u = CustomerUpsert {
                name: if before.name.is_none() { Some(k.name.clone()) } else { None },
                email: if before.email.is_none() { k.email.clone() } else { None },
                phone: if before.phone.is_none() && phone_free { k.phone.clone() } else { None },
                locale: if before.locale.is_none() { Some(k.language.clone()) } else { None },
                attributes: if has_month { None } else { birthday_month(k) },
                consents,
                ..Default::default()
            };
            customers::update(c, found.id, &u)?;
            if before.furigana.is_none() && k.furigana.is_some() {
                customers::set_furigana(c, found.id, k.furigana.as_deref())?;
            }
            (found.id, false)
        }
        None => (create(c, k, consents, birthday_month(k))?, true),
    };
    let welcome = if created { enishi_rewards::welcome(c, programs, id, now)? } else { None };
    let subject = format!("customer:{id}");
    let after = json!({ "created": created, "consented": k.channels, "source": source }).to_string();
    let entry =
        NewAuditEntry { actor: SOURCE, action: "customers.join", subject: &subject, before: None, after: Some(&after) };
    audit::append(c, &entry, now)?;
    Ok((id, welcome))
}

/// Creates the customer of a sign-up; the shop id is made up (`J-` and the time in
/// milliseconds).
fn create(
    c: &mut dyn Conn,
    k: &Checked,
    consents: Vec<ConsentChange>,
    attributes: Option<JsonMap>,
) -> Result<i64, Error> {
    let millis = c.clock().now().timestamp_millis();
    for n in 0..10 {
        let id = if n == 0 { format!("J-{millis}") } else { format!("J-{millis}-{n}") };
        let external_id: ExternalId = id.parse().map_err(|e: enishi_core::ParseError| Error::Invalid(e.to_string()))?;
        let u = CustomerUpsert {
            external_id: Some(external_id),
            name: Some(k.name.clone()),
            email: k.email.clone(),
            phone: k.phone.clone(),
            locale: Some(k.language.clone()),
            acquisition_source: Some(ACQUISITION.into()),
            attributes: attributes.clone(),
            consents: consents.clone(),
            ..Default::default()
        };
        if let Some(new) = customers::insert_if_absent(c, &u)? {
            customers::set_furigana(c, new, k.furigana.as_deref())?;
            return Ok(new);
        }
    }
    Err(Error::State("no free shop id for a new customer".into()))
}

/// How many confirmation emails one round claims.
const BATCH: i64 = 20;
/// How long a claimed one is held (seconds).
const LEASE: i64 = 120;

/// What one round of [`deliver`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Confirmation emails claimed.
    pub claimed: usize,
    /// Sent.
    pub sent: usize,
    /// Failed this time (tried again later, or dead after their last attempt).
    pub failed: usize,
}

/// Sends the sign-ups' confirmation emails that are queued, from `from` through `smtp`, as
/// `worker`. A sign-up confirmed or gone meanwhile is done without an email. Without a From
/// address they wait.
pub fn deliver(store: &Store, smtp: &SmtpConfig, from: &str, worker: &str) -> Result<Delivered, Error> {
    if from.trim().is_empty() {
        return Ok(Delivered::default());
    }
    let from: Mailbox = from
        .trim()
        .parse()
        .map_err(|e| Error::Invalid(format!("the From address \"{from}\" for sign-up confirmations: {e}")))?;
    let now = store.now().timestamp();
    let claimed = store.write(|c| jobs::claim(c, &[CONFIRM_JOB], worker, now, now + LEASE, BATCH))?;
    let mut out = Delivered { claimed: claimed.len(), ..Delivered::default() };
    let mut session = None;
    for job in claimed {
        let result = send_one(store, smtp, &mut session, &from, &job.payload);
        let now = store.now().timestamp();
        match result {
            Ok(sent) => {
                store.write(|c| jobs::complete(c, job.id, worker, now))?;
                out.sent += usize::from(sent);
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

/// A confirmation job's payload.
#[derive(Debug, Deserialize)]
struct Payload {
    request: i64,
}

/// What a confirmation email needs: the address, the language, the link and the shop's name.
struct Letter {
    to: String,
    language: Language,
    link: String,
    shop: String,
}

/// Sends one confirmation (`false`: nothing to send any more).
fn send_one(
    store: &Store,
    smtp: &SmtpConfig,
    session: &mut Option<Session>,
    from: &Mailbox,
    payload: &str,
) -> Result<bool, String> {
    let p: Payload = serde_json::from_str(payload).map_err(|e| format!("the job cannot be read: {e}"))?;
    let letter = store
        .write(|c| -> Result<Option<Letter>, Error> {
            let Some(r) = joins::get_for_update(c, p.request)? else { return Ok(None) };
            let (Some(to), None) = (r.email.clone(), r.confirmed_at) else { return Ok(None) };
            let (base, key) = (public_url(c)?, signing_key(c)?);
            let link = links::url(&base, &key, Purpose::Join, r.id, r.expires_at);
            let shop = settings::get(c, crate::campaigns::SHOP_NAME)?.unwrap_or_default();
            Ok(Some(Letter { to, language: Language::of(&r.language), link, shop }))
        })
        .map_err(|e| e.to_string())?;
    let Some(letter) = letter else { return Ok(false) };
    let to: Mailbox = letter.to.parse().map_err(|e| format!("the address \"{}\": {e}", letter.to))?;
    let message = compose(&letter, from, &to)?;
    crate::email::send_on(session, smtp, &from.email, &to.email, &message)?;
    Ok(true)
}

/// The confirmation email, in the sign-up's language.
fn compose(l: &Letter, from: &Mailbox, to: &Mailbox) -> Result<Vec<u8>, String> {
    let (subject, text, html) = contents(l);
    let message = lettre::Message::builder()
        .from(from.clone())
        .to(to.clone())
        .subject(subject)
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| format!("the confirmation message: {e}"))?;
    Ok(message.formatted())
}

/// The subject, text and HTML (escaped) of a confirmation email.
fn contents(l: &Letter) -> (String, String, String) {
    let lang = l.language;
    let shop = if l.shop.trim().is_empty() { lang.say("our shop", "当店").to_string() } else { l.shop.clone() };
    let subject = match lang {
        Language::Japanese => format!("【{shop}】メールアドレスのご確認"),
        Language::English => format!("{shop}: please confirm your email"),
    };
    let intro = match lang {
        Language::Japanese => {
            format!("{shop}の会員登録をありがとうございます。下のリンクを開いて、メールアドレスを確認してください。")
        }
        Language::English => {
            format!("Thank you for joining {shop}. Please open the link below to confirm your email address.")
        }
    };
    let open = lang.say("Confirm my email", "メールアドレスを確認する");
    let ignore = lang.say(
        "If you did not sign up, ignore this email: nothing is recorded and you will get nothing more from us.",
        "お心当たりがない場合は、このメールを破棄してください。登録は行われず、今後メールをお送りすることもありません。",
    );
    let text = format!("{intro}\n\n{open}: {}\n\n{ignore}\n", l.link);
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let html =
        format!("<p>{}</p><p><a href=\"{}\">{}</a></p><p>{}</p>", esc(&intro), esc(&l.link), esc(open), esc(ignore));
    (subject, text, html)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> Form {
        Form {
            name: "佐藤 花子".into(),
            email: "hana@example.com".into(),
            channels: vec!["email".into()],
            language: Language::Japanese,
            ..Form::default()
        }
    }

    #[test]
    fn a_form_is_checked_field_by_field() {
        assert!(check(&form()).is_ok());
        let bad = Form {
            name: "a\0b".into(),
            furigana: "x".repeat(101),
            email: "<script>@x".into(),
            phone: "<script>".into(),
            birthday_month: "13".into(),
            channels: vec!["fax".into()],
            ..form()
        };
        assert_eq!(
            check(&bad).unwrap_err(),
            vec![Wrong::Name, Wrong::Furigana, Wrong::Email, Wrong::Phone, Wrong::BirthdayMonth, Wrong::Consent]
        );
        let none = Form { email: String::new(), channels: vec![], ..form() };
        assert_eq!(check(&none).unwrap_err(), vec![Wrong::Contact]);
        let sms_without_phone = Form { channels: vec!["sms".into()], ..form() };
        assert_eq!(check(&sms_without_phone).unwrap_err(), vec![Wrong::Consent]);
        let phone =
            Form { email: String::new(), phone: "090-1234-5678".into(), channels: vec!["sms".into()], ..form() };
        let phone = Form { phone_country: Some(PhoneCountry::JAPAN), ..phone };
        assert_eq!(check(&phone).unwrap().phone.unwrap().as_str(), "+819012345678");
    }

    #[test]
    fn the_source_says_when_it_was_asked_and_confirmed() {
        let tokyo = BusinessClock::new("Asia/Tokyo").unwrap();
        // 2026-12-03 05:05 UTC is 14:05 in Tokyo.
        let asked = 1_796_274_300;
        assert_eq!(source(&tokyo, asked, None), "join page, 2026-12-03 14:05");
        assert_eq!(source(&tokyo, asked, Some(asked + 120)), "join page, 2026-12-03 14:05, confirmed 14:07");
        assert_eq!(
            source(&tokyo, asked, Some(asked + 86_400)),
            "join page, 2026-12-03 14:05, confirmed 2026-12-04 14:05"
        );
    }

    #[test]
    fn the_confirmation_email_escapes_the_shop_and_carries_the_link() {
        let l = Letter {
            to: "hana@example.com".into(),
            language: Language::English,
            link: "https://shop.example/join/confirm/1.2.ab".into(),
            shop: "<b>Corner</b>".into(),
        };
        let (subject, text, html) = contents(&l);
        assert_eq!(subject, "<b>Corner</b>: please confirm your email");
        assert!(text.contains("https://shop.example/join/confirm/1.2.ab"), "{text}");
        assert!(html.contains("&lt;b&gt;Corner&lt;/b&gt;") && !html.contains("<b>"), "{html}");
    }
}
