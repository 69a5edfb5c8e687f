"""Personal-data protection on the way in: national ID numbers never enter the tool.

An id column that holds resident identity numbers (GB 11643: 18 characters; first-generation
cards: 15 digits) would carry a person's birth date and place into every later table. On load
such values are replaced by a keyed hash (the project's salt is the key), so the same person
keeps the same id across files and runs of one project while the number itself is never stored.

A number is recognised however it was typed: in groups separated by spaces or dashes
(``110101-19900307-123X``, ``110101 900307 123``), after Excel's text marker (a leading
apostrophe, ``'110101199003071234``), with full-width digits, or with a lower-case check
letter. It is normalised (:func:`normalize_national_ids`) before it is hashed, so every
writing of one number gives the same hash.

The hash is pandas' vectorized SipHash-2-4 (:func:`pandas.util.hash_array` with a 16-byte
``hash_key``): a keyed pseudo-random function, fast on a million rows, where ``hashlib`` would
need a Python loop per row.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

_SEP = "[ \\-\u2010-\u2015]?"  # an optional space or dash between the groups
_MONTH_DAY = "(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"

#: A national ID number as typed (after NFKC normalisation and stripping): an optional leading
#: apostrophe, then 17 digits and a check character (digit or X) in 6-8-4 groups (the GB 11643
#: layout), or a first-generation 15-digit number in 6-6-3 groups whose middle group is a
#: ``YYMMDD`` birth date (so that other 15-digit codes are not taken for one). The groups may be
#: separated by a space or a dash.
NATIONAL_ID_PATTERN = (
    f"^['\u2018\u2019]?(?:[0-9]{{6}}{_SEP}[0-9]{{8}}{_SEP}[0-9]{{3}}[0-9Xx]"
    f"|[0-9]{{6}}{_SEP}[0-9]{{2}}{_MONTH_DAY}{_SEP}[0-9]{{3}})$"
)
_NOT_ID_CHARS = "^['\u2018\u2019]|[ \\-\u2010-\u2015]"
SALT_BYTES = 16


def _typed(values: pd.Series) -> pd.Series:
    """Text as compared: NFKC-normalised (full-width digits, dashes, spaces) and stripped."""
    return values.astype("string").str.normalize("NFKC").str.strip()


def looks_like_national_id(values: pd.Series) -> np.ndarray:
    """Return a boolean array marking values written like a national ID number.

    18-character numbers (the last may be ``X`` or ``x``) and 15-digit first-generation
    numbers match, plain or in groups (6-8-4, 6-6-3) separated by a space or a dash, with or
    without a leading apostrophe (Excel's text marker) and surrounding whitespace. Ordinary
    ids (``M0000001``, 12-digit community codes, 6-digit area codes) do not.

    Parameters
    ----------
    values
        Text values (missing values count as not matching).
    """
    text = _typed(values)
    return text.str.fullmatch(NATIONAL_ID_PATTERN).fillna(False).to_numpy(dtype=bool)


def normalize_national_ids(values: pd.Series) -> pd.Series:
    """Return national ID numbers in one writing: digits only, an upper-case check ``X``.

    Separators, a leading apostrophe and surrounding whitespace are dropped and full-width
    characters made ASCII, so ``'110101-19900307-123x`` becomes ``11010119900307123X``.
    Apply it to values that :func:`looks_like_national_id`; others are changed the same way.

    Parameters
    ----------
    values
        Text values.

    Returns
    -------
    pandas.Series
        Normalised text (``string`` dtype) on the same index.
    """
    return _typed(values).str.replace(_NOT_ID_CHARS, "", regex=True).str.upper()


def hash_ids(values: pd.Series, salt: bytes) -> pd.Series:
    """Replace each value by ``"h"`` and 16 hex digits of its keyed hash.

    Parameters
    ----------
    values
        Identifiers to hash (stripped and upper-cased first, so ``x`` and ``X`` check
        characters agree; give national ID numbers through :func:`normalize_national_ids`
        so that every writing of one number gives the same hash).
    salt
        The project's secret key, :data:`SALT_BYTES` bytes.

    Returns
    -------
    pandas.Series
        Hashes on the same index.
    """
    if len(salt) != SALT_BYTES:
        msg = f"the salt must be {SALT_BYTES} bytes, got {len(salt)}; delete the salt file to "
        msg += "make a new one"
        raise ValueError(msg)
    # pandas wants a 16-character key that encodes to 16 UTF-8 bytes: keep 7 bits of every salt
    # byte (a 112-bit key; SipHash takes 128).
    key = "".join(chr(b & 0x7F) for b in salt)
    arr = values.astype(str).str.strip().str.upper().to_numpy(dtype=object)
    hashed = pd.util.hash_array(arr, hash_key=key, categorize=False)
    return pd.Series(np.char.add("h", np.char.mod("%016x", hashed)), index=values.index)


def load_salt(path: Path) -> bytes:
    """Read the project's salt from ``path``, creating a random one on first use.

    The file holds hex text; keep it with the project and out of version control.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():  # a broken link is not a place for a new salt
        salt = b""
        if path.is_file():  # a FIFO or a device is not read: it may never answer or end
            try:
                text = path.read_bytes()[: SALT_BYTES * 4].decode("ascii").strip()
                salt = bytes.fromhex(text)
            except (OSError, ValueError):
                salt = b""
        if len(salt) != SALT_BYTES:
            msg = (f"{path.name} is not a salt file of this project (it must hold "
                   f"{SALT_BYTES * 2} hex digits); point [privacy] salt_file at the project's "
                   "salt file, or at a new file name for a new salt (hashed ids then change)")
            raise ValueError(msg)
        return salt
    salt = secrets.token_bytes(SALT_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # private from the start
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(salt.hex() + "\n")
    return salt
