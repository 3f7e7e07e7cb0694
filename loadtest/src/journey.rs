//! One buyer's on-sale, step by step through the public API, every step recorded: join the
//! waiting room, follow the position until admitted, load the seat map, hold, check out, pay at
//! the provider's page, see the order confirmed and the tickets. Steps are timed from when the
//! buyer meant to act, so time spent queued anywhere — in the kit included — counts.

use std::{
    sync::{Arc, atomic::Ordering::Relaxed},
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
        let mut backoff = Duration::from_millis(u64::from(self.retries.backoff_ms));
        let mut attempt = 0;
        loop {
            match call().await {
                Ok(reply) if reply.ok() => {
                    recorder.complete(buyer, op, intended_us, Kind::Ok, None, describe(&reply));
                    return Step::Done(reply);
                }
                Ok(reply) if reply.transient() && attempt < self.retries.max => {
                    let retry_after = reply.body["retry_after_seconds"].as_u64().map(Duration::from_secs);
                    // Jitter: buyers shed together must not all come back together.
                    let wait = retry_after.unwrap_or_default().max(backoff).mul_f64(rand::random_range(0.5..1.5));
                    tokio::time::sleep(wait).await;
                }
                Ok(reply) => {
                    recorder.complete(buyer, op, intended_us, Kind::Fail, Some(reply.code()), Value::Null);
                    return Step::Refused;
                }
                Err(error) => {
                    recorder.complete(buyer, op, intended_us, Kind::Info, Some(error.code().into()), Value::Null);
                    return Step::Unknown;
                }
            }
            attempt += 1;
            backoff *= 2;
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
                Ok(Reply { status, body: json!({"bytes": size}) })
            },
        )
        .await;

        let intended = self.pause(plan.think[0]).await;
        let Some(hold) = self.hold(&session, plan, intended, &admission).await else { return };
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

    /// Until admitted: over the WebSocket while a socket is free, else by polling at a pace the
    /// position's ETA suggests (as the web app does in a background tab).
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
        while !patience().is_zero() {
            let position = self.gateway.get(session, &path).await?;
            if let Some(token) = position.text("admission_token") {
                return Ok(Some(token));
            }
            if !position.ok() && !position.transient() {
                return Ok(None);
            }
            if matches!(position.text("status").as_deref(), Some("expired" | "left" | "closed" | "sold_out")) {
                return Ok(None);
            }
            let eta = position.body["eta_seconds"].as_u64().unwrap_or(2);
            tokio::time::sleep(Duration::from_secs((eta / 2).clamp(1, 10))).await;
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
        let progress = &self.recorder.progress;
        match outcome {
            Step::Done(hold) => {
                progress.holding.fetch_add(1, Relaxed);
                Some(hold)
            }
            Step::Refused if matches!(plan.want, Want::Seats(_)) => {
                let body = json!({"quantity": plan.want.quantity(), "admission_token": admission});
                let intended = self.recorder.now_us();
                match self
                    .step(plan.buyer, Op::Hold, intended, about, describe_hold, || {
                        self.gateway.post(session, &best, &body)
                    })
                    .await
                {
                    Step::Done(hold) => {
                        progress.holding.fetch_add(1, Relaxed);
                        Some(hold)
                    }
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
        let mut waited = Duration::ZERO;
        loop {
            match self.gateway.get(session, &payment).await {
                Ok(reply) if reply.ok() => break,
                Ok(reply) if (reply.transient() || reply.status == 404) && waited < Duration::from_secs(30) => {}
                Ok(reply) => return fail(Kind::Fail, &reply.code()),
                Err(error) => return fail(Kind::Info, error.code()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            waited += Duration::from_millis(100);
        }
        let urls = json!({"approve_url": "https://rehearsal.invalid/paid", "cancel_url": "https://rehearsal.invalid/cancel",
                          "fail_url": "https://rehearsal.invalid/fail"});
        let prepared = match self.gateway.post(session, &payment, &urls).await {
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
        match self.gateway.post(session, &format!("{payment}/approve"), &approve).await {
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
        for _ in 0..600 {
            match self.gateway.get(session, &path).await {
                Ok(order) if order.text("status").as_deref() == Some("confirmed") => {
                    let tickets = self.gateway.get(session, &format!("/v1/tickets?order_id={order_id}")).await;
                    let count = tickets.map_or(0, |t| t.body["tickets"].as_array().map_or(0, Vec::len));
                    let value = json!({"order_id": order_id, "tickets": count});
                    recorder.complete(buyer, Op::Confirmed, intended, Kind::Ok, None, value);
                    recorder.progress.tickets_sold.fetch_add(count as u64, Relaxed);
                    recorder.progress.holding.fetch_sub(1, Relaxed);
                    return;
                }
                Ok(order) if matches!(order.text("status").as_deref(), Some("rejected" | "expired" | "cancelled")) => {
                    let code = order.text("status").map(|s| s.to_uppercase());
                    recorder.complete(buyer, Op::Confirmed, intended, Kind::Fail, code, json!({"order_id": order_id}));
                    return;
                }
                Ok(_) | Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        recorder.complete(
            buyer,
            Op::Confirmed,
            intended,
            Kind::Info,
            Some("NOT_SEEN".into()),
            json!({"order_id": order_id}),
        );
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
