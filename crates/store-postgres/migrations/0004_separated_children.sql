-- The separated-children list, kept ready to read (as the SQLite backend's
-- format 3): one row per child (by role) apart from a parent in a family,
-- with the separation that parted them and the child's brief; one row per
-- parent of each family listed. Filled from the existing projections by the
-- statements migrate.rs appends (the ones the projector runs per family).
CREATE TABLE separated_children (
    family_id TEXT COLLATE "C" NOT NULL, child_id TEXT COLLATE "C" NOT NULL,
    separation_id TEXT COLLATE "C" NOT NULL, since TEXT COLLATE "C" NOT NULL,
    reason_code TEXT COLLATE "C" NOT NULL, policy TEXT COLLATE "C", review TEXT COLLATE "C" NOT NULL,
    given TEXT COLLATE "C", family TEXT COLLATE "C", birth_date TEXT COLLATE "C", a_number TEXT COLLATE "C",
    custody_status TEXT COLLATE "C" NOT NULL, custody_agency TEXT COLLATE "C", custody_facility TEXT COLLATE "C",
    custody_since TEXT COLLATE "C", aged_out BOOLEAN NOT NULL,
    PRIMARY KEY (family_id, child_id)
);
CREATE INDEX separated_children_child ON separated_children (child_id);
CREATE TABLE separated_parents (
    family_id TEXT COLLATE "C" NOT NULL, parent_id TEXT COLLATE "C" NOT NULL,
    role TEXT COLLATE "C" NOT NULL, status TEXT COLLATE "C" NOT NULL,
    given TEXT COLLATE "C", family TEXT COLLATE "C", birth_date TEXT COLLATE "C", a_number TEXT COLLATE "C",
    custody_status TEXT COLLATE "C" NOT NULL, custody_agency TEXT COLLATE "C", custody_facility TEXT COLLATE "C",
    custody_since TEXT COLLATE "C", aged_out BOOLEAN NOT NULL,
    PRIMARY KEY (family_id, parent_id)
);
CREATE INDEX separated_parents_parent ON separated_parents (parent_id);
