//! One SQL interface over two databases.
//!
//! Repositories are written once against [`Conn`], in PostgreSQL's dialect with `$1`-style
//! placeholders (SQLite reads them as `?1`). Values travel as [`Value`]: integers, floats,
//! text or NULL, which both databases store natively (money is a scaled integer, time is
//! Unix seconds).

use crate::StoreError;
use enishi_core::Clock;
use postgres::types::{IsNull, Type};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

/// A value bound to or read from SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// A double.
    Real(f64),
    /// Text.
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// A value for a bulk insert: a [`Value`] whose text is borrowed where it can be, so that
/// rows bound once need not copy their strings first.
#[derive(Debug, Clone, PartialEq)]
pub enum Param<'a> {
    /// SQL NULL.
    Null,
    /// A 64-bit integer.
    Int(i64),
    /// A double.
    Real(f64),
    /// Text, borrowed or owned.
    Text(Cow<'a, str>),
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}
impl From<f64> for Param<'_> {
    fn from(v: f64) -> Self {
        Param::Real(v)
    }
}
impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(Cow::Borrowed(v))
    }
}
impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(Cow::Borrowed(v))
    }
}
impl From<String> for Param<'_> {
    fn from(v: String) -> Self {
        Param::Text(Cow::Owned(v))
    }
}
impl<'a> From<&'a Value> for Param<'a> {
    fn from(v: &'a Value) -> Self {
        match v {
            Value::Null => Param::Null,
            Value::Int(i) => Param::Int(*i),
            Value::Real(f) => Param::Real(*f),
            Value::Text(t) => Param::Text(Cow::Borrowed(t)),
        }
    }
}
impl<'a, T: Into<Param<'a>>> From<Option<T>> for Param<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}

/// Rows for a bulk insert, kept flat (`width` values after another) so that building them
/// allocates once, not once per row.
#[derive(Debug, Clone, Default)]
pub struct Rows<'a> {
    width: usize,
    values: Vec<Param<'a>>,
}

impl<'a> Rows<'a> {
    /// Collects rows of `N` values each.
    pub fn collect<const N: usize>(rows: impl IntoIterator<Item = [Param<'a>; N]>) -> Self {
        let rows = rows.into_iter();
        let mut out = Rows { width: N, values: Vec::with_capacity(rows.size_hint().0 * N) };
        for row in rows {
            out.values.extend(row);
        }
        out
    }

    /// Room for `rows` rows of `width` values, allocated once.
    pub fn with_capacity(rows: usize, width: usize) -> Self {
        Rows { width, values: Vec::with_capacity(rows * width) }
    }

    /// Adds a row of `N` values: as many as the rows already there.
    pub fn push<const N: usize>(&mut self, row: [Param<'a>; N]) {
        if self.values.is_empty() {
            self.width = N;
        }
        assert_eq!(self.width, N, "every row of an insert has the same width");
        self.values.extend(row);
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The rows, each a slice of `width` values.
    pub fn iter(&self) -> impl Iterator<Item = &[Param<'a>]> {
        self.values.chunks(self.width.max(1))
    }

    /// Checks that the rows have one value per column.
    fn check(&self, table: &str, columns: &[&str]) -> Result<(), StoreError> {
        if self.values.is_empty() || self.width == columns.len() {
            Ok(())
        } else {
            Err(StoreError::Database(format!(
                "insert into {table}: rows of {} values for {} columns",
                self.width,
                columns.len()
            )))
        }
    }
}

/// Builds a parameter list: `params![a, b, c]`.
#[macro_export]
macro_rules! params {
    ($($v:expr),* $(,)?) => { &[$($crate::db::Value::from($v)),*][..] };
}

/// One result row, its columns read by position (`row.int(0)`) or, in new code, by name
/// (`row.int("id")`).
#[derive(Clone)]
pub struct Row {
    values: Vec<Value>,
    columns: Arc<[String]>,
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Row").field(&self.values).finish()
    }
}

/// How a column is named in [`Row`]'s getters: its position (`usize`) or its name (`&str`, as
/// the query's select list or `AS` gives it).
pub trait Column: Copy + std::fmt::Display {
    /// The column's position in `row`.
    fn position(self, row: &Row) -> Result<usize, StoreError>;
}

impl Column for usize {
    fn position(self, _: &Row) -> Result<usize, StoreError> {
        Ok(self)
    }
}

impl Column for &str {
    fn position(self, row: &Row) -> Result<usize, StoreError> {
        row.columns.iter().position(|c| c == self).ok_or_else(|| StoreError::Decode(format!("no column named {self}")))
    }
}

impl Row {
    fn new(columns: Arc<[String]>) -> Row {
        Row { values: Vec::with_capacity(columns.len()), columns }
    }

    fn at(&self, i: impl Column) -> Result<&Value, StoreError> {
        self.values.get(i.position(self)?).ok_or_else(|| StoreError::Decode(format!("no column {i}")))
    }

    /// A non-NULL integer column.
    pub fn int(&self, i: impl Column) -> Result<i64, StoreError> {
        self.opt_int(i)?.ok_or_else(|| StoreError::Decode(format!("column {i} is NULL")))
    }

    /// An integer column that may be NULL.
    pub fn opt_int(&self, i: impl Column) -> Result<Option<i64>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            // Within ±2^63 exactly; beyond it, `as` would cap silently (SQLite turns an
            // integer sum that overflows in arithmetic into a real).
            Value::Real(v) if v.fract() == 0.0 && v.abs() < 9.223_372_036_854_775e18 => Ok(Some(*v as i64)),
            Value::Real(v) if v.fract() == 0.0 => {
                Err(StoreError::OutOfRange(format!("column {i} ({v}) does not fit in 64 bits")))
            }
            // A PostgreSQL numeric too large for 64 bits arrives as its text.
            Value::Text(t) if t.parse::<i128>().is_ok() => {
                Err(StoreError::OutOfRange(format!("column {i} ({t}) does not fit in 64 bits")))
            }
            other => Err(StoreError::Decode(format!("column {i} is not an integer: {other:?}"))),
        }
    }

