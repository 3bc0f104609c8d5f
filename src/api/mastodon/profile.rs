//! One's own account: `verify_credentials` and `update_credentials`. The display name is
//! the full name and the note the bio, changed through the native profile change; the
//! avatar and the header are pictures uploaded through the native pipeline (the type read
//! from the bytes, metadata stripped).

use actix_multipart::Multipart;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::accounts::account;
use super::auth::{User, UserWithAccount};
use super::params::{self, Params};
use crate::api::media::{receive_form, FileField};
use crate::api::state::AppState;
use crate::core::pictures::change_picture;
use crate::core::profile::change_profile;
use crate::domain::accounts::{parse_bio, parse_full_name};
use crate::domain::image_variants::Purpose;
use crate::domain::media::MediaKind;
use crate::error::{ApiError, FieldErrors};
use crate::store::media::{self, MediaDoc};
use crate::store::users::{Picture, ProfileChange, UserDoc};

type State = web::Data<AppState>;

/// The longest text field of the form, in bytes (a 500-character note in UTF-8, and more).
const TEXT_BYTES: usize = 4096;

/// The `CredentialAccount` entity: the account with `source` (the plain text behind
/// `note`) and its role.
fn credential_account(state: &AppState, user: &UserDoc) -> Value {
    let mut body = account(state, user);
    body["source"] = json!({
        "note": user.bio,
        "fields": [],
        "privacy": "public",
        "sensitive": false,
        "language": null,
        "follow_requests_count": 0,
    });
    body["role"] = json!({
        "id": "-99",
        "name": "",
        "permissions": "0",
        "color": "",
        "highlighted": false,
    });
    body
}

/// `GET /api/v1/accounts/verify_credentials` (`read:accounts`): one's own account.
pub async fn verify_credentials(
    state: State,
    me: UserWithAccount,
) -> Result<HttpResponse, ApiError> {
    me.user.need("read:accounts")?;
    Ok(HttpResponse::Ok().json(credential_account(&state, &me.account)))
}

/// What an app may send that Rookery accounts cannot be, with the value they always have.
const FIXED: &[(&str, bool, &str)] = &[
    (
        "locked",
        false,
        "Rookery accounts cannot be locked: it has no follow requests, anyone may follow",
    ),
    ("bot", false, "Rookery has no bot accounts"),
    (
        "discoverable",
        true,
        "every Rookery account is listed in its directory and suggestions",
    ),
    (
        "indexable",
        true,
        "every Rookery account's posts are searchable",
    ),
    (
        "hide_collections",
        false,
        "Rookery shows every account's followers and follows",
    ),
];

/// The changes the form asks for, checked: `422` naming each field that cannot be.
fn checked_change(fields: &Map<String, Value>) -> Result<ProfileChange, ApiError> {
    let mut errors = FieldErrors::new();
    let text = |name: &str| match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{name} must be text")),
    };
    let mut change = ProfileChange {
        username: None,
        full_name: None,
        bio: None,
        interests: None,
    };
    match text("display_name") {
        Ok(raw) => {
            change.full_name = raw.and_then(|r| errors.check("display_name", parse_full_name(&r)))
        }
        Err(e) => errors.add("display_name", e),
    }
    match text("note") {
        Ok(raw) => change.bio = raw.and_then(|r| errors.check("note", parse_bio(&r))),
        Err(e) => errors.add("note", e),
    }
    for (name, always, why) in FIXED {
        let asked = fields.get(*name).and_then(|v| match v {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.as_str() {
                "true" | "1" | "on" => Some(true),
                "false" | "0" | "off" | "" => Some(false),
                _ => None,
            },
            _ => None,
        });
        match (fields.get(*name), asked) {
            (None | Some(Value::Null), _) => {}
            (Some(_), Some(value)) if value == *always => {}
            (Some(_), Some(_)) => errors.add(name, *why),
            (Some(_), None) => errors.add(name, "must be true or false"),
        }
    }
    let has_text = |v: &Value| -> bool {
        fn any(v: &Value) -> bool {
            match v {
                Value::String(s) => !s.trim().is_empty(),
                Value::Array(items) => items.iter().any(any),
                Value::Object(map) => map.values().any(any),
                _ => false,
            }
        }
        any(v)
    };
    if fields
        .iter()
        .any(|(k, v)| k.starts_with("fields_attributes") && has_text(v))
    {
        errors.add(
            "fields_attributes",
            "Rookery profiles have no extra fields: send them empty or not at all",
        );
    }
    if let Some(source) = fields.get("source") {
        let get = |key: &str| source.get(key).and_then(Value::as_str);
        if get("privacy").is_some_and(|p| p != "public") {
            errors.add(
                "source[privacy]",
                "every Rookery post is public to whoever may see its author",
            );
        }
        if get("sensitive").is_some_and(|s| s == "true" || s == "1")
            || source.get("sensitive").and_then(Value::as_bool) == Some(true)
        {
            errors.add(
                "source[sensitive]",
                "Rookery has no sensitive-media marking",
            );
        }
    }
    errors.into_result()?;
    Ok(change)
}

