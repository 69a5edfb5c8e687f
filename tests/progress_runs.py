"""Two quarters' runs of a tiny city, written by hand, for the progress comparison's tests.

Two districts, 东城区 and ``西<城>区`` (a name that must stay escaped in a page), two
communities of 100 migrants and 100 registered residents each; the later quarter adds a third
district, 南城区 (one community), that the earlier quarter lacks. Thresholds 10 and 15
minutes; every migrant and resident is within 15 minutes. Every count is 0 or at least 10, so
nothing is suppressed at the default smallest published count (10).

Figures by district (earlier → later):

=============  ==========================  ==========================  =====================
unit           coverage 10 min, migrants   pregnancy check (target     staff / needed /
               (registered: 0.8 always)    0.70) · policy (0.90)       shortfall
=============  ==========================  ==========================  =====================
东城区          0.60 → 0.72                 0.60 → 0.72 · 0.85 → 0.92   10/14/4 → 12/14/2
西<城>区        0.40 → 0.35                 0.80 → 0.65 · 0.95 → 0.95   8/9/1 → 9/9/0
南城区          (none) → 0.50               (none) → 0.70 · → 0.90      (none) → 5/6/1
city           0.50 → 0.528                0.70 → 0.688 · 0.90 → 0.928  18/23/5 → 26/29/3
=============  ==========================  ==========================  =====================
"""

from __future__ import annotations

import pandas as pd

from coverage.store.gpkg import GeoPackageStore

EAST, WEST, SOUTH = "东城区", "西<城>区", "南城区"
THRESHOLDS = "10, 15"

#: Communities: id → (district, migrants' coverage within 10 min, pregnancy checks achieved,
#: policy awareness achieved), of 100 migrants each.
EARLIER = {"C1": (EAST, 0.5, 60, 85), "C2": (EAST, 0.7, 60, 85),
           "C3": (WEST, 0.3, 80, 90), "C4": (WEST, 0.5, 80, 100)}
LATER = {"C1": (EAST, 0.66, 72, 100), "C2": (EAST, 0.78, 72, 84),
         "C3": (WEST, 0.3, 65, 90), "C4": (WEST, 0.4, 65, 100),
         "C5": (SOUTH, 0.5, 70, 90)}
#: Staff and staff needed by district.
STAFF_EARLIER = {EAST: (10.0, 14.0), WEST: (8.0, 9.0)}
STAFF_LATER = {EAST: (12.0, 14.0), WEST: (9.0, 9.0), SOUTH: (5.0, 6.0)}
TARGETS = {"pregnancy_check": 0.70, "policy_awareness": 0.90}


def run_info(mode: str = "walk", thresholds: str = THRESHOLDS) -> pd.DataFrame:
    """A run's ``run_info``: the settings a comparison checks."""
    return pd.DataFrame({"key": ["project", "mode", "thresholds_min"],
                         "value": ["tiny city", mode, thresholds]})


def _coverage(frame: pd.DataFrame) -> pd.DataFrame:
    """Coverage columns from ``cov10`` (migrants): registered 0.8, all within 15 minutes."""
    return frame.assign(
        coverage_10min_migrant=frame["cov10"], coverage_10min_registered=0.8,
        coverage_gap_10min=0.8 - frame["cov10"], coverage_15min_migrant=1.0,
        coverage_15min_registered=1.0, coverage_gap_15min=0.0,
        unreachable_migrants=0).drop(columns="cov10")


