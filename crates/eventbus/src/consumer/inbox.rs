//! [`PgInbox`]: events applied in PostgreSQL transactions that also record them in the inbox.

use std::time::Duration;

use sqlx::PgPool;

use super::{Application, BoxError, EventHandler, HandlerError, Origin};
use crate::Event;

/// Handler side effects and the `(group, event id)` dedup record, committed together.
pub struct PgInbox<H> {
    pool: PgPool,
    handler: H,
    /// How long handled event ids are remembered.
    pub(crate) retention: Duration,
}

impl<H> std::fmt::Debug for PgInbox<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgInbox").field("retention", &self.retention).finish_non_exhaustive()
    }
}

impl<H> PgInbox<H> {
    pub fn new(pool: PgPool, handler: H) -> Self {
        // Far longer than any topic's retention: an event can only be redelivered while the
        // broker still has it, so older inbox rows can no longer stop a duplicate.
        Self { pool, handler, retention: Duration::from_secs(30 * 24 * 3600) }
    }
}

impl<H: EventHandler> Application for PgInbox<H> {
    fn wants(&self, event_type: &str) -> bool {
        self.handler.wants(event_type)
    }

    async fn apply(&self, group: &str, event: &Event, origin: &Origin) -> Result<bool, HandlerError> {
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO eventbus.inbox (consumer, event_id, event_type, topic, partition, kafka_offset)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(group)
        .bind(event.id)
        .bind(&event.event_type)
        .bind(&origin.topic)
        .bind(origin.partition)
        .bind(origin.offset)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        self.handler.handle(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn park(
        &self,
        group: &str,
        origin: &Origin,
        event_id: Option<uuid::Uuid>,
        error: &str,
        bytes: &[u8],
    ) -> Result<(), BoxError> {
        sqlx::query(
            "INSERT INTO eventbus.dead_letter (consumer, topic, partition, kafka_offset, event_id, error, message)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(group)
        .bind(&origin.topic)
        .bind(origin.partition)
        .bind(origin.offset)
        .bind(event_id)
        .bind(error)
        .bind(bytes)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn prune(&self, group: &str) -> Result<u64, BoxError> {
        let deleted = sqlx::query(
            "DELETE FROM eventbus.inbox WHERE consumer = $1 AND handled_at < now() - make_interval(secs => $2::double precision)",
        )
        .bind(group)
        .bind(self.retention.as_secs_f64())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted)
    }
}
