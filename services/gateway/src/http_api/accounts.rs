//! Account routes: phone verification codes, signup, availability, login (tokens + cookies),
//! refresh rotation, logout, guest sessions, the caller's profile, and — in development only —
//! the messages the development sender "sent".

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header::SET_COOKIE},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{
    ApiError,
    accounts::{
        AccountsApi, limits,
        messages::Message,
        repo::{self, By, RepoError},
        sessions::{Holder, SessionError},
        verifications::VerificationError,
    },
    auth::{ACCESS_COOKIE, Caller, ClientAddress, JsonBody, OptionalJsonBody, QueryParams, REFRESH_COOKIE},
    domain::{
        jwt::Role,
        password,
        signup::{self, Signup},
        verification::{CodeError, Purpose},
    },
    http_api::{
        ApiState,
        routes::{Access, Api},
    },
};

pub fn register(api: Api) -> Api {
    api.post("/v1/verifications", "Send a phone verification code", Access::Public, send_code)
        .post("/v1/accounts", "Sign up with a verified phone", Access::Public, sign_up)
        .get("/v1/accounts/availability", "Whether an email or phone is still free", Access::Public, availability)
        .post("/v1/sessions", "Log in: access and refresh tokens", Access::Public, log_in)
        .delete("/v1/sessions", "Log out: the refresh token's family stops working", Access::Public, log_out)
        .post("/v1/sessions/refresh", "Rotate the refresh token", Access::Public, refresh)
        .post("/v1/guest-sessions", "A guest session from a verified phone", Access::Public, guest_session)
        .get("/v1/me", "The caller's profile", Access::Caller, me)
        .patch("/v1/me", "Change the profile (current password for sensitive changes)", Access::Caller, update_me)
        .get("/v1/dev/messages", "Development only: messages the development sender sent", Access::Public, dev_messages)
}

fn code_error(error: VerificationError) -> ApiError {
    match error {
        VerificationError::TooSoon(seconds) => ApiError::TooManyRequests { retry_after_seconds: seconds },
        VerificationError::Code(CodeError::Wrong { .. }) => {
            ApiError::BadRequest { code: "WRONG_CODE", message: error.to_string() }
        }
        VerificationError::Code(CodeError::Expired | CodeError::NoCode) => {
            ApiError::BadRequest { code: "CODE_EXPIRED", message: error.to_string() }
        }
        VerificationError::Code(CodeError::TooManyAttempts) => {
            ApiError::BadRequest { code: "CODE_LOCKED", message: error.to_string() }
        }
        VerificationError::Redis(e) => ApiError::internal(&e),
    }
}

pub(super) fn repo_error(error: RepoError) -> ApiError {
    match error {
        RepoError::Taken(what) => {
            ApiError::Conflict { code: "ALREADY_REGISTERED", message: format!("this {what} is already registered") }
        }
        RepoError::Database(e) => ApiError::internal(&e),
    }
}

// ---- verification codes ----

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    phone: String,
    purpose: Purpose,
}

#[derive(Debug, Serialize)]
struct CodeSent {
    expires_in_seconds: i64,
    resend_after_seconds: u64,
}

async fn send_code(
    State(state): State<ApiState>,
    ClientAddress(address): ClientAddress,
    JsonBody(request): JsonBody<CodeRequest>,
) -> Result<Response, ApiError> {
    let api = &state.accounts;
    if !signup::is_e164(&request.phone) {
        return Err(ApiError::field("phone", "must be an international number like +821012345678"));
    }
    api.limits.enforce(limits::CODES_PER_IP, &address).await?;
    let code = api.verifications.issue(request.purpose, &request.phone, Utc::now()).await.map_err(code_error)?;
    let message = Message {
        channel: "sms".into(),
        to: request.phone.clone(),
        subject: "Floodgate verification code".into(),
        body: format!("Your Floodgate code is {code}. It expires in 5 minutes."),
        sent_at: Utc::now().to_rfc3339(),
    };
    api.sender.send(message).await.map_err(|e| ApiError::internal(&e))?;
    let sent = CodeSent {
        expires_in_seconds: crate::domain::verification::LIFETIME.num_seconds(),
        resend_after_seconds: crate::accounts::verifications::RESEND_AFTER.as_secs(),
    };
    Ok((StatusCode::ACCEPTED, Json(sent)).into_response())
}

