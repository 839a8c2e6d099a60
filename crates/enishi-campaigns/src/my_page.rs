//! The customer's own page (docs/listening.md): a signed link ([`crate::links`]) — printed on
//! a receipt or a card as a QR code, or put in a message as `my_page_url` — to a page where
//! the customer sees their points and changes their contact preferences, without a password.
//! The link expires after the `my_page_valid_days` setting (default a year).

use crate::links::{self, Purpose, Refused};
use crate::template::Language;
use crate::unsubscribe::{public_url, signing_key};
use crate::Error;
use enishi_core::{ConsentChannel, ConsentStatus};
use enishi_store::repo::{customers, settings};
use enishi_store::{Conn, ConsentChange, Customer};

/// Setting: days a customer page link is valid (default [`DEFAULT_VALID_DAYS`]).
pub const VALID_DAYS: &str = "my_page_valid_days";
/// A year.
pub const DEFAULT_VALID_DAYS: i64 = 365;
/// The source a change made on the page is recorded with.
pub const SOURCE: &str = "customer page";

/// The customer page link of `customer_id`, made at `now`.
pub fn link(c: &mut dyn Conn, customer_id: i64, now: i64) -> Result<String, Error> {
    let days = settings::days(c, VALID_DAYS, DEFAULT_VALID_DAYS)?;
    let (base, key) = (public_url(c)?, signing_key(c)?);
    let expires = now.saturating_add(days.saturating_mul(86_400));
    Ok(links::url(&base, &key, Purpose::MyPage, customer_id, expires))
}

/// Modules of light margin around a QR code, as the standard asks.
const QUIET_ZONE: usize = 4;

/// `link` as a QR code in SVG (to print on a receipt or a card): one unit per module, a white
/// margin of four modules, each row's dark runs as one path, the link as the image's label.
/// Medium error correction; a link too long for a QR code is refused.
pub fn qr_svg(link: &str) -> Result<String, Error> {
    let code = qrcode::QrCode::new(link.as_bytes())
        .map_err(|e| Error::Invalid(format!("link: cannot be made a QR code: {e}")))?;
    let (n, colors) = (code.width(), code.to_colors());
    let size = n + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (y, row) in colors.chunks(n).enumerate() {
        let mut x = 0;
        while x < n {
            if row[x] == qrcode::Color::Dark {
                let run = row[x..].iter().take_while(|c| **c == qrcode::Color::Dark).count();
                path += &format!("M{} {}h{run}v1h-{run}z", x + QUIET_ZONE, y + QUIET_ZONE);
                x += run;
            } else {
                x += 1;
            }
        }
    }
    let label: String = link
        .chars()
        .map(|ch| match ch {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            other => other.to_string(),
        })
        .collect();
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" width=\"{px}\" height=\"{px}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"{label}\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>",
        px = size * 6
    ))
}

/// Whose page a token opens at `now`, in their language; or why it is refused (also for a
/// customer erased or merged away since).
pub fn open(c: &mut dyn Conn, token: &str, now: i64) -> Result<Result<(Customer, Language), Refused>, Error> {
    let key = signing_key(c)?;
    let id = match links::verify(&key, Purpose::MyPage, token, now) {
        Ok(id) => id,
        Err(r) => return Ok(Err(r)),
    };
    match customers::get(c, id)? {
        Some(k) if !k.external_id.starts_with("erased:") => {
            let language = Language::of(k.locale.as_deref().unwrap_or("en"));
            Ok(Ok((k, language)))
        }
        _ => Ok(Err(Refused::Invalid)),
    }
}

/// The customer whose member card was scanned: `scanned` holds the link to their page
/// (`…/me/TOKEN`, as the card's QR code says it) with a right signature, expired or not; the
/// card of a record merged into another one is the kept customer's. `None` for anything else,
/// and for a customer erased since.
pub fn card_holder(c: &mut dyn Conn, scanned: &str) -> Result<Option<Customer>, Error> {
    let Some((_, rest)) = scanned.trim().split_once(Purpose::MyPage.path()) else { return Ok(None) };
    let token = rest.split(['?', '#', '/']).next().unwrap_or_default();
    let Some(mut id) = links::signed_id(&signing_key(c)?, Purpose::MyPage, token) else { return Ok(None) };
    if let Some(kept) = enishi_store::repo::merges::kept_for_id(c, id)? {
        id = kept;
    }
    Ok(customers::get(c, id)?.filter(|k| !k.external_id.starts_with("erased:")))
}

/// Whether the customer has opted in to `channel`.
pub fn opted_in(k: &Customer, channel: ConsentChannel) -> bool {
    k.consents.iter().any(|x| x.channel == channel && x.status == ConsentStatus::OptedIn)
}

/// Sets the customer's consent per channel as the page's form says (`wanted` lists the
/// channels they want; every other is opted out), recording each change with the source
/// [`SOURCE`]; a channel already as wanted is left alone. Returns how many changed.
pub fn set_preferences(c: &mut dyn Conn, k: &Customer, wanted: &[ConsentChannel]) -> Result<u64, Error> {
    let mut changed = 0;
    for channel in ConsentChannel::ALL {
        let want = wanted.contains(channel);
        let current = k.consents.iter().find(|x| x.channel == *channel).map(|x| x.status);
        let status = if want { ConsentStatus::OptedIn } else { ConsentStatus::OptedOut };
        // Unknown stays unknown unless the customer asks for the channel.
        if current == Some(status) || (!want && current.is_none_or(|s| s == ConsentStatus::Unknown)) {
            continue;
        }
        let change = ConsentChange { channel: *channel, status, at: None, source: SOURCE.into() };
        customers::set_consent(c, k.id, &change)?;
        changed += 1;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the dark modules back out of [`qr_svg`]'s path (`Mx yhNv1h-Nz` per run) and
    /// draws them at 4 pixels a module, as a printer would.
    fn raster(svg: &str) -> (usize, Vec<u8>) {
        let size: usize = svg.split("viewBox=\"0 0 ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
        let d = svg.split(" d=\"").nth(1).unwrap().split('"').next().unwrap();
        let px = size * 4;
        let mut image = vec![255u8; px * px];
        for run in d.split('M').filter(|r| !r.is_empty()) {
            let (xy, rest) = run.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            let len: usize = rest.split('v').next().unwrap().parse().unwrap();
            for module in x..x + len {
                for dy in 0..4 {
                    for dx in 0..4 {
                        image[(y * 4 + dy) * px + module * 4 + dx] = 0;
                    }
                }
            }
        }
        (px, image)
    }

    #[test]
    fn the_qr_code_decodes_to_the_link() {
        let link = "https://shop.example/me/42.1796083200.0123456789abcdef0123456789abcdef";
        let svg = qr_svg(link).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.ends_with("</svg>"), "{svg}");
        let (px, image) = raster(&svg);
        let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(px, px, |x, y| image[y * px + x]);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code");
        assert_eq!(grids[0].decode().unwrap().1, link);
        let hostile = qr_svg("https://x/\"><script>").unwrap();
        assert!(hostile.contains("aria-label=\"https://x/&quot;&gt;&lt;script&gt;\"") && !hostile.contains("<script>"));
        assert!(qr_svg(&"x".repeat(5_000)).is_err(), "too long for a QR code");
    }
}
