"""The login page and the one login/logout handling of both web apps.

A browser GETs /login (the form, in the language asked for or the one of the page it returns to, with
its CSRF token: auth.csrf), POSTs it (no valid token: the form again, 403; throttled: the form again
saying how long to wait, 429 with Retry-After; a wrong password: the form again with a message, 401;
else 303 back with a session cookie), and POST /logout with the token bound to the session ends it.
The apps differ only in where a login returns by default and their language.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from urllib.parse import urlencode

from schemas.i18n import LANGUAGES, Texts, lang_in, pick, with_lang

from .answers import Answer, CsrfCookie, PageAnswer, Redirect, SessionCookie, TextAnswer
from .csrf import CSRF_FIELD, new_binding
from .guard import Asking, Guard
from .throttle import Throttled

LOGIN_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}}
label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;padding:.4rem;font:inherit;box-sizing:border-box}}
button{{margin-top:1rem;padding:.4rem 1.2rem;font:inherit}}.error{{color:#a00}}nav{{float:right}}nav a{{margin-left:.6rem}}</style></head>
<body><nav>{languages}</nav><h1>{heading}</h1>{message}
<form method="post" action="/login">
<input type="hidden" name="next" value="{next}"><input type="hidden" name="lang" value="{lang}">
<input type="hidden" name="csrf" value="{csrf}">
<label for="name">{account}</label><input id="name" name="name" autocomplete="username" required autofocus>
<label for="password">{password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{submit}</button></form>
<p><small>{note}</small></p></body></html>
"""  # noqa: E501 (the page as it is served, byte for byte)
LOGOUT_REFUSED = "logout refused: the form carried no valid CSRF token; use the dashboard's Log out button\n"


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


def login_page(next_path: str = "/", lang: str = "vi", notice: str = "", csrf: str = "") -> str:
    """The login form in `lang` (texts from schemas/messages.toml) with its CSRF token; notice: what to say
    about the last try (wrong, throttled, expired), in that language."""
    tr = Texts(lang)
    note = f'<p class="error" role="alert">{escape(notice)}</p>' if notice else ""
    return LOGIN_PAGE.format(
        lang=lang,
        title=escape(tr("login.title")),
        heading=escape(tr("login.heading")),
        message=note,
        next=escape(next_path, quote=True),
        csrf=escape(csrf, quote=True),
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

    def _page(self, status: int, target: str, lang: str, asking: Asking, notice: str = "") -> PageAnswer:
        """The form, bound to the browser's CSRF cookie (a new one when it has none)."""
        binding = asking.csrf or new_binding()
        cookie = None if asking.csrf else CsrfCookie(binding, self.guard.secure_cookies)
        html = login_page(target, lang, notice, self.guard.csrf.token(binding))
        return PageAnswer(status, html, csrf_cookie=cookie)

    def form(self, next_path: str | None, lang: str | None, asking: Asking) -> PageAnswer:
        target = safe_next(next_path, self.home)
        return self._page(200, target, self._page_lang(lang, target), asking)

    async def submit(self, form: Mapping[str, str], asking: Asking) -> Answer:
        """A posted form (name, password, next, lang, csrf): back to next with a session, or the form again."""
        target = safe_next(form.get("next", ""), self.home)
        lang, name = self._page_lang(form.get("lang"), target), form.get("name", "")
        tr = Texts(lang)
        if not self.guard.csrf.valid(asking.csrf, form.get(CSRF_FIELD)):
            self.guard.record.event("csrf", name, self.guard.address(asking), asking.path)
            return self._page(403, target, lang, asking, tr("login.expired"))
        account = await self.guard.password(name, form.get("password", ""), asking)
        if isinstance(account, Throttled):
            wait = str(account.retry_after_s)
            page = self._page(429, target, lang, asking, tr("login.throttled", seconds=wait))
            return PageAnswer(page.status, page.html, {"Retry-After": wait}, page.csrf_cookie)
        if account is None:
            return self._page(401, target, lang, asking, tr("login.wrong"))
        sessions = self.guard.sessions
        cookie = SessionCookie(sessions.issue(account), int(sessions.lifetime_s), self.guard.secure_cookies)
        return Redirect(target, set_session=cookie)

    def logout(self, lang: str | None, form: Mapping[str, str], asking: Asking) -> Answer:
        """The session ends if the form's token is the one bound to it (a form of ours, not another site's);
        to the login page, in lang when it is one (the dashboard's language)."""
        account = self.guard.sessions.account(asking.session) if asking.session else None
        address = self.guard.address(asking)
        if account is not None and not self.guard.csrf.valid(asking.session, form.get(CSRF_FIELD)):
            self.guard.record.event("csrf", account.name, address, asking.path)
            return TextAnswer(403, LOGOUT_REFUSED)
        if account is not None:
            self.guard.record.event("logout", account.name, address, asking.path)
        return Redirect("/login" + (f"?lang={lang}" if lang in LANGUAGES else ""), end_session=True)
