//! The OpenAPI document: served over HTTP as OpenAPI 3.1, and covering exactly what the
//! router serves, with problem+json errors and the bearer scheme where tokens are needed.
//! (CI also generates TypeScript from it and runs schemathesis against a live server:
//! `scripts/api-contract.sh`.)

mod common;

use serde_json::Value;

use helpcenter::http::{ROUTES, STREAMING_ROUTES};

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    serde_json::from_str(helpcenter::http::openapi::document_json()).expect("the document is JSON")
}

/// Whether the router path `route` serves the document's `doc_path`: the same template,
/// or for a catch-all (`{*slug}`) any path below its prefix.
fn serves(route: &str, doc_path: &str) -> bool {
    match route.find("{*") {
        Some(at) => doc_path.starts_with(&route[..at]),
        None => route == doc_path,
    }
}

/// Every (method, path) the document describes.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            if METHODS.contains(&method.as_str()) {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[test]
fn every_route_of_the_router_is_in_the_openapi_document() {
    let ops = operations(&document());
    let mut missing = Vec::new();
    for (route, methods) in ROUTES.iter().chain(STREAMING_ROUTES) {
        for method in *methods {
            if !ops.iter().any(|(m, p, _)| m == method && serves(route, p)) {
                missing.push(format!("{} {route}", method.to_uppercase()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
}

#[test]
fn the_document_promises_no_endpoint_the_router_does_not_serve() {
    let unserved: Vec<String> = operations(&document())
        .into_iter()
        .filter(|(m, p, _)| {
            !ROUTES
                .iter()
                .chain(STREAMING_ROUTES)
                .any(|(route, methods)| methods.contains(&m.as_str()) && serves(route, p))
        })
        .map(|(m, p, _)| format!("{} {p}", m.to_uppercase()))
        .collect();
    assert!(
        unserved.is_empty(),
        "documented but not routed: {unserved:?}"
    );
}

#[test]
fn every_error_is_documented_as_problem_json_and_every_path_parameter_is_declared() {
    let mut problems = Vec::new();
    for (method, path, op) in operations(&document()) {
        let name = format!("{} {path}", method.to_uppercase());
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{name} documents no success"
        );
        for (status, response) in responses {
            if status.as_str() < "400" {
                continue;
            }
            let content = &response["content"];
            let schema = &content["application/problem+json"]["schema"]["$ref"];
            if schema != "#/components/schemas/Problem"
                || content.as_object().map(|c| c.len()) != Some(1)
            {
                problems.push(format!("{name} {status} is not problem+json: {content}"));
            }
        }
        let declared: Vec<&str> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        for segment in path.split('/') {
            if let Some(param) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if !declared.contains(&param) {
                    problems.push(format!("{name} does not declare path parameter {param}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn ticket_operations_require_the_bearer_scheme_and_search_does_not() {
    let doc = document();
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer",
        "the bearer scheme is defined"
    );
    for (method, path, op) in operations(&doc) {
        let name = format!("{} {path}", method.to_uppercase());
        let security = op["security"].as_array().cloned().unwrap_or_default();
        let bearer = security.iter().any(|s| s.get("bearer").is_some());
        let anonymous_allowed = security.is_empty()
            || security
                .iter()
                .any(|s| s.as_object().is_some_and(|o| o.is_empty()));
        if path.starts_with("/api/v1/tickets") || path == "/api/v1/events" {
            assert!(
                bearer && !anonymous_allowed,
                "{name} must require a bearer token: {security:?}"
            );
        }
        if path == "/api/v1/search" || path == "/api/v1/suggestions" || path == "/healthz" {
            assert!(anonymous_allowed, "{name} must stay public: {security:?}");
        }
        if path.ends_with("/feedback") && method == "post" {
            assert!(
                bearer && anonymous_allowed,
                "{name}: a token is optional: {security:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_document_is_served_over_http_as_openapi_3_1_json() {
    let app = common::spawn_app(&common::demo_articles()).await;
    let (status, served, content_type) = app.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json");
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(
        served,
        document(),
        "the served document is the generated one"
    );
    // The schemas the operations refer to all exist.
    let text = served.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(
            served["components"]["schemas"].get(name).is_some(),
            "dangling reference to {name}"
        );
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_the_documented_413_problem_whether_declared_or_streamed() {
    let app = common::spawn_app(&common::demo_articles()).await;
    let doc = document();
    let documented = &doc["paths"]["/api/v1/tickets"]["post"]["responses"]["413"];
    assert!(documented.is_object(), "POST /api/v1/tickets documents 413");
    let big = format!(
        "{{\"helpful\": true, \"pad\": \"{}\"}}",
        "a".repeat(helpcenter::http::BODY_LIMIT_BYTES)
    );
    // Declared: the body-limit layer answers before any handler.
    let declared = app
        .client
        .post(format!("{}/api/v1/tickets", app.base))
        .header("content-type", "application/json")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    // Streamed (chunked, no length): the JSON extractor finds out while reading.
    let chunks = futures_util::stream::iter(
        big.into_bytes()
            .chunks(8192)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let streamed = app
        .client
        .post(format!(
            "{}/api/v1/articles/billing/cancel-subscription/feedback",
            app.base
        ))
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    for response in [declared, streamed] {
        assert_eq!(response.status(), 413);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], 413, "{body}");
    }
}
