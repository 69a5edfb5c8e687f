"""Fuzzing in CI: random and broken inputs never crash, hang or leak a personal value.

Each property draws inputs with the generators of :mod:`fuzzing` (hypothesis supplies the
random numbers, so a failing input shrinks) and checks them the way a user would: ``validate``,
then ``run`` (or ``init``) when that passes, or ``simulate`` for a scenario. Every outcome must
be an accepted input or the tool's own one-line error; no uncaught exception, no hang over 10 s,
no planted personal value (ids, an ID number, telephone numbers, names, coordinates) in any
message, warning, log record or printed output.

The budget is small (the whole file runs in about a minute); raise it with
``COVERAGE_FUZZ_EXAMPLES`` (examples per property), or run ``benchmarks/fuzz_long.py`` for the
long run (10,000 inputs and more).
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzzing
from fuzzing import Case, Outcome, check_one, make_case

EXAMPLES = int(os.environ.get("COVERAGE_FUZZ_EXAMPLES", "0"))

#: Examples per input family in CI (``COVERAGE_FUZZ_EXAMPLES`` replaces them, drawn at random).
BUDGET = {"csv": 20, "xlsx": 12, "gpkg": 14, "osm": 8, "graphml": 6, "toml": 16, "scenario": 30}


def budget(n: int) -> settings:
    """Settings for a property of ``n`` examples (or ``COVERAGE_FUZZ_EXAMPLES``)."""
    return settings(max_examples=EXAMPLES or n, deadline=None, derandomize=not EXAMPLES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much,
                                           HealthCheck.large_base_example])


def assert_clean(case: Case, outcome: Outcome) -> None:
    """The input was accepted, or refused in one clean line; nothing leaked."""
    assert outcome.status in ("ok", "designed", "known"), (
        f"{case.fmt} input [{case.what}] -> {outcome}\n{outcome.detail}")
    assert not outcome.leaked, outcome
    if outcome.status == "designed":
        assert fuzzing.message_fault(outcome.message) is None, outcome


@pytest.fixture(scope="module", autouse=True)
def _base() -> None:
    """Build the base project and import the readers once, outside the first example's time."""
    fuzzing.warm_up()


randoms = st.randoms(use_true_random=False)


@pytest.mark.parametrize("fmt", fuzzing.FORMATS)
def test_random_inputs(fmt: str) -> None:
    @budget(BUDGET[fmt])
    @given(rng=randoms)
    def check(rng: object) -> None:
        case = make_case(rng, fmt, run_share=0.5, init_share=0.1)  # type: ignore[arg-type]
        assert_clean(case, check_one(case))

    check()


@budget(10)
@given(rng=randoms, layer=st.sampled_from(["migrants", "sites"]))
def test_mildly_changed_tables_validate_then_run(rng: object, layer: str) -> None:
    """One change to a table: whatever ``validate`` passes, ``run`` runs."""
    table = fuzzing.base_table(layer)
    what = fuzzing.mutate_table(rng, table, k=1)  # type: ignore[arg-type]
    data = fuzzing.table_csv(table.header or [], table.rows).encode("utf-8")
    case = Case("csv", "; ".join(what), files={f"{layer}.csv": data}, run=True)
    assert_clean(case, check_one(case))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                   max_size=4),
    max_leaves=12,
)
edits = st.fixed_dictionaries(
    {"action": st.sampled_from(["add", "move", "close", "set_staff", "open"]),
     "site_id": st.sampled_from(["S1", "S2", "N1", ""]) | json_values},
    optional={"lon": st.floats(113.74, 113.78) | json_values,
              "lat": st.floats(23.01, 23.04) | json_values,
              "staff": st.floats(-1, 1001) | json_values,
              "kind": st.sampled_from(["health_station", "fp_room"]) | json_values,
              "name": st.text(max_size=20) | json_values},
)


@budget(30)
@given(data=st.fixed_dictionaries({"name": st.text(max_size=20), "edits": st.lists(edits,
                                                                                  max_size=4)},
                                  optional={"version": json_values, "inputs": json_values,
                                            "extra": json_values}))
def test_scenario_objects(data: dict) -> None:
    """Scenario objects of any shape: evaluated, or refused naming the edit and field."""
    case = Case("scenario", "hypothesis object", scenario=json.dumps(data, allow_nan=True))
    assert_clean(case, check_one(case))
