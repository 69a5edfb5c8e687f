-- District-level access (docs/store.md): the store's three group roles, each log-in's scope,
-- and row-level security on every layer table, so that the database itself keeps a district
-- office to its own district's rows whatever program reads them.

-- The store's group roles, one of each kind. Roles belong to the whole server, not to a
-- schema, so they are named after the store's schema (<schema>_city, <schema>_district,
-- <schema>_writer: coverage_city, ... for the default schema) and two stores of one server
-- keep apart. A role already there under that name (a store dropped and made again) is
-- taken as it is; a log-in role of that name is refused.
CREATE TABLE access_roles (
    kind text PRIMARY KEY CHECK (kind IN ('city', 'district', 'writer')),
    role_name text NOT NULL UNIQUE
);

-- Each log-in's scope: the whole city, one district (a value of the layers' district column,
-- e.g. 东城区), or writing runs. Kept by `coverage db user add`.
CREATE TABLE user_access (
    role_name text PRIMARY KEY,
    scope text NOT NULL CHECK (scope IN ('city', 'district', 'writer')),
    district text,
    CHECK ((scope = 'district') = (district IS NOT NULL))
);

-- Who may read each layer: every coverage role ('shared': run_info, no personal data), the
-- city and writers all rows but a district role its district's rows only ('district'), or
-- writers only ('private': the person-level layer).
ALTER TABLE layer_tables ADD COLUMN access text NOT NULL DEFAULT 'district'
    CHECK (access IN ('shared', 'district', 'private'));
UPDATE layer_tables SET access = CASE layer WHEN 'run_info' THEN 'shared'
    WHEN 'migrant_access' THEN 'private' ELSE 'district' END;

DO $roles$
DECLARE
    store text := current_schema();
    base text := current_schema();
    kind text;
    role text;
BEGIN
    -- a name holds 63 bytes: a long schema name is cut and told apart by a digest of it
    IF octet_length(base) > 48 THEN
        WHILE octet_length(base) > 39 LOOP
            base := left(base, -1);
        END LOOP;
        base := base || '_' || left(md5(store), 8);
    END IF;
    FOREACH kind IN ARRAY ARRAY['city', 'district', 'writer'] LOOP
        role := base || '_' || kind;
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = role AND (rolcanlogin OR rolsuper)) THEN
            RAISE EXCEPTION 'a log-in role named % exists; the store''s group role needs that '
                            'name (rename the log-in, or use another schema)', role;
        END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role);
        END IF;
        INSERT INTO access_roles (kind, role_name) VALUES (kind, role);
    END LOOP;
END
$roles$;

