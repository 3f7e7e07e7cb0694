//! A small HTTP client for the gateway's public API, as a browser or app uses it.

use serde_json::{Value, json};

pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
    pub token: Option<String>,
}

impl Client {
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    /// Logs in again: roles and venues come with the new token.
    pub async fn relogin(self, email: &str) -> anyhow::Result<Self> {
        let (status, tokens) = self.post("/v1/sessions", json!({"email": email, "password": "Tickets!2026"})).await?;
        anyhow::ensure!(status == 200, "login {status}: {tokens}");
        Ok(Client { token: tokens["access_token"].as_str().map(str::to_owned), ..self })
    }

    /// Signs up (phone verified through the development outbox) and logs in.
    pub async fn sign_up(base: &str, name: &str, phone: &str) -> anyhow::Result<Self> {
        let mut client = Client { base: base.to_owned(), http: reqwest::Client::new(), token: None };
        let (status, _) = client.post("/v1/verifications", json!({"phone": phone, "purpose": "signup"})).await?;
        anyhow::ensure!(status == 202);
        let (_, messages) = client.get(&format!("/v1/dev/messages?to={}", phone.replace('+', "%2B"))).await?;
        let text = messages["messages"][0]["body"].as_str().unwrap_or_default();
        let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
        let email = format!("{name}@example.com");
        let signup = json!({"email": email, "phone": phone, "password": "Tickets!2026", "name": name,
                            "birth_date": "1994-02-02", "verification_code": code});
        let (status, body) = client.post("/v1/accounts", signup).await?;
        anyhow::ensure!(status == 201, "signup {status}: {body}");
        let (status, tokens) = client.post("/v1/sessions", json!({"email": email, "password": "Tickets!2026"})).await?;
        anyhow::ensure!(status == 200, "login {status}: {tokens}");
        client.token = tokens["access_token"].as_str().map(str::to_owned);
        Ok(client)
    }
}
