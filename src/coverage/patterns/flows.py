"""Where migrants come from and where they work: origin flows and commuting corridors.

**Origin flows** (户籍地 → 流入地). The first two digits of a GB/T 2260 hukou code give the origin
province, the first four the prefecture (地级) when the code names one (digits 3–4 not ``00``).
:func:`origin_flows` counts migrants by origin (province or prefecture) and destination (district
or community); the counts of known origins sum exactly to the migrants with a known origin.
Empty codes (``unknown``) and codes that are not six digits or whose province prefix does not
exist (``malformed``) are neither dropped nor guessed: they get rows of their own per destination
(``origin_status``) and their totals are in ``attrs["origin_status_counts"]``. Note that
:func:`coverage.io.loaders.load_study` already turns codes that are not six digits into empty cells
(with a ``malformed-code`` warning), so on loaded data they count as ``unknown``; pass raw codes
to tell the two apart. :func:`top_corridors` ranks origin → destination pairs and
:func:`cooperation_partners` lists, per district, the origin governments to cooperate with (the
plan's two-way cooperation, 双向协作).

Province names and representative points, and prefecture names, come from the reference
tables of :mod:`coverage.reference` (GB/T 2260); prefectures it does not name are reported by
code with an empty name.

**Commuting corridors** (居住地 → 工作地). :func:`commute_flows` grids both ends of every
home → work pair on a square grid (``cell_m``, default 500 m), counts the people of each occupied
4-D cell (home cell × work cell), smooths the counts with a 3 × 3 × 3 × 3 box sum and lets every
occupied cell climb to its highest neighbour (steepest ascent on the grid, the grid analogue of
mean-shift mode seeking). A corridor is the set of cells that climb to the same peak: a bundle of
people living in one area and working in another, whatever the grid boundaries, without the
chaining of single-linkage methods. Why not DBSCAN or HDBSCAN on the 4-D points: a dormitory puts
thousands of people within metres of each other, so radius queries are quadratic in dense cells
and do not finish on 1.2 million migrants, and the result would still have to be aggregated to
publish it. The grid is linear in the number of people (one sort), deterministic, vectorized
(81 sorted look-ups per occupied cell) and already an aggregate: a corridor's ends are the
count-weighted means of its cell centres, never a person's point. :func:`workplace_clusters` does
the same in 2-D on workplaces (default 250 m cells) to find the places where most migrants work —
candidates for enterprise-based service (企业计生协会, "依附企业建协会").

Privacy: every table holds aggregates only (no person ids, no individual home or work points).
Counts are exact; rows with fewer than ``min_cell`` people (default 10) are flagged
``suppressed``, to be left out of anything published (complementary suppression is the report's
job). Column documentation: ``docs/flows.md``.
"""

from __future__ import annotations

import itertools
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from coverage.reference import (
    prefecture_names,
    provinces,
)

"""The province table shipped with the package."""

ORIGIN_LEVELS = ("province", "prefecture")
"""Levels of origin aggregation."""

DEST_LEVELS = ("district", "community")
"""Levels of destination aggregation."""

STATUSES = ("known", "unknown", "malformed")
"""Values of ``origin_status``."""

_FLOW_COLUMNS = [
    "origin_level", "dest_level", "origin_status", "origin_code", "origin_name_zh",
    "origin_name_en", "province_code", "province_name_zh", "province_name_en", "prefecture_code",
    "prefecture_name_zh", "district", "community_id", "community_name", "migrants", "share",
    "suppressed",
]  # fmt: skip


# --------------------------------------------------------------------------------------------
# reference tables




# --------------------------------------------------------------------------------------------
# origin codes