// ---- signup ----

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct SignupRequest {
    email: String,
    phone: String,
    password: String,
    name: String,
    birth_date: String,
    /// The code sent to `phone` for purpose `signup`.
    verification_code: String,
}

#[derive(Debug, Serialize)]
struct Profile {
    id: String,
    email: String,
    phone: String,
    name: String,
    birth_date: String,
    role: Role,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    venues: Vec<String>,
}

impl From<repo::Account> for Profile {
    fn from(a: repo::Account) -> Self {
        Profile {
            id: a.id.to_string(),
            email: a.email,
            phone: a.phone,
            name: a.name,
            birth_date: a.birth_date.to_string(),
            role: a.role,
            venues: a.venues,
        }
    }
}

async fn sign_up(
    State(state): State<ApiState>,
    JsonBody(request): JsonBody<SignupRequest>,
) -> Result<Response, ApiError> {
    let api = &state.accounts;
    let now = Utc::now();
    let valid = signup::validate(
        &Signup {
            email: &request.email,
            phone: &request.phone,
            password: &request.password,
            name: &request.name,
            birth_date: &request.birth_date,
        },
        now.date_naive(),
    )
    .map_err(|errors| ApiError::InvalidFields {
        fields: errors.into_iter().map(|e| (e.field.to_owned(), e.reason)).collect(),
    })?;
    api.verifications
        .confirm(Purpose::Signup, &valid.phone, &request.verification_code, now)
        .await
        .map_err(code_error)?;
    let hash = api.hash_password(&request.password).await?;
    let new = repo::NewAccount {
        email: &valid.email,
        phone: &valid.phone,
        name: &valid.name,
        birth_date: valid.birth_date,
        password_hash: &hash,
    };
    let id = repo::create(&api.pool, &new, now).await.map_err(repo_error)?;
    let account = repo::find(&api.pool, By::Id(id)).await.map_err(repo_error)?.ok_or(ApiError::Internal)?;
    Ok((StatusCode::CREATED, Json(Profile::from(account))).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct AvailabilityQuery {
    email: Option<String>,
    phone: Option<String>,
}

async fn availability(
    State(state): State<ApiState>,
    QueryParams(query): QueryParams<AvailabilityQuery>,
) -> Result<Response, ApiError> {
    let email = query
        .email
        .as_deref()
        .map(|e| signup::normalize_email(e).ok_or_else(|| ApiError::field("email", "is not an email address")))
        .transpose()?;
    let (email_ok, phone_ok) =
        repo::available(&state.accounts.pool, email.as_deref(), query.phone.as_deref()).await.map_err(repo_error)?;
    let mut body = serde_json::Map::new();
    if email.is_some() {
        body.insert("email_available".into(), email_ok.into());
    }
    if query.phone.is_some() {
        body.insert("phone_available".into(), phone_ok.into());
    }
    Ok(Json(body).into_response())
}

// ---- sessions ----

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Debug, Serialize)]
struct Tokens {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: String,
}

