"""Extractors, one module per source system. Each knows its system's shape and nothing else."""

from __future__ import annotations


class SourceError(RuntimeError):
    """A source could not be extracted. The message names the source and what to do.

    Raised for conditions a person must fix (wrong token, missing folder, missing column);
    the failing source's tasks stop, the other sources carry on.
    """

    def __init__(self, source_system: str, problem: str, fix: str) -> None:
        self.source_system = source_system
        self.problem = problem
        self.fix = fix
        super().__init__(f"[{source_system}] {problem}. What to do: {fix}")
