"""Synthetic source systems for the SEND warehouse: a council's casework database, education CSV
drops and social care API data, messy in the ways real ones are, with the ground truth to score the
pipeline against. See `run.simulate` for the output layout and `world` for the determinism rule.
"""

from .run import simulate
from .sizes import SIZES, SizeSpec

__all__ = ["SIZES", "SizeSpec", "simulate"]
