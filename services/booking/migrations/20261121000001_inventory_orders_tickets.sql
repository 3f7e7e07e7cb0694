-- Booking's own tables. PostgreSQL is the final arbiter of who gets a seat: a seat has at most
-- one live ticket (unique index), a GA section never sells past its capacity (check), and an
-- order keeps a seat only while its hold's fencing token is the newest claim on it.

-- Inventory as published by the catalog (frozen at publish time).
CREATE TABLE performances (
    id                  uuid PRIMARY KEY,
    starts_at           timestamptz NOT NULL,
    -- The published seat map (protobuf floodgate.catalog.v1.SeatMap).
    seat_map            bytea NOT NULL,
    -- [{grade, audience|null, minor, currency}] resolved by the catalog.
    prices              jsonb NOT NULL,
    per_buyer_limit     integer NOT NULL CHECK (per_buyer_limit >= 0),
    hold_ttl_ms         bigint NOT NULL CHECK (hold_ttl_ms > 0),
    payment_window_ms   bigint NOT NULL CHECK (payment_window_ms > 0),
    -- [{days_before, basis_points, fixed_minor}]
    fee_ladder          jsonb NOT NULL,
    sale_opens_at       timestamptz,
    sale_closes_at      timestamptz,
    cancelled_at        timestamptz,
    catalog_version     bigint NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ga_sections (
    performance_id  uuid NOT NULL REFERENCES performances (id),
    section_id      text NOT NULL,
    capacity        integer NOT NULL CHECK (capacity >= 0),
    sold            integer NOT NULL DEFAULT 0,
    PRIMARY KEY (performance_id, section_id),
    CONSTRAINT never_past_capacity CHECK (sold BETWEEN 0 AND capacity)
);

CREATE TABLE orders (
    id                  uuid PRIMARY KEY,
    order_number        text NOT NULL UNIQUE,
    performance_id      uuid NOT NULL REFERENCES performances (id),
    buyer_key           text NOT NULL,
    user_id             text,
    guest_id            text,
    guest_phone         text,
    guest_email         text,
    -- One order per hold: a repeated checkout finds the order it made.
    hold_id             uuid NOT NULL UNIQUE,
    fence               bigint NOT NULL,
    status              text NOT NULL CHECK (status IN ('PENDING_PAYMENT', 'CONFIRMED', 'REJECTED', 'EXPIRED',
                                                       'CANCELLED', 'PARTIALLY_CANCELLED')),
    paid                boolean NOT NULL DEFAULT false,
    payment_id          text,
    currency            text NOT NULL,
    total_minor         bigint NOT NULL CHECK (total_minor >= 0),
    refunded_minor      bigint NOT NULL DEFAULT 0 CHECK (refunded_minor BETWEEN 0 AND total_minor),
    payment_deadline    timestamptz NOT NULL,
    reject_reason       text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX orders_by_buyer ON orders (buyer_key, created_at DESC, id DESC);
-- The deadline sweep reads only unpaid orders.
CREATE INDEX orders_unpaid ON orders (payment_deadline) WHERE status = 'PENDING_PAYMENT';

CREATE TABLE order_lines (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES orders (id),
    position        integer NOT NULL,
    seat_id         text,
    section_id      text NOT NULL,
    row_label       text NOT NULL DEFAULT '',
    seat_number     text NOT NULL DEFAULT '',
    grade           text NOT NULL,
    audience        text NOT NULL,
    price_minor     bigint NOT NULL CHECK (price_minor >= 0),
    cancelled       boolean NOT NULL DEFAULT false,
    fee_minor       bigint NOT NULL DEFAULT 0,
    UNIQUE (order_id, position)
);

-- The newest hold (highest fencing token) to reach checkout owns the seat's claim. A paused
-- process that wakes up with an older token cannot take it back.
CREATE TABLE seat_claims (
    performance_id  uuid NOT NULL,
    seat_id         text NOT NULL,
    fence           bigint NOT NULL,
    order_id        uuid NOT NULL REFERENCES orders (id),
    PRIMARY KEY (performance_id, seat_id)
);

CREATE TABLE tickets (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES orders (id),
    line_id         uuid NOT NULL UNIQUE REFERENCES order_lines (id),
    performance_id  uuid NOT NULL,
    seat_id         text,
    section_id      text NOT NULL,
    holder          text NOT NULL,
    status          text NOT NULL CHECK (status IN ('VALID', 'ADMITTED', 'CANCELLED')),
    version         integer NOT NULL DEFAULT 1,
    qr_payload      text NOT NULL,
    issued_at       timestamptz NOT NULL,
    admitted_at     timestamptz,
    scanner_id      text
);

-- I1: at most one live ticket per (performance, seat), whatever Redis believed.
CREATE UNIQUE INDEX one_live_ticket_per_seat ON tickets (performance_id, seat_id)
    WHERE status <> 'CANCELLED' AND seat_id IS NOT NULL;
CREATE INDEX tickets_by_order ON tickets (order_id);
CREATE INDEX tickets_by_holder ON tickets (holder, issued_at DESC, id DESC);
