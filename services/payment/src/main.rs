//! `floodgate-payment`: serve (default) or `migrate`. Everything else lives in the library.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    floodgate_runtime::main::<floodgate_payment::Payment>().await
}
