//! The accounts table.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgPool, Row as _};
use uuid::Uuid;

use crate::domain::jwt::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub phone: String,
    pub name: String,
    pub birth_date: NaiveDate,
    pub password_hash: String,
    pub role: Role,
    pub venues: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("the {0} is already registered")]
    Taken(&'static str),
    #[error("accounts database error")]
    Database(#[from] sqlx::Error),
}

fn role(name: &str) -> Role {
    match name {
        "admin" => Role::Admin,
        "operator" => Role::Operator,
        _ => Role::Buyer,
    }
}

fn taken(error: sqlx::Error) -> RepoError {
    match &error {
        sqlx::Error::Database(e) if e.constraint() == Some("accounts_email_key") => RepoError::Taken("email"),
        sqlx::Error::Database(e) if e.constraint() == Some("accounts_phone_key") => RepoError::Taken("phone"),
        _ => RepoError::Database(error),
    }
}

#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub email: &'a str,
    pub phone: &'a str,
    pub name: &'a str,
    pub birth_date: NaiveDate,
    pub password_hash: &'a str,
}

pub async fn create(pool: &PgPool, account: &NewAccount<'_>, now: DateTime<Utc>) -> Result<Uuid, RepoError> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO accounts (id, email, phone, name, birth_date, password_hash, phone_verified_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $7)",
    )
    .bind(id)
    .bind(account.email)
    .bind(account.phone)
    .bind(account.name)
    .bind(account.birth_date)
    .bind(account.password_hash)
    .bind(now)
    .execute(pool)
    .await
    .map_err(taken)?;
    Ok(id)
}

/// Which of email and phone are still free.
pub async fn available(pool: &PgPool, email: Option<&str>, phone: Option<&str>) -> Result<(bool, bool), RepoError> {
    let (email_used, phone_used): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM accounts WHERE email = $1), EXISTS (SELECT 1 FROM accounts WHERE phone = $2)",
    )
    .bind(email)
    .bind(phone)
    .fetch_one(pool)
    .await?;
    Ok((!email_used, !phone_used))
}

/// Which account to read.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    Id(Uuid),
    Email(&'a str),
}

pub async fn find(pool: &PgPool, by: By<'_>) -> Result<Option<Account>, RepoError> {
    const SELECT: &str = "SELECT a.id, a.email, a.phone, a.name, a.birth_date, a.password_hash, a.role, a.created_at,
                                 coalesce(array_agg(v.venue_id::text) FILTER (WHERE v.venue_id IS NOT NULL), '{}') AS venues
                          FROM accounts a LEFT JOIN operator_venues v ON v.account_id = a.id";
    let query = match by {
        By::Id(id) => sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE a.id = $1 GROUP BY a.id"))).bind(id),
        By::Email(email) => sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE a.email = $1 GROUP BY a.id")))
            .bind(email.to_owned()),
    };
    let Some(row) = query.fetch_optional(pool).await? else { return Ok(None) };
    Ok(Some(Account {
        id: row.get("id"),
        email: row.get("email"),
        phone: row.get("phone"),
        name: row.get("name"),
        birth_date: row.get("birth_date"),
        password_hash: row.get("password_hash"),
        role: role(row.get("role")),
        venues: row.get("venues"),
        created_at: row.get("created_at"),
    }))
}

/// Profile changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct Changes<'a> {
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub password_hash: Option<&'a str>,
}

pub async fn update(pool: &PgPool, id: Uuid, changes: &Changes<'_>, now: DateTime<Utc>) -> Result<(), RepoError> {
    sqlx::query(
        "UPDATE accounts SET name = coalesce($2, name), email = coalesce($3, email), phone = coalesce($4, phone),
                password_hash = coalesce($5, password_hash), updated_at = $6
         WHERE id = $1",
    )
    .bind(id)
    .bind(changes.name)
    .bind(changes.email)
    .bind(changes.phone)
    .bind(changes.password_hash)
    .bind(now)
    .execute(pool)
    .await
    .map_err(taken)?;
    Ok(())
}

/// Makes the account a buyer, an operator of `venues`, or an admin; the next refresh carries it.
pub async fn set_role(
    pool: &PgPool,
    id: Uuid,
    role: Role,
    venues: &[Uuid],
    now: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let name = match role {
        Role::Admin => "admin",
        Role::Operator => "operator",
        Role::Buyer | Role::Guest => "buyer",
    };
    let mut tx = pool.begin().await?;
    let found = sqlx::query("UPDATE accounts SET role = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if found == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM operator_venues WHERE account_id = $1").bind(id).execute(&mut *tx).await?;
    if role == Role::Operator {
        sqlx::query("INSERT INTO operator_venues (account_id, venue_id) SELECT $1, unnest($2::uuid[])")
            .bind(id)
            .bind(venues)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Records who created an event (first writer wins: a retried create keeps its owner).
pub async fn claim_event(pool: &PgPool, event_id: Uuid, account: Uuid, now: DateTime<Utc>) -> Result<(), RepoError> {
    sqlx::query(
        "INSERT INTO event_owners (event_id, account_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(event_id)
    .bind(account)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn event_owner(pool: &PgPool, event_id: Uuid) -> Result<Option<Uuid>, RepoError> {
    Ok(sqlx::query_scalar("SELECT account_id FROM event_owners WHERE event_id = $1")
        .bind(event_id)
        .fetch_optional(pool)
        .await?)
}
