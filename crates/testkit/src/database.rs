//! A database per test, cloned from a migrated template.

use sqlx::{Connection as _, PgConnection, PgPool, migrate::Migrator, postgres::PgPoolOptions};

use crate::test_env;

/// A fresh database with the given migrations applied. It is left behind when the test ends;
/// `./floodgate test` runs on a throwaway cluster.
#[derive(Debug, Clone)]
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
}

impl TestDatabase {
    /// Creates `test_<uuid>` from the template for `migrators` (created on first use).
    pub async fn new(migrators: &[&Migrator]) -> anyhow::Result<Self> {
        let server = test_env("FLOODGATE_TEST_DATABASE_URL")?;
        let template = ensure_template(&server, migrators).await?;
        let name = format!("test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&server).await?;
        ddl(&mut admin, format!(r#"CREATE DATABASE "{name}" TEMPLATE "{template}""#)).await?;
        admin.close().await?;
        let url = database_url(&server, &name);
        let pool = PgPoolOptions::new().max_connections(8).connect(&url).await?;
        Ok(Self { name, url, pool })
    }
}

/// Runs DDL built from names this module generated itself (UUIDs and hex hashes, never input).
async fn ddl(admin: &mut PgConnection, sql: String) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(admin).await.map(drop)
}

/// Replaces the database name in a `postgres://…/name` URL.
fn database_url(server: &str, database: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let root = base.rsplit_once('/').map_or(base, |(root, _)| root);
    match query {
        Some(query) => format!("{root}/{database}?{query}"),
        None => format!("{root}/{database}"),
    }
}

/// Stable name for a set of migrations: changes whenever any migration does.
fn template_name(migrators: &[&Migrator]) -> String {
    // FNV-1a over (version, checksum) of every migration, in order.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for migrator in migrators {
        for migration in migrator.iter() {
            for byte in migration.version.to_le_bytes().iter().chain(migration.checksum.iter()) {
                hash ^= u64::from(*byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    format!("template_{hash:016x}")
}

async fn ensure_template(server: &str, migrators: &[&Migrator]) -> anyhow::Result<String> {
    let template = template_name(migrators);
    let mut admin = PgConnection::connect(server).await?;
    // Many tests start at once; one of them builds the template, the others wait on the lock.
    let lock = i64::from_str_radix(&template["template_".len()..], 16).unwrap_or(0);
    sqlx::query("SELECT pg_advisory_lock($1)").bind(lock).execute(&mut admin).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(&template)
        .fetch_one(&mut admin)
        .await?;
    if !exists {
        let building = format!("{template}_building");
        ddl(&mut admin, format!(r#"DROP DATABASE IF EXISTS "{building}""#)).await?;
        ddl(&mut admin, format!(r#"CREATE DATABASE "{building}""#)).await?;
        let pool = PgPoolOptions::new().max_connections(1).connect(&database_url(server, &building)).await?;
        for migrator in migrators {
            migrator.run(&pool).await?;
        }
        pool.close().await;
        // Renamed only once complete, so a half-migrated template is never used.
        ddl(&mut admin, format!(r#"ALTER DATABASE "{building}" RENAME TO "{template}""#)).await?;
    }
    sqlx::query("SELECT pg_advisory_unlock($1)").bind(lock).execute(&mut admin).await?;
    admin.close().await?;
    Ok(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_url_swaps_only_the_database_name() {
        assert_eq!(database_url("postgres://u@127.0.0.1:5/postgres", "t1"), "postgres://u@127.0.0.1:5/t1");
        assert_eq!(
            database_url("postgres://u:p@h:5/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5/t1?sslmode=disable"
        );
    }
}
