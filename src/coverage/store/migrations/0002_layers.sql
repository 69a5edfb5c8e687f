-- The catalogue: where each layer's rows live and what each run wrote, so that a layer reads
-- back exactly as written (coverage.store.columns).

-- One table per layer (schema.<table_name>), holding every run's rows under run_id and _row.
CREATE TABLE layer_tables (
    layer text PRIMARY KEY,
    table_name text NOT NULL UNIQUE
);

-- The columns of a layer's table: a layer's column of one SQL type, under its own name (or
-- another when the name is too long or was taken by a column of another type).
CREATE TABLE layer_columns (
    layer text NOT NULL REFERENCES layer_tables (layer),
    name text NOT NULL,
    sql_type text NOT NULL,
    column_name text NOT NULL,
    PRIMARY KEY (layer, name, sql_type),
    UNIQUE (layer, column_name)
);

-- The layers of each run, in order: rows, and the active geometry column of a geo-table.
CREATE TABLE run_layers (
    run_id text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    layer text NOT NULL REFERENCES layer_tables (layer),
    position integer NOT NULL,
    rows bigint NOT NULL,
    geometry text,
    PRIMARY KEY (run_id, layer),
    UNIQUE (run_id, position)
);

-- The columns of each layer of each run, in order: pandas dtype, the kind of missing value of
-- an object column, the CRS (PROJJSON) of a geometry column, and the table column holding it.
CREATE TABLE run_columns (
    run_id text NOT NULL,
    layer text NOT NULL,
    position integer NOT NULL,
    name text NOT NULL,
    column_name text NOT NULL,
    dtype text NOT NULL,
    missing text,
    crs text,
    PRIMARY KEY (run_id, layer, position),
    FOREIGN KEY (run_id, layer) REFERENCES run_layers (run_id, layer) ON DELETE CASCADE
);
