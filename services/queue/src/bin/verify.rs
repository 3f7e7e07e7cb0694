//! `floodgate-queue-verify`: checks a sale's published fairness audit and tells where an entry
//! stood — no trust in Floodgate needed, only the audit JSON (`GetFairnessAudit`).
//!
//!     floodgate-queue-verify --audit audit.json --entry <entry id>

use std::process::ExitCode;

use clap::Parser;
use floodgate_queue::domain::fairness::Audit;

#[derive(Debug, Parser)]
#[command(name = "floodgate-queue-verify", version, about = "Verify a waiting room's fair pre-queue draw")]
struct Args {
    /// The audit as JSON: sale_id, seed_commitment, seed, ordered_entry_ids.
    #[arg(long)]
    audit: std::path::PathBuf,
    /// The entry id the waiting room gave you when you joined.
    #[arg(long)]
    entry: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let audit: Audit = match std::fs::read_to_string(&args.audit)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(audit) => audit,
        Err(error) => {
            eprintln!("cannot read the audit {}: {error}", args.audit.display());
            return ExitCode::from(2);
        }
    };
    match audit.position_of(&args.entry) {
        Ok(position) => {
            println!(
                "verified: the seed matches its commitment and the order follows from it; entry {} was number {position} of {} in the pre-queue of sale {}",
                args.entry,
                audit.ordered_entry_ids.len(),
                audit.sale_id
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            println!("NOT verified: {error}");
            ExitCode::FAILURE
        }
    }
}
