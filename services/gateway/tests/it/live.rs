//! Live updates: the WebSocket handshake checks the caller and the origin.

use tokio_tungstenite::tungstenite::{Error, client::IntoClientRequest as _, http::HeaderValue};

use crate::support::Gateway;

async fn handshake(gw: &Gateway, token: Option<&str>, origin: Option<&str>) -> Result<u16, anyhow::Error> {
    let url =
        format!("{}/v1/performances/{}/live?sections=A", gw.url.replace("http://", "ws://"), uuid::Uuid::now_v7());
    let mut request = url.into_client_request()?;
    if let Some(token) = token {
        request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {token}"))?);
    }
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", HeaderValue::from_str(origin)?);
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => Ok(101),
        Err(Error::Http(response)) => Ok(response.status().as_u16()),
        Err(other) => Err(other.into()),
    }
}

#[tokio::test]
async fn live_updates_need_a_caller_and_an_allowed_origin() -> anyhow::Result<()> {
    let gw = Gateway::start_with(&["--cors-origins=https://tickets.example"]).await?;
    assert_eq!(handshake(&gw, None, None).await?, 401);
    let (email, password) = gw.account("viewer", "+821066667777").await?;
    let token = gw.login(&email, &password).await?["access_token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(handshake(&gw, Some(&token), Some("https://evil.example")).await?, 403);
    // Allowed origin and caller: the handshake reaches the snapshot, which needs booking — not
    // running in this test, so 503 (a real platform answers 101; see e2e `journey`).
    assert_eq!(handshake(&gw, Some(&token), Some("https://tickets.example")).await?, 503);
    Ok(())
}
