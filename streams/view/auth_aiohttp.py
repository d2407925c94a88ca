"""The worker's thin adapter to auth's guard and login desk: aiohttp requests in, aiohttp responses out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from auth import (
    COOKIE,
    CSRF_COOKIE,
    FORWARDED_FOR,
    Account,
    Answer,
    Asking,
    CsrfCookie,
    Door,
    Guard,
    JsonAnswer,
    LoginDesk,
    PageAnswer,
    Redirect,
    TextAnswer,
)

Handler = Callable[[web.Request, Account], Awaitable[web.StreamResponse]]
Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(body: object, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def asking(request: web.Request) -> Asking:
    return Asking(
        request.method,
        request.path_qs,
        request.headers.get("Authorization"),
        request.cookies.get(COOKIE),
        request.remote,
        request.headers.get(FORWARDED_FOR),
        request.cookies.get(CSRF_COOKIE),
    )


def _cookie(response: web.Response, name: str, value: str, max_age_s: int | None, secure: bool) -> None:
    """Every cookie of ours: HttpOnly, SameSite=Strict, path /; Secure when the public URL is https."""
    response.set_cookie(name, value, max_age=max_age_s, httponly=True, samesite="Strict", path="/", secure=secure)


def _redirect(answer: Redirect) -> web.Response:
    response = web.Response(status=303, headers={"Location": answer.location})
    if answer.set_session is not None:
        cookie = answer.set_session
        _cookie(response, COOKIE, cookie.value, cookie.max_age_s, cookie.secure)
    if answer.end_session:
        response.del_cookie(COOKIE, path="/")
    return response


def _page(status: int, html: str, headers: dict[str, str], csrf: CsrfCookie | None) -> web.Response:
    response = web.Response(status=status, text=html, content_type="text/html", headers=headers)
    if csrf is not None:
        _cookie(response, CSRF_COOKIE, csrf.value, None, csrf.secure)
    return response


def respond(answer: Answer) -> web.Response:
    match answer:
        case JsonAnswer(status, body, headers):
            response = json_response(body, status)
            response.headers.update(headers)
            return response
        case TextAnswer(status, text, headers):
            return web.Response(status=status, text=text, headers=headers)
        case PageAnswer(status, html, headers, csrf):
            return _page(status, html, headers, csrf)
        case Redirect():
            return _redirect(answer)
    raise TypeError(f"not an answer: {answer!r}")


def guarded(guard: Guard, door: Door, handler: Handler) -> Route:
    """handler(request, account) for the accounts door admits; everyone else gets door's refusal."""

    async def route(request: web.Request) -> web.StreamResponse:
        admitted = await guard.admit(asking(request), door)
        if isinstance(admitted, Account):
            return await handler(request, admitted)
        if isinstance(admitted, Redirect):  # a browser sent to log in: aiohttp's own 303 (yarl-encoded Location)
            raise web.HTTPSeeOther(admitted.location)
        return respond(admitted)

    return route


def add_login_routes(router: web.UrlDispatcher, desk: LoginDesk) -> None:
    """GET/POST /login and POST /logout (a GET changes nothing: no form, no token)."""

    async def form(request: web.Request) -> web.Response:
        return respond(desk.form(request.query.get("next"), request.query.get("lang"), asking(request)))

    async def posted(request: web.Request) -> dict[str, str]:
        fields = await request.post()
        return {key: str(fields[key]) for key in fields}  # the first value of each, as .get() reads

    async def submit(request: web.Request) -> web.Response:
        return respond(await desk.submit(await posted(request), asking(request)))

    async def logout(request: web.Request) -> web.Response:  # to the login page in the dashboard's language
        return respond(desk.logout(request.query.get("lang"), await posted(request), asking(request)))

    router.add_get("/login", form)
    router.add_post("/login", submit)
    router.add_post("/logout", logout)
