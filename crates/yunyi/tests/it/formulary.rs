//! The formulary: the demo's drugs at each hospital (banned classes never online), searching
//! it, one drug with its stock, and CSV imports by the hospital's administrators (all rows or
//! none, bad rows named by their line).

use reqwest::StatusCode;
use serde_json::Value;

use crate::booking::setup;
use crate::helpers::PW;

const HEADER: &str = "code,generic_name,brand_name,form,strength,unit,pack_size,route,price_yuan,class,atc_code,dose_unit,unit_strength,max_daily_dose,min_age_years,pregnancy,allergy_terms,online";

async fn gz(ctx: &crate::booking::Ctx) -> i64 {
    let (_, hospitals) = ctx.app.get_json("/api/v1/hospitals").await;
    hospitals["items"][0]["id"].as_i64().unwrap()
}

async fn all_drugs(ctx: &crate::booking::Ctx, hospital: i64, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let (status, page) = ctx
            .app
            .get_json(&format!(
                "/api/v1/hospitals/{hospital}/drugs?limit=100{after}&{query}"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_after"].as_i64() {
            Some(n) => after = format!("&after={n}"),
            None => return out,
        }
    }
}

#[tokio::test]
async fn the_demo_formulary_keeps_banned_classes_off_the_internet() {
    let ctx = setup().await;
    let hospital = gz(&ctx).await;
    let all = all_drugs(&ctx, hospital, "").await;
    assert!(all.len() >= 100, "{}", all.len());
    let online = all_drugs(&ctx, hospital, "online=true").await;
    for class in [
        "narcotic",
        "psychotropic_1",
        "psychotropic_2",
        "toxic",
        "radioactive",
        "high_risk",
    ] {
        assert!(
            all.iter().any(|d| d["class"] == class),
            "{class} in the demo"
        );
        assert!(
            !online.iter().any(|d| d["class"] == class),
            "{class} is not online"
        );
    }
    // The database itself refuses a banned class marked online.
    let refused = ctx
        .app
        .db
        .execute("UPDATE drug SET online = TRUE WHERE class = 'narcotic'", ())
        .await
        .map(|_| ());
    assert!(refused.is_err());

    let found = all_drugs(&ctx, hospital, "q=%E6%B0%A8%E6%B0%AF%E5%9C%B0%E5%B9%B3").await;
    assert_eq!(found.len(), 1, "氨氯地平: {found:?}");
    assert_eq!(found[0]["price_fen"], 3250);
    let (status, drug) = ctx
        .app
        .get_json(&format!("/api/v1/drugs/{}", found[0]["id"]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(drug["class_label"], "处方药");
    assert_eq!(drug["stock"].as_array().unwrap().len(), 2, "{drug}");
    assert_eq!(
        ctx.app.get_json("/api/v1/drugs/999999").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ctx.app
            .get_json(&format!("/api/v1/hospitals/{hospital}/drugs?online=maybe"))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

async fn import(
    ctx: &crate::booking::Ctx,
    token: &str,
    hospital: i64,
    csv: String,
) -> (StatusCode, Value) {
    let r = ctx
        .app
        .client
        .post(
            ctx.app
                .url(&format!("/api/v1/hospitals/{hospital}/formulary")),
        )
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_import_takes_every_row_or_none_and_names_the_bad_ones() {
    let ctx = setup().await;
    let hospital = gz(&ctx).await;
    let before = all_drugs(&ctx, hospital, "").await.len();
    let bad = format!(
        "{HEADER}\n\
         NEW1,盐酸贝尼地平片,可力洛,片剂,4mg×14片,盒,14,口服,38.00,处方药,C08CA12,mg,4,8,18,caution,,\n\
         NEW2,吗啡片,,片剂,30mg,盒,10,口服,12.x,麻醉药品,N02AA01,mg,30,,,,,是\n"
    );
    let (status, body) = import(&ctx, &ctx.admin, hospital, bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields = crate::helpers::error_fields(&body);
    assert_eq!(fields, ["rows[3].price_yuan", "rows[3].online"]);
    assert_eq!(
        all_drugs(&ctx, hospital, "").await.len(),
        before,
        "nothing taken"
    );

    // A good file adds one drug and re-prices another.
    let good = format!(
        "{HEADER}\n\
         NEW1,盐酸贝尼地平片,可力洛,片剂,4mg×14片,盒,14,口服,38.00,处方药,C08CA12,mg,4,8,18,caution,,\n\
         XY001,苯磺酸氨氯地平片,络活喜,片剂,5mg×28片,盒,28,口服,29.90,处方药,C08CA01,mg,5,10,18,caution,,\n"
    );
    let (status, body) = import(&ctx, &ctx.admin, hospital, good.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], 1);
    assert_eq!(body["updated"], 1);
    let found = all_drugs(&ctx, hospital, "q=XY001").await;
    assert_eq!(found[0]["price_fen"], 2990);
    assert_eq!(all_drugs(&ctx, hospital, "").await.len(), before + 1);

    // Only this hospital's administrators import.
    let doctor = ctx.app.token("doctor1", PW).await;
    assert_eq!(
        import(&ctx, &doctor, hospital, good.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, hospitals) = ctx.app.get_json("/api/v1/hospitals").await;
    let other = hospitals["items"][1]["id"].as_i64().unwrap();
    assert_eq!(
        import(&ctx, &ctx.admin, other, good).await.0,
        StatusCode::FORBIDDEN
    );
}
