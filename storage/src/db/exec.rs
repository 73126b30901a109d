//! One small interface for the statements of a transaction, so that each
//! hot transaction (the event write, the claim, the recording of outcomes)
//! is written once and run by whichever driver holds the transaction:
//! sqlx's connection (SQLite or PostgreSQL) or SQLite's direct writer
//! (rusqlite, on its own thread).
//!
//! The direct writer's methods never wait: their futures are ready when
//! first polled, so its thread runs a whole transaction with [`ready`],
//! without a runtime.

use super::direct::Val;
use super::Backend;
use crate::Error;

/// A row of a statement's result, read by column index.
pub trait Row {
    fn int(&self, i: usize) -> Result<Option<i64>, Error>;
    fn text(&self, i: usize) -> Result<Option<String>, Error>;

    /// A column that is never NULL.
    fn req_int(&self, i: usize) -> Result<i64, Error> {
        self.int(i)?
            .ok_or_else(|| crate::error::internal("row", &format!("column {i} is NULL")))
    }

    fn req_text(&self, i: usize) -> Result<String, Error> {
        self.text(i)?
            .ok_or_else(|| crate::error::internal("row", &format!("column {i} is NULL")))
    }
}

/// Runs statements inside an open transaction. SQL is written with `$n`
/// parameters, or with anonymous `?` in binding order where
/// [`Exec::numbered`] says so: SQLite finds a numbered parameter (`$7`) by
/// walking the statement's list of names, once per parameter bound, which
/// is quadratic in a multi-row INSERT of a thousand parameters (it showed
/// in profiles of the event writer); `?` are bound in order, no lookup.
#[allow(async_fn_in_trait)]
pub trait Exec {
    /// The database the statements run on.
    fn backend(&self) -> Backend;

    /// Whether generated SQL should name its parameters `$n` (PostgreSQL)
    /// or use `?` (SQLite).
    fn numbered(&self) -> bool {
        self.backend() == Backend::Postgres
    }

    /// Runs `sql` with `values`; answers the rows it changed.
    async fn execute(&mut self, sql: &str, values: &[Val<'_>]) -> Result<u64, Error>;

    /// Runs `sql` with `values` and reads each row with `read`.
    async fn fetch<T>(
        &mut self,
        sql: &str,
        values: &[Val<'_>],
        read: fn(&dyn Row) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error>;

    /// The one integer `sql` answers.
    async fn fetch_int(&mut self, sql: &str, values: &[Val<'_>]) -> Result<i64, Error> {
        let mut rows = self.fetch(sql, values, |r| r.req_int(0)).await?;
        match rows.len() {
            1 => Ok(rows.remove(0)),
            n => Err(crate::error::internal(
                "exec",
                &format!("{n} rows where one was expected"),
            )),
        }
    }
}

/// Runs a future that never waits (the direct writer's work) to its end.
pub fn ready<T>(work: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
    let mut work = std::pin::pin!(work);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match work.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => Err(crate::error::internal(
            "sqlite writer",
            &"a direct transaction waited",
        )),
    }
}

/// Binds `values` in order to an sqlx query.
macro_rules! bound {
    ($q:expr, $values:expr) => {{
        let mut q = $q;
        for v in $values {
            q = match *v {
                Val::Int(x) => q.bind(x),
                Val::Text(x) => q.bind(x),
            };
        }
        q
    }};
}

/// [`Exec`] for sqlx's connections (inside a transaction: pass `&mut *tx`).
macro_rules! sqlx_exec {
    ($conn:ty, $row:ty, $backend:expr) => {
        impl Row for $row {
            fn int(&self, i: usize) -> Result<Option<i64>, Error> {
                Ok(sqlx::Row::try_get(self, i)?)
            }
            fn text(&self, i: usize) -> Result<Option<String>, Error> {
                Ok(sqlx::Row::try_get(self, i)?)
            }
        }

        impl Exec for $conn {
            fn backend(&self) -> Backend {
                $backend
            }

            async fn execute(&mut self, sql: &str, values: &[Val<'_>]) -> Result<u64, Error> {
                let q = bound!(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), values);
                Ok(q.execute(&mut *self).await?.rows_affected())
            }

            async fn fetch<T>(
                &mut self,
                sql: &str,
                values: &[Val<'_>],
                read: fn(&dyn Row) -> Result<T, Error>,
            ) -> Result<Vec<T>, Error> {
                let q = bound!(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())), values);
                let rows = q.fetch_all(&mut *self).await?;
                rows.iter().map(|r| read(r)).collect()
            }
        }
    };
}

sqlx_exec!(
    sqlx::SqliteConnection,
    sqlx::sqlite::SqliteRow,
    Backend::Sqlite
);
sqlx_exec!(sqlx::PgConnection, sqlx::postgres::PgRow, Backend::Postgres);

/// [`Exec`] for the direct writer's transaction.
pub struct Direct<'a, 'c>(pub &'a rusqlite::Transaction<'c>);

impl Row for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> Result<Option<i64>, Error> {
        Ok(self.get(i)?)
    }
    fn text(&self, i: usize) -> Result<Option<String>, Error> {
        Ok(self.get(i)?)
    }
}

impl Direct<'_, '_> {
    /// A cached statement with `values` bound: in order for `?`, by name
    /// for `$n` (which SQL shared with PostgreSQL may use out of order or
    /// twice).
    fn prepare(
        &self,
        sql: &str,
        values: &[Val<'_>],
    ) -> Result<rusqlite::CachedStatement<'_>, Error> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let named = stmt.parameter_count() > 0
            && stmt.parameter_name(1).is_some_and(|n| n.starts_with('$'));
        if named {
            for (i, v) in values.iter().enumerate() {
                if let Some(at) = stmt.parameter_index(&format!("${}", i + 1))? {
                    stmt.raw_bind_parameter(at, v)?;
                }
            }
        } else {
            for (i, v) in values.iter().enumerate() {
                stmt.raw_bind_parameter(i + 1, v)?;
            }
        }
        Ok(stmt)
    }
}

impl Exec for Direct<'_, '_> {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn execute(&mut self, sql: &str, values: &[Val<'_>]) -> Result<u64, Error> {
        let mut stmt = self.prepare(sql, values)?;
        Ok(stmt.raw_execute()? as u64)
    }

    async fn fetch<T>(
        &mut self,
        sql: &str,
        values: &[Val<'_>],
        read: fn(&dyn Row) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        let mut stmt = self.prepare(sql, values)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(read(row)?);
        }
        Ok(out)
    }
}
