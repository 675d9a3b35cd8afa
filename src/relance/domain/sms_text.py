"""How long an SMS really is: its encoding, its length in units, and how many parts it is billed as.

A text made only of characters in the GSM 03.38 alphabet travels as GSM-7 (160 septets in a single
SMS); one character outside it — a "ê", a "ç", an emoji — switches the whole text to UCS-2
(70 UTF-16 code units). Once a text needs several parts, each part loses room to the header that
joins them again on the phone (153 septets or 67 code units). Operators bill per part, so the
message templates aim for two parts at most and prefer GSM-7 wording.

Characters of the GSM extension table (^ { } \\ [ ~ ] | € and form feed) take two septets: an
escape and the character. A part never splits such a pair, nor a UTF-16 surrogate pair (an emoji),
so a character that would straddle two parts starts the next one, as real encoders do.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM_7 = "GSM-7"
UCS_2 = "UCS-2"

# GSM 03.38 basic character set (without the escape code itself). It has é è ù ì ò à É Ç but
# not ê â ô î û ç: French reads naturally in GSM-7 only when the wording avoids those.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

_SINGLE = {GSM_7: 160, UCS_2: 70}
_PER_PART = {GSM_7: 153, UCS_2: 67}  # what is left once the concatenation header is in


@dataclass(frozen=True, slots=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (extension characters count 2) or UTF-16 code units
    segments: int  # how many SMS the text is sent (and billed) as; 0 for an empty text


def sms_length(text: str) -> SmsLength:
    """The encoding a phone network will use for `text`, its length and its number of parts."""
    encoding = GSM_7 if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text) else UCS_2
    widths = [_width(c, encoding) for c in text]
    units = sum(widths)
    return SmsLength(encoding, units, _segments(widths, units, encoding))


def is_gsm_7(text: str) -> bool:
    return sms_length(text).encoding == GSM_7


def _width(char: str, encoding: str) -> int:
    if encoding == GSM_7:
        return 2 if char in _GSM_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1  # outside the BMP: a surrogate pair in UTF-16


def _segments(widths: list[int], units: int, encoding: str) -> int:
    if units == 0:
        return 0
    if units <= _SINGLE[encoding]:
        return 1
    capacity = _PER_PART[encoding]
    parts, used = 1, 0
    for width in widths:
        if used + width > capacity:  # the character does not fit whole: it opens a new part
            parts, used = parts + 1, 0
        used += width
    return parts
