"""The web console in a real browser: Debian's chromium, headless, driven by Selenium.

Each test starts `hamta-gateway demo` as `make demo` does (simulator, gateway, console with
its phone, on the session's private redis-server), reads the console's address from the
demo's first lines, and uses the page as a tester would: picks a demo number, texts or dials,
reads the replies in the page. Waits are on page conditions (WebDriverWait), never sleeps.
Screenshots (desktop and a 390 px phone) go to $HAMTA_ARTIFACTS/console, else
tests/artifacts/console (git-ignored).

Nothing is downloaded: the browser is /usr/bin/chromium and the driver /usr/bin/chromedriver,
its path given to Selenium so that Selenium Manager never runs. Without them (see
scripts/ensure-chromium.sh, run by `make test`) these tests skip, saying what to install.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import redis
from aiohttp import web
from redis.asyncio import Redis

from devtools.redis_server import RedisServer
from gateway.console import AdminAddress, ConsoleOptions
from gateway.store.keys import Keys
from gateway.store.registry import RedisRegistry
from gateway.transports.http_app import build_http_app
from tests.harness import SARA_DEVICE, SARA_NEW

webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is in the test extras: pip install -e '.[test]'"
)
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys as Key  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

ROOT: Final = Path(__file__).resolve().parents[2]
BROWSER: Final = Path("/usr/bin/chromium")
DRIVER: Final = Path("/usr/bin/chromedriver")
MISSING: Final = "chromium not installed: sudo apt-get install chromium chromium-driver fonts-noto-core"
WAIT: Final = 20.0  # seconds for one page condition (a dialog turn takes well under one)
PHONE_WIDTH: Final = 390

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (BROWSER.exists() and DRIVER.exists()), reason=MISSING),
]


# -- the demo, as `make demo` runs it ---------------------------------------------------------------


class Demo:
    """`python -m gateway demo --redis-url URL`; its stdout lines are read as they come."""

    def __init__(self, redis_url: str, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HAMTA_")}
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "demo", "--redis-url", redis_url],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            text=True, encoding="utf-8",
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def console_url(self) -> str:
        """The address the demo prints in its first lines."""
        for _ in range(5):
            line = self.lines.get(timeout=60)
            if line.startswith("Web console: "):
                return line.removeprefix("Web console: ")
        raise AssertionError("the demo did not print 'Web console: ...' in its first lines")

    def stop(self) -> None:
        """End of input ends the demo's terminal phone, and with it the demo."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        finally:
            self._log.close()


@pytest.fixture
def demo_redis(redis_server: RedisServer) -> str:
    if not redis_server.running:
        redis_server.start()
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()  # the demo refuses a Redis that holds anything
    return redis_server.url


@pytest.fixture
def console(demo_redis: str, tmp_path: Path) -> Iterator[str]:
    demo = Demo(demo_redis, tmp_path / "demo.log")
    try:
        yield demo.console_url()
    finally:
        demo.stop()
        print("--- demo log ---", (tmp_path / "demo.log").read_text("utf-8", "replace")[-4000:], sep="\n")


# -- the browser ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(BROWSER)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1280,900", "--lang=fa-IR", "--no-first-run", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):  # fmt: skip
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=str(DRIVER))  # never Selenium Manager
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser: WebDriver, console: str) -> WebDriver:
    open_page(browser, console)
    return browser


def until(driver: WebDriver, condition: Callable[[WebDriver], Any], timeout: float = WAIT) -> Any:
    return WebDriverWait(driver, timeout, ignored_exceptions=[StaleElementReferenceException]).until(
        condition
    )


def artifacts() -> Path:
    where = Path(os.environ.get("HAMTA_ARTIFACTS") or ROOT / "tests" / "artifacts") / "console"
    where.mkdir(parents=True, exist_ok=True)
    return where


