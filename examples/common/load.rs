//! The load side of the bench drivers: workers that send one kind of request for a fixed
//! time, and what is measured around them (latency percentiles, database commands per
//! request, the service's and the database's CPU per request from /proc).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::BoxError;

#[derive(Default, Clone)]
pub struct Sample {
    latencies_us: Vec<u64>,
    errors: usize,
    db_commands: u64,
}

pub struct Measured {
    pub name: String,
    pub concurrency: usize,
    pub requests: usize,
    pub errors: usize,
    pub throughput: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub commands_per_request: f64,
    pub metrics_commands_per_request: f64,
    pub cpu_ms_per_request: f64,
    /// The database server's CPU per request, when its process is known.
    pub db_cpu_ms_per_request: Option<f64>,
}

pub fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

/// The service's CPU time so far: per thread in nanoseconds from `schedstat`, and for the
/// whole process (threads that have exited included) in clock ticks from `stat`.
pub struct CpuSnapshot {
    threads: HashMap<String, u64>,
    process_ms: f64,
}

impl CpuSnapshot {
    pub fn take(pid: u32) -> Self {
        let mut threads = HashMap::new();
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for task in tasks.flatten() {
                let path = task.path().join("schedstat");
                let on_cpu = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|s| s.split_whitespace().next()?.parse().ok());
                if let Some(ns) = on_cpu {
                    threads.insert(task.file_name().to_string_lossy().into_owned(), ns);
                }
            }
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
            + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        Self {
            threads,
            process_ms: ticks * 1000.0 / 100.0,
        }
    }

    /// Milliseconds used since `before`: to the nanosecond when every thread then is still
    /// there (clock ticks are 10 ms, too coarse for a few hundred requests), else from the
    /// process's ticks.
    pub fn ms_since(&self, before: &CpuSnapshot) -> f64 {
        if before.threads.is_empty() || before.threads.keys().any(|t| !self.threads.contains_key(t))
        {
            return self.process_ms - before.process_ms;
        }
        let ns: u64 = self
            .threads
            .iter()
            .map(|(t, ns)| ns.saturating_sub(before.threads.get(t).copied().unwrap_or(0)))
            .sum();
        ns as f64 / 1e6
    }
}

