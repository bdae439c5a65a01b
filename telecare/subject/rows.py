"""A stored row as a plain dict (column name -> value, dates as ISO 8601 text): for exports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import inspect


def row_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attr in inspect(obj).mapper.column_attrs:
        value = getattr(obj, attr.key)
        if isinstance(value, (datetime, date)):
            value = value.isoformat()
        out[attr.key] = value
    return out