/// Tokens in the body (API clients) and as HttpOnly cookies (the web).
fn tokens_response(api: &AccountsApi, access: String, refresh: String) -> Response {
    let expires_in = api.tokens.ttl.num_seconds();
    let secure = if api.secure_cookies { "; Secure" } else { "" };
    let cookies = [
        format!("{ACCESS_COOKIE}={access}; Path=/; Max-Age={expires_in}; HttpOnly; SameSite=Strict{secure}"),
        format!(
            "{REFRESH_COOKIE}={refresh}; Path=/v1/sessions; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
            api.refresh_ttl.as_secs()
        ),
    ];
    let mut response =
        Json(Tokens { access_token: access, token_type: "Bearer", expires_in, refresh_token: refresh }).into_response();
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

fn access_for(api: &AccountsApi, holder: &Holder, venues: Vec<String>) -> String {
    let mut claims = api.tokens.claims(&holder.sub, holder.role, Utc::now());
    claims.venues = venues;
    claims.phone = holder.phone.clone();
    claims.email = holder.email.clone();
    api.tokens.issue(&claims)
}

fn session_error(error: SessionError) -> ApiError {
    match error {
        SessionError::Invalid => ApiError::Unauthorized { code: "INVALID_REFRESH_TOKEN", message: error.to_string() },
        SessionError::Reused => ApiError::Unauthorized { code: "REFRESH_TOKEN_REUSED", message: error.to_string() },
        SessionError::Redis(e) => ApiError::internal(&e),
    }
}

async fn log_in(
    State(state): State<ApiState>,
    ClientAddress(address): ClientAddress,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let api = &state.accounts;
    let email = signup::normalize_email(&request.email).unwrap_or_default();
    api.limits.enforce(limits::LOGIN_PER_IP, &address).await?;
    api.limits.enforce(limits::LOGIN_PER_ACCOUNT, &email).await?;
    let account = repo::find(&api.pool, By::Email(&email)).await.map_err(repo_error)?;
    // The same work and the same answer whether or not the email has an account.
    let password = request.password.clone();
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let matches =
        tokio::task::spawn_blocking(move || password::verify(&password, stored.as_deref())).await.unwrap_or(false);
    let Some(account) = account.filter(|_| matches) else {
        return Err(ApiError::Unauthorized {
            code: "INVALID_CREDENTIALS",
            message: "email or password is wrong".into(),
        });
    };
    let holder = Holder { sub: account.id.to_string(), role: account.role, phone: None, email: None };
    let refresh = api.sessions.start(&holder).await.map_err(session_error)?;
    Ok(tokens_response(api, access_for(api, &holder, account.venues), refresh))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: Option<String>,
}

fn refresh_token(headers: &HeaderMap, body: Option<RefreshRequest>) -> Option<String> {
    body.and_then(|b| b.refresh_token).or_else(|| {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == REFRESH_COOKIE)
            .map(|(_, v)| v.to_owned())
    })
}

async fn refresh(
    State(state): State<ApiState>,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody<RefreshRequest>,
) -> Result<Response, ApiError> {
    let api = &state.accounts;
    let token = refresh_token(&headers, body).ok_or_else(|| ApiError::Unauthorized {
        code: "INVALID_REFRESH_TOKEN",
        message: "a refresh token is required".into(),
    })?;
    let (next, mut holder) = api.sessions.rotate(&token).await.map_err(session_error)?;
    // Roles and venues can change between refreshes: read them again.
    let mut venues = Vec::new();
    if holder.role != Role::Guest {
        let id = uuid::Uuid::parse_str(&holder.sub).map_err(|_| ApiError::Internal)?;
        let account = repo::find(&api.pool, By::Id(id))
            .await
            .map_err(repo_error)?
            .ok_or_else(|| session_error(SessionError::Invalid))?;
        holder.role = account.role;
        venues = account.venues;
    }
    Ok(tokens_response(api, access_for(api, &holder, venues), next))
}

