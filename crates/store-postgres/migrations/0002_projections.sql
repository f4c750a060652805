-- Projections: every table here is recreated from the log by `rebuild`
-- (TRUNCATE and replay). Text is COLLATE "C" so that ordering and comparison
-- are bytewise, as in the SQLite backend, and both backends answer alike.
CREATE TABLE persons (
    -- Numbered in the order persons are recorded (1, 2, 3…), as the SQLite
    -- backend numbers its rows; assigned under the log-head lock.
    num BIGINT PRIMARY KEY,
    id TEXT COLLATE "C" NOT NULL UNIQUE,
    given TEXT COLLATE "C", family TEXT COLLATE "C",
    birth_date TEXT COLLATE "C", birth_estimated BOOLEAN NOT NULL DEFAULT FALSE,
    sex TEXT COLLATE "C", citizenship TEXT COLLATE "C", a_number TEXT COLLATE "C",
    first_encountered TEXT COLLATE "C" NOT NULL, first_encountered_utc TEXT COLLATE "C" NOT NULL,
    custody_status TEXT COLLATE "C" NOT NULL DEFAULT 'none',
    custody_agency TEXT COLLATE "C", custody_facility TEXT COLLATE "C", custody_since TEXT COLLATE "C",
    pending_transfer_to TEXT COLLATE "C",
    us_address TEXT COLLATE "C",
    family_id TEXT COLLATE "C",
    referred_at TEXT COLLATE "C",
    aged_out BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE person_names (
    person_id TEXT COLLATE "C" NOT NULL, token TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (token, person_id)
);
-- A source record of a person, and the encounter it describes.
CREATE TABLE person_records (
    source TEXT COLLATE "C" NOT NULL, record_id TEXT COLLATE "C" NOT NULL,
    person_id TEXT COLLATE "C" NOT NULL, event_id BYTEA NOT NULL, is_primary BOOLEAN NOT NULL,
    encounter_key TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (source, record_id)
);
CREATE TABLE encounters (
    key TEXT COLLATE "C" PRIMARY KEY, at TEXT COLLATE "C" NOT NULL, at_utc TEXT COLLATE "C" NOT NULL,
    local_date TEXT COLLATE "C" NOT NULL, sector TEXT COLLATE "C", station TEXT COLLATE "C"
);
CREATE TABLE custody (
    position BIGINT PRIMARY KEY, person_id TEXT COLLATE "C" NOT NULL, at TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL, agency TEXT COLLATE "C", facility TEXT COLLATE "C", detail TEXT COLLATE "C"
);
CREATE TABLE families (
    id TEXT COLLATE "C" PRIMARY KEY, kind TEXT COLLATE "C" NOT NULL, formed_at TEXT COLLATE "C" NOT NULL,
    source TEXT COLLATE "C", source_family_id TEXT COLLATE "C", lead TEXT COLLATE "C"
);
CREATE TABLE memberships (
    family_id TEXT COLLATE "C" NOT NULL, person_id TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL, status TEXT COLLATE "C" NOT NULL,
    established TEXT COLLATE "C" NOT NULL, added_by TEXT COLLATE "C" NOT NULL,
    status_since TEXT COLLATE "C", reunified_location TEXT COLLATE "C",
    PRIMARY KEY (family_id, person_id)
);
CREATE TABLE separations (
    id TEXT COLLATE "C" PRIMARY KEY, family_id TEXT COLLATE "C" NOT NULL,
    reason_code TEXT COLLATE "C" NOT NULL, policy TEXT COLLATE "C",
    narrative TEXT COLLATE "C" NOT NULL, approved_by TEXT COLLATE "C" NOT NULL,
    recorded_by TEXT COLLATE "C" NOT NULL, at TEXT COLLATE "C" NOT NULL, at_utc TEXT COLLATE "C" NOT NULL,
    review TEXT COLLATE "C" NOT NULL, event_id BYTEA NOT NULL
);
CREATE TABLE separation_members (
    separation_id TEXT COLLATE "C" NOT NULL, person_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (separation_id, person_id)
);
CREATE TABLE separation_reviews (
    position BIGINT PRIMARY KEY, separation_id TEXT COLLATE "C" NOT NULL, level BIGINT NOT NULL,
    decision TEXT COLLATE "C" NOT NULL, note TEXT COLLATE "C", by_user TEXT COLLATE "C" NOT NULL,
    at TEXT COLLATE "C" NOT NULL
);
CREATE TABLE findings (
    id TEXT COLLATE "C" PRIMARY KEY, position BIGINT NOT NULL, kind TEXT COLLATE "C" NOT NULL,
    message TEXT COLLATE "C" NOT NULL, record_source TEXT COLLATE "C", record_id TEXT COLLATE "C",
    resolution TEXT COLLATE "C", resolved_by TEXT COLLATE "C"
);
CREATE TABLE finding_subjects (
    finding_id TEXT COLLATE "C" NOT NULL, subject TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (finding_id, subject)
);

CREATE INDEX persons_a_number ON persons (a_number);
CREATE INDEX persons_birth ON persons (birth_date);
CREATE INDEX person_names_person ON person_names (person_id);
CREATE INDEX person_records_person ON person_records (person_id);
CREATE INDEX encounters_date ON encounters (local_date);
CREATE INDEX person_records_encounter ON person_records (encounter_key);
CREATE INDEX custody_person ON custody (person_id);
CREATE INDEX families_source ON families (source, source_family_id);
CREATE INDEX memberships_person ON memberships (person_id);
CREATE INDEX memberships_status ON memberships (status, family_id);
CREATE INDEX separations_family ON separations (family_id);
CREATE INDEX finding_subjects_subject ON finding_subjects (subject);
