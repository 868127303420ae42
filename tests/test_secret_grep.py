"""The suite's log grep (conftest.py): a short numeric code counts as a leak when it stands as
a token of its own, not when it is part of a longer number or of a hex digest."""

from conftest import _occurrences


def test_a_short_code_counts_alone_and_not_inside_another_token():
    assert _occurrences("264130", "code 264130 envoyé") == [5]
    assert _occurrences("264130", 'totp="264130"') == [6]
    assert _occurrences("264130", "Content-Length: 1264130") == []
    assert _occurrences("264130", "signature=00490d264130aa3c") == []


def test_a_long_secret_counts_wherever_it_appears():
    assert _occurrences("s3cr3t-token", "x-s3cr3t-tokenx") == [2]
