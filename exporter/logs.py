"""Structured logging: structlog over the standard library, as JSON or for a console."""

import logging
import sys

import structlog

# Libraries that log every job run or request at info; the exporter logs what matters itself.
_QUIET_LOGGERS = ("apscheduler", "aiohttp.access", "httpx", "httpcore")


def configure(level: str = "info", fmt: str = "console") -> None:
    """Send every log line, the libraries' included, through one structlog renderer."""
    renderer: list[structlog.typing.Processor]
    if fmt == "json":
        # Tracebacks become one "exception" string, so a JSON line stays one line.
        renderer = [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        renderer = [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]

    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # A run skipped because the previous one still runs is what a tight budget does:
    # ovh_exporter_refresh_cycle_seconds and the budget warning say it, once.
    logging.getLogger("apscheduler.scheduler").setLevel(max(logging.ERROR, root.level))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A logger for one module."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
