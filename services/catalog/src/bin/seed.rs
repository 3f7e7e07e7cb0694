//! `floodgate-seed`: fills an empty catalog with demo venues, events and sales (see
//! `floodgate_catalog::seed`). Run by `./floodgate seed` and by `./floodgate up` on a new platform.

use std::process::ExitCode;

use clap::Parser;
use floodgate_proto::catalog::v1::catalog_service_client::CatalogServiceClient;

#[derive(Debug, Parser)]
#[command(name = "floodgate-seed", version, about = "Fill an empty Floodgate catalog with demo data")]
struct Args {
    /// The catalog's gRPC address.
    #[arg(long, env = "FLOODGATE_CATALOG_URL", default_value = "http://127.0.0.1:50051")]
    catalog_url: tonic::transport::Uri,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let channel = match tonic::transport::Endpoint::from(args.catalog_url.clone()).connect().await {
        Ok(channel) => channel,
        Err(error) => {
            eprintln!("floodgate-seed: cannot reach the catalog at {}: {error}", args.catalog_url);
            return ExitCode::FAILURE;
        }
    };
    let mut client = CatalogServiceClient::new(channel).max_decoding_message_size(64 * 1024 * 1024);
    match floodgate_catalog::seed::seed(&mut client, chrono::Utc::now()).await {
        Ok(Some(seeded)) => {
            println!(
                "seeded {} venues, {} seats, {} performances; the stadium concert {} goes on sale in 5 minutes",
                seeded.venues,
                seeded.seats,
                seeded.performances,
                seeded.on_sale_soon.unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Ok(None) => {
            println!("the catalog already has venues; nothing seeded");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("floodgate-seed: {}", floodgate_telemetry::error_chain(&error));
            ExitCode::FAILURE
        }
    }
}
