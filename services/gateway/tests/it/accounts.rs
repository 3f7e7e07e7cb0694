//! Accounts through real HTTP: signup with a verified phone, login, refresh rotation with reuse
//! detection, logout, guests, profile changes, and the attacks on tokens and logins.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::json;

use crate::support::Gateway;

#[tokio::test]
async fn signup_verify_login_refresh_rotate_and_a_reused_token_revokes_the_family() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let (email, password) = gw.account("jiwoo", "+821011112222").await?;
    let (_, taken) = gw.get("/v1/accounts/availability?email=JIWOO@example.com&phone=%2B821011112222", None).await?;
    assert_eq!(taken, json!({"email_available": false, "phone_available": false}));

    let tokens = gw.login(&email, &password).await?;
    let access = tokens["access_token"].as_str().unwrap_or_default().to_owned();
    let first = tokens["refresh_token"].as_str().unwrap_or_default().to_owned();
    let (status, me) = gw.get("/v1/me", Some(&access)).await?;
    assert_eq!((status, me["email"].as_str(), me["role"].as_str()), (200, Some("jiwoo@example.com"), Some("buyer")));

    let (status, rotated, _) = gw.post("/v1/sessions/refresh", json!({"refresh_token": first}), None).await?;
    assert_eq!(status, 200, "{rotated}");
    let second = rotated["refresh_token"].as_str().unwrap_or_default().to_owned();
    assert_ne!(first, second);
    // The spent token again: stolen. The whole family goes, including the newest token.
    let (status, reused, _) = gw.post("/v1/sessions/refresh", json!({"refresh_token": first}), None).await?;
    assert_eq!((status, reused["code"].as_str()), (401, Some("REFRESH_TOKEN_REUSED")));
    let (status, _, _) = gw.post("/v1/sessions/refresh", json!({"refresh_token": second}), None).await?;
    assert_eq!(status, 401);

    // Logout ends a fresh login's family.
    let tokens = gw.login(&email, &password).await?;
    let refresh = tokens["refresh_token"].clone();
    let response =
        gw.http.delete(format!("{}/v1/sessions", gw.url)).json(&json!({"refresh_token": refresh})).send().await?;
    assert_eq!(response.status(), 204);
    let (status, _, _) = gw.post("/v1/sessions/refresh", json!({"refresh_token": refresh}), None).await?;
    assert_eq!(status, 401);
    Ok(())
}

#[tokio::test]
async fn login_answers_and_cookies() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let (email, password) = gw.account("minho", "+821033334444").await?;
    let (status, _, headers) = gw.post("/v1/sessions", json!({"email": email, "password": password}), None).await?;
    assert_eq!(status, 200);
    let cookies: Vec<&str> = headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("fg_access=") && c.contains("HttpOnly") && c.contains("SameSite=Strict"))
    );
    assert!(cookies.iter().any(|c| c.starts_with("fg_refresh=") && c.contains("Path=/v1/sessions")));
    // Unknown email and wrong password look the same.
    let (_, unknown, _) =
        gw.post("/v1/sessions", json!({"email": "nobody@example.com", "password": password}), None).await?;
    let (_, wrong, _) = gw.post("/v1/sessions", json!({"email": email, "password": "Wrong!2026xx"}), None).await?;
    assert_eq!(unknown["code"], "INVALID_CREDENTIALS");
    assert_eq!(unknown, wrong);
    Ok(())
}

#[tokio::test]
async fn brute_force_logins_are_throttled_with_retry_after() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let (email, _) = gw.account("target", "+821055556666").await?;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..7 {
        let (status, _, headers) =
            gw.post("/v1/sessions", json!({"email": email, "password": "Guess!12345"}), None).await?;
        statuses.push(status);
        retry_after = retry_after.or(headers.get("retry-after").cloned());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429]);
    assert!(retry_after.is_some_and(|v| v.to_str().is_ok_and(|s| s.parse::<u64>().is_ok_and(|n| n >= 1))));
    Ok(())
}

