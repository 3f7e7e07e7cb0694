-- Accounts. Emails are stored lower-cased; phones in E.164 and verified before an account exists.

CREATE TABLE accounts (
    id                  uuid PRIMARY KEY,
    email               text NOT NULL UNIQUE,
    phone               text NOT NULL UNIQUE,
    name                text NOT NULL,
    birth_date          date NOT NULL,
    password_hash       text NOT NULL,
    role                text NOT NULL DEFAULT 'buyer' CHECK (role IN ('buyer', 'operator', 'admin')),
    phone_verified_at   timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- The venues an operator manages: operator routes are scoped to them.
CREATE TABLE operator_venues (
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    venue_id    uuid NOT NULL,
    PRIMARY KEY (account_id, venue_id)
);
