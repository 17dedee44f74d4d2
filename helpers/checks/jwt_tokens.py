"""Checks for notebook 03, JWT bearer tokens."""
from __future__ import annotations

__all__: list[str] = []
