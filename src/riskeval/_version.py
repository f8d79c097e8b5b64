"""The version of riskeval (one place, imported by the package and the report)."""

__version__ = "0.2.0"
