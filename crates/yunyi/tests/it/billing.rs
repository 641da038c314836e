//! Paying for a prescription: orders whose totals are their lines, the sandbox gateway's
//! signed notifications (a bad signature refused, the same one ten times paying once, out of
//! order harmless), payment after the prescription stopped being payable refunded, refunds
//! never above what was paid, and the pages from "pay" to paid.

use reqwest::StatusCode;
use serde_json::{Value, json};
use yunyi::billing::gateway::{Notification, SandboxGateway};

use crate::booking::{Ctx, setup};
use crate::helpers::PW;

/// patient1's approved demo prescription.
async fn approved(ctx: &Ctx) -> (String, i64) {
    let patient = ctx.app.token("patient1", PW).await;
    let (_, mine) = ctx.get(&patient, "/api/v1/prescriptions").await;
    let id = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["status"] == "approved")
        .expect("the demo's approved prescription")["id"]
        .as_i64()
        .unwrap();
    (patient, id)
}

async fn notify(ctx: &Ctx, body: &[u8], signature: &str) -> (StatusCode, Value) {
    let r = ctx
        .app
        .client
        .post(ctx.app.url("/api/v1/payments/notify/sandbox"))
        .header("x-sandbox-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Pays order `order` in full through a signed sandbox notification (a fresh transaction).
pub(crate) async fn pay_order_id(app: &crate::helpers::TestApp, order: i64, amount_fen: i64) {
    let gateway = SandboxGateway::new(app.state.keys.sandbox_pay_secret());
    let (body, signature) = gateway.notification(&Notification {
        gateway_txn: format!("SBX-TEST-{}", uuid::Uuid::new_v4().simple()),
        order_id: order,
        event: "paid".to_owned(),
        amount_fen,
    });
    let r = app
        .client
        .post(app.url("/api/v1/payments/notify/sandbox"))
        .header("x-sandbox-signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

fn sandbox(ctx: &Ctx) -> SandboxGateway {
    SandboxGateway::new(ctx.app.state.keys.sandbox_pay_secret())
}

#[tokio::test]
async fn a_prescription_is_paid_once_however_often_the_gateway_says_so() {
    let ctx = setup().await;
    let (patient, rx) = approved(&ctx).await;
    let (status, order) = ctx
        .post(
            &patient,
            &format!("/api/v1/prescriptions/{rx}/order"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["status"], "pending");
    let sum: i64 = order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(order["total_fen"].as_i64().unwrap(), sum);
    let (_, prescription) = ctx
        .get(&patient, &format!("/api/v1/prescriptions/{rx}"))
        .await;
    assert_eq!(order["total_fen"], prescription["total_fen"]);
    let order_id = order["id"].as_i64().unwrap();
    // Asking again gives the same order.
    let (_, again) = ctx
        .post(
            &patient,
            &format!("/api/v1/prescriptions/{rx}/order"),
            json!({}),
        )
        .await;
    assert_eq!(again["id"], order_id);

    let paid = Notification {
        gateway_txn: "SBX-TEST-1".to_owned(),
        order_id,
        event: "paid".to_owned(),
        amount_fen: sum,
    };
    let (body, signature) = sandbox(&ctx).notification(&paid);
    // A forged signature changes nothing.
    let forged = SandboxGateway::new([1; 32]).sign(&body);
    assert_eq!(notify(&ctx, &body, &forged).await.0, StatusCode::FORBIDDEN);
    let (_, still) = ctx
        .get(&patient, &format!("/api/v1/orders/{order_id}"))
        .await;
    assert_eq!(still["status"], "pending");
    // Ten times the same notification: paid once.
    let mut outcomes = Vec::new();
    for _ in 0..10 {
        let (status, answer) = notify(&ctx, &body, &signature).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        outcomes.push(answer["outcome"].as_str().unwrap().to_owned());
    }
    assert_eq!(outcomes[0], "paid");
    assert!(
        outcomes[1..].iter().all(|o| o == "duplicate"),
        "{outcomes:?}"
    );
    let (_, order) = ctx
        .get(&patient, &format!("/api/v1/orders/{order_id}"))
        .await;
    assert_eq!(order["status"], "paid");
    assert_eq!(order["paid_fen"].as_i64().unwrap(), sum);
    let (_, prescription) = ctx
        .get(&patient, &format!("/api/v1/prescriptions/{rx}"))
        .await;
    assert_eq!(prescription["status"], "paid");
    // A "declined" arriving late for the same transaction is harmless.
    let declined = Notification {
        event: "declined".to_owned(),
        ..paid.clone()
    };
    let (body, signature) = sandbox(&ctx).notification(&declined);
    let (_, answer) = notify(&ctx, &body, &signature).await;
    assert_eq!(answer["outcome"], "ignored");
    let (_, order) = ctx
        .get(&patient, &format!("/api/v1/orders/{order_id}"))
        .await;
    assert_eq!(order["status"], "paid");

    // Refunds: by the hospital's administrator, never above what was paid.
    let (status, _) = ctx
        .post(
            &patient,
            &format!("/api/v1/orders/{order_id}/refunds"),
            json!({"amount_fen": 100, "reason": "退一盒药的钱"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let refund = |amount: i64| json!({"amount_fen": amount, "reason": "患者退回一盒未拆封药品"});
    let (status, partly) = ctx
        .post(
            &ctx.admin,
            &format!("/api/v1/orders/{order_id}/refunds"),
            refund(1000),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{partly}");
    assert_eq!(partly["refunded_fen"], 1000);
    assert_eq!(partly["status"], "paid");
    let (status, _) = ctx
        .post(
            &ctx.admin,
            &format!("/api/v1/orders/{order_id}/refunds"),
            refund(i64::MAX),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an absurd amount is refused, not overflowed"
    );
    let (status, too_much) = ctx
        .post(
            &ctx.admin,
            &format!("/api/v1/orders/{order_id}/refunds"),
            refund(sum),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{too_much}");
    let (status, rest) = ctx
        .post(
            &ctx.admin,
            &format!("/api/v1/orders/{order_id}/refunds"),
            refund(sum - 1000),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rest}");
    assert_eq!(rest["status"], "refunded");
    assert_eq!(rest["refunds"].as_array().unwrap().len(), 2);
    let (status, _) = ctx
        .post(
            &ctx.admin,
            &format!("/api/v1/orders/{order_id}/refunds"),
            refund(1),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn only_an_approved_prescription_in_time_is_ordered_and_a_late_payment_is_refunded() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let (_, mine) = ctx.get(&patient, "/api/v1/prescriptions").await;
    let waiting = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["status"] == "submitted")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, refused) = ctx
        .post(
            &patient,
            &format!("/api/v1/prescriptions/{waiting}/order"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("not reviewed"));
    // Another patient cannot order it.
    let (_, rx) = approved(&ctx).await;
    let other = ctx.app.token("patient2", PW).await;
    assert_eq!(
        ctx.post(
            &other,
            &format!("/api/v1/prescriptions/{rx}/order"),
            json!({})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    // Ordered, then the prescription expires before the money arrives: refunded in full.
    let (_, order) = ctx
        .post(
            &patient,
            &format!("/api/v1/prescriptions/{rx}/order"),
            json!({}),
        )
        .await;
    let total = order["total_fen"].as_i64().unwrap();
    // A payment of another amount pays nothing.
    let short = Notification {
        gateway_txn: "SBX-SHORT".to_owned(),
        order_id: order["id"].as_i64().unwrap(),
        event: "paid".to_owned(),
        amount_fen: total - 1,
    };
    let (body, signature) = sandbox(&ctx).notification(&short);
    let (_, answer) = notify(&ctx, &body, &signature).await;
    assert_eq!(answer["outcome"], "amount_mismatch");
    let (_, still) = ctx
        .get(&patient, &format!("/api/v1/orders/{}", short.order_id))
        .await;
    assert_eq!(still["status"], "pending");
    let far = yunyi::clock::now_ms() + 30 * 24 * 3_600_000;
    yunyi::pharmacy::review::expire_due(&ctx.app.db, far)
        .await
        .unwrap();
    let n = Notification {
        gateway_txn: "SBX-LATE".to_owned(),
        order_id: order["id"].as_i64().unwrap(),
        event: "paid".to_owned(),
        amount_fen: total,
    };
    let (body, signature) = sandbox(&ctx).notification(&n);
    let (_, answer) = notify(&ctx, &body, &signature).await;
    assert_eq!(answer["outcome"], "refunded");
    let (_, order) = ctx
        .get(&patient, &format!("/api/v1/orders/{}", n.order_id))
        .await;
    assert_eq!(order["status"], "refunded");
    assert_eq!(order["refunded_fen"].as_i64().unwrap(), total);
}

#[tokio::test]
async fn the_patient_pays_on_the_sandbox_page() {
    let ctx = setup().await;
    let (_, rx) = approved(&ctx).await;
    let page = ctx.app.sign_in_browser("patient1").await;
    let shown = page.page(&format!("/prescriptions/{rx}")).await;
    assert!(shown.contains("id=\"pay\""), "{shown}");
    let r = page
        .post_form(&format!("/prescriptions/{rx}/pay"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let checkout = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(checkout.starts_with("/sandbox/pay/"), "{checkout}");
    let html = page.page(&checkout).await;
    assert!(html.contains("id=\"pay-approve\""), "{html}");
    let done = page
        .submit(&checkout, &[("decision", "approve".to_owned())])
        .await;
    assert!(done.contains("已支付"), "{done}");
}

/// Pays `order` in full through a signed sandbox notification with transaction `txn`.
async fn pay_order(ctx: &Ctx, order: &Value, txn: &str, amount_fen: i64) -> Value {
    let n = Notification {
        gateway_txn: txn.to_owned(),
        order_id: order["id"].as_i64().unwrap(),
        event: "paid".to_owned(),
        amount_fen,
    };
    let (body, signature) = sandbox(ctx).notification(&n);
    notify(ctx, &body, &signature).await.1
}

#[tokio::test]
async fn the_daily_reconciliation_lists_each_payment_refund_and_exception() {
    let ctx = setup().await;
    let (patient, rx) = approved(&ctx).await;
    let (_, order) = ctx
        .post(
            &patient,
            &format!("/api/v1/prescriptions/{rx}/order"),
            json!({}),
        )
        .await;
    let total = order["total_fen"].as_i64().unwrap();
    // A wrong amount first: nothing paid, an exception for finance.
    let answer = pay_order(&ctx, &order, "SBX-RECON-0", total - 1).await;
    assert_eq!(answer["outcome"], "amount_mismatch");
    let answer = pay_order(&ctx, &order, "SBX-RECON-1", total).await;
    assert_eq!(answer["outcome"], "paid");
    let order_id = order["id"].as_i64().unwrap();
    let (status, _) = ctx
        .post(
            &ctx.admin,
            &format!("/api/v1/orders/{order_id}/refunds"),
            json!({"amount_fen": 500, "reason": "患者退回部分药品"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let hospital = order["hospital_id"].as_i64().unwrap();
    let path = format!("/api/v1/hospitals/{hospital}/reconciliation");
    let (status, report) = ctx.get(&ctx.admin, &path).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    // The demo's consultation fees were paid today too: find this order's lines.
    let lines = |key: &str| -> Vec<Value> {
        report[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["order_id"] == order_id)
            .cloned()
            .collect()
    };
    let paid = lines("payments");
    assert_eq!(paid.len(), 1, "{report}");
    assert_eq!(paid[0]["gateway_txn"], "SBX-RECON-1");
    assert_eq!(paid[0]["amount_fen"].as_i64().unwrap(), total);
    assert_eq!(lines("refunds")[0]["amount_fen"], 500);
    assert_eq!(lines("exceptions")[0]["outcome"], "amount_mismatch");
    let sum = |key: &str| -> i64 {
        report[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["amount_fen"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(report["paid_fen"].as_i64().unwrap(), sum("payments"));
    assert_eq!(report["refunded_fen"].as_i64().unwrap(), sum("refunds"));
    assert_eq!(
        report["net_fen"].as_i64().unwrap(),
        sum("payments") - sum("refunds")
    );
    let prescriptions = report["by_subject"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subject_type"] == "prescription")
        .expect("prescriptions in the subtotals");
    assert_eq!(prescriptions["payments"], 1);
    assert_eq!(prescriptions["paid_fen"].as_i64().unwrap(), total);
    // Another day has none of it.
    let (_, other_day) = ctx
        .get(&ctx.admin, &format!("{path}?date=2026-01-01"))
        .await;
    assert_eq!(other_day["payments"].as_array().unwrap().len(), 0);
    // As CSV, for the spreadsheet: a line per payment and refund, in yuan.
    let r = ctx
        .app
        .get_as(&ctx.admin, &format!("{path}?format=csv"))
        .await;
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    assert!(
        csv.contains("payment,") && csv.contains("SBX-RECON-1"),
        "{csv}"
    );
    assert!(csv.contains("refund,") && csv.contains(",-5.00,"), "{csv}");
    // Bad input is named; the patient and other staff may not read it.
    let (status, bad) = ctx
        .get(&ctx.admin, &format!("{path}?date=2026-13-01"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["errors"][0]["field"], "date");
    let (status, _) = ctx.get(&patient, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let regulator = ctx.app.token("regulator1", PW).await;
    let (status, _) = ctx.get(&regulator, &path).await;
    assert_eq!(status, StatusCode::OK);

    // The administrator's page shows the same totals.
    let admin = ctx.app.sign_in_browser("hospital-admin").await;
    let page = admin.page("/admin/reconciliation").await;
    let net = report["net_fen"].as_i64().unwrap();
    assert!(
        page.contains("id=\"recon-net\"") && page.contains(&yunyi::money::yuan(net)),
        "{page}"
    );
    assert!(page.contains("id=\"recon-exceptions\""));
    let bad = admin.page("/admin/reconciliation?date=yesterday").await;
    assert!(bad.contains("id=\"form-message\""), "{bad}");
}

#[tokio::test]
async fn an_administrator_sets_prices_and_imports_on_the_formulary_page() {
    let ctx = setup().await;
    let (patient, rx) = approved(&ctx).await;
    let (_, before) = ctx
        .get(&patient, &format!("/api/v1/prescriptions/{rx}"))
        .await;
    let drug = before["items"][0]["drug_id"].as_i64().unwrap();
    let path = format!("/api/v1/drugs/{drug}/price");
    let (status, bad) = ctx
        .post(&ctx.admin, &path, json!({"price_yuan": "三十"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["errors"][0]["field"], "price_yuan");
    let (status, _) = ctx.post(&patient, &path, json!({"price_yuan": "1"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, changed) = ctx
        .post(&ctx.admin, &path, json!({"price_yuan": "29.90"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["price_fen"], 2990);
    // The prescription already written keeps the price it was signed with.
    let (_, after) = ctx
        .get(&patient, &format!("/api/v1/prescriptions/{rx}"))
        .await;
    assert_eq!(after["total_fen"], before["total_fen"]);
    assert_eq!(
        after["items"][0]["unit_price_fen"],
        before["items"][0]["unit_price_fen"]
    );

    let admin = ctx.app.sign_in_browser("hospital-admin").await;
    let page = admin.page("/admin/formulary?q=XY001").await;
    assert!(
        page.contains(&format!("id=\"price-{drug}\"")) && page.contains("29.90"),
        "{page}"
    );
    let banned = admin.page("/admin/formulary?q=XY101").await;
    assert!(banned.contains("禁止线上"), "{banned}");
    let saved = admin
        .submit(
            &format!("/admin/drugs/{drug}/price"),
            &[("price_yuan", "31.00".to_owned())],
        )
        .await;
    assert!(saved.contains("id=\"form-notice\""), "{saved}");
    // A CSV with a bad row is shown again with the row named; nothing is imported.
    let header = "code,generic_name,brand_name,form,strength,unit,pack_size,route,price_yuan,class,atc_code,dose_unit,unit_strength,max_daily_dose,min_age_years,pregnancy,allergy_terms,online";
    let csv =
        format!("{header}\nXY900,测试片,,片剂,1mg×10片,盒,10,口服,abc,处方药,,mg,1,,,safe,,是\n");
    let r = admin
        .post_form("/admin/formulary/import", &[("csv", csv.as_str())])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let shown = r.text().await.unwrap();
    assert!(
        shown.contains("id=\"import-errors\"") && shown.contains("rows[2].price_yuan"),
        "{shown}"
    );
    let (_, none) = ctx
        .app
        .get_json(&format!(
            "/api/v1/hospitals/{}/drugs?q=XY900",
            changed["hospital_id"]
        ))
        .await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    let good = csv.replace(",abc,", ",12.00,");
    let imported = admin
        .submit("/admin/formulary/import", &[("csv", good)])
        .await;
    assert!(imported.contains("新增 1 种"), "{imported}");
}

#[tokio::test]
async fn consultation_fees_are_refunded_when_the_request_lapses() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let service = crate::consult::service_of(&ctx, "doctor5", "text_consult").await;
    let body = json!({"service_id": service, "intake": {"chief_complaint": "最近总是失眠"}});
    // Paid, then cancelled by the patient before any doctor took it: refunded in full.
    let (_, paid) = ctx.request_paid(&patient, body.clone()).await;
    let id = paid["id"].as_i64().unwrap();
    let order = paid["fee"]["order_id"].as_i64().unwrap();
    let (status, _) = ctx
        .post(
            &patient,
            &format!("/api/v1/consultations/{id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Paid, then expired unanswered.
    let (_, second) = ctx.request_paid(&patient, body.clone()).await;
    let expired = second["id"].as_i64().unwrap();
    yunyi::consult::lifecycle::expire_due(&ctx.app.db, second["expires_at"].as_i64().unwrap() + 1)
        .await
        .unwrap();
    // Never paid: nothing to refund.
    let (_, unpaid) = ctx
        .post(&patient, "/api/v1/consultations", body.clone())
        .await;
    assert_eq!(unpaid["fee"]["status"], "pending");
    let refunded = yunyi::billing::fees::refund_lapsed(&ctx.app.state)
        .await
        .unwrap();
    // Ours, and the demo's paid requests that expired with the second one.
    assert!(refunded >= 2, "{refunded}");
    for (consultation, order) in [
        (id, order),
        (expired, second["fee"]["order_id"].as_i64().unwrap()),
    ] {
        let (_, o) = ctx.get(&patient, &format!("/api/v1/orders/{order}")).await;
        assert_eq!(o["status"], "refunded", "{o}");
        assert_eq!(o["refunded_fen"], o["paid_fen"]);
        let (_, c) = ctx
            .get(&patient, &format!("/api/v1/consultations/{consultation}"))
            .await;
        assert_eq!(c["fee"]["status"], "refunded");
    }
    // Run again: nothing more (never above what was paid).
    assert_eq!(
        yunyi::billing::fees::refund_lapsed(&ctx.app.state)
            .await
            .unwrap(),
        0
    );
    // A free clinic charges nothing.
    let free = crate::consult::service_of(&ctx, "doctor1", "free_clinic").await;
    let (status, clinic) = ctx
        .post(
            &patient,
            "/api/v1/consultations",
            json!({"service_id": free, "intake": {"chief_complaint": "咳嗽三天，想咨询"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{clinic}");
    assert!(clinic["fee"].is_null(), "{clinic}");
}

#[tokio::test]
async fn an_appointment_fee_is_paid_online_and_refunded_when_cancelled() {
    let ctx = setup().await;
    let (_, slots) = ctx.session("doctor2", 1, "13:00", None).await;
    let patient = ctx.app.token("patient2", PW).await;
    let (status, booked) = ctx
        .post(
            &patient,
            "/api/v1/appointments",
            json!({"slot_id": slots[0]["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let appointment = booked["id"].as_i64().unwrap();
    let browser = ctx.app.sign_in_browser("patient2").await;
    let list = browser.page("/appointments").await;
    assert!(
        list.contains(&format!("id=\"pay-appointment-{appointment}\"")),
        "{list}"
    );
    let path = format!("/api/v1/appointments/{appointment}/order");
    let other = ctx.app.token("patient3", PW).await;
    let (status, _) = ctx.post(&other, &path, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, order) = ctx.post(&patient, &path, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert!(order["total_fen"].as_i64().unwrap() > 0);
    assert_eq!(order["lines"][0]["amount_fen"], order["total_fen"]);
    let (_, again) = ctx.post(&patient, &path, json!({})).await;
    assert_eq!(again["id"], order["id"], "the same order while it waits");
    pay_order_id(
        &ctx.app,
        order["id"].as_i64().unwrap(),
        order["total_fen"].as_i64().unwrap(),
    )
    .await;
    let (status, _) = ctx.post(&patient, &path, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "paid already");
    let list = browser.page("/appointments").await;
    assert!(
        list.contains(&format!("id=\"fee-paid-{appointment}\"")),
        "{list}"
    );
    let (status, _) = ctx
        .post(
            &patient,
            &format!("/api/v1/appointments/{appointment}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        yunyi::billing::fees::refund_lapsed(&ctx.app.state)
            .await
            .unwrap(),
        1
    );
    let order_id = order["id"].as_i64().unwrap();
    let (_, refunded) = ctx
        .get(&patient, &format!("/api/v1/orders/{order_id}"))
        .await;
    assert_eq!(refunded["status"], "refunded");
    let (status, _) = ctx.post(&patient, &path, json!({})).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a cancelled appointment is not paid for"
    );
}
