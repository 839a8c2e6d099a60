//! The OpenAPI document served at `/api/v1/openapi.json`, generated from the code.
//!
//! Every API route is registered through `crate::api::documented` (utoipa-axum's `routes!`)
//! and carries its documentation with it: the handler's `#[utoipa::path]` gives the path,
//! parameters, body and every status, and the types it names give the schemas. This module
//! adds what the whole document shares: its description, the bearer security scheme, the
//! tags, the problem+json responses and the `Problem` schema (whose type, the rendering of an
//! `ApiError`, lives in `error.rs`: imports run from here to there only).

use crate::error::Problem;
use crate::ApiError;
use axum::http::StatusCode;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, HeaderBuilder, InfoBuilder, ObjectBuilder, OpenApi, OpenApiBuilder, Ref, RefOr,
    ResponseBuilder, Server, Type,
};
use utoipa::PartialSchema;

/// A timestamp as sent: the forms `TimestampInput` lists.
const TIMESTAMP_INPUT: &str = r"^\s*([+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)?|[+-]?[0-9]{4,}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})|[0-9]{8}|[0-9]{1,2}/[0-9]{1,2}/[+-]?[0-9]{4,} [0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2})?)\s*$";
/// A money amount as sent: not negative, at most 12 digits and 4 decimal places.
const AMOUNT_INPUT: &str = r"^[0-9]{1,12}(\.[0-9]{1,4})?$";
/// An ISO 4217 currency code.
const CURRENCY: &str = r"^[A-Za-z]{3}$";

/// The tags operations are grouped by, with what each holds.
const TAGS: &[(&str, &str)] = &[
    ("meta", "The document, the health check and the audit log."),
    ("customers", "Customer profiles, consent and totals."),
    ("history", "Timeline, messages sent, interactions and the inbox of open issues."),
    ("tasks", "Follow-up tasks and the owners of customers and accounts."),
    ("orders", "Orders and returns, idempotent on the shop's ids."),
    ("events", "Behavioural events."),
    ("accounts", "B2B accounts."),
    ("products", "The product catalogue."),
    ("analytics", "RFM, revenue concentration, loyal customers, KPIs, lifecycle, account roll-ups and CLV."),
    ("loyalty", "The loyalty programme: points, tiers, stamps, rewards, coupons, memberships."),
    (
        "segments",
        "Segments: rules over everything Enishi knows (docs/segments.md), saved, counted, their members and snapshots.",
    ),
    (
        "campaigns",
        "Message templates and campaigns (docs/campaigns.md): variants, a holdout, results with uplift, skipped customers and letters.",
    ),
    (
        "journeys",
        "Journeys (docs/campaigns.md, \"Journeys\"): step mails entered on a trigger, with their funnel per step.",
    ),
    (
        "listening",
        "Reviews with their moderation, and changes made after feedback with the feedback linked to them (docs/listening.md).",
    ),
    (
        "surveys",
        "NPS, CSAT and \"why did you stop buying?\" surveys (docs/listening.md): invitations and results.",
    ),
];

/// The whole document, as served: `routes` (every route's own documentation, from
/// `crate::api`) in the frame every document shares.
pub(crate) fn assemble(routes: OpenApi) -> String {
    let mut doc = shared();
    doc.merge(routes);
    let mut doc = serde_json::to_value(doc).unwrap_or_default();
    // OpenAPI 3.1's `info.summary`, which utoipa's `Info` does not carry.
    doc["info"]["summary"] = "The JSON API of Enishi, a self-hosted relationship-marketing CRM.".into();
    doc.to_string()
}

/// What the whole document shares: its description, server, security, tags and the shared
/// components.
fn shared() -> OpenApi {
    let info = InfoBuilder::new()
        .title("Enishi API")
        .version("1")
        .description(Some("Customers, their orders, returns, messages, interactions and events. Every operation except this document and the health check needs `Authorization: Bearer TOKEN` (make a token with `enishi token create --role admin`). Errors are `application/problem+json` with a stable `code`. Money is a decimal string (`\"57.40\"`); times are RFC 3339 (input may also be a local time, read in the workspace's business time zone). See docs/api.md."));
    let mut server = Server::new("http://127.0.0.1:8080");
    server.description = Some("`enishi serve` or `enishi demo` with the default address".into());
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .description(Some("An API token made with `enishi token create --role admin|marketer|staff`; its role decides what it may call."))
        .build();
    let mut components = ComponentsBuilder::new()
        .security_scheme("bearerAuth", SecurityScheme::Http(bearer))
        .schema("Problem", Problem::schema())
        .schema("TimestampInput", timestamp_input())
        .schema("AmountInput", amount_input())
        .schema("CurrencyCode", currency_code());
    for (name, response) in responses() {
        components = components.response(name, response);
    }
    OpenApiBuilder::new()
        .info(info)
        .servers(Some([server]))
        .security(Some([SecurityRequirement::new("bearerAuth", Vec::<String>::new())]))
        .tags(Some(TAGS.iter().map(|(name, about)| TagBuilder::new().name(*name).description(Some(*about)).build())))
        .components(Some(components.build()))
        .build()
}

