from __future__ import annotations

import pytest

from relance.domain.sms_text import GSM_7, UCS_2, SmsLength, is_gsm_7, sms_length


def test_an_empty_text_is_no_sms_at_all() -> None:
    assert sms_length("") == SmsLength(GSM_7, 0, 0)


@pytest.mark.parametrize(
    ("length", "segments"),
    [(1, 1), (160, 1), (161, 2), (153 * 2, 2), (153 * 2 + 1, 3), (153 * 3, 3)],
)
def test_gsm_7_fits_160_alone_and_153_per_part_when_joined(length: int, segments: int) -> None:
    assert sms_length("a" * length) == SmsLength(GSM_7, length, segments)


@pytest.mark.parametrize(
    ("length", "segments"),
    [(70, 1), (71, 2), (67 * 2, 2), (67 * 2 + 1, 3)],
)
def test_ucs_2_fits_70_alone_and_67_per_part_when_joined(length: int, segments: int) -> None:
    text = "ê" + "a" * (length - 1)
    assert sms_length(text) == SmsLength(UCS_2, length, segments)


def test_french_accents_of_the_gsm_alphabet_keep_gsm_7() -> None:
    assert sms_length("Réglez à l'échéance, où, là: É, Ç, è, ì, ò, ù").encoding == GSM_7


@pytest.mark.parametrize("char", ["ê", "â", "ô", "î", "û", "ç", "\u2019", "\u202f", "\u00a0"])
def test_one_character_outside_the_gsm_alphabet_switches_the_whole_text_to_ucs_2(
    char: str,
) -> None:
    text = "é" * 100 + char
    assert sms_length(text) == SmsLength(UCS_2, 101, 2)
    assert not is_gsm_7(text)


def test_an_e_acute_is_one_septet_but_an_e_circumflex_turns_160_characters_into_three_sms() -> None:
    assert sms_length("é" * 160).segments == 1
    assert sms_length("ê" + "e" * 159) == SmsLength(UCS_2, 160, 3)


@pytest.mark.parametrize("char", ["€", "[", "]", "{", "}", "\\", "~", "^", "|", "\f"])
def test_characters_of_the_extension_table_count_two_septets(char: str) -> None:
    assert sms_length(char) == SmsLength(GSM_7, 2, 1)
    assert sms_length("a" * 158 + char).segments == 1
    assert sms_length("a" * 159 + char) == SmsLength(GSM_7, 161, 2)


def test_a_euro_sign_never_splits_across_two_parts() -> None:
    # 306 septets would fill two parts exactly, but the two septets of € would straddle the end
    # of the first part: the whole € starts part two, and the last septet needs a third part.
    text = "a" * 152 + "€" + "a" * 152
    assert sms_length(text) == SmsLength(GSM_7, 306, 3)


def test_an_emoji_is_two_utf_16_code_units() -> None:
    assert sms_length("👍") == SmsLength(UCS_2, 2, 1)
    assert sms_length("a" * 68 + "👍") == SmsLength(UCS_2, 70, 1)
    assert sms_length("a" * 69 + "👍") == SmsLength(UCS_2, 71, 2)


def test_an_emoji_never_splits_across_two_parts() -> None:
    text = "a" * 66 + "👍" + "a" * 66  # 134 units, but the emoji cannot share part one's last unit
    assert sms_length(text) == SmsLength(UCS_2, 134, 3)
