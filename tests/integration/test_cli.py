"""`relance …` in-process (Typer's runner) against a real database."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from babel.numbers import format_currency
from typer.testing import CliRunner

from relance.bootstrap import build
from relance.entrypoints.cli import cli
from relance.services import merchants
from relance.services.policies import default_policy_source

from ..conftest import make_settings


@pytest.fixture
def run(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RELANCE_DATABASE_URL", database_url)
    monkeypatch.setenv("RELANCE_OUTBOX_DIR", str(tmp_path / "outbox"))
    monkeypatch.setenv("RELANCE_SANDBOX_DIR", str(tmp_path / "sandbox"))
    monkeypatch.setenv("RELANCE_SECRET_KEY_FILE", str(tmp_path / "secret_key"))
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


# -- templates and the merchant's profile -------------------------------------------------------

EURO_49_90 = format_currency(Decimal("49.90"), "EUR", locale="fr")  # Babel: "49,90\xa0€"


@pytest.fixture
def merchant(run) -> str:
    made: str = json.loads(run("merchants", "create", "--name", "Acme", "--json").stdout)["id"]
    return made


def test_templates_list_names_every_part(run, merchant: str):
    result = run("templates", "list", "--merchant", merchant)
    assert result.exit_code == 0, result.output
    assert "failed_payment.subject" in result.stdout
    assert "final_notice.sms" in result.stdout


def test_a_preview_prints_the_subject_the_text_and_the_sms_in_french(run, merchant: str):
    result = run("templates", "preview", "failed_payment", "--locale", "fr", "--merchant", merchant)
    assert result.exit_code == 0, result.output
    assert "Subject:" in result.stdout
    assert EURO_49_90 in result.stdout
    assert "SMS (" in result.stdout
    english = run(
        "templates", "preview", "failed_payment", "--locale", "en", "--merchant", merchant
    )
    assert "€49.90" in english.stdout


def test_a_preview_writes_the_html_part_to_a_file(run, merchant: str, tmp_path: Path):
    target = tmp_path / "preview.html"
    result = run(
        "templates", "preview", "final_notice", "--merchant", merchant, "--html", str(target)
    )
    assert result.exit_code == 0, result.output
    html = target.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert EURO_49_90 in html  # the merchant's default locale, fr
    assert f"HTML part written to {target}." in result.stdout


def test_a_template_is_set_refused_with_its_line_and_reset(run, merchant: str, tmp_path: Path):
    good = tmp_path / "subject.j2"
    good.write_text("Rappel : facture {{ invoices[0].number }}", encoding="utf-8")
    result = run(
        "templates", "set", "failed_payment.subject", "fr", str(good), "--merchant", merchant
    )
    assert result.exit_code == 0, result.output
    assert "fr" in run("templates", "list", "--merchant", merchant).stdout
    shown = run("templates", "preview", "failed_payment", "--locale", "fr", "--merchant", merchant)
    assert "Subject: Rappel : facture " in shown.stdout

    bad = tmp_path / "bad.j2"
    bad.write_text("Bonjour\n{% if %}\n", encoding="utf-8")
    refused = run("templates", "set", "failed_payment.txt", "fr", str(bad), "--merchant", merchant)
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: ")
    assert refused.stderr.count("\n") == 1
    assert "2" in refused.stderr  # the line

    assert (
        run("templates", "reset", "failed_payment.subject", "fr", "--merchant", merchant).exit_code
        == 0
    )
    shown = run("templates", "preview", "failed_payment", "--locale", "fr", "--merchant", merchant)
    assert "Subject: Rappel : facture " not in shown.stdout


def test_the_merchant_profile_is_shown_as_json(run, merchant: str):
    result = run("merchants", "profile", "--merchant", merchant, "--json")
    assert result.exit_code == 0, result.output
    profile = json.loads(result.stdout)
    assert (profile["id"], profile["name"], profile["default_locale"]) == (merchant, "Acme", "fr")
    table = run("merchants", "profile", "--merchant", merchant)
    assert "brand_color" in table.stdout
    assert "#1f4e79" in table.stdout


def test_the_demo_merchant_is_the_default(run, database_url: str, tmp_path: Path):
    missing = run("templates", "list")
    assert missing.exit_code == 1
    assert missing.stderr == "error: No merchant has the id 'mer_demo'.\n"
    app = build(make_settings(database_url, tmp_path))
    try:
        merchants.ensure_demo_merchant(app.ctx)
    finally:
        app.close()
    assert json.loads(run("merchants", "profile", "--json").stdout)["name"] == "Demo Shop"
    assert run("templates", "preview", "failed_payment").exit_code == 0


def test_template_commands_fail_in_one_line(run, merchant: str, tmp_path: Path):
    for args in (
        ("templates", "preview", "nope", "--merchant", merchant),
        ("templates", "preview", "failed_payment", "--locale", "de", "--merchant", merchant),
        ("templates", "preview", "failed_payment", "--customer", "cus_x", "--merchant", merchant),
        ("templates", "reset", "nope.subject", "fr", "--merchant", merchant),
        ("templates", "set", "failed_payment.subject", "fr", "/nonexistent.j2"),
        ("merchants", "profile", "--merchant", "mer_nope"),
    ):
        result = run(*args)
        assert result.exit_code == 1, args
        assert result.stderr.startswith("error: "), args
        assert result.stderr.count("\n") == 1, args


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("RELANCE_SMS_PROVIDER", "pigeon", "RELANCE_SMS_PROVIDER 'pigeon' is not one of"),
        ("RELANCE_SMTP_URL", "http://mail.example", "RELANCE_SMTP_URL:"),
    ],
)
def test_a_channel_setting_that_cannot_work_is_one_line_at_start(
    run, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, said: str
):
    monkeypatch.setenv(variable, value)
    result = run("queue")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {said}")
    assert result.stderr.count("\n") == 1
