//! Every answer the API tests receive, held against the OpenAPI document: the operation is
//! found by method and path template, the status must be one the operation documents, the
//! content type one that status documents, and the body must match that status's schema.

use jsonschema::Validator;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The document the server serves, read once.
fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(enishi_server::openapi()).expect("the OpenAPI document is JSON"))
}

/// The documented path template that `path` (without its query) is an instance of, and its
/// operation for `method`. Literal segments win over `{parameters}`, so the most literal
/// template that fits is taken.
fn operation(method: &str, path: &str) -> Option<(&'static str, &'static Value)> {
    let segments: Vec<&str> = path.split('/').collect();
    let paths = document()["paths"].as_object()?;
    let mut best: Option<(usize, &str, &Value)> = None;
    for (template, ops) in paths {
        let Some(op) = ops.get(method) else { continue };
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let fits = parts.iter().zip(&segments).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
        let literal = parts.iter().filter(|t| !t.starts_with('{')).count();
        if fits && best.is_none_or(|(n, _, _)| literal > n) {
            best = Some((literal, template.as_str(), op));
        }
    }
    best.map(|(_, template, op)| (template, op))
}

/// Follows a `$ref` into the document's components (a response or a schema).
fn resolve(v: &'static Value) -> &'static Value {
    match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => resolve(document().pointer(pointer).unwrap_or_else(|| panic!("dangling $ref #{pointer}"))),
        None => v,
    }
}

/// The validator of a response schema, compiled once: the schema with the document's
/// components beside it, so that its `#/components/...` references resolve. Formats (`date`,
/// `date-time`, `uri`) are asserted, not only noted.
fn validator(key: String, schema: &Value) -> Arc<Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap().get(&key) {
        return v.clone();
    }
    let mut root = json!({"components": document()["components"]});
    for (k, v) in schema.as_object().expect("a schema is an object") {
        root[k] = v.clone();
    }
    let compiled = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("the schema of {key} compiles: {e}"));
    let compiled = Arc::new(compiled);
    cache.lock().unwrap().entry(key).or_insert(compiled).clone()
}

/// Checks one answer to `method path` (path with or without a query) against the document;
/// panics naming the method, path and status when it does not fit.
pub fn check(method: &str, path: &str, status: u16, content_type: &str, text: &str) {
    let path = path.split('?').next().unwrap_or_default();
    if !path.starts_with("/api/v1/") {
        return;
    }
    let method = method.to_ascii_lowercase();
    let Some((template, op)) = operation(&method, path) else {
        // Not a documented operation (an unknown route or a method the route does not
        // take): the answer is still a problem.
        if !text.is_empty() {
            let body: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{method} {path} → {status}: {e}"));
            let key = "Problem".to_string();
            validate(&validator(key, &json!({"$ref": "#/components/schemas/Problem"})), &body, &method, path, status);
        }
        return;
    };
    let responses = &op["responses"];
    let response =
        responses.get(status.to_string()).or_else(|| responses.get("default")).map(resolve).unwrap_or_else(|| {
            panic!("{method} {template} ({path}) answered {status}, which the document does not list")
        });
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        assert!(text.is_empty(), "{method} {template} → {status} is documented without a body, got {text:?}");
        return;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let media = content.get(&essence).unwrap_or_else(|| {
        panic!("{method} {template} → {status} answered {essence:?}; documented: {:?}", content.keys())
    });
    let Some(schema) = media.get("schema") else { return };
    if !essence.ends_with("json") {
        return; // a CSV or HTML body: its documented content type is what can be checked
    }
    let body: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{method} {path} → {status} is not JSON ({e}): {text}"));
    let compiled = validator(format!("{method} {template} {status} {essence}"), schema);
    validate(&compiled, &body, &method, path, status);
}

fn validate(validator: &Validator, body: &Value, method: &str, path: &str, status: u16) {
    let errors: Vec<String> = validator.iter_errors(body).map(|e| format!("at {}: {e}", e.instance_path())).collect();
    assert!(
        errors.is_empty(),
        "{method} {path} → {status} does not match its documented schema:\n{}\n{body}",
        errors.join("\n")
    );
}
