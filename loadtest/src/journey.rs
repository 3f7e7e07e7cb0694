//! One buyer's on-sale, step by step through the public API, every step recorded: join the
//! waiting room, follow the position until admitted, load the seat map, hold, check out, pay at
//! the provider's page, see the order confirmed and the tickets. Steps are timed from when the
//! buyer meant to act, so time spent queued anywhere — in the kit included — counts.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    time::Duration,
};

use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::{
    client::{Gateway, Landing, Reply, Session, WireError},
    history::{Kind, Op},
    plan::{Plan, Want},
    record::Recorder,
    scenario::Retries,
};

/// What every buyer of a run shares.
#[derive(Debug, Clone)]
pub struct Shop {
    pub gateway: Gateway,
    pub performance_id: String,
    pub recorder: Recorder,
    pub retries: Retries,
    /// Open WebSockets allowed at once (file descriptors on a one-box rig); beyond it buyers poll.
    pub sockets: Arc<Semaphore>,
    /// After this (µs from the start) nobody waits any longer.
    pub closes_at_us: u64,
}

/// How a step ended, for the buyer to decide what next.
enum Step {
    Done(Reply),
    Refused,
    Unknown,
}

/// One buyer in the live "holding" count, until dropped: a journey leaves it however it ends.
struct Holding<'a>(&'a AtomicU64);

impl<'a> Holding<'a> {
    fn start(count: &'a AtomicU64) -> Self {
        count.fetch_add(1, Relaxed);
        Self(count)
    }
}

impl Drop for Holding<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// First pause between polls of something the platform is still doing (a payment opening, an
/// order confirming).
const FIRST_POLL: Duration = Duration::from_millis(250);
/// The longest pause between them.
const LONGEST_POLL: Duration = Duration::from_secs(2);
/// How long a buyer waits for the payment page to open.
const PAYMENT_PATIENCE: Duration = Duration::from_secs(30);
/// How long a paid buyer watches for the confirmation.
const CONFIRMATION_PATIENCE: Duration = Duration::from_secs(120);

/// Polls a gateway that gives no `poll_after_seconds` this often.
const DEFAULT_POLL_SECONDS: u64 = 5;
/// The longest wait between polls of a busy gateway.
const MAX_POLL_BACKOFF: Duration = Duration::from_secs(30);

/// Between half and one and a half times `wait`: buyers shed together must not all come back
/// together.
fn jittered(wait: Duration) -> Duration {
    wait.mul_f64(rand::random_range(0.5..1.5))
}

impl Shop {
    /// Runs one operation with retries on transient answers, recording invoke and outcome.
    async fn step<F, Fut>(
        &self,
        buyer: u32,
        op: Op,
        intended_us: u64,
        about: Value,
        describe: fn(&Reply) -> Value,
        call: F,
    ) -> Step
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Reply, WireError>>,
    {
        let recorder = &self.recorder;
        recorder.invoke(buyer, op, intended_us, about);
        match self.retrying(Reply::transient, call).await {
            Ok(reply) if reply.ok() => {
                recorder.complete(buyer, op, intended_us, Kind::Ok, None, describe(&reply));
                Step::Done(reply)
            }
            Ok(reply) => {
                recorder.complete(buyer, op, intended_us, Kind::Fail, Some(reply.code()), Value::Null);
                Step::Refused
            }
            Err(error) => {
                recorder.complete(buyer, op, intended_us, Kind::Info, Some(error.code().into()), Value::Null);
                Step::Unknown
            }
        }
    }

    /// Sends until an answer `again` does not ask to retry, or the retries run out (the web app's
    /// "busy, trying again"), waiting longer each time and at least the answer's `Retry-After`.
    async fn retrying<F, Fut>(&self, again: fn(&Reply) -> bool, call: F) -> Result<Reply, WireError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Reply, WireError>>,
    {
        let mut backoff = Duration::from_millis(u64::from(self.retries.backoff_ms));
        for _ in 0..self.retries.max {
            let reply = call().await?;
            if reply.ok() || !again(&reply) {
                return Ok(reply);
            }
            tokio::time::sleep(jittered(reply.retry_after().unwrap_or_default().max(backoff))).await;
            backoff *= 2;
        }
        call().await
    }

