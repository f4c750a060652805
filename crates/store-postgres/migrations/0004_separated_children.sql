-- One row per child (by role) apart from a parent in a family, with the
-- separation that parted them: what `report separated-children` reads in one
-- query (as the SQLite backend's format 3). Filled below from the existing
-- projections by migrate.rs (the same statement the projector runs).
CREATE TABLE separated_children (
    family_id TEXT COLLATE "C" NOT NULL, child_id TEXT COLLATE "C" NOT NULL,
    separation_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (family_id, child_id)
);
