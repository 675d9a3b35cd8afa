from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from relance.adapters.message_writer import (
    ARRANGEMENT_KINDS,
    FAMILIES,
    PARTS,
    TONES,
    TemplateMessageWriter,
    brand_colors,
    format_money,
    sample_arrangement,
    sample_facts,
)
from relance.domain.errors import InvalidInput, InvalidTemplate, NotFound
from relance.domain.money import Money
from relance.domain.sms_text import GSM_7, sms_length
from relance.ports import (
    ArrangementFacts,
    CardLine,
    InvoiceLine,
    MessageFacts,
    MessageWriter,
    RenderedMessage,
)

DATA = Path(__file__).resolve().parents[2] / "src" / "relance" / "data"
LOCALES = ("fr", "en")
LINK = "https://pay.relance.example/p/4f9c2a7d"
UNSUBSCRIBE = "https://pay.relance.example/u/4f9c2a7d"
# Babel's own output: French puts a no-break space between the amount and the euro sign.
AMOUNT = {"fr": "49,90\u00a0€", "en": "€49.90"}
TOTAL = {"fr": "68,90\u00a0€", "en": "€68.90"}
DUE = {"fr": "21 novembre 2026", "en": "November 21, 2026"}
SECOND = InvoiceLine("F-2026-0043", Money(1900, "EUR"), datetime(2026, 12, 21, 9, tzinfo=UTC))

writer: MessageWriter = TemplateMessageWriter()  # the port, exactly


def facts(family: str, locale: str, **changes: Any) -> MessageFacts:
    """The sample facts, with one unpaid invoice for every family (for receipt: what remains,
    for resolved: what was settled) and a customer name that HTML must escape."""
    sample = sample_facts(family, locale)
    first = InvoiceLine("F-2026-0042", Money(4990, "EUR"), datetime(2026, 11, 21, 9, tzinfo=UTC))
    base = replace(sample, invoices=(first,), customer_name="<script>Camille</script>")
    return replace(base, **changes)


def render(family: str, locale: str, **changes: Any) -> RenderedMessage:
    return writer.render(facts(family, locale, **changes))


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_renders_in_every_language_and_tone(
    family: str, locale: str, tone: str
) -> None:
    message = render(family, locale, tone=tone)

    assert "F-2026-0042" in message.text
    assert AMOUNT[locale] in message.text
    assert LINK in message.text.splitlines()  # the bare link alone on its line
    if family != "resolved":  # a settled invoice has no due date worth repeating
        assert DUE[locale] in message.text
    assert "<script>Camille</script>" in message.text  # plain text is never escaped
    assert "&lt;script&gt;Camille&lt;/script&gt;" in message.html
    assert "<script>" not in message.html
    assert "#1f4e79" in message.html
    assert f'href="{LINK}"' in message.html
    assert "\n" not in message.subject
    assert message.subject.strip() == message.subject
    assert message.subject != message.subject.upper()
    assert "urgent" not in message.subject.lower()
    assert not re.search(r" +$", message.text, re.MULTILINE)
    assert "\n\n\n" not in message.text
    length = sms_length(message.sms)
    assert length.segments <= 2
    assert length.encoding == GSM_7  # even in French: the wording avoids ê, ç…
    assert LINK in message.sms


@pytest.mark.parametrize("family", ["pre_due", "failed_payment", "follow_up", "final_notice"])
def test_a_reminder_names_the_customer_the_service_the_merchant_and_its_support(
    family: str,
) -> None:
    message = render(family, "fr", customer_name="Camille Martin")

    assert message.text.startswith("Bonjour Camille Martin,\n")
    assert "votre abonnement Pro" in message.text
    assert "Atelier Lumière" in message.text
    assert "aide@atelier-lumiere.example" in message.text
    assert "+33 1 99 00 12 34" in message.text
    assert 'href="mailto:aide@atelier-lumiere.example"' in message.html
    assert message.html.count(f'href="{LINK}"') == 1  # one call to action


