"""Helpers for tests of the web pages: users with passwords, signing in, CSRF tokens."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

PASSWORD = "correct horse battery staple"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD, **headers: str):
    """Sign in through the sign-in form and return the response to the form's POST.

    A client that is signed in already signs out first.
    """
    page = client.get("/sign-in", headers=headers)
    if page.status_code == 302:
        client.post("/sign-out", data={"csrf_token": page_token(client)})
        page = client.get("/sign-in", headers=headers)
    return client.post("/sign-in", data={"username": username, "password": password,
                                         "csrf_token": csrf_token(page.get_data(as_text=True))},
                       headers=headers)


def page_token(client: FlaskClient, path: str = "/documents") -> str:
    """Return the session's CSRF token, read from a page of the signed-in session."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return csrf_token(response.get_data(as_text=True))
