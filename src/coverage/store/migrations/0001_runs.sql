-- The runs: one row per run, written in the run's own transaction with all its rows.
-- The id is text, sortable by time (see coverage.store.base); time is when it was written.
CREATE TABLE runs (
    id text PRIMARY KEY,
    time timestamptz NOT NULL,
    project text,
    mode text,
    parameters_digest text,
    parameters jsonb NOT NULL DEFAULT '{}'::jsonb,
    input_hashes jsonb NOT NULL DEFAULT '{}'::jsonb,
    code_version text,
    layers text[] NOT NULL
);

COMMENT ON TABLE runs IS 'coverage-planner: one row per run of the main job';
