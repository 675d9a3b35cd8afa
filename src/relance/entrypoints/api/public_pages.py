"""The small HTML pages a customer sees after clicking "unsubscribe" in an email.

They are in the customer's language when the browser says which (Accept-Language), in French
and English otherwise. No script, no external resource: they must work in any mail client's
browser, and read well with a screen reader (one heading, a labelled button, a `lang` on
each language)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

LOCALES = ("fr", "en")


@dataclass(frozen=True, slots=True)
class Wording:
    title: str
    question: str  # {merchant}
    note: str
    confirm: str
    done_title: str
    done: str  # {merchant}
    unknown_title: str
    unknown: str


WORDING = {
    "fr": Wording(
        title="Se désabonner",
        question="Ne plus recevoir les emails de relance de {merchant} ?",
        note="Les avis indispensables (reçu de paiement, avis avant suspension du service) "
        "vous seront toujours envoyés.",
        confirm="Confirmer",
        done_title="C'est fait",
        done="Vous ne recevrez plus ces emails de {merchant}.",
        unknown_title="Lien non valide",
        unknown="Ce lien de désabonnement n'est pas valide. Vérifiez qu'il est complet, ou "
        "répondez à l'email pour nous le demander.",
    ),
    "en": Wording(
        title="Unsubscribe",
        question="Stop receiving payment reminder emails from {merchant}?",
        note="Essential notices (payment receipts, notice before the service is suspended) "
        "will still be sent to you.",
        confirm="Confirm",
        done_title="Done",
        done="You will no longer receive these emails from {merchant}.",
        unknown_title="Invalid link",
        unknown="This unsubscribe link is not valid. Check that it is complete, or reply to "
        "the email to ask us.",
    ),
}

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1a1a1a}section+section{margin-top:2rem;border-top:1px solid #ccc}"
    "button{font-size:1rem;padding:.6rem 1.4rem;border:0;border-radius:.3rem;"
    "background:#1f4e79;color:#fff;cursor:pointer}button:focus{outline:3px solid #f4b400}"
)


def preferred_locale(accept_language: str | None) -> str | None:
    """fr or en, whichever the browser ranks higher; None when it asks for neither."""
    best: tuple[float, str] | None = None
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        if language not in LOCALES:
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight > 0 and (best is None or weight > best[0]):
            best = (weight, language)
    return best[1] if best else None


def _page(locale: str | None, title: str, sections: list[tuple[str, str]]) -> str:
    """`sections` are (locale, inner HTML); the page's language is the first one's."""
    lang = locale or sections[0][0]
    # One h1 per page: a second language's heading is a level below.
    body = "".join(
        f'<section lang="{loc}">{inner if i == 0 else inner.replace("h1>", "h2>")}</section>'
        for i, (loc, inner) in enumerate(sections)
    )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _shown(locale: str | None) -> tuple[str, ...]:
    return (locale,) if locale else LOCALES


def confirm_page(locale: str | None, merchant: str) -> str:
    """The question and one button; the opt-out is recorded only when it is pressed, since
    mail security scanners open every link in an email."""
    locales = _shown(locale)
    button = " / ".join(WORDING[loc].confirm for loc in locales)
    sections = [
        (
            loc,
            f"<h1>{escape(WORDING[loc].title)}</h1>"
            f"<p>{escape(WORDING[loc].question.format(merchant=merchant))}</p>"
            f"<p>{escape(WORDING[loc].note)}</p>",
        )
        for loc in locales
    ]
    form = f'<form method="post"><button type="submit">{escape(button)}</button></form>'
    last_locale, last = sections[-1]
    sections[-1] = (last_locale, last + form)
    title = " / ".join(WORDING[loc].title for loc in locales)
    return _page(locale, title, sections)


def done_page(locale: str | None, merchant: str) -> str:
    locales = _shown(locale)
    sections = [
        (
            loc,
            f"<h1>{escape(WORDING[loc].done_title)}</h1>"
            f"<p>{escape(WORDING[loc].done.format(merchant=merchant))}</p>"
            f"<p>{escape(WORDING[loc].note)}</p>",
        )
        for loc in locales
    ]
    return _page(locale, " / ".join(WORDING[loc].done_title for loc in locales), sections)


def unknown_page(locale: str | None) -> str:
    """Says nothing about why: an unknown token and a mistyped one read the same."""
    locales = _shown(locale)
    sections = [
        (loc, f"<h1>{escape(WORDING[loc].unknown_title)}</h1><p>{escape(WORDING[loc].unknown)}</p>")
        for loc in locales
    ]
    return _page(locale, " / ".join(WORDING[loc].unknown_title for loc in locales), sections)
