//! Gateway: the only public entry — REST, WebSocket and the web UI; accounts, tokens, rate limits,
//! admission checks, error codes (see ../../../shared/DESIGN.md). It talks to the other services
//! over gRPC only.
//!
//! This is the service's frame: configuration, its accounts database, the public HTTP server with
//! its error envelope and limits, gRPC channels to every upstream, health and shutdown.

pub mod accounts;
mod auth;
pub mod config;
pub mod domain;
mod error;
pub mod http_api;
pub mod live;
pub mod notifications;
pub mod upstream;

use floodgate_runtime::{HostError, Service, ServiceApp, ServiceHost, StartError, config::ServerArgs};
use floodgate_telemetry::Metrics;

pub use config::Config;
pub use error::ApiError;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The gateway service.
#[derive(Debug, Clone, Copy)]
pub struct Gateway;

impl Service for Gateway {
    const NAME: &'static str = "gateway";
    const BINARY: &'static str = "floodgate-gateway";
    const ABOUT: &'static str = "Floodgate gateway: the public API";
    type Config = Config;

    fn server(config: &Config) -> &ServerArgs {
        &config.server
    }

    /// The gateway's own migrations (accounts).
    async fn migrate(config: &Config) -> Result<(), StartError> {
        Ok(floodgate_eventbus::migrate(&config.database.migration_pool().await?, &MIGRATOR).await?)
    }

    /// Migrations, listeners (gRPC health, admin, public HTTP), readiness checks and upstream
    /// channels.
    async fn build(config: Config, metrics: Metrics) -> Result<ServiceApp, StartError> {
        Self::migrate(&config).await?;
        let pool = config.database.pool()?;
        let upstreams = upstream::Upstreams::connect_lazy(&config.upstreams).map_err(StartError::bus)?;

        let mut app = ServiceApp::new(ServiceHost::bind(Self::NAME, &config.server, metrics).await?);
        app.host
            .readiness_mut()
            .add_postgres(pool.clone())
            .add_redis(config.redis.redis_url.clone())
            .add_kafka(config.bus.kafka_brokers.clone());

        let addr = config.http_addr;
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| HostError::Bind {
            which: "public HTTP",
            addr,
            source,
        })?;
        app.host.announce_listener("http", listener.local_addr().unwrap_or(addr));
        let accounts = accounts_api(&config, pool.clone()).await?;
        let protection = protection(&config, &accounts);
        let live = live::LiveHub::default();
        let bus = floodgate_eventbus::BusConfig::from(&config.bus);
        floodgate_eventbus::topics::ensure_streams(&bus, &[floodgate_eventbus::Stream::Booking])
            .await
            .map_err(StartError::bus)?;
        let feed = live::LiveFeed::new(&bus, live.clone()).map_err(StartError::bus)?;
        app.tasks.add("live-feed", move |stop| feed.run(stop));
        let confirmations =
            notifications::Confirmations { sender: accounts.sender.clone(), public_url: config.public_url.clone() };
        let consumer = floodgate_eventbus::Consumer::new(
            &bus,
            Self::NAME,
            &[floodgate_eventbus::Stream::Booking],
            pool.clone(),
            confirmations,
        )
        .map_err(StartError::bus)?;
        app.tasks.add("event-consumer", move |stop| consumer.run(stop));
        let router = http_api::router(
            http_api::ApiParts { upstreams, accounts, protection, live, recent_maps: Default::default() }.into(),
        );
        app.tasks.add("public-http", move |stop| async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        });
        Ok(app)
    }
}

/// The account routes' dependencies, from configuration.
pub async fn accounts_api(config: &Config, pool: sqlx::PgPool) -> Result<accounts::AccountsApi, StartError> {
    use secrecy::ExposeSecret as _;
    let auth = &config.auth;
    let secret = |hex_key: &secrecy::SecretString| -> Result<[u8; 32], StartError> {
        hex::decode(hex_key.expose_secret())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| StartError::config("a secret key is not 32 bytes of hex"))
    };
    let redis = config.redis.connect().await?;
    let prefix = &config.redis.redis_prefix;
    let ttl = chrono::Duration::from_std(auth.access_ttl).unwrap_or(chrono::Duration::minutes(15));
    let tokens = domain::jwt::TokenKeys::new(
        &auth.jwt_key_id,
        secret(&auth.jwt_signing_key)?,
        &auth.jwt_issuer,
        &auth.jwt_audience,
        ttl,
    );
    if auth.password_cost == domain::password::Cost::Minimal && !auth.dev_mode {
        return Err(StartError::config("FLOODGATE_PASSWORD_COST=minimal is for development mode only"));
    }
    let verification_secret = secret(&auth.verification_secret)?.to_vec();
    let outbox = accounts::messages::DevOutbox::new(redis.clone(), prefix);
    let sender: std::sync::Arc<dyn accounts::messages::MessageSender> = match &auth.smtp_url {
        Some(url) => {
            let smtp = accounts::messages::smtp::SmtpSender::new(url.expose_secret(), &auth.mail_from)
                .map_err(StartError::config)?;
            std::sync::Arc::new(accounts::messages::smtp::ByChannel {
                email: std::sync::Arc::new(smtp),
                other: std::sync::Arc::new(outbox.clone()),
            })
        }
        None => {
            if !auth.dev_mode {
                tracing::warn!("no FLOODGATE_SMTP_URL: confirmation emails go to the log only");
            }
            std::sync::Arc::new(outbox.clone())
        }
    };
    Ok(accounts::AccountsApi {
        pool,
        tokens: std::sync::Arc::new(tokens),
        sessions: accounts::sessions::Sessions::new(redis.clone(), prefix, auth.refresh_ttl),
        verifications: accounts::verifications::Verifications::new(redis.clone(), prefix, verification_secret.clone()),
        limits: accounts::limits::Limits::new(redis, prefix),
        sender,
        dev_outbox: auth.dev_mode.then_some(outbox),
        secure_cookies: !auth.dev_mode,
        refresh_ttl: auth.refresh_ttl,
        guest_secret: verification_secret,
        password_cost: auth.password_cost,
    })
}

/// The protection layers' settings, from configuration.
pub fn protection(config: &Config, accounts: &accounts::AccountsApi) -> http_api::protection::Protection {
    http_api::protection::Protection::new(
        accounts.limits.clone(),
        config.ip_rate_limit,
        config.max_in_flight,
        config.cors_origins.iter().map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect(),
    )
    .behind(config.trusted_proxies.clone())
}
