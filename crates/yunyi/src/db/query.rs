//! Queries on either backend in one line: the SQL, a tuple of values, a typed result.
//!
//! ```ignore
//! let row: Option<Consultation> = db.optional(&sql, (id,)).await?;
//! let n = tx.execute("UPDATE slot SET held = held - 1 WHERE id = $1", (slot,)).await?;
//! ```
//!
//! The values are encoded for the backend the pool or transaction holds, so a store function
//! is its SQL and its binds, not the same `.bind` chain written once per backend. Dynamic
//! searches build their SQL with [`Sql`], which numbers the placeholders as values are pushed:
//! a filter that is not given is left out of the statement rather than written as
//! `$n IS NULL OR …`, which PostgreSQL's cached generic plans cannot use an index for.

use sqlx::postgres::{PgArguments, PgRow};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments as _, Decode, Encode, FromRow, Postgres, Sqlite, Type};

use super::{Db, Tx};

type EncodeResult<T> = Result<T, sqlx::Error>;

/// A value both backends can bind (integers, text, booleans, floats, their `Option`s).
pub trait Value<'q>:
    Send + 'q + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>
{
}

impl<'q, T> Value<'q> for T where
    T: Send + 'q + Encode<'q, Sqlite> + Type<Sqlite> + Encode<'q, Postgres> + Type<Postgres>
{
}

/// The values of one statement, in placeholder order: a tuple of [`Value`]s, or [`Params`].
pub trait Args<'q>: Send {
    fn sqlite(self) -> EncodeResult<SqliteArguments<'q>>;
    fn postgres(self) -> EncodeResult<PgArguments>;
}

macro_rules! tuple_args {
    ($($T:ident $i:tt),*) => {
        impl<'q, $($T: Value<'q>),*> Args<'q> for ($($T,)*) {
            #[allow(unused_mut)]
            fn sqlite(self) -> EncodeResult<SqliteArguments<'q>> {
                let mut a = SqliteArguments::default();
                $(a.add(self.$i).map_err(sqlx::Error::Encode)?;)*
                Ok(a)
            }
            #[allow(unused_mut)]
            fn postgres(self) -> EncodeResult<PgArguments> {
                let mut a = PgArguments::default();
                $(a.add(self.$i).map_err(sqlx::Error::Encode)?;)*
                Ok(a)
            }
        }
    };
}

tuple_args!();
tuple_args!(A 0);
tuple_args!(A 0, B 1);
tuple_args!(A 0, B 1, C 2);
tuple_args!(A 0, B 1, C 2, D 3);
tuple_args!(A 0, B 1, C 2, D 3, E 4);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15, Q 16);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15, Q 16, R 17);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15, Q 16, R 17, S 18);
tuple_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15, Q 16, R 17, S 18, T 19);

/// A value a dynamic statement binds, owned so the builder can outlive its inputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(Option<i64>),
    Text(Option<String>),
    Bool(Option<bool>),
    Float(Option<f64>),
    Bytes(Option<Vec<u8>>),
}

macro_rules! param_from {
    ($($t:ty => $v:ident $(via $conv:expr)?),* $(,)?) => {$(
        impl From<$t> for Param {
            fn from(x: $t) -> Self { Param::$v(Some(x $(.pipe($conv))?)) }
        }
        impl From<Option<$t>> for Param {
            fn from(x: Option<$t>) -> Self { Param::$v(x $(.map($conv))?) }
        }
    )*};
}

trait Pipe: Sized {
    fn pipe<R>(self, f: impl FnOnce(Self) -> R) -> R {
        f(self)
    }
}
impl<T> Pipe for T {}

param_from!(
    i64 => Int,
    i32 => Int via i64::from,
    String => Text,
    &str => Text via str::to_owned,
    bool => Bool,
    f64 => Float,
    Vec<u8> => Bytes,
);

/// Values pushed one by one, for statements whose filters depend on the request.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<Param>);

impl Params {
    /// Adds a value and returns its placeholder (`$1`, `$2`, …).
    pub fn push(&mut self, value: impl Into<Param>) -> String {
        self.0.push(value.into());
        format!("${}", self.0.len())
    }
}

