"""The sink's thin adapter to auth's guard and login desk: Starlette requests in, Starlette responses out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from auth import COOKIE, Account, Answer, Asking, Door, Guard, JsonAnswer, LoginDesk, PageAnswer, Redirect, TextAnswer

Handler = Callable[[Request, Account], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def asking(request: Request) -> Asking:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Asking(
        request.method,
        target,
        request.headers.get("authorization"),
        request.cookies.get(COOKIE),
        request.client.host if request.client else None,
    )


def _redirect(answer: Redirect) -> Response:
    response = RedirectResponse(answer.location, status_code=303)
    if answer.set_session is not None:
        cookie = answer.set_session
        response.set_cookie(COOKIE, cookie.value, max_age=cookie.max_age_s, httponly=True, samesite="strict", path="/")
    if answer.end_session:
        response.delete_cookie(COOKIE, path="/")
    return response


def respond(answer: Answer) -> Response:
    match answer:
        case JsonAnswer(status, body):
            return JSONResponse(body, status_code=status)
        case TextAnswer(status, text, headers):
            return PlainTextResponse(text, status_code=status, headers=headers)
        case PageAnswer(status, html):
            return HTMLResponse(html, status_code=status)
        case Redirect():
            return _redirect(answer)
    raise TypeError(f"not an answer: {answer!r}")


def guarded(guard: Guard, door: Door, handler: Handler) -> Endpoint:
    """handler(request, account) for the accounts door admits; everyone else gets door's refusal."""

    async def endpoint(request: Request) -> Response:
        admitted = await guard.admit(asking(request), door)
        if isinstance(admitted, Account):
            return await handler(request, admitted)
        return respond(admitted)

    return endpoint


def login_routes(desk: LoginDesk) -> list[Route]:
    """GET/POST /login and GET/POST /logout."""

    async def form(request: Request) -> Response:
        return respond(desk.form(request.query_params.get("next"), request.query_params.get("lang")))

    async def submit(request: Request) -> Response:
        posted = parse_qs((await request.body()).decode("utf-8", "replace"))
        fields = {key: values[0] for key, values in posted.items()}
        return respond(await desk.submit(fields, request.client.host if request.client else None))

    async def logout(request: Request) -> Response:
        return respond(desk.logout(None))  # the sink's pages have no language switch: to a bare /login

    return [
        Route("/login", form, methods=["GET"]),
        Route("/login", submit, methods=["POST"]),
        Route("/logout", logout, methods=["GET", "POST"]),
    ]