    /// Reads `path` until `settled` says the answer is final or `patience` runs out, as a page
    /// waiting on the platform does: pauses from [`FIRST_POLL`] doubling to [`LONGEST_POLL`], or
    /// a busy gateway's `Retry-After` when longer. The last answer either way.
    async fn poll(
        &self,
        session: &Session,
        path: &str,
        patience: Duration,
        settled: impl Fn(&Reply) -> bool,
    ) -> Result<Reply, WireError> {
        let started = tokio::time::Instant::now();
        let mut pause = FIRST_POLL;
        loop {
            let reply = self.gateway.get(session, path).await?;
            if settled(&reply) || started.elapsed() >= patience {
                return Ok(reply);
            }
            let wait = if reply.transient() { reply.retry_after().unwrap_or_default().max(pause) } else { pause };
            tokio::time::sleep(jittered(wait)).await;
            pause = (pause * 2).min(LONGEST_POLL);
        }
    }

    /// Sleeps `think`, then returns the intended time of the next step.
    async fn pause(&self, think: Duration) -> u64 {
        let intended = self.recorder.now_us() + u64::try_from(think.as_micros()).unwrap_or(0);
        tokio::time::sleep_until(self.recorder.instant(intended)).await;
        intended
    }

    /// The whole journey of a buyer with `session`, arriving at `plan.arrives_at`.
    pub async fn shop(&self, plan: &Plan, session: Session) {
        let buyer = plan.buyer;
        let progress = &self.recorder.progress;
        let performance = &self.performance_id;
        let arrive_us = (plan.arrives_at * 1e6) as u64;
        progress.arrived.fetch_add(1, Relaxed);

        let join = format!("/v1/performances/{performance}/queue");
        let empty = json!({});
        let Step::Done(joined) = self
            .step(
                buyer,
                Op::Join,
                arrive_us,
                Value::Null,
                |r| json!({"entry_id": r.body["entry_id"]}),
                || self.gateway.post(&session, &join, &empty),
            )
            .await
        else {
            return;
        };
        let entry = joined.text("entry_id").unwrap_or_default();
        progress.waiting.fetch_add(1, Relaxed);
        let since = self.recorder.now_us();
        self.recorder.invoke(buyer, Op::Admitted, since, json!({"entry_id": entry}));
        let admission = self.follow(&session, &entry, joined.text("admission_token")).await;
        progress.waiting.fetch_sub(1, Relaxed);
        let admission = match admission {
            Ok(Some(token)) => {
                self.recorder.complete(buyer, Op::Admitted, since, Kind::Ok, None, json!({"entry_id": entry}));
                progress.admitted.fetch_add(1, Relaxed);
                token
            }
            Ok(None) => {
                let code = Some("NOT_ADMITTED".to_owned());
                self.recorder.complete(buyer, Op::Admitted, since, Kind::Fail, code, Value::Null);
                return;
            }
            Err(error) => {
                self.recorder.complete(buyer, Op::Admitted, since, Kind::Info, Some(error.code().into()), Value::Null);
                return;
            }
        };

        let intended = self.recorder.now_us();
        let map = format!("/v1/performances/{performance}/seat-map");
        self.step(
            buyer,
            Op::SeatMap,
            intended,
            Value::Null,
            |_| Value::Null,
            || async {
                let (status, size) = self.gateway.fetch(&session, &map, "application/x-protobuf").await?;
                Ok(Reply { status, body: json!({"bytes": size}), retry_after: None })
            },
        )
        .await;

        let intended = self.pause(plan.think[0]).await;
        let Some(hold) = self.hold(&session, plan, intended, &admission).await else { return };
        let _holding = Holding::start(&progress.holding);
        let hold_id = hold.text("hold_id").unwrap_or_default();
        if plan.bot || plan.abandon {
            if plan.releases && !plan.bot {
                let path = format!("/v1/performances/{performance}/holds/{hold_id}");
                let intended = self.recorder.now_us();
                self.step(
                    buyer,
                    Op::Release,
                    intended,
                    json!({"hold_id": hold_id}),
                    |_| Value::Null,
                    || self.gateway.delete(&session, &path),
                )
                .await;
            }
            return;
        }

        let intended = self.pause(plan.think[1]).await;
        let tickets: Vec<Value> = tickets(&hold, &plan.audiences);
        let path = format!("/v1/performances/{performance}/holds/{hold_id}/checkout");
        let body = json!({"tickets": tickets, "admission_token": admission});
        let Step::Done(order) = self
            .step(buyer, Op::Checkout, intended, json!({"hold_id": hold_id}), describe_order, || {
                self.gateway.post(&session, &path, &body)
            })
            .await
        else {
            return;
        };
        let order_id = order.text("order_id").unwrap_or_default();
        let total = order.body["total"]["minor"].as_i64().unwrap_or(0);

        let intended = self.pause(plan.think[2]).await;
        if self.pay(&session, buyer, intended, &order_id, total).await == Paid::Declined {
            let path = format!("/v1/orders/{order_id}/cancel");
            let intended = self.recorder.now_us();
            self.step(
                buyer,
                Op::Cancel,
                intended,
                json!({"order_id": order_id}),
                |_| Value::Null,
                || self.gateway.post(&session, &path, &empty),
            )
            .await;
            return;
        }
        self.confirmed(&session, buyer, &order_id).await;
    }