/// Encodes each pushed value into one backend's arguments.
macro_rules! encode_params {
    ($params:expr, $args:ty) => {{
        let mut a = <$args>::default();
        for p in $params.0 {
            match p {
                Param::Int(v) => a.add(v),
                Param::Text(v) => a.add(v),
                Param::Bool(v) => a.add(v),
                Param::Float(v) => a.add(v),
                Param::Bytes(v) => a.add(v),
            }
            .map_err(sqlx::Error::Encode)?;
        }
        Ok(a)
    }};
}

impl<'q> Args<'q> for Params {
    fn sqlite(self) -> EncodeResult<SqliteArguments<'q>> {
        encode_params!(self, SqliteArguments<'q>)
    }
    fn postgres(self) -> EncodeResult<PgArguments> {
        encode_params!(self, PgArguments)
    }
}

/// A statement assembled from parts: text, and values that become numbered placeholders.
///
/// ```ignore
/// let mut q = Sql::new("SELECT … FROM service WHERE active = TRUE");
/// if let Some(h) = hospital { q.push(" AND hospital_id = ").bind(h); }
/// q.push(" ORDER BY id LIMIT ").bind(limit);
/// let rows: Vec<Service> = q.fetch_all(db).await?;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    params: Params,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            params: Params::default(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Param>) -> &mut Self {
        let placeholder = self.params.push(value);
        self.text.push_str(&placeholder);
        self
    }

    /// ` AND column = $n` when the filter is given; nothing when it is not.
    pub fn and_eq<V: Into<Param>>(&mut self, column: &str, value: Option<V>) -> &mut Self {
        if let Some(v) = value {
            self.push(" AND ").push(column).push(" = ").bind(v);
        }
        self
    }

    /// ` AND column IN ($n, …)` of the values (a status among several).
    pub fn and_in<'v>(
        &mut self,
        column: &str,
        values: impl IntoIterator<Item = &'v str>,
    ) -> &mut Self {
        self.push(" AND ").push(column).push(" IN (");
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(v);
        }
        self.push(")")
    }

    /// Adds a value without writing its placeholder, which the caller writes (e.g. a value
    /// used twice in the text); returns the placeholder.
    pub fn param(&mut self, value: impl Into<Param>) -> String {
        self.params.push(value)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The statement and its values, to run it inside a larger statement.
    pub fn into_parts(self) -> (String, Params) {
        (self.text, self.params)
    }

    pub async fn fetch_all<T: Row>(self, db: &Db) -> Result<Vec<T>, sqlx::Error> {
        db.all(&self.text, self.params).await
    }

    pub async fn fetch_optional<T: Row>(self, db: &Db) -> Result<Option<T>, sqlx::Error> {
        db.optional(&self.text, self.params).await
    }

    pub async fn fetch_scalar<T: Scalar>(self, db: &Db) -> Result<T, sqlx::Error> {
        db.scalar(&self.text, self.params).await
    }
}

/// A row type both backends can decode.
pub trait Row: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> {}
impl<T> Row for T where T: Send + Unpin + for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow>
{}

/// A single column both backends can decode.
pub trait Scalar:
    Send
    + Unpin
    + Type<Sqlite>
    + Type<Postgres>
    + for<'r> Decode<'r, Sqlite>
    + for<'r> Decode<'r, Postgres>
{
}
impl<T> Scalar for T where
    T: Send
        + Unpin
        + Type<Sqlite>
        + Type<Postgres>
        + for<'r> Decode<'r, Sqlite>
        + for<'r> Decode<'r, Postgres>
{
}

/// One fetch method for a pool (`Db`, `&self`) or a transaction (`Tx`, `&mut self`): the same
/// call on whichever backend it holds.
macro_rules! fetch {
    ($doc:literal $name:ident<$T:ident: $Bound:ident> -> $out:ty = $query:ident . $fetch:ident; [$($r:tt)*] $s:ident) => {
        #[doc = $doc]
        pub async fn $name<'q, $T: $Bound>(
            $($r)* $s,
            sql: &'q str,
            args: impl Args<'q>,
        ) -> Result<$out, sqlx::Error> {
            fetch!(@run $s, sql, args, $query, $fetch)
        }
    };
    (@run $s:ident, $sql:ident, $args:ident, $query:ident, $fetch:ident $(, $map:expr)?) => {
        match $s.executor() {
            Executor::Sqlite(e) => sqlx::$query($sql, $args.sqlite()?).$fetch(e).await $(.map($map))?,
            Executor::Postgres(e) => sqlx::$query($sql, $args.postgres()?).$fetch(e).await $(.map($map))?,
        }
    };
}

