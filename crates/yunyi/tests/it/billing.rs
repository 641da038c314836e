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
