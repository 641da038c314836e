//! Pages in a real headless Chromium (Debian's), driven through chromedriver: what a patient on
//! a phone does — read the home page, switch language, register (fixing a typo the page points
//! out), add a child, sign out and back in — and the prescription journey from the doctor's
//! form through the pharmacist, the sandbox payment and courier, to the patient's "received".

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use thirtyfour::prelude::*;

use crate::helpers::{TestApp, id_number};

/// chromedriver and a browser session; both end when the test ends.
struct Browser {
    driver: Option<WebDriver>,
    chromedriver: Child,
    _profile: tempfile::TempDir,
}

fn find_chromedriver() -> String {
    if let Ok(path) = std::env::var("YUNYI_CHROMEDRIVER") {
        return path;
    }
    for candidate in ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_owned();
        }
    }
    panic!(
        "chromedriver not found: install Debian's chromium and chromium-driver (scripts/test does)"
    );
}

impl Browser {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let chromedriver = Command::new(find_chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let mut ready = false;
        for _ in 0..100 {
            if client.get(format!("{url}/status")).send().await.is_ok() {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "chromedriver did not start");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = DesiredCapabilities::chrome();
        caps.set_binary("/usr/bin/chromium").unwrap();
        for arg in [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=390,844",
            // Video calls: a synthetic camera and microphone, permission granted.
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            // A patient's phone in China asks for Chinese.
            "--lang=zh-CN",
            &format!("--user-data-dir={}", profile.path().display()),
        ] {
            caps.add_arg(arg).unwrap();
        }
        caps.add_experimental_option(
            "prefs",
            serde_json::json!({"intl.accept_languages": "zh-CN,zh"}),
        )
        .unwrap();
        let driver = WebDriver::new(&url, caps)
            .await
            .expect("a Chromium session");
        // A phone's width: headless Chromium does not take `--window-size` below ~500 px,
        // but does take the window set through WebDriver.
        driver
            .set_window_rect(0, 0, 390, 844)
            .await
            .expect("a phone-sized window");
        Self {
            driver: Some(driver),
            chromedriver,
            _profile: profile,
        }
    }

    fn driver(&self) -> &WebDriver {
        self.driver.as_ref().unwrap()
    }

    async fn quit(mut self) {
        if let Some(driver) = self.driver.take() {
            let _ = driver.quit().await;
        }
    }

    /// Element `id`, waiting (up to 10 s) for the page that has it: under load a navigation
    /// can still be under way when the next step starts.
    async fn element(&self, id: &str) -> WebElement {
        for _ in 0..200 {
            if let Ok(el) = self.driver().find(By::Id(id)).await {
                return el;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no #{id} on the page: {}",
            self.driver().source().await.unwrap_or_default()
        );
    }

    async fn fill(&self, id: &str, text: &str) {
        let field = self.element(id).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    async fn click(&self, id: &str) {
        self.element(id).await.tap().await;
    }

    /// The value a script returns, as JSON.
    async fn js(&self, script: &str) -> serde_json::Value {
        self.driver()
            .execute(script, Vec::new())
            .await
            .unwrap()
            .json()
            .clone()
    }

    async fn text_of(&self, css: &str) -> String {
        self.driver()
            .find(By::Css(css))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn path(&self) -> String {
        let url = self.driver().current_url().await.unwrap();
        url.path().to_owned()
    }

    /// Waits (up to 10 s) for navigation or rendering to make `check` true: a click returns
    /// before the next page has loaded.
    async fn wait_for<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..200 {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "timed out waiting for {what}; page: {}",
            self.driver().source().await.unwrap_or_default()
        );
    }

    async fn wait_text(&self, css: &str, expected: &str) {
        self.wait_for(&format!("{css} to contain '{expected}'"), || async {
            match self.driver().find(By::Css(css)).await {
                Ok(el) => el
                    .text()
                    .await
                    .map(|t| t.contains(expected))
                    .unwrap_or(false),
                Err(_) => false,
            }
        })
        .await;
    }

    async fn wait_path(&self, expected: &str) {
        self.wait_for(&format!("the address {expected}"), || async {
            self.path().await == expected
        })
        .await;
    }
}

/// Taps as a person on a phone does: what they tap is on screen, not under the patient's tab
/// bar. WebDriver's own click scrolls an element only as far as the window's bottom edge,
/// where the fixed bar covers it and the click is refused as intercepted.
trait Tap {
    async fn tap(&self);
}

impl Tap for WebElement {
    async fn tap(&self) {
        self.scroll_into_view().await.unwrap();
        self.click().await.unwrap();
    }
}

impl Drop for Browser {
    /// Only reached without `quit` when a test failed: end everything without the driver's
    /// own synchronous teardown, which would block the async runtime for a minute.
    fn drop(&mut self) {
        if let Some(driver) = self.driver.take() {
            std::mem::forget(driver);
        }
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
        let _ = Command::new("pkill")
            .args(["-f", &self._profile.path().display().to_string()])
            .status();
    }
}

#[tokio::test]
async fn a_patient_registers_adds_a_child_and_signs_in_again_in_a_real_browser() {
    let app = TestApp::spawn().await;
    let browser = Browser::start().await;
    let d = browser.driver();

    d.goto(app.url("/")).await.unwrap();
    assert_eq!(browser.text_of("h1").await, "看病，从线上开始");
    browser.click("lang-switch").await;
    browser.wait_text("h1", "Care that starts online").await;
    browser.click("lang-switch").await;
    browser.wait_text("h1", "看病，从线上开始").await;

    d.goto(app.url("/register")).await.unwrap();
    let id = id_number("19910909", 88);
    // A typo in the last character: the page says what is wrong, next to the field.
    let typo = format!("{}{}", &id[..17], if id.ends_with('1') { '2' } else { '1' });
    browser.fill("name", "浏览器测试").await;
    browser.fill("id_number", &typo).await;
    browser.fill("phone", "13711112222").await;
    browser.fill("password", "browser-pass-1").await;
    browser.click("register-submit").await;
    browser.wait_text("#err-id_number", "check digit").await;
    let error = browser.text_of("#err-id_number").await;
    assert!(error.contains("check digit"), "{error}");
    assert_eq!(
        d.find(By::Id("name"))
            .await
            .unwrap()
            .value()
            .await
            .unwrap()
            .as_deref(),
        Some("浏览器测试"),
        "what was typed is kept"
    );
    browser.fill("id_number", &id).await;
    browser.fill("password", "browser-pass-1").await;
    browser.click("register-submit").await;
    browser.wait_path("/me").await;
    assert!(browser.text_of("#my-identity").await.contains(&id));

    // A child under 6: the holder becomes guardian.
    d.find(By::Css("#family-form input[name=name]"))
        .await
        .unwrap()
        .send_keys("小明")
        .await
        .unwrap();
    d.find(By::Css("#family-form input[name=id_number]"))
        .await
        .unwrap()
        .send_keys(id_number("20230303", 5))
        .await
        .unwrap();
    d.find(By::Css("#family-form button"))
        .await
        .unwrap()
        .tap()
        .await;
    browser.wait_text("#family-list", "小明").await;
    let family = browser.text_of("#family-list").await;
    assert!(
        family.contains("小明") && family.contains("监护人"),
        "{family}"
    );

    browser.click("logout").await;
    browser.wait_path("/").await;
    d.goto(app.url("/me")).await.unwrap();
    browser.wait_path("/login").await;
    browser.fill("username", "13711112222").await;
    browser.fill("password", "browser-pass-1").await;
    browser.click("login-submit").await;
    browser.wait_path("/me").await;
    browser.wait_text("#nav-me", "浏览器测试").await;

    browser.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn an_administrator_uploads_a_doctors_photo_in_a_real_browser() {
    let app = TestApp::with_demo().await;
    let browser = Browser::start().await;
    let d = browser.driver();
    d.goto(app.url("/login")).await.unwrap();
    browser.fill("username", "hospital-admin").await;
    browser.fill("password", crate::helpers::PW).await;
    browser.click("login-submit").await;
    browser.wait_path("/me").await;

    let doctor = yunyi::identity::store::account_by_username(&app.db, "doctor1")
        .await
        .unwrap()
        .unwrap()
        .id;
    d.goto(app.url(&format!("/admin/doctors/{doctor}")))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Not an image: the page says so and nothing is stored.
    let fake = dir.path().join("photo.png");
    std::fs::write(&fake, "<svg onload=alert(1)>").unwrap();
    d.find(By::Id("photo-file"))
        .await
        .unwrap()
        .send_keys(fake.display().to_string())
        .await
        .unwrap();
    browser.wait_text("#photo-status", "JPEG").await;
    assert_eq!(
        app.get(&format!("/doctors/{doctor}/photo")).await.status(),
        reqwest::StatusCode::NOT_FOUND
    );

    let real = dir.path().join("real.png");
    std::fs::write(&real, crate::practice::PIXEL_PNG).unwrap();
    d.goto(app.url(&format!("/admin/doctors/{doctor}")))
        .await
        .unwrap();
    d.find(By::Id("photo-file"))
        .await
        .unwrap()
        .send_keys(real.display().to_string())
        .await
        .unwrap();
    browser
        .wait_for("the uploaded photo on the page", || async {
            d.find(By::Id("current-photo")).await.is_ok()
        })
        .await;
    let r = app.get(&format!("/doctors/{doctor}/photo")).await;
    assert_eq!(r.headers()["content-type"], "image/png");
    browser.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_patient_picks_department_doctor_and_time_books_and_cancels_in_a_real_browser() {
    let app = TestApp::with_demo().await;
    // The hospital opens doctor2's text consultations tomorrow 08:00–09:00.
    let admin = app.token("hospital-admin", crate::helpers::PW).await;
    let doctor = yunyi::identity::store::account_by_username(&app.db, "doctor2")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (_, detail) = app.get_json(&format!("/api/v1/doctors/{doctor}")).await;
    let service = detail["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "text_consult")
        .unwrap()["id"]
        .clone();
    let r: serde_json::Value = app
        .post_as(
            Some(&admin),
            "/api/v1/schedules",
            &serde_json::json!({"service_id": service}),
        )
        .await
        .json()
        .await
        .unwrap();
    let schedule = r["schedule_id"].as_i64().unwrap();
    let tomorrow = yunyi::time::today() + chrono::Duration::days(1);
    let r = app
        .post_as(
            Some(&admin),
            &format!("/api/v1/schedules/{schedule}/sessions"),
            &serde_json::json!({"date": tomorrow.to_string(), "start": "08:00", "end": "09:00", "release_at": chrono::Utc::now().to_rfc3339()}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let department = detail["sites"][0]["department_id"].as_i64().unwrap();
    let hospital = detail["sites"][0]["hospital_id"].as_i64().unwrap();

    let browser = Browser::start().await;
    let d = browser.driver();
    d.goto(app.url("/login")).await.unwrap();
    browser.fill("username", "patient1").await;
    browser.fill("password", crate::helpers::PW).await;
    browser.click("login-submit").await;
    browser.wait_path("/me").await;

    // Hospital → department → doctor → time.
    d.goto(app.url(&format!("/hospitals/{hospital}")))
        .await
        .unwrap();
    d.find(By::Css(format!(
        "a[href=\"/doctors?department={department}\"]"
    )))
    .await
    .unwrap()
    .tap()
    .await;
    browser.wait_path("/doctors").await;
    d.find(By::Css(format!(
        "#doctor-list a[href=\"/doctors/{doctor}\"]"
    )))
    .await
    .unwrap()
    .tap()
    .await;
    browser.wait_path(&format!("/doctors/{doctor}")).await;
    // Tomorrow's tab, times as chips; a time, then one confirmation.
    browser.wait_text("#day-picker", "明天").await;
    browser.wait_text("#slot-list", "08:00").await;
    d.find(By::Css("#slot-list a.chip"))
        .await
        .unwrap()
        .tap()
        .await;
    browser.wait_path("/appointments/confirm").await;
    browser.wait_text("#confirm-when", "08:00").await;
    browser.click("confirm-booking").await;
    browser.wait_path("/appointments").await;
    browser.wait_text("#booked-notice", "预约成功").await;
    let notice = browser.text_of("#booked-notice").await;
    assert!(
        notice.contains("08:00") && notice.contains("加入日历"),
        "{notice}"
    );
    let list = browser.text_of("#appointment-list").await;
    assert!(
        list.contains(&format!("{tomorrow} 08:00")) && list.contains("已预约"),
        "{list}"
    );

    d.find(By::Css("#appointment-list button[id^=cancel-]"))
        .await
        .unwrap()
        .tap()
        .await;
    // Cancelling asks first; saying no changes nothing, saying yes cancels.
    assert!(d.get_alert_text().await.unwrap().contains("确定取消"));
    d.dismiss_alert().await.unwrap();
    assert!(
        browser
            .text_of("#appointment-list")
            .await
            .contains("已预约")
    );
    d.find(By::Css("#appointment-list button[id^=cancel-]"))
        .await
        .unwrap()
        .tap()
        .await;
    d.accept_alert().await.unwrap();
    browser.wait_text("#appointment-list", "已取消").await;
    // The time is free again for others.
    let (_, slots) = app
        .get_json(&format!("/api/v1/doctors/{doctor}/slots"))
        .await;
    assert_eq!(slots["items"].as_array().unwrap().len(), 4);
    browser.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_patient_describes_the_problem_answers_a_question_and_books_from_triage_in_a_real_browser()
 {
    let c = crate::booking::setup().await;
    let (doctor, slots) = c.session("doctor2", 1, "09:00", None).await;
    let first_time = slots[0]["start"].as_str().unwrap()[11..16].to_owned();
    let browser = Browser::start().await;
    let d = browser.driver();
    d.goto(c.app.url("/")).await.unwrap();
    browser.click("nav-triage").await;
    browser.wait_path("/triage").await;
    // Vague words: the assistant asks where it hurts.
    browser.fill("answer", "不太舒服").await;
    browser.click("send").await;
    browser.wait_text("#question", "哪里不舒服").await;
    browser
        .fill("answer", "咳嗽有痰，一个星期了，晚上咳得厉害")
        .await;
    browser.click("send").await;
    // The red-flag checklist: none of them.
    browser.wait_text("#checklist-question", "请确认").await;
    browser.click("send").await;
    browser.wait_text("#options", "呼吸内科").await;
    let urgency = browser.text_of("#urgency").await;
    assert!(urgency.contains("预约"), "{urgency}");
    // The doctor with a free time: on to booking, on the day of that time.
    browser.click(&format!("book-{doctor}")).await;
    browser.wait_path(&format!("/doctors/{doctor}")).await;
    browser.wait_text("#slot-list", &first_time).await;
    browser.quit().await;
    c.app.stop().await;
}

impl Browser {
    async fn sign_in(&self, app: &TestApp, username: &str) {
        self.driver().goto(app.url("/login")).await.unwrap();
        self.fill("username", username).await;
        self.fill("password", crate::helpers::PW).await;
        self.click("login-submit").await;
        self.wait_path("/me").await;
    }

    async fn wait_connected(&self) {
        self.wait_attr("chat", "data-connected", "true").await;
    }

    /// Waits for element `id`'s attribute to have `value`.
    async fn wait_attr(&self, id: &str, attr: &str, value: &str) {
        self.wait_for(&format!("#{id} [{attr}={value}]"), || async {
            match self.driver().find(By::Id(id)).await {
                Ok(el) => el.attr(attr).await.ok().flatten().as_deref() == Some(value),
                Err(_) => false,
            }
        })
        .await;
    }
}

/// A demo doctor's id and their service of `kind`.
async fn doctor_service(app: &TestApp, username: &str, kind: &str) -> (i64, i64) {
    let doctor = yunyi::identity::store::account_by_username(&app.db, username)
        .await
        .unwrap()
        .unwrap()
        .id;
    let service = yunyi::directory::store::services(&app.db, Some(doctor), None, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.kind == kind)
        .unwrap()
        .id;
    (doctor, service)
}

#[tokio::test]
async fn a_patient_and_a_doctor_chat_and_share_a_picture_in_real_time_in_real_browsers() {
    let app = TestApp::with_demo().await;
    let (doctor_id, service) = doctor_service(&app, "doctor5", "text_consult").await;

    // The patient starts a text consultation from the doctor's page.
    let patient = Browser::start().await;
    patient.sign_in(&app, "patient1").await;
    let p = patient.driver();
    p.goto(app.url(&format!("/doctors/{doctor_id}")))
        .await
        .unwrap();
    patient.click(&format!("consult-{service}")).await;
    patient.wait_path("/consultations/new").await;
    patient
        .fill("chief_complaint", "最近血压偏高，想咨询一下")
        .await;
    patient.fill("temperature_c", "36.7").await;
    patient.click("consultation-submit").await;
    patient
        .wait_for("the consultation's page", || async {
            patient.path().await.starts_with("/consultations/")
                && p.find(By::Id("chat")).await.is_ok()
        })
        .await;
    let path = patient.path().await;
    patient.wait_text("#status", "待接诊").await;
    // The fee first, in the sandbox: then the request reaches the doctor.
    patient.press("pay-consultation", "pay-approve").await;
    patient.press("pay-approve", "chat").await;
    patient.wait_text("#fee-status", "已支付").await;

    // The doctor confirms their identity, sees the request in the queue and accepts it.
    let doctor = Browser::start().await;
    doctor.sign_in(&app, "doctor5").await;
    let d = doctor.driver();
    doctor.step_up(&app).await;
    d.goto(app.url("/doctor/consultations")).await.unwrap();
    let id = path.trim_start_matches("/consultations/");
    doctor
        .wait_text(&format!("#queue-{id}"), "最近血压偏高")
        .await;
    doctor.click(&format!("accept-{id}")).await;
    doctor.wait_path(&path).await;
    doctor.wait_connected().await;
    // The patient's page learns of it by itself.
    patient.wait_text("#status", "已接诊").await;
    patient.wait_connected().await;

    // Messages cross in real time, both ways.
    doctor.fill("message-text", "您好，最近血压多少？").await;
    doctor.click("send").await;
    patient.wait_text("#messages", "您好，最近血压多少？").await;
    patient.fill("message-text", "早上 150/95").await;
    patient.click("send").await;
    doctor.wait_text("#messages", "早上 150/95").await;
    // A picture the patient sends appears on the doctor's side.
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("bp.png");
    std::fs::write(&photo, crate::practice::PIXEL_PNG).unwrap();
    p.find(By::Id("image-input"))
        .await
        .unwrap()
        .send_keys(photo.display().to_string())
        .await
        .unwrap();
    doctor
        .wait_for("the picture on the doctor's side", || async {
            d.find(By::Css("#messages li img")).await.is_ok()
        })
        .await;
    // Each message once, in order, on both sides.
    for browser in [&patient, &doctor] {
        let seqs: Vec<String> = {
            let mut out = Vec::new();
            for li in browser
                .driver()
                .find_all(By::Css("#messages li"))
                .await
                .unwrap()
            {
                out.push(li.attr("data-seq").await.unwrap().unwrap_or_default());
            }
            out
        };
        assert_eq!(seqs, ["1", "2", "3"]);
    }
    patient.quit().await;
    doctor.quit().await;
    app.stop().await;
}

impl Browser {
    async fn step_up(&self, app: &TestApp) {
        let d = self.driver();
        d.goto(app.url("/me/step-up")).await.unwrap();
        d.find(By::Name("password"))
            .await
            .unwrap()
            .send_keys(crate::helpers::PW)
            .await
            .unwrap();
        d.find(By::Css("form.form button[type=submit]"))
            .await
            .unwrap()
            .tap()
            .await;
        self.wait_for("the identity check", || async {
            d.find(By::Id("form-notice")).await.is_ok()
        })
        .await;
    }

    async fn wait_call(&self, state: &str) {
        self.wait_attr("call", "data-state", state).await;
    }
}

#[tokio::test]
async fn a_doctor_and_a_patient_hold_a_video_call_with_fake_devices_in_real_browsers() {
    let app = TestApp::with_demo().await;
    let (_, service) = doctor_service(&app, "doctor5", "video_consult").await;
    // Requested and accepted through the API; the call happens in the browsers.
    let patient_token = app.token("patient1", crate::helpers::PW).await;
    let r = app
        .post_as(
            Some(&patient_token),
            "/api/v1/consultations",
            &serde_json::json!({"service_id": service, "intake": {"chief_complaint": "想视频看看皮疹"}}),
        )
        .await;
    let created = r.json::<serde_json::Value>().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    pay_fee(&app, &created).await;
    let doctor_token = app.token("doctor5", crate::helpers::PW).await;
    app.step_up(&doctor_token).await;
    let r = app
        .post_as(
            Some(&doctor_token),
            &format!("/api/v1/consultations/{id}/accept"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);

    let patient = Browser::start().await;
    patient.sign_in(&app, "patient1").await;
    let doctor = Browser::start().await;
    doctor.sign_in(&app, "doctor5").await;
    doctor.step_up(&app).await;
    let page = app.url(&format!("/consultations/{id}"));
    patient.driver().goto(&page).await.unwrap();
    doctor.driver().goto(&page).await.unwrap();
    patient.wait_connected().await;
    doctor.wait_connected().await;
    // Before a call there is no video area (no black boxes, no hang-up button).
    for side in [&patient, &doctor] {
        let videos = side.driver().find(By::Id("videos")).await.unwrap();
        assert!(!videos.is_displayed().await.unwrap());
    }

    doctor.click("start-call").await;
    patient
        .wait_for("the incoming call", || async {
            match patient.driver().find(By::Id("incoming-call")).await {
                Ok(el) => el.is_displayed().await.unwrap_or(false),
                Err(_) => false,
            }
        })
        .await;
    patient.click("answer-call").await;
    doctor.wait_call("connected").await;
    patient.wait_call("connected").await;
    doctor.click("hang-up").await;
    doctor.wait_call("ended").await;
    patient.wait_call("ended").await;
    for side in [&patient, &doctor] {
        let videos = side.driver().find(By::Id("videos")).await.unwrap();
        assert!(!videos.is_displayed().await.unwrap());
    }

    // The call's start and end are in the conversation, with its duration (the end is
    // written as the hang-up reaches the server, a moment after the pages show it).
    let path = format!("/api/v1/consultations/{id}/messages");
    let calls: Vec<String> = crate::helpers::eventually(Duration::from_secs(10), || async {
        let messages: serde_json::Value =
            app.get_as(&patient_token, &path).await.json().await.ok()?;
        let calls: Vec<String> = messages["messages"]
            .as_array()?
            .iter()
            .filter(|m| m["kind"] == "call")
            .filter_map(|m| m["body"].as_str().map(str::to_owned))
            .collect();
        (calls.len() == 2).then_some(calls)
    })
    .await
    .expect("the call's start and end messages");
    assert_eq!(calls[0], "视频通话开始");
    assert!(calls[1].starts_with("视频通话结束，时长"), "{}", calls[1]);
    patient.quit().await;
    doctor.quit().await;
    app.stop().await;
}

impl Browser {
    async fn sign_out(&self) {
        self.click("logout").await;
        self.wait_for("signing out", || async {
            self.driver().find(By::Id("nav-login")).await.is_ok()
        })
        .await;
    }

    /// Opens `path` and waits for element `id` on it.
    async fn open(&self, app: &TestApp, path: &str, id: &str) {
        self.driver().goto(app.url(path)).await.unwrap();
        self.wait_for(&format!("#{id} on {path}"), || async {
            self.driver().find(By::Id(id)).await.is_ok()
        })
        .await;
    }

    /// Clicks `id` and waits for the page after it to show `then`.
    async fn press(&self, id: &str, then: &str) {
        self.click(id).await;
        self.wait_for(&format!("#{then} after pressing #{id}"), || async {
            self.driver().find(By::Id(then)).await.is_ok()
        })
        .await;
    }
}

#[tokio::test]
async fn a_prescription_is_written_reviewed_paid_delivered_and_received_in_a_real_browser() {
    let app = TestApp::with_demo().await;
    // patient1 asks doctor4 for a follow-up of their hypertension, which the doctor begins.
    let (_, service) = doctor_service(&app, "doctor4", "follow_up").await;
    let patient_token = app.token("patient1", crate::helpers::PW).await;
    let created: serde_json::Value = app
        .post_as(
            Some(&patient_token),
            "/api/v1/consultations",
            &serde_json::json!({"service_id": service, "condition_icd10": "I10",
                                "intake": {"chief_complaint": "高血压复诊，续开降压药"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    let visit = created["id"].as_i64().expect("the follow-up visit");
    pay_fee(&app, &created).await;
    let doctor_token = app.token("doctor4", crate::helpers::PW).await;
    app.step_up(&doctor_token).await;
    for step in ["accept", "start"] {
        let r = app
            .post_as(
                Some(&doctor_token),
                &format!("/api/v1/consultations/{visit}/{step}"),
                &serde_json::json!({}),
            )
            .await;
        assert!(r.status().is_success(), "{step}");
    }
    let amlodipine = app
        .db
        .scalar::<i64>(
            "SELECT id FROM drug WHERE code = 'XY001' AND hospital_id = $1",
            (created["hospital_id"].as_i64().unwrap(),),
        )
        .await
        .unwrap();

    let browser = Browser::start().await;
    let d = browser.driver();
    // The doctor writes the prescription in the visit: checks it, then signs.
    browser.sign_in(&app, "doctor4").await;
    browser.step_up(&app).await;
    browser
        .open(
            &app,
            &format!("/consultations/{visit}/prescribe"),
            "prescribe-form",
        )
        .await;
    browser.fill("diagnosis_name", "原发性高血压").await;
    // The drug found by its pinyin initials (苯磺酸氨氯地平片: "aldp"), the dose's unit beside
    // the dose box; a search that finds nothing says so.
    browser.fill("drug_id_0_search", "zzzq").await;
    let none = d
        .execute(
            "return document.querySelector('#line-0 .field-error:not([hidden])')?.textContent || ''",
            Vec::new(),
        )
        .await
        .unwrap();
    assert!(
        none.json()
            .as_str()
            .unwrap_or_default()
            .contains("没有找到"),
        "{:?}",
        none.json()
    );
    browser.fill("drug_id_0_search", "aldp").await;
    let chosen = d
        .execute(
            "return document.getElementById('drug_id_0').value",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(chosen.json(), &serde_json::json!(amlodipine.to_string()));
    browser.wait_text("#dose-unit-0", "mg").await;
    browser.fill("dose_0", "5").await;
    browser.fill("days_0", "28").await;
    browser.press("rx-check", "findings").await;
    browser.press("rx-sign", "rx-status").await;
    browser.wait_text("#rx-status", "待审核").await;
    let rx = browser
        .path()
        .await
        .trim_start_matches("/prescriptions/")
        .to_owned();
    browser.sign_out().await;

    // The pharmacist approves it from the review queue.
    browser.sign_in(&app, "pharmacist1").await;
    browser
        .open(&app, "/pharmacist/reviews", &format!("review-{rx}"))
        .await;
    browser.press(&format!("approve-{rx}"), "form-notice").await;
    browser.sign_out().await;

    // The patient chooses delivery to the home address and pays in the sandbox.
    browser.sign_in(&app, "patient1").await;
    browser
        .open(&app, &format!("/prescriptions/{rx}"), "pay-form")
        .await;
    // On a phone the page fits its width: the long address in the delivery choice used to
    // push it sideways.
    let fits = browser
        .driver()
        .execute(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]",
            Vec::new(),
        )
        .await
        .unwrap();
    let widths = fits.json();
    assert!(
        widths[0].as_i64() <= widths[1].as_i64(),
        "scroll and client width: {widths}"
    );
    browser.click("method-delivery").await;
    browser.press("pay", "pay-approve").await;
    browser.press("pay-approve", "fulfilment-timeline").await;
    browser.wait_text("#fulfilment-status", "待调配").await;
    browser.sign_out().await;

    // The pharmacy picks, packs and hands it to the courier, who delivers it.
    let fulfilment = app
        .db
        .scalar::<i64>(
            "SELECT id FROM fulfilment WHERE prescription_id = $1",
            (rx.parse::<i64>().unwrap(),),
        )
        .await
        .unwrap();
    browser.sign_in(&app, "pharmacist1").await;
    browser
        .open(
            &app,
            "/pharmacist/dispensing",
            &format!("pick-{fulfilment}"),
        )
        .await;
    browser
        .press(&format!("pick-{fulfilment}"), &format!("pack-{fulfilment}"))
        .await;
    browser
        .press(
            &format!("pack-{fulfilment}"),
            &format!("dispatch-{fulfilment}"),
        )
        .await;
    browser.click(&format!("dispatch-{fulfilment}")).await;
    browser
        .wait_for("the parcel to leave the queue", || async {
            d.find(By::Id(format!("fulfilment-{fulfilment}")))
                .await
                .is_err()
        })
        .await;
    browser
        .open(&app, &format!("/prescriptions/{rx}"), "courier-console")
        .await;
    browser.press("courier-console", "step-picked_up").await;
    for (step, shown) in [
        ("picked_up", "快递已揽收"),
        ("in_transit", "运输中"),
        ("delivered", "已送达"),
    ] {
        browser.click(&format!("step-{step}")).await;
        browser.wait_text("#parcel-status", shown).await;
    }
    browser.sign_out().await;

    // The patient sees where it is and confirms it arrived.
    browser.sign_in(&app, "patient1").await;
    browser
        .open(&app, &format!("/prescriptions/{rx}"), "confirm-receipt")
        .await;
    browser.wait_text("#fulfilment-timeline", "已送达").await;
    browser.click("confirm-receipt").await;
    browser.wait_text("#fulfilment-status", "已签收").await;
    browser.wait_text("#rx-status", "已发药").await;
    browser.quit().await;
    app.stop().await;
}

/// Pays a consultation's fee (as created by the API) through the sandbox's notification.
async fn pay_fee(app: &TestApp, created: &serde_json::Value) {
    if created["fee"]["status"] == "pending" {
        crate::billing::pay_order_id(
            app,
            created["fee"]["order_id"].as_i64().unwrap(),
            created["fee"]["total_fen"].as_i64().unwrap(),
        )
        .await;
    }
}

#[tokio::test]
async fn an_intake_flags_a_case_the_officers_dashboard_shows_it_and_the_officer_closes_it_in_real_browsers()
 {
    let app = TestApp::with_demo().await;
    let (doctor_id, service) = doctor_service(&app, "doctor5", "text_consult").await;

    // The officer watches the dashboard (the demo lists Wuhan as an outbreak area).
    let officer = Browser::start().await;
    officer.sign_in(&app, "officer1").await;
    officer.open(&app, "/surveillance", "case-list").await;

    // The patient says what the seed's patient said.
    let patient = Browser::start().await;
    patient.sign_in(&app, "patient1").await;
    let p = patient.driver();
    p.goto(app.url(&format!("/doctors/{doctor_id}")))
        .await
        .unwrap();
    patient.click(&format!("consult-{service}")).await;
    patient.wait_path("/consultations/new").await;
    patient
        .fill("chief_complaint", "刚从武汉回来，发烧38.5度，不敢去医院")
        .await;
    patient.click("consultation-submit").await;
    patient
        .wait_for("the consultation's page", || async {
            patient.path().await.starts_with("/consultations/")
                && p.find(By::Id("chat")).await.is_ok()
        })
        .await;
    let consultation: i64 = patient
        .path()
        .await
        .trim_start_matches("/consultations/")
        .parse()
        .unwrap();
    let case = yunyi::surveillance::store::case_of_consultation(&app.db, consultation)
        .await
        .unwrap()
        .expect("the intake raised a flag")
        .id;

    // The dashboard, left open, shows it within seconds (it refreshes itself).
    officer
        .wait_text(&format!("#case-status-{case}"), "待联系")
        .await;
    officer
        .press(&format!("case-link-{case}"), "next-step")
        .await;
    officer.wait_text("#evidence", "刚从武汉回来").await;

    // Worked to closed, step by step.
    officer
        .fill("step-note", "已电话联系患者，嘱居家等待，佩戴口罩")
        .await;
    officer.click("step-submit").await;
    officer.wait_text("#case-status", "已联系").await;
    officer
        .fill("step-instructions", "负压救护车 30 分钟内到达")
        .await;
    officer.click("step-submit").await;
    officer.wait_text("#case-status", "已安排转运").await;
    officer
        .driver()
        .execute(
            "document.getElementById('step-test-at').value = '2026-11-24T09:00';",
            vec![],
        )
        .await
        .unwrap();
    officer.click("step-submit").await;
    officer.wait_text("#case-status", "已预约检测").await;
    officer.click("step-submit").await; // negative is the default
    officer.wait_text("#case-status", "已出结果").await;
    officer.fill("step-note", "核酸阴性，解除").await;
    officer.click("step-submit").await;
    officer.wait_text("#case-status", "已结案").await;
    officer.wait_text("#case-history", "已结案").await;

    patient.quit().await;
    officer.quit().await;
    app.stop().await;
}

/// What the page reports about itself for the large-text checks: the root font size in px,
/// the page's width against the window's, and the controls lower than 44 px (by id or text).
async fn text_mode_facts(browser: &Browser) -> serde_json::Value {
    browser
        .js(
            "const small = [...document.querySelectorAll('button, .button, select, \
             input:not([type=hidden]):not([type=checkbox]):not([type=radio]), .site-nav a')]\
               .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)\
               .map(e => e.id || e.textContent.trim());\
             return { root: parseFloat(getComputedStyle(document.documentElement).fontSize),\
                      large: document.documentElement.classList.contains('large-text'),\
                      wide: document.documentElement.scrollWidth > window.innerWidth,\
                      small };",
        )
        .await
}

/// 适老化: large text and high contrast, switched on from the header on a phone, remembered on
/// the next pages, with every control at least 44 px high and nothing wider than the phone.
#[tokio::test]
async fn large_text_mode_is_chosen_in_the_header_and_remembered_in_a_real_browser() {
    let app = TestApp::spawn().await;
    let browser = Browser::start().await;
    let d = browser.driver();

    d.goto(app.url("/login")).await.unwrap();
    let standard = text_mode_facts(&browser).await;
    assert_eq!(standard["root"], 16.0, "{standard}");
    assert_eq!(browser.text_of("#text-size").await, "大字模式");

    browser.click("text-size").await;
    browser.wait_text("#text-size", "标准字号").await;
    assert_eq!(browser.path().await, "/login", "back to the same page");
    let large = text_mode_facts(&browser).await;
    assert_eq!(large["large"], true, "{large}");
    assert_eq!(large["root"], 20.0, "{large}");
    assert_eq!(large["wide"], false, "wider than the phone: {large}");
    assert_eq!(
        large["small"],
        serde_json::json!([]),
        "under 44 px: {large}"
    );

    // Remembered: the next page is large too, signed in or not.
    d.goto(app.url("/doctors")).await.unwrap();
    browser.wait_text("#text-size", "标准字号").await;
    let doctors = text_mode_facts(&browser).await;
    assert_eq!(doctors["root"], 20.0, "{doctors}");
    assert_eq!(doctors["wide"], false, "wider than the phone: {doctors}");
    assert_eq!(
        doctors["small"],
        serde_json::json!([]),
        "under 44 px: {doctors}"
    );

    browser.click("text-size").await;
    browser.wait_text("#text-size", "大字模式").await;
    assert_eq!(text_mode_facts(&browser).await["root"], 16.0);
    browser.quit().await;
    app.stop().await;
}

/// The patient's app shell on a phone: a tab bar at the bottom (首页 / 问诊 / 预约 / 处方 / 我的)
/// that marks where they are, the header without the links it holds; on a desktop, the header.
#[tokio::test]
async fn a_patient_moves_between_tasks_with_the_tab_bar_on_a_phone_in_a_real_browser() {
    let app = TestApp::with_demo().await;
    let browser = Browser::start().await;
    let d = browser.driver();
    d.goto(app.url("/")).await.unwrap();
    assert!(
        d.find(By::Id("tab-bar")).await.is_err(),
        "no tab bar before signing in"
    );
    d.goto(app.url("/login")).await.unwrap();
    browser.fill("username", "patient1").await;
    browser.fill("password", crate::helpers::PW).await;
    browser.click("login-submit").await;
    browser.wait_path("/me").await;

    let tabs = d.find_all(By::Css("#tab-bar a")).await.unwrap();
    let mut labels = Vec::new();
    for tab in &tabs {
        labels.push(tab.text().await.unwrap());
    }
    assert_eq!(labels, ["首页", "问诊", "预约", "处方", "我的"]);
    let current = d
        .find(By::Css("#tab-bar a[aria-current=page]"))
        .await
        .unwrap();
    assert_eq!(current.id().await.unwrap().as_deref(), Some("tab-me"));
    // Fixed at the bottom of the window, each tab a thumb's size.
    let layout = browser
        .js(
            "const bar = document.getElementById('tab-bar').getBoundingClientRect();\
             const tab = document.getElementById('tab-home').getBoundingClientRect();\
             return [Math.round(bar.bottom), window.innerHeight, Math.round(tab.height),\
                     getComputedStyle(document.getElementById('nav-appointments')).display];",
        )
        .await;
    assert_eq!(
        layout[0], layout[1],
        "the bar ends at the window's bottom: {layout}"
    );
    assert!(layout[2].as_i64() >= Some(44), "{layout}");
    assert_eq!(
        layout[3], "none",
        "the header leaves the tabs' links to the bar"
    );

    browser.click("tab-appointments").await;
    browser.wait_path("/appointments").await;
    let current = d
        .find(By::Css("#tab-bar a[aria-current=page]"))
        .await
        .unwrap();
    assert_eq!(
        current.id().await.unwrap().as_deref(),
        Some("tab-appointments")
    );

    // A desktop window: the header has every link and the bar is gone.
    d.set_window_rect(0, 0, 1366, 900).await.unwrap();
    let shown = browser
        .js(
            "return [getComputedStyle(document.getElementById('tab-bar')).display,\
                     getComputedStyle(document.getElementById('nav-appointments')).display];",
        )
        .await;
    assert_eq!(shown[0], "none", "{shown}");
    assert_ne!(shown[1], "none", "{shown}");
    browser.quit().await;
    app.stop().await;
}

/// Installable on a phone: the page links a manifest, a service worker takes over, and when
/// the server cannot be reached a page asked for is the offline page, not the browser's error.
#[tokio::test]
async fn the_app_installs_a_service_worker_and_shows_the_offline_page_without_a_network() {
    let app = TestApp::spawn().await;
    let browser = Browser::start().await;
    let d = browser.driver();
    d.goto(app.url("/")).await.unwrap();
    let scope = browser
        .js("return navigator.serviceWorker.ready.then(r => r.active ? r.scope : null);")
        .await;
    assert_eq!(scope, app.url("/"), "the worker serves the whole site");
    browser
        .wait_for("the offline page in the cache", || async {
            browser
                .js("return caches.open('yunyi-offline-v1').then(c => c.match('/offline')).then(r => !!r);")
                .await
                == true
        })
        .await;
    // The worker controls pages loaded from now on.
    d.goto(app.url("/hospitals")).await.unwrap();
    assert_eq!(
        browser
            .js("return !!navigator.serviceWorker.controller;")
            .await,
        true
    );

    let doctors = app.url("/doctors");
    app.stop().await;
    d.goto(&doctors).await.unwrap();
    browser.wait_text("h1", "网络已断开").await;
    assert!(browser.text_of(".alert").await.contains("120"));
    browser.quit().await;
}

#[tokio::test]
async fn the_patients_unread_count_changes_without_a_reload_when_a_doctor_accepts() {
    let app = TestApp::with_demo().await;
    let (_, service) = doctor_service(&app, "doctor5", "text_consult").await;
    let patient_token = app.token("patient1", crate::helpers::PW).await;
    let r = app
        .post_as(
            Some(&patient_token),
            "/api/v1/consultations",
            &serde_json::json!({"service_id": service, "intake": {"chief_complaint": "头晕三天，想问问"}}),
        )
        .await;
    let created = r.json::<serde_json::Value>().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    pay_fee(&app, &created).await;

    // The patient's inbox is open before the doctor does anything.
    let patient = Browser::start().await;
    patient.sign_in(&app, "patient1").await;
    let d = patient.driver();
    d.goto(app.url("/notifications")).await.unwrap();
    let badge = || async {
        d.find(By::Id("unread-badge"))
            .await
            .unwrap()
            .attr("data-unread")
            .await
            .unwrap()
    };
    // bell.js has connected when it has written the count it was sent.
    patient
        .wait_for("the live count", || async { badge().await.is_some() })
        .await;
    let before: i64 = badge().await.unwrap_or_default().parse().unwrap();

    let doctor_token = app.token("doctor5", crate::helpers::PW).await;
    app.step_up(&doctor_token).await;
    let r = app
        .post_as(
            Some(&doctor_token),
            &format!("/api/v1/consultations/{id}/accept"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let after = (before + 1).to_string();
    patient
        .wait_for("the badge to count the doctor's acceptance", || async {
            badge().await.as_deref() == Some(after.as_str())
        })
        .await;
    let shown = d.find(By::Id("unread-badge")).await.unwrap();
    assert_eq!(shown.text().await.unwrap(), after);
    assert!(shown.is_displayed().await.unwrap());
    // The page was never reloaded: the list still lacks the new notice until it is.
    let listed = d.find_all(By::Css("#notification-list li")).await.unwrap();
    d.refresh().await.unwrap();
    let relisted = d.find_all(By::Css("#notification-list li")).await.unwrap();
    assert_eq!(relisted.len(), listed.len() + 1);
    patient.quit().await;
    app.stop().await;
}

/// Issue #22: an officer pushes prevention advice from the Tianhe alert; a patient of Tianhe
/// with the inbox open sees the count change without a reload, and the advice is there.
#[tokio::test]
async fn a_push_from_an_outbreak_alert_reaches_a_patient_of_that_region_in_real_browsers() {
    let app = TestApp::with_demo().await;
    let patient = Browser::start().await;
    patient.sign_in(&app, "patient2").await;
    let p = patient.driver();
    p.goto(app.url("/notifications")).await.unwrap();
    let badge = || async {
        p.find(By::Id("unread-badge"))
            .await
            .unwrap()
            .attr("data-unread")
            .await
            .unwrap()
    };
    patient
        .wait_for("the live count", || async { badge().await.is_some() })
        .await;
    let before: i64 = badge().await.unwrap_or_default().parse().unwrap();

    // The officer, on the dashboard, answers the alert with advice.
    let officer = Browser::start().await;
    officer.sign_in(&app, "officer1").await;
    let o = officer.driver();
    o.goto(app.url("/surveillance")).await.unwrap();
    o.find(By::Css("a[id^='push-advice-']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Each click below starts a navigation: wait for the page after it.
    let reach = officer.element("reach").await.text().await.unwrap();
    assert!(reach.contains('4'), "four patients in Tianhe: {reach}");
    let advice = o
        .find(By::Css("#article-choices input[type=radio]"))
        .await
        .unwrap();
    let article = advice.attr("value").await.unwrap().unwrap();
    advice.click().await.unwrap();
    o.find(By::Id("send-push"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    officer.element("push-sent").await;

    // The patient's open page counts it once the fan-out is done.
    let after = (before + 1).to_string();
    patient
        .wait_for("the badge to count the push", || async {
            badge().await.as_deref() == Some(after.as_str())
        })
        .await;
    p.refresh().await.unwrap();
    let newest = p.find(By::Css("#notification-list li a")).await.unwrap();
    newest.click().await.unwrap();
    assert!(
        p.current_url()
            .await
            .unwrap()
            .path()
            .ends_with(&format!("/education/{article}")),
        "the notification opens the article"
    );
    // The officer's list shows who was reached.
    o.goto(app.url("/education/pushes")).await.unwrap();
    let cell = |n: usize| {
        let css = format!("#push-table tbody tr:first-child td:nth-child({n})");
        async move { o.find(By::Css(css)).await.unwrap().text().await.unwrap() }
    };
    assert!(cell(3).await.starts_with('4'), "reached four");
    assert_eq!(cell(4).await, "1", "one of them read it");
    patient.quit().await;
    officer.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_patient_joins_the_demo_group_and_the_doctor_sees_messages_live_in_real_browsers() {
    let app = TestApp::with_demo().await;
    // patient4 asks to join the demo's hypertension group under a nickname.
    let patient = Browser::start().await;
    patient.sign_in(&app, "patient4").await;
    let p = patient.driver();
    p.goto(app.url("/groups/1")).await.unwrap();
    patient.fill("nickname", "早睡早起").await;
    patient.click("join").await;
    patient
        .wait_text("#request-waiting", "等待管理员审核")
        .await;

    // The host approves it on the members page.
    let doctor = Browser::start().await;
    doctor.sign_in(&app, "doctor4").await;
    let d = doctor.driver();
    d.goto(app.url("/groups/1/members")).await.unwrap();
    d.find(By::Css("button[id^='approve-']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    doctor.wait_text("#form-notice", "已完成").await;
    d.goto(app.url("/groups/1")).await.unwrap();
    doctor
        .wait_attr("group-chat", "data-connected", "true")
        .await;

    // The patient's message reaches the doctor's open page without a reload.
    p.goto(app.url("/groups/1")).await.unwrap();
    patient
        .wait_attr("group-chat", "data-connected", "true")
        .await;
    patient
        .fill("message-text", "今天血压 128/82，谢谢医生")
        .await;
    patient.click("send").await;
    doctor
        .wait_text("#messages", "今天血压 128/82，谢谢医生")
        .await;
    assert!(doctor.text_of("#messages").await.contains("早睡早起"));

    // Words of self-harm: the patient is shown where to find help at once.
    patient
        .fill("message-text", "最近压力很大，有时候真的不想活了")
        .await;
    patient.click("send").await;
    patient.wait_text("#crisis", "400-161-9995").await;
    d.refresh().await.unwrap();
    doctor.wait_text("#open-flags", "1").await;
    patient.quit().await;
    doctor.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_doctor_inserts_a_picture_into_an_article_in_a_real_browser() {
    let app = TestApp::with_demo().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cuff.png");
    std::fs::write(&file, crate::practice::PIXEL_PNG).unwrap();
    let doctor = Browser::start().await;
    doctor.sign_in(&app, "doctor4").await;
    let d = doctor.driver();
    d.goto(app.url("/education/new")).await.unwrap();
    doctor.fill("body", "袖带下缘在肘窝上两横指。").await;
    d.find(By::Id("article-picture"))
        .await
        .unwrap()
        .send_keys(file.display().to_string())
        .await
        .unwrap();
    doctor
        .wait_for("the picture's paragraph in the text", || async {
            let body = d
                .find(By::Id("body"))
                .await
                .unwrap()
                .prop("value")
                .await
                .unwrap()
                .unwrap_or_default();
            body.starts_with("袖带下缘在肘窝上两横指。\n\n![](/education/images/")
        })
        .await;
    doctor.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_doctor_attaches_a_consent_signed_on_paper_in_a_real_browser() {
    let app = TestApp::with_demo().await;
    let id = drafted_teleconsult(&app).await;

    let browser = Browser::start().await;
    let d = browser.driver();
    d.goto(app.url("/login")).await.unwrap();
    browser.fill("username", "doctor19").await;
    browser.fill("password", crate::helpers::PW).await;
    browser.click("login-submit").await;
    browser.wait_path("/me").await;
    d.goto(app.url(&format!("/remote-consultations/{id}")))
        .await
        .unwrap();
    browser
        .js("document.getElementById('paper-consent').open = true")
        .await;
    browser.fill("paper-signer", "张伟").await;
    browser.fill("paper-witness", "护士 周敏").await;
    let dir = tempfile::tempdir().unwrap();
    // Not an image: the page says so, in Chinese, and nothing is recorded.
    let fake = dir.path().join("consent.png");
    std::fs::write(&fake, "not a scan").unwrap();
    browser
        .element("paper-file")
        .await
        .send_keys(fake.display().to_string())
        .await
        .unwrap();
    browser.click("paper-submit").await;
    browser.wait_text("#paper-status", "未能记录").await;
    let row = yunyi::teleconsult::store::get(&app.db, id)
        .await
        .unwrap()
        .unwrap();
    assert!(row.consent_at.is_none());

    let real = dir.path().join("real.png");
    std::fs::write(&real, crate::practice::PIXEL_PNG).unwrap();
    browser
        .element("paper-file")
        .await
        .send_keys(real.display().to_string())
        .await
        .unwrap();
    browser.click("paper-submit").await;
    browser.wait_text("#consent", "护士 周敏").await;
    let row = yunyi::teleconsult::store::get(&app.db, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.consent_method.as_deref(), Some("paper"));
    browser.quit().await;
    app.stop().await;
}

/// doctor19 drafts a remote consultation for patient1's father at the Guangzhou hospital
/// (through the API). Its id.
async fn drafted_teleconsult(app: &TestApp) -> i64 {
    let inviting = app.token("doctor19", crate::helpers::PW).await;
    app.step_up(&inviting).await;
    let one = |sql: &'static str| async move { app.db.scalar::<i64>(sql, ()).await.unwrap() };
    let father = one("SELECT id FROM person WHERE name = '张建国'").await;
    let department = one(
        "SELECT d.id FROM department d JOIN hospital h ON h.id = d.hospital_id \
         WHERE h.code = 'DEMO-GZ-001' AND d.std_code = '03.01'",
    )
    .await;
    let gz = one("SELECT id FROM hospital WHERE code = 'DEMO-GZ-001'").await;
    let r = app
        .post_as(
            Some(&inviting),
            "/api/v1/remote-consultations",
            &serde_json::json!({
                "person_id": father, "invited_hospital_id": gz, "department_id": department,
                "urgency": "routine", "question": "请协助评估慢阻肺急性加重的治疗方案。",
                "summary": "男，74 岁，慢阻肺急性加重，抗感染 3 天后仍低氧。",
            }),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// As `drafted_teleconsult`; then the son consents, doctor1 accepts and schedules it. Its id.
async fn scheduled_teleconsult(app: &TestApp) -> i64 {
    let id = drafted_teleconsult(app).await;
    let inviting = app.token("doctor19", crate::helpers::PW).await;
    app.step_up(&inviting).await;
    let specialist = app.token("doctor1", crate::helpers::PW).await;
    app.step_up(&specialist).await;
    let family = app.token("patient1", crate::helpers::PW).await;
    let at = yunyi::time::cst_display(app.state.now_ms() + 3_600_000);
    for (token, step, body) in [
        (&family, "consent", serde_json::json!({"agree": true})),
        (&inviting, "send", serde_json::json!({})),
        (&specialist, "accept", serde_json::json!({})),
        (
            &specialist,
            "schedule",
            serde_json::json!({"starts_at": at}),
        ),
    ] {
        let r = app
            .post_as(
                Some(token),
                &format!("/api/v1/remote-consultations/{id}/{step}"),
                &body,
            )
            .await;
        assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT, "{step}");
    }
    id
}

#[tokio::test]
async fn three_people_meet_in_the_video_room_and_the_specialists_opinion_reaches_the_inviting_doctor()
 {
    let app = TestApp::with_demo().await;
    let id = scheduled_teleconsult(&app).await;
    let page = format!("/remote-consultations/{id}");
    let mut sides = Vec::new();
    for username in ["doctor19", "doctor1", "patient1"] {
        let browser = Browser::start().await;
        browser.sign_in(&app, username).await;
        if username.starts_with("doctor") {
            browser.step_up(&app).await;
        }
        browser.open(&app, &page, "room-enter").await;
        browser.click("room-enter").await;
        sides.push(browser);
    }
    // Each page sees and hears the two others, over connections of their own.
    for side in &sides {
        side.wait_attr("room", "data-remote-streams", "2").await;
        side.wait_attr("room", "data-state", "connected").await;
    }
    let [inviting, specialist, patient] = <[Browser; 3]>::try_from(sides).ok().unwrap();
    // Joining times are kept: all three are in the session now.
    let present = app
        .db
        .scalar::<i64>(
            "SELECT COUNT(*) FROM teleconsult_participant WHERE teleconsult_id = $1 AND left_at IS NULL",
            (id,),
        )
        .await
        .unwrap();
    assert_eq!(present, 3);

    // The specialist shows their screen (an image they read) to everyone, then stops.
    specialist.click("share-screen").await;
    specialist.wait_attr("room", "data-sharing", "true").await;
    specialist.click("share-screen").await;
    specialist.wait_attr("room", "data-sharing", "false").await;

    // The patient leaves: the doctors see each other only; the leaving time is kept.
    patient.click("room-leave").await;
    inviting.wait_attr("room", "data-remote-streams", "1").await;
    specialist
        .wait_attr("room", "data-remote-streams", "1")
        .await;
    let left = crate::helpers::eventually(Duration::from_secs(10), || async {
        let n = app
            .db
            .scalar::<i64>(
                "SELECT COUNT(*) FROM teleconsult_participant p JOIN account a ON a.id = p.account_id \
                 WHERE p.teleconsult_id = $1 AND a.username = 'patient1' AND p.left_at IS NOT NULL",
                (id,),
            )
            .await
            .ok()?;
        (n == 1).then_some(n)
    })
    .await;
    assert_eq!(left, Some(1));

    // The specialist marks the session held: the room closes on both pages.
    specialist.press("hold", "report-editor").await;
    inviting
        .wait_for("the room closing", || async {
            inviting.driver().find(By::Id("room")).await.is_err()
        })
        .await;
    specialist
        .fill("findings", "双肺散在哮鸣音，考虑中度急性加重。")
        .await;
    specialist.fill("icd10", "J44.1").await;
    specialist
        .fill("diagnosis", "慢性阻塞性肺疾病伴急性加重")
        .await;
    specialist
        .fill(
            "recommendations",
            "控制性氧疗，复查血气；无创通气指征不足。",
        )
        .await;
    specialist.press("save-report", "sign-report").await;
    specialist.js("window.confirm = () => true").await;
    specialist.press("sign-report", "add-addendum").await;

    // The inviting doctor sees the signed opinion and records the decision.
    inviting.open(&app, &page, "receive").await;
    inviting
        .wait_text("#report-diagnosis", "慢性阻塞性肺疾病伴急性加重（J44.1）")
        .await;
    inviting
        .fill("decision", "按专家意见调整，继续住院观察。")
        .await;
    inviting.press("receive", "decision-text").await;
    for side in [inviting, specialist, patient] {
        side.quit().await;
    }
    app.stop().await;
}

/// The Guangzhou hospital's published course of one lesson (slides), with nurse1 and nurse2
/// enrolled and a live session with doctor1 starting in five minutes: (course, live session).
async fn live_session_soon(app: &TestApp) -> (i64, i64) {
    use serde_json::json;
    let admin = app.token("hospital-admin", crate::helpers::PW).await;
    let post = |path: String, body: serde_json::Value| {
        let admin = admin.clone();
        async move {
            let r = app.post_as(Some(&admin), &path, &body).await;
            assert!(r.status().is_success(), "{path}: {}", r.status());
            r.json::<serde_json::Value>().await.unwrap_or_default()
        }
    };
    let course = post(
        "/api/v1/courses".to_owned(),
        json!({"title": "院感防控", "description": "手卫生与防护", "credit_hours": 1}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let lesson = post(
        format!("/api/v1/courses/{course}/lessons"),
        json!({"title": "手卫生", "minutes": 10}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let r = app
        .client
        .put(app.url(&format!("/api/v1/courses/{course}/lessons/{lesson}/file")))
        .bearer_auth(&admin)
        .body(&b"%PDF-1.4\n% slides\n"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);
    let r = app
        .post_as(
            Some(&admin),
            &format!("/api/v1/courses/{course}/publish"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);
    let nurse = app.token("nurse2", crate::helpers::PW).await;
    let r = app
        .post_as(
            Some(&nurse),
            &format!("/api/v1/courses/{course}/enrol"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);
    let lecturer = app
        .db
        .scalar::<i64>("SELECT id FROM account WHERE username = 'doctor1'", ())
        .await
        .unwrap();
    let starts = yunyi::time::cst_display(app.state.now_ms() + 5 * 60_000);
    let live = post(
        format!("/api/v1/courses/{course}/live"),
        json!({"title": "手卫生现场演示", "lecturer_id": lecturer, "starts_at": starts, "minutes": 30}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    (course, live)
}

#[tokio::test]
async fn a_lecturer_and_a_learner_meet_in_a_live_session_until_the_lecturer_ends_it() {
    let app = TestApp::with_demo().await;
    let (course, live) = live_session_soon(&app).await;
    let page = format!("/courses/{course}/live/{live}");
    let mut sides = Vec::new();
    for username in ["doctor1", "nurse2"] {
        let browser = Browser::start().await;
        browser.sign_in(&app, username).await;
        browser.open(&app, &page, "room-enter").await;
        browser.click("room-enter").await;
        sides.push(browser);
    }
    for side in &sides {
        side.wait_attr("room", "data-remote-streams", "1").await;
        side.wait_attr("room", "data-state", "connected").await;
    }
    let [lecturer, learner] = <[Browser; 2]>::try_from(sides).ok().unwrap();
    // The lecturer shows slides by sharing the screen.
    lecturer.click("share-screen").await;
    lecturer.wait_attr("room", "data-sharing", "true").await;
    // The lecturer ends it from the page: the room closes on the learner's page too.
    lecturer.js("window.confirm = () => true").await;
    lecturer.press("live-end", "live-ended").await;
    learner
        .wait_for("the room closing", || async {
            learner.driver().find(By::Id("room")).await.is_err()
        })
        .await;
    let open = app
        .db
        .scalar::<i64>(
            "SELECT COUNT(*) FROM course_live_attendance WHERE live_id = $1 AND left_at IS NULL",
            (live,),
        )
        .await
        .unwrap();
    assert_eq!(open, 0);
    for side in [lecturer, learner] {
        side.quit().await;
    }
    app.stop().await;
}

/// doctor1's family-doctor team (with nurse1), patient1 signed, and doctor1's hypertension
/// plan for him: the plan's id.
async fn hypertension_plan(app: &TestApp) -> i64 {
    use serde_json::json;
    let pw = crate::helpers::PW;
    let admin = app.token("hospital-admin", pw).await;
    let r = app
        .post_as(
            Some(&admin),
            "/api/v1/care-teams",
            &json!({"name": "林志明家庭医生团队", "kind": "family_doctor", "capacity": 600}),
        )
        .await;
    let team = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    for (who, role) in [("doctor1", "lead"), ("nurse1", "nurse")] {
        let member = app
            .db
            .scalar::<i64>("SELECT id FROM account WHERE username = $1", (who,))
            .await
            .unwrap();
        let r = app
            .client
            .put(app.url(&format!("/api/v1/care-teams/{team}/members")))
            .bearer_auth(&admin)
            .json(&json!({"account_id": member, "role": role}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    let patient = app.token("patient1", pw).await;
    let me = app.person_of(&patient).await;
    let r = app
        .post_as(
            Some(&patient),
            "/api/v1/family-contracts",
            &json!({"person_id": me, "team_id": team, "package": "chronic"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let lead = app.token("doctor1", pw).await;
    app.step_up(&lead).await;
    let r = app
        .post_as(
            Some(&lead),
            "/api/v1/care-plans",
            &json!({"person_id": me, "team_id": team, "template": "hypertension"}),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// Issue #21's done-when: patient1 enters a high blood pressure on a phone; the nurse's
/// dashboard, open in another browser, shows the task within seconds without a reload; the
/// nurse closes it with a message the patient then reads by the reading.
#[tokio::test]
async fn a_high_reading_on_a_phone_reaches_the_nurses_dashboard_and_her_reply_the_patient() {
    let app = TestApp::with_demo().await;
    let plan = hypertension_plan(&app).await;
    let nurse = Browser::start().await;
    nurse.sign_in(&app, "nurse1").await;
    nurse
        .driver()
        .set_window_rect(0, 0, 1366, 900)
        .await
        .unwrap();
    nurse.open(&app, "/care/tasks", "no-tasks").await;

    let patient = Browser::start().await;
    patient.sign_in(&app, "patient1").await;
    patient
        .open(&app, &format!("/care/plans/{plan}"), "todo-blood_pressure")
        .await;
    patient.fill("systolic-blood_pressure", "165").await;
    patient.fill("diastolic-blood_pressure", "102").await;
    patient.press("save-blood_pressure", "form-notice").await;
    let notice = patient.text_of("#form-notice").await;
    assert!(notice.contains("已通知您的团队"), "{notice}");
    assert!(patient.text_of("#readings").await.contains("165/102 mmHg"));

    // The dashboard refreshes itself: the task appears with its reading.
    nurse
        .wait_for("the task on the dashboard", || async {
            nurse.driver().find(By::Css("[id^=close-]")).await.is_ok()
        })
        .await;
    let card = nurse.text_of("#task-list").await;
    assert!(
        card.contains("165/102 mmHg") && card.contains("读数超出范围"),
        "{card}"
    );
    let close = nurse.driver().find(By::Css("[id^=close-]")).await.unwrap();
    let task = close
        .id()
        .await
        .unwrap()
        .unwrap_or_default()
        .replace("close-", "");
    let reply = "已收到，请休息 10 分钟后复测；如有头痛胸闷请立即就医。";
    nurse.fill(&format!("reply-{task}"), reply).await;
    nurse.press(&format!("close-{task}"), "form-notice").await;

    patient.driver().refresh().await.unwrap();
    patient
        .wait_for("the team's reply by the reading", || async {
            patient.text_of("#readings").await.contains(reply)
        })
        .await;
    for side in [nurse, patient] {
        side.quit().await;
    }
    app.stop().await;
}
