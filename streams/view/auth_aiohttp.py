"""The worker's thin adapter to auth's guard and login desk: aiohttp requests in, aiohttp responses out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from auth import COOKIE, Account, Answer, Asking, Door, Guard, JsonAnswer, LoginDesk, PageAnswer, Redirect, TextAnswer

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
    )


def _redirect(answer: Redirect) -> web.Response:
    response = web.Response(status=303, headers={"Location": answer.location})
    if answer.set_session is not None:
        cookie = answer.set_session
        response.set_cookie(COOKIE, cookie.value, max_age=cookie.max_age_s, httponly=True, samesite="Strict", path="/")
    if answer.end_session:
        response.del_cookie(COOKIE, path="/")
    return response


def respond(answer: Answer) -> web.Response:
    match answer:
        case JsonAnswer(status, body):
            return json_response(body, status)
        case TextAnswer(status, text, headers):
            return web.Response(status=status, text=text, headers=headers)
        case PageAnswer(status, html):
            return web.Response(status=status, text=html, content_type="text/html")
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
    """GET/POST /login and GET/POST /logout."""

    async def form(request: web.Request) -> web.Response:
        return respond(desk.form(request.query.get("next"), request.query.get("lang")))

    async def submit(request: web.Request) -> web.Response:
        posted = await request.post()
        fields = {key: str(posted[key]) for key in posted}  # the first value of each, as .get() reads
        return respond(await desk.submit(fields, request.remote))

    async def logout(request: web.Request) -> web.Response:
        return respond(desk.logout(request.query.get("lang")))  # the login page in the dashboard's language

    router.add_get("/login", form)
    router.add_post("/login", submit)
    router.add_post("/logout", logout)
    router.add_get("/logout", logout)
