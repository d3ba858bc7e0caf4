"""Step 6 of the pipeline: need to money, exact to the penny."""

from .allocate import Allocation, allocate
from .money import format_pounds, split_pence, to_pence

__all__ = ["Allocation", "allocate", "format_pounds", "split_pence", "to_pence"]