    /// A non-NULL float column (integers are widened).
    pub fn real(&self, i: impl Column) -> Result<f64, StoreError> {
        match self.at(i)? {
            Value::Int(v) => Ok(*v as f64),
            Value::Real(v) => Ok(*v),
            other => Err(StoreError::Decode(format!("column {i} is not a number: {other:?}"))),
        }
    }

    /// A non-NULL text column.
    pub fn text(&self, i: impl Column) -> Result<String, StoreError> {
        self.opt_text(i)?.ok_or_else(|| StoreError::Decode(format!("column {i} is NULL")))
    }

    /// A text column that may be NULL.
    pub fn opt_text(&self, i: impl Column) -> Result<Option<String>, StoreError> {
        match self.at(i)? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v.clone())),
            other => Err(StoreError::Decode(format!("column {i} is not text: {other:?}"))),
        }
    }
}

/// Which database a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// A connection inside a transaction. Everything a repository does goes through this.
pub trait Conn {
    /// The database behind the connection.
    fn backend(&self) -> Backend;
    /// The store's clock (see [`Store::with_clock`](crate::Store::with_clock)).
    fn clock(&self) -> &dyn Clock;
    /// Now, in Unix seconds, by the store's clock.
    fn now(&self) -> i64 {
        self.clock().timestamp()
    }
    /// Runs one statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;
    /// Inserts many rows into `table` as fast as the backend allows, each statement ending
    /// with `suffix` (an `ON CONFLICT` clause, or nothing).
    fn insert_rows_then(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &Rows<'_>,
        suffix: &str,
    ) -> Result<(), StoreError>;
    /// Inserts many rows into `table` as fast as the backend allows.
    fn insert_rows(&mut self, table: &str, columns: &[&str], rows: &Rows<'_>) -> Result<(), StoreError> {
        self.insert_rows_then(table, columns, rows, "")
    }
    /// Inserts many rows, or updates every other column of the row with the same `key`.
    fn upsert_rows(&mut self, table: &str, key: &str, columns: &[&str], rows: &Rows<'_>) -> Result<(), StoreError> {
        let updates: Vec<String> =
            columns.iter().filter(|c| **c != key).map(|c| format!("{c} = excluded.{c}")).collect();
        self.insert_rows_then(
            table,
            columns,
            rows,
            &format!(" ON CONFLICT ({key}) DO UPDATE SET {}", updates.join(", ")),
        )
    }
    /// Reserves `n` fresh primary keys for `table`, to insert rows whose children need the key.
    fn reserve_ids(&mut self, table: &str, n: usize) -> Result<Vec<i64>, StoreError>;
    /// Runs several statements separated by semicolons (migrations).
    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError>;
    /// Runs a query and hands each row to `f` as it arrives, without holding them all.
    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Runs one query and returns its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut out = Vec::new();
        self.query_each(sql, params, &mut |r| {
            out.push(r.clone());
            Ok(())
        })?;
        Ok(out)
    }

    /// Runs a query expected to return at most one row.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// Runs a query expected to return exactly one row.
    fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Row, StoreError> {
        self.query_opt(sql, params)?.ok_or_else(|| StoreError::Decode("query returned no row".into()))
    }
}

