//! Refresh tokens: opaque, rotating, kept in Redis by digest, grouped in families. Each refresh
//! returns a new token and spends the old one; presenting a spent token again means it was
//! stolen (or replayed), so the whole family is revoked and everyone holding it must log in
//! again. Logout revokes the family.

use redis::{AsyncCommands as _, Script, aio::ConnectionManager};
use sha2::{Digest as _, Sha256};

use crate::domain::jwt::Role;

/// Who a refresh token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub sub: String,
    pub role: Role,
    /// A guest's phone and email (guests have no account row).
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("the refresh token is not valid")]
    Invalid,
    #[error("the refresh token was already used; every session of this login is now signed out")]
    Reused,
    #[error("session storage failed")]
    Redis(#[from] redis::RedisError),
}

const ROTATE: &str = r"
-- KEYS: none (one user's family lives under one prefix). ARGV: P, old digest, new digest, ttl_ms
local P, old, new, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local record = redis.call('HMGET', P .. 'refresh:' .. old, 'family', 'sub', 'role', 'phone', 'used', 'email')
local family = record[1]
if not family then return { 'INVALID' } end
if redis.call('GET', P .. 'family:' .. family) ~= 'active' then return { 'INVALID' } end
if record[5] == '1' then
  redis.call('SET', P .. 'family:' .. family, 'revoked', 'KEEPTTL')
  return { 'REUSED' }
end
redis.call('HSET', P .. 'refresh:' .. old, 'used', '1')
redis.call('HSET', P .. 'refresh:' .. new, 'family', family, 'sub', record[2], 'role', record[3], 'phone', record[4] or '',
  'email', record[6] or '', 'used', '0')
redis.call('PEXPIRE', P .. 'refresh:' .. new, ttl)
redis.call('PEXPIRE', P .. 'family:' .. family, ttl)
return { 'OK', record[2], record[3], record[4] or '', record[6] or '' }
";

#[derive(Clone)]
pub struct Sessions {
    redis: ConnectionManager,
    prefix: String,
    ttl_ms: u64,
    rotate: Script,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn fresh_token(family: &str) -> String {
    use base64::Engine as _;
    format!("{family}.{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Buyer => "buyer",
        Role::Guest => "guest",
        Role::Operator => "operator",
        Role::Admin => "admin",
    }
}

fn role_from(name: &str) -> Role {
    match name {
        "guest" => Role::Guest,
        "operator" => Role::Operator,
        "admin" => Role::Admin,
        _ => Role::Buyer,
    }
}

impl Sessions {
    pub fn new(redis: ConnectionManager, prefix: &str, ttl: std::time::Duration) -> Self {
        Self {
            redis,
            prefix: format!("{prefix}gateway:"),
            ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
            rotate: Script::new(ROTATE),
        }
    }

    /// A new family and its first refresh token.
    pub async fn start(&self, holder: &Holder) -> Result<String, SessionError> {
        let family = uuid::Uuid::new_v4().simple().to_string();
        let token = fresh_token(&family);
        let key = format!("{}refresh:{}", self.prefix, digest(&token));
        let fields = [
            ("family", family.clone()),
            ("sub", holder.sub.clone()),
            ("role", role_name(holder.role).to_owned()),
            ("phone", holder.phone.clone().unwrap_or_default()),
            ("email", holder.email.clone().unwrap_or_default()),
            ("used", "0".to_owned()),
        ];
        let _: () = redis::pipe()
            .hset_multiple(&key, &fields)
            .pexpire(&key, i64::try_from(self.ttl_ms).unwrap_or(i64::MAX))
            .set_options(
                format!("{}family:{family}", self.prefix),
                "active",
                redis::SetOptions::default().with_expiration(redis::SetExpiry::PX(self.ttl_ms)),
            )
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(token)
    }

    /// Spends `token` and returns its successor with the holder.
    pub async fn rotate(&self, token: &str) -> Result<(String, Holder), SessionError> {
        let family = token.split('.').next().filter(|f| f.len() == 32).ok_or(SessionError::Invalid)?;
        let next = fresh_token(family);
        let reply: Vec<String> = self
            .rotate
            .arg(&self.prefix)
            .arg(digest(token))
            .arg(digest(&next))
            .arg(self.ttl_ms)
            .invoke_async(&mut self.redis.clone())
            .await?;
        match reply.first().map(String::as_str) {
            Some("OK") if reply.len() == 5 => Ok((
                next,
                Holder {
                    sub: reply[1].clone(),
                    role: role_from(&reply[2]),
                    phone: Some(reply[3].clone()).filter(|p| !p.is_empty()),
                    email: Some(reply[4].clone()).filter(|e| !e.is_empty()),
                },
            )),
            Some("REUSED") => Err(SessionError::Reused),
            _ => Err(SessionError::Invalid),
        }
    }

    /// Logout: the token's whole family stops working.
    pub async fn revoke(&self, token: &str) -> Result<(), SessionError> {
        let key = format!("{}refresh:{}", self.prefix, digest(token));
        let family: Option<String> = self.redis.clone().hget(&key, "family").await?;
        if let Some(family) = family {
            let _: () = redis::cmd("SET")
                .arg(format!("{}family:{family}", self.prefix))
                .arg("revoked")
                .arg("KEEPTTL")
                .query_async(&mut self.redis.clone())
                .await?;
        }
        Ok(())
    }
}