def screenshot(driver: WebDriver, name: str, phone: bool = False) -> Path:
    """The whole page as PNG: the viewport made as tall as the page for the shot (Chromium's
    captureBeyondViewport shifts right-to-left pages sideways), then put back."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width, scale = (PHONE_WIDTH, 2) if phone else (driver.execute_script("return window.innerWidth"), 1)
    metrics = {"width": width, "height": min(height, 4000), "deviceScaleFactor": scale, "mobile": phone}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    if phone:
        phone_width(driver)
    else:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    path = artifacts() / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def phone_width(driver: WebDriver) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": PHONE_WIDTH, "height": 844, "deviceScaleFactor": 2, "mobile": True},
    )


# -- the page, as a tester uses it ---------------------------------------------------------------------


def open_tab(driver: WebDriver, name: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'[data-tab="{name}"]').click()
    until(driver, lambda d: d.find_element(By.ID, name).is_displayed())


def pick_number(driver: WebDriver, msisdn: str) -> None:
    Select(driver.find_element(By.ID, "phone-number")).select_by_value(msisdn)
    local = "0" + msisdn[2:]
    until(driver, lambda d: d.find_element(By.ID, "handset-number").text == local)


def replies(driver: WebDriver) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, "#thread .bubble.mt")


def text_and_wait(driver: WebDriver, text: str, expected: str) -> WebElement:
    """Type `text` into the SMS composer, send it, and wait for a new reply containing `expected`."""
    seen = len(replies(driver))
    field = driver.find_element(By.ID, "sms-text")
    field.send_keys(text, Key.ENTER)

    def new_reply(d: WebDriver) -> WebElement | bool:
        fresh = [bubble for bubble in replies(d)[seen:] if expected in bubble.text]
        return fresh[0] if fresh else False

    reply: WebElement = until(driver, new_reply)
    return reply


def dashboard_counter(driver: WebDriver, name: str) -> float:
    """The value the dashboard shows for metric `name` (summed over its labels), once it has
    polled /metrics; the dashboard must have read /metrics (`data-metrics="ok"`)."""
    until(driver, lambda d: int(d.find_element(By.TAG_NAME, "body").get_attribute("data-polls") or 0) >= 1)
    state = driver.find_element(By.TAG_NAME, "body").get_attribute("data-metrics")
    assert state == "ok", f"the dashboard could not read /metrics ({state})"
    value = driver.find_element(By.CSS_SELECTOR, f'[data-metric="{name}"]:not([data-labels])')
    shown = value.get_attribute("data-value")
    return float(shown) if shown else 0.0  # exported, no sample yet (a counter without labels seen)


def assert_counter_moved(driver: WebDriver, name: str, before: float) -> None:
    until(driver, lambda d: dashboard_counter(d, name) > before)


def assert_no_page_errors(driver: WebDriver, *expected: str) -> None:
    """Since the page was opened: no script error, no refused resource (CSP), no failed request
    but /metrics while it is 404 and the `expected` ones (a URL's text)."""
    errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    allowed = ("/metrics ", *expected)
    assert [message for message in errors if not any(text in message for text in allowed)] == []


def open_page(driver: WebDriver, url: str) -> None:
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.get_log("browser")  # the last page's messages: not this one's
    driver.get(url)
    until(driver, lambda d: d.find_element(By.CSS_SELECTOR, "html[data-ready]"))


async def _device_home(redis_url: str, imei: str) -> tuple[str, str]:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        device = await RedisRegistry(client, Keys()).device(imei)
    finally:
        await client.aclose()
    assert device is not None
    return device.sim, device.national_id


# -- the tests ------------------------------------------------------------------------------------------


def test_a_persian_restore_typed_into_the_console_phone(page: WebDriver, demo_redis: str) -> None:
    assert asyncio.run(_device_home(demo_redis, SARA_DEVICE)) == ("989351110002", "")
    received = dashboard_counter(page, "hamta_mo_received_total")
    recoveries = dashboard_counter(page, "hamta_recoveries_total")
    turns = dashboard_counter(page, "hamta_turns_total")
    open_tab(page, "phone")
    pick_number(page, SARA_NEW)

    text_and_wait(page, "سلام", "۱ بازیابی دستگاه")
    text_and_wait(page, "۱", "شناسه IMEI")
    text_and_wait(page, "۴۹۰۱۵۴۲۰۳۲۳۷۵۱۸", "سیم‌کارت قبلی")  # Persian digits, as typed
    text_and_wait(page, "09351110002", "کد تأیید همتا")
    use_code = until(page, lambda d: d.find_element(By.CSS_SELECTOR, "#thread .bubble.mt .use-code"))
    use_code.click()  # the code from the SMS into the composer, as a tester would copy it
    code = use_code.get_attribute("data-code")
    assert page.find_element(By.ID, "sms-text").get_attribute("value") == code
    text_and_wait(page, "", "به کارتابل همین سیم‌کارت منتقل شد")
    screenshot(page, "desktop-phone-restore")

    assert asyncio.run(_device_home(demo_redis, SARA_DEVICE)) == (SARA_NEW, "")
    open_tab(page, "dashboard")
    until(page, lambda d: "بازیابی دستگاه" in d.find_element(By.ID, "recent").text)  # the audit, masked
    recent = page.find_element(By.ID, "recent").text
    assert "0936***0003" in recent and "09361110003" not in recent and SARA_DEVICE not in recent
    screenshot(page, "desktop-dashboard")
    assert_no_page_errors(page)
    assert_counter_moved(page, "hamta_mo_received_total", received)
    assert_counter_moved(page, "hamta_turns_total", turns)
    assert_counter_moved(page, "hamta_recoveries_total", recoveries)


def test_a_ussd_dialogue_in_the_console_phone(page: WebDriver) -> None:
    open_tab(page, "phone")
    pick_number(page, "989121110001")
    page.find_element(By.ID, "mode-ussd").click()
    assert page.find_element(By.ID, "dial-code").get_attribute("value") == "*7777#"
    page.find_element(By.ID, "dial-button").click()

    box = '#ussd-box[data-state="user"]'
    until(
        page,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, box)
            and "۱ بازیابی دستگاه" in d.find_element(By.ID, "ussd-screen").text
        ),
    )
    page.find_element(By.ID, "ussd-text").send_keys("1", Key.ENTER)
    until(page, lambda d: "شناسه IMEI" in d.find_element(By.ID, "ussd-screen").text
          and d.find_element(By.CSS_SELECTOR, box))  # fmt: skip
    phone_width(page)
    screenshot(page, "phone-ussd", phone=True)
    page.find_element(By.ID, "ussd-cancel").click()
    until(page, lambda d: d.find_element(By.CSS_SELECTOR, '#ussd-box[data-state="ended"]'))
    assert "قطع کردید" in page.find_element(By.ID, "ussd-status").text
    assert page.find_element(By.ID, "ussd-text").get_attribute("disabled") is not None


