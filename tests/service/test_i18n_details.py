"""Problem details end as sentences in both languages."""

from __future__ import annotations

from service.i18n import problem_text


def test_reason_at_end_gets_full_stop():
    _, bengali = problem_text("field_invalid", "bn", {"field": "memo_number", "reason_en": "use digits",
                                                        "reason_bn": "অঙ্ক দিন"})
    _, english = problem_text("field_invalid", "en", {"field": "memo_number", "reason_en": "use digits",
                                                        "reason_bn": "অঙ্ক দিন"})

    assert bengali.endswith("অঙ্ক দিন।")
    assert english.endswith("use digits.")


def test_finished_sentence_left_alone():
    _, bengali = problem_text("field_missing", "bn", {"field": "title"})
    _, english = problem_text("field_invalid", "en", {"field": "kind", "reason_en": "use 'minutes' (or 'evidence')",
                                                       "reason_bn": ""})

    assert bengali.endswith("আবশ্যক।")
    assert not bengali.endswith("।।")
    assert english.endswith("'evidence')")
