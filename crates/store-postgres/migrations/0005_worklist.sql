-- The linkage worklist: one row per proposal (its stream), evidence as a
-- JSON array of sentences; and each linkage run with how far it read the
-- log (the linker's cursor). Projections, like those of 0002.
CREATE TABLE links (
    id TEXT COLLATE "C" PRIMARY KEY, position BIGINT NOT NULL, kind TEXT COLLATE "C" NOT NULL, status TEXT COLLATE "C" NOT NULL,
    person_a TEXT COLLATE "C" NOT NULL, person_b TEXT COLLATE "C" NOT NULL, relation TEXT COLLATE "C", score INTEGER NOT NULL,
    evidence TEXT COLLATE "C" NOT NULL, automatic BOOLEAN NOT NULL DEFAULT FALSE,
    decided_by TEXT COLLATE "C", reason TEXT COLLATE "C", family_id TEXT COLLATE "C"
);
CREATE INDEX links_status ON links (status, score);
CREATE TABLE linkage_runs (
    position BIGINT PRIMARY KEY, through BIGINT NOT NULL, records BIGINT NOT NULL, proposed BIGINT NOT NULL
);
