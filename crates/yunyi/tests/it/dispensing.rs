//! Dispensing and delivery: the address book, the patient's choice with the order, the
//! pharmacy's queue and moves (illegal ones refused), stock taken once and put back on a
//! cancellation, the courier's signed updates (forged refused, replays and out-of-order ones
//! harmless), the patient's confirmation, pickup against a code, and the pages end to end.

use reqwest::StatusCode;
use serde_json::{Value, json};
use yunyi::billing::gateway::{Notification, SandboxGateway};
use yunyi::dispensing::courier::{SandboxCourier, TrackingUpdate};

use crate::booking::{Ctx, setup};
use crate::helpers::PW;

/// patient1's approved demo prescription.
async fn approved(ctx: &Ctx, patient: &str) -> i64 {
    let (_, mine) = ctx.get(patient, "/api/v1/prescriptions").await;
    mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["status"] == "approved")
        .expect("the demo's approved prescription")["id"]
        .as_i64()
        .unwrap()
}

async fn add_address(ctx: &Ctx, patient: &str) -> i64 {
    let (status, address) = ctx
        .post(
            patient,
            "/api/v1/addresses",
            json!({"recipient": "张伟", "phone": "13800000001", "region": "广东省广州市越秀区",
                   "detail": "中山二路 58 号 3 栋 502"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{address}");
    address["id"].as_i64().unwrap()
}

/// Orders prescription `rx` with `choice` and pays it through the sandbox's notification.
async fn order_and_pay(ctx: &Ctx, patient: &str, rx: i64, choice: Value) -> Value {
    let (status, order) = ctx
        .post(
            patient,
            &format!("/api/v1/prescriptions/{rx}/order"),
            choice,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    let sandbox = SandboxGateway::new(ctx.app.state.keys.sandbox_pay_secret());
    let (body, signature) = sandbox.notification(&Notification {
        gateway_txn: format!("SBX-DISP-{rx}"),
        order_id: order["id"].as_i64().unwrap(),
        event: "paid".to_owned(),
        amount_fen: order["total_fen"].as_i64().unwrap(),
    });
    let r = ctx
        .app
        .client
        .post(ctx.app.url("/api/v1/payments/notify/sandbox"))
        .header("x-sandbox-signature", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, fulfilment) = ctx
        .get(patient, &format!("/api/v1/prescriptions/{rx}/fulfilment"))
        .await;
    assert_eq!(status, StatusCode::OK, "{fulfilment}");
    fulfilment
}

async fn courier(ctx: &Ctx, tracking: &str, id: &str, event: &str) -> (StatusCode, Value) {
    let sandbox = SandboxCourier::new(ctx.app.state.keys.sandbox_courier_secret());
    let (body, signature) = sandbox.update(&TrackingUpdate {
        update_id: id.to_owned(),
        tracking_no: tracking.to_owned(),
        event: event.to_owned(),
        note: None,
    });
    courier_raw(ctx, &body, &signature).await
}

async fn courier_raw(ctx: &Ctx, body: &[u8], signature: &str) -> (StatusCode, Value) {
    let r = ctx
        .app
        .client
        .post(ctx.app.url("/api/v1/couriers/notify/sandbox"))
        .header("x-sandbox-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn stock(ctx: &Ctx, pharmacy: i64, drug: i64) -> i64 {
    ctx.app
        .db
        .scalar::<i64>(
            "SELECT quantity FROM drug_stock WHERE pharmacy_id = $1 AND drug_id = $2",
            (pharmacy, drug),
        )
        .await
        .unwrap()
}

async fn act(ctx: &Ctx, token: &str, id: i64, action: &str, body: Value) -> (StatusCode, Value) {
    ctx.post(token, &format!("/api/v1/fulfilments/{id}/{action}"), body)
        .await
}

#[tokio::test]
async fn an_address_book_validates_each_field_and_keeps_one_default() {
    let ctx = setup().await;
    // patient2 starts with an empty address book.
    let patient = ctx.app.token("patient2", PW).await;
    let (status, bad) = ctx
        .post(
            &patient,
            "/api/v1/addresses",
            json!({"recipient": "", "phone": "123", "region": "广", "detail": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let fields = crate::helpers::error_fields(&bad);
    assert_eq!(fields, ["recipient", "phone", "region", "detail"]);
    let first = add_address(&ctx, &patient).await;
    let (status, second) = ctx
        .post(
            &patient,
            "/api/v1/addresses",
            json!({"recipient": "张伟", "phone": "13900000009", "region": "广东省广州市天河区",
                   "detail": "天河路 100 号", "is_default": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, list) = ctx.get(&patient, "/api/v1/addresses").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], second["id"], "the default first");
    assert_eq!(
        items.iter().filter(|a| a["is_default"] == true).count(),
        1,
        "{list}"
    );
    assert_eq!(
        items[1]["phone"], "13800000001",
        "the owner sees the number"
    );
    // Stored encrypted: the street is not in the database in clear.
    let raw: Vec<u8> = ctx
        .app
        .db
        .scalar::<Vec<u8>>(
            "SELECT detail_enc FROM patient_address WHERE id = $1",
            (first,),
        )
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("中山二路"));
    // Someone else's address is not there for them.
    let other = ctx.app.token("patient3", PW).await;
    let (status, _) = ctx
        .send(
            reqwest::Method::DELETE,
            &other,
            &format!("/api/v1/addresses/{first}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ctx
        .send(
            reqwest::Method::DELETE,
            &patient,
            &format!("/api/v1/addresses/{first}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = ctx.get(&patient, "/api/v1/addresses").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_delivery_goes_from_the_pharmacy_to_the_patients_door_and_illegal_moves_are_refused() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let rx = approved(&ctx, &patient).await;
    // Delivery needs one of the patient's own addresses.
    let (status, refused) = ctx
        .post(
            &patient,
            &format!("/api/v1/prescriptions/{rx}/order"),
            json!({"method": "delivery"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "address_id");
    let other = ctx.app.token("patient2", PW).await;
    let not_mine = add_address(&ctx, &other).await;
    let (status, _) = ctx
        .post(
            &patient,
            &format!("/api/v1/prescriptions/{rx}/order"),
            json!({"method": "delivery", "address_id": not_mine}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let address = add_address(&ctx, &patient).await;
    let f = order_and_pay(
        &ctx,
        &patient,
        rx,
        json!({"method": "delivery", "address_id": address}),
    )
    .await;
    assert_eq!(f["status"], "queued", "{f}");
    assert_eq!(f["method"], "delivery");
    assert_eq!(f["ship_to"]["region"], "广东省广州市越秀区");
    let id = f["id"].as_i64().unwrap();
    let pharmacy = f["pharmacy_id"].as_i64().unwrap();
    let drug = f["items"][0]["drug_id"].as_i64().unwrap();
    let quantity = f["items"][0]["quantity"].as_i64().unwrap();
    let before = stock(&ctx, pharmacy, drug).await;

    // The patient cannot move the pharmacy's work; other patients do not see it.
    let (status, _) = act(&ctx, &patient, id, "pick", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = ctx.get(&other, &format!("/api/v1/fulfilments/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let pharmacist = ctx.app.token("pharmacist1", PW).await;
    let (_, queue) = ctx.get(&pharmacist, "/api/v1/dispensing/queue").await;
    assert!(
        queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["id"] == id),
        "{queue}"
    );
    // Out of order: refused with the reason, nothing moved.
    let (status, early) = act(&ctx, &pharmacist, id, "dispatch", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{early}");
    let (status, _) = act(&ctx, &pharmacist, id, "collect", json!({"code": "000000"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "a delivery is not collected");
    let (status, picked) = act(&ctx, &pharmacist, id, "pick", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{picked}");
    assert_eq!(stock(&ctx, pharmacy, drug).await, before - quantity);
    // Pressed twice: taken from stock once.
    let (status, _) = act(&ctx, &pharmacist, id, "pick", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(stock(&ctx, pharmacy, drug).await, before - quantity);
    let (_, packed) = act(&ctx, &pharmacist, id, "pack", json!({})).await;
    assert_eq!(packed["status"], "packed");
    let (status, sent) = act(&ctx, &pharmacist, id, "dispatch", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["status"], "dispatched");
    let tracking = sent["tracking_no"].as_str().unwrap().to_owned();
    let (_, prescription) = ctx
        .get(&patient, &format!("/api/v1/prescriptions/{rx}"))
        .await;
    assert_eq!(prescription["status"], "dispensed");
    // Once it has left, the pharmacy cannot cancel it.
    let (status, _) = act(
        &ctx,
        &pharmacist,
        id,
        "cancel",
        json!({"reason": "缺货无法配送"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The courier: a forged update is refused; one out of order is kept but changes nothing.
    let sandbox = SandboxCourier::new(ctx.app.state.keys.sandbox_courier_secret());
    let (body, _) = sandbox.update(&TrackingUpdate {
        update_id: "U0".into(),
        tracking_no: tracking.clone(),
        event: "delivered".into(),
        note: None,
    });
    let forged = SandboxCourier::new([9; 32]).sign(&body);
    assert_eq!(
        courier_raw(&ctx, &body, &forged).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, early) = courier(&ctx, &tracking, "U1", "delivered").await;
    assert_eq!(early["outcome"], "ignored");
    let (status, _) = act(&ctx, &patient, id, "confirm", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "not on its way yet");
    for (update, event) in [("U2", "picked_up"), ("U3", "in_transit")] {
        let (status, answer) = courier(&ctx, &tracking, update, event).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["outcome"], "applied", "{event}");
    }
    let (_, again) = courier(&ctx, &tracking, "U3", "in_transit").await;
    assert_eq!(again["outcome"], "duplicate");
    let (_, delivered) = courier(&ctx, &tracking, "U4", "delivered").await;
    assert_eq!(delivered["outcome"], "applied");
    let (status, _) = courier(&ctx, "SBX-NO-SUCH", "U5", "delivered").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, received) = act(&ctx, &patient, id, "confirm", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{received}");
    assert_eq!(received["status"], "received");
    // The patient heard of the dispatch and of the delivery once each (the courier's
    // duplicate update told nobody again).
    let cause = format!("fulfilment:{id}");
    crate::notifications::exactly_one(&ctx, "patient1", "parcel.dispatched", &cause).await;
    crate::notifications::exactly_one(&ctx, "patient1", "parcel.delivered", &cause).await;
    let timeline: Vec<&str> = received["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(
        timeline,
        [
            "queued",
            "picked",
            "packed",
            "dispatched",
            "picked_up",
            "in_transit",
            "delivered",
            "received"
        ]
    );
    // No longer the pharmacy's work.
    let (_, queue) = ctx.get(&pharmacist, "/api/v1/dispensing/queue").await;
    assert!(
        !queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q["id"] == id)
    );
}

#[tokio::test]
async fn a_pickup_is_handed_over_only_against_the_patients_code() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let rx = approved(&ctx, &patient).await;
    let f = order_and_pay(&ctx, &patient, rx, json!({})).await;
    assert_eq!(f["method"], "pickup", "pickup unless the patient asks");
    let id = f["id"].as_i64().unwrap();
    let pharmacist = ctx.app.token("pharmacist1", PW).await;
    act(&ctx, &pharmacist, id, "pick", json!({})).await;
    let (_, ready) = act(&ctx, &pharmacist, id, "pack", json!({})).await;
    assert_eq!(ready["status"], "ready_for_pickup", "{ready}");
    let cause = format!("fulfilment:{id}");
    crate::notifications::exactly_one(&ctx, "patient1", "pickup.ready", &cause).await;
    assert!(
        ready.get("pickup_code").is_none(),
        "the pharmacy is not told the code"
    );
    let (status, _) = act(&ctx, &pharmacist, id, "dispatch", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing is sent for a pickup");
    let (_, mine) = ctx
        .get(&patient, &format!("/api/v1/fulfilments/{id}"))
        .await;
    let code = mine["pickup_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, refused) = act(&ctx, &pharmacist, id, "collect", json!({"code": wrong})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "code");
    let (status, collected) = act(&ctx, &pharmacist, id, "collect", json!({"code": code})).await;
    assert_eq!(status, StatusCode::OK, "{collected}");
    assert_eq!(collected["status"], "collected");
    let (_, prescription) = ctx
        .get(&patient, &format!("/api/v1/prescriptions/{rx}"))
        .await;
    assert_eq!(prescription["status"], "dispensed");
}

#[tokio::test]
async fn a_pharmacy_that_cannot_fill_it_cancels_puts_stock_back_and_refunds_in_full() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let rx = approved(&ctx, &patient).await;
    let f = order_and_pay(&ctx, &patient, rx, json!({})).await;
    let id = f["id"].as_i64().unwrap();
    let pharmacy = f["pharmacy_id"].as_i64().unwrap();
    let drug = f["items"][0]["drug_id"].as_i64().unwrap();
    let pharmacist = ctx.app.token("pharmacist1", PW).await;
    // Nothing on the shelf: picking is refused by name, and takes nothing.
    ctx.app
        .db
        .execute(
            "UPDATE drug_stock SET quantity = 1 WHERE pharmacy_id = $1 AND drug_id = $2",
            (pharmacy, drug),
        )
        .await
        .map(|_| ())
        .unwrap();
    let (status, short) = act(&ctx, &pharmacist, id, "pick", json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{short}");
    assert!(
        short["detail"].as_str().unwrap().contains("氨氯地平"),
        "{short}"
    );
    assert_eq!(stock(&ctx, pharmacy, drug).await, 1);
    // Restocked and picked, then cancelled: the medicine goes back on the shelf.
    ctx.app
        .db
        .execute(
            "UPDATE drug_stock SET quantity = 50 WHERE pharmacy_id = $1 AND drug_id = $2",
            (pharmacy, drug),
        )
        .await
        .map(|_| ())
        .unwrap();
    let (status, _) = act(&ctx, &pharmacist, id, "pick", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, no_reason) = act(&ctx, &pharmacist, id, "cancel", json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{no_reason}");
    let (status, cancelled) = act(
        &ctx,
        &pharmacist,
        id,
        "cancel",
        json!({"reason": "包装破损，无法发药"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(stock(&ctx, pharmacy, drug).await, 50);
    let order: i64 = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT id FROM payment_order WHERE subject_type = 'prescription' AND subject_id = $1",
            (rx,),
        )
        .await
        .unwrap();
    let (_, order) = ctx.get(&patient, &format!("/api/v1/orders/{order}")).await;
    assert_eq!(order["status"], "refunded", "{order}");
    assert_eq!(order["refunded_fen"], order["paid_fen"]);
    let cause = format!("refund:{}", order["id"]);
    crate::notifications::exactly_one(&ctx, "patient1", "payment.refunded", &cause).await;
    let cause = format!("order:{}", order["id"]);
    crate::notifications::exactly_one(&ctx, "patient1", "payment.paid", &cause).await;
}

#[tokio::test]
async fn on_the_pages_the_patient_chooses_delivery_pays_tracks_and_confirms() {
    let ctx = setup().await;
    let api_patient = ctx.app.token("patient1", PW).await;
    let rx = approved(&ctx, &api_patient).await;
    let patient = ctx.app.sign_in_browser("patient1").await;
    // The demo gave patient1 a home address; a new one can be added on the way to paying.
    let page = patient.page(&format!("/prescriptions/{rx}")).await;
    assert!(
        page.contains("id=\"address-select\"") && page.contains("中山二路"),
        "{page}"
    );
    // A bad address is shown again with its errors; a good one goes back to paying.
    let bad = patient
        .post_form(
            "/addresses",
            &[
                ("recipient", "张伟"),
                ("phone", "12"),
                ("region", "广东省广州市"),
                ("detail", "中山二路 58 号"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::OK);
    assert!(bad.text().await.unwrap().contains("id=\"err-phone\""));
    let back = format!("/prescriptions/{rx}");
    let paying = patient
        .submit(
            "/addresses",
            &[
                ("recipient", "张伟".to_owned()),
                ("phone", "13800000001".to_owned()),
                ("region", "广东省广州市越秀区".to_owned()),
                ("detail", "中山二路 58 号 3 栋 502".to_owned()),
                ("back", back.clone()),
            ],
        )
        .await;
    assert!(paying.contains("id=\"address-select\""), "{paying}");
    let (_, list) = ctx.get(&api_patient, "/api/v1/addresses").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
    let address = list["items"][1]["id"].as_i64().unwrap().to_string();
    let checkout = patient
        .submit(
            &format!("/prescriptions/{rx}/pay"),
            &[("method", "delivery".to_owned()), ("address_id", address)],
        )
        .await;
    assert!(checkout.contains("id=\"pay-approve\""), "{checkout}");
    let order = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT id FROM payment_order WHERE subject_type = 'prescription' AND subject_id = $1",
            (rx,),
        )
        .await
        .unwrap();
    let paid = patient
        .submit(
            &format!("/sandbox/pay/{order}"),
            &[("decision", "approve".to_owned())],
        )
        .await;
    assert!(
        paid.contains("id=\"fulfilment-timeline\"") && paid.contains("待调配"),
        "{paid}"
    );

    let pharmacist = ctx.app.sign_in_browser("pharmacist1").await;
    let queue = pharmacist.page("/pharmacist/dispensing").await;
    let id: i64 = ctx
        .app
        .db
        .scalar::<i64>(
            "SELECT id FROM fulfilment WHERE prescription_id = $1",
            (rx,),
        )
        .await
        .unwrap();
    assert!(queue.contains(&format!("id=\"pick-{id}\"")), "{queue}");
    for action in ["pick", "pack", "dispatch"] {
        let after = pharmacist
            .submit(&format!("/fulfilments/{id}/{action}"), &[])
            .await;
        assert!(after.contains("id=\"form-notice\""), "{action}: {after}");
    }
    let rx_page = pharmacist.page(&format!("/prescriptions/{rx}")).await;
    assert!(rx_page.contains("id=\"courier-console\""), "{rx_page}");
    for step in ["picked_up", "in_transit", "delivered"] {
        let console = pharmacist
            .submit(
                &format!("/sandbox/courier/{id}"),
                &[("event", step.to_owned())],
            )
            .await;
        assert!(console.contains("id=\"form-notice\""), "{step}: {console}");
    }
    // The patient of another family cannot use the courier's console.
    let stranger = ctx.app.sign_in_browser("patient2").await;
    let r = stranger
        .post_form(&format!("/sandbox/courier/{id}"), &[("event", "failed")])
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let tracking = patient.page(&back).await;
    assert!(
        tracking.contains("id=\"confirm-receipt\"") && tracking.contains("已送达"),
        "{tracking}"
    );
    let done = patient
        .submit(
            &format!("/fulfilments/{id}/confirm"),
            &[("back", back.clone())],
        )
        .await;
    assert!(
        done.contains("已签收") && !done.contains("id=\"confirm-receipt\""),
        "{done}"
    );
}

#[tokio::test]
async fn the_demo_patient_has_one_prescription_delivered_and_one_waiting_for_review() {
    let ctx = setup().await;
    let patient = ctx.app.token("patient1", PW).await;
    let (_, mine) = ctx.get(&patient, "/api/v1/prescriptions").await;
    let items = mine["items"].as_array().unwrap();
    assert!(items.iter().any(|p| p["status"] == "submitted"), "{mine}");
    let delivered = items
        .iter()
        .find(|p| p["status"] == "dispensed")
        .expect("a dispensed prescription");
    let rx = delivered["id"].as_i64().unwrap();
    let (status, f) = ctx
        .get(&patient, &format!("/api/v1/prescriptions/{rx}/fulfilment"))
        .await;
    assert_eq!(status, StatusCode::OK, "{f}");
    assert_eq!(f["status"], "received");
    assert_eq!(f["method"], "delivery");
    assert_eq!(f["events"].as_array().unwrap().len(), 8);
    let (_, history) = ctx
        .get(&patient, &format!("/api/v1/prescriptions/{rx}"))
        .await;
    let statuses: Vec<&str> = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["submitted", "approved", "paid", "dispensed"]);
}
