//! Coupons issued per message: a campaign with a `coupon` offer gives each recipient their own
//! coupon for a catalogue reward of the loyalty programme, valid for the campaign's number of
//! days, shown in the message as `coupon.code` and `coupon.expires_on`. It is issued once per
//! campaign and customer (its source reference names both), so a retried message shows the
//! same code.

use crate::definition::CouponOffer;
use crate::template::{written_date, CouponField, Language};
use crate::Error;
use enishi_core::BusinessClock;
use enishi_rewards::{LoyaltyError, Programs};
use enishi_store::Conn;

/// The source reference of the coupon of one campaign's message to one customer.
pub fn source_ref(campaign_id: i64, customer_id: i64) -> String {
    format!("campaign:{campaign_id}:customer:{customer_id}")
}

fn loyalty_error(e: LoyaltyError) -> Error {
    match e {
        LoyaltyError::Store(s) => Error::Store(s),
        other => Error::Invalid(format!("coupon: {other}")),
    }
}

/// The coupon of `campaign_id`'s message to `customer_id`: issued now (valid for the offer's
/// days) the first time, the same one after that.
pub fn for_message(
    c: &mut dyn Conn,
    programs: &Programs,
    offer: &CouponOffer,
    campaign_id: i64,
    customer_id: i64,
    language: Language,
) -> Result<CouponField, Error> {
    let now = c.now();
    let valid_until = now.saturating_add(i64::from(offer.valid_days) * 86_400);
    let reference = source_ref(campaign_id, customer_id);
    let (coupon, _) = enishi_rewards::issue_once(c, programs, customer_id, &offer.reward, &reference, now, valid_until)
        .map_err(loyalty_error)?;
    Ok(field(programs.clock(), coupon.code, coupon.valid_until, language))
}

/// The merge field of a coupon valid until `valid_until` (Unix seconds).
pub fn field(clock: &BusinessClock, code: String, valid_until: i64, language: Language) -> CouponField {
    let last_day = clock.local_date(enishi_store::instant(valid_until));
    CouponField { code, expires_on: written_date(last_day, language) }
}

/// Checks, when a campaign is created, that its offer names a reward of the programme in
/// force.
pub fn check_offer(c: &mut dyn Conn, offer: &CouponOffer) -> Result<(), Error> {
    let programs = Programs::load(c, BusinessClock::default())?;
    let (_, program) =
        programs.latest().ok_or_else(|| Error::Invalid("coupon: no loyalty programme has been applied".into()))?;
    if program.reward(&offer.reward).is_none() {
        return Err(Error::Invalid(format!("coupon.reward: the loyalty programme has no reward \"{}\"", offer.reward)));
    }
    Ok(())
}
