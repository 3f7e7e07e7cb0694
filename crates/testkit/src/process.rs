//! A service binary as a real child process.
//!
//! The binary prints one JSON line on stdout once its listeners are bound (after migrations and
//! topic creation), so the kit learns the ports it picked — tests pass port 0 — without polling
//! or sleeping. Dropping a [`ServiceProcess`] kills it; [`ServiceProcess::terminate`] sends
//! SIGTERM and reports how it exited.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::Duration,
};

use anyhow::Context as _;
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, Command},
};

/// The addresses a started service announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listening {
    pub grpc: SocketAddr,
    pub admin: SocketAddr,
}

/// The whole announcement, for listeners beyond gRPC and admin (the gateway's `http`).
#[derive(Debug, Clone)]
struct Announcement {
    listening: Listening,
    line: serde_json::Value,
}

#[derive(Debug)]
pub struct ServiceProcess {
    pub name: String,
    pub listening: Listening,
    announcement: serde_json::Value,
    child: Child,
}

impl ServiceProcess {
    /// Starts `target/<profile>/<binary>` with `env` (and nothing inherited but PATH; its log
    /// level is `FLOODGATE_TEST_SERVICE_LOG`, default `warn`) and waits for its `listening` line, at most `deadline`.
    pub async fn start(binary: &str, env: &[(&str, String)], deadline: Duration) -> anyhow::Result<Self> {
        let path = binary_path(binary)?;
        let mut command = Command::new(&path);
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // Service logs go to the test's stderr; quiet unless asked for.
            .env("RUST_LOG", std::env::var("FLOODGATE_TEST_SERVICE_LOG").unwrap_or_else(|_| "warn".into()))
            .env("FLOODGATE_LOG_FORMAT", "json")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn().with_context(|| format!("starting {}", path.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;

        let mut lines = BufReader::new(stdout).lines();
        let announcement = tokio::time::timeout(deadline, async {
            while let Some(line) = lines.next_line().await? {
                if let Some(announcement) = parse_listening(&line) {
                    return Ok(announcement);
                }
            }
            anyhow::bail!("{binary} exited before it was listening")
        })
        .await
        .with_context(|| format!("{binary} did not start listening within {deadline:?}"))??;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        Ok(Self { name: binary.to_owned(), listening: announcement.listening, announcement: announcement.line, child })
    }

    /// Another announced listener, e.g. `extra("http")` for the gateway's public API.
    pub fn extra(&self, name: &str) -> anyhow::Result<SocketAddr> {
        let addr = self.announcement.get(name).and_then(|v| v.as_str());
        addr.with_context(|| format!("{} announced no {name} listener", self.name))?.parse().map_err(Into::into)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Sends SIGTERM and waits (at most `deadline`) for a graceful exit.
    pub async fn terminate(mut self, deadline: Duration) -> anyhow::Result<ExitStatus> {
        let pid = self.child.id().context("already exited")?;
        let sent = Command::new("kill").arg("-TERM").arg(pid.to_string()).status().await?;
        anyhow::ensure!(sent.success(), "kill -TERM {pid} failed");
        tokio::time::timeout(deadline, self.child.wait())
            .await
            .with_context(|| format!("{} did not exit within {deadline:?} of SIGTERM", self.name))?
            .map_err(Into::into)
    }
}

impl ServiceProcess {
    /// SIGKILL: no drain, no commit, no flush — a crash.
    pub async fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

fn parse_listening(line: &str) -> Option<Announcement> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value.get("event")?.as_str()? != "listening" {
        return None;
    }
    let listening = Listening {
        grpc: value.get("grpc")?.as_str()?.parse().ok()?,
        admin: value.get("admin")?.as_str()?.parse().ok()?,
    };
    Some(Announcement { listening, line: value })
}

/// A workspace binary beside the running test executable (`target/<profile>/deps/..`).
pub fn binary_path(binary: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let profile_dir =
        exe.parent().and_then(Path::parent).context("test executable is not under target/<profile>/deps")?;
    let path = profile_dir.join(binary);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build the services first (`cargo build --workspace --bins`, which `./floodgate test` does)",
        path.display()
    );
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_the_listening_line() {
        let line = r#"{"event":"listening","service":"booking","grpc":"127.0.0.1:4100","admin":"127.0.0.1:4101"}"#;
        let listening = parse_listening(line).expect("parsed").listening;
        assert_eq!(listening.grpc.port(), 4100);
        assert_eq!(listening.admin.port(), 4101);
        assert!(parse_listening(r#"{"event":"other"}"#).is_none());
        assert!(parse_listening("not json").is_none());
    }
}
