//! The console: server-rendered pages (maud, escaped by default) in the visitor's language, one
//! module per page group. `shell` is what every page shares — signing in, the visitor and the
//! role extractors, the page frame, refusals — with `i18n` (the two languages), `charts` (SVG
//! charts) and `sign_in` (throttled password checks); each other module is one group of pages
//! and registers its own routes.

pub(crate) mod admin;
pub(crate) mod analytics;
pub(crate) mod campaigns;
pub(crate) mod charts;
pub(crate) mod corrections;
pub(crate) mod customer_list;
pub(crate) mod customers;
pub(crate) mod dashboard;
pub(crate) mod feedback;
pub(crate) mod follow_up;
pub(crate) mod format;
pub(crate) mod i18n;
pub(crate) mod imports;
mod join_card;
pub(crate) mod journeys;
pub(crate) mod loyalty;
pub(crate) mod member_card;
pub(crate) mod names;
pub(crate) mod notices;
pub(crate) mod people;
pub(crate) mod privacy;
pub(crate) mod programme;
pub(crate) mod programme_forms;
pub(crate) mod segments;
pub(crate) mod shell;
pub(crate) mod sign_in;
pub(crate) mod surveys;
pub(crate) mod templates;
pub(crate) mod till;
pub(crate) mod till_home;
pub(crate) mod tokens;

use crate::AppState;
use axum::Router;

/// Every console page.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .merge(shell::routes())
        .merge(customers::routes())
        .merge(dashboard::routes())
        .merge(customer_list::routes())
        .merge(till::routes())
        .merge(corrections::routes())
        .merge(till_home::routes())
        .merge(people::routes())
        .merge(follow_up::routes())
        .merge(feedback::routes())
        .merge(loyalty::routes())
        .merge(programme::routes())
        .merge(tokens::routes())
        .merge(imports::routes())
        .merge(analytics::routes())
        .merge(admin::routes())
        .merge(privacy::routes())
        .merge(segments::routes())
        .merge(templates::routes())
        .merge(campaigns::routes())
        .merge(journeys::routes())
        .merge(surveys::routes())
        .merge(member_card::routes())
        .merge(join_card::routes())
}