def test_the_advice_is_given_after_a_failure_but_not_before_the_due_date() -> None:
    advice = "Votre banque a refusé le paiement."

    assert advice in render("failed_payment", "fr", advice=advice).text
    assert advice in render("failed_payment", "fr", advice=advice).html
    assert advice not in render("pre_due", "fr", advice=advice).text


def test_failed_payment_reads_warm_when_friendly_and_plain_when_firm() -> None:
    friendly = render("failed_payment", "en", tone="friendly")
    firm = render("failed_payment", "fr", tone="firm")

    assert "It happens, and it's quick to fix." in friendly.text
    assert friendly.subject == "Your payment for invoice F-2026-0042 didn't go through"
    assert "Merci de la régler dès que possible." in firm.text
    assert firm.subject == "Paiement à régulariser : facture F-2026-0042"


def test_several_invoices_make_one_consolidated_message_with_their_total() -> None:
    fr = render("follow_up", "fr", invoices=(*facts("follow_up", "fr").invoices, SECOND))
    en = render("failed_payment", "en", invoices=(*facts("follow_up", "en").invoices, SECOND))

    assert "- Facture F-2026-0042 : 49,90\u00a0€, échéance le 21 novembre 2026" in fr.text
    assert "- Facture F-2026-0043 : 19,00\u00a0€, échéance le 21 décembre 2026" in fr.text
    assert f"Total : {TOTAL['fr']}" in fr.text
    assert fr.subject == "Un petit rappel pour vos 2 factures"
    assert TOTAL["fr"] in fr.html
    assert "F-2026-0043" in fr.html
    assert en.subject == "Your payment for 2 invoices didn't go through"
    assert f"Total: {TOTAL['en']}" in en.text
    assert TOTAL["en"] in en.sms


def test_invoices_in_different_currencies_have_no_total() -> None:
    dollars = InvoiceLine("F-2026-0044", Money(2500, "USD"), datetime(2026, 12, 1, tzinfo=UTC))
    message = render("failed_payment", "en", invoices=(*facts("pre_due", "en").invoices, dollars))

    assert "$25.00" in message.text
    assert "Total" not in message.text
    assert "Total" not in message.html
    assert "€49.90 + $25.00" in message.sms


def test_due_dates_are_the_customers_own_calendar_day() -> None:
    late_evening = InvoiceLine(
        "F-1", Money(4990, "EUR"), datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    )

    paris = render("pre_due", "fr", invoices=(late_evening,), timezone="Europe/Paris")
    new_york = render("pre_due", "en", invoices=(late_evening,), timezone="America/New_York")

    assert "22 novembre 2026" in paris.text
    assert "November 21, 2026" in new_york.text


def test_money_uses_the_currencys_own_decimals() -> None:
    assert format_money(Money(4990, "EUR"), "fr") == "49,90\u00a0€"
    assert format_money(Money(4990, "EUR"), "en") == "€49.90"
    assert format_money(Money(4990, "JPY"), "en") == "¥4,990"


def test_the_final_notice_states_the_suspension_date() -> None:
    fr = render("final_notice", "fr")
    en = render("final_notice", "en", tone="firm")
    undated = render("final_notice", "en", suspension_at=None)

    assert "votre service sera suspendu le 5 décembre 2026." in fr.text
    assert "votre service sera suspendu le 5 décembre 2026." in fr.html
    assert "votre service sera suspendu le 5 décembre 2026." in fr.sms
    assert "your service will be suspended on December 5, 2026." in en.text
    assert "Without payment, we will have to suspend your service." in undated.text


def test_a_french_sms_in_august_stays_in_gsm_7() -> None:
    august = datetime(2027, 8, 5, 9, tzinfo=UTC)
    message = render("final_notice", "fr", suspension_at=august)

    assert "5 août 2027" in message.text
    assert "5 aout 2027" in message.sms  # the 1990 spelling: û is not in the GSM alphabet
    assert sms_length(message.sms).encoding == GSM_7


