"""YAML that staff send to an import form: an uploaded file, or else the text pasted in the box."""
from __future__ import annotations


async def yaml_text(form) -> str:
    upload = form.get("file")
    text = ""
    if upload is not None and hasattr(upload, "read"):
        text = (await upload.read()).decode("utf-8", errors="replace")
    if not text.strip():
        text = str(form.get("yaml") or "")
    return text