#[tokio::test]
async fn codes_expire_lock_and_cannot_be_spammed() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let phone = "+821077778888";
    let code = gw.code(phone, "signup").await?;
    let (status, body, headers) =
        gw.post("/v1/verifications", json!({"phone": phone, "purpose": "signup"}), None).await?;
    assert_eq!((status, body["code"].as_str()), (429, Some("RATE_LIMITED")));
    assert!(headers.get("retry-after").is_some());
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let signup = |c: &str| {
        json!({
            "email": "x@example.com", "phone": phone, "password": "Tickets!2026", "name": "x",
            "birth_date": "1990-01-01", "verification_code": c,
        })
    };
    for _ in 0..4 {
        let (status, body, _) = gw.post("/v1/accounts", signup(wrong), None).await?;
        assert_eq!((status, body["code"].as_str()), (400, Some("WRONG_CODE")));
    }
    let (_, body, _) = gw.post("/v1/accounts", signup(wrong), None).await?;
    assert_eq!(body["code"], "CODE_LOCKED");
    let (_, body, _) = gw.post("/v1/accounts", signup(&code), None).await?;
    assert_eq!(body["code"], "CODE_LOCKED", "even the right code, once locked");
    Ok(())
}

#[tokio::test]
async fn bad_signups_are_refused_field_by_field_and_extra_fields_rejected() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let bad = json!({
        "email": "nope", "phone": "010", "password": "short", "name": "", "birth_date": "soon", "verification_code": "1",
    });
    let (status, body, _) = gw.post("/v1/accounts", bad, None).await?;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_FIELDS")));
    let fields: Vec<&str> =
        body["details"]["fields"].as_array().into_iter().flatten().filter_map(|f| f["field"].as_str()).collect();
    assert_eq!(fields, ["email", "phone", "password", "name", "birth_date"]);
    // Mass assignment: a role in the body is refused, not ignored.
    let sneaky = json!({
        "email": "a@example.com", "phone": "+821012341234", "password": "Tickets!2026", "name": "a",
        "birth_date": "1990-01-01", "verification_code": "123456", "role": "admin",
    });
    let (status, body, _) = gw.post("/v1/accounts", sneaky, None).await?;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_JSON")));
    // NUL characters cannot be stored anywhere downstream: refused at the door, in bodies and queries.
    let nul = json!({
        "email": "a@example.com", "phone": "+821012341234", "password": "Tickets!2026", "name": "a\u{0}b",
        "birth_date": "1990-01-01", "verification_code": "123456",
    });
    let (status, body, _) = gw.post("/v1/accounts", nul, None).await?;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_TEXT")), "{body}");
    let (status, body) = gw.get("/v1/accounts/availability?email=a%00b%40example.com", None).await?;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_TEXT")), "{body}");
    Ok(())
}