/// `$1, $2, …, $n` starting at `from`, for IN lists and VALUES tuples.
pub fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

// ---------------------------------------------------------------- SQLite

/// Rewrites `$1` placeholders as SQLite's `?1` (bytewise: every statement goes through here).
fn sqlite_sql(sql: &str) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let (mut copied, mut from) = (0, 0);
    while let Some(offset) = bytes[from..].iter().position(|&b| b == b'$') {
        let at = from + offset;
        if bytes.get(at + 1).is_some_and(u8::is_ascii_digit) {
            // `$` is ASCII, so `at` is a character boundary.
            out.push_str(&sql[copied..at]);
            out.push('?');
            copied = at + 1;
        }
        from = at + 1;
    }
    out.push_str(&sql[copied..]);
    out
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
        })
    }
}

impl rusqlite::ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Param::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Param::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Param::Real(v) => ToSqlOutput::Borrowed(ValueRef::Real(*v)),
            Param::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
        })
    }
}

fn sqlite_value(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
    }
}

/// Rows per multi-row INSERT on SQLite.
const SQLITE_INSERT_CHUNK: usize = 32;

/// The text of an SQLite INSERT of `n` rows into `columns` of `table`, with SQLite's `?N`
/// placeholders, ending with `suffix`. `OR FAIL`: a row that breaks a constraint stops the
/// statement without undoing the rows before it, which the transaction's rollback undoes; so,
/// unless foreign keys are checked (see [`crate::Store::bulk_write`]), SQLite keeps no
/// statement journal to undo a multi-row statement on its own.
fn sqlite_insert(table: &str, columns: &[&str], n: usize, suffix: &str) -> String {
    use std::fmt::Write;
    let width = columns.len();
    let mut sql = String::with_capacity(64 + n * width * 6 + suffix.len());
    let _ = write!(sql, "INSERT OR FAIL INTO {table} ({}) VALUES ", columns.join(", "));
    for r in 0..n {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..width {
            let _ = write!(sql, "{}?{}", if c == 0 { "" } else { ", " }, r * width + c + 1);
        }
        sql.push(')');
    }
    sql.push_str(&sqlite_sql(suffix));
    sql
}

/// A SQLite transaction seen as a [`Conn`].
pub struct SqliteConn<'a>(pub(crate) &'a rusqlite::Transaction<'a>, pub(crate) &'a dyn Clock);

impl Conn for SqliteConn<'_> {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn clock(&self) -> &dyn Clock {
        self.1
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut st = self.0.prepare_cached(&sqlite_sql(sql))?;
        Ok(st.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn insert_rows_then(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &Rows<'_>,
        suffix: &str,
    ) -> Result<(), StoreError> {
        rows.check(table, columns)?;
        if rows.is_empty() {
            return Ok(());
        }
        // Statements of many rows each, reused (each execution opens the table's cursors once
        // for all of them), then one of a single row for what is left.
        let width = columns.len();
        let many = SQLITE_INSERT_CHUNK;
        let statement = |n: usize| sqlite_insert(table, columns, n, suffix);
        let split = if rows.len() >= many { rows.len() / many * many * width } else { 0 };
        let (full, rest) = rows.values.split_at(split);
        if !full.is_empty() {
            let mut st = self.0.prepare_cached(&statement(many))?;
            for part in full.chunks(many * width) {
                for (i, v) in part.iter().enumerate() {
                    st.raw_bind_parameter(i + 1, v)?;
                }
                st.raw_execute()?;
            }
        }
        if !rest.is_empty() {
            let mut st = self.0.prepare_cached(&statement(1))?;
            for row in rest.chunks(width) {
                for (i, v) in row.iter().enumerate() {
                    st.raw_bind_parameter(i + 1, v)?;
                }
                st.raw_execute()?;
            }
        }
        Ok(())
    }

    fn reserve_ids(&mut self, table: &str, n: usize) -> Result<Vec<i64>, StoreError> {
        // Writers hold SQLite's single write lock (BEGIN IMMEDIATE), so MAX(id) is stable
        // until this transaction inserts the rows.
        let next: i64 = self.0.query_row(&format!("SELECT COALESCE(MAX(id), 0) + 1 FROM {table}"), [], |r| r.get(0))?;
        Ok((next..next + n as i64).collect())
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.0.execute_batch(sql)?)
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut st = self.0.prepare_cached(&sqlite_sql(sql))?;
        let n = st.column_count();
        let mut row = Row::new(sqlite_columns(&st));
        let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
        while let Some(r) = rows.next()? {
            row.values.clear();
            read_row(r, n, &mut row.values)?;
            f(&row)?;
        }
        Ok(())
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        // As `query_each`, but each row is built in place rather than copied out.
        let mut st = self.0.prepare_cached(&sqlite_sql(sql))?;
        let n = st.column_count();
        let columns = sqlite_columns(&st);
        let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Row::new(columns.clone());
            read_row(r, n, &mut row.values)?;
            out.push(row);
        }
        Ok(out)
    }
}

