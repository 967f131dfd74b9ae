//! `GET /api/docs`: the OpenAPI document as one HTML page, rendered on the server
//! (no JavaScript, nothing fetched from elsewhere): operations grouped by tag with
//! their parameters, request bodies and answers, then the schemas.

use std::collections::HashMap;

use maud::{html, Markup};
use serde_json::Value;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, RefOr};

use crate::http::i18n::tr;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The title and body of the page for an OpenAPI document: `doc` is the document as a client reads it,
/// `typed` the same document, for the order its schemas declare their properties
/// in (a JSON map here is sorted).
pub(crate) fn page(doc: &Value, typed: &OpenApi) -> (String, Markup) {
    let order = property_order(typed);
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let version = doc["info"]["version"].as_str().unwrap_or("");
    let tags = tag_names(doc);
    let body = html! {
        p.muted { "OpenAPI " (doc["openapi"].as_str().unwrap_or("")) " · " (tr!("docs-version", version = version))
            " · " (tr!("docs-document")) " " a href=(crate::http::access::href("/api/openapi.json")) { "/api/openapi.json" } }
        @if let Some(d) = doc["info"]["description"].as_str() { p.desc { (text(d)) } }
        h2 { (tr!("docs-operations")) }
        ul {
            @for tag in &tags {
                li { a href={ "#tag-" (tag) } { (tag) } ": "
                    @for (i, (method, path, op)) in operations(doc, tag).enumerate() {
                        @if i > 0 { ", " }
                        a href={ "#" (anchor(method, path, op)) } { code { (method.to_uppercase()) " " (path) } }
                    }
                }
            }
        }
        @for tag in &tags {
            section id={ "tag-" (tag) } {
                h2 { (tag) }
                @if let Some(d) = tag_description(doc, tag) { p.desc { (text(d)) } }
                @for (method, path, op) in operations(doc, tag) {
                    (operation(method, path, op))
                }
            }
        }
        h2 id="schemas" { (tr!("docs-schemas")) }
        @if let Some(schemas) = doc["components"]["schemas"].as_object() {
            @for (name, schema) in schemas {
                (schema_section(name, schema, order.get(name).map_or(&[][..], Vec::as_slice)))
            }
        }
    };
    (tr!("docs-title", title = title), body)
}

/// The tags, in the document's order, then any only operations name.
fn tag_names(doc: &Value) -> Vec<String> {
    let mut tags: Vec<String> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    for (_, _, op) in all_operations(doc) {
        let name = first_tag(op);
        if !tags.contains(&name) {
            tags.push(name);
        }
    }
    tags
}

fn tag_description<'a>(doc: &'a Value, tag: &str) -> Option<&'a str> {
    doc["tags"].as_array()?.iter().find(|t| t["name"] == tag)?["description"].as_str()
}

fn first_tag(op: &Value) -> String {
    op["tags"][0].as_str().unwrap_or("default").to_owned()
}

fn all_operations(doc: &Value) -> impl Iterator<Item = (&'static str, &str, &Value)> {
    doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter_map(move |m| item.get(*m).map(|op| (*m, path.as_str(), op)))
        })
}

fn operations<'a>(
    doc: &'a Value,
    tag: &'a str,
) -> impl Iterator<Item = (&'static str, &'a str, &'a Value)> {
    all_operations(doc).filter(move |(_, _, op)| first_tag(op) == tag)
}

fn anchor(method: &str, path: &str, op: &Value) -> String {
    match op["operationId"].as_str() {
        Some(id) => format!("op-{id}"),
        None => format!("op-{method}-{path}"),
    }
}

fn security(op: &Value) -> String {
    match op["security"].as_array() {
        None => tr!("docs-security-none"),
        Some(reqs)
            if reqs
                .iter()
                .any(|r| r.as_object().is_some_and(|o| o.is_empty())) =>
        {
            tr!("docs-security-optional")
        }
        Some(_) => tr!("docs-security-required"),
    }
}

fn operation(method: &str, path: &str, op: &Value) -> Markup {
    html! {
        div.op id=(anchor(method, path, op)) {
            h3 {
                span class={ "m m-" (method) } { (method) }
                span.path { (path) }
            }
            @if let Some(s) = op["summary"].as_str() { p { (text(s)) } }
            @if let Some(d) = op["description"].as_str() { p.desc { (text(d)) } }
            p.lock { (tr!("docs-security")) " " (security(op)) }
            @if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
                h4 { (tr!("docs-parameters")) }
                table {
                    tr { th { (tr!("docs-param-name")) } th { (tr!("docs-param-in")) } th { (tr!("docs-param-type")) } th { "" } }
                    @for p in params {
                        tr {
                            td { code { (p["name"].as_str().unwrap_or("")) } }
                            td { (p["in"].as_str().unwrap_or("")) }
                            td { (type_of(&p["schema"])) }
                            td {
                                @if p["required"] == true { strong { (tr!("docs-required")) } " " }
                                (text(p["description"].as_str().unwrap_or("")))
                            }
                        }
                    }
                }
            }
            @if let Some(body) = op["requestBody"].as_object() {
                h4 { (tr!("docs-request-body")) @if body.get("required") == Some(&Value::Bool(true)) { " (" (tr!("docs-body-required")) ")" } }
                @if let Some(d) = body.get("description").and_then(Value::as_str) { p { (text(d)) } }
                (contents(body.get("content").unwrap_or(&Value::Null)))
            }
            h4 { (tr!("docs-responses")) }
            table {
                @if let Some(responses) = op["responses"].as_object() {
                    @for (status, res) in responses {
                        tr {
                            td.st { (status) }
                            td {
                                (text(res["description"].as_str().unwrap_or("")))
                                @if let Some(headers) = res["headers"].as_object() {
                                    br;
                                    span.muted { (tr!("docs-headers")) " "
                                        @for (i, (name, _)) in headers.iter().enumerate() {
                                            @if i > 0 { ", " }
                                            code { (name) }
                                        }
                                    }
                                }
                            }
                            td { (contents(&res["content"])) }
                        }
                    }
                }
            }
        }
    }
}