async fn log_out(
    State(state): State<ApiState>,
    headers: HeaderMap,
    OptionalJsonBody(body): OptionalJsonBody<RefreshRequest>,
) -> Result<Response, ApiError> {
    let api = &state.accounts;
    if let Some(token) = refresh_token(&headers, body) {
        api.sessions.revoke(&token).await.map_err(session_error)?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    for name in [ACCESS_COOKIE, REFRESH_COOKIE] {
        let path = if name == ACCESS_COOKIE { "/" } else { "/v1/sessions" };
        if let Ok(value) = HeaderValue::from_str(&format!("{name}=; Path={path}; Max-Age=0; HttpOnly; SameSite=Strict"))
        {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    Ok(response)
}

// ---- guests ----

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct GuestRequest {
    phone: String,
    verification_code: String,
    /// Where the confirmation goes (optional).
    email: Option<String>,
}

/// The same phone is the same guest: their orders follow them between sessions.
pub fn guest_id(secret: &[u8], phone: &str) -> String {
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(phone.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

async fn guest_session(
    State(state): State<ApiState>,
    JsonBody(request): JsonBody<GuestRequest>,
) -> Result<Response, ApiError> {
    let api = &state.accounts;
    if !signup::is_e164(&request.phone) {
        return Err(ApiError::field("phone", "must be an international number like +821012345678"));
    }
    let email = request
        .email
        .as_deref()
        .map(|e| signup::normalize_email(e).ok_or_else(|| ApiError::field("email", "is not an email address")))
        .transpose()?;
    api.verifications
        .confirm(Purpose::Guest, &request.phone, &request.verification_code, Utc::now())
        .await
        .map_err(code_error)?;
    let holder = Holder {
        sub: guest_id(&api.guest_secret, &request.phone),
        role: Role::Guest,
        phone: Some(request.phone),
        email,
    };
    let refresh = api.sessions.start(&holder).await.map_err(session_error)?;
    Ok(tokens_response(api, access_for(api, &holder, Vec::new()), refresh))
}

// ---- the caller's profile ----

async fn account_of(api: &AccountsApi, caller: &Caller) -> Result<repo::Account, ApiError> {
    let not_member = || ApiError::Forbidden { code: "MEMBERS_ONLY", message: "guests have no profile".into() };
    let id = uuid::Uuid::parse_str(&caller.0.sub).map_err(|_| not_member())?;
    repo::find(&api.pool, By::Id(id)).await.map_err(repo_error)?.ok_or_else(not_member)
}

async fn me(State(state): State<ApiState>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(Profile::from(account_of(&state.accounts, &caller).await?)).into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct ProfileChanges {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    /// Required with a new phone: the code sent to it (purpose `signup`).
    verification_code: Option<String>,
    new_password: Option<String>,
    /// Required for email, phone and password changes.
    current_password: Option<String>,
}

async fn update_me(
    State(state): State<ApiState>,
    caller: Caller,
    JsonBody(changes): JsonBody<ProfileChanges>,
) -> Result<Response, ApiError> {
    let api = &state.accounts;
    let account = account_of(api, &caller).await?;
    let sensitive = changes.email.is_some() || changes.phone.is_some() || changes.new_password.is_some();
    if sensitive {
        let current = changes.current_password.clone().unwrap_or_default();
        let stored = account.password_hash.clone();
        let ok = tokio::task::spawn_blocking(move || password::verify(&current, Some(&stored))).await.unwrap_or(false);
        if !ok {
            return Err(ApiError::Unauthorized {
                code: "CURRENT_PASSWORD_REQUIRED",
                message: "confirm with your current password".into(),
            });
        }
    }
    let mut fields = Vec::new();
    let name = changes.name.as_deref().map(str::trim);
    if name.is_some_and(|n| n.is_empty() || n.chars().count() > 100) {
        fields.push(("name".to_owned(), "must be 1–100 characters".to_owned()));
    }
    let email = changes.email.as_deref().map(signup::normalize_email);
    if matches!(email, Some(None)) {
        fields.push(("email".to_owned(), "is not an email address".to_owned()));
    }
    if changes.phone.as_deref().is_some_and(|p| !signup::is_e164(p)) {
        fields.push(("phone".to_owned(), "must be an international number".to_owned()));
    }
    if let Some(Err(reason)) = changes.new_password.as_deref().map(|p| signup::password_strength(p, &account.email)) {
        fields.push(("new_password".to_owned(), reason));
    }
    if !fields.is_empty() {
        return Err(ApiError::InvalidFields { fields });
    }
    if let Some(phone) = &changes.phone {
        let code = changes.verification_code.as_deref().unwrap_or_default();
        api.verifications.confirm(Purpose::Signup, phone, code, Utc::now()).await.map_err(code_error)?;
    }
    let hash = match changes.new_password.as_deref() {
        Some(new_password) => Some(api.hash_password(new_password).await?),
        None => None,
    };
    let email = email.flatten();
    let update = repo::Changes {
        name,
        email: email.as_deref(),
        phone: changes.phone.as_deref(),
        password_hash: hash.as_deref(),
    };
    repo::update(&api.pool, account.id, &update, Utc::now()).await.map_err(repo_error)?;
    let account = repo::find(&api.pool, By::Id(account.id)).await.map_err(repo_error)?.ok_or(ApiError::Internal)?;
    Ok(Json(Profile::from(account)).into_response())
}

// ---- development ----

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct MessagesQuery {
    to: Option<String>,
}

/// Only in development mode; elsewhere the route does not exist (404).
async fn dev_messages(
    State(state): State<ApiState>,
    QueryParams(query): QueryParams<MessagesQuery>,
) -> Result<Response, ApiError> {
    let Some(outbox) = &state.accounts.dev_outbox else {
        return Err(ApiError::NotFound { method: "GET".into(), path: "/v1/dev/messages".into() });
    };
    let messages = outbox.recent(query.to.as_deref()).await.map_err(|e| ApiError::internal(&e))?;
    Ok(Json(serde_json::json!({ "messages": messages })).into_response())
}
