-- The log: the truth. `events` is append-only for everyone (triggers below)
-- and the application role is granted only SELECT and INSERT on it
-- (see `migrate::grant_app_role`).
CREATE TABLE events (
    position   BIGINT PRIMARY KEY,
    id         UUID NOT NULL UNIQUE,
    stream     TEXT COLLATE "C" NOT NULL,
    version    BIGINT NOT NULL,
    type       TEXT COLLATE "C" NOT NULL,
    -- TEXT, not JSONB: the hash covers these exact bytes.
    payload    TEXT NOT NULL,
    meta       TEXT NOT NULL,
    prev_hash  BYTEA NOT NULL CHECK (length(prev_hash) = 32),
    hash       BYTEA NOT NULL CHECK (length(hash) = 32),
    UNIQUE (stream, version)
);

CREATE FUNCTION kinship_refuse_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION kinship_refuse_log_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION kinship_refuse_log_change();

-- The single log-head row: every append locks it first (UPDATE … RETURNING),
-- so appends are serialised and positions are handed out in commit order.
CREATE TABLE log_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL,
    hash     BYTEA NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO log_head (id, position, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
CREATE TRIGGER log_head_no_delete BEFORE DELETE ON log_head
    FOR EACH ROW EXECUTE FUNCTION kinship_refuse_log_change();
CREATE TRIGGER log_head_no_truncate BEFORE TRUNCATE ON log_head
    FOR EACH STATEMENT EXECUTE FUNCTION kinship_refuse_log_change();

CREATE TABLE streams (
    stream  TEXT COLLATE "C" PRIMARY KEY,
    version BIGINT NOT NULL
);

CREATE TABLE idempotency (
    key            TEXT COLLATE "C" PRIMARY KEY,
    command_hash   TEXT NOT NULL,
    first_position BIGINT NOT NULL,
    last_position  BIGINT NOT NULL
);
