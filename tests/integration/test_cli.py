"""`relance …` in-process (Typer's runner) against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from relance.entrypoints.cli import cli
from relance.services.policies import default_policy_source


@pytest.fixture
def run(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RELANCE_DATABASE_URL", database_url)
    monkeypatch.setenv("RELANCE_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("RELANCE_SANDBOX_DIR", str(tmp_path / "sandbox"))
    runner = CliRunner()
    assert runner.invoke(cli, ["migrate"]).exit_code == 0

    def invoke(*args: str):
        return runner.invoke(cli, list(args))

    return invoke


def test_merchants_create_prints_the_id_and_a_working_key(run):
    result = run("merchants", "create", "--name", "Acme", "--json")
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert made["id"].startswith("mer_")
    assert made["api_key"].startswith("rk_")
    shown = run("policy", "show", "--merchant", made["id"])
    assert "days_after_failure = [1, 3, 5, 8]" in shown.stdout


def test_a_bad_command_is_one_line_and_a_non_zero_exit(run):
    result = run("merchants", "create", "--name", "  ")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: A merchant needs a name."
    result = run("merchants", "add-key", "mer_missing")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1


def test_an_invalid_policy_is_refused_and_changes_nothing(run, tmp_path: Path):
    merchant = json.loads(run("merchants", "create", "--name", "Acme", "--json").stdout)["id"]
    bad = tmp_path / "bad.toml"
    bad.write_text(
        default_policy_source().replace("version = 1", "version = 2").replace("day = 15", "day = 5")
    )
    result = run("policy", "set", str(bad), "--merchant", merchant)
    assert result.exit_code == 1
    assert "Exhaustion (day 5) must come after" in result.stderr
    assert "version = 1" in run("policy", "show", "--merchant", merchant).stdout
    good = tmp_path / "good.toml"
    good.write_text(default_policy_source().replace("version = 1", "version = 2"))
    assert run("policy", "set", str(good), "--merchant", merchant).exit_code == 0
    assert "version = 2" in run("policy", "show", "--merchant", merchant).stdout


def test_a_missing_policy_file_is_one_clear_line(run):
    result = run("policy", "set", "/nonexistent.toml", "--merchant", "mer_x")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot read /nonexistent.toml")


def test_the_queue_command_counts_actions(run):
    result = run("queue")
    assert result.exit_code == 0
    assert "status" in result.stdout
