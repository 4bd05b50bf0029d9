"""Data Docs views that compile GX's Jinja templates once per process, not once per page build.

GX builds a new Jinja environment for every Data Docs build (one per source and night), and
compiling its page templates again was most of the build's time (about 0.3 s of CPU a source).
These views are GX's own, given a bytecode cache shared by the process: the pages are the same.
They are named in the site's configuration (runner._context), GX's way of choosing a view.

Importing this module imports great_expectations: import it only where validation runs.
"""

from __future__ import annotations

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class _ProcessBytecodeCache(BytecodeCache):
    """Compiled templates kept in memory, keyed by template and checked against its source."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        compiled = self._compiled.get(bucket.key)
        if compiled is not None:
            bucket.bytecode_from_string(compiled)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _ProcessBytecodeCache()


class ValidationPageView(DefaultJinjaPageView):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _COMPILED


class IndexPageView(DefaultJinjaIndexPageView):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.env.bytecode_cache = _COMPILED

