"""Logging: one JSON object a line, tracebacks included, from structlog and the stdlib alike."""

import json
import logging

import pytest

from exporter import logs


def test_json_lines_carry_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info", "json")
    try:
        raise ValueError("boom")
    except ValueError:
        logs.get_logger("tests").exception("refresh job crashed", job="tasks")
        logging.getLogger("library").exception("library failure")

    lines = capsys.readouterr().err.strip().splitlines()
    records = [json.loads(line) for line in lines]

    assert [record["event"] for record in records] == ["refresh job crashed", "library failure"]
    assert records[0]["job"] == "tasks"
    assert records[0]["level"] == "error"
    for record in records:
        assert record["exception"].startswith("Traceback (most recent call last):")
        assert record["exception"].rstrip().endswith("ValueError: boom")


def test_level_filters_debug(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info", "json")
    logs.get_logger("tests").debug("hidden")
    logs.get_logger("tests").info("shown")

    events = [json.loads(line)["event"] for line in capsys.readouterr().err.splitlines()]
    assert events == ["shown"]
