//! Hospitals and departments over the API and the pages.

use reqwest::StatusCode;
use yunyi::db::Db;
use yunyi::directory::model::{NewDepartment, NewHospital};
use yunyi::directory::service;
use yunyi::error::AppError;

use crate::helpers::TestApp;

fn hospital(code: &str, name: &str) -> NewHospital {
    NewHospital {
        code: code.to_owned(),
        name: name.to_owned(),
        name_en: Some(format!("{code} Hospital")),
        level: "二级甲等".to_owned(),
        region_code: "420100".to_owned(),
        address: "湖北省武汉市".to_owned(),
    }
}

async fn create(db: &Db, h: &NewHospital, departments: &[NewDepartment]) -> Result<i64, AppError> {
    let mut tx = db.begin().await?;
    let id = service::create_hospital(&mut tx, h, departments, yunyi::clock::now_ms()).await?;
    tx.commit().await?;
    Ok(id)
}

#[tokio::test]
async fn list_pages_through_every_hospital_once() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        create(
            &app.db,
            &hospital(&format!("H{i}"), &format!("第{i}医院")),
            &[],
        )
        .await
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/hospitals?limit=2".to_owned();
    loop {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, StatusCode::OK);
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|h| h["code"].as_str().unwrap().to_owned()));
        match body["next_after"].as_i64() {
            Some(after) => path = format!("/api/v1/hospitals?limit=2&after={after}"),
            None => break,
        }
    }
    assert_eq!(seen, ["H0", "H1", "H2", "H3", "H4"]);
    app.stop().await;
}

#[tokio::test]
async fn detail_includes_departments_and_pages_show_them() {
    let app = TestApp::spawn().await;
    let departments = [
        NewDepartment {
            std_code: "07".into(),
            name: "儿科".into(),
            name_en: Some("Paediatrics".into()),
            offers_online: true,
        },
        NewDepartment {
            std_code: "20".into(),
            name: "急诊医学科".into(),
            name_en: Some("Emergency Medicine".into()),
            offers_online: false,
        },
    ];
    let id = create(&app.db, &hospital("W1", "武汉示范医院"), &departments)
        .await
        .unwrap();

    let (status, body) = app.get_json(&format!("/api/v1/hospitals/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["name"], "武汉示范医院");
    assert_eq!(body["departments"].as_array().unwrap().len(), 2);
    assert_eq!(body["departments"][0]["std_code"], "07");
    assert_eq!(body["departments"][1]["offers_online"], false);

    let html = app
        .get(&format!("/hospitals/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("武汉示范医院") && html.contains("儿科") && html.contains("仅线下"));
    let html = app
        .client
        .get(app.url(&format!("/hospitals/{id}")))
        .header("cookie", "yunyi_lang=en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("W1 Hospital")
            && html.contains("Paediatrics")
            && html.contains("In person only")
    );

    let html = app.get("/hospitals").await.text().await.unwrap();
    assert!(html.contains(&format!(r#"href="/hospitals/{id}""#)));
    app.stop().await;
}

#[tokio::test]
async fn invalid_or_duplicate_hospitals_are_rejected_and_nothing_is_half_written() {
    let app = TestApp::spawn().await;
    let mut bad = hospital("X1", "某医院");
    bad.region_code = "12".into();
    match create(&app.db, &bad, &[]).await {
        Err(AppError::Validation(errors)) => assert_eq!(errors[0].field, "region_code"),
        other => panic!("expected a validation error, got {other:?}"),
    }
    create(&app.db, &hospital("D1", "甲医院"), &[])
        .await
        .unwrap();
    assert!(matches!(
        create(&app.db, &hospital("D1", "乙医院"), &[]).await,
        Err(AppError::Refused(yunyi::error::Reason::AlreadyExists, _))
    ));

    // A duplicate department fails the whole creation: the hospital is not left behind.
    let dup = NewDepartment {
        std_code: "02".into(),
        name: "全科".into(),
        name_en: None,
        offers_online: true,
    };
    let result = create(&app.db, &hospital("D2", "丙医院"), &[dup.clone(), dup]).await;
    assert!(
        matches!(
            result,
            Err(AppError::Refused(yunyi::error::Reason::AlreadyExists, _))
        ),
        "{result:?}"
    );
    let (_, body) = app.get_json("/api/v1/hospitals").await;
    let codes: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["D1"]);
    app.stop().await;
}
