"""Compiled kernels: ``@njit`` functions over contiguous arrays and scalars only.

No pandas, no validation, no Python objects here: the public functions in the pipeline packages check and
convert their inputs, call one kernel, and wrap its output. Flags come from :mod:`capitation._config`.
"""
