"""The worker console part of `make demo`: the console `make up` started on 127.0.0.1:8080,
used as a browser would (plain HTTP, its session cookie, its forms): grid worker gw-01 signs in
with the development password, sees who they are and their grid, lists the persons of their
grid, opens one's file, is refused a person of another grid by editing the URL, opens the
inbox and the statistics; community worker cw-01 sees the community's statistics; both sign
out (their tokens are revoked at the issuer). Prints the URL and a login to try it in a
browser. Names are never printed."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

from demo_checks import check

import devstack
import sample_community as sample


class _Page(HTMLParser):
    """What the demo reads of a page: its h1, the table rows of persons, links, the CSRF."""

    def __init__(self) -> None:
        super().__init__()
        self.h1, self.csrf, self.text = "", "", ""
        self.person_links: list[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "h1":
            self._in_h1 = True
        if tag == "input" and found.get("name") == "csrf":
            self.csrf = found.get("value") or ""
        href = found.get("href") or ""
        if tag == "a" and re.fullmatch(r"/persons/[0-9a-f-]{36}", href):
            self.person_links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        self.text += data
        if self._in_h1:
            self.h1 += data.strip()


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str, _Page]:
        return self._send(urllib.request.Request(self.base + path))  # noqa: S310 - local

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str, _Page]:
        data = urllib.parse.urlencode(form).encode()
        return self._send(urllib.request.Request(self.base + path, data=data,  # noqa: S310
                                                 method="POST"))

    def _send(self, request: urllib.request.Request) -> tuple[int, str, _Page]:
        try:
            with self.opener.open(request, timeout=20) as response:
                status, body, url = response.status, response.read().decode(), response.url
        except urllib.error.HTTPError as error:
            status, body, url = error.code, error.read().decode(), error.url
        page = _Page()
        page.feed(body)
        return status, url.removeprefix(self.base), page


def _sign_in(base: str, username: str, password: str) -> Browser:
    browser = Browser(base)
    status, where, page = browser.post("/login", {"username": username, "password": password,
                                                  "next": "/"})
    check(status == 200 and where == "/" and page.h1 == "首页",
          f"{username} signs in at {base}/login → the home page ({status})")
    return browser


def run(stack: devstack.Stack) -> None:
    base = stack.console_url()
    password = stack.identity.dev_password()
    grid = sample.GRIDS[0]
    print(f"\n=== 工作台 Worker console {base}")
    print(f"  open {base} in a browser and sign in as gw-01 (grid worker of {grid}), cw-01 "
          f"(community worker) or street-admin; password {password}")
    gw = _sign_in(base, "gw-01", password)
    status, _, home = gw.get("/")
    check(status == 200 and "网格员" in home.text and sample.GRID_PATHS[grid] in home.text,
          "the home page names the worker's role (网格员) and grid")
    status, _, listing = gw.get("/persons")
    check(status == 200 and bool(listing.person_links),
          f"GET /persons → {len(listing.person_links)} persons of grid {grid} on the first page")
    if listing.person_links:
        status, _, file = gw.get(listing.person_links[0])
        check(status == 200 and "残疾类别" in file.text,
              f"a person's file {listing.person_links[0]} ({status})")
    cw = _sign_in(base, "cw-01", password)
    status, _, other = cw.get("/persons?page_size=200")
    foreign = [link for link in other.person_links if link not in listing.person_links]
    if foreign:
        status, _, refused = gw.get(foreign[-1])
        check(status in (403, 404), f"gw-01 edits the URL to a person of another grid → "
                                    f"{status} ({refused.h1})")
    for path in ("/inbox", "/stats", "/verification", "/warnings"):
        status, _, shown = cw.get(path)
        check(status == 200, f"cw-01 GET {path} → {status} ({shown.h1})")
    status, _, with_csrf = gw.get("/")
    status, where, _ = gw.post("/logout", {"csrf": with_csrf.csrf})
    check(where.startswith("/login"), "gw-01 signs out (the token is revoked at the issuer)")
    status, where, _ = gw.get("/persons")
    check(where.startswith("/login"), "after signing out the pages ask to sign in again")