def test_the_console_is_right_to_left_and_english_replies_left_to_right(page: WebDriver) -> None:
    root = page.find_element(By.TAG_NAME, "html")
    assert (root.get_attribute("lang"), root.get_attribute("dir")) == ("fa", "rtl")
    style = page.execute_script("return getComputedStyle(document.body).direction")
    assert style == "rtl"
    open_tab(page, "phone")
    pick_number(page, "989121110010")
    persian = text_and_wait(page, "سلام", "همتا")
    english = text_and_wait(page, "EN", "in English")
    direction = "return getComputedStyle(arguments[0]).direction"
    assert page.execute_script(direction, persian) == "rtl"
    assert page.execute_script(direction, english) == "ltr"  # dir="auto" on every bubble
    screenshot(page, "desktop-phone")
    phone_width(page)
    assert (
        page.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH
    )  # no sideways scroll
    screenshot(page, "phone-phone", phone=True)
    open_tab(page, "dashboard")
    assert page.execute_script("return document.documentElement.scrollWidth") <= PHONE_WIDTH
    screenshot(page, "phone-dashboard", phone=True)
    open_tab(page, "admin")
    screenshot(page, "phone-admin", phone=True)


# -- the dashboard against the Prometheus text format --------------------------------------------------

# What prometheus-client writes (text format 0.0.4): HELP/TYPE lines, _created samples, labels in
# any order, escapes, a histogram's cumulative buckets.
METRICS_TEXT: Final = """\
# HELP hamta_mo_received_total MOs stored
# TYPE hamta_mo_received_total counter
hamta_mo_received_total{channel="sms",transport="smpp"} {sms}
hamta_mo_received_created{channel="sms",transport="smpp"} 1.7e+09
hamta_mo_received_total{transport="smpp",channel="ussd"} 2.0
# TYPE hamta_turns_total counter
hamta_turns_total{flow="restore",step="ask_imei",outcome="ok"} {turns}
hamta_turns_total{flow="password",outcome="invalid",step="ask_birth_date"} 1.0
# TYPE hamta_recoveries_total counter
hamta_recoveries_total{procedure="restore",outcome="restored"} 2.0
hamta_recoveries_total{procedure="password",outcome="refused_r6"} 1.0
hamta_recoveries_total{procedure="restore",outcome="a \\"new\\" one"} 1.0
# TYPE hamta_smpp_bound gauge
hamta_smpp_bound{bind="receiver"} 1.0
hamta_smpp_bound{bind="transmitter"} 0.0
# TYPE hamta_partitions_held gauge
hamta_partitions_held 8.0
# TYPE hamta_queue_depth gauge
hamta_queue_depth{direction="inbound"} 3.0
hamta_queue_depth{direction="outbound"} 0.0
# TYPE hamta_reply_seconds histogram
hamta_reply_seconds_bucket{le="0.1"} 0.0
hamta_reply_seconds_bucket{le="0.5"} 10.0
hamta_reply_seconds_bucket{le="1.0"} 20.0
hamta_reply_seconds_bucket{le="+Inf"} 20.0
hamta_reply_seconds_count 20.0
hamta_reply_seconds_sum 9.5
"""


