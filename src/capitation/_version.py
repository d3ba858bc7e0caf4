"""The version of capitation, in one place: the package, the saved files and the build read it here."""

__version__ = "0.1.0"
