//! A whole platform for one test: its own databases, Redis prefix and topic prefix, and the five
//! service processes on ports they picked themselves.

use std::{collections::HashMap, time::Duration};

use floodgate_testkit::{ServiceProcess, TestBroker, TestDatabase, TestRedis};

pub const SERVICES: [&str; 5] = ["catalog", "queue", "booking", "payment", "gateway"];
const START_DEADLINE: Duration = Duration::from_secs(60);

pub struct Platform {
    pub processes: HashMap<&'static str, ServiceProcess>,
    pub databases: HashMap<&'static str, TestDatabase>,
    pub broker: TestBroker,
    pub gateway_http: String,
}

/// Databases, Redis prefix and topic prefix for one test's services, before any is started.
pub struct Infrastructure {
    pub databases: HashMap<&'static str, TestDatabase>,
    pub broker: TestBroker,
    pub redis: TestRedis,
}

impl Infrastructure {
    pub async fn new() -> anyhow::Result<Self> {
        let mut databases = HashMap::new();
        for service in ["catalog", "booking", "payment", "gateway"] {
            // Empty databases: each service applies its own migrations at start-up.
            databases.insert(service, TestDatabase::new(&[]).await?);
        }
        Ok(Self { databases, broker: TestBroker::new()?, redis: TestRedis::new()? })
    }

    /// Starts (or restarts) one of catalog, queue, booking, payment on its own database.
    pub async fn start(&self, service: &'static str) -> anyhow::Result<ServiceProcess> {
        let env = common_env(service, &self.broker, &self.redis, self.databases.get(service));
        ServiceProcess::start(&format!("floodgate-{service}"), &env, START_DEADLINE).await
    }
}

impl Platform {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with_gateway(&[]).await
    }

    /// With extra settings for the gateway (e.g. `FLOODGATE_IP_RATE_LIMIT`).
    pub async fn start_with_gateway(settings: &[(&'static str, &str)]) -> anyhow::Result<Self> {
        let settings: Vec<_> = settings.iter().map(|(name, value)| ("gateway", *name, *value)).collect();
        Self::start_with(&settings).await
    }

    /// With extra settings per service: `(service, variable, value)`.
    pub async fn start_with(settings: &[(&'static str, &'static str, &str)]) -> anyhow::Result<Self> {
        let Infrastructure { databases, broker, redis } = Infrastructure::new().await?;
        let infrastructure = Infrastructure { databases, broker: broker.clone(), redis: redis.clone() };
        let extra = |service: &str| -> Vec<(&'static str, String)> {
            settings
                .iter()
                .filter(|(s, _, _)| *s == service)
                .map(|(_, name, value)| (*name, (*value).to_owned()))
                .collect()
        };

        let mut processes = HashMap::new();
        for service in ["catalog", "queue", "booking", "payment"] {
            let mut env = common_env(service, &broker, &redis, infrastructure.databases.get(service));
            env.extend(extra(service));
            processes
                .insert(service, ServiceProcess::start(&format!("floodgate-{service}"), &env, START_DEADLINE).await?);
        }
        let Infrastructure { databases, .. } = infrastructure;

        let mut env = common_env("gateway", &broker, &redis, databases.get("gateway"));
        env.push(("FLOODGATE_HTTP_ADDR", "127.0.0.1:0".into()));
        for upstream in ["catalog", "queue", "booking", "payment"] {
            let grpc = processes[upstream].listening.grpc;
            env.push((upstream_var(upstream), format!("http://{grpc}")));
        }
        env.push(("FLOODGATE_JWT_SIGNING_KEY", "0c".repeat(32)));
        env.push(("FLOODGATE_VERIFICATION_SECRET", "0d".repeat(32)));
        env.push(("FLOODGATE_DEV_MODE", "true".into()));
        env.extend(extra("gateway"));
        let gateway = ServiceProcess::start("floodgate-gateway", &env, START_DEADLINE).await?;
        let gateway_http = format!("http://{}", gateway.extra("http")?);
        processes.insert("gateway", gateway);

        Ok(Self { processes, databases, broker, gateway_http })
    }
}

fn common_env(
    service: &str,
    broker: &TestBroker,
    redis: &TestRedis,
    database: Option<&TestDatabase>,
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("FLOODGATE_GRPC_ADDR", "127.0.0.1:0".to_owned()),
        ("FLOODGATE_ADMIN_ADDR", "127.0.0.1:0".to_owned()),
        ("FLOODGATE_KAFKA_BROKERS", broker.brokers.clone()),
        ("FLOODGATE_TOPIC_PREFIX", broker.topic_prefix.clone()),
        ("FLOODGATE_TOPIC_PARTITIONS", "3".to_owned()),
        ("FLOODGATE_REDIS_URL", redis.url.clone()),
        ("FLOODGATE_REDIS_PREFIX", format!("{}{service}:", redis.prefix)),
        ("FLOODGATE_SHUTDOWN_GRACE", "5s".to_owned()),
    ];
    if let Some(database) = database {
        env.push(("FLOODGATE_DATABASE_URL", database.url.clone()));
    }
    if service == "queue" {
        env.push(("FLOODGATE_ADMISSION_KEY", "07".repeat(32)));
    }
    if service == "payment" {
        env.push(("FLOODGATE_WEBHOOK_SECRET", "0b".repeat(32)));
    }
    if service == "booking" {
        let public = floodgate_admission::AdmissionKey::from_secret("k1", &[7; 32]).map(|k| k.public().to_bytes());
        let hex: String = public.unwrap_or_default().iter().map(|b| format!("{b:02x}")).collect();
        env.push(("FLOODGATE_ADMISSION_PUBLIC_KEYS", format!("k1:{hex}")));
        env.push(("FLOODGATE_TICKET_SIGNING_KEY", "05".repeat(32)));
    }
    env
}

fn upstream_var(service: &str) -> &'static str {
    match service {
        "catalog" => "FLOODGATE_CATALOG_URL",
        "queue" => "FLOODGATE_QUEUE_URL",
        "booking" => "FLOODGATE_BOOKING_URL",
        _ => "FLOODGATE_PAYMENT_URL",
    }
}
