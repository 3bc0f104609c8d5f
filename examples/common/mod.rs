//! What the bench and soak drivers share: `--key value` arguments and `/proc` readings of
//! the service process.

use std::collections::HashMap;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The command line's `--key value` pairs, by key without the dashes.
pub fn flags() -> Result<HashMap<String, String>, BoxError> {
    let mut map = HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(key) = args.next() {
        let value = args.next().ok_or(format!("{key} needs a value"))?;
        map.insert(key.trim_start_matches("--").to_owned(), value);
    }
    Ok(map)
}

/// A memory figure of process `pid` in kB (`field` is e.g. `VmRSS:` or `VmHWM:`), 0 when
/// it cannot be read.
pub fn memory_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
