//! `GET /metrics` (API.md §9): Prometheus text with request counts and latency histograms
//! by route and status, and database command counts and latency by command name (from the
//! driver's command monitoring).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bucket, bound) in self.counts.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        for (count, bound) in self.counts.iter().zip(BUCKETS) {
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Histogram>>,
    commands: Mutex<BTreeMap<(String, bool), Histogram>>,
    /// The job queue's gauges as last read, and when.
    jobs: tokio::sync::Mutex<Option<(std::time::Instant, String)>>,
}

/// How long the job queue's gauges are served from memory before a scrape reads them
/// again: a scrape loop costs the database one aggregation per instance at most this often.
const JOB_GAUGES_TTL: Duration = Duration::from_secs(10);

/// Escapes a label value for the text format.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// The job queue's gauges as `read` gives them (`jobs::gauges`), read at most every
    /// `JOB_GAUGES_TTL`; concurrent scrapes wait for one read instead of each making their
    /// own.
    pub async fn job_gauges(
        &self,
        read: impl std::future::Future<Output = mongodb::error::Result<String>>,
    ) -> mongodb::error::Result<String> {
        let mut cached = self.jobs.lock().await;
        if let Some((at, text)) = cached.as_ref() {
            if at.elapsed() < JOB_GAUGES_TTL {
                return Ok(text.clone());
            }
        }
        let text = read.await?;
        *cached = Some((std::time::Instant::now(), text.clone()));
        Ok(text)
    }

    /// `route` is the matched pattern (`/api/posts/{id}`), never the raw path, so ids do
    /// not multiply the series.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default()
                .observe(elapsed.as_secs_f64());
        }
    }

    pub fn observe_command(&self, name: &str, succeeded: bool, elapsed: Duration) {
        if let Ok(mut commands) = self.commands.lock() {
            commands
                .entry((name.to_owned(), succeeded))
                .or_default()
                .observe(elapsed.as_secs_f64());
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP rookery_http_requests_total HTTP requests served, by route and status.\n",
        );
        out.push_str("# TYPE rookery_http_requests_total counter\n");
        let requests = self.requests.lock().map(|r| r.clone()).unwrap_or_default();
        for ((method, route, status), histogram) in &requests {
            let _ = writeln!(
                out,
                "rookery_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {}",
                label(route),
                histogram.count
            );
        }
        out.push_str("# HELP rookery_http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE rookery_http_request_duration_seconds histogram\n");
        for ((method, route, status), histogram) in &requests {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{status}\"",
                label(route)
            );
            histogram.write(&mut out, "rookery_http_request_duration_seconds", &labels);
        }
        out.push_str(
            "# HELP rookery_db_commands_total Database commands, by command name and outcome.\n",
        );
        out.push_str("# TYPE rookery_db_commands_total counter\n");
        let commands = self.commands.lock().map(|c| c.clone()).unwrap_or_default();
        for ((name, succeeded), histogram) in &commands {
            let _ = writeln!(
                out,
                "rookery_db_commands_total{{command=\"{}\",outcome=\"{}\"}} {}",
                label(name),
                if *succeeded { "ok" } else { "error" },
                histogram.count
            );
        }
        out.push_str(
            "# HELP rookery_db_command_duration_seconds Time the database took per command.\n",
        );
        out.push_str("# TYPE rookery_db_command_duration_seconds histogram\n");
        for ((name, succeeded), histogram) in &commands {
            let labels = format!(
                "command=\"{}\",outcome=\"{}\"",
                label(name),
                if *succeeded { "ok" } else { "error" }
            );
            histogram.write(&mut out, "rookery_db_command_duration_seconds", &labels);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_commands_render_as_prometheus_text() {
        let metrics = Metrics::default();
        metrics.observe_request("GET", "/api/posts/{id}", 200, Duration::from_millis(3));
        metrics.observe_request("GET", "/api/posts/{id}", 200, Duration::from_millis(30));
        metrics.observe_command("find", true, Duration::from_micros(800));
        let text = metrics.render();
        assert!(text.contains("rookery_http_requests_total{method=\"GET\",route=\"/api/posts/{id}\",status=\"200\"} 2"));
        assert!(text.contains("rookery_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/posts/{id}\",status=\"200\",le=\"0.005\"} 1"));
        assert!(text.contains("rookery_http_request_duration_seconds_count{method=\"GET\",route=\"/api/posts/{id}\",status=\"200\"} 2"));
        assert!(text.contains("rookery_db_commands_total{command=\"find\",outcome=\"ok\"} 1"));
        assert!(text.contains("rookery_db_command_duration_seconds_bucket{command=\"find\",outcome=\"ok\",le=\"0.001\"} 1"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
