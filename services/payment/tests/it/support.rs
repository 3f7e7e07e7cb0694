//! A payment service wired to a fresh database, with the simulated provider's checkout pages
//! served on a free port and walked through over HTTP like a browser would.

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use floodgate_eventbus::{BusConfig, Event, EventHandler as _, Stream, outbox::Outbox};
use floodgate_payment::{
    PaymentEvents,
    grpc::PaymentApi,
    payments::Payments,
    provider::simulated::{Knobs, Simulator},
};
use floodgate_proto::{booking::v1 as booking, payment::v1 as wire, types::v1 as types};
use floodgate_testkit::TestDatabase;
use tonic::Request;
use uuid::Uuid;

pub const SECRET: &str = "7768736563";

pub struct Pay {
    pub db: TestDatabase,
    pub simulator: Simulator,
    pub payments: Payments,
    pub api: PaymentApi,
    pub events: PaymentEvents,
    pub http: reqwest::Client,
}

pub fn buyer(id: &str) -> Option<types::Buyer> {
    Some(types::Buyer { kind: Some(types::buyer::Kind::UserId(id.to_owned())) })
}

pub fn krw(minor: i64) -> Option<types::Money> {
    Some(types::Money { minor, currency: "KRW".into() })
}

impl Pay {
    pub async fn new(knobs: Knobs) -> anyhow::Result<Self> {
        let db = TestDatabase::new(&[floodgate_eventbus::migrator(), &floodgate_payment::MIGRATOR]).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let secret = SECRET.repeat(7)[..64].to_owned();
        let simulator = Simulator::new(db.pool.clone(), &url, secret.into(), knobs);
        tokio::spawn(
            axum::serve(listener, floodgate_payment::provider::checkout::router(simulator.clone())).into_future(),
        );
        let bus = BusConfig { brokers: String::new(), topic_prefix: "t.".into(), partitions: 1, replication: 1 };
        let payments = Payments::new(db.pool.clone(), Arc::new(simulator.clone()), Outbox::new(&bus, Stream::Payment));
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        Ok(Self {
            api: PaymentApi::new(payments.clone()),
            events: PaymentEvents { payments: payments.clone() },
            db,
            simulator,
            payments,
            http,
        })
    }

    pub async fn deliver<P: floodgate_proto::EventPayload>(&self, key: Uuid, payload: &P) -> anyhow::Result<()> {
        let event = Event::new("booking", key.to_string(), payload, Utc::now());
        let mut tx = self.db.pool.begin().await?;
        self.events
            .handle(&mut tx, &event)
            .await
            .map_err(|e| anyhow::anyhow!("{}", floodgate_telemetry::error_chain(&e)))?;
        tx.commit().await?;
        Ok(())
    }

    /// Booking placed an order for `amount`.
    pub async fn order(&self, buyer_id: &str, amount: i64) -> anyhow::Result<Uuid> {
        let order_id = Uuid::now_v7();
        let placed = booking::OrderPlaced {
            order_id: order_id.to_string(),
            order_number: "FG-TEST-0001".into(),
            performance_id: Uuid::now_v7().to_string(),
            buyer: buyer(buyer_id),
            total: krw(amount),
            payment_deadline: None,
            lines: Vec::new(),
        };
        self.deliver(order_id, &placed).await?;
        Ok(order_id)
    }

    pub async fn prepare(
        &self,
        order_id: Uuid,
        buyer_id: &str,
        key: &str,
    ) -> Result<wire::PrepareResponse, tonic::Status> {
        let request = wire::PrepareRequest {
            order_id: order_id.to_string(),
            buyer: buyer(buyer_id),
            approve_url: "https://shop.example/pay/approve?from=test".into(),
            cancel_url: "https://shop.example/pay/cancel".into(),
            fail_url: "https://shop.example/pay/fail".into(),
            idempotency_key: key.into(),
        };
        use floodgate_proto::payment::v1::payment_service_server::PaymentService as _;
        Ok(self.api.prepare(Request::new(request)).await?.into_inner())
    }

