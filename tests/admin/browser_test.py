#!/usr/bin/env python3
"""The admin in a real browser: headless Chromium (Debian's chromium, chromium-driver) driven by
Selenium (python3-selenium) against `accounts <db> runserver` on a free loopback port.

    browser_test.py --exe build/examples/accounts/accounts --out build/browser-sqlite
                    [--pg-state build/postgresql]

The scenario (issue 15): a wrong password shows the error and fires user_login_failed; log in;
add a user and find the profile its post_save receiver created (seed 000); the signals panel, when
the program has it; remove the user through the cascade confirmation page; a <script> username is
shown as text; a form posted without its CSRF token gets 403. Screenshots of each step go to
--out for a person to look at. With --pg-state, the program runs on a fresh database of the
PostgreSQL test cluster (TOCSIN_DATABASE_URL), as the examples' pg. tests do.

Skips (exit 0, "browser test skipped: ...") only when Chromium is absent and
TOCSIN_SKIP_BROWSER=1; without Chromium otherwise it fails.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

SUPERUSER_PASSWORD = "browser-secret"


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


def skip(message):
    print("browser test skipped: " + message, flush=True)
    sys.exit(0)


def import_selenium():
    try:
        import selenium  # noqa: F401
    except ImportError:
        # Debian's python3-selenium, when another python3 comes first on PATH.
        sys.path.append("/usr/lib/python3/dist-packages")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import (NoSuchElementException,
                                            StaleElementReferenceException, WebDriverException)
    return webdriver, Service, By, (NoSuchElementException, StaleElementReferenceException,
                                    WebDriverException)


def is_transient(error, kinds):
    """What a command may raise while the page it reads is being replaced: try it again.

    An element gone stale or not there yet, or chromedriver's "aborted by navigation" (a command
    that raced a navigation in flight, as a window still loading its first page)."""
    missing, stale, webdriver_error = kinds
    if isinstance(error, (missing, stale)):
        return True
    return isinstance(error, webdriver_error) and "aborted by navigation" in str(error)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_database(state_dir, name):
    """A fresh database of the test cluster; its URL, or None without a cluster."""
    url_file = os.path.join(state_dir, "url")
    if not os.path.exists(url_file):
        return None
    with open(url_file) as f:
        url = f.readline().strip()
    if not url:
        return None
    for sql in ("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name, "CREATE DATABASE %s" % name):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True)
    return re.sub(r"/[^/]*$", "/" + name, url)


class Program:
    """`accounts <db> runserver 127.0.0.1:<port>`, its output collected in a file."""

    def __init__(self, exe, db, env, out_dir):
        self.port = free_port()
        self.log_path = os.path.join(out_dir, "server.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [exe, db, "runserver", "127.0.0.1:%d" % self.port],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                fail("the program exited with %s:\n%s" % (self.process.returncode, self.output()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        fail("the server did not listen within 30 s:\n" + self.output())

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exe", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--pg-state")
    args = parser.parse_args()

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not chromium or not os.path.exists(driver_path):
        if os.environ.get("TOCSIN_SKIP_BROWSER") == "1":
            skip("no chromium/chromedriver (TOCSIN_SKIP_BROWSER=1)")
        fail("chromium and chromium-driver are needed (Debian packages chromium, chromium-driver; "
             "scripts/install-deps.sh installs them), or set TOCSIN_SKIP_BROWSER=1 to skip")
    webdriver, Service, By, error_kinds = import_selenium()

    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ)
    db = os.path.join(args.out, "admin.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    if args.pg_state:
        url = pg_database(args.pg_state, "example_admin_browser")
        if url is None:
            if os.environ.get("TOCSIN_SKIP_POSTGRESQL") == "1":
                print("example skipped: no PostgreSQL test cluster (TOCSIN_SKIP_POSTGRESQL=1)")
                sys.exit(0)
            fail("no PostgreSQL test cluster in %s (ctest starts it: the fixture postgresql)"
                 % args.pg_state)
        env["TOCSIN_DATABASE_URL"] = url
    else:
        env.pop("TOCSIN_DATABASE_URL", None)

    migrated = subprocess.run([args.exe, db, "migrate"], env=env, capture_output=True, text=True)
    if migrated.returncode != 0:
        fail("migrate: %s%s" % (migrated.stdout, migrated.stderr))
    env["TOCSIN_SUPERUSER_PASSWORD"] = SUPERUSER_PASSWORD
    made = subprocess.run([args.exe, db, "createsuperuser", "--username", "admin"], env=env,
                          capture_output=True, text=True)
    if made.returncode != 0:
        fail("createsuperuser: %s%s" % (made.stdout, made.stderr))
    env.pop("TOCSIN_SUPERUSER_PASSWORD")

    program = Program(args.exe, db, env, args.out)
    base = "http://127.0.0.1:%d" % program.port
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,900", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    step = [0]

    def shot(name):
        step[0] += 1
        path = os.path.join(args.out, "%02d-%s.png" % (step[0], name))
        driver.save_screenshot(path)
        print("screenshot:", path, flush=True)

    def text():
        return driver.find_element(By.TAG_NAME, "body").text

    def expect(condition, message):
        if not condition:
            shot("failure")
            fail(message + "\n--- page %s:\n%s\n--- server output:\n%s"
                 % (driver.current_url, text(), program.output()))

    def wait_for(predicate, message, seconds=30):
        # The page may be replaced while the predicate reads it (a navigation in flight): an
        # element gone stale or not there yet is a "not yet", read again.
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                result = predicate()
                if result:
                    return result
            except error_kinds[2] as error:
                if not is_transient(error, error_kinds):
                    raise
            time.sleep(0.2)
        expect(False, message)

    def find(by, value):
        """The element, once the page that has it is there (a slow server under sanitizers)."""
        return wait_for(lambda: driver.find_element(by, value), "no element %s" % value)

    def login(password):
        find(By.ID, "id_username").clear()
        find(By.ID, "id_username").send_keys("admin")
        find(By.ID, "id_password").send_keys(password)
        find(By.ID, "login-submit").click()

    try:
        # Anonymous: the login page.
        driver.get(base + "/admin/auth/user/")
        expect("/admin/login/" in driver.current_url, "anonymous did not get the login page")
        shot("login")

        # A wrong password: the error, and user_login_failed (the example's receiver prints it).
        login("not-the-password")
        wait_for(lambda: driver.find_elements(By.ID, "login-error"), "no login error shown")
        expect("Please enter the correct username and password" in text(), "wrong error text")
        wait_for(lambda: "login failed for admin (password ********************)"
                 in program.output(), "user_login_failed did not fire")
        shot("wrong-password")

        # The right one: back to the page asked for (next=).
        login(SUPERUSER_PASSWORD)
        wait_for(lambda: driver.current_url.endswith("/admin/auth/user/"),
                 "login did not lead to next=/admin/auth/user/")
        expect(find(By.ID, "user-name").text == "admin", "not logged in as admin")
        driver.get(base + "/admin/")
        expect("Accounts" in text() and "Profile" in text(), "the index lacks accounts.Profile")
        shot("index")

        # Add a user; its post_save receiver (create_profile) makes the profile (seed 000).
        driver.get(base + "/admin/auth/user/add/")
        find(By.ID, "id_username").send_keys("dora")
        find(By.ID, "id_password").send_keys("dora-password")
        find(By.ID, "id_email").send_keys("dora@example.com")
        shot("add-user")
        find(By.ID, "save").click()
        wait_for(lambda: driver.find_elements(By.ID, "message"), "no message after adding")
        expect("was added successfully" in find(By.ID, "message").text,
               "adding the user failed")
        driver.get(base + "/admin/accounts/profile/")
        users = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "td.field-user")]
        expect("dora" in users, "no profile for dora: %s" % users)
        shot("profile-of-dora")
        expect("profile created for dora" in program.output(), "create_profile did not run")

        # The signals panel, when this build has the dispatch core's send observer.
        driver.get(base + "/admin/signals/")
        if driver.find_elements(By.ID, "signal-log"):
            driver.get(base + "/admin/signals/")
            wait_for(lambda: find(By.ID, "signal-log").get_attribute("data-live") == "open",
                     "the live log did not connect")
            expect(find(By.ID, "signal-log-status").text == "open", "the status is not open")
            panel = driver.current_window_handle
            driver.execute_script("window.open('/admin/auth/user/add/', 'adder');")
            adder = wait_for(lambda: [h for h in driver.window_handles if h != panel],
                             "the second window did not open")[0]
            # The new window may still be loading its page: switching races that navigation.
            wait_for(lambda: driver.switch_to.window(adder) or True, "cannot switch windows")
            find(By.ID, "id_username").send_keys("erin")
            find(By.ID, "id_password").send_keys("erin-password")
            find(By.ID, "save").click()
            wait_for(lambda: driver.find_elements(By.ID, "message"), "no message after adding")
            driver.switch_to.window(panel)
            wait_for(lambda: "create_profile" in find(By.ID, "signal-log").text,
                     "post_save -> create_profile not in the live log")
            log = find(By.ID, "signal-log").text
            expect(re.search(r"post_save.*auth\.User #\d+.*create_profile ok \d+ µs", log, re.S),
                   "no instance or duration for create_profile: " + log)
            shot("signals-panel")
        else:
            print("signals panel: no live log in this build (no send observer)", flush=True)
        driver.get(base + "/admin/signals/receivers/")
        expect("accounts.create_profile" in text(), "receivers page lacks create_profile")
        shot("receivers")
        driver.get(base + "/admin/signals/graph/")
        shot("signal-graph")

        # Remove dora through the cascade confirmation page.
        driver.get(base + "/admin/auth/user/?q=dora")
        find(By.LINK_TEXT, find(
            By.CSS_SELECTOR, "#result_list tbody td a").text).click()
        find(By.ID, "delete-link").click()
        deleted = find(By.ID, "deleted-objects").text
        expect("User: dora" in deleted and "Profile:" in deleted,
               "the confirmation does not list the user and the profile: " + deleted)
        shot("delete-confirmation")
        find(By.ID, "confirm-delete").click()
        wait_for(lambda: driver.find_elements(By.ID, "message"), "no message after deleting")
        expect("was deleted successfully" in find(By.ID, "message").text,
               "deleting failed")
        expect("admin notice: user dora was removed" in program.output(),
               "post_delete (notify_admin) did not run")
        driver.get(base + "/admin/accounts/profile/")
        users = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "td.field-user")]
        expect("dora" not in users, "dora's profile is still there: %s" % users)

        # XSS: a <script> username is shown as text, never run.
        evil = "<script>window.__xss=1</script>"
        driver.get(base + "/admin/auth/user/add/")
        find(By.ID, "id_username").send_keys(evil)
        find(By.ID, "id_password").send_keys("x")
        find(By.ID, "save").click()
        wait_for(lambda: driver.find_elements(By.ID, "message"), "no message after adding")
        expect(evil in find(By.ID, "message").text, "the message lacks the name")
        expect(evil in find(By.ID, "result_list").text,
               "the <script> username is not shown as text")
        expect(driver.execute_script("return window.__xss === undefined"), "the script ran")
        shot("xss-as-text")

        # CSRF: a form posted without its token gets 403 and changes nothing.
        driver.get(base + "/admin/auth/user/add/")
        driver.execute_script(
            "var f = document.getElementById('model-form');"
            "f.querySelector('input[name=csrfmiddlewaretoken]').remove();"
            "document.getElementById('id_username').value = 'mallory';"
            "document.getElementById('id_password').value = 'x';"
            "f.submit();")
        wait_for(lambda: "CSRF" in text(), "no CSRF failure page")
        expect("403" in text() and "CSRF token missing" in text(), "not a 403 CSRF page")
        shot("csrf-403")
        driver.get(base + "/admin/auth/user/?q=mallory")
        expect("0 users" in find(By.ID, "paginator").text,
               "the post without a token created a user")

        # The session cookie is HttpOnly: scripts cannot read it.
        expect("sessionid" not in driver.execute_script("return document.cookie"),
               "the session cookie is readable by scripts")

        # Log out.
        find(By.CSS_SELECTOR, "#logout-form button").click()
        wait_for(lambda: "Logged out" in text(), "no logged-out page")
        shot("logged-out")
    finally:
        driver.quit()
        program.stop()
    print(program.output())
    print("browser test passed: screenshots in " + args.out, flush=True)


if __name__ == "__main__":
    main()
