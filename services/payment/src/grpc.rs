//! Payment's gRPC API. Every mutating call takes an idempotency key (scoped to the caller and the
//! operation) and replays its first outcome; errors map to statuses in `error::status`.

use std::future::Future;

use chrono::Utc;
use floodgate_proto::{
    payment::v1::{self as wire, payment_service_server::PaymentService},
    types::v1 as types,
};
use prost::Message;
use tonic::{Request, Response, Status};

use crate::{
    error::{PaymentError, coded, status},
    idempotency::{self, Claim, Key},
    payments::{By, Payments, ReturnUrls, parse_id},
};

#[derive(Debug, Clone)]
pub struct PaymentApi {
    payments: Payments,
}

impl PaymentApi {
    pub fn new(payments: Payments) -> Self {
        Self { payments }
    }

    /// Runs `run` once per (scope, operation, key); retries get the first outcome back.
    async fn once<R, F, Fut>(&self, key: Key<'_>, parameters: &[u8], run: F) -> Result<R, Status>
    where
        R: Message + Default,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<R, PaymentError>>,
    {
        let pool = self.payments.pool();
        let fingerprint = idempotency::fingerprint(parameters);
        match idempotency::claim(pool, &key, &fingerprint, Utc::now()).await.map_err(status)? {
            Claim::Replay(bytes) => {
                R::decode(bytes.as_slice()).map_err(|_| status(PaymentError::Corrupt("stored reply".into())))
            }
            Claim::ReplayFailure { code, stable, message } => Err(coded(tonic::Code::from(code), &stable, message)),
            Claim::Fresh => {
                let result = run().await;
                let stored = result.as_ref().map(Message::encode_to_vec);
                idempotency::finish(pool, &key, stored.as_deref().map_err(|e| *e)).await.map_err(status)?;
                result.map_err(status)
            }
        }
    }
}

fn buyer_key(buyer: Option<&types::Buyer>) -> Result<String, Status> {
    buyer.and_then(types::Buyer::key).ok_or_else(|| status(PaymentError::invalid("buyer", "is required")))
}

fn id(field: &'static str, value: &str) -> Result<uuid::Uuid, Status> {
    parse_id(field, value).map_err(status)
}

/// A request's parameters without its idempotency key, for the fingerprint.
fn parameters<M: Message + Clone>(request: &M, clear: impl FnOnce(&mut M)) -> Vec<u8> {
    let mut copy = request.clone();
    clear(&mut copy);
    copy.encode_to_vec()
}

#[tonic::async_trait]
impl PaymentService for PaymentApi {
    async fn prepare(&self, request: Request<wire::PrepareRequest>) -> Result<Response<wire::PrepareResponse>, Status> {
        let r = request.into_inner();
        let buyer = buyer_key(r.buyer.as_ref())?;
        let order_id = id("order_id", &r.order_id)?;
        let params = parameters(&r, |m| m.idempotency_key.clear());
        let urls =
            ReturnUrls { approve: r.approve_url.clone(), cancel: r.cancel_url.clone(), fail: r.fail_url.clone() };
        for (field, url) in [("approve_url", &urls.approve), ("cancel_url", &urls.cancel), ("fail_url", &urls.fail)] {
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
                return Err(status(PaymentError::invalid(field, "must be an http(s) URL")));
            }
        }
        let key = Key { scope: &buyer, operation: "prepare", key: &r.idempotency_key };
        let reply = self
            .once(key, &params, || async {
                let (payment, redirect_url) = self.payments.prepare(order_id, &buyer, &urls, Utc::now()).await?;
                Ok(wire::PrepareResponse {
                    provider_tid: payment.tid.clone().unwrap_or_default(),
                    payment: Some(payment.to_wire()),
                    redirect_url,
                })
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn approve(&self, request: Request<wire::ApproveRequest>) -> Result<Response<wire::Payment>, Status> {
        let r = request.into_inner();
        let buyer = buyer_key(r.buyer.as_ref())?;
        let payment_id = id("payment_id", &r.payment_id)?;
        let params = parameters(&r, |m| m.idempotency_key.clear());
        let key = Key { scope: &buyer, operation: "approve", key: &r.idempotency_key };
        let reply = self
            .once(key, &params, || async {
                let payment =
                    self.payments.approve(payment_id, &r.provider_tid, &r.approval_token, &buyer, Utc::now()).await?;
                Ok(payment.to_wire())
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn cancel(&self, request: Request<wire::CancelPaymentRequest>) -> Result<Response<wire::Payment>, Status> {
        let r = request.into_inner();
        let buyer = buyer_key(r.buyer.as_ref())?;
        let payment_id = id("payment_id", &r.payment_id)?;
        let params = parameters(&r, |m| m.idempotency_key.clear());
        let key = Key { scope: &buyer, operation: "cancel", key: &r.idempotency_key };
        let reply = self
            .once(key, &params, || async {
                Ok(self.payments.cancel_by_buyer(payment_id, &buyer, Utc::now()).await?.to_wire())
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn refund(&self, request: Request<wire::RefundRequest>) -> Result<Response<wire::Payment>, Status> {
        let r = request.into_inner();
        let payment_id = id("payment_id", &r.payment_id)?;
        let amount =
            r.amount.as_ref().map(|m| m.minor).ok_or_else(|| status(PaymentError::invalid("amount", "is required")))?;
        let params = parameters(&r, |m| m.idempotency_key.clear());
        let source = format!("api:{}", r.idempotency_key);
        let key = Key { scope: "operator", operation: "refund", key: &r.idempotency_key };
        let reply = self
            .once(key, &params, || async {
                let payment = self.payments.get(By::Id(payment_id), None).await?;
                if r.amount.as_ref().is_some_and(|m| m.currency != payment.currency) {
                    return Err(PaymentError::invalid(
                        "amount.currency",
                        format!("the payment is in {}", payment.currency),
                    ));
                }
                Ok(self.payments.refund(payment_id, amount, &r.reason, &source, Utc::now()).await?.to_wire())
            })
            .await?;
        Ok(Response::new(reply))
    }

    async fn get_payment(&self, request: Request<wire::GetPaymentRequest>) -> Result<Response<wire::Payment>, Status> {
        let r = request.into_inner();
        let buyer = r.buyer.as_ref().and_then(types::Buyer::key);
        let payment =
            self.payments.get(By::Id(id("payment_id", &r.payment_id)?), buyer.as_deref()).await.map_err(status)?;
        Ok(Response::new(payment.to_wire()))
    }

    async fn get_payment_by_order(
        &self,
        request: Request<wire::GetPaymentByOrderRequest>,
    ) -> Result<Response<wire::Payment>, Status> {
        let r = request.into_inner();
        let buyer = r.buyer.as_ref().and_then(types::Buyer::key);
        let payment =
            self.payments.get(By::Order(id("order_id", &r.order_id)?), buyer.as_deref()).await.map_err(status)?;
        Ok(Response::new(payment.to_wire()))
    }

    async fn handle_webhook(
        &self,
        request: Request<wire::HandleWebhookRequest>,
    ) -> Result<Response<wire::HandleWebhookResponse>, Status> {
        let r = request.into_inner();
        let duplicate = self
            .payments
            .handle_webhook(&r.provider, &r.raw_body, &r.signature, &r.timestamp, Utc::now())
            .await
            .map_err(status)?;
        Ok(Response::new(wire::HandleWebhookResponse { duplicate }))
    }
}
