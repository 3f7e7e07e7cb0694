//! `floodgate-queue-verify` checks a published draw from its JSON alone.

use std::process::Command;

use floodgate_queue::domain::fairness::{Audit, Seed};

fn run(audit: &Audit, entry: &str) -> anyhow::Result<(bool, String)> {
    let path = std::env::temp_dir().join(format!("audit-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&path, serde_json::to_string(audit)?)?;
    let output = Command::new(env!("CARGO_BIN_EXE_floodgate-queue-verify"))
        .args(["--audit", path.to_str().unwrap_or_default(), "--entry", entry])
        .output()?;
    std::fs::remove_file(&path)?;
    Ok((output.status.success(), String::from_utf8(output.stdout)?))
}

#[test]
fn a_buyer_verifies_their_place_and_a_doctored_audit_fails() -> anyhow::Result<()> {
    let seed = Seed::generate();
    let entries: Vec<String> = (0..50).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let audit = Audit {
        sale_id: "sale-1".into(),
        seed_commitment: seed.commitment(),
        seed: seed.to_hex(),
        ordered_entry_ids: seed.order(entries.iter().map(String::as_str)),
    };
    let mine = audit.ordered_entry_ids[9].clone();
    let (ok, out) = run(&audit, &mine)?;
    assert!(ok, "{out}");
    assert!(out.contains("was number 10 of 50"), "{out}");

    // Moving someone up the list is caught.
    let mut doctored = audit.clone();
    doctored.ordered_entry_ids.swap(0, 9);
    let (ok, out) = run(&doctored, &mine)?;
    assert!(!ok);
    assert!(out.contains("NOT verified"), "{out}");
    Ok(())
}
