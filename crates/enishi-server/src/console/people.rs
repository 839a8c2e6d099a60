//! Customers kept by hand: a walk-in enrolled at the till (name, furigana, phone or email,
//! consent per channel recorded as given at the till by the signed-in user), contact details
//! and consent edited (with the consent trail), and two records of one person merged (owners
//! and marketers). A refused form comes back with what was typed and why.

use crate::console::i18n::Tr;
use crate::console::shell::{carries_csrf, ConsoleManager, ConsoleUser, ForManagers, Posted, Quoted, Visitor};
use crate::{ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use enishi_core::{BusinessClock, ConsentChannel, ConsentStatus, Currency};
use enishi_ingest::people::{self, Contact, ContactError, MergeError};
use enishi_store::repo::customers::{self, ConsentLogEntry, CustomerQuery};
use enishi_store::repo::loyalty;
use enishi_store::Customer;
use maud::{html, Markup};
use serde::Deserialize;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/customers/new", get(enrol_page).post(enrol))
        .route("/customers/{id}/edit", get(edit_page).post(edit))
        .route("/customers/{id}/merge", get(merge_page).post(merge))
}

/// The contact form as posted (and as shown again when refused).
#[derive(Default, Deserialize, Clone)]
#[serde(default)]
struct ContactForm {
    csrf: String,
    name: String,
    furigana: String,
    email: String,
    phone: String,
    consent_email: String,
    consent_sms: String,
    consent_postal: String,
    consent_phone: String,
}

carries_csrf!(ContactForm);

impl ContactForm {
    /// The form filled with a stored customer's details.
    fn of(c: &Customer) -> ContactForm {
        let status = |ch: ConsentChannel| {
            c.consents
                .iter()
                .find(|x| x.channel == ch)
                .map_or(ConsentStatus::Unknown, |x| x.status)
                .as_str()
                .to_string()
        };
        ContactForm {
            csrf: String::new(),
            name: c.name.clone().unwrap_or_default(),
            furigana: c.furigana.clone().unwrap_or_default(),
            email: c.email.clone().unwrap_or_default(),
            phone: c.phone.as_deref().map(crate::console::format::phone).unwrap_or_default(),
            consent_email: status(ConsentChannel::Email),
            consent_sms: status(ConsentChannel::Sms),
            consent_postal: status(ConsentChannel::Postal),
            consent_phone: status(ConsentChannel::Phone),
        }
    }

    fn consent(&self, ch: ConsentChannel) -> &str {
        match ch {
            ConsentChannel::Email => &self.consent_email,
            ConsentChannel::Sms => &self.consent_sms,
            ConsentChannel::Postal => &self.consent_postal,
            ConsentChannel::Phone => &self.consent_phone,
        }
    }

    /// The contact to store; a consent that is not one of the three states is refused.
    fn contact(&self, phone_country: Option<enishi_core::PhoneCountry>) -> Result<Contact, ContactError> {
        let mut consents = Vec::new();
        for ch in ConsentChannel::ALL {
            let typed = self.consent(*ch).trim();
            let status = if typed.is_empty() {
                ConsentStatus::Unknown
            } else {
                typed.parse().map_err(|_| ContactError::Invalid { field: "consent", reason: typed.to_string() })?
            };
            consents.push((*ch, status));
        }
        Ok(Contact {
            name: self.name.clone(),
            furigana: self.furigana.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            consents,
            phone_country,
        })
    }
}

/// The name of a contact form's field, in the visitor's language.
fn field_label(tr: Tr, field: &str) -> &'static str {
    match field {
        "name" => tr.t("Name"),
        "furigana" => tr.t("Furigana"),
        "email" => tr.t("Email"),
        "phone" => tr.t("Phone"),
        _ => tr.t("Consent"),
    }
}

/// Why contact details were refused, in the visitor's language; `None` for a failure of the
/// database (answered as an error page).
fn refusal(tr: Tr, e: &ContactError) -> Option<Markup> {
    Some(match e {
        ContactError::Invalid { field: "name", reason } if reason == "is needed" => {
            html! { (tr.t("Type the customer's name.")) }
        }
        ContactError::Invalid { reason, .. } if reason == "a phone number or an email is needed" => {
            html! { (tr.t("Type a phone number or an email, so the customer can be found again.")) }
        }
        ContactError::Invalid { field, reason } => {
            html! { (Quoted(&format!("{}: {}", field_label(tr, field), tr.message(reason)))) }
        }
        ContactError::Taken(t) => {
            let said = match t.field {
                "email" => tr.f("Customer {} already has this email.", &[&t.external_id]),
                _ => tr.f("Customer {} already has this phone number.", &[&t.external_id]),
            };
            html! { (said) " " a href={ "/customers/" (t.id) } { (tr.t("Open that customer")) } }
        }
        ContactError::NotFound | ContactError::Store(_) => return None,
    })
}