def test_a_reminder_carries_its_unsubscribe_link_and_a_service_notice_says_what_it_is() -> None:
    reminder = render("follow_up", "en")
    notice = render("follow_up", "en", transactional=True, unsubscribe_link=None)

    assert UNSUBSCRIBE in reminder.text
    assert f'href="{UNSUBSCRIBE}"' in reminder.html
    assert reminder.sms.endswith("Reply STOP to opt out.")
    assert "service notice" not in reminder.text
    assert "This is a service notice about your account with Atelier Lumière." in notice.text
    assert "This is a service notice" in notice.html
    assert "unsubscribe" not in notice.html.lower()
    assert "STOP" not in notice.sms


def test_french_sms_offer_the_opt_out_in_french() -> None:
    assert render("pre_due", "fr").sms.endswith("Répondez STOP pour ne plus recevoir de SMS.")


def test_card_expiring_names_the_card_and_asks_for_an_update() -> None:
    message = render("card_expiring", "en", invoices=())

    assert "Your Visa ending 4242 expires 12/2026." in message.text
    assert message.subject == "Your Visa ending 4242 expires soon"
    assert "Update my card:" in message.text
    assert "4242" in message.sms
    assert LINK in message.sms


def test_a_receipt_shows_what_was_paid_and_what_remains() -> None:
    settled = render("receipt", "fr", invoices=())
    partial = render("receipt", "en")

    assert "nous avons bien reçu votre paiement de 49,90\u00a0€" in settled.text
    assert "vous n'avez plus rien à régler" in settled.text
    assert "Here is what remains to be paid:" in partial.text
    assert "Pay the balance:" in partial.text


def test_resolved_thanks_the_customer_for_settling_everything() -> None:
    message = render("resolved", "fr")

    assert message.subject == "La facture F-2026-0042 est réglée, merci"
    assert "Merci ! Tout est réglé et votre compte est à jour." in message.text


def arrangement(kind: str, locale: str, **changes: Any) -> RenderedMessage:
    """The confirmation of `kind` for the sample invoice, as the default policy sends it."""
    terms = replace(sample_arrangement(kind), **changes)
    return render("arrangement", locale, arrangement=terms, customer_name="Camille Martin")


def test_a_plan_confirmation_lists_each_instalment_charged_to_the_card_in_french() -> None:
    message = arrangement("plan", "fr")

    assert message.subject == "Votre paiement en 3 fois est confirmé"
    assert "Vous avez choisi de régler en 3 fois. Voici votre échéancier :" in message.text
    assert "- Échéance 1 : 16,64\u00a0€ le 28 novembre 2026" in message.text
    assert "- Échéance 2 : 16,63\u00a0€ le 28 décembre 2026" in message.text
    assert "- Échéance 3 : 16,63\u00a0€ le 28 janvier 2027" in message.text
    assert f"Total : {AMOUNT['fr']}" in message.text  # the instalments add up to the balance
    assert "Chaque échéance sera prélevée sur votre carte Visa ••4242 à sa date." in message.text
    assert "les rappels reprendront pour le solde restant" in message.text
    assert "Facture F-2026-0042" in message.text  # what the plan settles
    for shown in ("28 janvier 2027", "Échéance 3 sur 3", "16,63\u00a0€", "votre carte Visa ••4242"):
        assert shown in message.html
    assert "Vous avez changé d'avis ?" in message.text
    assert message.html.count(f'href="{LINK}"') == 1


def test_a_plan_confirmation_in_english_writes_amounts_and_dates_the_english_way() -> None:
    message = arrangement("plan", "en")

    assert message.subject == "Your payment in 3 instalments is confirmed"
    assert "- Instalment 1: €16.64 on November 28, 2026" in message.text
    assert "- Instalment 3: €16.63 on January 28, 2027" in message.text
    assert "Each instalment will be charged to your Visa card ••4242 on its date." in message.text
    assert "If an instalment cannot be charged, reminders will resume" in message.text
    assert "Open my payment page:" in message.text


