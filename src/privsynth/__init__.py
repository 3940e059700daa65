"""privsynth: privacy/utility experiments for synthetic tabular data."""

__version__ = "0.1.0"
