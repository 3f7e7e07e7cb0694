//! `floodgate-accounts grant-admin EMAIL`: makes an existing account an admin, straight in the
//! gateway's database. The first admin has to come from somewhere; every later role change goes
//! through `PUT /v1/admin/accounts/{id}/role`. The account logs in again to get the new role.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use floodgate_gateway::{
    accounts::repo::{self, By},
    domain::jwt::Role,
};

#[derive(Debug, Parser)]
#[command(name = "floodgate-accounts", version, about = "Account administration for the Floodgate gateway")]
struct Args {
    /// The gateway's database.
    #[arg(long, env = "FLOODGATE_DATABASE_URL")]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make the account with this email an admin.
    GrantAdmin { email: String },
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let Command::GrantAdmin { email } = args.command;
    let pool = match sqlx::PgPool::connect(&args.database_url).await {
        Ok(pool) => pool,
        Err(error) => {
            eprintln!("floodgate-accounts: cannot reach the gateway database: {error}");
            return ExitCode::FAILURE;
        }
    };
    let account = match repo::find(&pool, By::Email(&email)).await {
        Ok(Some(account)) => account,
        Ok(None) => {
            eprintln!("floodgate-accounts: no account with email {email}; sign up first");
            return ExitCode::from(2);
        }
        Err(error) => {
            eprintln!("floodgate-accounts: {error}");
            return ExitCode::FAILURE;
        }
    };
    match repo::set_role(&pool, account.id, Role::Admin, &[], chrono::Utc::now()).await {
        Ok(_) => {
            println!("{email} ({}) is now an admin; it takes effect at the next login or refresh", account.id);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("floodgate-accounts: {error}");
            ExitCode::FAILURE
        }
    }
}
