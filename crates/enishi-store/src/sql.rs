//! SQL assembled at run time — filters, list queries with optional conditions, and the segment
//! compiler to come — is built as one sea-query tree and rendered for the connection's
//! database here, so no code writes SQL text for one dialect and patches it for the other.
//! Static and bulk SQL stays hand-written in the repositories.

use crate::db::{Backend, Conn, Row, Value};
use crate::StoreError;
use sea_query::{PostgresQueryBuilder, QueryStatementWriter, SelectStatement, SqliteQueryBuilder, UpdateStatement};

/// Runs `query`, rendered for `c`'s database, and returns its rows.
pub fn select(c: &mut dyn Conn, query: &SelectStatement) -> Result<Vec<Row>, StoreError> {
    rows(c, query)
}

/// Runs an `UPDATE … RETURNING`, rendered for `c`'s database, and returns the rows it names.
pub fn update_returning(c: &mut dyn Conn, query: &UpdateStatement) -> Result<Vec<Row>, StoreError> {
    rows(c, query)
}

fn rows(c: &mut dyn Conn, query: &impl QueryStatementWriter) -> Result<Vec<Row>, StoreError> {
    let (sql, values) = match c.backend() {
        Backend::Sqlite => query.build(SqliteQueryBuilder),
        Backend::Postgres => query.build(PostgresQueryBuilder),
    };
    let params = values.into_iter().map(value).collect::<Result<Vec<_>, _>>()?;
    c.query(&sql, &params)
}

/// A sea-query value as the store binds it.
fn value(v: sea_query::Value) -> Result<Value, StoreError> {
    use sea_query::Value as V;
    let int = |n: Option<i64>| n.map_or(Value::Null, Value::Int);
    let too_big = |n: u64| StoreError::OutOfRange(format!("{n} does not fit in 64 bits"));
    Ok(match v {
        V::Bool(b) => int(b.map(i64::from)),
        V::TinyInt(n) => int(n.map(i64::from)),
        V::SmallInt(n) => int(n.map(i64::from)),
        V::Int(n) => int(n.map(i64::from)),
        V::BigInt(n) => int(n),
        V::TinyUnsigned(n) => int(n.map(i64::from)),
        V::SmallUnsigned(n) => int(n.map(i64::from)),
        V::Unsigned(n) => int(n.map(i64::from)),
        V::BigUnsigned(n) => int(n.map(|n| i64::try_from(n).map_err(|_| too_big(n))).transpose()?),
        V::Float(f) => f.map_or(Value::Null, |f| Value::Real(f64::from(f))),
        V::Double(f) => f.map_or(Value::Null, Value::Real),
        V::String(s) => s.map_or(Value::Null, Value::Text),
        V::Char(ch) => ch.map_or(Value::Null, |ch| Value::Text(ch.to_string())),
        other => return Err(StoreError::Decode(format!("a query value of a type the store does not bind: {other:?}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_bind_as_the_store_binds_them_and_never_wrap() {
        use sea_query::Value as V;
        assert_eq!(value(V::BigInt(Some(-7))).unwrap(), Value::Int(-7));
        assert_eq!(value(V::Bool(Some(true))).unwrap(), Value::Int(1));
        assert_eq!(value(V::BigUnsigned(Some(11))).unwrap(), Value::Int(11));
        assert!(matches!(value(V::BigUnsigned(Some(u64::MAX))), Err(StoreError::OutOfRange(_))));
        assert_eq!(value(V::String(Some("vip".into()))).unwrap(), Value::Text("vip".into()));
        assert_eq!(value(V::String(None)).unwrap(), Value::Null);
        assert_eq!(value(V::Double(Some(0.5))).unwrap(), Value::Real(0.5));
    }
}
