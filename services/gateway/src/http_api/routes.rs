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

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    /// Any signed-in caller (member or guest); ids are checked against the caller.
    Caller,
    /// Operators and admins.
    Staff,
}

/// One documented route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub access: Access,
    /// Takes a JSON body.
    pub body: bool,
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
        body: bool,
        handler: H,
    ) -> Self
    where
        H: Handler<T, ApiState>,
        T: 'static,
    {
        let filter = match method {
            "GET" => MethodFilter::GET,
            "POST" => MethodFilter::POST,
            "PATCH" => MethodFilter::PATCH,
            _ => MethodFilter::DELETE,
        };
        let route = on(filter, handler);
        let merged = match self.routes.remove(path) {
            Some(existing) => existing.merge(route),
            None => route,
        };
        self.routes.insert(path, merged);
        self.docs.push(RouteDoc { method, path, summary, access, body });
        self
    }

    pub fn get<H: Handler<T, ApiState>, T: 'static>(
        self,
        path: &'static str,
        summary: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add("GET", path, summary, access, false, handler)
    }

    pub fn post<H: Handler<T, ApiState>, T: 'static>(
        self,
        path: &'static str,
        summary: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add("POST", path, summary, access, true, handler)
    }

    pub fn patch<H: Handler<T, ApiState>, T: 'static>(
        self,
        path: &'static str,
        summary: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add("PATCH", path, summary, access, true, handler)
    }

    pub fn delete<H: Handler<T, ApiState>, T: 'static>(
        self,
        path: &'static str,
        summary: &'static str,
        access: Access,
        handler: H,
    ) -> Self {
        self.add("DELETE", path, summary, access, false, handler)
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
    let mut paths = serde_json::Map::new();
    for doc in docs {
        let parameters: Vec<Value> = doc
            .parameters()
            .into_iter()
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "summary": doc.summary,
            "operationId": format!("{}_{}", doc.method.to_lowercase(), doc.path.trim_start_matches("/v1/").replace(['/', '{', '}', '.', '-'], "_")),
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": {"$ref": "#/components/responses/Error"},
                "404": {"$ref": "#/components/responses/Error"},
                "429": {"$ref": "#/components/responses/Error"},
            },
        });
        if doc.body {
            operation["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        if doc.access != Access::Public {
            operation["security"] = json!([{"bearer": []}, {"cookie": []}]);
            operation["responses"]["401"] = json!({"$ref": "#/components/responses/Error"});
        }
        let entry = paths.entry(doc.path.to_owned()).or_insert_with(|| json!({}));
        entry[doc.method.to_lowercase()] = operation;
    }
    json!({
        "openapi": "3.1.0",
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
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "details": {"type": "object"},
                    },
                },
            },
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
            assert_eq!(operation["parameters"].as_array().map(Vec::len), Some(doc.parameters().len()));
            assert_eq!(operation["security"].is_array(), doc.access != Access::Public, "{}", doc.path);
        }
        let order = docs.iter().find(|d| d.path == "/v1/orders/{order_id}/cancel").expect("documented");
        assert_eq!(order.parameters(), ["order_id"]);
    }
}