-- Row-level security of one layer table, applied when the table is made (by a writer, in the
-- run's layout transaction) and here to the tables already there. The writer group owns the
-- table: every writer may add columns to it, and RLS does not apply to its owner, so that
-- runs are written with COPY (which PostgreSQL refuses on a table whose policies apply to the
-- writing user). A district role reads the rows whose _district is its own; a row without
-- one is the city's only.
CREATE FUNCTION secure_layer(layer_table regclass) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
DECLARE
    store text;
    tbl text;
    kind text;
    city text;
    district text;
    writer text;
BEGIN
    SELECT n.nspname, c.relname INTO store, tbl
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = layer_table;
    EXECUTE format('SELECT access FROM %I.layer_tables WHERE table_name = $1', store)
        INTO kind USING tbl;
    IF kind IS NULL THEN
        RAISE EXCEPTION 'table %.% holds no layer of the store', store, tbl;
    END IF;
    EXECUTE format('SELECT max(role_name) FILTER (WHERE kind = ''city''), '
                   'max(role_name) FILTER (WHERE kind = ''district''), '
                   'max(role_name) FILTER (WHERE kind = ''writer'') FROM %I.access_roles', store)
        INTO city, district, writer;
    EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS _district text', layer_table);
    IF NOT EXISTS (SELECT FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
                   AND a.attnum = ANY (i.indkey) WHERE i.indrelid = layer_table
                   AND a.attname = '_district') THEN
        EXECUTE format('CREATE INDEX ON %s (run_id, _district)', layer_table);
    END IF;
    EXECUTE format('ALTER TABLE %s OWNER TO %I', layer_table, writer);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', layer_table);
    EXECUTE format('REVOKE ALL ON %s FROM PUBLIC, %I, %I', layer_table, city, district);
    EXECUTE format('DROP POLICY IF EXISTS city_reads ON %s', layer_table);
    EXECUTE format('DROP POLICY IF EXISTS district_reads ON %s', layer_table);
    IF kind = 'private' THEN
        RETURN;
    END IF;
    EXECUTE format('GRANT SELECT ON %s TO %I, %I', layer_table, city, district);
    EXECUTE format('CREATE POLICY city_reads ON %s FOR SELECT TO %I USING (true)',
                   layer_table, city);
    IF kind = 'shared' THEN
        EXECUTE format('CREATE POLICY district_reads ON %s FOR SELECT TO %I USING (true)',
                       layer_table, district);
    ELSE
        EXECUTE format('CREATE POLICY district_reads ON %s FOR SELECT TO %I USING (_district = '
                       '(SELECT u.district FROM %I.user_access u WHERE u.role_name = '
                       'current_user AND u.scope = ''district''))', layer_table, district, store);
    END IF;
END
$fn$;

DO $grants$
DECLARE
    store text := current_schema();
    city text := (SELECT role_name FROM access_roles WHERE kind = 'city');
    district text := (SELECT role_name FROM access_roles WHERE kind = 'district');
    writer text := (SELECT role_name FROM access_roles WHERE kind = 'writer');
    catalogue text;
    layer record;
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I, %I, %I', store, city, district, writer);
    -- writers make the tables of new layers and their columns
    EXECUTE format('GRANT CREATE ON SCHEMA %I TO %I', store, writer);
    -- the runs and the catalogue hold no personal data: every coverage role reads them,
    -- writers write them
    FOREACH catalogue IN ARRAY ARRAY['schema_version', 'access_roles', 'runs', 'layer_tables',
                                     'layer_columns', 'run_layers', 'run_columns'] LOOP
        EXECUTE format('REVOKE ALL ON %I.%I FROM PUBLIC', store, catalogue);
        EXECUTE format('GRANT SELECT ON %I.%I TO %I, %I, %I', store, catalogue, city,
                       district, writer);
        IF catalogue NOT IN ('schema_version', 'access_roles') THEN
            EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %I.%I TO %I', store, catalogue,
                           writer);
        END IF;
    END LOOP;
    EXECUTE format('GRANT REFERENCES ON %I.runs TO %I', store, writer);
    EXECUTE format('REVOKE ALL ON FUNCTION %I.secure_layer(regclass) FROM PUBLIC', store);
    EXECUTE format('GRANT EXECUTE ON FUNCTION %I.secure_layer(regclass) TO %I', store, writer);
    -- a log-in reads its own scope; the city and writers read all of them
    EXECUTE format('REVOKE ALL ON %I.user_access FROM PUBLIC', store);
    EXECUTE format('GRANT SELECT ON %I.user_access TO %I, %I, %I', store, city, district,
                   writer);
    ALTER TABLE user_access ENABLE ROW LEVEL SECURITY;
    EXECUTE format('CREATE POLICY own_scope ON user_access FOR SELECT TO %I '
                   'USING (role_name = current_user)', district);
    EXECUTE format('CREATE POLICY all_scopes ON user_access FOR SELECT TO %I, %I '
                   'USING (true)', city, writer);
    -- whoever sets the store up writes its runs
    EXECUTE format('GRANT %I TO CURRENT_USER', writer);
    FOR layer IN SELECT table_name FROM layer_tables LOOP
        PERFORM secure_layer(format('%I.%I', store, layer.table_name)::regclass);
    END LOOP;
END
$grants$;