/// Total database commands and HTTP requests the service has counted in `/metrics`.
pub async fn metrics_totals(client: &reqwest::Client, base: &str) -> (f64, f64) {
    let text = match client.get(format!("{base}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let sum = |prefix: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    (
        sum("rookery_db_commands_total{"),
        sum("rookery_http_requests_total{"),
    )
}

pub type RequestFn =
    Arc<dyn Fn(&reqwest::Client, usize, u64) -> reqwest::RequestBuilder + Send + Sync>;

pub struct Bench {
    pub client: reqwest::Client,
    pub base: String,
    /// The service's process.
    pub pid: u32,
    /// The database server's process, to report its CPU too.
    pub db_pid: Option<u32>,
    pub seconds: u64,
}

impl Bench {
    /// Runs `make_request` from `concurrency` workers for the configured time.
    /// An anonymous `GET path` from 8 workers.
    pub async fn run_get(&self, name: &str, path: &str) -> Measured {
        let url = format!("{}{path}", self.base);
        self.run(name, 8, Arc::new(move |c, _, _| c.get(&url)))
            .await
    }

    pub async fn run(&self, name: &str, concurrency: usize, make_request: RequestFn) -> Measured {
        let stop = Arc::new(AtomicBool::new(false));
        let counter = Arc::new(AtomicUsize::new(0));
        let samples = Arc::new(Mutex::new(Sample::default()));
        let (commands_before, requests_before) = metrics_totals(&self.client, &self.base).await;
        let cpu_before = CpuSnapshot::take(self.pid);
        let db_cpu_before = self.db_pid.map(CpuSnapshot::take);
        let started = Instant::now();
        let mut workers = Vec::new();
        for worker in 0..concurrency {
            let client = self.client.clone();
            let stop = stop.clone();
            let counter = counter.clone();
            let samples = samples.clone();
            let make_request = make_request.clone();
            workers.push(tokio::spawn(async move {
                let mut local = Sample::default();
                while !stop.load(Ordering::Relaxed) {
                    let i = counter.fetch_add(1, Ordering::Relaxed) as u64;
                    let t = Instant::now();
                    match make_request(&client, worker, i).send().await {
                        Ok(response) => {
                            let commands = response
                                .headers()
                                .get("x-db-commands")
                                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                                .unwrap_or(0);
                            let ok = response.status().is_success();
                            let _ = response.bytes().await;
                            local.latencies_us.push(t.elapsed().as_micros() as u64);
                            local.db_commands += commands;
                            if !ok {
                                local.errors += 1;
                            }
                        }
                        Err(_) => local.errors += 1,
                    }
                }
                if let Ok(mut all) = samples.lock() {
                    all.latencies_us.extend(local.latencies_us);
                    all.errors += local.errors;
                    all.db_commands += local.db_commands;
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(self.seconds)).await;
        stop.store(true, Ordering::Relaxed);
        for worker in workers {
            let _ = worker.await;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = CpuSnapshot::take(self.pid).ms_since(&cpu_before);
        let db_cpu = self
            .db_pid
            .zip(db_cpu_before)
            .map(|(pid, before)| CpuSnapshot::take(pid).ms_since(&before));
        let (commands_after, requests_after) = metrics_totals(&self.client, &self.base).await;
        let mut sample = samples.lock().map(|s| s.clone()).unwrap_or_default();
        sample.latencies_us.sort_unstable();
        let requests = sample.latencies_us.len();
        let per = |x: f64| {
            if requests == 0 {
                0.0
            } else {
                x / requests as f64
            }
        };
        // The /metrics delta includes the scrape itself (one request, no commands).
        let metered_requests = (requests_after - requests_before - 1.0).max(1.0);
        let measured = Measured {
            name: name.to_owned(),
            concurrency,
            requests,
            errors: sample.errors,
            throughput: requests as f64 / elapsed,
            p50_ms: percentile(&sample.latencies_us, 0.50),
            p90_ms: percentile(&sample.latencies_us, 0.90),
            p99_ms: percentile(&sample.latencies_us, 0.99),
            commands_per_request: per(sample.db_commands as f64),
            metrics_commands_per_request: (commands_after - commands_before) / metered_requests,
            cpu_ms_per_request: per(cpu),
            db_cpu_ms_per_request: db_cpu.map(per),
        };
        println!(
            "{:<28} c={:<3} {:>7} req {:>8.1} req/s  p50 {:>7.2} ms  p90 {:>7.2}  p99 {:>7.2}  db {:>4}/req  cpu {:>6.3} ms/req  db cpu {} ms/req  errors {}",
            measured.name,
            measured.concurrency,
            measured.requests,
            measured.throughput,
            measured.p50_ms,
            measured.p90_ms,
            measured.p99_ms,
            // Counted only where the service monitors commands.
            if sample.db_commands == 0 {
                "-".to_owned()
            } else {
                format!("{:.2}", measured.commands_per_request)
            },
            measured.cpu_ms_per_request,
            measured
                .db_cpu_ms_per_request
                .map_or("-".to_owned(), |ms| format!("{ms:.3}")),
            measured.errors
        );
        measured
    }
}

/// Replaces the generated part `name` of the results file (between its markers), keeping
/// the hand-written analysis and the other parts around it.
pub fn write_results(path: &str, name: &str, generated: &str) -> Result<(), BoxError> {
    let start = format!("<!-- {name}:start -->");
    let end = format!("<!-- {name}:end -->");
    let existing = std::fs::read_to_string(path)
        .unwrap_or_else(|_| format!("# Benchmark results\n\n{start}\n{end}\n"));
    let text = match existing.split_once(&start) {
        Some((head, rest)) => {
            let tail = rest.split_once(&end).map(|(_, t)| t).unwrap_or("");
            format!("{head}{start}\n{generated}{end}{tail}")
        }
        None => format!("{}\n\n{start}\n{generated}{end}\n", existing.trim_end()),
    };
    std::fs::write(path, text)?;
    println!("wrote {path}");
    Ok(())
}
