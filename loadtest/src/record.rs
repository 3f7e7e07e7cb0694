//! Recording while the run goes on: every entry goes to the history file (through one writer
//! task, in the order recorded) and into memory for the checker; a few counters feed the live
//! progress view.

use std::{
    io::Write as _,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
};

use tokio::{sync::mpsc, time::Instant};

use crate::history::{Entry, Kind, Op};

/// Hands out timestamps and records entries. Cheap to clone, one per buyer task.
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    entries: mpsc::UnboundedSender<Entry>,
    pub progress: Arc<Progress>,
}

/// Live numbers for the progress line.
#[derive(Debug, Default)]
pub struct Progress {
    pub arrived: AtomicU64,
    pub waiting: AtomicU64,
    pub admitted: AtomicU64,
    pub holding: AtomicU64,
    pub tickets_sold: AtomicU64,
    pub errors: AtomicU64,
    /// Hold latencies (µs) since the progress line last read them.
    pub recent_holds: Mutex<Vec<u64>>,
}

impl Progress {
    /// The recent holds' p99 (ms), emptying the window.
    pub fn take_hold_p99_ms(&self) -> Option<f64> {
        let mut recent = self.recent_holds.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
        recent.sort_unstable();
        crate::stats::percentile(&recent, 0.99).map(|us| us as f64 / 1000.0)
    }
}

/// Collects what the recorder sent until every recorder is gone.
#[derive(Debug)]
pub struct Collector {
    task: tokio::task::JoinHandle<std::io::Result<Vec<Entry>>>,
}

impl Collector {
    pub async fn finish(self) -> std::io::Result<Vec<Entry>> {
        self.task.await.map_err(std::io::Error::other)?
    }
}

impl Recorder {
    /// Starts the clock and the writer of `history_file`.
    pub fn start(history_file: &Path) -> std::io::Result<(Self, Collector)> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(history_file)?);
        let (sender, mut receiver) = mpsc::unbounded_channel::<Entry>();
        let task = tokio::task::spawn_blocking(move || {
            let mut all = Vec::new();
            while let Some(entry) = receiver.blocking_recv() {
                crate::history::write(&mut file, &entry)?;
                all.push(entry);
            }
            file.flush()?;
            Ok(all)
        });
        let recorder = Self { start: Instant::now(), entries: sender, progress: Arc::default() };
        Ok((recorder, Collector { task }))
    }

    pub fn started(&self) -> Instant {
        self.start
    }

    /// Microseconds since the start of the run.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// The instant `us` after the start.
    pub fn instant(&self, us: u64) -> Instant {
        self.start + std::time::Duration::from_micros(us)
    }

    pub fn invoke(&self, buyer: u32, op: Op, intended_us: u64, value: serde_json::Value) {
        self.send(Entry { buyer, op, kind: Kind::Invoke, intended_us, at_us: self.now_us(), code: None, value });
    }

    /// The outcome of an operation invoked at `intended_us`.
    pub fn complete(
        &self,
        buyer: u32,
        op: Op,
        intended_us: u64,
        kind: Kind,
        code: Option<String>,
        value: serde_json::Value,
    ) {
        let entry = Entry { buyer, op, kind, intended_us, at_us: self.now_us(), code, value };
        if kind != Kind::Ok {
            self.progress.errors.fetch_add(1, Relaxed);
        }
        if op == Op::Hold
            && kind == Kind::Ok
            && let Ok(mut recent) = self.progress.recent_holds.lock()
        {
            recent.push(entry.latency_us());
        }
        self.send(entry);
    }

    fn send(&self, entry: Entry) {
        // The collector outlives every recorder; a send fails only once it is gone.
        let _ = self.entries.send(entry);
    }
}