/// Content types and their schemas.
fn contents(content: &Value) -> Markup {
    html! {
        @if let Some(types) = content.as_object() {
            @for (media, c) in types {
                div { code { (media) } ": " (type_of(&c["schema"])) }
            }
        }
    }
}

/// A short description of a schema: a link to a named schema, or its type.
fn type_of(s: &Value) -> Markup {
    if let Some(r) = s["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap_or(r);
        return html! { a href={ "#schema-" (name) } { (name) } };
    }
    for (key, sep) in [("oneOf", " | "), ("anyOf", " | "), ("allOf", " & ")] {
        if let Some(items) = s[key].as_array() {
            return html! {
                @for (i, item) in items.iter().enumerate() {
                    @if i > 0 { (sep) }
                    (type_of(item))
                }
            };
        }
    }
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    html! {
        @if types.is_empty() && s["enum"].is_null() {
            (tr!("docs-type-any"))
        }
        @for (i, t) in types.iter().enumerate() {
            @if i > 0 { " | " }
            @if *t == "array" {
                (tr!("docs-type-array-of")) " " (type_of(&s["items"]))
            } @else if *t == "object" && s["properties"].is_object() {
                (tr!("docs-type-object")) " {"
                @for (i, (name, _)) in s["properties"].as_object().into_iter().flatten().enumerate() {
                    @if i > 0 { ", " }
                    code { (name) }
                }
                "}"
            } @else {
                (t)
            }
        }
        @if let Some(f) = s["format"].as_str() { " (" (f) ")" }
        @if let Some(values) = s["enum"].as_array() {
            " " (tr!("docs-type-one-of")) " "
            @for (i, v) in values.iter().enumerate() {
                @if i > 0 { ", " }
                code { (v) }
            }
        }
    }
}

/// Each named schema's properties (those of its `allOf` parts included), in the
/// order they are declared.
fn property_order(typed: &OpenApi) -> HashMap<String, Vec<String>> {
    fn names(schema: &Schema, out: &mut Vec<String>) {
        match schema {
            Schema::Object(o) => out.extend(o.properties.keys().cloned()),
            Schema::AllOf(all) => {
                for item in &all.items {
                    if let RefOr::T(s) = item {
                        names(s, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut order = HashMap::new();
    for (name, schema) in typed.components.iter().flat_map(|c| &c.schemas) {
        if let RefOr::T(s) = schema {
            let mut out = Vec::new();
            names(s, &mut out);
            order.insert(name.clone(), out);
        }
    }
    order
}

/// A named schema: its description and properties (with those of `allOf` parts),
/// in `order` (then any not in it).
fn schema_section(name: &str, schema: &Value, order: &[String]) -> Markup {
    let mut parts = vec![schema];
    if let Some(all) = schema["allOf"].as_array() {
        parts.extend(all);
    }
    let required = |part: &Value, prop: &str| {
        part["required"]
            .as_array()
            .is_some_and(|r| r.iter().any(|v| v == prop))
    };
    html! {
        div.op id={ "schema-" (name) } {
            h3 { (name) }
            @if let Some(d) = schema["description"].as_str() { p.desc { (text(d)) } }
            @if schema["properties"].is_null() && schema["allOf"].is_null() {
                p { (tr!("docs-type")) " " (type_of(schema)) }
            }
            @for part in &parts {
                @if let Some(r) = part["$ref"].as_str() {
                    p { (tr!("docs-with-every-field-of")) " " (type_of(&serde_json::json!({ "$ref": r }))) "." }
                }
                @if let Some(props) = part["properties"].as_object() {
                    table {
                        @for (prop, p) in ordered(props, order) {
                            tr {
                                td { code { (prop) } }
                                td { (type_of(p)) }
                                td {
                                    @if required(part, prop) { strong { (tr!("docs-required")) } " " }
                                    (text(description(p)))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A property's description: its own, or that of the schema it is one of (an
/// optional reference is `oneOf: [null, {$ref, description}]`).
fn description(p: &Value) -> &str {
    p["description"]
        .as_str()
        .or_else(|| {
            p["oneOf"]
                .as_array()?
                .iter()
                .find_map(|s| s["description"].as_str())
        })
        .unwrap_or("")
}

/// A schema's properties in `order`, then those not in it.
fn ordered<'a>(
    props: &'a serde_json::Map<String, Value>,
    order: &[String],
) -> Vec<(&'a String, &'a Value)> {
    let mut out: Vec<_> = props.iter().collect();
    out.sort_by_key(|(name, _)| order.iter().position(|o| o == *name).unwrap_or(usize::MAX));
    out
}

/// Text with its `code spans` shown as code (the descriptions' only markup).
fn text(s: &str) -> Markup {
    html! {
        @for (i, part) in s.split('`').enumerate() {
            @if i % 2 == 1 { code { (part) } } @else { (part) }
        }
    }
}
