//! Repositories: the statements, grouped by what they store. Each function takes the
//! [`Conn`](crate::Conn) of a transaction opened by [`Store`](crate::Store).

pub mod accounts;
pub mod analytics;
pub mod customers;
pub mod history;
pub mod imports;
pub mod loyalty;
pub mod orders;
pub mod products;
pub mod scores;
pub mod settings;
pub mod tokens;
pub mod users;

use crate::db::{placeholders, Conn, Row, Value};
use crate::StoreError;

/// Now, in Unix seconds.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Most values bound in one IN list.
pub(crate) const IN_CHUNK: usize = 500;

/// Runs `sql_with_list` (whose `{list}` is replaced by placeholders) once per chunk of `keys`
/// and concatenates the rows.
pub(crate) fn query_in(c: &mut dyn Conn, sql_with_list: &str, keys: &[Value]) -> Result<Vec<Row>, StoreError> {
    let mut out = Vec::new();
    for part in keys.chunks(IN_CHUNK) {
        let sql = sql_with_list.replace("{list}", &placeholders(1, part.len()));
        out.extend(c.query(&sql, part)?);
    }
    Ok(out)
}
