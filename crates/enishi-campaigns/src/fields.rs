//! The merge fields of one customer, read from the store: name, points, tier, stamps,
//! recommendations with their ratings, the latest change made after their feedback, and the
//! customer's own links (unsubscribe, survey, review, their page).

use crate::template::{
    honorific, written_date, ChangeField, CustomerField, Language, MergeFields, NameField, PointsField, ProductField,
    StampField,
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

/// The merge fields of `customer_id` as of `now`; `unsubscribe_url` is the customer's own link.
pub fn merge_fields(
    c: &mut dyn Conn,
    programs: &Programs,
    customer_id: i64,
    now: i64,
    common: &Common,
    unsubscribe_url: String,
) -> Result<MergeFields, Error> {
    let customer = customers::get(c, customer_id)?
        .ok_or_else(|| Error::NotFound(format!("customer {customer_id} does not exist")))?;
    let loyalty = summary(c, programs, customer_id, now)?;
    let language = common.language;
    let expiring = loyalty.expiring_soon.iter().map(|e| e.points).sum();
    let expiring_on = loyalty.expiring_soon.first().map(|e| written_date(e.date, language)).unwrap_or_default();
    let picked: Vec<(String, Option<String>)> = scores::recommendations(c, customer_id)?
        .into_iter()
        .take(RECOMMENDED)
        .map(|(sku, name, _)| (sku, name))
        .collect();
    let skus: Vec<String> = picked.iter().map(|(sku, _)| sku.clone()).collect();
    let ratings = crate::reviews::ratings(c, &skus)?;
    let recommended = picked
        .into_iter()
        .zip(ratings)
        .map(|((sku, name), r)| ProductField {
            name: name.unwrap_or_else(|| sku.clone()),
            sku,
            rating: crate::reviews::shown(&r),
            reviews: r.count,
        })
        .collect();
    Ok(MergeFields {
        customer: CustomerField {
            honorific: honorific(customer.name.as_deref(), language),
            name: customer.name.unwrap_or_default(),
            external_id: customer.external_id,
            email: customer.email.unwrap_or_default(),
        },
        points: PointsField { balance: loyalty.balance, available: loyalty.available, expiring, expiring_on },
        tier: loyalty.tier.map(|t| t.name).unwrap_or_default(),
        stamps: loyalty
            .stamp_cards
            .into_iter()
            .map(|s| StampField { name: s.name, stamps: s.stamps, of: s.of })
            .collect(),
        recommended,
        coupon: None,
        unsubscribe_url,
        survey_url: crate::surveys::survey_url(c, customer_id, now)?,
        review_url: crate::reviews::review_url(c, customer_id, now)?,
        change: ChangeField { title: crate::changes::title_for(c, customer_id)? },
        my_page_url: crate::my_page::link(c, customer_id, now)?,
        sender: NameField { name: common.sender.clone() },
        shop: NameField { name: common.shop.clone() },
        campaign: NameField { name: common.campaign.clone() },
    })
}
