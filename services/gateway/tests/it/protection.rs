//! The protection layers through real HTTP: request ids, per-address rate limits, load shedding,
//! CORS.

use crate::support::Gateway;

#[tokio::test]
async fn every_answer_carries_a_request_id_and_keeps_a_sane_one() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let answer =
        gw.http.get(format!("{}/v1/nothing-here", gw.url)).header("x-request-id", "trace-me-123").send().await?;
    assert_eq!(answer.headers().get("x-request-id").and_then(|v| v.to_str().ok()), Some("trace-me-123"));
    let made = gw.http.get(format!("{}/v1/nothing-here", gw.url)).header("x-request-id", "<script>").send().await?;
    let id = made.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "a fresh id replaces an unusable one: {id}");
    Ok(())
}

#[tokio::test]
async fn one_address_is_limited_with_429_and_retry_after() -> anyhow::Result<()> {
    let gw = Gateway::start_with(&["--ip-rate-limit=5"]).await?;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..7 {
        let answer = gw.http.get(format!("{}/v1/accounts/availability?email=a@b.co", gw.url)).send().await?;
        statuses.push(answer.status().as_u16());
        retry_after = retry_after.or(answer.headers().get("retry-after").cloned());
        if answer.status() == 429 {
            let body: serde_json::Value = answer.json().await?;
            assert_eq!(body["code"], "RATE_LIMITED");
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429]);
    assert!(retry_after.is_some());
    Ok(())
}

#[tokio::test]
async fn beyond_the_in_flight_cap_requests_are_shed_at_once() -> anyhow::Result<()> {
    let gw = Gateway::start_with(&["--max-in-flight=0"]).await?;
    let answer = gw.http.get(format!("{}/v1/accounts/availability?email=a@b.co", gw.url)).send().await?;
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let body: serde_json::Value = answer.json().await?;
    assert_eq!(body["code"], "OVERLOADED");
    Ok(())
}

#[tokio::test]
async fn cors_answers_allowed_origins_only() -> anyhow::Result<()> {
    let gw = Gateway::start_with(&["--cors-origins=https://tickets.example,https://admin.example"]).await?;
    let preflight = |origin: &'static str| {
        gw.http
            .request(reqwest::Method::OPTIONS, format!("{}/v1/sessions", gw.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let allowed = preflight("https://tickets.example").await?;
    assert_eq!(allowed.status(), 204);
    assert_eq!(
        allowed.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()),
        Some("https://tickets.example")
    );
    assert_eq!(allowed.headers().get("access-control-allow-credentials").and_then(|v| v.to_str().ok()), Some("true"));
    let denied = preflight("https://evil.example").await?;
    assert_eq!(denied.status(), 403);
    assert!(denied.headers().get("access-control-allow-origin").is_none());
    let simple = gw
        .http
        .get(format!("{}/v1/accounts/availability?email=a@b.co", gw.url))
        .header("origin", "https://evil.example")
        .send()
        .await?;
    assert!(simple.headers().get("access-control-allow-origin").is_none(), "no CORS grant for others");
    Ok(())
}
