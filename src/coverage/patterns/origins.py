"""Where migrants come from: origin flows, their largest corridors and cooperation partners.

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

Privacy: every table holds aggregates only (no person ids, no hukou codes). Counts are exact;
rows with fewer than ``min_cell`` people (default 10) are flagged ``suppressed``, to be left out
of anything published (complementary suppression is the report's job). Column documentation:
``docs/flows.md``.
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
    CITY,
    prefecture_names,
    provinces,
)

__all__ = [
    "DEST_LEVELS",
    "ORIGIN_LEVELS",
    "STATUSES",
    "add_origin_counts",
    "classify_origins",
    "cooperation_partners",
    "origin_counts",
    "origin_flows",
    "origin_flows_of_counts",
    "origin_status_counts",
    "top_corridors",
]

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
    _check_origin_inputs(migrants, communities, origin_levels, dest_levels)
    return origin_flows_of_counts(origin_counts(migrants, communities), communities,
                                  origin_levels=origin_levels, dest_levels=dest_levels,
                                  min_cell=min_cell, crs=crs)


def origin_counts(migrants: pd.DataFrame, communities: pd.DataFrame) -> pd.DataFrame:
    """Count the migrants by community and origin: what :func:`origin_flows` adds up.

    One row per (district, community, origin status, province, prefecture) holding migrants,
    with ``migrants``; the counts of parts of the migrants add up to the whole city's
    (:func:`add_origin_counts`).
    """
    origins = classify_origins(migrants["hukou_code"])
    comm = communities.assign(community_id=communities["community_id"].astype("string"))
    frame = _origin_frame(origins, migrants["community_id"], comm)
    return (frame.groupby(_FINE, dropna=False, observed=True).size().rename("migrants")
            .reset_index())


def add_origin_counts(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Add the counts of parts of the migrants (:func:`origin_counts`) up."""
    table = pd.concat(parts, ignore_index=True)
    return table.groupby(_FINE, dropna=False, observed=True, sort=True)["migrants"].sum(
        ).reset_index()


def origin_flows_of_counts(
    counts: pd.DataFrame,
    communities: gpd.GeoDataFrame,
    *,
    origin_levels: tuple[str, ...] = ORIGIN_LEVELS,
    dest_levels: tuple[str, ...] = DEST_LEVELS,
    min_cell: int = 10,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Return :func:`origin_flows` from the counts by community and origin.

    ``counts``: :func:`origin_counts` (or :func:`add_origin_counts` of parts').
    """
    comm = communities.assign(community_id=communities["community_id"].astype("string"))
    frame = counts.astype({c: "category" for c in _FINE})
    parts = [
        _count_flows(frame, comm, o_level, d_level)
        for o_level, d_level in itertools.product(origin_levels, dest_levels)
    ]
    flows = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_FLOW_COLUMNS)
    flows["migrants"] = flows["migrants"].astype("int64")
    flows["suppressed"] = (flows["migrants"] < min_cell).astype(bool)
    lines = _flow_lines(flows, comm)
    out = gpd.GeoDataFrame(flows[_FLOW_COLUMNS], geometry=lines, crs=comm.crs)
    if crs is not None:
        out = out.to_crs(crs)
    status = counts.groupby(counts["origin_status"].astype("string"))["migrants"].sum()
    out.attrs["origin_status_counts"] = {k: int(status.get(k, 0)) for k in STATUSES}
    out.attrs["min_cell"] = min_cell
    return out


#: The finest keys of the counts, which every pair of levels adds up.
_FINE = ["district", "community_id", "origin_status", "province_code", "prefecture_code"]


def _check_origin_inputs(
    migrants: pd.DataFrame,
    communities: gpd.GeoDataFrame,
    origin_levels: tuple[str, ...],
    dest_levels: tuple[str, ...],
) -> None:
    """Raise on missing columns, unknown levels or communities without a CRS."""
    _check_columns(migrants, ("hukou_code", "community_id"), "migrants")
    _check_columns(communities, ("community_id", "name", "district"), "communities")
    for level in origin_levels:
        _check_level(level, ORIGIN_LEVELS, "origin_levels")
    for level in dest_levels:
        _check_level(level, DEST_LEVELS, "dest_levels")
    if communities.crs is None:
        msg = "communities has no CRS; pass the loaded layer (in the study CRS)"
        raise ValueError(msg)


def _origin_frame(
    origins: pd.DataFrame, community_ids: pd.Series, comm: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Origin and destination keys of every migrant, as categories (fast to group).

    A migrant whose community is not in ``comm`` has an empty destination.
    """
    cid = community_ids.astype("string")
    cid = cid.where(cid.isin(comm["community_id"]))
    return pd.DataFrame(
        {
            "origin_status": origins["origin_status"].astype("category"),
            "province_code": origins["province_code"].astype("category"),
            "prefecture_code": origins["prefecture_code"].astype("category"),
            "district": cid.map(comm.set_index("community_id")["district"]).astype("category"),
            "community_id": cid.astype("category"),
        }
    )


def _count_flows(
    frame: pd.DataFrame, comm: gpd.GeoDataFrame, o_level: str, d_level: str
) -> pd.DataFrame:
    """Count the migrants of ``frame`` for one pair of levels, with names and shares."""
    okeys = ["province_code"] + (["prefecture_code"] if o_level == "prefecture" else [])
    dkeys = ["district"] + (["community_id"] if d_level == "community" else [])
    counts = (
        frame.groupby([*dkeys, "origin_status", *okeys], dropna=False, observed=True)
        ["migrants"].sum()
        .reset_index()
    )
    counts.insert(0, "origin_level", o_level)
    counts.insert(1, "dest_level", d_level)
    return _finish_flows(counts, comm, o_level, d_level)


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
        rows["district"] = CITY
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
