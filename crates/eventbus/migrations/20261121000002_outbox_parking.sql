-- Rows the broker refuses for good (too large, malformed) are parked instead of blocking the
-- relay: kept with the reason for an operator, skipped by the relay.
ALTER TABLE eventbus.outbox ADD COLUMN failed_at timestamptz, ADD COLUMN failure text;

DROP INDEX eventbus.outbox_unpublished;
CREATE INDEX outbox_unpublished ON eventbus.outbox (id) WHERE published_at IS NULL AND failed_at IS NULL;
