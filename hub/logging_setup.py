"""Structured logs: JSON lines (LINKAGE_LOG_FORMAT=json, the default for the hub) or console."""

from __future__ import annotations

import logging
import sys

import structlog

from telecare.privacy import mask_phones

from .config import log_settings

# libraries that log personal data at INFO or DEBUG: twilio's HTTP client prints query parameters
# (a phone number when filtering by To) and headers; kept at WARNING whatever the level asked for
QUIET = ("amqtt", "transitions", "uvicorn.access", "alembic", "twilio.http_client", "httpx", "httpcore", "urllib3")


class PhoneMask(logging.Filter):
    """The last line of defence (docs/data-protection.md, "Logs"): any phone number left in a log line,
    from our code or a library's, is masked but for its last three digits before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phones(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def make_handler(fmt: str, stream=None) -> logging.Handler:
    """The hub's log handler: structlog JSON lines (or console text) with phone numbers masked."""
    renderer = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer, foreign_pre_chain=SHARED + [structlog.processors.format_exc_info]
        )
    )
    handler.addFilter(PhoneMask())
    return handler


SHARED = [
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure(level: str | None = None, fmt: str | None = None) -> None:
    env_level, env_fmt = log_settings(tty=sys.stderr.isatty())
    level = (level or env_level).upper()
    fmt = fmt or env_fmt
    root = logging.getLogger()
    root.handlers[:] = [make_handler(fmt)]
    root.setLevel(level)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=SHARED + [structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
