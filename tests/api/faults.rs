//! Faults (issue 10): a process killed under write load loses no write it acknowledged,
//! and `rookery check --repair` mends the counters a kill between two writes can leave.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{rookery_command, spawn_app, spawn_process_with, Instance, TestUser};

/// `rookery serve` as its own process on `database`; returns the process and its port.
async fn spawn_process(database: &str) -> (Instance, u16) {
    let (child, base) = spawn_process_with(database, &[]).await;
    let port = base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    (child, port)
}

#[tokio::test]
async fn sigkill_under_write_load_loses_no_acknowledged_post_and_check_repairs_counters() {
    let app = spawn_app().await;
    let mut writers: Vec<TestUser> = Vec::new();
    for i in 0..4 {
        writers.push(app.create_user(&format!("writer_{i}")).await);
    }
    let target: Value = app
        .post(
            "/api/posts",
            Some(&writers[0].access),
            &json!({ "content": "like target" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let target = target["id"].as_str().unwrap().to_owned();

    // A second instance, as its own process, on the same database.
    let (mut child, port) = spawn_process(&app.database_name).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let load = join_all(writers.iter().enumerate().map(|(w, writer)| {
        let (client, base, acknowledged) = (client.clone(), base.clone(), acknowledged.clone());
        let (token, like) = (
            writer.access.clone(),
            format!("{base}/api/posts/{target}/like"),
        );
        async move {
            for n in 0.. {
                let sent = client
                    .post(format!("{base}/api/posts"))
                    .bearer_auth(&token)
                    .json(&json!({ "content": format!("writer {w} post {n}") }))
                    .send()
                    .await;
                let Ok(response) = sent else { break };
                if response.status() == StatusCode::CREATED {
                    if let Ok(post) = response.json::<Value>().await {
                        acknowledged
                            .lock()
                            .unwrap()
                            .push(post["id"].as_str().unwrap().to_owned());
                    }
                }
                let toggle = if n % 2 == 0 {
                    client.post(&like)
                } else {
                    client.delete(&like)
                };
                if toggle.bearer_auth(&token).send().await.is_err() {
                    break;
                }
            }
        }
    }));
    let killer = async {
        tokio::time::timeout(Duration::from_secs(60), async {
            while acknowledged.lock().unwrap().len() < 30 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("the load gets going");
        child.kill(); // SIGKILL: no shutdown, no flush
    };
    tokio::join!(load, killer);

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 30);
    for id in &acknowledged {
        let found = app.get(&format!("/api/posts/{id}"), None).await;
        assert_eq!(
            found.status(),
            StatusCode::OK,
            "acknowledged post {id} is gone"
        );
    }

    // The killed instance's jobs are taken over once their lease runs out.
    app.settle().await;
    // Whatever a kill between a write and its counter left, repair sets right.
    let repaired = rookery_command(&app.database_name)
        .args(["check", "--repair"])
        .output()
        .unwrap();
    assert!(
        repaired.status.success(),
        "{}",
        String::from_utf8_lossy(&repaired.stderr)
    );
    let checked = rookery_command(&app.database_name)
        .arg("check")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{report}");
    assert!(report.contains("everything is consistent"), "{report}");
    let post: Value = app
        .get(&format!("/api/posts/{target}"), None)
        .await
        .json()
        .await
        .unwrap();
    let likers: Value = app
        .get(&format!("/api/posts/{target}/likes?limit=100"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        post["like_count"].as_u64(),
        Some(likers["results"].as_array().unwrap().len() as u64)
    );
}

#[tokio::test]
async fn sigterm_lets_the_request_in_flight_finish_then_exits() {
    let app = spawn_app().await;
    let author = app.create_user("drainer").await;
    let (mut child, port) = spawn_process(&app.database_name).await;

    // A request whose body is still arriving when the signal comes. `Expect: 100-continue`
    // makes the server say when it has read the head, so the signal cannot come before
    // the request is in flight (a head still unread in the socket is not a request yet).
    let body = r#"{"content": "sent across a shutdown"}"#;
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "POST /api/posts HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        author.access,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut interim = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut byte = [0u8; 1];
        while !interim.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).await.unwrap();
            interim.push(byte[0]);
        }
    })
    .await
    .expect("the server reads the head");
    assert!(
        interim.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The listener closes at once (wait for it rather than for a fixed time)…
    tokio::time::timeout(Duration::from_secs(10), async {
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("no new connections after SIGTERM");
    // …while the request in flight is still served.
    stream.write_all(body.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .expect("the request in flight is answered")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let status = tokio::task::spawn_blocking(move || child.0.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exits cleanly: {status}");
    // The count moves in the post's publication job, which this instance's workers run
    // if the stopped one did not.
    app.settle().await;
    let user: Value = app
        .get("/api/users/drainer", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(user["posts_count"], 1);
}