def test_instalment_dates_are_the_customers_own_calendar_days() -> None:
    late = datetime(2026, 12, 28, 23, 30, tzinfo=UTC)  # already the 29th in Paris
    terms = replace(sample_arrangement("plan"), instalments=((late, Money(4990, "EUR")),))

    paris = render("arrangement", "fr", arrangement=terms, timezone="Europe/Paris")
    new_york = render("arrangement", "en", arrangement=terms, timezone="America/New_York")

    assert "16,64" not in paris.text
    assert "49,90\u00a0€ le 29 décembre 2026" in paris.text
    assert "€49.90 on December 28, 2026" in new_york.text


def test_a_plan_without_a_card_is_paid_by_transfer_with_the_bank_details() -> None:
    transfer = sample_arrangement("transfer")
    message = arrangement(
        "plan", "en", card=None, iban=transfer.iban, bic=transfer.bic, reference=transfer.reference
    )

    assert "Please pay each instalment by bank transfer" in message.text
    assert "IBAN: FR76 3000 6000 0112 3456 7890 189" in message.text
    assert "Reference: RF18 5390 0754 7034" in message.text
    assert "If an instalment is not paid by its date, reminders will resume" in message.text
    assert "charged to" not in message.text


def test_a_plan_without_a_card_or_bank_details_is_paid_through_the_link() -> None:
    message = arrangement("plan", "fr", card=None)

    assert "Merci de régler chaque échéance à sa date, grâce au lien ci-dessous." in message.text
    assert "IBAN" not in message.text
    assert "prélevée" not in message.text


def test_a_card_the_gateway_named_only_partly_is_still_named_as_well_as_possible() -> None:
    last4_only = arrangement("plan", "en", card=CardLine(None, "4242", 1, 2027))
    anonymous = arrangement("promise", "fr", card=CardLine(None, None, 1, 2027))

    assert "charged to your card ••4242 on its date" in last4_only.text
    assert "Le montant sera prélevé ce jour-là sur votre carte enregistrée." in anonymous.text


def test_a_transfer_confirmation_gives_the_iban_the_bic_and_the_reference() -> None:
    fr = arrangement("transfer", "fr")
    en = arrangement("transfer", "en")

    assert fr.subject == "Coordonnées bancaires pour votre virement de 49,90 €"  # one line
    for line in (
        "Bénéficiaire : Atelier Lumière SAS",
        "IBAN : FR76 3000 6000 0112 3456 7890 189",
        "BIC : AGRIFRPP",
        "Référence : RF18 5390 0754 7034",
        f"Montant : {AMOUNT['fr']}",
    ):
        assert line in fr.text.splitlines()
    assert "Indiquez la référence RF18 5390 0754 7034 dans le champ" in fr.text
    assert "Nous attendons votre virement jusqu'au 26 novembre 2026" in fr.text
    for shown in ("FR76 3000 6000 0112 3456 7890 189", "AGRIFRPP", "RF18 5390 0754 7034"):
        assert shown in fr.html
        assert shown in en.text
    assert "Please put the reference RF18 5390 0754 7034 in the reference field" in en.text
    assert "We will wait until November 26, 2026 for your transfer to arrive" in en.text
    assert "RF18 5390 0754 7034" in en.sms
    assert "by November 26, 2026" in en.sms


def test_bank_details_are_printed_in_groups_of_four_however_they_come() -> None:
    message = arrangement(
        "transfer", "en", iban="fr7630006000011234567890189", reference="RF18539007547034"
    )

    assert "IBAN: FR76 3000 6000 0112 3456 7890 189" in message.text
    assert "Reference: RF18 5390 0754 7034" in message.text


def test_a_transfer_without_a_bic_or_a_beneficiary_names_the_merchant() -> None:
    message = arrangement("transfer", "en", bic=None, beneficiary=None)

    assert "Beneficiary: Atelier Lumière" in message.text.splitlines()
    assert "BIC" not in message.text
    assert "BIC" not in message.html


