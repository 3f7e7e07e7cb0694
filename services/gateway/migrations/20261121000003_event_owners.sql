-- Events are not tied to a venue (one film plays in many cinemas), so who may edit one is recorded
-- here when an operator creates it: its creator and admins. Scheduling performances of an event
-- is governed by the hall's venue instead.
CREATE TABLE event_owners (
    event_id    uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL
);
