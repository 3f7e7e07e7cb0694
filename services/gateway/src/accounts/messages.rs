//! Messages to people (verification codes by SMS, confirmations by email) go through a sender.
//! The development sender writes them to the log and keeps the latest 100 in Redis, where
//! `GET /v1/dev/messages` shows them — only when the gateway runs in development mode. Email goes
//! over SMTP when an SMTP URL is configured ([`smtp`]).

use redis::{AsyncCommands as _, aio::ConnectionManager};
use serde::{Deserialize, Serialize};

pub mod smtp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `sms` or `email`.
    pub channel: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub sent_at: String,
}

#[derive(Debug, thiserror::Error)]
#[error("the message could not be sent")]
pub struct SendError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

#[tonic::async_trait]
pub trait MessageSender: Send + Sync + std::fmt::Debug + 'static {
    async fn send(&self, message: Message) -> Result<(), SendError>;
}

/// Development: the log and a readable list in Redis.
#[derive(Clone)]
pub struct DevOutbox {
    redis: ConnectionManager,
    key: String,
}

impl std::fmt::Debug for DevOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevOutbox").field("key", &self.key).finish_non_exhaustive()
    }
}

impl DevOutbox {
    pub fn new(redis: ConnectionManager, prefix: &str) -> Self {
        Self { redis, key: format!("{prefix}gateway:dev:messages") }
    }

    /// The latest messages, newest first.
    pub async fn recent(&self, to: Option<&str>) -> Result<Vec<Message>, redis::RedisError> {
        let raw: Vec<String> = self.redis.clone().lrange(&self.key, 0, 99).await?;
        Ok(raw
            .iter()
            .filter_map(|m| serde_json::from_str::<Message>(m).ok())
            .filter(|m| to.is_none_or(|to| m.to == to))
            .collect())
    }
}

#[tonic::async_trait]
impl MessageSender for DevOutbox {
    async fn send(&self, message: Message) -> Result<(), SendError> {
        tracing::info!(channel = %message.channel, to = %message.to, subject = %message.subject, body = %message.body, "message (development sender)");
        let json = serde_json::to_string(&message).map_err(|e| SendError(Box::new(e)))?;
        let _: () = redis::pipe()
            .lpush(&self.key, json)
            .ltrim(&self.key, 0, 99)
            .expire(&self.key, 86_400)
            .query_async(&mut self.redis.clone())
            .await
            .map_err(|e| SendError(Box::new(e)))?;
        Ok(())
    }
}
