use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use clap::Parser as _;
use floodgate_runtime::{BackgroundTasks, CheckError, HostError, ServiceHost, config::ServerArgs};
use floodgate_telemetry::Metrics;
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

#[derive(Debug, clap::Parser)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

async fn host() -> (ServiceHost, Arc<AtomicBool>) {
    let args = Args::try_parse_from(["test", "--shutdown-grace", "2s"]).expect("args").server;
    let metrics = Metrics::new(opentelemetry_sdk_resource()).expect("metrics");
    let mut host = ServiceHost::bind("test", &args, metrics).await.expect("bind");
    let dependency_up = Arc::new(AtomicBool::new(true));
    let up = dependency_up.clone();
    host.readiness_mut().add("database", move || {
        let up = up.load(Ordering::SeqCst);
        async move { if up { Ok(()) } else { Err(CheckError("connection refused".into())) } }
    });
    (host, dependency_up)
}

fn opentelemetry_sdk_resource() -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder().with_service_name("test").build()
}

async fn health_client(host: &ServiceHost) -> HealthClient<Channel> {
    let channel = Channel::from_shared(format!("http://{}", host.grpc_addr())).expect("uri").connect_lazy();
    HealthClient::new(channel)
}

#[tokio::test]
async fn serves_health_readiness_and_metrics_then_drains_in_order() -> anyhow::Result<()> {
    let (host, dependency_up) = host().await;
    let admin = format!("http://{}", host.admin_addr());
    let mut health = health_client(&host).await;

    // A background task that notes whether the gRPC server had already stopped serving when it
    // was told to stop.
    let cancelled_after_not_serving = Arc::new(AtomicBool::new(false));
    let mut tasks = BackgroundTasks::new();
    let observed = cancelled_after_not_serving.clone();
    let grpc_addr = host.grpc_addr();
    tasks.add("probe", move |stop: CancellationToken| async move {
        stop.cancelled().await;
        let channel = Channel::from_shared(format!("http://{grpc_addr}"))?.connect_lazy();
        let refused = HealthClient::new(channel).check(HealthCheckRequest::default()).await.is_err();
        observed.store(refused, Ordering::SeqCst);
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });

    let shutdown = CancellationToken::new();
    let running = tokio::spawn(host.run(tasks, shutdown.clone()));

    // Health answers (the channel connects once the server is accepting).
    let mut watch = loop {
        match health.watch(HealthCheckRequest::default()).await {
            Ok(stream) => break stream.into_inner(),
            Err(_) => tokio::task::yield_now().await,
        }
    };
    assert_eq!(watch.message().await?.map(|r| r.status()), Some(ServingStatus::Serving));

    let http = reqwest::Client::new();
    let ready = http.get(format!("{admin}/readyz")).send().await?;
    assert_eq!(ready.status(), 200);

    dependency_up.store(false, Ordering::SeqCst);
    let not_ready = http.get(format!("{admin}/readyz")).send().await?;
    assert_eq!(not_ready.status(), 503);
    let body: serde_json::Value = not_ready.json().await?;
    assert_eq!(body["checks"][0]["name"], "database");
    assert_eq!(body["checks"][0]["error"], "connection refused");
    dependency_up.store(true, Ordering::SeqCst);

    let metrics = http.get(format!("{admin}/metrics")).send().await?.text().await?;
    assert!(metrics.contains("rpc_server_duration"), "gRPC calls are measured: {metrics}");
    assert!(metrics.contains("grpc.health.v1.Health/Watch"), "{metrics}");

    // Shutdown: NOT_SERVING is announced first, then the server drains, then tasks stop.
    shutdown.cancel();
    assert_eq!(watch.message().await?.map(|r| r.status()), Some(ServingStatus::NotServing));
    running.await??;
    assert!(
        cancelled_after_not_serving.load(Ordering::SeqCst),
        "background tasks were stopped only after the gRPC server stopped accepting"
    );
    Ok(())
}

#[tokio::test]
async fn reflection_lists_only_what_is_served() -> anyhow::Result<()> {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let (host, _) = host().await;
    let channel = Channel::from_shared(format!("http://{}", host.grpc_addr()))?.connect_lazy();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(host.run(BackgroundTasks::new(), shutdown.clone()));

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut client = ServerReflectionClient::new(channel);
    let mut responses = client.server_reflection_info(tokio_stream::iter([request])).await?.into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) = responses.message().await?.and_then(|r| r.message_response)
    else {
        anyhow::bail!("no service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"grpc.health.v1.Health".to_owned()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("floodgate.booking")),
        "a service not served here is not advertised: {names:?}"
    );
    shutdown.cancel();
    running.await??;
    Ok(())
}

#[tokio::test]
async fn a_background_task_that_dies_takes_the_service_down_with_the_reason() -> anyhow::Result<()> {
    let (host, _) = host().await;
    let mut health = health_client(&host).await;
    let mut tasks = BackgroundTasks::new();
    tasks.add("outbox-relay", |_stop| async { Err::<(), _>(std::io::Error::other("database gone")) });
    let result = tokio::time::timeout(Duration::from_secs(10), host.run(tasks, CancellationToken::new())).await?;
    match result {
        Err(HostError::TaskFailed { name, source }) => {
            assert_eq!(name, "outbox-relay");
            assert_eq!(source.to_string(), "database gone");
        }
        other => anyhow::bail!("expected the task failure, got {other:?}"),
    }
    assert!(health.check(HealthCheckRequest::default()).await.is_err(), "nothing serves after the fault");
    Ok(())
}