/// The fields a form of `update_credentials` (or their refusal: an overlong one), and the
/// pictures a multipart form carried: stored already, so deleted again by the caller if
/// the change is refused.
type Form = (
    Result<Map<String, Value>, ApiError>,
    Vec<(String, MediaDoc)>,
);

async fn read_form(
    state: &AppState,
    req: &HttpRequest,
    user: &User,
    payload: web::Payload,
) -> Result<Form, ApiError> {
    let multipart = req
        .mime_type()
        .ok()
        .flatten()
        .is_some_and(|m| m.essence_str() == "multipart/form-data");
    if !multipart {
        let fields = Params::from_request(req, &mut payload.into_inner()).await?;
        return Ok((Ok(fields.0), Vec::new()));
    }
    let form = Multipart::new(req.headers(), payload.into_inner());
    let pictures = [
        FileField {
            name: "avatar",
            allowed: &[MediaKind::Image],
            purpose: Purpose::Avatar,
        },
        FileField {
            name: "header",
            allowed: &[MediaKind::Image],
            purpose: Purpose::Post,
        },
    ];
    let received = receive_form(state, req, user.me.user_id, form, &pictures, |_| {
        Some(TEXT_BYTES)
    })
    .await?;
    let too_long = received
        .texts
        .iter()
        .find(|(_, text)| text.len() > TEXT_BYTES)
        .map(|(name, _)| name.clone());
    let fields = match too_long {
        Some(name) => Err(FieldErrors::single(&name, "is too long")),
        None => Ok(params::from_pairs(received.texts)),
    };
    Ok((fields, received.files))
}

/// `PATCH /api/v1/accounts/update_credentials` (`write:accounts`): `display_name` (the
/// full name; empty shows the username), `note` (the bio), `avatar` and `header` (images,
/// as multipart); JSON and forms too, without the pictures. What Rookery accounts cannot
/// be (`locked`, `bot`, profile fields…) is refused with `422` naming it, and nothing is
/// changed then. Answers the account with `source`.
pub async fn update_credentials(
    state: State,
    req: HttpRequest,
    user: User,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    user.need("write:accounts")?;
    let (fields, pictures) = read_form(&state, &req, &user, payload).await?;
    let change = match fields.and_then(|fields| checked_change(&fields)) {
        Ok(change) => change,
        Err(err) => {
            for (_, file) in &pictures {
                media::delete(&state.db, file.id).await?;
            }
            return Err(err);
        }
    };
    let mut account = if change.full_name.is_some() || change.bio.is_some() {
        change_profile(&state, user.me.user_id, change).await?
    } else {
        user.me.load(&state).await?
    };
    for (name, file) in &pictures {
        let picture = if name == "avatar" {
            Picture::Avatar
        } else {
            Picture::Header
        };
        account = change_picture(&state, user.me, picture, Some(file)).await?;
    }
    Ok(HttpResponse::Ok().json(credential_account(&state, &account)))
}
