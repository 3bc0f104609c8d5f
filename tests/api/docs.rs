//! The OpenAPI document and the documentation page (issue 8): the document lists exactly
//! the routes the service registers, and each documented operation reaches its route.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::spawn_app;

const METHODS: [&str; 6] = ["get", "put", "post", "delete", "head", "patch"];

type Operation = (String, String);

/// Every `(method, path)` the route table registers.
fn registered_routes() -> BTreeSet<Operation> {
    let routes: BTreeSet<Operation> = rookery::api::routes::table()
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert!(
        routes.len() >= 90,
        "only {} routes in the table",
        routes.len()
    );
    routes
}

fn documented_operations(document: &Value) -> BTreeSet<Operation> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_owned(), path.clone()));
            }
        }
    }
    operations
}

async fn fetch_document(app: &crate::helpers::TestApp) -> Value {
    let response = app.get("/api/openapi.json", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("JSON")
}

#[tokio::test]
async fn the_document_lists_exactly_the_registered_routes() {
    let app = spawn_app().await;
    let document = fetch_document(&app).await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented = documented_operations(&document);
    let registered = registered_routes();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes missing from the document: {undocumented:?}\n\
         documented operations with no route: {unrouted:?}"
    );
}

/// Each documented operation, sent with made-up path parameters and no credentials, is
/// answered by the route of that very pattern (as `/metrics` records it), never by the
/// fallback, and never with `405`.
#[tokio::test]
async fn every_documented_operation_reaches_its_route() {
    let app = spawn_app().await;
    let document = fetch_document(&app).await;
    let operations = documented_operations(&document);
    for (method, path) in &operations {
        let concrete = path
            .replace("{id}", "5f0000000000000000000001")
            .replace("{user}", "nobody")
            .replace("{file}", "index.html");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .request(method.clone(), &concrete)
            .send()
            .await
            .expect("request sent");
        assert_ne!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {concrete}"
        );
        assert!(
            !response.status().is_server_error(),
            "{method} {concrete}: {}",
            response.status()
        );
    }
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    for (method, path) in &operations {
        let series = format!(
            "rookery_http_requests_total{{method=\"{}\",route=\"{path}\"",
            method.to_uppercase()
        );
        assert!(metrics.contains(&series), "no request reached {series}");
    }
}

#[tokio::test]
async fn every_operation_is_described_and_tagged() {
    let app = spawn_app().await;
    let document = fetch_document(&app).await;
    for (method, path) in documented_operations(&document) {
        let operation = &document["paths"][&path][&method];
        assert!(operation["summary"].is_string(), "{method} {path}: summary");
        assert!(operation["tags"][0].is_string(), "{method} {path}: tag");
        let responses = operation["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with(['1', '2', '3'])),
            "{method} {path}: a success response"
        );
    }
}

#[tokio::test]
async fn the_documentation_page_and_its_files_are_served_from_the_binary() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .get(format!("{}/api/docs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()["location"], "/api/docs/index.html");

    let page = app.get("/api/docs/index.html", None).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui-bundle.js"), "{html}");

    let initializer = app
        .get("/api/docs/swagger-initializer.js", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/api/openapi.json"), "{initializer}");
    let bundle = app.get("/api/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(bundle.status(), StatusCode::OK);
    assert!(bundle.bytes().await.unwrap().len() > 100_000);

    let missing = app.get("/api/docs/nothing-here.js", None).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
