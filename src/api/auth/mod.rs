//! Accounts and sessions: signing up and verifying (`signup`), logging in and out
//! (`sessions`), passwords (`passwords`).

use actix_web::web;

pub mod passwords;
pub mod sessions;
pub mod signup;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/register").route(web::post().to(signup::register)))
        .service(web::resource("/register").route(web::post().to(signup::register)))
        .service(
            web::resource("/auth/verify-email")
                .route(web::get().to(signup::verify_email_link))
                .route(web::post().to(signup::verify_email)),
        )
        .service(
            web::resource("/auth/resend-verification")
                .route(web::post().to(signup::resend_verification)),
        )
        .service(web::resource("/auth/login").route(web::post().to(sessions::login)))
        .service(web::resource("/login").route(web::post().to(sessions::login)))
        .service(web::resource("/users/login").route(web::post().to(sessions::login)))
        .service(
            web::resource("/auth/token/refresh").route(web::post().to(sessions::refresh_token)),
        )
        .service(web::resource("/token/refresh").route(web::post().to(sessions::refresh_token)))
        .service(web::resource("/auth/logout").route(web::post().to(sessions::logout)))
        .service(web::resource("/auth/logout-all").route(web::post().to(sessions::logout_all)))
        .service(web::resource("/auth/sessions").route(web::get().to(sessions::list_sessions)))
        .service(
            web::resource("/auth/sessions/{id}").route(web::delete().to(sessions::revoke_session)),
        )
        .service(
            web::resource("/auth/password/change")
                .route(web::post().to(passwords::change_password)),
        )
        .service(
            web::resource("/auth/password/forgot")
                .route(web::post().to(passwords::forgot_password)),
        )
        .service(
            web::resource("/auth/password/reset").route(web::post().to(passwords::reset_password)),
        );
}