#[tokio::test]
async fn guests_verify_a_phone_and_get_a_limited_session() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let phone = "+821099990000";
    let code = gw.code(phone, "guest").await?;
    let (status, tokens, _) =
        gw.post("/v1/guest-sessions", json!({"phone": phone, "verification_code": code}), None).await?;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap_or_default();
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(access.split('.').nth(1).unwrap_or_default())?)?;
    assert_eq!((claims["role"].as_str(), claims["phone"].as_str()), (Some("guest"), Some(phone)));
    let (status, body) = gw.get("/v1/me", Some(access)).await?;
    assert_eq!((status, body["code"].as_str()), (403, Some("MEMBERS_ONLY")));
    Ok(())
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_get_401() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let (email, password) = gw.account("eve", "+821012120000").await?;
    let tokens = gw.login(&email, &password).await?;
    let access = tokens["access_token"].as_str().unwrap_or_default();
    let parts: Vec<&str> = access.split('.').collect();
    let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt","kid":"g1"}"#);
    let mut claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1])?)?;
    claims["role"] = json!("admin");
    let elevated = URL_SAFE_NO_PAD.encode(claims.to_string());
    let cases = [
        ("no token", None),
        ("alg none", Some(format!("{none}.{}.", parts[1]))),
        ("elevated claims", Some(format!("{}.{elevated}.{}", parts[0], parts[2]))),
        ("the refresh token", tokens["refresh_token"].as_str().map(str::to_owned)),
        ("an admission token", Some("v1.k1.Y2xhaW1z.c2ln".to_owned())),
        ("garbage", Some("x".repeat(5000))),
    ];
    for (what, token) in cases {
        let (status, body) = gw.get("/v1/me", token.as_deref()).await?;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(
            body["code"].as_str().is_some_and(|c| c == "INVALID_TOKEN" || c == "AUTHENTICATION_REQUIRED"),
            "{what}: {body}"
        );
    }
    // Expired: signed by the right key, an hour too old.
    let keys = floodgate_gateway::domain::jwt::TokenKeys::new(
        "g1",
        [0x0c; 32],
        &gw.config.auth.jwt_issuer,
        &gw.config.auth.jwt_audience,
        chrono::Duration::minutes(15),
    );
    let old = keys.issue(&keys.claims(
        "someone",
        floodgate_gateway::domain::jwt::Role::Buyer,
        chrono::Utc::now() - chrono::Duration::hours(1),
    ));
    let (status, body) = gw.get("/v1/me", Some(&old)).await?;
    assert_eq!((status, body["code"].as_str()), (401, Some("TOKEN_EXPIRED")));

    // Well-formed, current tokens that are still not ours (C4).
    let (issuer, audience) = (gw.config.auth.jwt_issuer.as_str(), gw.config.auth.jwt_audience.as_str());
    let minted = |seed: [u8; 32], issuer: &str, audience: &str| {
        let keys =
            floodgate_gateway::domain::jwt::TokenKeys::new("g1", seed, issuer, audience, chrono::Duration::minutes(15));
        keys.issue(&keys.claims("someone", floodgate_gateway::domain::jwt::Role::Admin, chrono::Utc::now()))
    };
    // Algorithm confusion: HS256 keyed with our public key, which an attacker knows.
    let public = ed25519_dalek::SigningKey::from_bytes(&[0x0c; 32]).verifying_key().to_bytes();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"at+jwt","kid":"g1"}"#);
    let body_part = minted([0x0c; 32], issuer, audience).split('.').nth(1).unwrap_or_default().to_owned();
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&public)?;
    hmac::Mac::update(&mut mac, format!("{header}.{body_part}").as_bytes());
    let confused = format!("{header}.{body_part}.{}", URL_SAFE_NO_PAD.encode(hmac::Mac::finalize(mac).into_bytes()));
    let cases = [
        ("another key", minted([0x0d; 32], issuer, audience)),
        ("another audience", minted([0x0c; 32], issuer, "someone-else")),
        ("another issuer", minted([0x0c; 32], "https://evil.example", audience)),
        ("HS256 with the public key", confused),
    ];
    for (what, token) in cases {
        let (status, body) = gw.get("/v1/me", Some(&token)).await?;
        assert_eq!((status, body["code"].as_str()), (401, Some("INVALID_TOKEN")), "{what}: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn sensitive_profile_changes_need_the_current_password() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let (email, password) = gw.account("sora", "+821045450000").await?;
    let access = gw.login(&email, &password).await?["access_token"].as_str().unwrap_or_default().to_owned();
    let patch =
        |body: serde_json::Value| gw.http.patch(format!("{}/v1/me", gw.url)).bearer_auth(&access).json(&body).send();
    let renamed: serde_json::Value = patch(json!({"name": "Sora K."})).await?.json().await?;
    assert_eq!(renamed["name"], "Sora K.");
    let refused = patch(json!({"email": "new@example.com"})).await?;
    assert_eq!(refused.status(), 401);
    let changed: serde_json::Value =
        patch(json!({"email": "New@Example.com", "current_password": password})).await?.json().await?;
    assert_eq!(changed["email"], "new@example.com");
    Ok(())
}

#[tokio::test]
async fn the_first_admin_is_granted_from_the_command_line() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let (email, password) = gw.account("root", "+821077770000").await?;
    let grant = |email: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_floodgate-accounts"))
            .args(["--database-url", &gw.db_url, "grant-admin", email])
            .output()
    };
    let missing = grant("nobody@example.com")?;
    assert_eq!(missing.status.code(), Some(2), "{}", String::from_utf8_lossy(&missing.stderr));
    let granted = grant(&email)?;
    assert!(granted.status.success(), "{}", String::from_utf8_lossy(&granted.stderr));
    let token = gw.login(&email, &password).await?["access_token"].as_str().unwrap_or_default().to_owned();
    let (status, me) = gw.get("/v1/me", Some(&token)).await?;
    assert_eq!((status, me["role"].as_str()), (200, Some("admin")), "{me}");
    Ok(())
}
