"""One reading of option text for protocols (--param) and backends (--backend-option)."""

from typing import Literal

import pytest

from jurybox._options_text import NotFromText, value_from_text


class Bad(Exception):
    pass


def bad(what: str) -> Bad:
    return Bad(what)


@pytest.mark.parametrize(("hint", "text", "value"), [
    (int, "3", 3), (float, "0.5", 0.5), (bool, "Yes", True), (bool, "off", False), (str, "x", "x"),
    (int | None, "null", None), (str | None, "none", "none"), (Literal["vote", "margin"], "margin", "margin"),
    (Literal[1, 2], "2", 2), (int | str, "7", 7), (int | str, "seven", "seven"), (list, "[1, 2]", [1, 2]),
    (dict[str, int], '{"a": 1}', {"a": 1}),
])
def test_typed_values(hint, text, value):
    assert value_from_text(hint, text, bad, lenient=False) == value


@pytest.mark.parametrize(("hint", "text", "what"), [
    (int, "3.5", "an integer"), (float, "x", "a number"), (bool, "maybe", "true or false"),
    (Literal["vote", "margin"], "sum", "one of vote, margin"), (list, '{"a": 1}', "a JSON array"),
    (int | float, "x", "int or float"),
])
def test_bad_text_names_the_type(hint, text, what):
    with pytest.raises(Bad, match=what):
        value_from_text(hint, text, bad, lenient=False)


def test_unknown_annotation_is_json_or_text_only_when_lenient():
    class Custom:
        pass

    assert value_from_text(Custom, "[1]", bad, lenient=True) == [1]
    assert value_from_text(Custom, "plain words", bad, lenient=True) == "plain words"
    with pytest.raises(NotFromText):
        value_from_text(Custom, "[1]", bad, lenient=False)
