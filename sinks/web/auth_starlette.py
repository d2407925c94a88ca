"""The sink's thin adapter to auth's guard and login desk: Starlette requests in, Starlette responses out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

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
        request.headers.get(FORWARDED_FOR),
        request.cookies.get(CSRF_COOKIE),
    )


def _cookie(response: Response, name: str, value: str, max_age_s: int | None, secure: bool) -> None:
    """Every cookie of ours: HttpOnly, SameSite=Strict, path /; Secure when the public URL is https."""
    response.set_cookie(name, value, max_age=max_age_s, httponly=True, samesite="strict", path="/", secure=secure)


def _redirect(answer: Redirect) -> Response:
    response = RedirectResponse(answer.location, status_code=303)
    if answer.set_session is not None:
        cookie = answer.set_session
        _cookie(response, COOKIE, cookie.value, cookie.max_age_s, cookie.secure)
    if answer.end_session:
        response.delete_cookie(COOKIE, path="/")
    return response


def _page(status: int, html: str, headers: dict[str, str], csrf: CsrfCookie | None) -> Response:
    response = HTMLResponse(html, status_code=status, headers=headers)
    if csrf is not None:
        _cookie(response, CSRF_COOKIE, csrf.value, None, csrf.secure)
    return response


def respond(answer: Answer) -> Response:
    match answer:
        case JsonAnswer(status, body, headers):
            return JSONResponse(body, status_code=status, headers=headers)
        case TextAnswer(status, text, headers):
            return PlainTextResponse(text, status_code=status, headers=headers)
        case PageAnswer(status, html, headers, csrf):
            return _page(status, html, headers, csrf)
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
    """GET/POST /login and POST /logout (a GET changes nothing: no form, no token)."""

    async def form(request: Request) -> Response:
        query = request.query_params
        return respond(desk.form(query.get("next"), query.get("lang"), asking(request)))

    async def posted(request: Request) -> dict[str, str]:
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        return {key: values[0] for key, values in fields.items()}

    async def submit(request: Request) -> Response:
        return respond(await desk.submit(await posted(request), asking(request)))

    async def logout(request: Request) -> Response:  # the sink's pages have no language switch: to a bare /login
        return respond(desk.logout(None, await posted(request), asking(request)))

    return [
        Route("/login", form, methods=["GET"]),
        Route("/login", submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]
