//! The operation history, one JSON object per line, as Jepsen records it: each operation a buyer
//! tries is an `invoke`, then exactly one of `ok` (it happened), `fail` (it certainly did not) or
//! `info` (unknown: a timeout or a dropped connection — it may have happened).

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    SignUp,
    Join,
    /// The waiting room let the buyer in (an admission token was issued).
    Admitted,
    SeatMap,
    Hold,
    Release,
    Checkout,
    Pay,
    /// The buyer saw the order confirmed (acknowledged: it must survive anything, I4).
    Confirmed,
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Invoke,
    Ok,
    Fail,
    Info,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub buyer: u32,
    pub op: Op,
    pub kind: Kind,
    /// When the operation was meant to be sent, microseconds from the start of the run.
    pub intended_us: u64,
    /// When this entry was recorded.
    pub at_us: u64,
    /// The error code of a `fail`/`info` (`SEAT_TAKEN`, `TIMEOUT`, `HTTP_503`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What the operation was about or returned: order id, seats, amount, …
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub value: serde_json::Value,
}

impl Entry {
    /// From the intended send time: what the buyer waited, queueing included.
    pub fn latency_us(&self) -> u64 {
        self.at_us.saturating_sub(self.intended_us)
    }

    /// A string field of `value` (`order_id`, `hold_id`, …).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.value.get(name).and_then(serde_json::Value::as_str)
    }
}

pub fn write(out: &mut impl Write, entry: &Entry) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, entry)?;
    out.write_all(b"\n")
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading the history failed")]
    Io(#[from] std::io::Error),
    #[error("history line {line} is not an entry: {source}")]
    Entry { line: usize, source: serde_json::Error },
}

pub fn read(input: impl BufRead) -> Result<Vec<Entry>, ReadError> {
    let mut entries = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        entries.push(serde_json::from_str(&line).map_err(|source| ReadError::Entry { line: index + 1, source })?);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_jsonl() {
        let entries = vec![
            Entry {
                buyer: 1,
                op: Op::Hold,
                kind: Kind::Invoke,
                intended_us: 10,
                at_us: 12,
                code: None,
                value: serde_json::json!({"seats": ["A-1-1"]}),
            },
            Entry {
                buyer: 1,
                op: Op::Hold,
                kind: Kind::Fail,
                intended_us: 10,
                at_us: 40,
                code: Some("SEAT_TAKEN".into()),
                value: serde_json::Value::Null,
            },
        ];
        let mut out = Vec::new();
        for entry in &entries {
            write(&mut out, entry).expect("written");
        }
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.lines().nth(1).is_some_and(|l| l.contains("\"kind\":\"fail\"") && !l.contains("value")));
        assert_eq!(read(text.as_bytes()).expect("read"), entries);
        assert_eq!(entries[1].latency_us(), 30);
        assert!(matches!(read(&b"{}\n"[..]), Err(ReadError::Entry { line: 1, .. })));
    }
}