/// The contact form: name, furigana, email, phone and consent per channel, as `f` has them.
fn contact_form(
    tr: Tr,
    id: &str,
    action: &str,
    csrf: &str,
    f: &ContactForm,
    alert: Option<Markup>,
    button: &str,
) -> Markup {
    html! {
        form method="post" action=(action) id=(id) class="card" {
            @if let Some(a) = alert { p role="alert" id="contact-error" { (a) } }
            input type="hidden" name="csrf" value=(csrf);
            p {
                label { (tr.t("Name")) " " input name="name" value=(f.name) maxlength="200" autocomplete="off"; } " "
                label { (tr.t("Furigana")) " " input name="furigana" value=(f.furigana) maxlength="200" autocomplete="off" placeholder=(tr.t("in kana, e.g. ヤマダ ハナコ")); }
            }
            p {
                label { (tr.t("Phone")) " " input name="phone" type="tel" value=(f.phone) autocomplete="off"; } " "
                label { (tr.t("Email")) " " input name="email" type="email" value=(f.email) autocomplete="off"; }
            }
            fieldset {
                legend { (tr.t("Consent to be contacted")) }
                @for ch in ConsentChannel::ALL {
                    @let chosen = f.consent(*ch);
                    label {
                        (tr.word(ch.as_str())) " "
                        select name={ "consent_" (ch.as_str()) } {
                            @for st in ConsentStatus::ALL {
                                option value=(st.as_str()) selected[chosen == st.as_str() || (chosen.is_empty() && *st == ConsentStatus::Unknown)] {
                                    (tr.word(st.as_str()))
                                }
                            }
                        }
                    } " "
                }
            }
            button { (button) }
        }
    }
}

async fn enrol_page(ConsoleUser(v): ConsoleUser) -> Response {
    enrol_html(&v, &ContactForm::default(), None, StatusCode::OK)
}

fn enrol_html(v: &Visitor, f: &ContactForm, alert: Option<Markup>, status: StatusCode) -> Response {
    let tr = v.tr();
    let body = html! {
        h1 { (tr.t("Enrol a customer")) }
        p class="muted" { (tr.t("A name and a phone number or an email. Consent is recorded as given at the till, by you.")) }
        (contact_form(tr, "enrol", "/customers/new", &v.csrf, f, alert, tr.t("Enrol")))
        p { a href="/customers" { (tr.t("Back to the customers")) } }
    };
    (status, v.page(tr.t("Enrol a customer"), body)).into_response()
}

