"""On-disk cache of parsed road networks.

Parsing a city's OSM or GeoPackage file takes seconds to minutes; the parsed arrays
(:class:`~coverage.network.arrays.NetworkArrays`) load in milliseconds. A cache entry is one
uncompressed ``.npz`` file named after the SHA-256 of the input file's bytes, the travel mode and
:data:`FORMAT_VERSION` (raised whenever the readers or mode filters change what they produce).
Speeds are not part of the key: the arrays hold lengths, a speed only converts them to times.

The folder is, in order: the ``cache_dir`` argument, the ``COVERAGE_CACHE_DIR`` environment
variable, ``~/.cache/coverage-planner/networks``. A cache that cannot be written (read-only
folder, full disk) only costs time: the network is returned anyway and a warning is issued.
The folder is created owner-only (0700) and each entry is written 0600: a city's road file may
be its own data, not for other users of a shared machine.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

from coverage.network.arrays import ARRAY_FIELDS, NetworkArrays

__all__ = [
    "FORMAT_VERSION",
    "GRID_VERSION",
    "cache_dir",
    "cache_path",
    "file_sha256",
    "folder_sha256",
    "grid_path",
    "load",
    "load_grid",
    "save",
    "save_grid",
]

#: Version of the cached arrays' format and of the readers' output.
FORMAT_VERSION = 1
#: Version of the snapping-grid side folders (:func:`grid_path`).
GRID_VERSION = 4

_CHUNK = 1 << 20
_DIR_MODE = 0o700


def cache_dir(cache_dir: str | Path | None = None) -> Path:
    """Return the cache folder (argument, ``COVERAGE_CACHE_DIR``, or the user cache folder)."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("COVERAGE_CACHE_DIR")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "coverage-planner" / "networks"


def file_sha256(path: str | Path) -> str:
    """Return the hexadecimal SHA-256 of a file's bytes (a folder's: :func:`folder_sha256`).

    Remembered for the file's path, size and modification time, so that the several steps of
    one run that name their inputs by hash (network cache, provenance, scenarios) read each
    file once; a file written again gets a new modification time and is read again.
    """
    if Path(path).is_dir():
        return folder_sha256(path)
    stat = os.stat(path)
    return _sha256(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


def folder_sha256(path: str | Path) -> str:
    """Return the hexadecimal SHA-256 of a folder's files: each one's name and digest, by name.

    A layer kept as a folder of parts (:mod:`coverage.io.parts`) changes when a part is added,
    removed, renamed or written again. Hidden files (``.…``) are left out.
    """
    digest = hashlib.sha256()
    for file in sorted(Path(path).iterdir(), key=lambda p: p.name):
        if file.is_file() and not file.name.startswith("."):
            digest.update(f"{file.name}\0{file_sha256(file)}\n".encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=256)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def cache_path(
    path: str | Path, mode: str, *, cache_dir_: str | Path | None = None, sha256: str | None = None
) -> Path:
    """Return the cache file for a network file and travel mode."""
    sha = sha256 or file_sha256(path)
    stem = Path(path).name.split(".")[0][:40] or "network"
    return cache_dir(cache_dir_) / f"{stem}-{sha[:24]}-{mode}-v{FORMAT_VERSION}.npz"


def load(entry: Path, *, source: str) -> NetworkArrays | None:
    """Load cached arrays, or return None if the entry is missing or unreadable."""
    if not entry.exists():
        return None
    try:
        with np.load(entry, allow_pickle=False) as data:
            arrays = {name: data[name] for name in ARRAY_FIELDS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # missing, cut short or not ours: the file is parsed again
    # text node ids are stored as fixed-width text (an object array would be pickled)
    arrays = {name: a.astype(object) if a.dtype.kind == "U" else a
              for name, a in arrays.items()}
    return NetworkArrays(**arrays, source=source)


def _storable(arrays: NetworkArrays) -> dict[str, np.ndarray]:
    """Return the arrays as :func:`numpy.savez` stores them unpickled (text ids as text)."""
    out = arrays.to_dict()
    for name, values in out.items():
        if values.dtype == object:
            if not all(isinstance(v, str) for v in values):
                msg = f"{name} mixes text and other values"
                raise ValueError(msg)
            out[name] = values.astype(str)
    return out


def save(entry: Path, arrays: NetworkArrays) -> bool:
    """Write arrays to a cache entry atomically; warn and return False if that fails."""
    tmp = None
    try:
        storable = _storable(arrays)
        entry.parent.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")  # created 0600
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **storable)
        os.replace(tmp, entry)
    except (OSError, ValueError) as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)  # a partial file is no entry
        warnings.warn(
            f"could not write the road-network cache {str(entry)!r} ({exc}); the network will "
            "be parsed again next time (set COVERAGE_CACHE_DIR to a writable folder)",
            stacklevel=3,
        )
        return False
    return True


def grid_path(entry: Path, key: str) -> Path:
    """Side folder of a network entry holding its snapping grid for one CRS and snap limit.

    The grid depends on the projected coordinates, so ``key`` (any string naming the CRS,
    the snap limit, the grid parameters and the indexed segments) is hashed into the name.
    The folder holds one ``.npy`` file per array, so that they can be memory-mapped.
    """
    digest = hashlib.sha256(f"{GRID_VERSION}|{key}".encode()).hexdigest()[:16]
    return entry.with_name(f"{entry.stem}-grid{GRID_VERSION}-{digest}")


def load_grid(path: Path) -> dict[str, np.ndarray] | None:
    """Memory-map a snapping grid's arrays (read-only), or None if missing or unreadable.

    Mapping costs nothing up front: only the pages of the cells that points fall in are read.
    """
    if not path.is_dir():
        return None
    try:
        return {f.stem: np.load(f, mmap_mode="r", allow_pickle=False)
                for f in sorted(path.glob("*.npy"))}
    except (OSError, ValueError):
        return None


def save_grid(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    """Write a snapping grid's folder atomically; warn and return False if that fails."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, suffix=".tmp"))  # created 0700
        for name, value in arrays.items():
            np.save(tmp / f"{name}.npy", value, allow_pickle=False)
        try:
            os.replace(tmp, path)
        except OSError:
            # A folder is there already (unreadable, or it would not be rebuilt): replace it.
            shutil.rmtree(path, ignore_errors=True)
            try:
                os.replace(tmp, path)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        warnings.warn(f"could not write the snapping-grid cache {str(path)!r} ({exc})",
                      stacklevel=3)
        return False
    return True
