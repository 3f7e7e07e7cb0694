//! [`ServiceHost`]: binds a service's listeners, serves gRPC (+ health + reflection) and the
//! admin HTTP port, runs its background tasks (outbox relay, consumers, sweepers), and shuts
//! everything down in a fixed order:
//!
//! 1. gRPC health goes NOT_SERVING and `/readyz` answers 503 (load balancers stop sending);
//! 2. the gRPC server stops accepting and drains in-flight calls, bounded by the grace period;
//! 3. background tasks are cancelled and awaited (consumers commit offsets, the relay finishes
//!    its batch), bounded by the grace period;
//! 4. the admin server stops last.
//!
//! A background task that ends on its own is a fault: the host shuts down and reports it, so a
//! supervisor restarts the process instead of leaving it half-alive.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use floodgate_telemetry::{Metrics, propagation::grpc_server_span};
use futures::future::BoxFuture;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;
use tonic::{server::NamedService, service::RoutesBuilder, transport::server::TcpIncoming};
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{Readiness, admin, config::ServerArgs, rpc_metrics::RpcMetricsLayer};

/// The error a background task ends with.
pub type TaskError = Box<dyn std::error::Error + Send + Sync>;

type TaskFn = Box<dyn FnOnce(CancellationToken) -> BoxFuture<'static, Result<(), TaskError>> + Send>;

/// Long-running tasks of a service, started by [`ServiceHost::run`] and cancelled on shutdown.
#[derive(Default)]
pub struct BackgroundTasks {
    tasks: Vec<(&'static str, TaskFn)>,
}

impl std::fmt::Debug for BackgroundTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.tasks.iter().map(|(name, _)| name)).finish()
    }
}

