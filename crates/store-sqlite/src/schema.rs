//! The SQLite schema. The log (`events`, `log_head`, `idempotency`,
//! `log_dictionaries`) is the truth; every other table is a projection that
//! `rebuild` drops and recreates from the log.

/// The on-disk format, kept in `PRAGMA user_version`. Bump it whenever a
/// table changes shape, so an older data directory is refused with a clear
/// message instead of being misread.
/// 1: first format (text event ids, one row per name token).
/// 2: 16-byte BLOB event ids, FTS5 name index, records and encounters in one table.
/// 3: the `separated_children` and `separated_parents` projections; custody
///    clustered by person; no unused indexes (event id, membership status,
///    finding subject). A format-2 store is upgraded in place when opened: the
///    new tables are filled from the others and the unused indexes dropped
///    (its event-id index and custody table keep their old shape until `rebuild`,
///    which recreates the projections; the log is never rewritten).
/// 4: the event log's compact rows (`codec.rs`): new events store their
///    stream as 17 bytes and payload + metadata as one zstd frame (JSON
///    inside, field names kept); idempotency keys as 16-byte digests and
///    command hashes as 32 bytes; no `streams` table (a stream's version is
///    the highest in the log's (stream, version) index). A format-3 store is
///    upgraded in place: its events keep their bytes and hashes (rows tell
///    their encoding by storage class), the idempotency rows are converted
///    and `streams` dropped.
/// 5: person and family ids in the projections as their 16 bytes (BLOB)
///    instead of `P-…`/`F-…` text; families without a rowid; no
///    `memberships_person` or `finding_subjects_subject` index (nothing reads
///    them). An older store's projections are rebuilt from its log when it is
///    opened ([`crate::upgrade`]); the log is not touched.
pub const FORMAT: i64 = 5;

pub const LOG: &str = r#"
CREATE TABLE IF NOT EXISTS events (
    position   INTEGER PRIMARY KEY,
    -- Not UNIQUE (format 3): nothing looks an event up by id, and ids are
    -- fresh v7 UUIDs; the index cost 2.5% of a store.
    id         BLOB NOT NULL,
    -- Format 4 rows: BLOBs (see codec.rs): the stream as kind + id (17
    -- bytes), the payload as the encoding byte + a zstd frame of the event's
    -- JSON without its type tag and the metadata JSON, and meta empty. Rows
    -- of a store begun before format 4 are TEXT (`person/<uuid>`, JSON, JSON)
    -- in a table that declares these columns TEXT; SQLite keeps each value's
    -- storage class, which tells the reader the row's encoding.
    stream     BLOB NOT NULL,
    version    INTEGER NOT NULL,
    type       TEXT NOT NULL,
    payload    BLOB NOT NULL,
    meta       BLOB NOT NULL,
    prev_hash  BLOB NOT NULL,
    hash       BLOB NOT NULL,
    -- Reads a stream's events, and is where its version is kept (format 4
    -- has no `streams` table).
    UNIQUE (stream, version)
);
-- The log is append-only: the database itself refuses to change or remove
-- an event, whoever asks.
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only: UPDATE is refused'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only: DELETE is refused'); END;

-- The single log-head row: positions are assigned from it, in commit order.
CREATE TABLE IF NOT EXISTS log_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL,
    hash     BLOB NOT NULL
);
INSERT OR IGNORE INTO log_head (id, position, hash) VALUES (1, 0, zeroblob(32));

-- Format 4: key = the first 16 bytes of SHA-256(idempotency key) (codec.rs
-- states the collision odds); command_hash = the 32 bytes of the engine's
-- hex SHA-256 (other text is kept as TEXT).
CREATE TABLE IF NOT EXISTS idempotency (
    key            BLOB PRIMARY KEY,
    command_hash   BLOB NOT NULL,
    first_position INTEGER NOT NULL,
    last_position  INTEGER NOT NULL
) WITHOUT ROWID;

-- The zstd dictionaries format-4 bodies are compressed with, by encoding
-- byte: a copy of what the program has compiled in, so the file can be read
-- without it. Written once; opening checks the copy.
CREATE TABLE IF NOT EXISTS log_dictionaries (
    id    INTEGER PRIMARY KEY,
    bytes BLOB NOT NULL
);
"#;

pub use kinship_store::PROJECTION_TABLES;

