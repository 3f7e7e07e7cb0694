-- Read models kept from booking's events (through the inbox, so each event counts once).

-- The newest inventory snapshot per section and grade; `inventory_version` only grows, so late or
-- repeated snapshots never move the numbers backwards.
CREATE TABLE availability (
    performance_id    uuid        NOT NULL,
    section_id        text        NOT NULL,
    grade_code        text        NOT NULL,
    capacity          integer     NOT NULL,
    available         integer     NOT NULL,
    held              integer     NOT NULL,
    sold              integer     NOT NULL,
    inventory_version bigint      NOT NULL,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (performance_id, section_id, grade_code)
);

-- Tickets sold and net revenue per performance and day (confirmations minus cancellations).
CREATE TABLE box_office (
    performance_id uuid   NOT NULL,
    day            date   NOT NULL,
    currency       text   NOT NULL,
    tickets        bigint NOT NULL DEFAULT 0,
    revenue_minor  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (performance_id, day, currency)
);

CREATE INDEX box_office_day ON box_office (day);
