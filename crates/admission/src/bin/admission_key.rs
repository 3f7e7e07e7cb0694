//! `floodgate-admission-key`: operator tool for the waiting room's signing key.
//!
//! - `floodgate-admission-key public <kid>`: reads the 64-hex-digit secret on stdin and prints
//!   `<kid>:<public key hex>`, the form booking's `FLOODGATE_ADMISSION_PUBLIC_KEYS` takes.
//! - `floodgate-admission-key generate`: prints a fresh secret.
//!
//! The secret travels on stdin, never in arguments (which other users can read in `ps`).

use std::{io::Read as _, process::ExitCode};

use floodgate_admission::AdmissionKey;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["generate"] => {
            let secret: [u8; 32] = rand::random();
            println!("{}", secret.iter().map(|b| format!("{b:02x}")).collect::<String>());
            ExitCode::SUCCESS
        }
        ["public", kid] => {
            let mut input = String::new();
            if std::io::stdin().read_to_string(&mut input).is_err() {
                eprintln!("could not read the secret from stdin");
                return ExitCode::FAILURE;
            }
            let hex = input.trim();
            let secret: Option<Vec<u8>> = (hex.len() == 64)
                .then(|| (0..32).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()).collect())
                .flatten();
            let Some(secret) = secret else {
                eprintln!("the secret must be 64 hex digits on stdin");
                return ExitCode::FAILURE;
            };
            match AdmissionKey::from_secret(kid, &secret) {
                Ok(key) => {
                    let public = key.public().to_bytes();
                    println!("{kid}:{}", public.iter().map(|b| format!("{b:02x}")).collect::<String>());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: floodgate-admission-key public <kid> < secret.hex | floodgate-admission-key generate");
            ExitCode::from(2)
        }
    }
}
