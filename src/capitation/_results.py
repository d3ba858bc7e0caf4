"""The one base of every result: summary(), to_frame() copies, __repr__, _repr_html_ and provenance."""