/// The names of a SQLite statement's columns.
fn sqlite_columns(st: &rusqlite::Statement<'_>) -> Arc<[String]> {
    st.column_names().into_iter().map(str::to_string).collect()
}

/// The `n` columns of a SQLite row, appended to `into`.
fn read_row(r: &rusqlite::Row<'_>, n: usize, into: &mut Vec<Value>) -> Result<(), StoreError> {
    for i in 0..n {
        into.push(sqlite_value(r.get_ref(i)?));
    }
    Ok(())
}

// ---------------------------------------------------------------- PostgreSQL

impl postgres::types::ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Int(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::FLOAT8 => (*v as f64).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => v.to_string().to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Param::Real(v) => match *ty {
                Type::FLOAT4 => (*v as f32).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Param::Text(v) => v.as_ref().to_sql(&Type::TEXT, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

impl postgres::types::ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Param::from(self).to_sql(ty, out)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

fn pg_value(row: &postgres::Row, i: usize) -> Result<Value, StoreError> {
    let ty = row.columns()[i].type_();
    let v = match *ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map(|v| Value::Int(v.into())),
        Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(|v| Value::Int(v.into())),
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(|v| Value::Int(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Value::Real),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i)?.map(|v| Value::Real(v.into())),
        Type::NUMERIC => row.try_get::<_, Option<rust_decimal::Decimal>>(i)?.map(|d| {
            if d.fract().is_zero() {
                i64::try_from(d).map_or(Value::Text(d.to_string()), Value::Int)
            } else {
                Value::Real(f64::try_from(d).unwrap_or(f64::NAN))
            }
        }),
        _ => row.try_get::<_, Option<String>>(i)?.map(Value::Text),
    };
    Ok(v.unwrap_or(Value::Null))
}

/// A PostgreSQL connection with its cache of prepared statements.
pub struct PgSession {
    pub(crate) client: postgres::Client,
    pub(crate) statements: HashMap<String, postgres::Statement>,
}

/// Most prepared statements kept per connection.
const PG_STATEMENT_CACHE: usize = 256;

/// A PostgreSQL transaction seen as a [`Conn`].
pub struct PgConn<'a> {
    pub(crate) tx: postgres::Transaction<'a>,
    pub(crate) statements: &'a mut HashMap<String, postgres::Statement>,
    pub(crate) clock: &'a dyn Clock,
}

impl PgConn<'_> {
    fn statement(&mut self, sql: &str) -> Result<postgres::Statement, StoreError> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.tx.prepare(sql)?;
        if self.statements.len() >= PG_STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

fn pg_params(params: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect()
}

/// Rows per multi-row INSERT on PostgreSQL (bounded by its 65,535 parameters).
const PG_INSERT_CHUNK: usize = 1000;

impl Conn for PgConn<'_> {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn clock(&self) -> &dyn Clock {
        self.clock
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let st = self.statement(sql)?;
        Ok(self.tx.execute(&st, &pg_params(params))?)
    }

    fn insert_rows_then(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &Rows<'_>,
        suffix: &str,
    ) -> Result<(), StoreError> {
        rows.check(table, columns)?;
        let width = columns.len().max(1);
        let chunk = PG_INSERT_CHUNK.min(65_535 / width) * width;
        for part in rows.values.chunks(chunk) {
            let tuples: Vec<String> =
                (0..part.len() / width).map(|r| format!("({})", placeholders(r * width + 1, width))).collect();
            let sql = format!("INSERT INTO {table} ({}) VALUES {}{suffix}", columns.join(", "), tuples.join(", "));
            let st = self.statement(&sql)?;
            let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
                part.iter().map(|p| p as &(dyn postgres::types::ToSql + Sync)).collect();
            self.tx.execute(&st, &params)?;
        }
        Ok(())
    }

    fn reserve_ids(&mut self, table: &str, n: usize) -> Result<Vec<i64>, StoreError> {
        let sql = format!("SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, $1)");
        self.query(&sql, &[Value::Int(n as i64)])?.iter().map(|r| r.int(0)).collect()
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.tx.batch_execute(sql)?)
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let st = self.statement(sql)?;
        let columns: Arc<[String]> = st.columns().iter().map(|c| c.name().to_string()).collect();
        let mut rows = self.tx.query_raw(&st, params.iter())?;
        while let Some(r) = postgres::fallible_iterator::FallibleIterator::next(&mut rows)? {
            let mut row = Row::new(columns.clone());
            for i in 0..r.len() {
                row.values.push(pg_value(&r, i)?);
            }
            f(&row)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- a small pool

/// A bounded pool of connections, created on demand.
pub(crate) struct Pool<T> {
    idle: Mutex<(Vec<T>, usize)>,
    freed: Condvar,
    max: usize,
    make: Box<dyn Fn() -> Result<T, StoreError> + Send + Sync>,
}

impl<T> Pool<T> {
    pub(crate) fn new(max: usize, make: impl Fn() -> Result<T, StoreError> + Send + Sync + 'static) -> Self {
        Pool { idle: Mutex::new((Vec::new(), 0)), freed: Condvar::new(), max, make: Box::new(make) }
    }

    /// (connections open, of them idle, the most allowed).
    pub(crate) fn stats(&self) -> (usize, usize, usize) {
        self.idle.lock().map(|g| (g.1, g.0.len(), self.max)).unwrap_or((0, 0, self.max))
    }

    /// Takes every idle connection out of the pool (to close them somewhere safe).
    pub(crate) fn drain(&self) -> Vec<T> {
        self.idle.lock().map(|mut g| std::mem::take(&mut g.0)).unwrap_or_default()
    }

    /// Takes a connection, waiting for one when all `max` are in use, but no longer than
    /// [`CHECKOUT_TIMEOUT`]: then [`StoreError::Busy`], instead of a queue without limit.
    pub(crate) fn get(&self) -> Result<Pooled<'_, T>, StoreError> {
        let deadline = std::time::Instant::now() + CHECKOUT_TIMEOUT;
        let mut guard = self.idle.lock().map_err(|_| StoreError::Database("pool poisoned".into()))?;
        loop {
            if let Some(c) = guard.0.pop() {
                return Ok(Pooled { pool: self, conn: Some(c) });
            }
            if guard.1 < self.max {
                guard.1 += 1;
                drop(guard);
                return match (self.make)() {
                    Ok(c) => Ok(Pooled { pool: self, conn: Some(c) }),
                    Err(e) => {
                        if let Ok(mut g) = self.idle.lock() {
                            g.1 -= 1;
                        }
                        Err(e)
                    }
                };
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(StoreError::Busy);
            }
            guard = self.freed.wait_timeout(guard, left).map_err(|_| StoreError::Database("pool poisoned".into()))?.0;
        }
    }
}