/// The methods, for `Db` and for `Tx`.
macro_rules! fetches {
    ($ty:ident, [$($r:tt)*] $s:ident) => {
        impl $ty {
            fetch!("Every row." all<T: Row> -> Vec<T> = query_as_with.fetch_all; [$($r)*] $s);
            fetch!("The row, if there is one." optional<T: Row> -> Option<T> = query_as_with.fetch_optional; [$($r)*] $s);
            fetch!("Exactly one row (`RowNotFound` otherwise)." one<T: Row> -> T = query_as_with.fetch_one; [$($r)*] $s);
            fetch!("The first column of the one row (a count, an id from `RETURNING`)." scalar<T: Scalar> -> T = query_scalar_with.fetch_one; [$($r)*] $s);
            fetch!("The first column of the row, if there is one." scalar_optional<T: Scalar> -> Option<T> = query_scalar_with.fetch_optional; [$($r)*] $s);
            fetch!("The first column of every row." scalars<T: Scalar> -> Vec<T> = query_scalar_with.fetch_all; [$($r)*] $s);

            /// Runs a statement; the number of rows it touched.
            pub async fn execute<'q>(
                $($r)* $s,
                sql: &'q str,
                args: impl Args<'q>,
            ) -> Result<u64, sqlx::Error> {
                fetch!(@run $s, sql, args, query_with, execute, |r| r.rows_affected())
            }
        }
    };
}

fetches!(Db, [&] self);
fetches!(Tx, [&mut] self);

/// The connection a statement runs on, from a pool or inside a transaction.
enum Executor<S, P> {
    Sqlite(S),
    Postgres(P),
}

impl Db {
    fn executor(&self) -> Executor<&sqlx::SqlitePool, &sqlx::PgPool> {
        match self {
            Db::Sqlite(p) => Executor::Sqlite(p),
            Db::Postgres(p) => Executor::Postgres(p),
        }
    }
}

impl Tx {
    fn executor(&mut self) -> Executor<&mut sqlx::SqliteConnection, &mut sqlx::PgConnection> {
        match self {
            Tx::Sqlite(t) => Executor::Sqlite(&mut **t),
            Tx::Postgres(t) => Executor::Postgres(&mut **t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_bind_in_order_and_dynamic_statements_number_their_placeholders() {
        // One connection: each in-memory SQLite connection is a database of its own.
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let db = Db::Sqlite(pool);
        let row: (i64, String, Option<bool>) = db
            .one("SELECT $1, $2, $3", (7_i64, "seven", None::<bool>))
            .await
            .unwrap();
        assert_eq!(row, (7, "seven".to_owned(), None));

        let mut q = Sql::new("SELECT 1 WHERE 1 = 1");
        q.push(" AND ").bind(2_i64).push(" = 2");
        let twice = q.param("x");
        q.push(&format!(" AND {twice} = {twice}"));
        assert_eq!(q.text(), "SELECT 1 WHERE 1 = 1 AND $1 = 2 AND $2 = $2");
        assert_eq!(q.fetch_scalar::<i64>(&db).await.unwrap(), 1);

        let mut tx = db.begin().await.unwrap();
        tx.execute("CREATE TABLE t (n INTEGER)", ()).await.unwrap();
        let n = tx
            .execute("INSERT INTO t (n) VALUES ($1), ($2)", (1_i64, 2_i64))
            .await
            .unwrap();
        assert_eq!(n, 2);
        tx.commit().await.unwrap();
        let all: Vec<i64> = db.scalars("SELECT n FROM t ORDER BY n", ()).await.unwrap();
        assert_eq!(all, vec![1, 2]);
        // A value of the wrong type for the row is an error, not a default.
        assert!(db.scalar::<i64>("SELECT $1", ("x",)).await.is_err());
    }
}
