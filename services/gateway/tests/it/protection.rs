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

/// A window's counter expires when the window ends, however busy it is: its expiry is set by the
/// first hit only (set on every hit, every request of an on-sale was a second write to Redis's
/// append-only file).
#[tokio::test]
async fn a_limit_window_expires_from_its_first_hit() -> anyhow::Result<()> {
    use floodgate_gateway::accounts::limits::{Limits, Rule};
    let redis = floodgate_testkit::TestRedis::new()?;
    let connection = redis::aio::ConnectionManager::new(redis::Client::open(redis.url.as_str())?).await?;
    let limits = Limits::new(connection.clone(), &redis.prefix);
    let rule = Rule { name: "t", max: 2, window: std::time::Duration::from_secs(3600) };
    // Early in a window, so the three hits share it.
    let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    assert_eq!(limits.hit(rule, "k", now).await?, Ok(()));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(limits.hit(rule, "k", now).await?, Ok(()));
    let refused = limits.hit(rule, "k", now).await?;
    assert_eq!(refused, Err(std::time::Duration::from_secs(3600)), "over: retry when the window ends");
    let counter = format!("{}gateway:rl:t:k:{}", redis.prefix, 1_800_000_000 / 3600);
    let left: i64 = redis::cmd("PTTL").arg(&counter).query_async(&mut connection.clone()).await?;
    assert!((1..=3_600_000 - 250).contains(&left), "the first hit's expiry, not the last's: {left} ms");
    Ok(())
}
