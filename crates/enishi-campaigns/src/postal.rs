//! Postal direct mail: a started postal campaign's queued letters are exported as a print
//! shop's mailing list (Japanese address order, 〒-sorted; one file per variant when the
//! versions differ), and recorded as sent when the marketer confirms they were posted.

use crate::definition::Channel;
use crate::Error;
use enishi_store::repo::campaigns::{self as repo, Campaign, CampaignState, Delivered};
use enishi_store::repo::segments::{self as segments_repo, Contact};
use enishi_store::Conn;

fn postal(campaign: &Campaign) -> Result<(), Error> {
    if campaign.channel != Channel::Postal.as_str() {
        return Err(Error::Invalid(format!("\"{}\" is a {} campaign, not postal", campaign.name, campaign.channel)));
    }
    if campaign.state != CampaignState::Sending {
        return Err(Error::State(format!(
            "\"{}\" is {}: start it first (enishi campaign start), then export and confirm its letters",
            campaign.name,
            campaign.state.as_str()
        )));
    }
    Ok(())
}

/// The letters still to post, as contacts for the mailing list (of one variant, or all).
pub fn mailing_list(c: &mut dyn Conn, campaign: &Campaign, variant: Option<&str>) -> Result<Vec<Contact>, Error> {
    postal(campaign)?;
    let ids: Vec<i64> = repo::queued(c, campaign.id, variant)?.into_iter().map(|(id, _)| id).collect();
    Ok(segments_repo::contacts(c, &ids)?)
}

/// Records the queued letters (of one variant, or all) as posted now, on each customer's
/// communication history; the campaign is done when none is left. Returns how many.
pub fn confirm(c: &mut dyn Conn, campaign: &Campaign, variant: Option<&str>) -> Result<usize, Error> {
    postal(campaign)?;
    let now = c.now();
    let letters = repo::queued(c, campaign.id, variant)?;
    for (customer_id, arm) in &letters {
        let subject = format!("letter: {} ({arm})", campaign.name);
        let d = Delivered {
            campaign_id: campaign.id,
            campaign: &campaign.name,
            customer_id: *customer_id,
            channel: "postal",
            arm,
            subject: &subject,
            at: now,
            note: None,
        };
        repo::mark_sent(c, &d)?;
    }
    repo::finish_settled(c, now)?;
    Ok(letters.len())
}