def test_the_bank_details_are_escaped_in_html() -> None:
    message = arrangement("transfer", "en", beneficiary="<b>Lumière</b> & Co")

    assert "&lt;b&gt;Lumière&lt;/b&gt; &amp; Co" in message.html
    assert "<b>Lumière</b>" in message.text


def test_a_promise_confirmation_names_its_date_and_how_it_is_paid() -> None:
    by_card = arrangement("promise", "en")
    by_link = arrangement("promise", "fr", card=None)

    assert by_card.subject == "Noted: you will pay €49.90 on December 4, 2026"
    assert "You promised to pay €49.90 on December 4, 2026." in by_card.text
    assert "We will charge your Visa card ••4242 that day." in by_card.text
    assert "December 4, 2026" in by_card.sms
    assert by_link.subject == "C'est noté : paiement de 49,90 € le 4 décembre 2026"
    assert f"vous réglerez {AMOUNT['fr']} le 4 décembre 2026" in by_link.text
    assert "Merci de régler d'ici cette date, grâce au lien ci-dessous." in by_link.text
    assert "ne nous est pas parvenu à cette date, les rappels reprendront" in by_link.text


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", ARRANGEMENT_KINDS)
def test_an_arrangement_confirmation_is_a_service_notice_with_a_short_sms(
    kind: str, locale: str
) -> None:
    sample = sample_facts("arrangement", locale)
    message = writer.render(replace(sample, arrangement=sample_arrangement(kind)))

    assert sample.transactional
    assert sample.unsubscribe_link is None
    assert "/u/" not in message.text + message.html
    assert "unsubscribe" not in message.html.lower()
    assert "STOP" not in message.sms
    notice = {"fr": "Ce message de service concerne", "en": "This is a service notice"}[locale]
    assert notice in message.text
    assert notice in message.html
    length = sms_length(message.sms)
    assert length.encoding == GSM_7
    assert length.segments <= 2
    assert message.sms.endswith(LINK)


def test_the_arrangement_sample_is_a_plan_that_adds_up_to_the_sample_invoice() -> None:
    sample = writer.sample_facts("arrangement", "fr")

    assert sample.arrangement is not None
    assert sample.arrangement.kind == "plan"
    assert sum(amount.minor for _, amount in sample.arrangement.instalments) == sum(
        line.amount_due.minor for line in sample.invoices
    )
    with pytest.raises(NotFound):
        sample_arrangement("barter")


def test_an_arrangement_message_without_what_was_agreed_is_refused() -> None:
    transfer = sample_arrangement("transfer")
    with pytest.raises(InvalidInput, match="confirms a plan"):
        render("arrangement", "en", arrangement=None)
    with pytest.raises(InvalidInput, match="needs the merchant's IBAN"):
        render("arrangement", "en", arrangement=replace(transfer, iban=None))
    with pytest.raises(InvalidInput, match="at least one date"):
        render("arrangement", "en", arrangement=replace(transfer, instalments=()))
    with pytest.raises(InvalidInput, match="'barter' is not an arrangement"):
        render("arrangement", "en", arrangement=ArrangementFacts("barter", (), None))


def test_an_arrangement_override_may_reuse_the_terms_and_is_checked_against_every_kind() -> None:
    writer.check(
        "arrangement.txt",
        "fr",
        '{% extends "_layout.txt" %}{% block body %}{% include "_arrangement.txt" %}{% endblock %}',
    )
    with pytest.raises(InvalidTemplate, match="'None' has no attribute 'last4'"):
        writer.check("arrangement.sms", "en", "Card ending {{ arrangement.card.last4 }}")


def test_the_button_text_contrasts_with_the_brand_colour() -> None:
    assert brand_colors("#1F4E79") == ("#1f4e79", "#ffffff")
    assert brand_colors("#ffd700") == ("#ffd700", "#111827")
    assert brand_colors("#fff") == ("#ffffff", "#111827")
    assert brand_colors("red;background:url(x)") == ("#1f4e79", "#ffffff")

    merchant = replace(sample_facts("pre_due", "en").merchant, brand_color="#ffd700")
    html = render("pre_due", "en", merchant=merchant).html
    assert "background-color:#ffd700" in html
    assert "color:#111827" in html


