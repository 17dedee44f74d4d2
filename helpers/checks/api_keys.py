"""Checks for notebook 02, API keys."""
from __future__ import annotations

__all__: list[str] = []
