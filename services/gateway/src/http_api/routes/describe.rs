//! What a handler's extractors say about its request, for the OpenAPI document. Every extractor a
//! handler takes implements [`Describe`]; a JSON body or a query whose type has no JSON Schema does
//! not compile, so the document cannot fall behind the code.

use axum::{
    extract::{Path, State, ws::WebSocketUpgrade},
    http::HeaderMap,
};
use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Value, json};

use crate::auth::{Caller, ClientAddress, JsonBody, OptionalJsonBody, QueryParams};

/// The request side of one operation.
#[derive(Debug, Default)]
pub struct Shape {
    /// `(schema, required)` of the JSON body.
    pub body: Option<(Value, bool)>,
    /// OpenAPI parameter objects for the query string.
    pub query: Vec<Value>,
}

/// Schemas are collected under `#/components/schemas` in JSON Schema 2020-12, OpenAPI 3.1's dialect.
pub fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.definitions_path = "/components/schemas".into();
            settings.meta_schema = None;
        })
        .into_generator()
}

pub trait Describe {
    fn describe(_shape: &mut Shape, _generator: &mut SchemaGenerator) {}
}

impl<T: JsonSchema> Describe for JsonBody<T> {
    fn describe(shape: &mut Shape, generator: &mut SchemaGenerator) {
        shape.body = Some((generator.subschema_for::<T>().to_value(), true));
    }
}

impl<T: JsonSchema> Describe for OptionalJsonBody<T> {
    fn describe(shape: &mut Shape, generator: &mut SchemaGenerator) {
        shape.body = Some((generator.subschema_for::<T>().to_value(), false));
    }
}

impl<T: JsonSchema> Describe for QueryParams<T> {
    fn describe(shape: &mut Shape, _generator: &mut SchemaGenerator) {
        // Query strings are flat: each property of the (inlined) struct is one parameter.
        let root = SchemaSettings::draft2020_12()
            .with(|settings| settings.inline_subschemas = true)
            .into_generator()
            .into_root_schema_for::<T>()
            .to_value();
        let required: Vec<&str> =
            root["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        if let Some(properties) = root["properties"].as_object() {
            for (name, schema) in properties {
                let mut parameter = json!({
                    "name": name,
                    "in": "query",
                    "required": required.contains(&name.as_str()),
                    "schema": schema,
                });
                if let Some(description) = schema.get("description") {
                    parameter["description"] = description.clone();
                }
                shape.query.push(parameter);
            }
        }
    }
}

// Extractors that add nothing the path and security schemes do not already say.
impl<T> Describe for Path<T> {}
impl<T> Describe for State<T> {}
impl Describe for Caller {}
impl Describe for ClientAddress {}
impl Describe for HeaderMap {}
impl Describe for WebSocketUpgrade {}

/// axum's handler types are tuples: a marker, then the extractors in argument order.
macro_rules! describe_handler {
    ($($extractor:ident),*) => {
        impl<M, $($extractor: Describe),*> Describe for (M, $($extractor,)*) {
            #[allow(unused_variables)]
            fn describe(shape: &mut Shape, generator: &mut SchemaGenerator) {
                $($extractor::describe(shape, generator);)*
            }
        }
    };
}

describe_handler!();
describe_handler!(A);
describe_handler!(A, B);
describe_handler!(A, B, C);
describe_handler!(A, B, C, D);
describe_handler!(A, B, C, D, E);
describe_handler!(A, B, C, D, E, F);
describe_handler!(A, B, C, D, E, F, G);