def test_an_unsupported_language_falls_back_to_english() -> None:
    message = render("failed_payment", "de")

    assert "Hello " in message.text
    assert AMOUNT["en"] in message.text


def test_a_reminder_without_an_invoice_is_refused() -> None:
    with pytest.raises(InvalidInput, match="has none"):
        render("failed_payment", "en", invoices=())


def test_a_naive_date_or_an_unknown_zone_is_refused() -> None:
    naive = InvoiceLine("F-1", Money(100, "EUR"), datetime(2026, 11, 21))  # noqa: DTZ001
    with pytest.raises(InvalidInput, match="time zone"):
        render("pre_due", "en", invoices=(naive,))
    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        render("pre_due", "en", timezone="Mars/Olympus")


def test_the_sample_is_camille_martins_invoice_in_the_asked_language() -> None:
    sample = writer.sample_facts("final_notice", "fr")

    assert (sample.customer_name, sample.invoices[0].number) == ("Camille Martin", "F-2026-0042")
    assert sample.invoices[0].amount_due == Money(4990, "EUR")
    assert sample.suspension_at is not None
    assert "solde" in sample.advice
    assert writer.render(sample).text.startswith("Bonjour Camille Martin,")
    with pytest.raises(NotFound):
        writer.sample_facts("birthday", "fr")


def test_there_are_four_overridable_parts_per_family() -> None:
    names = writer.template_names()

    assert len(names) == len(set(names)) == 32 == len(FAMILIES) * len(PARTS)
    assert "arrangement.sms" in names
    assert "failed_payment.html" in names
    assert "_layout.html" not in names
    assert "{% trans" in writer.default_source("failed_payment.txt")
    for unknown in ("_layout.html", "failed_payment", "nope.txt", "pre_due.pdf"):
        with pytest.raises(NotFound):
            writer.default_source(unknown)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("name", TemplateMessageWriter().template_names())
def test_every_default_template_passes_the_upload_check(name: str, locale: str) -> None:
    writer.check(name, locale, writer.default_source(name))


def test_a_valid_override_is_accepted() -> None:
    writer.check(
        "failed_payment.subject", "fr", "{{ merchant.name }} : facture {{ invoices[0].number }}"
    )


def test_a_syntax_error_is_refused_with_its_line() -> None:
    with pytest.raises(InvalidTemplate) as refused:
        writer.check("failed_payment.html", "fr", "<p>Bonjour</p>\n<p>\n{{ customer_name }\n</p>\n")

    assert refused.value.line == 3
    assert str(refused.value) == "failed_payment.html line 3: unexpected '}'"


def test_an_undefined_variable_is_refused_with_its_line() -> None:
    source = "<p>Bonjour {{ customer_name }},</p>\n\n<p>{{ invoice_numbr }}</p>\n"
    with pytest.raises(InvalidTemplate) as refused:
        writer.check("failed_payment.html", "fr", source)

    assert refused.value.line == 3
    assert str(refused.value) == "failed_payment.html line 3: 'invoice_numbr' is undefined"


def test_an_error_inside_an_extended_layout_block_points_at_the_override() -> None:
    source = '{% extends "_layout.txt" %}\n{% block body %}\nHi\n{{ 1 // 0 }}\n{% endblock %}\n'
    with pytest.raises(InvalidTemplate) as refused:
        writer.check("follow_up.txt", "en", source)

    assert refused.value.line == 4
    assert "by zero" in str(refused.value)


def test_an_error_in_a_branch_only_some_customers_take_is_found_at_upload() -> None:
    with pytest.raises(InvalidTemplate, match="line 2"):
        writer.check("pre_due.txt", "en", 'Hello\n{% if tone == "firm" %}{{ nope }}{% endif %}')
    with pytest.raises(InvalidTemplate, match="'None' has no attribute 'last4'"):
        writer.check("card_expiring.txt", "en", "Your card ending {{ card.last4 }}")