@contextlib.contextmanager
def serving(*apps: web.Application) -> Iterator[list[int]]:
    """`apps` on free ports, on an event loop in a thread of its own: the browser's calls block
    this one, the servers must answer meanwhile. Yields the ports, in order."""
    loop = asyncio.new_event_loop()
    runners = [web.AppRunner(app) for app in apps]
    ports: list[int] = []
    for runner in runners:
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
        ports.append(runner.addresses[0][1])
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield ports
    finally:
        for runner in runners:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


async def _ready() -> list[str]:
    return []


class MetricsPage:
    """The console (no phone) beside a /metrics route serving `text()`."""

    def __init__(self) -> None:
        self.values = {"sms": 5, "turns": 3}

    def text(self) -> str:
        values = {name: f"{value}.0" for name, value in self.values.items()}
        return METRICS_TEXT.replace("{sms}", values["sms"]).replace("{turns}", values["turns"])

    @contextlib.contextmanager
    def serving(self) -> Iterator[str]:
        async def metrics(request: web.Request) -> web.Response:
            return web.Response(text=self.text(), content_type="text/plain", charset="utf-8")

        options = ConsoleOptions("7777", "*7777#")
        with serving(build_http_app(_ready, [web.get("/metrics", metrics)], console=options)) as ports:
            yield f"http://127.0.0.1:{ports[0]}/console/"


def shown(driver: WebDriver, selector: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, selector).get_attribute("data-value"))


def test_the_dashboard_reads_the_prometheus_text_format(browser: WebDriver) -> None:
    served = MetricsPage()
    with served.serving() as url:
        open_page(browser, url)
        until(browser, lambda d: d.find_element(By.CSS_SELECTOR, 'body[data-metrics="ok"]'))
        assert dashboard_counter(browser, "hamta_mo_received_total") == 7  # both channels
        assert shown(browser, '[data-metric="hamta_queue_depth"][data-labels="direction=inbound"]') == "3"
        assert shown(browser, '[data-metric="hamta_partitions_held"]') == "8"
        assert shown(browser, '[data-metric="hamta_dead_letters"]') == ""  # not exported: "—"
        assert browser.find_element(By.CSS_SELECTOR, '[data-metric="hamta_dead_letters"]').text == "—"
        assert shown(browser, '[data-metric="hamta_smpp_bound"]') == "1"  # 1 of 2 binds up
        assert "قطع" in browser.find_element(By.ID, "card-binds").text
        assert shown(browser, '#recoveries [data-outcome="restored"]') == "2"
        assert shown(browser, '#recoveries [data-outcome="mismatch"]') == "0"
        assert shown(browser, '#recoveries [data-outcome="a \\"new\\" one"]') == "1"  # unknown: listed too
        assert float(shown(browser, '[data-metric="hamta_reply_seconds"]')) == pytest.approx(0.95)  # p95

        served.values.update(sms=9, turns=4)  # a dialog goes on: the counters move
        until(browser, lambda d: dashboard_counter(d, "hamta_mo_received_total") == 11)
        until(browser, lambda d: "ask_imei" in d.find_element(By.ID, "activity").text)
        assert browser.find_element(By.ID, "nav-phone").get_attribute("hidden") is not None  # no phone here
        screenshot(browser, "desktop-dashboard-metrics")
        assert_no_page_errors(browser)
        phone_width(browser)
        screenshot(browser, "phone-dashboard-metrics", phone=True)


# -- the admin forms, against a stand-in of the admin API's contract -----------------------------------

ADMIN_TOKEN: Final = "console-test-token-0123456789"


