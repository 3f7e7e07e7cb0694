-- Payment's own tables, and the simulated provider's ledger in its own schema.
--
-- Money moves only along the payment state machine (domain/payment.rs); PostgreSQL keeps the
-- sums honest: refunds never exceed the capture (I2), one payment per order.

CREATE TABLE payments (
    id                  uuid PRIMARY KEY,
    order_id            uuid NOT NULL UNIQUE,
    order_number        text NOT NULL DEFAULT '',
    performance_id      uuid,
    buyer_key           text NOT NULL,
    status              text NOT NULL CHECK (status IN ('CREATED', 'READY', 'APPROVED', 'FAILED', 'CANCELLED',
                                                       'PARTIALLY_REFUNDED', 'REFUNDED')),
    currency            text NOT NULL,
    amount_minor        bigint NOT NULL CHECK (amount_minor >= 0),
    captured_minor      bigint NOT NULL DEFAULT 0,
    refunded_minor      bigint NOT NULL DEFAULT 0,
    provider            text NOT NULL,
    provider_tid        text UNIQUE,
    -- Set while an approval is at the provider and not yet recorded here: the reconciler asks
    -- the provider about payments stuck in this state (a crash between approve and commit).
    approving_since     timestamptz,
    -- The order can no longer take money (expired, cancelled unpaid, rejected): any capture is
    -- refunded in full.
    order_closed        boolean NOT NULL DEFAULT false,
    payment_deadline    timestamptz,
    failure_code        text,
    -- A capture that arrived after the order closed: refunded automatically, shown to operators.
    flagged             text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT refunds_within_capture CHECK (refunded_minor BETWEEN 0 AND captured_minor),
    CONSTRAINT capture_is_the_amount CHECK (captured_minor IN (0, amount_minor))
);

CREATE INDEX payments_approving ON payments (approving_since) WHERE approving_since IS NOT NULL;

CREATE TABLE refunds (
    id              uuid PRIMARY KEY,
    payment_id      uuid NOT NULL REFERENCES payments (id),
    amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
    reason          text NOT NULL DEFAULT '',
    -- The booking event or request that asked for it: asked twice, refunded once.
    source          text NOT NULL UNIQUE,
    status          text NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    refunded_at     timestamptz
);

CREATE INDEX refunds_pending ON refunds (created_at) WHERE status = 'PENDING';

-- Stripe-style idempotency: one row per (caller, operation, key); the first request claims it
-- (the primary key makes the claim atomic), later ones replay its stored response.
CREATE TABLE idempotency_keys (
    scope           text NOT NULL,
    operation       text NOT NULL,
    key             text NOT NULL,
    fingerprint     bytea NOT NULL,
    response        bytea,
    error_code      text,
    error_message   text,
    locked_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, operation, key)
);

CREATE TABLE webhook_events (
    provider        text NOT NULL,
    event_id        text NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

-- ---- the simulated provider: its own ledger, the money oracle tests compare against ----
CREATE SCHEMA simulator;

CREATE TABLE simulator.transactions (
    tid             text PRIMARY KEY,
    partner_order   text NOT NULL,
    currency        text NOT NULL,
    amount_minor    bigint NOT NULL,
    status          text NOT NULL CHECK (status IN ('READY', 'AUTHORIZED', 'CAPTURED', 'CANCELLED', 'DECLINED')),
    -- What the buyer's browser submitted at the checkout page (a tampered page can change it).
    authorized_minor bigint,
    approval_token  text,
    approve_url     text NOT NULL,
    cancel_url      text NOT NULL,
    fail_url        text NOT NULL,
    captured_minor  bigint NOT NULL DEFAULT 0,
    refunded_minor  bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    captured_at     timestamptz,
    CONSTRAINT ledger_refunds_within_capture CHECK (refunded_minor BETWEEN 0 AND captured_minor)
);

CREATE TABLE simulator.refunds (
    refund_id       text PRIMARY KEY,
    tid             text NOT NULL REFERENCES simulator.transactions (tid),
    amount_minor    bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Webhooks the simulator owes the merchant, delivered (with optional chaos) by its sender.
CREATE TABLE simulator.webhooks (
    id              text PRIMARY KEY,
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    tid             text NOT NULL,
    body            bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