pub const PROJECTIONS: &str = r#"
CREATE TABLE IF NOT EXISTS persons (
    -- An explicit rowid: the name index refers to it, and VACUUM may renumber
    -- an implicit one.
    num INTEGER PRIMARY KEY,
    id BLOB NOT NULL UNIQUE,
    given TEXT, family TEXT,
    birth_date TEXT, birth_estimated INTEGER NOT NULL DEFAULT 0,
    sex TEXT, citizenship TEXT, a_number TEXT,
    first_encountered TEXT NOT NULL, first_encountered_utc TEXT NOT NULL,
    custody_status TEXT NOT NULL DEFAULT 'none',
    custody_agency TEXT, custody_facility TEXT, custody_since TEXT,
    pending_transfer_to TEXT,
    us_address TEXT,
    family_id BLOB,
    referred_at TEXT,
    aged_out INTEGER NOT NULL DEFAULT 0
);
-- One row per person: the folded name tokens, searched with MATCH. The
-- 'ascii' tokenizer splits only on ASCII punctuation and spaces, which folded
-- tokens never contain, so an FTS token is exactly a `name::tokens` token.
CREATE VIRTUAL TABLE IF NOT EXISTS person_names USING fts5 (
    tokens, content = '', contentless_delete = 1, tokenize = 'ascii', detail = none
);
-- A source record of a person, and the encounter it describes.
CREATE TABLE IF NOT EXISTS person_records (
    source TEXT NOT NULL, record_id TEXT NOT NULL,
    person_id BLOB NOT NULL, event_id BLOB NOT NULL, is_primary INTEGER NOT NULL,
    encounter_key TEXT NOT NULL,
    PRIMARY KEY (source, record_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS encounters (
    key TEXT PRIMARY KEY, at TEXT NOT NULL, at_utc TEXT NOT NULL, local_date TEXT NOT NULL,
    sector TEXT, station TEXT
) WITHOUT ROWID;
-- Clustered by person (format 3): a person's history is one range, and no
-- separate (person_id) index repeats every row's key.
CREATE TABLE IF NOT EXISTS custody (
    position INTEGER NOT NULL, person_id BLOB NOT NULL, at TEXT NOT NULL, kind TEXT NOT NULL,
    agency TEXT, facility TEXT, detail TEXT,
    PRIMARY KEY (person_id, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS families (
    id BLOB PRIMARY KEY, kind TEXT NOT NULL, formed_at TEXT NOT NULL,
    source TEXT, source_family_id TEXT, lead BLOB
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS memberships (
    family_id BLOB NOT NULL, person_id BLOB NOT NULL, role TEXT NOT NULL, status TEXT NOT NULL,
    established TEXT NOT NULL, added_by TEXT NOT NULL, status_since TEXT, reunified_location TEXT,
    PRIMARY KEY (family_id, person_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS separations (
    id TEXT PRIMARY KEY, family_id BLOB NOT NULL, reason_code TEXT NOT NULL, policy TEXT,
    narrative TEXT NOT NULL, approved_by TEXT NOT NULL, recorded_by TEXT NOT NULL,
    at TEXT NOT NULL, at_utc TEXT NOT NULL, review TEXT NOT NULL, event_id BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS separation_members (
    separation_id TEXT NOT NULL, person_id BLOB NOT NULL, PRIMARY KEY (separation_id, person_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS separation_reviews (
    position INTEGER PRIMARY KEY, separation_id TEXT NOT NULL, level INTEGER NOT NULL,
    decision TEXT NOT NULL, note TEXT, by_user TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL,
    record_source TEXT, record_id TEXT, resolution TEXT, resolved_by TEXT
);
CREATE TABLE IF NOT EXISTS finding_subjects (
    finding_id TEXT NOT NULL, subject TEXT NOT NULL, PRIMARY KEY (finding_id, subject)
) WITHOUT ROWID;
-- The linkage worklist: one row per proposal (its stream), evidence as a
-- JSON array of sentences. Added to format 2 without a bump: a store written
-- before it has no link events, so an empty table is its exact projection.
CREATE TABLE IF NOT EXISTS links (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
    person_a TEXT NOT NULL, person_b TEXT NOT NULL, relation TEXT, score INTEGER NOT NULL,
    evidence TEXT NOT NULL, automatic INTEGER NOT NULL DEFAULT 0,
    decided_by TEXT, reason TEXT, family_id TEXT
);
-- Each linkage run and how far it read the log (the linker's cursor).
CREATE TABLE IF NOT EXISTS linkage_runs (
    position INTEGER PRIMARY KEY, through INTEGER NOT NULL, records INTEGER NOT NULL, proposed INTEGER NOT NULL
);
-- The separated-children list, kept ready to read: one row per child (by
-- role) apart from a parent in a family, with the separation that parted them
-- and the child's brief; one row per parent of each family listed. Whether a
-- child is still a minor is decided when read (it depends on the day). Kept
-- by the projector (`refresh_separated`, `touch_person`); a copy of what the
-- report shows, so the report reads these two small tables and nothing else.
CREATE TABLE IF NOT EXISTS separated_children (
    family_id BLOB NOT NULL, child_id BLOB NOT NULL,
    separation_id TEXT NOT NULL, since TEXT NOT NULL, reason_code TEXT NOT NULL, policy TEXT, review TEXT NOT NULL,
    given TEXT, family TEXT, birth_date TEXT, a_number TEXT, custody_status TEXT NOT NULL,
    custody_agency TEXT, custody_facility TEXT, custody_since TEXT, aged_out INTEGER NOT NULL,
    PRIMARY KEY (family_id, child_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS separated_children_child ON separated_children (child_id);
CREATE TABLE IF NOT EXISTS separated_parents (
    family_id BLOB NOT NULL, parent_id BLOB NOT NULL, role TEXT NOT NULL, status TEXT NOT NULL,
    given TEXT, family TEXT, birth_date TEXT, a_number TEXT, custody_status TEXT NOT NULL,
    custody_agency TEXT, custody_facility TEXT, custody_since TEXT, aged_out INTEGER NOT NULL,
    PRIMARY KEY (family_id, parent_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS separated_parents_parent ON separated_parents (parent_id);
"#;

/// The person columns the separated-children tables copy, in `persons`' names.
pub const BRIEF_COLS: &str =
    "given, family, birth_date, a_number, custody_status, custody_agency, custody_facility, custody_since, aged_out";

/// Fills `separated_children` for the families chosen by `{families}` (an
/// SQL condition on `m.family_id`). A child (by role) is listed when the
/// family has a parent and the child or a parent is separated; the
/// separation is the latest (by UTC time, then id) of the family that names
/// the child or a separated parent. A child with no such separation gets no row.
pub const FILL_SEPARATED_CHILDREN: &str = r#"
INSERT INTO separated_children (family_id, child_id, separation_id, since, reason_code, policy, review,
    given, family, birth_date, a_number, custody_status, custody_agency, custody_facility, custody_since, aged_out)
SELECT x.family_id, x.child_id, s.id, s.at, s.reason_code, s.policy, s.review,
    p.given, p.family, p.birth_date, p.a_number, p.custody_status, p.custody_agency, p.custody_facility, p.custody_since, p.aged_out
FROM (
  SELECT m.family_id AS family_id, m.person_id AS child_id,
    (SELECT s.id FROM separations s
      WHERE s.family_id = m.family_id AND EXISTS (
        SELECT 1 FROM separation_members sm WHERE sm.separation_id = s.id AND (
          sm.person_id = m.person_id OR EXISTS (
            SELECT 1 FROM memberships pm WHERE pm.family_id = m.family_id AND pm.person_id = sm.person_id
              AND pm.status = 'separated' AND pm.role IN ('MOTHER', 'FATHER', 'LEGAL_GUARDIAN'))))
      ORDER BY s.at_utc DESC, s.id DESC LIMIT 1) AS separation_id
  FROM memberships m
  WHERE {families} AND m.role IN ('SON', 'DAUGHTER', 'CHILD') AND m.status <> 'withdrawn'
    AND EXISTS (SELECT 1 FROM memberships pm WHERE pm.family_id = m.family_id AND pm.status <> 'withdrawn'
      AND pm.role IN ('MOTHER', 'FATHER', 'LEGAL_GUARDIAN') AND (pm.status = 'separated' OR m.status = 'separated'))
) x
JOIN separations s ON s.id = x.separation_id
JOIN persons p ON p.id = x.child_id
"#;

/// Fills `separated_parents` for the families chosen by `{families}` (on
/// `m.family_id`) that have a child listed: every parent, whatever their
/// status, but one whose membership was withdrawn (recorded in error).
pub const FILL_SEPARATED_PARENTS: &str = r#"
INSERT INTO separated_parents (family_id, parent_id, role, status,
    given, family, birth_date, a_number, custody_status, custody_agency, custody_facility, custody_since, aged_out)
SELECT m.family_id, m.person_id, m.role, m.status,
    p.given, p.family, p.birth_date, p.a_number, p.custody_status, p.custody_agency, p.custody_facility, p.custody_since, p.aged_out
FROM memberships m JOIN persons p ON p.id = m.person_id
WHERE {families} AND m.role IN ('MOTHER', 'FATHER', 'LEGAL_GUARDIAN') AND m.status <> 'withdrawn'
  AND EXISTS (SELECT 1 FROM separated_children sc WHERE sc.family_id = m.family_id)
"#;

/// Secondary indexes of the projections. `rebuild` creates them after the
/// rows are written: building an index once is far cheaper than maintaining it per row.
pub const PROJECTION_INDEXES: &str = r#"
CREATE INDEX IF NOT EXISTS persons_a_number ON persons (a_number);
CREATE INDEX IF NOT EXISTS persons_birth ON persons (birth_date);
CREATE INDEX IF NOT EXISTS person_records_person ON person_records (person_id);
CREATE INDEX IF NOT EXISTS encounters_date ON encounters (local_date);
CREATE INDEX IF NOT EXISTS person_records_encounter ON person_records (encounter_key);
CREATE INDEX IF NOT EXISTS families_source ON families (source, source_family_id);
CREATE INDEX IF NOT EXISTS separations_family ON separations (family_id);
CREATE INDEX IF NOT EXISTS links_status ON links (status, score);
"#;