def _code_text(codes: pd.Series) -> pd.Series:
    """Codes as stripped text, ``<NA>`` when empty; integral numbers lose their ``.0``."""
    values = pd.Series(codes)
    if pd.api.types.is_float_dtype(values.dtype):
        num = values.to_numpy(dtype=float)
        whole = np.isfinite(num) & (num == np.round(num))
        ints = pd.Series(np.where(whole, num, 0), index=values.index).astype("int64")
        values = ints.astype("string").where(whole, values.astype("string"))
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def classify_origins(codes: pd.Series) -> pd.DataFrame:
    """Split hukou codes into origin province and prefecture, and say which are usable.

    Parameters
    ----------
    codes
        GB/T 2260 codes as text (or numbers); raw strings are accepted.

    Returns
    -------
    pandas.DataFrame
        On the input's index: ``origin_status`` (``known``; ``unknown`` for an empty cell;
        ``malformed`` for a value that is not six digits or whose first two digits are no
        province code), ``province_code`` (two digits, ``<NA>`` unless known) and
        ``prefecture_code`` (four digits, ``<NA>`` unless known and digits 3–4 are not ``00``).
    """
    text = _code_text(codes)
    index, uniques = pd.factorize(text, use_na_sentinel=True)
    u = pd.Series(pd.array(uniques, dtype="string"))
    six = u.str.fullmatch(r"\d{6}").fillna(False).to_numpy(dtype=bool)
    province = u.str[:2]
    known = six & province.isin(provinces()["code"]).to_numpy(dtype=bool)
    prefecture = u.str[:4].where(known & (u.str[2:4] != "00").fillna(False).to_numpy(dtype=bool))
    status_u = np.where(known, "known", "malformed")
    status = np.where(index < 0, "unknown", status_u[np.maximum(index, 0)] if len(u) else "")
    return pd.DataFrame(
        {
            "origin_status": pd.array(status, dtype="string"),
            "province_code": province.where(known).array.take(index, allow_fill=True),
            "prefecture_code": prefecture.array.take(index, allow_fill=True),
        },
        index=text.index,
    )


def origin_status_counts(codes: pd.Series) -> pd.Series:
    """Count known, unknown and malformed hukou codes.

    Parameters
    ----------
    codes
        GB/T 2260 codes (see :func:`classify_origins`).

    Returns
    -------
    pandas.Series
        Named ``migrants``, indexed by :data:`STATUSES`, summing to ``len(codes)``.
    """
    status = classify_origins(codes)["origin_status"]
    counts = status.value_counts().reindex(list(STATUSES), fill_value=0).astype("int64")
    counts.index.name = "origin_status"
    return counts.rename("migrants")


# --------------------------------------------------------------------------------------------
# origin flows


def _check_has_levels(flows: pd.DataFrame, origin_level: str, dest_level: str) -> None:
    """Raise when ``flows`` holds no rows of the requested pair of levels."""
    _check_columns(flows, ("origin_level", "dest_level", "origin_status"), "flows")
    has = (flows["origin_level"] == origin_level) & (flows["dest_level"] == dest_level)
    if not has.any():
        msg = f"flows holds no {origin_level} → {dest_level} rows; compute them with "
        msg += f"origin_flows(..., origin_levels=({origin_level!r},), "
        msg += f"dest_levels=({dest_level!r},))"
        raise ValueError(msg)


def _check_level(value: str, allowed: tuple[str, ...], name: str) -> None:
    if value not in allowed:
        msg = f"{name} must be one of {', '.join(allowed)}, got {value!r}"
        raise ValueError(msg)


def _check_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{what} lacks the column(s) {', '.join(missing)}; pass the loaded layer "
        msg += "(coverage.io.loaders.load_study) or add them"
        raise ValueError(msg)


def _origin_names(level: str, province: pd.Series, prefecture: pd.Series) -> dict[str, pd.Series]:
    prov = provinces().set_index("code")
    name_zh = province.map(prov["name_zh"]).astype("string")
    name_en = province.map(prov["name_en"]).astype("string")
    pref_name = prefecture.map(prefecture_names()).astype("string")
    if level == "province":
        code, o_zh, o_en = province, name_zh, name_en
    else:
        has = prefecture.notna()
        code = prefecture.where(has, province)
        o_zh = name_zh.where(~has, name_zh + pref_name.fillna(" " + prefecture))
        o_en = name_en.where(~has, name_en + " " + prefecture)
    return {
        "origin_code": code.astype("string"),
        "origin_name_zh": o_zh,
        "origin_name_en": o_en,
        "province_name_zh": name_zh,
        "province_name_en": name_en,
        "prefecture_name_zh": pref_name,
    }


