"""Render a sample of every message step in French and English into this folder.

    .venv/bin/python docs/messages/render.py

Each step gets <locale>/<family>.txt (subject, plain text and SMS) and <locale>/<family>.html
(open it in a browser), rendered by the same writer the worker uses, with its sample data and
the tone the default policy gives that step (and whether it is a transactional notice). The
arrangement confirmation's sample is a payment plan; arrangement_promise and
arrangement_transfer show the two other choices.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from relance.adapters.message_writer import (
    ARRANGEMENT_KINDS,
    FAMILIES,
    TemplateMessageWriter,
    sample_arrangement,
    sample_facts,
)
from relance.data import read_text
from relance.domain.policy import parse_policy

HERE = Path(__file__).parent


def main() -> None:
    writer = TemplateMessageWriter()
    policy = parse_policy(read_text("policies/default.toml"))
    steps = {step.template: step for step in policy.steps}
    for locale in ("fr", "en"):
        folder = HERE / locale
        folder.mkdir(exist_ok=True)
        for family in FAMILIES:
            step = steps[family]
            facts = sample_facts(family, locale)
            facts = replace(
                facts,
                tone=step.tone.value,
                transactional=step.transactional,
                unsubscribe_link=None
                if step.transactional
                else facts.unsubscribe_link or facts.payment_link.replace("/p/", "/u/"),
            )
            samples = {family: facts}
            if family == "arrangement":
                for kind in ARRANGEMENT_KINDS[1:]:
                    samples[f"{family}_{kind}"] = replace(
                        facts, arrangement=sample_arrangement(kind)
                    )
            for name, sample in samples.items():
                out = writer.render(sample)
                (folder / f"{name}.txt").write_text(
                    f"Subject: {out.subject}\n\n{out.text}\n--- SMS ---\n{out.sms}\n",
                    encoding="utf-8",
                )
                (folder / f"{name}.html").write_text(out.html, encoding="utf-8")
                print(folder / name)


if __name__ == "__main__":
    main()
