//! The API's documentation, served: the OpenAPI document at `GET /api/openapi.json` and
//! Swagger UI at `GET /api/docs` (its files are compiled into the binary, so the page
//! needs no network). The document is built by `api::openapi` and handed over as app
//! data, since it is made from the route table that names these handlers.

use std::sync::{Arc, OnceLock};

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa_swagger_ui::Config;

use crate::error::ApiError;

/// The finished OpenAPI document.
pub struct OpenApiDocument(pub serde_json::Value);

/// The OpenAPI 3.1 description of this API.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "ops",
    responses((status = 200, description = "The OpenAPI document.", content_type = "application/json"))
)]
pub(crate) async fn openapi_json(document: web::Data<OpenApiDocument>) -> HttpResponse {
    HttpResponse::Ok().json(&document.0)
}

/// The interactive documentation (Swagger UI): redirects to its page.
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "ops",
    responses((status = 302, description = "To `/api/docs/index.html`."))
)]
pub(crate) async fn docs_page() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/api/docs/index.html"))
        .finish()
}

/// A file of the documentation page.
#[utoipa::path(
    get,
    path = "/api/docs/{file}",
    tag = "ops",
    responses((status = 200, description = "The file.", content_type = "text/html"))
)]
pub(crate) async fn docs_file(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| Arc::new(Config::from("/api/openapi.json")));
    let served = utoipa_swagger_ui::serve(&file, config.clone())
        .map_err(|err| ApiError::internal(err.to_string()))?
        .ok_or(ApiError::NotFound)?;
    let mut response = HttpResponse::Ok();
    if served.content_type.starts_with("text/html") {
        // Swagger UI's page loads its own scripts and styles (and sets inline styles),
        // calls this origin only, and is never framed.
        response.insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ));
    }
    response
        .content_type(served.content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"));
    if served.gzpipped {
        response.insert_header((header::CONTENT_ENCODING, "gzip"));
    }
    Ok(response.body(served.bytes.into_owned()))
}