impl BackgroundTasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a task; it receives a token cancelled when the service shuts down and must return
    /// promptly after.
    pub fn add<F, Fut, E>(&mut self, name: &'static str, task: F) -> &mut Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<TaskError> + 'static,
    {
        self.tasks.push((name, Box::new(move |token| Box::pin(async move { task(token).await.map_err(Into::into) }))));
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("could not bind the {which} listener on {addr}")]
    Bind {
        which: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("could not build gRPC reflection from the contract descriptors")]
    Reflection(#[source] tonic_reflection::server::Error),
    #[error("the gRPC server failed")]
    Grpc(#[source] tonic::transport::Error),
    #[error("the admin server failed")]
    Admin(#[source] std::io::Error),
    #[error("background task {name} stopped unexpectedly")]
    TaskFailed {
        name: &'static str,
        #[source]
        source: TaskError,
    },
    #[error("background task {name} panicked")]
    TaskPanicked { name: &'static str },
}

/// A bound, not yet running, service.
pub struct ServiceHost {
    service: &'static str,
    grpc: TcpListener,
    admin: TcpListener,
    grace: Duration,
    routes: RoutesBuilder,
    grpc_services: Vec<&'static str>,
    health: HealthReporter,
    readiness: Readiness,
    metrics: Metrics,
    /// Other listeners the service runs itself (the gateway's public HTTP), for the announcement.
    extra_listeners: Vec<(&'static str, SocketAddr)>,
}

impl std::fmt::Debug for ServiceHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHost")
            .field("service", &self.service)
            .field("grpc", &self.grpc.local_addr().ok())
            .field("admin", &self.admin.local_addr().ok())
            .field("grpc_services", &self.grpc_services)
            .finish_non_exhaustive()
    }
}

impl ServiceHost {
    /// Binds both listeners (port 0 picks free ports) and sets up health.
    pub async fn bind(service: &'static str, args: &ServerArgs, metrics: Metrics) -> Result<Self, HostError> {
        let grpc = bind("gRPC", args.grpc_addr).await?;
        let admin = bind("admin", args.admin_addr).await?;

        let (health, health_service) = tonic_health::server::health_reporter();
        let mut routes = RoutesBuilder::default();
        routes.add_service(health_service);

        Ok(Self {
            service,
            grpc,
            admin,
            grace: args.shutdown_grace,
            routes,
            grpc_services: Vec::new(),
            health,
            readiness: Readiness::new(),
            metrics,
            extra_listeners: Vec::new(),
        })
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// The checks behind `/readyz`.
    pub fn readiness_mut(&mut self) -> &mut Readiness {
        &mut self.readiness
    }

    /// Names another listener the service serves from a background task, so it is announced
    /// with the others.
    pub fn announce_listener(&mut self, name: &'static str, addr: SocketAddr) -> &mut Self {
        self.extra_listeners.push((name, addr));
        self
    }

    /// Serves a gRPC service; its health status follows the host's.
    pub fn add_grpc_service<S>(&mut self, service: S) -> &mut Self
    where
        S: tower::Service<http::Request<tonic::body::Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.grpc_services.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Serves until `shutdown` is cancelled (or a background task fails), then drains.
    pub async fn run(self, tasks: BackgroundTasks, shutdown: CancellationToken) -> Result<(), HostError> {
        let grpc_addr = self.grpc_addr();
        let admin_addr = self.admin_addr();
        let draining = Arc::new(AtomicBool::new(false));

        let mut routes = self.routes;
        routes.add_service(reflection(&self.grpc_services)?);
        let routes = routes.routes().prepare();
        let rpc_metrics = RpcMetricsLayer::new(&self.metrics);
        let stop_grpc = CancellationToken::new();
        let incoming = TcpIncoming::from(self.grpc).with_nodelay(Some(true));
        let grpc_stop = stop_grpc.clone();
        let mut grpc = tokio::spawn(async move {
            tonic::transport::Server::builder()
                .trace_fn(grpc_server_span)
                .timeout(Duration::from_secs(30))
                .layer(rpc_metrics)
                .add_routes(routes)
                .serve_with_incoming_shutdown(incoming, grpc_stop.cancelled_owned())
                .await
        });

        let stop_admin = CancellationToken::new();
        let admin_router = admin::router(admin::AdminState {
            service: self.service,
            readiness: self.readiness,
            metrics: self.metrics,
            draining: draining.clone(),
        });
        let admin_stop = stop_admin.clone();
        let admin = tokio::spawn(async move {
            axum::serve(self.admin, admin_router).with_graceful_shutdown(admin_stop.cancelled_owned()).await
        });

        let stop_tasks = CancellationToken::new();
        let mut running = JoinSet::new();
        for (name, task) in tasks.tasks {
            let token = stop_tasks.child_token();
            running.spawn(async move { (name, task(token).await) });
        }

        set_status(&self.health, &self.grpc_services, ServingStatus::Serving).await;
        announce(self.service, grpc_addr, admin_addr, &self.extra_listeners);

        // Serve until asked to stop, or until something that should never end does.
        let mut fault = None;
        tokio::select! {
            () = shutdown.cancelled() => {}
            Some(joined) = running.join_next() => fault = Some(task_fault(joined)),
            joined = &mut grpc => {
                fault = Some(match joined {
                    Ok(Err(e)) => HostError::Grpc(e),
                    _ => HostError::TaskPanicked { name: "grpc-server" },
                });
            }
        }
        if let Some(fault) = &fault {
            tracing::error!(error = %fault, "shutting down after a fault");
        }

        // 1. Stop advertising.
        draining.store(true, Ordering::Release);
        set_status(&self.health, &self.grpc_services, ServingStatus::NotServing).await;

        // 2. Drain gRPC.
        stop_grpc.cancel();
        if !grpc.is_finished() {
            match tokio::time::timeout(self.grace, &mut grpc).await {
                Ok(Ok(Err(e))) => tracing::warn!(error = %e, "gRPC server ended with an error while draining"),
                Ok(_) => {}
                Err(_) => {
                    tracing::warn!(grace = ?self.grace, "gRPC calls still in flight at the deadline; aborting them");
                    grpc.abort();
                }
            }
        }

        // 3. Stop background tasks.
        stop_tasks.cancel();
        let drained = tokio::time::timeout(self.grace, async {
            while let Some(joined) = running.join_next().await {
                match joined {
                    Ok((_, Ok(()))) => {}
                    Ok((name, Err(error))) => {
                        tracing::warn!(task = name, %error, "background task failed while stopping")
                    }
                    Err(error) => tracing::warn!(%error, "background task panicked while stopping"),
                }
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(grace = ?self.grace, "background tasks did not stop in time; aborting them");
            running.abort_all();
        }

        // 4. Admin last.
        stop_admin.cancel();
        match admin.await {
            Ok(Err(e)) if fault.is_none() => return Err(HostError::Admin(e)),
            _ => {}
        }
        tracing::info!(service = self.service, "stopped");
        fault.map_or(Ok(()), Err)
    }
}

/// Reflection that advertises exactly the services this process serves (the descriptor set
/// holds every Floodgate contract; most are served elsewhere).
fn reflection(
    served: &[&'static str],
) -> Result<
    tonic_reflection::server::v1::ServerReflectionServer<impl tonic_reflection::server::v1::ServerReflection>,
    HostError,
> {
    let mut builder = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(floodgate_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health");
    for name in served {
        builder = builder.with_service_name(*name);
    }
    builder.build_v1().map_err(HostError::Reflection)
}

async fn bind(which: &'static str, addr: SocketAddr) -> Result<TcpListener, HostError> {
    TcpListener::bind(addr).await.map_err(|source| HostError::Bind { which, addr, source })
}

async fn set_status(health: &HealthReporter, services: &[&'static str], status: ServingStatus) {
    health.set_service_status("", status).await;
    for name in services {
        health.set_service_status(*name, status).await;
    }
}

/// One machine-readable line on stdout once the listeners are bound, so supervisors and tests
/// learn the ports (even when port 0 was asked for) without polling. Logs go to stderr.
fn announce(service: &str, grpc: SocketAddr, admin: SocketAddr, extra: &[(&'static str, SocketAddr)]) {
    let mut line = serde_json::json!({ "event": "listening", "service": service, "grpc": grpc, "admin": admin });
    for (name, addr) in extra {
        line[*name] = serde_json::json!(addr);
    }
    println!("{line}");
    tracing::info!(%grpc, %admin, ?extra, "serving");
}

/// What a finished background task means; a task that returns `Ok` early is still a fault.
fn task_fault(joined: Result<(&'static str, Result<(), TaskError>), tokio::task::JoinError>) -> HostError {
    match joined {
        Ok((name, Ok(()))) => HostError::TaskFailed { name, source: "ended before shutdown".into() },
        Ok((name, Err(source))) => HostError::TaskFailed { name, source },
        Err(_) => HostError::TaskPanicked { name: "background task" },
    }
}