def _dest_points(communities: gpd.GeoDataFrame, level: str) -> gpd.GeoSeries:
    """Centroid of each district (dissolved communities) or community, in the study CRS."""
    if level == "community":
        return communities.set_index("community_id").geometry.centroid
    return communities[["district", "geometry"]].dissolve("district").geometry.centroid


def origin_flows(
    migrants: pd.DataFrame,
    communities: gpd.GeoDataFrame,
    *,
    origin_levels: tuple[str, ...] = ORIGIN_LEVELS,
    dest_levels: tuple[str, ...] = DEST_LEVELS,
    min_cell: int = 10,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Count migrants by hukou origin and place of residence (the ``origin_flows`` layer).

    Parameters
    ----------
    migrants
        The migrants layer: ``hukou_code`` and ``community_id``.
    communities
        The communities layer: ``community_id``, ``name``, ``district`` and polygons.
    origin_levels
        Origin aggregation levels, any of ``province`` and ``prefecture``.
    dest_levels
        Destination aggregation levels, any of ``district`` and ``community``.
    min_cell
        Rows with fewer migrants than this are flagged ``suppressed`` (counts stay exact).
    crs
        CRS of the line geometries; default the communities' (study) CRS. Pass ``4326`` for
        WGS-84.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per (origin level, destination level, origin, destination, status); columns in
        ``docs/flows.md``. For every pair of levels the ``known`` rows sum to the migrants with a
        known origin; ``unknown`` and ``malformed`` rows (one per destination) hold the rest.
        Migrants whose community is not in ``communities`` have an empty destination.
        ``attrs["origin_status_counts"]`` holds the city totals by status. Geometry: a line from
        the origin province's representative point to the destination's centroid (empty for
        ``unknown``/``malformed`` rows and unassigned destinations).
    """
    _check_columns(migrants, ("hukou_code", "community_id"), "migrants")
    _check_columns(communities, ("community_id", "name", "district"), "communities")
    for level in origin_levels:
        _check_level(level, ORIGIN_LEVELS, "origin_levels")
    for level in dest_levels:
        _check_level(level, DEST_LEVELS, "dest_levels")
    if communities.crs is None:
        msg = "communities has no CRS; pass the loaded layer (in the study CRS)"
        raise ValueError(msg)
    origins = classify_origins(migrants["hukou_code"])
    comm = communities.assign(community_id=communities["community_id"].astype("string"))
    cid = migrants["community_id"].astype("string")
    cid = cid.where(cid.isin(comm["community_id"]))
    frame = pd.DataFrame(
        {
            "origin_status": origins["origin_status"].astype("category"),
            "province_code": origins["province_code"].astype("category"),
            "prefecture_code": origins["prefecture_code"].astype("category"),
            "district": cid.map(comm.set_index("community_id")["district"]).astype("category"),
            "community_id": cid.astype("category"),
        }
    )
    parts = []
    for o_level, d_level in itertools.product(origin_levels, dest_levels):
        okeys = ["province_code"] + (["prefecture_code"] if o_level == "prefecture" else [])
        dkeys = ["district"] + (["community_id"] if d_level == "community" else [])
        counts = (
            frame.groupby([*dkeys, "origin_status", *okeys], dropna=False, observed=True)
            .size()
            .rename("migrants")
            .reset_index()
        )
        counts.insert(0, "origin_level", o_level)
        counts.insert(1, "dest_level", d_level)
        parts.append(_finish_flows(counts, comm, o_level, d_level))
    flows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_FLOW_COLUMNS)
    flows["migrants"] = flows["migrants"].astype("int64")
    flows["suppressed"] = (flows["migrants"] < min_cell).astype(bool)
    lines = _flow_lines(flows, comm)
    out = gpd.GeoDataFrame(flows[_FLOW_COLUMNS], geometry=lines, crs=comm.crs)
    if crs is not None:
        out = out.to_crs(crs)
    status = origins["origin_status"].value_counts()
    out.attrs["origin_status_counts"] = {k: int(status.get(k, 0)) for k in STATUSES}
    out.attrs["min_cell"] = min_cell
    return out


def _finish_flows(
    counts: pd.DataFrame, comm: gpd.GeoDataFrame, o_level: str, d_level: str
) -> pd.DataFrame:
    """Add names and shares to the counts of one pair of levels."""
    for col in ("origin_status", "province_code", "district"):
        counts[col] = counts[col].astype("string")
    if "prefecture_code" in counts:
        counts["prefecture_code"] = counts["prefecture_code"].astype("string")
    else:
        counts["prefecture_code"] = pd.array([pd.NA] * len(counts), dtype="string")
    if "community_id" in counts:
        counts["community_id"] = counts["community_id"].astype("string")
        names = comm.set_index("community_id")["name"].astype("string")
        counts["community_name"] = counts["community_id"].map(names).astype("string")
    else:
        counts["community_id"] = pd.array([pd.NA] * len(counts), dtype="string")
        counts["community_name"] = pd.array([pd.NA] * len(counts), dtype="string")
    for key, values in _origin_names(
        o_level, counts["province_code"], counts["prefecture_code"]
    ).items():
        counts[key] = values
    known = (counts["origin_status"] == "known").to_numpy(dtype=bool)
    dest = ["district", "community_id"]
    known_total = (counts["migrants"].where(known, 0)
                   .groupby([counts[c] for c in dest], dropna=False).transform("sum"))
    counts["share"] = (counts["migrants"] / known_total).where(known & (known_total > 0))
    order = ["district", "community_id", "origin_status", "migrants", "origin_code"]
    asc = [True, True, True, False, True]
    counts["origin_status"] = pd.Categorical(counts["origin_status"], categories=STATUSES)
    counts = counts.sort_values(order, ascending=asc, na_position="last", kind="stable")
    counts["origin_status"] = counts["origin_status"].astype("string")
    return counts.reset_index(drop=True)


def _flow_lines(flows: pd.DataFrame, comm: gpd.GeoDataFrame) -> np.ndarray:
    """Lines from the origin province's point to the destination centroid, in the study CRS."""
    prov = provinces().set_index("code")
    to_study = pyproj.Transformer.from_crs(4326, comm.crs, always_xy=True)
    px, py = to_study.transform(prov["lon"].to_numpy(), prov["lat"].to_numpy())
    ox = flows["province_code"].map(pd.Series(px, index=prov.index)).to_numpy(dtype=float)
    oy = flows["province_code"].map(pd.Series(py, index=prov.index)).to_numpy(dtype=float)
    dx = np.full(len(flows), np.nan)
    dy = np.full(len(flows), np.nan)
    for level in DEST_LEVELS:
        rows = (flows["dest_level"] == level).to_numpy(dtype=bool)
        if not rows.any():
            continue
        points = _dest_points(comm, level)
        key = flows.loc[rows, "community_id" if level == "community" else "district"]
        dx[rows] = key.map(pd.Series(points.x.to_numpy(), index=points.index)).to_numpy(float)
        dy[rows] = key.map(pd.Series(points.y.to_numpy(), index=points.index)).to_numpy(float)
    ok = np.isfinite(ox) & np.isfinite(oy) & np.isfinite(dx) & np.isfinite(dy)
    lines = np.full(len(flows), None, dtype=object)
    coords = np.stack([np.column_stack([ox, oy]), np.column_stack([dx, dy])], axis=1)
    lines[ok] = shapely.linestrings(coords[ok])
    return lines


def top_corridors(
    flows: pd.DataFrame,
    *,
    n: int = 10,
    origin_level: str = "province",
    dest_level: str = "district",
) -> pd.DataFrame:
    """Return the ``n`` largest origin → destination flows of one pair of levels.

    Parameters
    ----------
    flows
        The result of :func:`origin_flows`.
    n
        Number of corridors.
    origin_level, dest_level
        The pair of levels to rank.

    Returns
    -------
    pandas.DataFrame
        The known-origin rows with an assigned destination, by decreasing ``migrants`` (ties by
        origin code, then destination), with a ``rank`` column (1 = largest) first.
    """
    _check_level(origin_level, ORIGIN_LEVELS, "origin_level")
    _check_level(dest_level, DEST_LEVELS, "dest_level")
    _check_has_levels(flows, origin_level, dest_level)
    rows = flows[
        (flows["origin_level"] == origin_level)
        & (flows["dest_level"] == dest_level)
        & (flows["origin_status"] == "known")
        & flows["district"].notna()
    ]
    rows = rows.sort_values(
        ["migrants", "origin_code", "district", "community_id"],
        ascending=[False, True, True, True],
        kind="stable",
    ).head(n)
    rows = rows.reset_index(drop=True)
    rows.insert(0, "rank", np.arange(1, len(rows) + 1))
    return rows


def cooperation_partners(
    flows: pd.DataFrame,
    *,
    origin_level: str = "prefecture",
    dest_level: str = "district",
    min_share: float | None = 0.05,
    top_n: int | None = 3,
) -> pd.DataFrame:
    """List, per destination, the origin governments to cooperate with (双向协作).

    An origin is listed when it sends at least ``min_share`` of the destination's migrants with a
    known origin **or** is among its ``top_n`` origins (either rule may be switched off with
    ``None``).

    Parameters
    ----------
    flows
        The result of :func:`origin_flows` (holding ``origin_level`` rows).
    origin_level
        ``province`` (provincial governments) or ``prefecture`` (prefecture governments).
    dest_level
        ``district``, ``community`` or ``city`` (the whole study area).
    min_share
        Share threshold, 0–1.
    top_n
        Number of largest origins always listed.

    Returns
    -------
    pandas.DataFrame
        ``district`` (``全市`` for the city), ``community_id``, ``rank``, ``origin_code``,
        ``origin_name_zh``, ``origin_name_en``, ``migrants``, ``share``, ``suppressed``,
        ``reason`` (``share``, ``top_n`` or ``share+top_n``); by destination, then rank.
    """
    _check_level(origin_level, ORIGIN_LEVELS, "origin_level")
    _check_level(dest_level, (*DEST_LEVELS, "city"), "dest_level")
    if min_share is None and top_n is None:
        msg = "min_share and top_n are both None: set at least one rule (e.g. min_share=0.05)"
        raise ValueError(msg)
    if min_share is not None and not 0 <= min_share <= 1:
        msg = f"min_share is a share between 0 and 1, got {min_share!r} (5 % is 0.05)"
        raise ValueError(msg)
    level = "district" if dest_level == "city" else dest_level
    _check_has_levels(flows, origin_level, level)
    rows = flows[
        (flows["origin_level"] == origin_level)
        & (flows["dest_level"] == level)
        & (flows["origin_status"] == "known")
        & flows["district"].notna()
    ]
    names = ["origin_code", "origin_name_zh", "origin_name_en"]
    if dest_level == "city":
        rows = rows.groupby(names, dropna=False).agg(migrants=("migrants", "sum")).reset_index()
        rows["district"] = "全市"
        rows["community_id"] = pd.NA
        rows["share"] = rows["migrants"] / rows["migrants"].sum()
    rows = pd.DataFrame(rows[["district", "community_id", *names, "migrants", "share"]])
    rows["district"] = rows["district"].astype("string")
    rows["community_id"] = rows["community_id"].astype("string")
    rows = rows.sort_values(
        ["district", "community_id", "migrants", "origin_code"],
        ascending=[True, True, False, True],
        kind="stable",
    )
    rows["rank"] = rows.groupby(["district", "community_id"], dropna=False).cumcount() + 1
    by_share = rows["share"] >= min_share if min_share is not None else rows["share"] < -1
    by_top = rows["rank"] <= top_n if top_n is not None else rows["rank"] < 0
    rows = rows[by_share | by_top].copy()
    rows["reason"] = np.where(
        by_share[rows.index] & by_top[rows.index],
        "share+top_n",
        np.where(by_share[rows.index], "share", "top_n"),
    )
    min_cell = flows.attrs.get("min_cell", 10)
    rows["suppressed"] = rows["migrants"] < min_cell
    cols = ["district", "community_id", "rank", *names, "migrants", "share", "suppressed", "reason"]
    return rows[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# commuting


def _grid_modes(cells: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Assign occupied grid cells to density peaks by steepest ascent.

    Parameters
    ----------
    cells
        ``(m, d)`` integer indices of distinct occupied cells.
    counts
        People in each cell.

    Returns
    -------
    numpy.ndarray
        For every cell, the index (into ``cells``) of the peak it climbs to.
    """
    m, d = cells.shape
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    lo = cells.min(axis=0) - 1
    span = cells.max(axis=0) - lo + 2
    if float(np.prod(span.astype(float))) >= 2.0**62:
        msg = "the grid is too large for 64-bit cell keys; use a larger cell size"
        raise ValueError(msg)
    strides = np.cumprod(np.concatenate([[1], span[::-1][:-1]]))[::-1].astype(np.int64)
    keys = ((cells - lo) * strides).sum(axis=1)
    order = np.argsort(keys, kind="stable")
    skeys = keys[order]
    scounts = counts[order].astype(np.int64)
    offsets = np.array(list(itertools.product((-1, 0, 1), repeat=d)), dtype=np.int64) @ strides
    offsets = offsets[offsets != 0]

    def neighbours(offset: np.int64) -> tuple[np.ndarray, np.ndarray]:
        query = skeys + offset  # sorted: a fast search
        pos = np.minimum(np.searchsorted(skeys, query), m - 1)
        return pos, skeys[pos] == query

    density = scounts.copy()
    for off in offsets:
        pos, hit = neighbours(off)
        density += np.where(hit, scounts[pos], 0)
    score = density * m + np.arange(m)  # unique: ties broken by key order
    best = np.arange(m)
    best_score = score.copy()
    for off in offsets:
        pos, hit = neighbours(off)
        cand = np.where(hit, score[pos], -1)
        better = cand > best_score
        best[better] = pos[better]
        best_score[better] = cand[better]
    while True:
        nxt = best[best]
        if np.array_equal(nxt, best):
            break
        best = nxt
    out = np.empty(m, dtype=np.int64)
    out[order] = order[best]
    return out


def _cells_of(xy: np.ndarray, cell_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct cells of points ``(n, d)``, their counts and each point's cell index."""
    idx = np.floor(xy / cell_m).astype(np.int64)
    cells, inverse, counts = np.unique(idx, axis=0, return_inverse=True, return_counts=True)
    return cells, counts, inverse.reshape(-1)


def _locate(points: np.ndarray, communities: gpd.GeoDataFrame | None) -> dict[str, np.ndarray]:
    """District and community id containing each point (``<NA>`` outside)."""
    n = len(points)
    district = pd.array([pd.NA] * n, dtype="string")
    community = pd.array([pd.NA] * n, dtype="string")
    if communities is not None and n:
        hit_pt, hit_poly = communities.sindex.query(points, predicate="within")
        first = np.unique(hit_pt, return_index=True)[1]
        hit_pt, hit_poly = hit_pt[first], hit_poly[first]
        district[hit_pt] = communities["district"].astype("string").to_numpy()[hit_poly]
        community[hit_pt] = communities["community_id"].astype("string").to_numpy()[hit_poly]
    return {"district": district, "community_id": community}


def _home_work(migrants: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    _check_columns(migrants, ("work_x", "work_y"), "migrants")
    hx = shapely.get_x(migrants.geometry.to_numpy())
    hy = shapely.get_y(migrants.geometry.to_numpy())
    wx = migrants["work_x"].to_numpy(dtype=float)
    wy = migrants["work_y"].to_numpy(dtype=float)
    ok = np.isfinite(hx) & np.isfinite(hy) & np.isfinite(wx) & np.isfinite(wy)
    return np.column_stack([hx, hy])[ok], np.column_stack([wx, wy])[ok], int((~ok).sum())


def _grid_groups(xy: np.ndarray, cell_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group points (rows of ``xy``, any even number of coordinates) by grid hill climbing.

    Returns each group's size, its count-weighted mean of cell centres (one column per
    coordinate) and its number of cells (see :func:`_cells_of` and :func:`_grid_modes`).
    """
    if not cell_m > 0:
        msg = f"cell_m must be a positive number of metres, got {cell_m!r}"
        raise ValueError(msg)
    cells, counts, _ = _cells_of(xy, cell_m)
    label = _grid_modes(cells, counts)
    peaks, group = np.unique(label, return_inverse=True)
    centre = (cells + 0.5) * cell_m
    size = np.bincount(group, weights=counts, minlength=len(peaks)).astype(np.int64)
    means = np.column_stack([
        np.bincount(group, weights=counts * centre[:, k], minlength=len(peaks))
        for k in range(xy.shape[1])
    ]) / np.maximum(size, 1)[:, None]
    return size, means, np.bincount(group, minlength=len(peaks))


def commute_flows(
    migrants: gpd.GeoDataFrame,
    *,
    cell_m: float = 500.0,
    min_migrants: int = 10,
    min_length_m: float | None = None,
    top: int | None = None,
    communities: gpd.GeoDataFrame | None = None,
    min_cell: int = 10,
) -> gpd.GeoDataFrame:
    """Find home → work commuting corridors (the ``commute_flows`` layer).

    Both ends of every migrant with a known residence and workplace are put on a square grid of
    ``cell_m``; the occupied 4-D cells (home cell × work cell) are smoothed by a 3⁴ box sum and
    grouped by steepest ascent to their density peak (see the module docstring). Each group is a
    corridor; its ends are the count-weighted means of its cells' centres.

    Parameters
    ----------
    migrants
        Migrants in a metric CRS: residence points and ``work_x``/``work_y`` (NaN when unknown).
    cell_m
        Grid cell size, metres.
    min_migrants
        Corridors with fewer people are left out (counted in ``attrs``).
    min_length_m
        Corridors shorter than this (home and work end closer, metres) are left out and counted
        as ``local`` — people who live where they work (dormitories in factory parks); default
        ``cell_m``. See :func:`workplace_clusters` for them.
    top
        Keep only the ``top`` largest corridors.
    communities
        When given, the district and community at each end are added.
    min_cell
        Corridors with fewer people are flagged ``suppressed``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``corridor_id`` (1 = largest), ``migrants``, ``cells``, ``length_m``, ``home_district``,
        ``home_community_id``, ``work_district``, ``work_community_id``, ``suppressed``; a line
        from the home end to the work end, in the migrants' CRS; by decreasing ``migrants``.
        ``attrs["commute_counts"]``: ``migrants``, ``no_workplace``, ``commuters``,
        ``in_corridors``, ``local``, ``small`` (in groups below ``min_migrants``),
        ``beyond_top``.
    """
    min_length_m = cell_m if min_length_m is None else min_length_m
    home, work, no_work = _home_work(migrants)
    size, ends, ncells = _grid_groups(np.column_stack([home, work]), cell_m)
    length = np.hypot(ends[:, 2] - ends[:, 0], ends[:, 3] - ends[:, 1])
    big = size >= min_migrants
    far = length >= min_length_m
    keep = np.flatnonzero(big & far)
    keep = keep[
        np.lexsort((ends[keep, 3], ends[keep, 2], ends[keep, 1], ends[keep, 0], -size[keep]))
    ]
    beyond = int(size[keep[top:]].sum()) if top is not None else 0
    keep = keep[:top] if top is not None else keep
    home_pts = shapely.points(ends[keep, 0], ends[keep, 1])
    work_pts = shapely.points(ends[keep, 2], ends[keep, 3])
    at_home = _locate(home_pts, communities)
    at_work = _locate(work_pts, communities)
    out = gpd.GeoDataFrame(
        {
            "corridor_id": np.arange(1, len(keep) + 1),
            "migrants": size[keep],
            "cells": ncells[keep],
            "length_m": np.round(length[keep], 1),
            "home_district": at_home["district"],
            "home_community_id": at_home["community_id"],
            "work_district": at_work["district"],
            "work_community_id": at_work["community_id"],
            "suppressed": size[keep] < min_cell,
        },
        geometry=shapely.linestrings(
            np.stack([ends[keep, :2], ends[keep, 2:]], axis=1).reshape(-1, 2, 2)
        )
        if len(keep)
        else np.array([], dtype=object),
        crs=migrants.crs,
    )
    out.attrs["commute_counts"] = {
        "migrants": len(migrants),
        "no_workplace": no_work,
        "commuters": len(home),
        "in_corridors": int(size[keep].sum()),
        "local": int(size[big & ~far].sum()),
        "small": int(size[~big].sum()),
        "beyond_top": beyond,
    }
    out.attrs["cell_m"] = cell_m
    out.attrs["min_cell"] = min_cell
    return out


def workplace_clusters(
    migrants: gpd.GeoDataFrame,
    *,
    cell_m: float = 250.0,
    min_migrants: int = 50,
    top: int | None = None,
    sites: gpd.GeoDataFrame | None = None,
    communities: gpd.GeoDataFrame | None = None,
    min_cell: int = 10,
) -> gpd.GeoDataFrame:
    """Find where most migrants work: candidates for enterprise-based service (企业计生协会).

    Workplaces are gridded (``cell_m``), smoothed by a 3 × 3 box sum and grouped by steepest
    ascent to their density peak, as in :func:`commute_flows`.

    Parameters
    ----------
    migrants
        Migrants with ``work_x``/``work_y`` in a metric CRS (NaN when unknown).
    cell_m
        Grid cell size, metres.
    min_migrants
        Clusters with fewer workers are left out.
    top
        Keep only the ``top`` largest clusters.
    sites
        Service points (``site_id``, ``kind``) in the same CRS: when given, the nearest one
        (straight-line distance) and the nearest enterprise association are added.
    communities
        When given, the district and community of each centroid are added.
    min_cell
        Clusters with fewer workers are flagged ``suppressed``.

    Returns
    -------
    geopandas.GeoDataFrame
        ``cluster_id`` (1 = largest), ``migrants``, ``cells``, ``area_km2`` (area of its cells),
        ``district``, ``community_id``, ``nearest_site_id``, ``nearest_site_kind``,
        ``nearest_site_m``, ``nearest_enterprise_association_m``, ``suppressed``; the centroid
        (count-weighted mean of cell centres) as a point; by decreasing ``migrants``.
        ``attrs["workers"]`` counts migrants with a known workplace.
    """
    _check_columns(migrants, ("work_x", "work_y"), "migrants")
    wx = migrants["work_x"].to_numpy(dtype=float)
    wy = migrants["work_y"].to_numpy(dtype=float)
    ok = np.isfinite(wx) & np.isfinite(wy)
    size, centre, ncells = _grid_groups(np.column_stack([wx[ok], wy[ok]]), cell_m)
    cx, cy = centre[:, 0], centre[:, 1]
    keep = np.flatnonzero(size >= min_migrants)
    keep = keep[np.lexsort((cy[keep], cx[keep], -size[keep]))][:top]
    points = shapely.points(cx[keep], cy[keep])
    at = _locate(points, communities)
    out = gpd.GeoDataFrame(
        {
            "cluster_id": np.arange(1, len(keep) + 1),
            "migrants": size[keep],
            "cells": ncells[keep],
            "area_km2": ncells[keep] * cell_m**2 / 1e6,
            "district": at["district"],
            "community_id": at["community_id"],
        },
        geometry=points,
        crs=migrants.crs,
    )
    out["nearest_site_id"] = pd.array([pd.NA] * len(out), dtype="string")
    out["nearest_site_kind"] = pd.array([pd.NA] * len(out), dtype="string")
    out["nearest_site_m"] = np.nan
    out["nearest_enterprise_association_m"] = np.nan
    if sites is not None and len(sites) and len(out):
        (src, dst), dist = sites.sindex.nearest(points, return_distance=True, return_all=False)
        ids = sites["site_id"].astype("string").to_numpy()
        kinds = sites["kind"].astype("string").to_numpy()
        out.loc[out.index[src], "nearest_site_id"] = ids[dst]
        out.loc[out.index[src], "nearest_site_kind"] = kinds[dst]
        out.loc[out.index[src], "nearest_site_m"] = np.round(dist, 1)
        ea = sites[(sites["kind"] == "enterprise_association").to_numpy(dtype=bool)]
        if len(ea):
            (src, _), dist = ea.sindex.nearest(points, return_distance=True, return_all=False)
            out.loc[out.index[src], "nearest_enterprise_association_m"] = np.round(dist, 1)
    out["suppressed"] = out["migrants"] < min_cell
    out.attrs["workers"] = int(ok.sum())
    out.attrs["cell_m"] = cell_m
    out.attrs["min_cell"] = min_cell
    return out
