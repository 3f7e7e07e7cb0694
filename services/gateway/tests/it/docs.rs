//! The OpenAPI document and Swagger UI are served from the route table.

use crate::support::Gateway;

#[tokio::test]
async fn the_openapi_document_describes_the_routes_actually_served() -> anyhow::Result<()> {
    let gw = Gateway::start().await?;
    let (status, document) = gw.get("/openapi.json", None).await?;
    assert_eq!((status, document["openapi"].as_str()), (200, Some("3.1.0")));
    let paths = document["paths"].as_object().map(|p| p.len()).unwrap_or(0);
    assert!(paths >= 25, "{paths} paths");
    // A documented route is served, and an undocumented one is not.
    assert!(document["paths"]["/v1/sessions"]["post"].is_object());
    let (status, _) = gw.get("/v1/sessions/nothing", None).await?;
    assert_eq!(status, 404);
    let page = gw.http.get(format!("{}/docs", gw.url)).send().await?.text().await?;
    assert!(page.contains("/openapi.json"));
    Ok(())
}
