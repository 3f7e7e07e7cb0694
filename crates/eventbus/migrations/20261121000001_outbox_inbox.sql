-- The event bus's own tables, in their own schema so they never collide with a service's.

-- Outbox: written in the same transaction as the state change it announces; published by the
-- relay afterwards (at-least-once). Rows are kept after publishing for audit, then pruned.
CREATE TABLE eventbus.outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    topic        text        NOT NULL,
    message_key  text        NOT NULL,
    event_type   text        NOT NULL,
    envelope     bytea       NOT NULL,
    traceparent  text        NOT NULL DEFAULT '',
    tracestate   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);

-- The relay only ever scans unpublished rows, in insertion order.
CREATE INDEX outbox_unpublished ON eventbus.outbox (id) WHERE published_at IS NULL;

-- Wake the relay as soon as a transaction that wrote to the outbox commits (NOTIFY is
-- delivered at commit), instead of waiting for its next poll.
CREATE FUNCTION eventbus.notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('eventbus_outbox', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER outbox_notify AFTER INSERT ON eventbus.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION eventbus.notify_outbox();

-- Inbox: one row per (consumer, event) handled, inserted in the handler's transaction, so a
-- redelivered event is recognised and its side effects happen once.
CREATE TABLE eventbus.inbox (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    event_type   text        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    kafka_offset bigint      NOT NULL,
    handled_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Messages a consumer could not handle at all (undecodable, rejected by the handler). Kept with
-- their bytes so nothing acknowledged is lost and an operator can replay them.
CREATE TABLE eventbus.dead_letter (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer     text        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    kafka_offset bigint      NOT NULL,
    event_id     uuid,
    error        text        NOT NULL,
    message      bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer, topic, partition, kafka_offset)
);
