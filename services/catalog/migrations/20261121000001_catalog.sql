-- The catalog: venues, halls and their seat maps, events, performances.

-- Equality on uuid inside a GiST exclusion constraint (hall = hall AND slot && slot).
CREATE EXTENSION IF NOT EXISTS btree_gist;
-- Trigram search on titles.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE venues (
    id            uuid PRIMARY KEY,
    name          text        NOT NULL,
    address       jsonb       NOT NULL DEFAULT '{}',
    latitude      double precision,
    longitude     double precision,
    transit_notes text        NOT NULL DEFAULT '',
    parking_notes text        NOT NULL DEFAULT '',
    contact_phone text        NOT NULL DEFAULT '',
    contact_email text        NOT NULL DEFAULT '',
    -- IANA zone; pricing bands and "today's showtimes" are read in it.
    time_zone     text        NOT NULL,
    version       bigint      NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE halls (
    id         uuid PRIMARY KEY,
    venue_id   uuid        NOT NULL REFERENCES venues (id),
    name       text        NOT NULL,
    hall_type  text        NOT NULL,
    version    bigint      NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (venue_id, name)
);

-- Seat maps are versioned: a published performance keeps the version it was published with.
-- The map is stored in its wire encoding (floodgate.catalog.v1.SeatMap), which is also what is
-- served, so a 60,000-seat map is read and sent without re-encoding.
CREATE TABLE seat_maps (
    hall_id    uuid        NOT NULL REFERENCES halls (id),
    version    integer     NOT NULL,
    encoded    bytea       NOT NULL,
    places     integer     NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (hall_id, version)
);

CREATE TABLE events (
    id              uuid PRIMARY KEY,
    title           text        NOT NULL,
    description     text        NOT NULL DEFAULT '',
    category        text        NOT NULL,
    genres          text[]      NOT NULL DEFAULT '{}',
    age_rating      text        NOT NULL DEFAULT 'ALL',
    runtime_minutes integer     NOT NULL CHECK (runtime_minutes > 0),
    poster_url      text        NOT NULL DEFAULT '',
    performers      text[]      NOT NULL DEFAULT '{}',
    version         bigint      NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX events_title_trgm ON events USING gin (title gin_trgm_ops);

CREATE TABLE performances (
    id               uuid PRIMARY KEY,
    event_id         uuid        NOT NULL REFERENCES events (id),
    hall_id          uuid        NOT NULL REFERENCES halls (id),
    seat_map_version integer,
    starts_at        timestamptz NOT NULL,
    -- Start + runtime + cleaning buffer: when the hall is free again.
    ends_at          timestamptz NOT NULL CHECK (ends_at > starts_at),
    status           text        NOT NULL DEFAULT 'draft',
    version          bigint      NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- PostgreSQL decides overlaps, so two concurrent creates for one slot cannot both succeed.
    -- Half-open: a performance may start the moment the previous one's slot ends.
    CONSTRAINT performances_no_overlap EXCLUDE USING gist (
        hall_id WITH =,
        tstzrange(starts_at, ends_at, '[)') WITH &&
    ) WHERE (status <> 'cancelled')
);

CREATE INDEX performances_event ON performances (event_id, starts_at);
CREATE INDEX performances_starts ON performances (starts_at);
