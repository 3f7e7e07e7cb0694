//! Fault schedules: at a time offset into the run, do something to a process — kill it, pause it
//! (SIGSTOP), resume it (SIGCONT), or run a command. The rehearsal fires them on schedule and
//! records each in the history's timeline; what a process is (a PID file, a systemd unit, a pod)
//! is the injector's business. The reliability work plugs its own injectors in here.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One scheduled fault (a `[[faults]]` table in a scenario file or `--faults FILE`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Seconds from the start of the run.
    pub at_seconds: u32,
    pub action: Action,
    /// Which process: a service name (`booking`, `payment`, …) the injector knows.
    pub target: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Kill,
    Pause,
    Resume,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    #[serde(default)]
    pub faults: Vec<Fault>,
}

impl Schedule {
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        let mut schedule: Schedule = toml::from_str(text)?;
        schedule.faults.sort_by_key(|f| f.at_seconds);
        Ok(schedule)
    }
}

/// Does a fault to a process.
pub trait Injector: Send + Sync {
    fn inject(&self, fault: &Fault) -> Result<(), String>;
}

/// Signals the process whose PID is in `<dir>/<target>.pid` (what `./floodgate up` writes).
#[derive(Debug, Clone)]
pub struct PidFiles {
    pub dir: PathBuf,
}

impl Injector for PidFiles {
    fn inject(&self, fault: &Fault) -> Result<(), String> {
        let file = self.dir.join(format!("{}.pid", fault.target));
        let pid = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let signal = match fault.action {
            Action::Kill => "KILL",
            Action::Pause => "STOP",
            Action::Resume => "CONT",
        };
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.trim().to_owned()])
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() { Ok(()) } else { Err(format!("kill -{signal} {} failed", pid.trim())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_in_time_order() {
        let schedule = Schedule::parse(
            r#"
            [[faults]]
            at_seconds = 40
            action = "resume"
            target = "booking"
            [[faults]]
            at_seconds = 30
            action = "pause"
            target = "booking"
            "#,
        )
        .expect("valid");
        assert_eq!(
            schedule.faults.iter().map(|f| (f.at_seconds, f.action)).collect::<Vec<_>>(),
            vec![(30, Action::Pause), (40, Action::Resume)]
        );
        assert!(Schedule::parse("[[faults]]\nat_seconds = 1\naction = \"explode\"\ntarget = \"x\"").is_err());
    }

    #[test]
    fn a_missing_pid_file_is_reported_not_ignored() {
        let injector = PidFiles { dir: std::env::temp_dir().join("floodgate-no-such-dir") };
        let fault = Fault { at_seconds: 0, action: Action::Pause, target: "booking".into() };
        assert!(injector.inject(&fault).is_err());
    }
}
