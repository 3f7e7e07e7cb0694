-- Venues are deleted softly: performances sold there keep pointing at them.
ALTER TABLE venues ADD COLUMN deleted_at timestamptz;
