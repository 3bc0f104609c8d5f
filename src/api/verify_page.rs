//! What a browser sees when it opens the emailed verification link: a small page, or a
//! redirect to the deployment's own app (`email.verified_redirect_url`), instead of the
//! JSON an API client gets from the same URL.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

/// Whether the request asks for HTML before JSON: what a browser's `Accept` says
/// (`text/html,application/xhtml+xml,…`), never what an API client sends.
pub fn prefers_html(req: &HttpRequest) -> bool {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let position = |wanted: &str| {
        accept
            .split(',')
            .position(|part| part.trim().starts_with(wanted))
    };
    match (position("text/html"), position("application/json")) {
        (Some(html), Some(json)) => html < json,
        (Some(_), None) => true,
        _ => false,
    }
}

/// The answer to a browser: the address is now verified, or the link was no good.
pub fn answer(redirect_to: Option<&str>, verified: bool) -> HttpResponse {
    let status = if verified {
        "verified"
    } else {
        "invalid_token"
    };
    if let Some(base) = redirect_to {
        if let Ok(mut url) = url::Url::parse(base) {
            url.query_pairs_mut().append_pair("status", status);
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, url.as_str()))
                .finish();
        }
    }
    let (title, text) = if verified {
        (
            "Email confirmed",
            "Your email address is confirmed. You can close this page and log in from the app.",
        )
    } else {
        (
            "This link does not work",
            "The link is unknown, was used already or has expired. Ask the app to send a new \
             verification email.",
        )
    };
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>body{{font-family:system-ui,sans-serif;max-width:32rem;\
         margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}}</style></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>\n"
    );
    let mut response = if verified {
        HttpResponse::Ok()
    } else {
        HttpResponse::BadRequest()
    };
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // A page of text and one inline style sheet: nothing else may load or frame it.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'",
        ))
        .body(body)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn accepting(accept: &str) -> bool {
        prefers_html(
            &TestRequest::default()
                .insert_header((header::ACCEPT, accept))
                .to_http_request(),
        )
    }

    #[test]
    fn a_browser_gets_html_and_an_api_client_json() {
        assert!(accepting(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(!accepting("application/json"));
        assert!(!accepting("*/*"));
        assert!(!accepting("application/json, text/html"));
        assert!(!prefers_html(&TestRequest::default().to_http_request()));
    }
}
