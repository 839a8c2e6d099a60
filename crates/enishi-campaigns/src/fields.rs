//! The merge fields of one customer, read from the store: name, points, tier, stamps,
//! recommendations with their ratings, the latest change made after their feedback, and the
//! customer's own links (unsubscribe, survey, review, their page).

use crate::template::{
    honorific, written_date, written_time, ChangeField, CustomerField, Language, MergeFields, NameField, PointsField,
    ProductField, PromotionField, StampField,
};
use crate::Error;
use enishi_rewards::summary;
use enishi_rewards::Programs;
use enishi_store::repo::{customers, scores};
use enishi_store::Conn;

/// What every message of a campaign shares.
#[derive(Debug, Clone)]
pub struct Common {
    /// The campaign's name.
    pub campaign: String,
    /// The sender's name.
    pub sender: String,
    /// The shop's name.
    pub shop: String,
    /// The template's language.
    pub language: Language,
}

/// Up to this many recommended products.
const RECOMMENDED: usize = 3;

/// The merge fields of `customer_id` as of `now` that a template reads — `uses` answers for
/// a field's first part (`points`, `recommended`, …; [`crate::template::Compiled::uses`]) — the
/// others left empty, so that a message reads only what it shows; `unsubscribe_url` is the
/// customer's own link. The customer's name and email are always read (the message is
/// addressed with them).
pub fn merge_fields(
    c: &mut dyn Conn,
    programs: &Programs,
    customer_id: i64,
    now: i64,
    common: &Common,
    unsubscribe_url: String,
    uses: &dyn Fn(&str) -> bool,
) -> Result<MergeFields, Error> {
    let customer = customers::get(c, customer_id)?
        .ok_or_else(|| Error::NotFound(format!("customer {customer_id} does not exist")))?;
    let language = common.language;
    let mut fields = MergeFields {
        customer: CustomerField {
            honorific: honorific(customer.name.as_deref(), language),
            name: customer.name.unwrap_or_default(),
            external_id: customer.external_id,
            email: customer.email.unwrap_or_default(),
        },
        points: PointsField::default(),
        tier: String::new(),
        stamps: Vec::new(),
        recommended: Vec::new(),
        coupon: None,
        unsubscribe_url,
        survey_url: String::new(),
        review_url: String::new(),
        promotion: PromotionField::default(),
        change: ChangeField { title: String::new() },
        my_page_url: String::new(),
        sender: NameField { name: common.sender.clone() },
        shop: NameField { name: common.shop.clone() },
        campaign: NameField { name: common.campaign.clone() },
    };
    if ["points", "tier", "stamps", "promotion"].iter().any(|root| uses(root)) {
        let loyalty = summary(c, programs, customer_id, now)?;
        let tier_id = loyalty.tier.as_ref().map(|t| t.id.as_str());
        fields.promotion = promotion_field(programs, now, Promotion::Running(tier_id), language);
        let expiring = loyalty.expiring_soon.iter().map(|e| e.points).sum();
        let expiring_on = loyalty.expiring_soon.first().map(|e| written_date(e.date, language)).unwrap_or_default();
        fields.points = PointsField { balance: loyalty.balance, available: loyalty.available, expiring, expiring_on };
        fields.tier = loyalty.tier.map(|t| t.name).unwrap_or_default();
        fields.stamps =
            loyalty.stamp_cards.into_iter().map(|s| StampField { name: s.name, stamps: s.stamps, of: s.of }).collect();
    }
    if uses("recommended") {
        fields.recommended = recommended(c, customer_id)?;
    }
    if uses("survey_url") {
        fields.survey_url = crate::surveys::survey_url(c, customer_id, now)?;
    }
    if uses("review_url") {
        fields.review_url = crate::reviews::review_url(c, customer_id, now)?;
    }
    if uses("change") {
        fields.change = ChangeField { title: crate::changes::title_for(c, customer_id)? };
    }
    if uses("my_page_url") {
        fields.my_page_url = crate::my_page::link(c, customer_id, now)?;
    }
    Ok(fields)
}

/// The customer's recommended products, with their ratings.
fn recommended(c: &mut dyn Conn, customer_id: i64) -> Result<Vec<ProductField>, Error> {
    let picked: Vec<(String, Option<String>)> = scores::recommendations(c, customer_id)?
        .into_iter()
        .take(RECOMMENDED)
        .map(|(sku, name, _)| (sku, name))
        .collect();
    let skus: Vec<String> = picked.iter().map(|(sku, _)| sku.clone()).collect();
    let ratings = crate::reviews::ratings(c, &skus)?;
    Ok(picked
        .into_iter()
        .zip(ratings)
        .map(|((sku, name), r)| ProductField {
            name: name.unwrap_or_else(|| sku.clone()),
            sku,
            rating: crate::reviews::shown(&r),
            reviews: r.count,
        })
        .collect())
}

/// Which promotion a message is about.
#[derive(Debug, Clone, Copy)]
pub enum Promotion<'a> {
    /// The first promotion running at the time for a customer of this tier (or of none).
    Running(Option<&'a str>),
    /// The promotion with this id (a promotion journey's occurrence), running or not.
    Named(&'a str),
}

/// `promotion.*` as of `now` (Unix seconds): empty when no promotion is found.
pub fn promotion_field(programs: &Programs, now: i64, which: Promotion<'_>, language: Language) -> PromotionField {
    let clock = programs.clock();
    let at = enishi_store::instant(now);
    let found = match which {
        Promotion::Running(tier) => programs.at(now).and_then(|(_, p)| {
            p.doc.promotions.iter().zip(&p.windows).find(|(pr, w)| {
                w.active_at(at, clock) && (pr.tiers.is_empty() || tier.is_some_and(|t| pr.tiers.iter().any(|x| x == t)))
            })
        }),
        Promotion::Named(id) => [programs.at(now), programs.latest()]
            .into_iter()
            .flatten()
            .find_map(|(_, p)| p.doc.promotions.iter().zip(&p.windows).find(|(pr, _)| pr.id == id)),
    };
    let Some((pr, w)) = found else { return PromotionField::default() };
    let end = w.weekly.as_ref().and_then(|weekly| weekly.occurrence_at(at, clock)).map(|(_, end)| end).or(w.ends);
    PromotionField {
        name: pr.name.clone(),
        multiplier: pr.multiplier.map(|m| m.to_string()).unwrap_or_default(),
        bonus: pr.bonus.unwrap_or(0),
        ends: end
            .map(|e| {
                let local = clock.local_datetime(e);
                written_time(local.date(), local.time(), language)
            })
            .unwrap_or_default(),
    }
}

/// The promotion a journey step's message is about: the id in its key's occurrence
/// (`announce (promotion:weekend)`), if the journey was entered by a promotion's start.
pub fn promotion_of_step(step: &str) -> Option<&str> {
    let start = step.rfind("(promotion:")?;
    step[start + "(promotion:".len()..].strip_suffix(')')
}

#[cfg(test)]
mod tests {
    use super::promotion_of_step;

    #[test]
    fn a_steps_promotion_is_read_from_its_occurrence() {
        assert_eq!(promotion_of_step("announce (promotion:weekend)"), Some("weekend"));
        assert_eq!(promotion_of_step("a (b) (promotion:x (y))"), Some("x (y)"));
        assert_eq!(promotion_of_step("welcome (first)"), None);
        assert_eq!(promotion_of_step(""), None);
    }
}