    /// Until admitted: over the WebSocket while a socket is free, else by polling when the
    /// position says to (`poll_after_seconds`, as the web app does); a busy gateway is asked
    /// again after its `Retry-After`, later each time.
    async fn follow(
        &self,
        session: &Session,
        entry: &str,
        already: Option<String>,
    ) -> Result<Option<String>, WireError> {
        if already.is_some() {
            return Ok(already);
        }
        let patience = || Duration::from_micros(self.closes_at_us.saturating_sub(self.recorder.now_us()));
        if let Ok(_socket) = self.sockets.try_acquire() {
            match self.gateway.follow_live(session, &self.performance_id, entry, patience()).await {
                Ok(outcome) => return Ok(outcome),
                Err(error) => tracing::debug!(%error, "live position lost; polling"),
            }
        }
        let path = format!("/v1/performances/{}/queue/{entry}", self.performance_id);
        let first_backoff = Duration::from_secs(1);
        let mut backoff = first_backoff;
        while !patience().is_zero() {
            let position = self.gateway.get(session, &path).await?;
            if let Some(token) = position.text("admission_token") {
                return Ok(Some(token));
            }
            if position.transient() {
                tokio::time::sleep(jittered(position.retry_after().unwrap_or_default().max(backoff))).await;
                backoff = (backoff * 2).min(MAX_POLL_BACKOFF);
                continue;
            }
            if !position.ok() {
                return Ok(None);
            }
            if matches!(position.text("status").as_deref(), Some("expired" | "left" | "closed" | "sold_out")) {
                return Ok(None);
            }
            backoff = first_backoff;
            let after = position.body["poll_after_seconds"].as_u64().unwrap_or(DEFAULT_POLL_SECONDS);
            tokio::time::sleep(jittered(Duration::from_secs(after))).await;
        }
        Ok(None)
    }

