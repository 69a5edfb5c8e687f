"""Which store a project uses: ``[store]`` in ``project.toml`` checked, URLs shown without their
password, and ``open_store`` choosing the output folder or PostGIS."""

from __future__ import annotations

from pathlib import Path

import pytest

from coverage.io.project import ProjectError, load_project
from coverage.io.store_url import check_store_url, mask_url
from coverage.store import StoreError, open_store
from coverage.store.gpkg import GeoPackageStore
from coverage.store.postgis import PostGISStore


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://planner:s3cret@db:5432/coverage", "postgresql://planner:***@db:5432/coverage"),
    ("postgresql://planner@db/coverage?password=s3cret&sslmode=require",
     "postgresql://planner@db/coverage?password=***&sslmode=require"),
    ("host=db password=s3cret dbname=coverage", "host=db password=*** dbname=coverage"),
    ("postgresql:///coverage?host=%2Fsocket", "postgresql:///coverage?host=%2Fsocket"),
])
def test_passwords_are_masked(url: str, shown: str):
    assert mask_url(url) == shown


@pytest.mark.parametrize("url", ["mysql://planner:s3cret@db/x", "db.example.org/coverage",
                                 "postgresql://planner:s3cret@db:port/x",
                                 "postgresql://planner:s3cret@db/x y", ""])
def test_bad_urls_are_refused_without_their_password(url: str):
    with pytest.raises(ValueError) as caught:
        check_store_url(url)
    assert "s3cret" not in str(caught.value) and "\n" not in str(caught.value)


def _with_store(project: Path, text: str) -> Path:
    path = project / "project.toml"
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")
    return project


def test_the_project_names_its_store(tiny_project: Path):
    project = load_project(tiny_project)
    assert project.store_url is None and project.store_schema == "coverage"
    store = open_store(project)
    assert isinstance(store, GeoPackageStore) and store.folder == project.output_dir
    _with_store(tiny_project, '[store]\nurl = "postgresql://planner@db/coverage"\n'
                              'schema = "guixi"\n')
    project = load_project(tiny_project)
    assert (project.store_url, project.store_schema) == ("postgresql://planner@db/coverage",
                                                         "guixi")
    store = open_store(project)  # no connection yet: opened when used
    assert isinstance(store, PostGISStore) and store.schema == "guixi"
    other = open_store(tiny_project, "postgresql://other@db2/x", schema="s2")
    assert "other@db2" in other.name and other.schema == "s2"


@pytest.mark.parametrize(("text", "words"), [
    ('[store]\nurl = "mysql://planner:s3cret@db/x"\n', "not a PostgreSQL URL"),
    ('[store]\nurl = 5\n', "not a database URL"),
    ('[store]\nschema = "Guixi-2025"\n', "cannot name the store's schema"),
    ('[store]\nuri = "postgresql://db/x"\n', "did you mean 'url'"),
])
def test_a_bad_store_setting_names_the_problem(tiny_project: Path, text: str, words: str):
    _with_store(tiny_project, text)
    with pytest.raises(ProjectError, match=words) as caught:
        load_project(tiny_project)
    assert "[store]" in str(caught.value) and "s3cret" not in str(caught.value)


def test_open_store_refuses_a_bad_url(tiny_project: Path):
    with pytest.raises(StoreError, match="not a PostgreSQL URL"):
        open_store(tiny_project, "sqlite:///results.db")
