//! Health education: an article is published only after a second doctor approves it, every
//! version is kept and readers see the approved one; the feed puts a patient's conditions
//! first; a push reaches exactly its audience once, however often its fan-out runs.

use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Ctx, setup_with};
use crate::helpers::PW;

async fn setup() -> Ctx {
    // The fan-out is run by hand where a test needs it.
    setup_with(|c| c.jobs.enabled = false).await
}

fn article(title: &str) -> Value {
    json!({
        "title": title,
        "summary": "高血压患者如何在家正确测量血压。",
        "body": "测量前安静休息 5 分钟，坐位，手臂与心脏同高。\n\n每天早晚各测一次，每次测两遍取平均值，并记录下来。",
        "conditions": "I10",
        "age_group": "adult",
    })
}

async fn notifications_of(ctx: &Ctx, token: &str, event: &str) -> Vec<Value> {
    let (_, inbox) = ctx.get(token, "/api/v1/notifications?limit=100").await;
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["event"] == event)
        .cloned()
        .collect()
}

#[tokio::test]
async fn an_article_is_published_only_when_a_second_doctor_approves_it() {
    let ctx = setup().await;
    let author = ctx.app.token("doctor4", PW).await;
    let reviewer = ctx.app.token("doctor5", PW).await;
    let patient = ctx.app.token("patient1", PW).await;
    let (s, created) = ctx
        .post(&author, "/api/v1/articles", article("在家测血压"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/articles/{id}");

    // A draft does not exist for readers.
    assert_eq!(ctx.get(&patient, &path).await.0, StatusCode::NOT_FOUND);
    let (_, feed) = ctx.get(&patient, "/api/v1/articles").await;
    assert!(!feed.to_string().contains("在家测血压"));

    // Only a draft goes to review, and its writer cannot approve it.
    let submit = format!("{path}/submit");
    assert_eq!(
        ctx.post(&author, &submit, json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    let (s, again) = ctx.post(&author, &submit, json!({})).await;
    assert_eq!(
        (s, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("wrong-state"))
    );
    let review = format!("{path}/review");
    let (s, own) = ctx
        .post(&author, &review, json!({"decision": "approved"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{own}");
    assert_eq!(own["code"], "own-work-review");
    // Returning needs a note; a patient cannot review.
    let (s, bad) = ctx
        .post(&reviewer, &review, json!({"decision": "returned"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["errors"][0]["field"], "note");
    let (s, _) = ctx
        .post(&patient, &review, json!({"decision": "approved"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, _) = ctx
        .post(&reviewer, &review, json!({"decision": "approved"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, read) = ctx.get(&patient, &path).await;
    assert_eq!(s, StatusCode::OK, "{read}");
    assert_eq!(read["article"]["title"], "在家测血压");
    assert!(read["article"]["reviewer"].is_string(), "{read}");
    assert_ne!(read["article"]["reviewer"], read["article"]["editor"]);
    assert_eq!(read["article"]["reads"], 1, "opening it counts a read");
    assert_eq!(read["allowed"]["edit"], false);

    // A change after publication is version 2, a draft; readers keep version 1 meanwhile.
    let (s, written) = ctx
        .send(Method::PUT, &author, &path, Some(article("在家正确测血压")))
        .await;
    assert_eq!((s, written["version"].as_i64()), (StatusCode::OK, Some(2)));
    let (_, read) = ctx.get(&patient, &path).await;
    assert_eq!(read["article"]["title"], "在家测血压");
    assert_eq!(read["article"]["reads"], 1, "one reader counts once");
    let (_, desk_view) = ctx.get(&author, &path).await;
    assert_eq!(desk_view["article"]["title"], "在家正确测血压");
    assert_eq!(desk_view["article"]["status"], "draft");
    let (s, versions) = ctx.get(&author, &format!("{path}/versions")).await;
    assert_eq!(s, StatusCode::OK);
    let versions = versions["items"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["review_decision"], "approved");
    assert!(versions[0]["review_decision"].is_null());
    // The history is the hospital's.
    let (s, _) = ctx.get(&patient, &format!("{path}/versions")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Withdrawn: gone for readers, kept for the hospital.
    let (s, _) = ctx
        .post(&ctx.admin, &format!("{path}/withdraw"), json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(ctx.get(&patient, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ctx.get(&author, &path).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_bad_article_names_every_field_and_saves_nothing() {
    let ctx = setup().await;
    let author = ctx.app.token("doctor4", PW).await;
    let (_, before) = ctx.get(&author, "/api/v1/articles").await;
    let (s, problem) = ctx
        .post(
            &author,
            "/api/v1/articles",
            json!({"title": "x", "summary": "", "body": "短", "conditions": "高血压",
                   "regions": "4401x", "season": "雨季"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields = crate::helpers::error_fields(&problem);
    assert_eq!(
        fields,
        [
            "title",
            "summary",
            "body",
            "conditions",
            "regions",
            "season"
        ]
    );
    let (_, after) = ctx.get(&author, "/api/v1/articles").await;
    assert_eq!(before, after);
    // Only doctors write.
    let patient = ctx.app.token("patient1", PW).await;
    let (s, refused) = ctx
        .post(&patient, "/api/v1/articles", article("患者写的"))
        .await;
    assert_eq!(
        (s, refused["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("role-required"))
    );
}

#[tokio::test]
async fn the_feed_puts_a_patient_s_own_conditions_first() {
    let ctx = setup().await;
    // patient1 has hypertension (I10) in the demo's records; patient2 has nothing on record.
    let p1 = ctx.app.token("patient1", PW).await;
    let p2 = ctx.app.token("patient2", PW).await;
    let (_, f1) = ctx.get(&p1, "/api/v1/articles").await;
    let first = &f1["items"][0];
    assert!(
        first["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().starts_with('I')),
        "{f1}"
    );
    assert_eq!(first["for_you"], true);
    let (_, f2) = ctx.get(&p2, "/api/v1/articles").await;
    assert_ne!(f2["items"][0]["id"], first["id"], "{f2}");
    // Someone not signed in sees the newest; a child's article is not an adult's news.
    let anonymous = ctx
        .app
        .get("/api/v1/articles")
        .await
        .json::<Value>()
        .await
        .unwrap();
    let titles = |f: &Value| -> Vec<String> {
        f["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(titles(&anonymous).iter().any(|t| t.contains("儿童")));
    assert!(!titles(&f1).iter().any(|t| t.contains("儿童")), "{f1}");
    // The page a completed follow-up visit links: articles on the visit's condition.
    let page = ctx.app.get_text("/education?condition=I10").await;
    assert!(page.contains("高血压患者冬季血压管理"), "{page}");
    assert!(!page.contains("儿童疫苗"));
    // Narrowed to a syndrome: the respiratory advice only.
    let (_, resp) = ctx.get(&p2, "/api/v1/articles?syndrome=respiratory").await;
    assert_eq!(resp["items"].as_array().unwrap().len(), 2, "{resp}");
}

#[tokio::test]
async fn a_push_reaches_its_region_once_however_often_its_fan_out_runs() {
    let ctx = setup().await;
    let officer = ctx.app.token("officer1", PW).await;
    let tianhe: Vec<String> = ["patient1", "patient2", "patient3", "patient4"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut tokens = Vec::new();
    for u in &tianhe {
        tokens.push(ctx.app.token(u, PW).await);
    }
    let jingzhou = ctx.app.token("patient5", PW).await;
    // The demo pushed its two outbreak articles to Tianhe already: one notification each.
    for t in &tokens {
        assert_eq!(notifications_of(&ctx, t, "education.push").await.len(), 2);
    }
    assert!(
        notifications_of(&ctx, &jingzhou, "education.push")
            .await
            .is_empty()
    );

    // The audience first: every active patient account of 440106.
    let (s, reach) = ctx
        .post(
            &officer,
            "/api/v1/education-pushes/preview",
            json!({"article_id": 0, "region": "440106"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{reach}");
    assert_eq!(reach["recipients"], 4);
    // Narrowed to hypertension: patient1.
    let (_, narrow) = ctx
        .post(
            &officer,
            "/api/v1/education-pushes/preview",
            json!({"article_id": 0, "region": "440106", "condition": "i10"}),
        )
        .await;
    assert_eq!(narrow["recipients"], 1);
    // Not another district; not an article that is not published.
    let (s, outside) = ctx
        .post(
            &officer,
            "/api/v1/education-pushes/preview",
            json!({"article_id": 0, "region": "4210"}),
        )
        .await;
    assert_eq!(
        (s, outside["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("outside-area"))
    );
    let author = ctx.app.token("doctor4", PW).await;
    let (_, draft) = ctx
        .post(&author, "/api/v1/articles", article("未发布"))
        .await;
    let (s, refused) = ctx
        .post(
            &officer,
            "/api/v1/education-pushes",
            json!({"article_id": draft["id"], "region": "440106"}),
        )
        .await;
    assert_eq!(
        (s, refused["code"].as_str()),
        (StatusCode::CONFLICT, Some("not-published"))
    );

    // A published article, pushed.
    let (_, feed) = ctx.get(&officer, "/api/v1/articles").await;
    let chosen = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"].as_str().unwrap().contains("跌倒"))
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, sent) = ctx
        .post(
            &officer,
            "/api/v1/education-pushes",
            json!({"article_id": chosen, "region": "440106"}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{sent}");
    let push = sent["id"].as_i64().unwrap();
    yunyi::education::push::fan_out(&ctx.app.state, push)
        .await
        .unwrap();
    // As if its worker died after writing a batch and before the push was marked done: the
    // run again adds nobody twice.
    ctx.app
        .db
        .execute(
            "UPDATE education_push SET status = 'sending', cursor = 0 WHERE id = $1",
            (push,),
        )
        .await
        .unwrap();
    yunyi::education::push::fan_out(&ctx.app.state, push)
        .await
        .unwrap();
    for t in &tokens {
        let got = notifications_of(&ctx, t, "education.push").await;
        assert_eq!(got.len(), 3, "exactly once each");
        assert_eq!(got[0]["link"], format!("/education/{chosen}"));
        assert!(
            got[0]["body"].as_str().unwrap().contains("跌倒"),
            "{}",
            got[0]
        );
    }
    assert_eq!(
        notifications_of(&ctx, &jingzhou, "education.push")
            .await
            .len(),
        0
    );

    // Reach and reads: patient1 opens it.
    let nid = notifications_of(&ctx, &tokens[0], "education.push").await[0]["id"]
        .as_i64()
        .unwrap();
    ctx.post(
        &tokens[0],
        &format!("/api/v1/notifications/{nid}/read"),
        json!({}),
    )
    .await;
    let (_, list) = ctx.get(&officer, "/api/v1/education-pushes").await;
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == push)
        .unwrap()
        .clone();
    assert_eq!(
        (row["recipients"].as_i64(), row["reads"].as_i64()),
        (Some(4), Some(1)),
        "{row}"
    );
    assert_eq!(row["status"], "done");
    // Patients do not push.
    let (s, _) = ctx
        .post(
            &tokens[0],
            "/api/v1/education-pushes",
            json!({"article_id": chosen}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_hospital_administrator_pushes_to_the_patients_the_hospital_has_seen() {
    let ctx = setup().await;
    let (s, reach) = ctx
        .post(
            &ctx.admin,
            "/api/v1/education-pushes/preview",
            json!({"article_id": 0}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{reach}");
    let seen = reach["recipients"].as_i64().unwrap();
    // Those with a care link at the hospital: fewer than every patient of the platform.
    let everyone = yunyi::identity::store::count_accounts(&ctx.app.db)
        .await
        .unwrap();
    assert!(seen >= 1 && seen < everyone, "{seen} of {everyone}");
}

#[tokio::test]
async fn a_push_reads_as_a_valid_fhir_communication_request_for_its_senders() {
    let ctx = setup().await;
    let officer = ctx.app.token("officer1", PW).await;
    let (_, pushes) = ctx.get(&officer, "/api/v1/education-pushes").await;
    let push = &pushes["items"][0];
    let id = push["id"].as_i64().unwrap();
    let r = ctx
        .app
        .get_as(&officer, &format!("/fhir/CommunicationRequest/{id}"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let resource: Value = r.json().await.unwrap();
    crate::fhir::assert_valid(&resource);
    assert_eq!(resource["status"], "completed");
    assert!(
        resource["payload"][0]["contentAttachment"]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/education/{}", push["article_id"])),
        "{resource}"
    );
    assert!(
        resource["reasonCode"][0]["text"]
            .as_str()
            .unwrap()
            .contains("alert")
    );
    // Listed truthfully in the CapabilityStatement.
    let cs = ctx
        .app
        .get("/fhir/metadata")
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert!(cs.to_string().contains("\"CommunicationRequest\""));
    // Patients and other hospitals' staff do not read pushes.
    let patient = ctx.app.token("patient1", PW).await;
    let r = ctx
        .app
        .get_as(&patient, &format!("/fhir/CommunicationRequest/{id}"))
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_doctor_puts_a_picture_in_an_article_and_only_article_pictures_are_served() {
    let ctx = setup().await;
    let author = ctx.app.token("doctor4", PW).await;
    let reviewer = ctx.app.token("doctor5", PW).await;
    let patient = ctx.app.token("patient1", PW).await;
    let upload = |token: String, bytes: Vec<u8>| {
        let request = ctx
            .app
            .client
            .post(ctx.app.url("/api/v1/articles/images"))
            .bearer_auth(token)
            .header("content-type", "image/jpeg")
            .body(bytes);
        async move { request.send().await.unwrap() }
    };
    // Doctors only; pictures only; the metadata of a phone photo is removed.
    let r = upload(patient.clone(), crate::practice::PIXEL_PNG.to_vec()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = upload(author.clone(), b"not a picture".to_vec()).await;
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let photo = crate::consult::phone_jpeg();
    let r = upload(author.clone(), photo.clone()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let uploaded: Value = r.json().await.unwrap();
    let url = uploaded["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/education/images/"), "{uploaded}");

    // The picture's paragraph shows it in the published article.
    let mut a = article("血压计怎么用");
    a["body"] = json!(format!(
        "袖带下缘在肘窝上两横指。\n\n![袖带的位置]({url})\n\n测量时不要说话。"
    ));
    let (_, created) = ctx.post(&author, "/api/v1/articles", a).await;
    let id = created["id"].as_i64().unwrap();
    ctx.post(&author, &format!("/api/v1/articles/{id}/submit"), json!({}))
        .await;
    ctx.post(
        &reviewer,
        &format!("/api/v1/articles/{id}/review"),
        json!({"decision": "approved"}),
    )
    .await;
    let page = ctx.app.get_text(&format!("/education/{id}")).await;
    assert!(
        page.contains(&format!(r#"<img src="{url}" alt="袖带的位置""#)),
        "{page}"
    );
    let r = ctx.app.get(&url).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let served = r.bytes().await.unwrap();
    assert!(
        served.len() < photo.len(),
        "the photo's metadata was stripped"
    );

    // A blob that is not an article picture (a patient's chat photo) is not served here.
    let other = yunyi::blob::key_of(b"someone's picture");
    let r = ctx.app.get(&format!("/education/images/{other}")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = ctx.app.get("/education/images/..%2F..%2Fetc").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
