//! What a marketer does with campaigns: save templates (checked), create a campaign from its
//! document (checked against the templates and the audience), schedule it, start it
//! (materialise the audience), preview a message for a customer, cancel.

use crate::audience::{materialise, Materialised};
use crate::definition::{Audience, Channel, Definition};
use crate::fields::{merge_fields, Common};
use crate::policy::Policy;
use crate::template::{Compiled, Language, Parts, Rendered};
use crate::{unsubscribe, Error};
use enishi_core::{BusinessClock, Currency};
use enishi_rewards::Programs;
use enishi_segments::saved;
use enishi_store::repo::campaigns::{self as repo, Campaign, CampaignState, NewCampaign};
use enishi_store::repo::{customers, segments as segments_repo, settings};
use enishi_store::Conn;

/// Settings key of the shop's name (`shop.name` in templates).
pub const SHOP_NAME: &str = "shop_name";

/// Checks a template and saves it under `name` (replacing one of that name). Returns its id.
pub fn save_template(
    c: &mut dyn Conn,
    name: &str,
    locale: &str,
    parts: &Parts,
    currency: Currency,
) -> Result<i64, Error> {
    if name.trim().is_empty() || name.chars().count() > 120 {
        return Err(Error::Invalid("template name: must be 1 to 120 characters".into()));
    }
    if !matches!(locale, "ja" | "en") {
        return Err(Error::Invalid(format!("template locale: '{locale}' is not ja or en")));
    }
    Compiled::new(parts, currency)?;
    Ok(repo::save_template(c, name.trim(), locale, &parts.subject, &parts.html, &parts.text)?)
}

/// A stored template, checked and compiled, with its language.
pub fn load_template(c: &mut dyn Conn, name: &str, currency: Currency) -> Result<(Compiled, Language), Error> {
    let t = repo::template_by_name(c, name)?
        .ok_or_else(|| Error::NotFound(format!("there is no template named \"{name}\"")))?;
    let compiled = Compiled::new(&Parts { subject: t.subject, html: t.html, text: t.text }, currency)?;
    Ok((compiled, Language::of(&t.locale)))
}

/// Creates a draft campaign from its document, after checking that its templates exist and
/// compile and that its audience exists.
pub fn create(c: &mut dyn Conn, json: &str, currency: Currency) -> Result<Campaign, Error> {
    let d = Definition::parse(json)?;
    for v in &d.variants {
        if let Some(t) = &v.template {
            let (compiled, _) =
                load_template(c, t, currency).map_err(|e| Error::Invalid(format!("variant {}: {e}", v.key)))?;
            if compiled.uses("coupon") && d.coupon.is_none() {
                return Err(Error::Invalid(format!(
                    "variant {}: the template \"{t}\" shows a coupon, but the campaign issues none (add \"coupon\": {{\"reward\": …, \"valid_days\": …}})",
                    v.key
                )));
            }
        }
    }
    if let Some(offer) = &d.coupon {
        crate::coupons::check_offer(c, offer)?;
    }
    match &d.audience {
        Audience::Segment(n) => {
            saved::find(c, n)?;
        }
        Audience::List(n) => {
            if segments_repo::list_by_name(c, n)?.is_none() {
                return Err(Error::Invalid(format!("audience: there is no list named \"{n}\"")));
            }
        }
        Audience::Journey(_) => {
            return Err(Error::Invalid(
                "audience: a journey's steps are made with the journey (`enishi journey create`)".into(),
            ))
        }
    }
    let stored = serde_json::to_string(&d).map_err(|e| Error::Invalid(e.to_string()))?;
    let new = NewCampaign {
        name: &d.name,
        mailing: d.mailing(),
        version: &d.version,
        channel: d.channel.as_str(),
        definition: &stored,
    };
    let id = repo::create(c, &new)?
        .ok_or_else(|| Error::Invalid(format!("name: a campaign named \"{}\" exists", d.name)))?;
    repo::get(c, id)?.ok_or_else(|| Error::NotFound("the campaign just created".into()))
}

/// A campaign by name.
pub fn find(c: &mut dyn Conn, name: &str) -> Result<Campaign, Error> {
    repo::by_name(c, name)?.ok_or_else(|| Error::NotFound(format!("there is no campaign named \"{name}\"")))
}

/// A stored campaign's document.
pub fn definition(campaign: &Campaign) -> Result<Definition, Error> {
    Definition::parse(&campaign.definition)
}

/// Schedules a campaign for `at` (Unix seconds).
pub fn schedule(c: &mut dyn Conn, campaign: &Campaign, at: i64) -> Result<(), Error> {
    if !repo::schedule(c, campaign.id, at)? {
        return Err(Error::State(format!(
            "\"{}\" is {} and cannot be scheduled",
            campaign.name,
            campaign.state.as_str()
        )));
    }
    Ok(())
}