/// The forms a timestamp may be sent in, which fields' descriptions refer to.
fn timestamp_input() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("An instant: RFC 3339 with an offset (`2026-11-20T18:05:00+09:00`), or a local time read in the workspace's business time zone: `YYYY-MM-DD HH:MM[:SS]` (also with `T`), `M/D/YYYY H:MM[:SS]`, or a date `YYYY-MM-DD` / `YYYYMMDD` (local midnight). A local time that does not exist (daylight-saving gap) is refused."))
        .pattern(Some(TIMESTAMP_INPUT))
        .examples(["2026-11-20T18:05:00+09:00", "2026-11-20 18:05"])
        .build()
}

/// How a currency is sent, which fields' descriptions refer to.
fn currency_code() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("ISO 4217 currency code, three letters (case-insensitive on input, stored upper-case)."))
        .pattern(Some(CURRENCY))
        .examples(["USD"])
        .build()
}

/// How money is sent, which fields' descriptions refer to.
fn amount_input() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("Money as a decimal string such as `57.40` or `3`: digits and at most one `.` with at most four decimal places; no sign, exponent, thousands separators or currency symbol."))
        .pattern(Some(AMOUNT_INPUT))
        .examples(["57.40"])
        .build()
}

/// A wrapper that answers one of enishi-core's vocabularies (its serde form) and documents it
/// as a string enumeration component whose values are read from the vocabulary itself.
macro_rules! vocabulary {
    ($wrapper:ident($core:ty) as $name:literal: $description:literal) => {
        #[derive(serde::Serialize)]
        #[serde(transparent)]
        pub(crate) struct $wrapper(pub(crate) $core);

        impl utoipa::PartialSchema for $wrapper {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::Type::String)
                    .description(Some($description))
                    .enum_values(Some(<$core>::ALL.iter().map(|v| v.as_str())))
                    .into()
            }
        }

        impl utoipa::ToSchema for $wrapper {
            fn name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
        }
    };
}
pub(crate) use vocabulary;

