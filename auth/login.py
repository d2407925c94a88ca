"""The login page and the one login/logout handling of both web apps.

A browser GETs /login (the form, in the language asked for or the one of the page it returns to),
POSTs it (a wrong password: the form again with a message, 401; else 303 back with a session cookie),
and /logout ends the session. The apps differ only in where a login returns by default and their language.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import urlencode

from schemas.i18n import LANGUAGES, Texts, lang_in, pick, with_lang

from .answers import Answer, PageAnswer, Redirect, SessionCookie
from .guard import Guard

LOGIN_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}}
label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.4rem;font:inherit;box-sizing:border-box}}
button{{margin-top:1rem;padding:.4rem 1.2rem;font:inherit}}.error{{color:#a00}}nav{{float:right}}nav a{{margin-left:.6rem}}</style></head>
<body><nav>{languages}</nav><h1>{heading}</h1>{message}
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}"><input type="hidden" name="lang" value="{lang}">
<label for="name">{account}</label><input id="name" name="name" autocomplete="username" required autofocus>
<label for="password">{password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{submit}</button></form>
<p><small>{note}</small></p></body></html>
"""  # noqa: E501 (the page as it was served, byte for byte)


def safe_next(target: str | None, default: str) -> str:
    """Where to go after logging in: a path on this server only (no //host, no scheme)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def _other_languages(next_path: str, lang: str, tr: Texts) -> str:
    return "".join(
        f'<a href="/login?{escape(urlencode({"next": with_lang(next_path, code), "lang": code}))}" lang="{code}">'
        f"{escape(tr('language.' + code))}</a>"
        for code in LANGUAGES
        if code != lang
    )


def login_page(next_path: str = "/", lang: str = "vi", wrong: bool = False) -> str:
    """The login form in `lang` (texts from schemas/messages.toml), saying so when the last try was wrong."""
    tr = Texts(lang)
    note = f'<p class="error" role="alert">{escape(tr("login.wrong"))}</p>' if wrong else ""
    return LOGIN_PAGE.format(
        lang=lang,
        title=escape(tr("login.title")),
        heading=escape(tr("login.heading")),
        message=note,
        next=escape(next_path, quote=True),
        account=escape(tr("login.account")),
        password=escape(tr("login.password")),
        submit=escape(tr("login.submit")),
        note=escape(tr("login.accounts_note", command="\0")).replace("\0", "<code>p06 users add</code>"),
        languages=_other_languages(next_path, lang, tr),
    )


class LoginDesk:
    """/login and /logout of one app: home is where a login returns by default, lang the app's language."""

    def __init__(self, guard: Guard, home: str, lang: str) -> None:
        self.guard = guard
        self.home = home
        self.lang = lang

    def _page_lang(self, asked: str | None, target: str) -> str:
        """The login page's language: asked for (?lang=, the form's), else the page it returns to's, else lang."""
        return pick(asked or None, lang_in(target), self.lang)

    def form(self, next_path: str | None, lang: str | None) -> PageAnswer:
        target = safe_next(next_path, self.home)
        return PageAnswer(200, login_page(target, self._page_lang(lang, target)))

    async def submit(self, form: Mapping[str, str], client: str | None) -> Answer:
        """A posted form (name, password, next, lang): back to next with a session, or the form again (401)."""
        target = safe_next(form.get("next", ""), self.home)
        account = await self.guard.password(form.get("name", ""), form.get("password", ""), client)
        if account is None:
            return PageAnswer(401, login_page(target, self._page_lang(form.get("lang"), target), wrong=True))
        cookie = SessionCookie(self.guard.sessions.issue(account), int(self.guard.sessions.lifetime_s))
        return Redirect(target, set_session=cookie)

    def logout(self, lang: str | None) -> Redirect:
        """The session ends; to the login page, in lang when it is one (the dashboard's language)."""
        return Redirect("/login" + (f"?lang={lang}" if lang in LANGUAGES else ""), end_session=True)
