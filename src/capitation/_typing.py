"""Array aliases that say what the kernels expect: contiguous float64 amounts and integer codes."""

from __future__ import annotations

from typing import Literal, TypeAlias

import numpy as np
import numpy.typing as npt

Float64Array: TypeAlias = npt.NDArray[np.float64]
Int64Array: TypeAlias = npt.NDArray[np.int64]
CodeArray: TypeAlias = npt.NDArray[np.int32]
"""Integer group codes; ``-1`` means "no group"."""

Unseen: TypeAlias = Literal["raise", "zero"]
