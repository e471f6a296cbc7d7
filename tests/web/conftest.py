"""Fixtures of the web page tests: the users of the API fixtures, with passwords."""

from __future__ import annotations

import pytest

from tests.web.helpers import PASSWORD


@pytest.fixture
def web_users(app, tokens, chair_token) -> dict[str, str]:
    """Usernames by role of the API fixtures' users, each with the password PASSWORD.

    Names, designations and offices are Bengali, as visible stamps need.
    """
    from service.extensions import db
    from service.models import User
    from service.passwords import set_password

    names = {
        "test-officer": ("পরীক্ষা কর্মকর্তা", "সহকারী নিয়ন্ত্রক"),
        "test-chair": ("পরীক্ষা সভাপতি", "পরিচালক"),
        "test-auditor": ("পরীক্ষা নিরীক্ষক", "নিরীক্ষক"),
    }
    for user in db.session.execute(db.select(User)).scalars():
        set_password(user, PASSWORD)
        if user.username in names:
            user.display_name, user.designation = names[user.username]
            user.office = "সিসিএ কার্যালয়"
    db.session.commit()
    return {"officer": "test-officer", "chair": "test-chair", "auditor": "test-auditor",
            "service": "test-service", "admin": "test-admin"}