def layers(communities: dict[str, tuple[str, float, int, int]],
           staff: dict[str, tuple[float, float]], *, mode: str = "walk",
           thresholds: str = THRESHOLDS) -> dict[str, pd.DataFrame]:
    """Return one run's layers: summaries, indicators and ``run_info``."""
    comm = pd.DataFrame([(cid, d, cov) for cid, (d, cov, _, _) in communities.items()],
                        columns=["community_id", "district", "cov10"])
    comm = _coverage(comm.assign(migrants=100, registered_pop=100))
    comm = comm[["community_id", "district", "migrants", "registered_pop",
                 *[c for c in comm.columns if c.startswith(("coverage_", "unreachable"))]]]
    by = comm.groupby("district", sort=False)
    districts = pd.DataFrame({"level": "district", "district": list(by.groups),
                              "migrants": by["migrants"].sum().to_numpy(),
                              "registered_pop": by["registered_pop"].sum().to_numpy(),
                              "cov10": by["coverage_10min_migrant"].mean().to_numpy()})
    city = pd.DataFrame({"level": ["city"], "district": ["全市"],
                         "migrants": [districts["migrants"].sum()],
                         "registered_pop": [districts["registered_pop"].sum()],
                         "cov10": [comm["coverage_10min_migrant"].mean()]})
    summary = _coverage(pd.concat([districts, city], ignore_index=True))
    have = pd.DataFrame(staff, index=["staff", "staff_needed"]).T
    have.loc["全市"] = have.sum()
    summary["staff"] = summary["district"].map(have["staff"])
    summary["staff_per_1000_migrants"] = summary["staff"] / summary["migrants"] * 1000
    summary["staff_needed"] = summary["district"].map(have["staff_needed"])
    summary["staff_shortfall"] = summary["staff_needed"] - summary["staff"]
    return {"community_summary": comm, "district_summary": summary,
            "indicators": indicators(communities), "run_info": run_info(mode, thresholds)}


def indicators(communities: dict[str, tuple[str, float, int, int]]) -> pd.DataFrame:
    """The ``indicators`` layer: each community, district and the city, both indicators."""
    rows = []
    for k, key in enumerate(TARGETS):
        comm = pd.DataFrame([("community", cid, v[0], v[2 + k]) for cid, v in
                             communities.items()],
                            columns=["level", "unit", "district", "achieved"])
        district = comm.groupby("district", sort=False)["achieved"].agg(["sum", "size"])
        parts = [
            pd.DataFrame({"level": ["city"], "unit": ["city"],
                          "achieved": [comm["achieved"].sum()], "n": [len(comm)]}),
            pd.DataFrame({"level": "district", "unit": district.index,
                          "achieved": district["sum"].to_numpy(), "n": district["size"]}),
            comm.assign(n=1).drop(columns="district"),
        ]
        frame = pd.concat(parts, ignore_index=True)
        population = frame["n"] * 100
        rows.append(pd.DataFrame({
            "level": frame["level"], "unit": frame["unit"], "indicator": key,
            "group_size": population, "unknown": 0, "population": population,
            "achieved": frame["achieved"], "value": frame["achieved"] / population,
            "target": TARGETS[key], "met": frame["achieved"] / population >= TARGETS[key] - 1e-12,
            "people_needed": 0}))
    return pd.concat(rows, ignore_index=True)


def earlier() -> dict[str, pd.DataFrame]:
    """The earlier quarter's layers."""
    return layers(EARLIER, STAFF_EARLIER)


def later(**settings: str) -> dict[str, pd.DataFrame]:
    """The later quarter's layers (``mode`` and ``thresholds`` may differ, for refusals)."""
    return layers(LATER, STAFF_LATER, **settings)


PROJECT_TOML = """\
[project]
name = "tiny city"
language = "en"
[layers.migrants]
path = "migrants.csv"
crs = "wgs84"
[layers.sites]
path = "sites.csv"
crs = "wgs84"
[layers.communities]
path = "communities.geojson"
crs = "wgs84"
[layers.network]
path = "network.gpkg"
crs = "wgs84"
"""


def two_run_project(folder, **later_settings: str) -> tuple[str, str]:
    """Write a project file and its two runs (earlier, then later) into ``folder``; their ids.

    The project's inputs are never read: the runs are kept in its store, the output folder.
    """
    (folder / "project.toml").write_text(PROJECT_TOML, encoding="utf-8")
    store = GeoPackageStore(folder / "results")
    first = store.write_run(earlier())
    second = store.write_run(later(**later_settings))
    return first, second
