//! Repositories: the statements, grouped by what they store. Each function takes the
//! [`Conn`](crate::Conn) of a transaction opened by [`Store`](crate::Store).

pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod campaigns;
pub mod changes;
pub mod customers;
pub mod history;
pub mod imports;
pub mod job_runs;
pub mod jobs;
pub mod joins;
pub mod journeys;
pub mod loyalty;
pub mod merges;
pub mod orders;
pub mod privacy;
pub mod products;
pub mod purchase_history;
pub mod purchase_summary;
pub mod reviews;
pub mod scores;
pub mod segments;
pub mod settings;
pub mod sign_ins;
pub mod surveys;
pub mod tasks;
pub mod tokens;
pub mod users;

use crate::db::{placeholders, Conn, Row, Value};
use crate::StoreError;

/// Most values bound in one IN list.
pub(crate) const IN_CHUNK: usize = 512;

/// The fewest values bound in one IN list (see [`query_in`]).
const IN_LEAST: usize = 8;

/// Runs `sql_with_list` (whose `{list}` is replaced by placeholders) once per chunk of `keys`
/// and concatenates the rows. A list is padded to a power of two by repeating its last key
/// (which matches no more rows), so that a handful of statement texts serve every list
/// length and stay prepared in the connection's cache instead of being compiled per call.
pub(crate) fn query_in(c: &mut dyn Conn, sql_with_list: &str, keys: &[Value]) -> Result<Vec<Row>, StoreError> {
    query_in_after(c, sql_with_list, &[], keys)
}

/// [`query_in`] for a statement that also takes `fixed` as `$1`, `$2`, …: the list's
/// placeholders follow them.
pub(crate) fn query_in_after(
    c: &mut dyn Conn,
    sql_with_list: &str,
    fixed: &[Value],
    keys: &[Value],
) -> Result<Vec<Row>, StoreError> {
    let mut out = Vec::new();
    let mut params = Vec::new();
    for part in keys.chunks(IN_CHUNK) {
        let n = part.len().next_power_of_two().max(IN_LEAST);
        params.clear();
        params.extend_from_slice(fixed);
        params.extend_from_slice(part);
        params.resize(fixed.len() + n, part[part.len() - 1].clone());
        let sql = sql_with_list.replace("{list}", &placeholders(fixed.len() + 1, n));
        out.extend(c.query(&sql, &params)?);
    }
    Ok(out)
}
