ALTER TABLE events ADD COLUMN still_urls text[] NOT NULL DEFAULT '{}', ADD COLUMN trailer_url text NOT NULL DEFAULT '';
