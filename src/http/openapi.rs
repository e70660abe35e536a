//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers' `#[utoipa::path]`
//! attributes and the served types' `ToSchema` derives, so it changes with the code.
//! Served at `GET /api/v1/openapi.json`; `tests/openapi.rs` checks that every route of
//! the router is in it, and CI feeds it to openapi-typescript and schemathesis.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::error::{InvalidParam, Problem};
use super::{events, feedback, kb, tickets};
use crate::tickets::events::TicketEvent;

/// The document's root: every operation, the shared schemas and the bearer scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "helpcenter API",
        description = "Knowledge-base search and articles, and the customer ticket portal. \
            Errors are RFC 9457 `application/problem+json` (`Problem`). Ticket endpoints \
            take a Supabase-compatible JWT as a bearer token (ES256, RS256 or EdDSA from \
            the issuer's JWKS, or the legacy HS256 secret; `sub`, `role`, \
            `aud` = `authenticated`, `exp`)."
    ),
    paths(
        kb::search,
        kb::article,
        kb::categories,
        kb::index_status,
        super::auth::status,
        super::auth::sign_in_pages,
        super::auth::sign_out_pages,
        kb::suggestions,
        super::insights::status,
        super::insights::click,
        super::insights::zero_results,
        super::insights::top_queries,
        super::insights::unopened,
        super::insights::daily,
        super::insights::deflection,
        super::insights::tickets,
        super::insights::unhelpful_articles,
        feedback::vote,
        feedback::totals,
        tickets::list,
        tickets::create,
        tickets::get,
        tickets::patch,
        tickets::timeline,
        tickets::post_message,
        super::satisfaction::rate,
        super::ccs::add,
        super::attachments::upload,
        super::attachments::download,
        super::ccs::remove,
        super::satisfaction::report,
        events::events,
        events::typing,
        events::viewing,
        super::healthz,
        super::readyz,
        openapi_json,
    ),
    components(schemas(Problem, InvalidParam, TicketEvent)),
    modifiers(&BearerScheme, &BodyLimit, &HeadLimits),
    tags(
        (name = "knowledge base", description = "Search, articles, categories, feedback."),
        (name = "tickets", description = "The customer portal: tickets, replies, live events."),
        (name = "insights", description = "What customers search for and miss, and which searches end in a ticket: recording (clicks) and the agents' reports."),
        (name = "service", description = "Health, readiness and this document."),
    )
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme the operations name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A Supabase-compatible access token (HS256 with the service's \
                         JWT_SECRET); `helpcenter token` mints one for local use.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds the 413 that every operation with a request body may answer (the body-limit
/// layer's, before any handler).
struct BodyLimit;

impl Modify for BodyLimit {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let too_large = ResponseBuilder::new()
            .description(format!(
                "The body is larger than {} bytes.",
                super::BODY_LIMIT_BYTES
            ))
            .content(
                "application/problem+json",
                Content::new(Some(Ref::from_schema_name("Problem"))),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.post, &mut item.patch, &mut item.put]
                .into_iter()
                .flatten()
            {
                if operation.request_body.is_some() {
                    operation
                        .responses
                        .responses
                        .insert("413".into(), too_large.clone().into());
                }
            }
        }
    }
}

/// Adds the 414 and 431 that every operation may answer: the `hygiene` layer's limits
/// on the request target and the headers, before any handler.
struct HeadLimits;

impl Modify for HeadLimits {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let problem = |description: String| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    Content::new(Some(Ref::from_schema_name("Problem"))),
                )
                .build()
        };
        let uri = problem(format!(
            "The request target (path and query) is longer than {} bytes.",
            super::URI_LIMIT
        ));
        let headers = problem(format!(
            "The request headers are larger than {} bytes in all.",
            super::HEADER_BYTES_LIMIT
        ));
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.put,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut operation.responses.responses;
                responses.insert("414".into(), uri.clone().into());
                responses.insert("431".into(), headers.clone().into());
            }
        }
    }
}

/// The document as JSON, built once.
pub fn document_json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serializes")
    });
    &JSON
}

/// The OpenAPI document
///
/// This API's OpenAPI 3.1 document.
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "service",
    responses((status = 200, description = "The document.", body = Object)),
)]
pub async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
}
