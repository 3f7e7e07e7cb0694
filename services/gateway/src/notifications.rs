//! The confirmation email: booking's `OrderPlaced` says who ordered (kept in `order_contacts`),
//! its `OrderConfirmed` says the tickets exist — then the buyer gets a readable message with the
//! order number, seats, total and a link to the tickets. Runs in the inbox transaction, so each
//! event is handled once; a send that fails is retried with the event.

use chrono::Utc;
use floodgate_eventbus::{Event, EventHandler, HandlerError};
use floodgate_proto::{EventPayload as _, booking::v1 as booking};
use sqlx::PgConnection;

use crate::accounts::messages::{Message, MessageSender};

#[derive(Debug, Clone)]
pub struct Confirmations {
    pub sender: std::sync::Arc<dyn MessageSender>,
    /// Where buyers open their tickets, e.g. `https://tickets.example`.
    pub public_url: String,
}

fn reject(why: &'static str) -> HandlerError {
    HandlerError::Reject(why.into())
}

fn money(minor: i64, currency: &str) -> String {
    // Currencies with minor units show them; KRW and JPY have none.
    match currency {
        "KRW" | "JPY" => format!("{minor} {currency}"),
        _ => format!("{}.{:02} {currency}", minor / 100, (minor % 100).abs()),
    }
}

impl EventHandler for Confirmations {
    /// Orders placed (who to write to) and confirmed (what to write); not the holds around them.
    fn wants(&self, event_type: &str) -> bool {
        [booking::OrderPlaced::EVENT_TYPE, booking::OrderConfirmed::EVENT_TYPE].contains(&event_type)
    }

    async fn handle(&self, tx: &mut PgConnection, event: &Event) -> Result<(), HandlerError> {
        if event.is::<booking::OrderPlaced>() {
            let placed = event.payload::<booking::OrderPlaced>()?;
            let order_id = uuid::Uuid::parse_str(&placed.order_id).map_err(|_| reject("order id is not a UUID"))?;
            let (user_id, guest_email) = match placed.buyer.and_then(|b| b.kind) {
                Some(floodgate_proto::types::v1::buyer::Kind::UserId(id)) => (Some(id), None),
                Some(floodgate_proto::types::v1::buyer::Kind::Guest(guest)) => {
                    (None, Some(guest.email).filter(|e| !e.is_empty()))
                }
                None => (None, None),
            };
            let total = placed.total.unwrap_or_default();
            sqlx::query(
                "INSERT INTO order_contacts (order_id, order_number, performance_id, user_id, guest_email, currency, total_minor)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (order_id) DO NOTHING",
            )
            .bind(order_id)
            .bind(&placed.order_number)
            .bind(&placed.performance_id)
            .bind(user_id)
            .bind(guest_email)
            .bind(&total.currency)
            .bind(total.minor)
            .execute(&mut *tx)
            .await?;
        } else if event.is::<booking::OrderConfirmed>() {
            let confirmed = event.payload::<booking::OrderConfirmed>()?;
            let order_id = uuid::Uuid::parse_str(&confirmed.order_id).map_err(|_| reject("order id is not a UUID"))?;
            let contact: Option<(String, Option<String>, String, i64)> = sqlx::query_as(
                "SELECT c.order_number, coalesce(a.email, c.guest_email), c.currency, c.total_minor
                 FROM order_contacts c LEFT JOIN accounts a ON a.id::text = c.user_id
                 WHERE c.order_id = $1 AND c.emailed_at IS NULL FOR UPDATE OF c",
            )
            .bind(order_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((number, Some(email), currency, total)) = contact else {
                // Unknown order (placed before this consumer existed), no address, or sent already.
                return Ok(());
            };
            let seats: Vec<String> = confirmed
                .seats
                .iter()
                .map(|s| {
                    if s.row.is_empty() {
                        s.seat_id.clone()
                    } else {
                        format!("section {} row {} seat {}", s.section_id, s.row, s.number)
                    }
                })
                .collect();
            let tickets = confirmed.ticket_ids.len();
            let body = format!(
                "Your order {number} is confirmed.\n\n{tickets} ticket(s){}\nTotal paid: {}\n\nYour tickets: {}/tickets?order_id={}\n\nShow the QR code at the door. See you there!",
                if seats.is_empty() { String::new() } else { format!(": {}", seats.join(", ")) },
                money(total, &currency),
                self.public_url.trim_end_matches('/'),
                confirmed.order_id,
            );
            let message = Message {
                channel: "email".into(),
                to: email,
                subject: format!("Your Floodgate tickets — order {number}"),
                body,
                sent_at: Utc::now().to_rfc3339(),
            };
            self.sender.send(message).await.map_err(|e| HandlerError::Retry(Box::new(e)))?;
            sqlx::query("UPDATE order_contacts SET emailed_at = now() WHERE order_id = $1")
                .bind(order_id)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_read_naturally() {
        assert_eq!(super::money(198_000, "KRW"), "198000 KRW");
        assert_eq!(super::money(1_505, "USD"), "15.05 USD");
    }
}
