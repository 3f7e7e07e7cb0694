//! The route table: every public route is registered here with its method, path, summary and who
//! may call it. The router and the OpenAPI document (`/openapi.json`) are both built from it, so
//! they cannot disagree, and tests walk it (e.g. every id-bearing route must have an
//! authorization case).

use std::collections::BTreeMap;

use axum::{
    Router,
    handler::Handler,
    routing::{MethodFilter, MethodRouter, on},
};
use serde_json::{Value, json};

use super::ApiState;

pub mod describe;

use describe::{Describe, Shape};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Any signed-in caller (member or guest); ids are checked against the caller.
    Caller,
    /// Operators and admins (operators only within the venues they manage).
    Staff,
    /// Admins only.
    Admin,
}

/// Fills in what a handler's extractors say about the request.
type DescribeFn = fn(&mut Shape, &mut schemars::SchemaGenerator);

/// One documented route.
#[derive(Debug, Clone)]
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    describe: DescribeFn,
}

impl RouteDoc {
    /// The `{…}` parameters of the path.
    pub fn parameters(&self) -> Vec<&'static str> {
        self.path.split('/').filter_map(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}'))).collect()
    }
}

/// Routes being registered.
#[derive(Default)]
pub struct Api {
    docs: Vec<RouteDoc>,
    routes: BTreeMap<&'static str, MethodRouter<ApiState>>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("docs", &self.docs).finish_non_exhaustive()
    }
}

impl Api {
    fn add<H, T>(
        mut self,
        method: &'static str,
        path: &'static str,
        summary: &'static str,
        access: Access,
        handler: H,
    ) -> Self
    where
        H: Handler<T, ApiState>,
        T: Describe + 'static,
    {
        let filter = match method {
            "GET" => MethodFilter::GET,
            "POST" => MethodFilter::POST,
            "PUT" => MethodFilter::PUT,
            "PATCH" => MethodFilter::PATCH,
            _ => MethodFilter::DELETE,
        };
        let route = on(filter, handler);
        let merged = match self.routes.remove(path) {
            Some(existing) => existing.merge(route),
            None => route,
        };
        self.routes.insert(path, merged);
        self.docs.push(RouteDoc { method, path, summary, access, describe: T::describe });
        self
    }

    pub fn get<H: Handler<T, ApiState>, T: Describe + 'static>(
        self,
        path: &'static str,
        summary: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add("GET", path, summary, access, handler)
    }

    pub fn post<H: Handler<T, ApiState>, T: Describe + 'static>(
        self,
        path: &'static str,
        summary: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add("POST", path, summary, access, handler)
    }

    pub fn put<H: Handler<T, ApiState>, T: Describe + 'static>(
        self,
        path: &'static str,
        summary: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add("PUT", path, summary, access, handler)
    }

    pub fn patch<H: Handler<T, ApiState>, T: Describe + 'static>(
        self,
        path: &'static str,
        summary: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add("PATCH", path, summary, access, handler)
    }

    pub fn delete<H: Handler<T, ApiState>, T: Describe + 'static>(
        self,
        path: &'static str,
        summary: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add("DELETE", path, summary, access, handler)
    }

    pub fn docs(&self) -> &[RouteDoc] {
        &self.docs
    }

    pub fn into_parts(self) -> (Router<ApiState>, Vec<RouteDoc>) {
        let router = self.routes.into_iter().fold(Router::new(), |router, (path, route)| router.route(path, route));
        (router, self.docs)
    }
}

/// The OpenAPI 3.1 document of the routes.
pub fn openapi(docs: &[RouteDoc]) -> Value {
    let mut generator = describe::generator();
    let mut paths = serde_json::Map::new();
    for doc in docs {
        let mut shape = Shape::default();
        (doc.describe)(&mut shape, &mut generator);
        let mut parameters: Vec<Value> = doc
            .parameters()
            .into_iter()
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        parameters.extend(shape.query);
        let error = json!({"$ref": "#/components/responses/Error"});
        let mut operation = json!({
            "summary": doc.summary,
            "operationId": format!("{}_{}", doc.method.to_lowercase(), doc.path.trim_start_matches("/v1/").replace(['/', '{', '}', '.', '-'], "_")),
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": error, "404": error, "409": error, "413": error, "429": error, "503": error,
            },
        });
        match doc.method {
            "POST" => operation["responses"]["201"] = json!({"description": "Created"}),
            "DELETE" => operation["responses"]["204"] = json!({"description": "Done"}),
            _ => {}
        }
        if let Some((schema, required)) = shape.body {
            operation["requestBody"] =
                json!({"required": required, "content": {"application/json": {"schema": schema}}});
        }
        if doc.access != Access::Public {
            operation["security"] = json!([{"bearer": []}, {"cookie": []}]);
            operation["responses"]["401"] = error.clone();
            operation["responses"]["403"] = error;
        }
        let entry = paths.entry(doc.path.to_owned()).or_insert_with(|| json!({}));
        entry[doc.method.to_lowercase()] = operation;
    }
    let mut schemas: serde_json::Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable, e.g. SEAT_TAKEN"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }),
    );
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Floodgate public API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Tickets for high-contention on-sales. Errors are {code, message, details} with stable codes.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "fg_access"},
            },
            "schemas": schemas,
            "responses": {
                "Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_route_with_its_parameters_and_security() {
        let api = crate::http_api::api();
        let docs = api.docs().to_vec();
        let document = openapi(&docs);
        assert_eq!(document["openapi"], "3.1.0");
        for doc in &docs {
            let operation = &document["paths"][doc.path][doc.method.to_lowercase()];
            assert!(operation.is_object(), "{} {} missing from the document", doc.method, doc.path);
            let in_path = operation["parameters"].as_array().map(|p| p.iter().filter(|p| p["in"] == "path").count());
            assert_eq!(in_path, Some(doc.parameters().len()));
            assert_eq!(operation["security"].is_array(), doc.access != Access::Public, "{}", doc.path);
        }
        let order = docs.iter().find(|d| d.path == "/v1/orders/{order_id}/cancel").expect("documented");
        assert_eq!(order.parameters(), ["order_id"]);
    }

    #[test]
    fn bodies_and_queries_come_from_the_handlers_types() {
        let document = openapi(crate::http_api::api().docs());
        let signup = &document["paths"]["/v1/accounts"]["post"]["requestBody"];
        assert_eq!(signup["required"], true);
        let reference = signup["content"]["application/json"]["schema"]["$ref"].as_str().expect("a $ref");
        let name = reference.trim_start_matches("#/components/schemas/");
        let schema = &document["components"]["schemas"][name];
        assert_eq!(schema["additionalProperties"], false, "unknown fields are refused, and documented so");
        assert!(schema["properties"]["password"].is_object(), "{schema}");
        // Cookie clients send no body to refresh: documented as optional.
        assert_eq!(document["paths"]["/v1/sessions/refresh"]["post"]["requestBody"]["required"], false);
        let orders = document["paths"]["/v1/orders"]["get"]["parameters"].as_array().expect("parameters");
        let page_size = orders.iter().find(|p| p["name"] == "page_size").expect("page_size documented");
        assert_eq!((page_size["in"].as_str(), page_size["required"].as_bool()), (Some("query"), Some(false)));
        // Every $ref resolves.
        let text = document.to_string();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(document["components"]["schemas"][name].is_object(), "dangling $ref {name}");
        }
    }
}