/// Longest wait for a pooled connection before the caller is told to come back later.
pub(crate) const CHECKOUT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A connection borrowed from a [`Pool`]; it goes back on drop (or is discarded when broken).
pub(crate) struct Pooled<'a, T> {
    pool: &'a Pool<T>,
    conn: Option<T>,
}

impl<T> Pooled<'_, T> {
    pub(crate) fn get_mut(&mut self) -> &mut T {
        self.conn.as_mut().expect("connection present until drop")
    }

    /// Drops the connection instead of returning it (after a connection-level failure).
    pub(crate) fn discard(mut self) {
        self.conn = None;
    }
}

impl<T> Drop for Pooled<'_, T> {
    fn drop(&mut self) {
        if let Ok(mut g) = self.pool.idle.lock() {
            match self.conn.take() {
                Some(c) => g.0.push(c),
                None => g.1 -= 1,
            }
        }
        self.pool.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_for_sqlite() {
        assert_eq!(sqlite_sql("SELECT $1, $12 WHERE a = '$'"), "SELECT ?1, ?12 WHERE a = '$'");
        assert_eq!(sqlite_sql("SELECT '縁$', $3$"), "SELECT '縁$', ?3$");
        assert_eq!(sqlite_sql("$1"), "?1");
        assert_eq!(placeholders(3, 2), "$3, $4");
    }

    #[test]
    fn a_pool_in_use_answers_busy_after_the_checkout_timeout_instead_of_queueing() {
        let pool = Pool::new(1, || Ok(()));
        let held = pool.get().unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(pool.get(), Err(StoreError::Busy)));
        assert!(started.elapsed() >= CHECKOUT_TIMEOUT);
        drop(held);
        assert!(pool.get().is_ok(), "a returned connection is handed out again");
    }
}