class StandInAdmin:
    """The admin API's contract as the console uses it (Bearer token, CORS for the console's
    origin, JSON), answering fixed, masked data and recording what it was asked. A stand-in
    until the admin API is merged; then `test_the_admin_forms...` can run against the real one."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._cors, self._token])
        app.router.add_get(
            "/v1/queues",
            self._json(
                {
                    "partitions": [
                        {"partition": 0, "inbound": 2, "outbound": 0},
                        {"partition": 1, "inbound": 0, "outbound": 1},
                    ]
                }
            ),
        )
        app.router.add_get(
            "/v1/subscribers/{msisdn}",
            self._json(
                {"msisdn": "0936***0003", "session": {"flow": "restore", "step": "ask_imei"}, "lockout": None}
            ),
        )
        app.router.add_post("/v1/subscribers/{msisdn}/reset-session", self._json({"reset": "session"}))
        app.router.add_get(
            "/v1/dead-letters",
            self._json(
                {
                    "dead_letters": [
                        {"id": "1796288000000-0", "reason": "MessageRejected", "recipient": "0912***0001"}
                    ]
                }
            ),
        )
        app.router.add_post("/v1/dead-letters/{id}/replay", self._json({"replayed": 1}))
        return app

    def _json(self, body: object) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            self.calls.append((request.method, request.path))
            return web.json_response(body)

        return handler

    @web.middleware
    async def _cors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        allow = {"Access-Control-Allow-Origin": request.headers.get("Origin", "*")}
        if request.method == "OPTIONS":
            return web.Response(
                status=204,
                headers={
                    **allow,
                    "Access-Control-Allow-Headers": "Authorization",
                    "Access-Control-Allow-Methods": "GET, POST, DELETE",
                },
            )
        response: web.StreamResponse = await handler(request)
        response.headers.update(allow)
        return response

    @web.middleware
    async def _token(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method != "OPTIONS" and request.headers.get("Authorization") != f"Bearer {ADMIN_TOKEN}":
            return web.json_response({"error": "missing or wrong token"}, status=401)
        response: web.StreamResponse = await handler(request)
        return response


def result(driver: WebDriver, title: str) -> WebElement:
    """The admin result panel once it shows `title`."""
    until(driver, lambda d: title in d.find_element(By.ID, "admin-result-title").text)
    panel: WebElement = driver.find_element(By.ID, "admin-result")
    return panel


def test_the_admin_forms_call_the_admin_api_with_the_token(browser: WebDriver) -> None:
    admin = StandInAdmin()
    ports: list[int] = []
    options = ConsoleOptions("7777", "*7777#", admin=AdminAddress("127.0.0.1", lambda: ports[1]))
    with serving(build_http_app(_ready, console=options), admin.app()) as bound:
        ports += bound
        open_page(browser, f"http://127.0.0.1:{ports[0]}/console/#admin")
        assert (
            browser.find_element(By.ID, "admin-url").get_attribute("value") == f"http://127.0.0.1:{ports[1]}"
        )

        browser.find_element(By.ID, "admin-token").send_keys("wrong", Key.ENTER)
        assert "HTTP 401" in result(browser, "آزمون اتصال").text
        browser.find_element(By.ID, "admin-token").send_keys(ADMIN_TOKEN, Key.ENTER)
        until(browser, lambda d: "partition" in d.find_element(By.ID, "admin-result-body").text)
        stored = "return [sessionStorage.getItem('admin-token'), localStorage.length]"
        assert browser.execute_script(stored) == [ADMIN_TOKEN, 0]  # this tab only, never kept

        form = browser.find_element(By.ID, "form-subscriber")
        form.find_element(By.NAME, "msisdn").send_keys("0936 111 0003")
        form.find_element(By.CSS_SELECTOR, '[data-action="show"]').click()
        assert "ask_imei" in result(browser, "وضعیت مشترک").text
        form.find_element(By.CSS_SELECTOR, '[data-action="reset-session"]').click()
        result(browser, "بازنشانی نشست")

        browser.find_element(By.ID, "dead-list").click()
        until(browser, lambda d: "MessageRejected" in d.find_element(By.ID, "admin-result-body").text)
        screenshot(browser, "desktop-admin")
        assert_no_page_errors(
            browser, "/v1/queues - Failed to load resource: the server responded with a status of 401"
        )
        browser.find_element(By.CSS_SELECTOR, "#admin-result-body .buttons .secondary").click()
        result(browser, "ارسال دوباره 1796288000000-0")
    assert admin.calls == [
        ("GET", "/v1/queues"),
        ("GET", "/v1/subscribers/989361110003"),
        ("POST", "/v1/subscribers/989361110003/reset-session"),
        ("GET", "/v1/dead-letters"),
        ("POST", "/v1/dead-letters/1796288000000-0/replay"),
    ]
