//! The payment provider, behind a narrow trait: what payment asks of any PG (KakaoPay, Toss, …).
//! The built-in [`simulated::Simulator`] behaves like one — ready → redirect to its own checkout
//! page → approve with the returned token — and keeps its own ledger.

pub mod checkout;
pub mod sender;
pub mod simulated;

use chrono::{DateTime, Utc};

/// What a provider needs to start a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyRequest {
    /// Our order id, shown at the provider and echoed in its records.
    pub partner_order: String,
    pub amount_minor: i64,
    pub currency: String,
    /// Where the provider sends the buyer back to.
    pub approve_url: String,
    pub cancel_url: String,
    pub fail_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub tid: String,
    /// Where to send the buyer's browser.
    pub redirect_url: String,
}

/// The provider's answer to a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capture {
    Captured { amount_minor: i64 },
    Declined { code: String },
}

/// What the provider says about a transaction (for reconciliation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionState {
    /// Started; the buyer has not approved (or has, but nobody captured yet).
    Open,
    Captured {
        amount_minor: i64,
    },
    Cancelled,
    Declined,
}

/// A verified webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub event_id: String,
    pub tid: String,
    pub kind: NoticeKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeKind {
    Captured { amount_minor: i64 },
    Cancelled,
    Refunded { refund_id: String, amount_minor: i64 },
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// No answer in time: the outcome is unknown (it may have happened). Reconciliation asks.
    #[error("the payment provider did not answer in time")]
    Timeout,
    #[error("the payment provider is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the payment provider refused: {0}")]
    Refused(String),
    #[error("unknown transaction {0}")]
    UnknownTransaction(String),
    #[error("webhook refused: {0}")]
    Webhook(#[from] crate::domain::webhook::WebhookError),
    #[error("malformed webhook body")]
    MalformedWebhook,
}

impl From<sqlx::Error> for ProviderError {
    fn from(error: sqlx::Error) -> Self {
        ProviderError::Unavailable(Box::new(error))
    }
}

/// A payment provider. Every call is safe to repeat: `approve` on a captured transaction reports
/// the capture, `refund` is keyed by our refund id.
#[tonic::async_trait]
pub trait PaymentProvider: Send + Sync + std::fmt::Debug + 'static {
    fn name(&self) -> &'static str;
    async fn ready(&self, request: &ReadyRequest) -> Result<Ready, ProviderError>;
    async fn approve(&self, tid: &str, approval_token: &str) -> Result<Capture, ProviderError>;
    async fn cancel(&self, tid: &str) -> Result<(), ProviderError>;
    async fn refund(&self, tid: &str, refund_id: &str, amount_minor: i64) -> Result<(), ProviderError>;
    async fn status(&self, tid: &str) -> Result<TransactionState, ProviderError>;
    /// Checks a webhook exactly as received and reads it.
    fn verify_webhook(
        &self,
        raw_body: &[u8],
        signature: &str,
        timestamp: &str,
        now: DateTime<Utc>,
    ) -> Result<Notice, ProviderError>;
}
