//! The gateway's public HTTP server on a free port, with a fresh accounts database and Redis
//! prefix, in development mode (verification codes readable at `/v1/dev/messages`).

use clap::Parser as _;
use floodgate_gateway::{Config, http_api};
use floodgate_testkit::{TestDatabase, TestRedis};
use serde_json::Value;

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    config: Config,
}

pub struct Gateway {
    pub db_pool: sqlx::PgPool,
    pub db_url: String,
    pub sender: std::sync::Arc<dyn floodgate_gateway::accounts::messages::MessageSender>,
    pub url: String,
    pub http: reqwest::Client,
    pub config: Config,
    _db: TestDatabase,
}

impl Gateway {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(&[]).await
    }

    /// With extra command-line settings (`--ip-rate-limit=5`, …).
    pub async fn start_with(extra: &[&str]) -> anyhow::Result<Self> {
        let db = TestDatabase::new(&[floodgate_eventbus::migrator(), &floodgate_gateway::MIGRATOR]).await?;
        let redis = TestRedis::new()?;
        let args = [
            "gateway".to_owned(),
            format!("--database-url={}", db.url),
            format!("--redis-url={}", redis.url),
            format!("--redis-prefix={}", redis.prefix),
            format!("--jwt-signing-key={}", "0c".repeat(32)),
            format!("--verification-secret={}", "0d".repeat(32)),
            "--dev-mode".to_owned(),
            "--kafka-brokers=127.0.0.1:1".to_owned(),
            // No upstream runs in these tests: point them where nothing listens, so a platform
            // started with `./floodgate up` on the default ports cannot answer instead.
            "--catalog-url=http://127.0.0.1:1".to_owned(),
            "--queue-url=http://127.0.0.1:1".to_owned(),
            "--booking-url=http://127.0.0.1:1".to_owned(),
            "--payment-url=http://127.0.0.1:1".to_owned(),
        ]
        .into_iter()
        .chain(extra.iter().map(|e| (*e).to_owned()));
        let config = Cli::try_parse_from(args)?.config;
        let accounts =
            floodgate_gateway::accounts_api(&config, db.pool.clone()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let upstreams = floodgate_gateway::upstream::Upstreams::connect_lazy(&config.upstreams)?;
        let protection = floodgate_gateway::protection(&config, &accounts);
        let sender = accounts.sender.clone();
        let live = floodgate_gateway::live::LiveHub::default();
        let router = http_api::router(
            http_api::ApiParts { upstreams, accounts, protection, live: live.clone(), recent_maps: Default::default() }
                .into(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(
            axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).into_future(),
        );
        Ok(Self {
            db_pool: db.pool.clone(),
            db_url: db.url.clone(),
            sender,
            url,
            http: reqwest::Client::new(),
            config,
            _db: db,
        })
    }

    pub async fn post(
        &self,
        path: &str,
        body: Value,
        bearer: Option<&str>,
    ) -> anyhow::Result<(u16, Value, reqwest::header::HeaderMap)> {
        let mut request = self.http.post(format!("{}{path}", self.url)).json(&body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null), headers))
    }

    pub async fn get(&self, path: &str, bearer: Option<&str>) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// Asks for a code and reads it where the development sender put it.
    pub async fn code(&self, phone: &str, purpose: &str) -> anyhow::Result<String> {
        let (status, body, _) =
            self.post("/v1/verifications", serde_json::json!({"phone": phone, "purpose": purpose}), None).await?;
        anyhow::ensure!(status == 202, "code request: {status} {body}");
        let (_, messages) = self.get(&format!("/v1/dev/messages?to={}", phone.replace('+', "%2B")), None).await?;
        let text = messages["messages"][0]["body"].as_str().unwrap_or_default().to_owned();
        let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
        anyhow::ensure!(code.len() == 6, "no code in {messages}");
        Ok(code)
    }

    /// A verified account; returns (email, password).
    pub async fn account(&self, name: &str, phone: &str) -> anyhow::Result<(String, String)> {
        let code = self.code(phone, "signup").await?;
        let email = format!("{name}@example.com");
        let password = "Tickets!2026".to_owned();
        let signup = serde_json::json!({
            "email": email, "phone": phone, "password": password, "name": name,
            "birth_date": "1995-05-05", "verification_code": code,
        });
        let (status, body, _) = self.post("/v1/accounts", signup, None).await?;
        anyhow::ensure!(status == 201, "signup: {status} {body}");
        Ok((email, password))
    }

    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<Value> {
        let (status, body, _) =
            self.post("/v1/sessions", serde_json::json!({"email": email, "password": password}), None).await?;
        anyhow::ensure!(status == 200, "login: {status} {body}");
        Ok(body)
    }
}