/// Starts a draft or scheduled campaign now: its audience is materialised and its messages
/// queued.
pub fn start(c: &mut dyn Conn, campaign: &Campaign, calendar: &BusinessClock) -> Result<Materialised, Error> {
    if !matches!(campaign.state, CampaignState::Draft | CampaignState::Scheduled) {
        return Err(Error::State(format!("\"{}\" is {} already", campaign.name, campaign.state.as_str())));
    }
    let d = definition(campaign)?;
    let policy = Policy::load(c)?;
    materialise(c, campaign, &d, &policy, calendar)?
        .ok_or_else(|| Error::State(format!("\"{}\" was started by another process", campaign.name)))
}

/// Starts every scheduled campaign whose time has come. Returns the names started.
pub fn start_due(c: &mut dyn Conn, calendar: &BusinessClock) -> Result<Vec<String>, Error> {
    let now = c.now();
    let mut started = Vec::new();
    for k in repo::due(c, now)? {
        let d = definition(&k)?;
        let policy = Policy::load(c)?;
        if materialise(c, &k, &d, &policy, calendar)?.is_some() {
            started.push(k.name);
        }
    }
    Ok(started)
}

/// The workspace values every message of `campaign` shares, for a template in `language`.
pub fn common(c: &mut dyn Conn, campaign: &Campaign, d: &Definition, language: Language) -> Result<Common, Error> {
    Ok(Common {
        campaign: campaign.name.clone(),
        sender: d.sender.name.clone(),
        shop: settings::get(c, SHOP_NAME)?.unwrap_or_default(),
        language,
    })
}

/// The message variant `variant` of `campaign` would send to the customer with the shop's id
/// `external_id`, rendered now.
pub fn preview(
    c: &mut dyn Conn,
    campaign: &Campaign,
    variant: &str,
    external_id: &str,
    currency: Currency,
    calendar: &BusinessClock,
) -> Result<Rendered, Error> {
    let d = definition(campaign)?;
    if !matches!(d.channel, Channel::Email | Channel::Webhook) {
        return Err(Error::Invalid(format!("the {} channel has no message to preview", d.channel.as_str())));
    }
    let v =
        d.variant(variant).ok_or_else(|| Error::NotFound(format!("\"{}\" has no variant {variant}", campaign.name)))?;
    let (compiled, language) = load_template(c, v.template.as_deref().unwrap_or_default(), currency)?;
    let customer = customers::get_by_external_id(c, external_id)?
        .ok_or_else(|| Error::NotFound(format!("there is no customer with id {external_id}")))?;
    let programs = Programs::load(c, *calendar)?;
    let key = unsubscribe::signing_key(c)?;
    let link = unsubscribe::link(&unsubscribe::public_url(c)?, &key, customer.id, campaign.id);
    let common = common(c, campaign, &d, language)?;
    let now = c.now();
    let mut fields = merge_fields(c, &programs, customer.id, now, &common, link, &|root| compiled.uses(root))?;
    if let Some(offer) = &d.coupon {
        // A preview shows what the coupon will look like without issuing one.
        let until = now.saturating_add(i64::from(offer.valid_days) * 86_400);
        fields.coupon = Some(crate::coupons::field(calendar, "XXXX-XXXX-XXXX".into(), until, language));
    }
    compiled.render(&fields)
}

/// Renders a template's parts, as typed or as stored, for the customer with the shop's id
/// `external_id` now (a preview: the unsubscribe link names no campaign), or for an invented
/// customer ([`crate::template::sample`]) without one.
pub fn render_for(
    c: &mut dyn Conn,
    parts: &Parts,
    language: Language,
    external_id: Option<&str>,
    currency: Currency,
    calendar: &BusinessClock,
) -> Result<Rendered, Error> {
    let compiled = Compiled::new(parts, currency)?;
    let Some(external_id) = external_id else { return compiled.render(&crate::template::sample(language)) };
    let customer = customers::get_by_external_id(c, external_id)?
        .ok_or_else(|| Error::NotFound(format!("there is no customer with id {external_id}")))?;
    let programs = Programs::load(c, *calendar)?;
    let key = unsubscribe::signing_key(c)?;
    let link = unsubscribe::link(&unsubscribe::public_url(c)?, &key, customer.id, 0);
    let shop = settings::get(c, SHOP_NAME)?.unwrap_or_default();
    let common = Common { campaign: String::new(), sender: String::new(), shop, language };
    let now = c.now();
    let fields = merge_fields(c, &programs, customer.id, now, &common, link, &|root| compiled.uses(root))?;
    compiled.render(&fields)
}

/// Cancels a campaign that has not finished.
pub fn cancel(c: &mut dyn Conn, campaign: &Campaign) -> Result<(), Error> {
    if !repo::cancel(c, campaign.id)? {
        return Err(Error::State(format!(
            "\"{}\" is {} and cannot be cancelled",
            campaign.name,
            campaign.state.as_str()
        )));
    }
    Ok(())
}
