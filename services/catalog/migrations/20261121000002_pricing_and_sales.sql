-- Prices and sale configuration.

-- Concert pricing: one price per seat grade of a performance.
CREATE TABLE price_tiers (
    performance_id uuid    NOT NULL REFERENCES performances (id),
    grade_code     text    NOT NULL,
    grade_name     text    NOT NULL DEFAULT '',
    price_minor    bigint  NOT NULL CHECK (price_minor >= 0),
    currency       text    NOT NULL,
    PRIMARY KEY (performance_id, grade_code)
);

-- Cinema pricing rules of a venue: its time bands and its prices by hall type × band ×
-- audience, plus grade surcharges — floodgate.catalog.v1.PricingRules in its wire encoding,
-- validated by the service before it is stored.
CREATE TABLE pricing_rules (
    venue_id uuid   PRIMARY KEY REFERENCES venues (id),
    encoded  bytea  NOT NULL,
    version  bigint NOT NULL DEFAULT 1
);

-- floodgate.catalog.v1.SaleConfig in its wire encoding; validated by the service on write and
-- again, against the performance's start, on publish.
ALTER TABLE performances ADD COLUMN sale_config bytea;