/// The shared error responses, as `components/responses`: each is a problem+json body
/// (schema `Problem`) with an example the server's own [`ApiError`] renders.
macro_rules! problem_responses {
    ($($(#[$doc:meta])* $name:ident = $description:literal, $example:expr, retry: $retry:literal;)*) => {
        $(
            $(#[$doc])*
            pub(crate) struct $name;

            impl<'s> utoipa::ToResponse<'s> for $name {
                fn response() -> (&'s str, RefOr<utoipa::openapi::Response>) {
                    (stringify!($name), problem_response($description, $example, $retry).into())
                }
            }
        )*

        /// Every shared error response, for the document's components.
        pub(crate) fn responses() -> Vec<(&'static str, RefOr<utoipa::openapi::Response>)> {
            vec![$(<$name as utoipa::ToResponse>::response()),*]
        }
    };
}

problem_responses! {
    /// 400: the request cannot be read.
    BadRequest = "The request cannot be read: `bad_path` (a path parameter of the wrong type), `bad_query` (an unknown or ill-typed query parameter), `malformed_json` (the body is not JSON) or `bad_request`.",
        Some(ApiError::new(StatusCode::BAD_REQUEST, "bad_query", "Failed to deserialize query string: unknown field `page`")), retry: false;
    /// 401: no usable token.
    Unauthorized = "`unauthorized`: no bearer token, or the token is unknown or revoked.",
        Some(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "send Authorization: Bearer TOKEN (make one with `enishi token create --role admin`)")), retry: false;
    /// 403: the role may not.
    Forbidden = "`forbidden`: the token's role may not call this operation.",
        Some(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "the staff role may not do this")), retry: false;
    /// 404: no such resource.
    NotFound = "`not_found`: no such resource (or no such route).",
        Some(ApiError::not_found("no customer 42")), retry: false;
    /// 409: a collision with stored data.
    Conflict = "`conflict`: the write collides with data already stored (a duplicate id written concurrently).",
        Some(ApiError::new(StatusCode::CONFLICT, "conflict", "this conflicts with data already stored (a duplicate id?)")), retry: false;
    /// 413: the body is over the limit.
    PayloadTooLarge = "`payload_too_large`: the body is larger than 2 MiB (2097152 bytes).",
        Some(crate::error::too_large()), retry: false;
    /// 415: the body is not JSON by its content type.
    UnsupportedMediaType = "`unsupported_media_type`: the body was not sent with `Content-Type: application/json`.",
        Some(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send Content-Type: application/json")), retry: false;
    /// 422: a field's value or the body's shape is wrong.
    UnprocessableEntity = "`invalid_field` (a field's value is wrong; `field` names it) or `invalid_body` (the JSON does not have the expected shape: a missing or unknown field, a wrong type).",
        Some(ApiError::invalid("lines[0].unit_price", "'abc' is not an amount (expected a decimal like 57.40)")), retry: false;
    /// 429: too many requests this minute.
    TooManyRequests = "`rate_limited`: too many staff searches this minute; `Retry-After` gives the seconds to wait.",
        Some(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many searches; try again in 42 s")), retry: true;
    /// 500: the server failed.
    Internal = "`internal`: something went wrong on the server; the detail is logged, not returned.",
        Some(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong on the server; it has been logged")), retry: false;
    /// 503: busy or too slow; try again.
    Unavailable = "`busy` (no database connection free within 5 s) or `timeout` (the request took longer than the server's limit, 60 s by default; what it started may still finish): try again after `Retry-After` seconds.",
        None, retry: true;
}

/// A problem+json response, with a `Retry-After` header when `retry` (429 and 503).
fn problem_response(description: &str, example: Option<ApiError>, retry: bool) -> utoipa::openapi::Response {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .example(example.as_ref().map(ApiError::problem))
        .build();
    let response = ResponseBuilder::new().description(description).content("application/problem+json", content);
    let response = if retry {
        let seconds = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1));
        let header = HeaderBuilder::new().description(Some("Seconds to wait before trying again.")).schema(seconds);
        response.header("Retry-After", header.build())
    } else {
        response
    };
    response.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Text with no control character at all (path and query strings).
    const NO_CONTROL: &str = r"^[^\u0000-\u001F]*$";
    /// Text that is not blank and has no control character (ids, filters).
    const NOT_BLANK: &str =
        r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";
    /// Free text: tabs and line breaks allowed, other control characters not.
    const TEXT: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$";
    /// Free text that is not blank (names).
    const TEXT_NOT_BLANK: &str =
        r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F]*[^\s\u0000-\u001F][^\u0000-\u0008\u000B\u000C\u000E-\u001F]*$";
    /// A money amount as answered.
    const AMOUNT: &str = r"^-?[0-9]+\.[0-9]{2,4}$";
    /// A calendar date, YYYY-MM-DD.
    const DATE: &str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
    /// A phone number: 5 to 20 digits, an optional leading `+`, spaces, dashes, dots, brackets.
    const PHONE: &str = r"^\+?[ ()\-.]*([0-9][ ()\-.]*){5,20}$";

    /// Every pattern the document may use: `#[schema(pattern = …)]` takes only a literal, so the
    /// literals are checked against these.
    const PATTERNS: &[&str] =
        &[NO_CONTROL, NOT_BLANK, TEXT, TEXT_NOT_BLANK, TIMESTAMP_INPUT, AMOUNT_INPUT, AMOUNT, CURRENCY, DATE, PHONE];

    /// `#[schema(pattern = …)]` takes only a literal: every pattern in the document must be one
    /// of the named ones, so that a pattern is written once in effect.
    #[test]
    fn every_generated_pattern_is_a_named_one() {
        fn patterns<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
            match v {
                Value::Object(m) => {
                    if let Some(p) = m.get("pattern").and_then(Value::as_str) {
                        out.push(p);
                    }
                    m.values().for_each(|x| patterns(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| patterns(x, out)),
                _ => {}
            }
        }
        let generated: Value = serde_json::from_str(crate::api::document()).unwrap();
        let mut found = Vec::new();
        patterns(&generated, &mut found);
        assert!(!found.is_empty());
        for p in found {
            assert!(PATTERNS.contains(&p), "pattern {p} is not one of openapi::PATTERNS");
        }
    }

    /// Every tag an operation uses is declared with its description, and every declared tag is
    /// used.
    #[test]
    fn the_tags_are_the_ones_operations_use() {
        let doc: Value = serde_json::from_str(crate::api::document()).unwrap();
        let mut used: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|ops| ops.as_object().unwrap().values())
            .flat_map(|op| op["tags"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        used.sort();
        used.dedup();
        let mut declared: Vec<&str> = TAGS.iter().map(|(name, _)| *name).collect();
        declared.sort();
        assert_eq!(used, declared);
    }
}