    /// Holds what the plan wants; specific seats already taken fall back to the best available.
    async fn hold(&self, session: &Session, plan: &Plan, intended: u64, admission: &str) -> Option<Reply> {
        let performance = &self.performance_id;
        let best = format!("/v1/performances/{performance}/holds/best-available");
        let exact = format!("/v1/performances/{performance}/holds");
        let (path, body) = match &plan.want {
            Want::Best { quantity } => (&best, json!({"quantity": quantity, "admission_token": admission})),
            Want::Seats(seats) => (&exact, json!({"seat_ids": seats, "admission_token": admission})),
            Want::Standing { section_id, quantity } => (
                &exact,
                json!({"general_admission": [{"section_id": section_id, "quantity": quantity}], "admission_token": admission}),
            ),
        };
        let about = match &plan.want {
            Want::Seats(seats) => json!({"want": plan.want.quantity(), "seat_ids": seats}),
            want => json!({"want": want.quantity()}),
        };
        let outcome = self
            .step(plan.buyer, Op::Hold, intended, about.clone(), describe_hold, || {
                self.gateway.post(session, path, &body)
            })
            .await;
        match outcome {
            Step::Done(hold) => Some(hold),
            Step::Refused if matches!(plan.want, Want::Seats(_)) => {
                let body = json!({"quantity": plan.want.quantity(), "admission_token": admission});
                let intended = self.recorder.now_us();
                match self
                    .step(plan.buyer, Op::Hold, intended, about, describe_hold, || {
                        self.gateway.post(session, &best, &body)
                    })
                    .await
                {
                    Step::Done(hold) => Some(hold),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Pays: waits for the payment to open, prepares it, approves at the provider's page, and
    /// comes back with the token. Declined (or refused), the buyer gives up and cancels; with no
    /// answer they may have paid, so they go and look at the order.
    async fn pay(&self, session: &Session, buyer: u32, intended: u64, order_id: &str, total: i64) -> Paid {
        let recorder = &self.recorder;
        let about = json!({"order_id": order_id, "amount": total});
        recorder.invoke(buyer, Op::Pay, intended, about.clone());
        let fail = |kind: Kind, code: &str| {
            recorder.complete(buyer, Op::Pay, intended, kind, Some(code.to_owned()), about.clone());
            if kind == Kind::Info { Paid::Unknown } else { Paid::Declined }
        };
        let payment = format!("/v1/orders/{order_id}/payment");
        // The payment exists once payment has read the order event.
        let opened = |r: &Reply| r.ok() || !(r.transient() || r.status == 404);
        match self.poll(session, &payment, PAYMENT_PATIENCE, opened).await {
            Ok(reply) if reply.ok() => {}
            Ok(reply) => return fail(Kind::Fail, &reply.code()),
            Err(error) => return fail(Kind::Info, error.code()),
        }
        let urls = json!({"approve_url": "https://rehearsal.invalid/paid", "cancel_url": "https://rehearsal.invalid/cancel",
                          "fail_url": "https://rehearsal.invalid/fail"});
        let prepared = match self.retrying(Reply::transient, || self.gateway.post(session, &payment, &urls)).await {
            Ok(reply) if reply.ok() => reply,
            Ok(reply) => return fail(Kind::Fail, &reply.code()),
            Err(error) => return fail(Kind::Info, error.code()),
        };
        let redirect = prepared.text("redirect_url").unwrap_or_default();
        let pg_token = match self.gateway.approve_at_provider(&redirect, total).await {
            Ok(Landing::Approved { pg_token }) => pg_token,
            Ok(Landing::Declined) => return fail(Kind::Fail, "DECLINED"),
            Err(error) => return fail(Kind::Info, error.code()),
        };
        let approve = json!({"payment_id": prepared.body["payment_id"], "provider_tid": prepared.body["provider_tid"], "pg_token": pg_token});
        // Only an approval the gateway never handled is sent again (it was shed or rate-limited):
        // after any other failure the provider may have captured.
        let approve_path = format!("{payment}/approve");
        match self.retrying(Reply::unhandled, || self.gateway.post(session, &approve_path, &approve)).await {
            Ok(reply) if reply.ok() => {
                recorder.complete(buyer, Op::Pay, intended, Kind::Ok, None, about.clone());
                Paid::Yes
            }
            // The provider may have captured: the outcome is unknown to the buyer, not a failure.
            Ok(reply) if reply.status >= 500 => fail(Kind::Info, &reply.code()),
            Ok(reply) => fail(Kind::Fail, &reply.code()),
            Err(error) => fail(Kind::Info, error.code()),
        }
    }

    /// Waits to see the order confirmed (the acknowledgement I4 holds the platform to), then
    /// fetches the tickets.
    async fn confirmed(&self, session: &Session, buyer: u32, order_id: &str) {
        let recorder = &self.recorder;
        let intended = recorder.now_us();
        recorder.invoke(buyer, Op::Confirmed, intended, json!({"order_id": order_id}));
        let path = format!("/v1/orders/{order_id}");
        let settled = |order: &Reply| {
            matches!(order.text("status").as_deref(), Some("confirmed" | "rejected" | "expired" | "cancelled"))
        };
        let order = self.poll(session, &path, CONFIRMATION_PATIENCE, settled).await;
        let status = order.as_ref().ok().and_then(|o| o.text("status"));
        match status.as_deref() {
            Some("confirmed") => {
                // Sold is what the confirmed order holds. (Counted from the ticket list fetched
                // next, a shed fetch counted a sold order as none: 5,300 of 19,150 in a run.)
                let lines = order.as_ref().ok().and_then(|o| o.body["lines"].as_array().cloned()).unwrap_or_default();
                let count = lines.iter().filter(|line| line["cancelled"] != true).count();
                let _ = self.gateway.get(session, &format!("/v1/tickets?order_id={order_id}")).await;
                let value = json!({"order_id": order_id, "tickets": count});
                recorder.complete(buyer, Op::Confirmed, intended, Kind::Ok, None, value);
                recorder.progress.tickets_sold.fetch_add(count as u64, Relaxed);
            }
            Some(ended @ ("rejected" | "expired" | "cancelled")) => {
                let code = Some(ended.to_uppercase());
                recorder.complete(buyer, Op::Confirmed, intended, Kind::Fail, code, json!({"order_id": order_id}));
            }
            _ => {
                let code = Some("NOT_SEEN".to_owned());
                recorder.complete(buyer, Op::Confirmed, intended, Kind::Info, code, json!({"order_id": order_id}));
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Paid {
    Yes,
    Declined,
    Unknown,
}

fn describe_hold(reply: &Reply) -> Value {
    let seats: Vec<Value> =
        reply.body["seats"].as_array().map_or_else(Vec::new, |s| s.iter().map(|s| s["seat_id"].clone()).collect());
    json!({"hold_id": reply.body["hold_id"], "seats": seats, "general_admission": reply.body["general_admission"]})
}

fn describe_order(reply: &Reply) -> Value {
    json!({"order_id": reply.body["order_id"], "total": reply.body["total"]["minor"]})
}

/// One ticket choice per held seat (or standing place), with the plan's audiences.
pub(crate) fn tickets(hold: &Reply, audiences: &[String]) -> Vec<Value> {
    let audience = |i: usize| audiences.get(i).cloned().unwrap_or_else(|| "adult".into());
    let mut tickets: Vec<Value> = hold.body["seats"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, seat)| json!({"seat_id": seat["seat_id"], "audience": audience(i)}))
        .collect();
    for standing in hold.body["general_admission"].as_array().into_iter().flatten() {
        for _ in 0..standing["quantity"].as_u64().unwrap_or(0) {
            let i = tickets.len();
            tickets.push(json!({"section_id": standing["section_id"], "audience": audience(i)}));
        }
    }
    tickets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkout_names_every_held_seat_and_standing_place_with_an_audience() {
        let hold = Reply {
            status: 201,
            body: json!({"seats": [{"seat_id": "A-1-1"}, {"seat_id": "A-1-2"}],
                         "general_admission": [{"section_id": "GA", "quantity": 2}]}),
            retry_after: None,
        };
        let audiences = ["youth".to_owned(), "adult".to_owned(), "adult".to_owned()];
        assert_eq!(
            tickets(&hold, &audiences),
            vec![
                json!({"seat_id": "A-1-1", "audience": "youth"}),
                json!({"seat_id": "A-1-2", "audience": "adult"}),
                json!({"section_id": "GA", "audience": "adult"}),
                json!({"section_id": "GA", "audience": "adult"}),
            ]
        );
    }
}
