//! Price tiers, cinema pricing rules and sale configuration.

use super::*;

/// Replaces a performance's price tiers.
pub async fn set_price_tiers(
    conn: &mut PgConnection,
    performance_id: Uuid,
    tiers: &TierPricing,
    names: &BTreeMap<String, String>,
) -> Result<(), CatalogError> {
    sqlx::query("DELETE FROM price_tiers WHERE performance_id = $1").bind(performance_id).execute(&mut *conn).await?;
    for (grade, price) in &tiers.prices {
        sqlx::query(
            "INSERT INTO price_tiers (performance_id, grade_code, grade_name, price_minor, currency)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(performance_id)
        .bind(grade)
        .bind(names.get(grade).map_or("", String::as_str))
        .bind(price.minor)
        .bind(price.currency.code())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A performance's price tiers (empty when it has none) and their display names.
pub async fn price_tiers(
    conn: &mut PgConnection,
    performance_id: Uuid,
) -> Result<(TierPricing, BTreeMap<String, String>), CatalogError> {
    let rows = sqlx::query(
        "SELECT grade_code, grade_name, price_minor, currency FROM price_tiers WHERE performance_id = $1 ORDER BY grade_code",
    )
    .bind(performance_id)
    .fetch_all(conn)
    .await?;
    let mut tiers = TierPricing::default();
    let mut names = BTreeMap::new();
    for row in rows {
        let grade: String = row.get("grade_code");
        let currency: &str = row.get("currency");
        let currency =
            Currency::parse(currency).ok_or_else(|| CatalogError::Corrupt(format!("unknown currency {currency:?}")))?;
        names.insert(grade.clone(), row.get("grade_name"));
        tiers.prices.insert(grade, Money::new(row.get("price_minor"), currency));
    }
    Ok((tiers, names))
}

/// Stores a venue's cinema pricing rules (replacing earlier ones); returns their version.
pub async fn set_pricing_rules(
    conn: &mut PgConnection,
    venue_id: Uuid,
    rules: &CinemaPricing,
) -> Result<i64, CatalogError> {
    use prost::Message as _;
    let encoded = crate::convert::cinema_pricing_to_wire(rules).encode_to_vec();
    let version: Option<i64> = sqlx::query_scalar(
        "INSERT INTO pricing_rules (venue_id, encoded) SELECT id, $2 FROM venues WHERE id = $1
         ON CONFLICT (venue_id) DO UPDATE SET encoded = EXCLUDED.encoded, version = pricing_rules.version + 1
         RETURNING version",
    )
    .bind(venue_id)
    .bind(encoded)
    .fetch_optional(conn)
    .await?;
    version.ok_or(CatalogError::NotFound { what: "venue", id: venue_id })
}

/// A venue's cinema pricing rules, read in its time zone.
pub async fn pricing_rules(
    conn: &mut PgConnection,
    venue_id: Uuid,
    time_zone: chrono_tz::Tz,
) -> Result<Option<CinemaPricing>, CatalogError> {
    use prost::Message as _;
    let encoded: Option<Vec<u8>> = sqlx::query_scalar("SELECT encoded FROM pricing_rules WHERE venue_id = $1")
        .bind(venue_id)
        .fetch_optional(conn)
        .await?;
    let Some(encoded) = encoded else { return Ok(None) };
    let message = wire::PricingRules::decode(encoded.as_slice()).map_err(|e| CatalogError::Corrupt(e.to_string()))?;
    crate::convert::cinema_pricing_from_wire(&message, time_zone)
        .map(Some)
        .map_err(|e| CatalogError::Corrupt(format!("pricing rules: {e}")))
}

/// The price list a performance is sold with: its own tiers, else its venue's cinema rules.
pub async fn price_list(
    conn: &mut PgConnection,
    context: &PerformanceContext,
) -> Result<Option<PriceList>, CatalogError> {
    let (tiers, _) = price_tiers(&mut *conn, context.performance.id).await?;
    if !tiers.prices.is_empty() {
        return Ok(Some(PriceList::Tiers(tiers)));
    }
    Ok(pricing_rules(conn, context.venue_id, context.time_zone).await?.map(PriceList::Cinema))
}

pub async fn set_sale_config(
    conn: &mut PgConnection,
    performance_id: Uuid,
    config: &SaleConfig,
) -> Result<(), CatalogError> {
    use prost::Message as _;
    sqlx::query("UPDATE performances SET sale_config = $2, version = version + 1, updated_at = now() WHERE id = $1")
        .bind(performance_id)
        .bind(crate::convert::sale_config_to_wire(config).encode_to_vec())
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn sale_config(conn: &mut PgConnection, performance_id: Uuid) -> Result<Option<SaleConfig>, CatalogError> {
    use prost::Message as _;
    let encoded: Option<Option<Vec<u8>>> = sqlx::query_scalar("SELECT sale_config FROM performances WHERE id = $1")
        .bind(performance_id)
        .fetch_optional(conn)
        .await?;
    let Some(Some(encoded)) = encoded else { return Ok(None) };
    let message = wire::SaleConfig::decode(encoded.as_slice()).map_err(|e| CatalogError::Corrupt(e.to_string()))?;
    crate::convert::sale_config_from_wire(&message)
        .map(Some)
        .map_err(|e| CatalogError::Corrupt(format!("sale config: {e}")))
}
