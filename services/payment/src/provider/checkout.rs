//! The simulated provider's checkout pages, on its own HTTP listener — what a buyer's browser
//! walks through between `Prepare` and `Approve`:
//!
//! 1. `GET /checkout/{tid}`: the amount and two buttons;
//! 2. `POST /checkout/{tid}/approve` (form field `amount`, pre-filled — a tampered page can
//!    change it, and payment will refuse the capture) → `303` to the merchant's approve URL with
//!    `tid` and `pg_token`; or a decline → `303` to the fail URL;
//! 3. `POST /checkout/{tid}/cancel` → `303` to the cancel URL.

use axum::{
    Router,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};

use super::{
    ProviderError,
    simulated::{BuyerChoice, Simulator},
};

pub fn router(simulator: Simulator) -> Router {
    Router::new()
        .route("/checkout/{tid}", get(page))
        .route("/checkout/{tid}/approve", post(approve))
        .route("/checkout/{tid}/cancel", post(cancel))
        .with_state(simulator)
}

async fn page(State(simulator): State<Simulator>, Path(tid): Path<String>) -> Response {
    match simulator.view(&tid).await {
        Ok(view) => Html(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Floodgate Pay (simulated)</title></head>\
             <body><h1>Floodgate Pay</h1><p>Order {order}</p><p id=\"amount\">{amount} {currency}</p><p>{status}</p>\
             <form method=\"post\" action=\"/checkout/{tid}/approve\">\
             <input type=\"hidden\" name=\"amount\" value=\"{amount}\">\
             <button id=\"approve\" type=\"submit\">Approve payment</button></form>\
             <form method=\"post\" action=\"/checkout/{tid}/cancel\"><button id=\"cancel\" type=\"submit\">Cancel</button></form>\
             </body></html>",
            order = escape(&view.partner_order),
            amount = view.amount_minor,
            currency = escape(&view.currency),
            status = escape(&view.status),
            tid = escape(&view.tid),
        ))
        .into_response(),
        Err(error) => refusal(&error),
    }
}

async fn approve(State(simulator): State<Simulator>, Path(tid): Path<String>, body: String) -> Response {
    let amount = form_field(&body, "amount").and_then(|a| a.parse::<i64>().ok());
    redirect(simulator.choose(&tid, BuyerChoice::Approve { amount_minor: amount }).await)
}

async fn cancel(State(simulator): State<Simulator>, Path(tid): Path<String>) -> Response {
    redirect(simulator.choose(&tid, BuyerChoice::Cancel).await)
}

fn redirect(result: Result<super::simulated::Redirect, ProviderError>) -> Response {
    match result {
        Ok(to) => (StatusCode::SEE_OTHER, [(header::LOCATION, to.0)]).into_response(),
        Err(error) => refusal(&error),
    }
}

fn refusal(error: &ProviderError) -> Response {
    let status = match error {
        ProviderError::UnknownTransaction(_) => StatusCode::NOT_FOUND,
        ProviderError::Refused(_) => StatusCode::CONFLICT,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, error.to_string()).into_response()
}

/// One field of an `application/x-www-form-urlencoded` body (digits are all we read).
fn form_field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&').filter_map(|pair| pair.split_once('=')).find(|(k, _)| *k == name).map(|(_, v)| v)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_and_html_are_read_and_written_safely() {
        assert_eq!(form_field("a=1&amount=5000", "amount"), Some("5000"));
        assert_eq!(form_field("amount", "amount"), None);
        assert_eq!(escape("<b>\"x\" & y</b>"), "&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;");
    }
}
