"""Column stores for the world's tables.

Per-child stories are easiest to write as Python rows, but a country's worth of Python tuples does
not fit in memory. A `Builder` collects rows for one block at a time and turns them into numpy
columns when the block ends, so the world is held as compact arrays however it was generated.
"""

from __future__ import annotations

import contextlib
import ctypes

import numpy as np

OBJECT = object
I32 = np.int32  # days and row numbers: half the memory of int64, and ample


class Builder:
    """Rows in (as tuples, in `columns` order), numpy columns out. Row numbers are global.

    A row whose `dated` column (the day it comes into existence) is after `horizon` is not kept:
    no night of the run can show it, and a story generated to its end (a plan's reviews until the
    young person is 25) would otherwise hold twice the rows. `add` returns -1 for such a row; rows
    that depend on it always come into existence later still, so they are dropped too.
    Rows are converted in batches of at least `FLUSH_ROWS`: fewer, larger arrays.
    """

    FLUSH_ROWS = 65_536

    def __init__(self, columns: dict[str, type | str], dated: str | None = None, horizon: int | None = None):
        self.columns = columns
        self._dated = list(columns).index(dated) if dated else None
        self._horizon = horizon
        self._rows: list[tuple] = []
        self._chunks: list[dict[str, np.ndarray]] = []
        self._flushed = 0

    def add(self, *row) -> int:
        if self._dated is not None and row[self._dated] > self._horizon:
            return -1
        self._rows.append(row)
        return self._flushed + len(self._rows) - 1

    def __len__(self) -> int:
        return self._flushed + len(self._rows)

    def flush(self, force: bool = False) -> None:
        if not self._rows or (len(self._rows) < self.FLUSH_ROWS and not force):
            return
        cols = list(zip(*self._rows, strict=True))
        self._rows = []
        chunk = {}
        for (name, dtype), values in zip(self.columns.items(), cols, strict=True):
            chunk[name] = np.array(values, dtype=dtype)
        self._chunks.append(chunk)
        self._flushed += len(cols[0])

    def extend(self, columns: dict[str, np.ndarray]) -> int:
        """Append whole columns at once; returns the first new row's number."""
        self.flush(force=True)
        first = self._flushed
        self._chunks.append({name: np.asarray(columns[name], dtype=dtype) for name, dtype in self.columns.items()})
        self._flushed += len(next(iter(columns.values())))
        return first

    def finish(self) -> Table:
        """The whole table; the builder gives up its chunks column by column as it goes."""
        self.flush(force=True)
        data = {}
        for name, dtype in self.columns.items():
            parts = [c.pop(name) for c in self._chunks]
            data[name] = np.concatenate(parts) if parts else np.empty(0, dtype=dtype)
            del parts
        self._chunks = []
        return Table(data)


class Table:
    """A dict of equal-length numpy columns with attribute access."""

    def __init__(self, data: dict[str, np.ndarray]):
        self.data = data

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["data"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def take(self, index: np.ndarray) -> Table:
        return Table({k: v[index] for k, v in self.data.items()})


def release_freed_memory() -> None:
    """Hand freed heap pages back to the operating system.

    glibc keeps the pages of freed small blocks (the per-batch chunks of a table are freed once the
    table is assembled): for a country that is gigabytes of resident memory doing nothing. Elsewhere
    this is a no-op.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
