//! Email over SMTP (lettre): `smtps://user:pass@host:465` (implicit TLS),
//! `smtp://user:pass@host:587?tls=required` (STARTTLS; never downgraded) or `smtp://host:25`
//! (plain, for a relay on the same host). Connections are pooled. A message that cannot be
//! delivered is an error, so the caller (the confirmation consumer) retries it.

use lettre::{
    AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor,
    message::{Mailbox, header::ContentType},
};

use super::{Message, MessageSender, SendError};

#[derive(Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold credentials: never printed.
        f.debug_struct("SmtpSender").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpConfigError {
    #[error("the SMTP URL is not usable: {0}")]
    Url(#[from] lettre::transport::smtp::Error),
    #[error("the sender address is not a mailbox: {0}")]
    From(#[from] lettre::address::AddressError),
}

impl SmtpSender {
    pub fn new(url: &str, from: &str) -> Result<Self, SmtpConfigError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
            .timeout(Some(std::time::Duration::from_secs(10)))
            .build();
        Ok(Self { transport, from: from.parse()? })
    }
}

fn failed(error: impl std::error::Error + Send + Sync + 'static) -> SendError {
    SendError(Box::new(error))
}

#[tonic::async_trait]
impl MessageSender for SmtpSender {
    async fn send(&self, message: Message) -> Result<(), SendError> {
        let to: Mailbox = message.to.parse().map_err(failed)?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(message.body)
            .map_err(failed)?;
        self.transport.send(email).await.map_err(failed)?;
        Ok(())
    }
}

/// Routes each message by channel: email to one sender, everything else (SMS) to another.
#[derive(Debug, Clone)]
pub struct ByChannel {
    pub email: std::sync::Arc<dyn MessageSender>,
    pub other: std::sync::Arc<dyn MessageSender>,
}

#[tonic::async_trait]
impl MessageSender for ByChannel {
    async fn send(&self, message: Message) -> Result<(), SendError> {
        if message.channel == "email" { self.email.send(message).await } else { self.other.send(message).await }
    }
}
