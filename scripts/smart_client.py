"""A standard SMART on FHIR client (the `fhirclient` package, smart-on-fhir/client-py) driving
a running Yunyi through the browser flow in headless Chromium: discovery from the
CapabilityStatement, sign-in and consent on Yunyi's own pages, the code traded with PKCE,
the patient in context read with the library's own R4 models, a search, a refresh, a read
outside the patient's compartment refused, and revocation. Run by scripts/smart-client.

    python smart_client.py http://127.0.0.1:8080
"""

import http.server
import json
import sys
import threading
import urllib.parse
import urllib.request

from fhirclient import client
from fhirclient.models.encounter import Encounter
from fhirclient.models.patient import Patient
from fhirclient.server import FHIRNotFoundException, FHIRUnauthorizedException
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

PASSWORD = "yunyi-demo"


def post(url, data, token=None, form=False):
    body = urllib.parse.urlencode(data).encode() if form else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header(
        "Content-Type", "application/x-www-form-urlencoded" if form else "application/json"
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        text = response.read().decode()
        return json.loads(text) if text else None


def get(url, token):
    request = urllib.request.Request(url)
    request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read().decode())


class Callback(http.server.BaseHTTPRequestHandler):
    """The app's redirect URI: remembers where the browser came back to."""

    seen = []

    def do_GET(self):
        Callback.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write("授权完成，可以关闭此页。".encode())

    def log_message(self, *args):
        pass


def check(condition, what):
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok - {what}")


def main():
    target = sys.argv[1].rstrip("/")
    callback = http.server.HTTPServer(("127.0.0.1", 0), Callback)
    threading.Thread(target=callback.serve_forever, daemon=True).start()
    redirect = f"http://127.0.0.1:{callback.server_port}/callback"

    admin = post(
        f"{target}/auth/token",
        {"grant_type": "password", "username": "admin", "password": PASSWORD},
        form=True,
    )["access_token"]
    app = post(
        f"{target}/api/v1/smart-clients",
        {
            "name": "家庭健康档案（测试应用）",
            "redirect_uris": [redirect],
            "scope": "launch/patient openid fhirUser offline_access patient/*.rs",
        },
        token=admin,
    )
    check(app["client_id"].startswith("app-") and "client_secret" not in app,
          "a public app is registered")

    smart = client.FHIRClient(
        settings={
            "app_id": app["client_id"],
            "api_base": f"{target}/fhir",
            "redirect_uri": redirect,
            "scope": "openid fhirUser patient/*.rs offline_access",
        }
    )
    authorize_url = smart.authorize_url
    check(authorize_url.startswith(f"{target}/auth/authorize?"),
          "fhirclient found the authorize endpoint in the CapabilityStatement")

    options = webdriver.ChromeOptions()
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-sync"):
        options.add_argument(flag)
    # A phone in China: the pages answer in Chinese.
    options.add_argument("--lang=zh-CN")
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(authorize_url)
        wait = WebDriverWait(driver, 30)
        wait.until(expected_conditions.presence_of_element_located((By.ID, "username")))
        driver.find_element(By.ID, "username").send_keys("patient1")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "login-submit").click()
        wait.until(expected_conditions.presence_of_element_located((By.ID, "consent-allow")))
        page = driver.find_element(By.TAG_NAME, "body").text
        check("家庭健康档案（测试应用）" in page and "查看" in page,
              "the consent page names the app and what it will see, in Chinese")
        driver.find_element(By.ID, "consent-allow").click()
        wait.until(lambda d: Callback.seen)
    finally:
        driver.quit()
        callback.shutdown()

    back = f"http://127.0.0.1:{callback.server_port}{Callback.seen[0]}"
    smart.handle_callback(back)
    check(smart.ready and smart.patient_id, "the code was traded (PKCE) for a token and a patient")

    me = get(f"{target}/api/v1/me", post(
        f"{target}/auth/token",
        {"grant_type": "password", "username": "patient1", "password": PASSWORD},
        form=True,
    )["access_token"])
    check(smart.patient_id == str(me["person"]["id"]), "the patient in context is patient1")
    patient = smart.patient
    check(isinstance(patient, Patient) and patient.id == smart.patient_id,
          "the library read the Patient with its own R4 model")
    encounters = Encounter.where(struct={"patient": smart.patient_id}).perform_resources(
        smart.server
    )
    check(all(isinstance(e, Encounter) for e in encounters),
          f"an Encounter search parsed ({len(encounters)} found)")

    child = str(me["family"][0]["id"])
    try:
        Patient.read(child, smart.server)
        check(False, "a family member outside the grant is refused")
    except FHIRNotFoundException:
        check(True, "a family member outside the grant is refused")

    old_token = smart.server.auth.access_token
    smart.reauthorize()
    check(smart.server.auth.access_token not in (None, old_token),
          "the refresh token gave a new access token")
    Patient.read(smart.patient_id, smart.server)
    refresh = smart.server.auth.refresh_token
    post(f"{target}/auth/revoke", {"token": refresh}, form=True)
    smart.server.auth.refresh_token = None  # so the library does not try to refresh
    try:
        smart.server.request_json(f"Patient/{smart.patient_id}")
        check(False, "after revocation the token is refused")
    except FHIRUnauthorizedException:
        check(True, "after revocation the token is refused")
    print("SMART client: all checks passed")


if __name__ == "__main__":
    main()