async fn enrol(ConsoleUser(v): ConsoleUser, State(state): State<AppState>, Posted(f): Posted<ContactForm>) -> Response {
    let contact = match f.contact(state.workspace().phone_country) {
        Ok(c) => c,
        Err(e) => return enrol_html(&v, &f, refusal(v.tr(), &e), StatusCode::UNPROCESSABLE_ENTITY),
    };
    let (source, actor) = (format!("till:{}", v.user.email), v.actor());
    let done = state.run(move |s| Ok(people::enrol(s, &contact, &source, &actor))).await;
    match done {
        Ok(Ok(id)) => Redirect::to(&format!("/customers/{id}?done=enrolled")).into_response(),
        Ok(Err(ContactError::Store(e))) => ApiError::from(e).into_response(),
        Ok(Err(e)) => enrol_html(&v, &f, refusal(v.tr(), &e), StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => e.into_response(),
    }
}

/// A customer's consent trail: every change, newest first, with when (in the business time
/// zone) and how (the source names who, for changes made in the console).
pub(crate) fn consent_trail(tr: Tr, clock: &BusinessClock, trail: &[ConsentLogEntry]) -> Markup {
    html! {
        @if trail.is_empty() {
            p class="muted" { (tr.t("No consent recorded yet.")) }
        } @else {
            (crate::console::shell::table(Some("consent-trail"), None, &[&tr.f("When ({})", &[&crate::console::format::zone_name(tr, clock)]), tr.t("Channel"), tr.t("Consent"), tr.t("Source")], html! {
                @for e in trail {
                    tr {
                        td { (crate::console::format::local_time(tr, clock, enishi_store::instant(e.changed_at))) }
                        td { (tr.word(&e.channel)) }
                        td { (tr.word(&e.status)) }
                        td { (crate::console::names::source_name(tr, &e.source)) }
                    }
                }
            }))
        }
    }
}

async fn edit_page(ConsoleUser(v): ConsoleUser, State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    let found = state
        .run(move |s| {
            Ok(s.read(|c| {
                Ok::<_, enishi_store::StoreError>((customers::get(c, id)?, customers::consent_trail(c, id)?))
            })?)
        })
        .await;
    match found {
        Ok((Some(c), trail)) => edit_html(&v, &state, &c, &trail, &ContactForm::of(&c), None, StatusCode::OK),
        Ok((None, _)) => v.not_found(),
        Err(e) => e.into_response(),
    }
}

fn edit_html(
    v: &Visitor,
    state: &AppState,
    c: &Customer,
    trail: &[ConsentLogEntry],
    f: &ContactForm,
    alert: Option<Markup>,
    status: StatusCode,
) -> Response {
    let tr = v.tr();
    let clock = state.workspace().clock;
    let title = tr.f("Edit {}", &[&c.name.as_deref().unwrap_or(&c.external_id)]);
    let body = html! {
        h1 { (title) }
        p class="muted" { (tr.f("Customer {}", &[&c.external_id])) }
        (contact_form(tr, "edit-contact", &format!("/customers/{}/edit", c.id), &v.csrf, f, alert, tr.t("Save")))
        h2 { (tr.t("Consent history")) }
        (consent_trail(tr, &clock, trail))
        p { a href={ "/customers/" (c.id) } { (tr.t("Back to the customer")) } }
    };
    (status, v.page(&title, body)).into_response()
}

async fn edit(
    ConsoleUser(v): ConsoleUser,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<ContactForm>,
) -> Response {
    let (source, actor) = (format!("console:{}", v.user.email), v.actor());
    let contact = f.contact(state.workspace().phone_country);
    let done = state
        .run(move |s| {
            let outcome = match contact {
                Ok(contact) => people::edit(s, id, &contact, &source, &actor),
                Err(e) => Err(e),
            };
            let shown = s.read(|c| {
                Ok::<_, enishi_store::StoreError>((customers::get(c, id)?, customers::consent_trail(c, id)?))
            })?;
            Ok((outcome, shown))
        })
        .await;
    match done {
        Ok((Ok(()), _)) => Redirect::to(&format!("/customers/{id}?done=edited")).into_response(),
        Ok((Err(ContactError::NotFound), _)) | Ok((_, (None, _))) => v.not_found(),
        Ok((Err(ContactError::Store(e)), _)) => ApiError::from(e).into_response(),
        Ok((Err(e), (Some(c), trail))) => {
            edit_html(&v, &state, &c, &trail, &f, refusal(v.tr(), &e), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => e.into_response(),
    }
}

/// Merging customers: for owners and marketers.
pub(crate) struct CustomerMerging;

impl ForManagers for CustomerMerging {
    fn who_may(tr: Tr) -> &'static str {
        tr.t("Customers are merged by owners and marketers.")
    }
}

#[derive(Deserialize)]
struct MergeQuery {
    #[serde(default)]
    other: String,
}

/// The other record named by `text`: a shop id, an email or a phone number.
fn find_other(
    c: &mut dyn enishi_store::Conn,
    text: &str,
    phone_country: Option<enishi_core::PhoneCountry>,
) -> Result<Option<Customer>, enishi_store::StoreError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(found) = customers::get_by_external_id(c, text)? {
        return Ok(Some(found));
    }
    let mut q = CustomerQuery { limit: 1, ..Default::default() };
    if text.contains('@') {
        q.email = Some(text.to_string());
    } else if let Ok(phone) = text.parse::<enishi_core::Phone>() {
        q.phone = Some(phone.in_country(phone_country).as_str().to_string());
    } else {
        return Ok(None);
    }
    Ok(customers::search(c, &q)?.items.pop())
}

/// One record as the merge page compares it: its details and its points balance.
fn record_card(v: &Visitor, cur: Currency, title: &str, c: &Customer, balance: i64) -> Markup {
    let tr = v.tr();
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    html! {
        section class="card merge-record" {
            h2 { (title) }
            p {
                strong { (c.name.as_deref().unwrap_or(&c.external_id)) } br;
                (tr.t("Shop id")) ": " (c.external_id) br;
                (tr.t("Email")) ": " (opt(&c.email)) br;
                (tr.t("Phone")) ": " (c.phone.as_deref().map_or("—".to_string(), crate::console::format::phone)) br;
                (tr.t("Orders")) ": " (c.stats.order_count) br;
                (tr.t("Spend")) ": " (cur.format(c.stats.total_spend)) br;
                (tr.t("Balance")) ": " (tr.f("{} points", &[&balance])) br;
                (tr.t("First seen")) ": " (v.day(c.first_seen_at))
            }
        }
    }
}

async fn merge_page(
    ConsoleManager(v, _): ConsoleManager<CustomerMerging>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<MergeQuery>,
) -> Response {
    let (other, country) = (q.other.clone(), state.workspace().phone_country);
    let found = state
        .run(move |s| {
            Ok(s.read(|c| {
                let Some(me) = customers::get(c, id)? else { return Ok(None) };
                let mine = loyalty::account(c, id)?.map_or(0, |a| a.balance);
                let them = match find_other(c, &other, country)? {
                    Some(o) => {
                        let balance = loyalty::account(c, o.id)?.map_or(0, |a| a.balance);
                        Some((o, balance))
                    }
                    None => None,
                };
                Ok::<_, enishi_store::StoreError>(Some((me, mine, them)))
            })?)
        })
        .await;
    let (me, mine, them) = match found {
        Ok(Some(x)) => x,
        Ok(None) => return v.not_found(),
        Err(e) => return e.into_response(),
    };
    let tr = v.tr();
    let cur = state.workspace().currency;
    let name = me.name.clone().unwrap_or_else(|| me.external_id.clone());
    let title = tr.f("Merge another record into {}", &[&name]);
    let searched = !q.other.trim().is_empty();
    let body = html! {
        h1 { (title) }
        p { (tr.t("When one person has two records, merge them: orders, points, stamps, coupons, tags, messages, interactions and history move to this customer, and the other record is deleted. Its shop id and email then find this customer.")) }
        form method="get" action={ "/customers/" (id) "/merge" } class="card" id="merge-find" {
            label { (tr.t("The other record: shop id, email or phone")) " " input name="other" value=(q.other) required autocomplete="off"; } " "
            button { (tr.t("Find")) }
        }
        @match &them {
            Some((o, _)) if o.id == id => {
                p role="alert" id="merge-error" { (tr.t("That is this customer.")) }
            }
            Some((o, balance)) => {
                div class="grid" {
                    (record_card(&v, cur, tr.t("Kept"), &me, mine))
                    (record_card(&v, cur, tr.t("Merged into it, then deleted"), o, *balance))
                }
                form method="post" action={ "/customers/" (id) "/merge" } class="card" id="merge-confirm" {
                    input type="hidden" name="csrf" value=(v.csrf);
                    input type="hidden" name="other" value=(o.id);
                    p { (tr.f("Customer {} will be merged into {}, in one step that cannot be undone.", &[&o.external_id, &me.external_id])) }
                    button { (tr.f("Merge {} into {}", &[&o.external_id, &me.external_id])) }
                    " " a href={ "/customers/" (o.id) "/merge?other=" (crate::console::shell::urlencode(&me.external_id)) } { (tr.t("Keep the other record instead")) }
                }
            }
            None if searched => {
                p role="alert" id="merge-error" { (tr.t("No customer has this shop id, email or phone.")) }
            }
            None => {}
        }
        p { a href={ "/customers/" (id) } { (tr.t("Back to the customer")) } }
    };
    v.page(&title, body).into_response()
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct MergeForm {
    csrf: String,
    other: String,
}

carries_csrf!(MergeForm);

async fn merge(
    ConsoleManager(v, _): ConsoleManager<CustomerMerging>,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Posted(f): Posted<MergeForm>,
) -> Response {
    let tr = v.tr();
    let title = tr.t("Customers not merged");
    let Ok(other) = f.other.trim().parse::<i64>() else {
        return v.bad_form(title, tr.t("Find the other record first."));
    };
    let actor = v.actor();
    let done = state.run(move |s| Ok(people::merge(s, id, other, &actor))).await;
    match done {
        Ok(Ok(_)) => Redirect::to(&format!("/customers/{id}?done=merged")).into_response(),
        Ok(Err(MergeError::Same)) => v.bad_form(title, tr.t("That is this customer.")),
        Ok(Err(MergeError::NotFound(_))) => v.not_found(),
        Ok(Err(MergeError::Erased(_))) => v.bad_form(title, tr.t("An erased customer cannot be merged.")),
        Ok(Err(MergeError::Store(e))) => ApiError::from(e).into_response(),
        Err(e) => e.into_response(),
    }
}
