"""Homeroom: a fast school management system."""

__version__ = "0.1.0"
