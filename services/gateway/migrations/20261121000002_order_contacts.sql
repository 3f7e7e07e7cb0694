-- Who to tell when an order is confirmed: recorded from booking's OrderPlaced (the gateway keeps
-- no copy of orders; only what the confirmation email needs).
CREATE TABLE order_contacts (
    order_id        uuid PRIMARY KEY,
    order_number    text NOT NULL,
    performance_id  text NOT NULL,
    user_id         text,
    guest_email     text,
    currency        text NOT NULL,
    total_minor     bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    emailed_at      timestamptz
);
