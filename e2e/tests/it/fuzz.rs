//! Schemathesis (C12) against the running platform's `/openapi.json`: generated valid and invalid
//! requests on every documented operation, as an admin (so staff routes are exercised past the
//! role check), and not one server error. `./floodgate test` installs schemathesis from PyPI
//! into `.floodgate/tools/schemathesis` and names it in `FLOODGATE_SCHEMATHESIS`.

use std::{path::PathBuf, time::Duration};

use chrono::Utc;
use serde_json::{Value, json};

use crate::{http::Client, platform::Platform};

fn schemathesis() -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("FLOODGATE_SCHEMATHESIS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.floodgate/tools/schemathesis/bin/schemathesis")
    });
    anyhow::ensure!(path.exists(), "schemathesis is not installed at {}: run ./floodgate test", path.display());
    Ok(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors() -> anyhow::Result<()> {
    let schemathesis = schemathesis()?;
    // No per-address limit: the fuzzer is one address, and 429s would hide the routes behind them.
    let platform = Platform::start_with_gateway(&[("FLOODGATE_IP_RATE_LIMIT", "0")]).await?;
    let base = platform.gateway_http.clone();
    let admin = Client::sign_up(&base, "fuzz-admin", "+821040000001").await?;
    sqlx::query("UPDATE accounts SET role = 'admin' WHERE email = 'fuzz-admin@example.com'")
        .execute(&platform.databases["gateway"].pool)
        .await?;
    let admin = admin.relogin("fuzz-admin@example.com").await?;
    let token = admin.token.clone().unwrap_or_default();
    let ids = published_sale(&admin).await?;
    // Real ids for the path parameters, so requests reach past "not found" into validation.
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/schemathesis/schemathesis.toml");
    std::fs::create_dir_all(config.parent().unwrap_or(&config))?;
    let parameters: String = ids.iter().map(|(name, id)| format!("\"path.{name}\" = \"{id}\"\n")).collect();
    std::fs::write(&config, format!("[parameters]\n{parameters}"))?;

    let reports = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/schemathesis");
    let run = tokio::process::Command::new(&schemathesis)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{base}/openapi.json"))
        .args(["--checks", "not_a_server_error"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "25", "--seed", "20261121", "--workers", "2"])
        .args(["--request-timeout", "20", "--no-color"])
        .args(["--report", "junit", "--report-dir"])
        .arg(&reports)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(900), run).await??;
    let text = String::from_utf8_lossy(&output.stdout);
    println!("{text}");
    assert!(
        output.status.success(),
        "schemathesis found server errors:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // It really ran: every operation was exercised.
    assert!(text.contains("passed") && !text.contains("No operations"), "{text}");
    Ok(())
}

/// A published sale set up over REST: venue, hall, seat map, event, performance.
async fn published_sale(admin: &Client) -> anyhow::Result<Vec<(&'static str, String)>> {
    async fn created(
        call: impl std::future::Future<Output = anyhow::Result<(u16, Value)>>,
        id: &str,
    ) -> anyhow::Result<String> {
        let (status, body) = call.await?;
        anyhow::ensure!(status == 201 || status == 200, "{status} {body}");
        Ok(body[id].as_str().unwrap_or_default().to_owned())
    }
    let venue =
        created(admin.post("/v1/operator/venues", json!({"name": "Fuzz Hall", "time_zone": "Asia/Seoul"})), "venue_id")
            .await?;
    let hall = created(
        admin.post(&format!("/v1/operator/venues/{venue}/halls"), json!({"name": "Main", "hall_type": "standard"})),
        "hall_id",
    )
    .await?;
    let layout = json!({"expected_version": 0, "focal_point": {"x": 0.0, "y": 0.0}, "sections": [{"section_id": "A", "name": "A", "grade_code": "R", "rows": 3, "seats_per_row": 8, "origin": {"x": 0.0, "y": 5.0}, "seat_spacing": 0.5, "row_spacing": 0.9}]});
    created(admin.post(&format!("/v1/operator/halls/{hall}/seat-map/generate"), layout), "hall_id").await?;
    let event = json!({"title": "Fuzz Night", "category": "concert", "age_rating": "ALL", "running_time_minutes": 90});
    let event = created(admin.post("/v1/operator/events", event), "event_id").await?;
    let now = Utc::now();
    let schedule =
        json!({"event_id": event, "hall_id": hall, "starts_at": (now + chrono::Duration::days(20)).to_rfc3339()});
    let performance = created(admin.post("/v1/operator/performances", schedule), "performance_id").await?;
    let tiers =
        json!({"tiers": [{"grade_code": "R", "grade_name": "R", "price": {"minor": 30000, "currency": "KRW"}}]});
    created(admin.put(&format!("/v1/operator/performances/{performance}/price-tiers"), tiers), "performance_id")
        .await?;
    let sale = json!({
        "expected_version": 0, "mode": "reserved",
        "waiting_room_opens_at": (now - chrono::Duration::minutes(5)).to_rfc3339(),
        "sale_opens_at": (now - chrono::Duration::minutes(1)).to_rfc3339(),
        "sale_closes_at": (now + chrono::Duration::days(19)).to_rfc3339(),
        "per_buyer_limit": 4, "hold_ttl_seconds": 300, "payment_deadline_seconds": 600,
        "admission_rate_per_second": 50, "max_active_shoppers": 100, "admission_ttl_seconds": 600,
    });
    created(admin.put(&format!("/v1/operator/performances/{performance}/sale-config"), sale), "performance_id").await?;
    let (_, draft) = admin.get(&format!("/v1/operator/performances/{performance}")).await?;
    let publish = json!({"expected_version": draft["version"]});
    created(admin.post(&format!("/v1/operator/performances/{performance}/publish"), publish), "performance_id").await?;
    let (_, me) = admin.get("/v1/me").await?;
    let account = me["id"].as_str().unwrap_or_default().to_owned();
    Ok(vec![
        ("venue_id", venue),
        ("hall_id", hall),
        ("event_id", event),
        ("performance_id", performance),
        ("account_id", account),
    ])
}
