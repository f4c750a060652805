-- The audit log: who read or changed whose record. Append-only and
-- hash-chained like the event log, with its own head row (locked by each
-- append) so a truncated tail is detected by `verify_audit`.
CREATE TABLE audit (
    position      BIGINT PRIMARY KEY,
    at_us         BIGINT NOT NULL,
    user_name     TEXT COLLATE "C" NOT NULL,
    agency        TEXT NOT NULL,
    role          TEXT NOT NULL,
    token         TEXT,
    action        TEXT NOT NULL,
    subjects      TEXT[] NOT NULL,
    field_classes TEXT[] NOT NULL,
    purpose       TEXT,
    source        TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    prev_hash     BYTEA NOT NULL CHECK (length(prev_hash) = 32),
    hash          BYTEA NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_by_user ON audit (user_name, position);
CREATE INDEX audit_by_time ON audit (at_us);
-- "Who looked at this child": subjects @> ARRAY[id].
CREATE INDEX audit_by_subject ON audit USING GIN (subjects);

CREATE TABLE audit_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL,
    hash     BYTEA NOT NULL CHECK (length(hash) = 32)
);
INSERT INTO audit_head (id, position, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION kinship_refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_no_update_or_delete BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION kinship_refuse_audit_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION kinship_refuse_audit_change();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION kinship_refuse_audit_change();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION kinship_refuse_audit_change();

-- Accounts, sessions and API tokens: security state, not facts about people
-- (changes to them are audited by the layer that makes them). Only hashes
-- of passwords, session ids and token secrets are stored.
CREATE TABLE accounts (
    username      TEXT COLLATE "C" PRIMARY KEY,
    password_hash TEXT NOT NULL,
    agency        TEXT NOT NULL,
    role          TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_us    BIGINT NOT NULL
);
CREATE TABLE sessions (
    id_hash      TEXT COLLATE "C" PRIMARY KEY,
    username     TEXT COLLATE "C" NOT NULL REFERENCES accounts (username),
    created_us   BIGINT NOT NULL,
    last_seen_us BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (username);
CREATE TABLE api_tokens (
    id          TEXT COLLATE "C" PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    label       TEXT NOT NULL,
    agency      TEXT NOT NULL,
    role        TEXT NOT NULL,
    scopes      TEXT[] NOT NULL,
    created_by  TEXT NOT NULL,
    created_us  BIGINT NOT NULL,
    revoked_us  BIGINT
);