def test_an_unknown_filter_is_refused() -> None:
    with pytest.raises(InvalidTemplate, match="line 1: No filter named 'shout'"):
        writer.check("receipt.subject", "en", "{{ amount_paid|shout }}")


def test_the_sandbox_refuses_python_internals() -> None:
    with pytest.raises(InvalidTemplate, match="unsafe") as refused:
        writer.check("receipt.txt", "en", "Hello\n{{ ''.__class__.__mro__ }}")

    assert refused.value.line == 2
    with pytest.raises(InvalidTemplate, match="unsafe"):
        writer.check("receipt.txt", "en", "{{ invoices.append(1) }}")  # parts share the lists


def test_an_sms_longer_than_three_messages_is_refused() -> None:
    long = "{% for i in range(20) %}{{ merchant.name }} vous remercie. {% endfor %}"
    with pytest.raises(InvalidTemplate, match="within 3") as refused:
        writer.check("receipt.sms", "fr", long)

    assert refused.value.line is None
    writer.check("receipt.sms", "fr", "{% for i in range(5) %}{{ merchant.name }} {% endfor %}")


def test_an_empty_subject_is_refused() -> None:
    with pytest.raises(InvalidTemplate, match="subject is empty"):
        writer.check("resolved.subject", "en", "{% if false %}Merci{% endif %}\n  ")


def test_checking_an_unknown_part_is_not_found() -> None:
    with pytest.raises(NotFound):
        writer.check("_layout.html", "en", "<p>hi</p>")


def test_an_override_replaces_its_part_only() -> None:
    plain = render("failed_payment", "fr")
    overrides = {
        "failed_payment.subject": "{{ merchant.name }} : facture {{ invoices[0].number }}",
        "pre_due.txt": "not this family",
    }
    message = writer.render(facts("failed_payment", "fr"), overrides)

    assert message.subject == "Atelier Lumière : facture F-2026-0042"
    assert (message.text, message.html, message.sms) == (plain.text, plain.html, plain.sms)


def test_an_override_speaks_the_customers_language_and_escapes_html() -> None:
    source = (
        '{% extends "_layout.html" %}{% block body %}<p>{{ customer_name }}</p>{% endblock %}'
        '{% block action %}<a href="{{ payment_link }}">{{ _("Pay now") }}</a>{% endblock %}'
    )
    message = writer.render(facts("failed_payment", "fr"), {"failed_payment.html": source})

    assert "<p>&lt;script&gt;Camille&lt;/script&gt;</p>" in message.html
    assert f'<a href="{LINK}">Régler maintenant</a>' in message.html
    assert "Bien cordialement," in message.html  # the layout around it is the default one


def test_an_override_that_fails_at_send_time_says_where() -> None:
    with pytest.raises(InvalidTemplate, match=r"failed_payment.sms line 1: 'oops' is undefined"):
        writer.render(facts("failed_payment", "en"), {"failed_payment.sms": "{{ oops }}"})


def test_the_french_catalogue_translates_every_message_of_the_templates() -> None:
    """Extracted from the templates as `pybabel extract` does: nothing untranslated, nothing
    fuzzy, nothing left over from wording that no longer exists."""
    with (DATA / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    extracted = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(DATA), method_map, options_map
        )
    }
    with (DATA / "locale/fr/LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po, locale="fr")
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}

    assert len(extracted) > 50
    assert sorted(extracted - translated.keys()) == []  # untranslated
    assert sorted(translated.keys() - extracted) == []  # no longer used
    assert list(catalog.obsolete) == []
    for msgid, message in translated.items():
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"empty French translation for {msgid!r}"
        assert not message.fuzzy, f"fuzzy French translation for {msgid!r}"
    assert [(m.id, errors) for m, errors in catalog.check() if errors] == []
