-- The planners' saved scenarios (docs/store.md): one row per name, its JSON text and a version
-- that every save raises by one. A save names the version it was made on and changes the row
-- only while it still holds that version (UPDATE ... WHERE name = $1 AND version = $2), so two
-- planners saving at once never overwrite each other: the second is told and keeps its edits.
CREATE TABLE scenarios (
    name text PRIMARY KEY CHECK (name <> '' AND char_length(name) <= 100),
    version integer NOT NULL CHECK (version >= 1),
    body text NOT NULL,
    inputs text NOT NULL DEFAULT '',
    saved_by text NOT NULL DEFAULT current_user,
    saved_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE scenarios IS 'coverage-planner: the planners'' saved scenarios, versioned';

-- Scenarios are the city office's planning work: the city's log-ins and the writers read,
-- save and delete them; a district office's log-in gets no access to them at all (it reads
-- its district's results only).
DO $grants$
DECLARE
    store text := current_schema();
    city text := (SELECT role_name FROM access_roles WHERE kind = 'city');
    writer text := (SELECT role_name FROM access_roles WHERE kind = 'writer');
BEGIN
    EXECUTE format('REVOKE ALL ON %I.scenarios FROM PUBLIC', store);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I.scenarios TO %I, %I', store,
                   city, writer);
END
$grants$;