    /// The buyer's browser at the provider: opens the page, presses "approve" (optionally with a
    /// tampered amount) and follows the redirect back; returns the approval token.
    pub async fn buyer_approves(&self, redirect_url: &str, tampered_amount: Option<i64>) -> anyhow::Result<String> {
        let page = self.http.get(redirect_url).send().await?.text().await?;
        let shown =
            page.split("id=\"amount\">").nth(1).and_then(|s| s.split(' ').next()).unwrap_or_default().to_owned();
        let amount = tampered_amount.map_or(shown, |a| a.to_string());
        let reply = self
            .http
            .post(format!("{redirect_url}/approve"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("amount={amount}"))
            .send()
            .await?;
        anyhow::ensure!(reply.status() == 303, "approve page answered {}", reply.status());
        let location = reply.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        anyhow::ensure!(location.starts_with("https://shop.example/pay/approve?from=test&tid="), "{location}");
        let token = location.split("pg_token=").nth(1).unwrap_or_default().to_owned();
        Ok(token)
    }

    pub async fn approve(
        &self,
        prepared: &wire::PrepareResponse,
        token: &str,
        buyer_id: &str,
        key: &str,
    ) -> Result<wire::Payment, tonic::Status> {
        use floodgate_proto::payment::v1::payment_service_server::PaymentService as _;
        let payment = prepared.payment.clone().unwrap_or_default();
        let request = wire::ApproveRequest {
            payment_id: payment.payment_id,
            provider_tid: prepared.provider_tid.clone(),
            approval_token: token.into(),
            buyer: buyer(buyer_id),
            idempotency_key: key.into(),
        };
        Ok(self.api.approve(Request::new(request)).await?.into_inner())
    }

    /// Order placed, prepared, approved at the page and captured.
    pub async fn paid(&self, buyer_id: &str, amount: i64) -> anyhow::Result<(Uuid, wire::Payment)> {
        let order = self.order(buyer_id, amount).await?;
        let prepared = self.prepare(order, buyer_id, &format!("prep-{order}")).await?;
        let token = self.buyer_approves(&prepared.redirect_url, None).await?;
        let payment = self.approve(&prepared, &token, buyer_id, &format!("appr-{order}")).await?;
        Ok((order, payment))
    }

    /// Event types in the outbox, oldest first.
    pub async fn outbox(&self) -> anyhow::Result<Vec<String>> {
        let types: Vec<String> =
            sqlx::query_scalar("SELECT event_type FROM eventbus.outbox ORDER BY id").fetch_all(&self.db.pool).await?;
        Ok(types.into_iter().map(|t| t.trim_start_matches("floodgate.payment.v1.").to_owned()).collect())
    }

    /// The money oracle: the provider's ledger and the payments table agree on every capture
    /// and refund, and nothing was refunded beyond its capture (I2).
    pub async fn ledger_agrees(&self) -> anyhow::Result<()> {
        type Row = (String, i64, i64, Option<i64>, Option<i64>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT t.tid, t.captured_minor, t.refunded_minor, p.captured_minor, p.refunded_minor, p.flagged
             FROM simulator.transactions t LEFT JOIN payments p ON p.provider_tid = t.tid",
        )
        .fetch_all(&self.db.pool)
        .await?;
        for (tid, captured, refunded, ours_captured, ours_refunded, flagged) in rows {
            anyhow::ensure!(refunded <= captured, "{tid}: the provider refunded more than it captured");
            let kept = captured - refunded;
            let ours = ours_captured.unwrap_or(0) - ours_refunded.unwrap_or(0);
            // A capture we refused (wrong amount, or for a closed payment) is refunded in full.
            let refused = ours_captured == Some(0) && (kept == 0);
            anyhow::ensure!(kept == ours || refused, "{tid}: provider keeps {kept}, we record {ours} ({flagged:?})");
        }
        Ok(())
    }

    pub async fn settle_refunds(&self) -> anyhow::Result<usize> {
        Ok(self.payments.process_refunds(Utc::now()).await?)
    }
}

pub fn code(status: &tonic::Status) -> &str {
    status.metadata().get(floodgate_payment::error::ERROR_CODE).and_then(|v| v.to_str().ok()).unwrap_or("")
}

pub const LATER: Duration = Duration::from_secs(20);
