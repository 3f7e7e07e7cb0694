//! Who a buyer is: a member (phone verified, signed up, logged in) or a guest (phone verified,
//! a guest session). Codes are read from the development outbox (`GET /v1/dev/messages`), the
//! phone a rehearsal cannot otherwise hold.

use serde_json::json;

use crate::client::{Gateway, Session, WireError};

/// Every rehearsal account has this password.
pub const PASSWORD: &str = "Rehearsal!2026";

/// A phone number per buyer index, in a range nobody else uses.
pub fn phone(index: u32) -> String {
    format!("+8210{:08}", 90_000_000 + index % 10_000_000)
}

fn refused(step: &str, reply: &crate::client::Reply) -> WireError {
    WireError::Connection(format!("{step}: {} {}", reply.status, reply.body))
}

/// Sends a code for `purpose` to `phone` and reads it back from the development outbox.
async fn code(gateway: &Gateway, session: &Session, phone: &str, purpose: &str) -> Result<String, WireError> {
    let sent = gateway.post(session, "/v1/verifications", &json!({"phone": phone, "purpose": purpose})).await?;
    if sent.status != 202 {
        return Err(refused("send code", &sent));
    }
    let inbox = gateway.get(session, &format!("/v1/dev/messages?to={}", phone.replace('+', "%2B"))).await?;
    let text = inbox.body["messages"][0]["body"].as_str().unwrap_or_default();
    Ok(text.chars().filter(char::is_ascii_digit).take(6).collect())
}

/// A member's email per buyer index: the same in every rehearsal, like the phone.
pub fn email(index: u32) -> String {
    format!("buyer-{index}@rehearsal.example.com")
}

/// Signs up a member (no login). A member an earlier rehearsal signed up is signed up already:
/// the phone is refused as taken, and the same email and password log in.
pub async fn sign_up(gateway: &Gateway, session: &Session, email: &str, phone: &str) -> Result<(), WireError> {
    let code = code(gateway, session, phone, "signup").await?;
    let body = json!({"email": email, "phone": phone, "password": PASSWORD, "name": "Rehearsal Buyer",
                      "birth_date": "1994-02-02", "verification_code": code});
    let created = gateway.post(session, "/v1/accounts", &body).await?;
    if created.status == 409 && created.code() == "ALREADY_REGISTERED" {
        return Ok(());
    }
    if created.status != 201 {
        return Err(refused("sign up", &created));
    }
    Ok(())
}

/// Logs a member in: the access token.
pub async fn log_in(gateway: &Gateway, session: &Session, email: &str) -> Result<String, WireError> {
    let tokens = gateway.post(session, "/v1/sessions", &json!({"email": email, "password": PASSWORD})).await?;
    tokens.text("access_token").ok_or_else(|| refused("log in", &tokens))
}

/// A guest session for `phone`: the access token.
pub async fn guest(gateway: &Gateway, session: &Session, phone: &str, email: &str) -> Result<String, WireError> {
    let code = code(gateway, session, phone, "guest").await?;
    let body = json!({"phone": phone, "verification_code": code, "email": email});
    let tokens = gateway.post(session, "/v1/guest-sessions", &body).await?;
    tokens.text("access_token").ok_or_else(|| refused("guest session", &tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_distinct_international_numbers() {
        assert_eq!(phone(0), "+821090000000");
        assert_eq!(phone(99_999), "+821090099999");
        assert_ne!(phone(1), phone(2));
    }
}
