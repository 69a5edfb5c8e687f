"""Personal-data protection on the way in: national ID numbers never enter the tool.

An id column that holds 18-digit resident identity numbers (GB 11643) would carry a person's
birth date and place into every later table. On load such values are replaced by a keyed hash
(the project's salt is the key), so the same person keeps the same id across files and runs of
one project while the number itself is never stored.

The hash is pandas' vectorized SipHash-2-4 (:func:`pandas.util.hash_array` with a 16-byte
``hash_key``): a keyed pseudo-random function, fast on a million rows, where ``hashlib`` would
need a Python loop per row.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np
import pandas as pd

#: 17 digits and a check character (digit or X), the GB 11643 layout.
NATIONAL_ID_PATTERN = r"^\d{17}[\dXx]$"
SALT_BYTES = 16


def looks_like_national_id(values: pd.Series) -> np.ndarray:
    """Return a boolean array marking values laid out like an 18-digit national ID number.

    Parameters
    ----------
    values
        Text values (missing values count as not matching).
    """
    text = values.astype("string").str.strip()
    return text.str.fullmatch(NATIONAL_ID_PATTERN).fillna(False).to_numpy(dtype=bool)


def hash_ids(values: pd.Series, salt: bytes) -> pd.Series:
    """Replace each value by ``"h"`` and 16 hex digits of its keyed hash.

    Parameters
    ----------
    values
        Identifiers to hash (upper-cased first, so ``x`` and ``X`` check characters agree).
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
    if path.exists():
        text = path.read_text(encoding="ascii").strip()
        try:
            salt = bytes.fromhex(text)
        except ValueError:
            salt = b""
        if len(salt) != SALT_BYTES:
            msg = f"{path.name}: the salt file must hold {SALT_BYTES * 2} hex digits; delete it "
            msg += "to make a new one (hashed ids will change)"
            raise ValueError(msg)
        return salt
    salt = secrets.token_bytes(SALT_BYTES)
    path.write_text(salt.hex() + "\n", encoding="ascii")
    return salt
