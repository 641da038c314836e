//! Patient groups: members join by request or invitation under nicknames that name nobody;
//! the screen holds contact details, advertising and drug sales for the moderators, and words
//! of self-harm bring crisis lines to the writer and an urgent alert to the moderators;
//! moderators release, hide, mute and remove, each audited; real names reach moderators only.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::booking::{Ctx, setup};
use crate::helpers::PW;

/// A group doctor4 hosts at the Guangzhou hospital; `open` lets patients ask to join.
async fn group(ctx: &Ctx, host: &str, open: bool) -> i64 {
    let (s, created) = ctx
        .post(
            host,
            "/api/v1/groups",
            json!({"name": "高血压病友会", "description": "一起控血压", "condition": "i10", "open": open}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    created["id"].as_i64().unwrap()
}

/// patient1 asks to join `id` as `nickname` and the host approves: their membership id.
async fn member(ctx: &Ctx, host: &str, patient: &str, id: i64, nickname: &str) -> i64 {
    let (s, joined) = ctx
        .post(
            patient,
            &format!("/api/v1/groups/{id}/join"),
            json!({"nickname": nickname}),
        )
        .await;
    assert_eq!(
        (s, joined["status"].as_str()),
        (StatusCode::OK, Some("requested")),
        "{joined}"
    );
    let (_, members) = ctx.get(host, &format!("/api/v1/groups/{id}/members")).await;
    let m = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["nickname"] == nickname)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (s, _) = ctx
        .post(
            host,
            &format!("/api/v1/groups/{id}/members/{m}"),
            json!({"action": "approve"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    m
}

/// The notifications of `event` about group `id` in the person's inbox (the demo's own
/// group has some too).
async fn events(ctx: &Ctx, token: &str, event: &str, id: i64) -> Vec<Value> {
    let (_, inbox) = ctx.get(token, "/api/v1/notifications?limit=100").await;
    let prefix = format!("/groups/{id}");
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| {
            n["event"] == event
                && n["link"]
                    .as_str()
                    .is_some_and(|l| l == prefix || l.starts_with(&format!("{prefix}/")))
        })
        .cloned()
        .collect()
}

async fn messages(ctx: &Ctx, token: &str, id: i64) -> Vec<Value> {
    let (s, list) = ctx
        .get(token, &format!("/api/v1/groups/{id}/messages"))
        .await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn patients_join_by_request_or_invitation_under_nicknames_that_name_nobody() {
    let ctx = setup().await;
    let host = ctx.app.token("doctor4", PW).await;
    let p1 = ctx.app.token("patient1", PW).await;
    let p2 = ctx.app.token("patient2", PW).await;

    // Doctors and nurses create groups; patients do not; the condition must be ICD-10.
    let (s, refused) = ctx
        .post(
            &p1,
            "/api/v1/groups",
            json!({"name": "我的群", "open": true}),
        )
        .await;
    assert_eq!(
        (s, refused["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("role-required"))
    );
    let (s, bad) = ctx
        .post(
            &host,
            "/api/v1/groups",
            json!({"name": "x", "condition": "高血压"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let fields = crate::helpers::error_fields(&bad);
    assert_eq!(fields, ["name", "condition"]);
    let id = group(&ctx, &host, true).await;
    let (_, g) = ctx.get(&host, &format!("/api/v1/groups/{id}")).await;
    assert_eq!(g["group"]["condition"], "I10");
    assert_eq!(g["moderator"], true);

    // A nickname must not be the patient's real name (张伟), nor a phone number.
    let join = format!("/api/v1/groups/{id}/join");
    for nick in ["张伟", "13800000001", "x"] {
        let (s, bad) = ctx.post(&p1, &join, json!({"nickname": nick})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{nick}: {bad}");
        assert_eq!(bad["errors"][0]["field"], "nickname");
    }
    // Before approval the patient reads nothing.
    let (s, _) = ctx
        .post(&p1, &join, json!({"nickname": "晨跑的老张"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, refused) = ctx.get(&p1, &format!("/api/v1/groups/{id}/messages")).await;
    assert_eq!(
        (s, refused["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("membership-required"))
    );
    // The host hears of the request and approves it; the patient hears of that.
    let asked = events(&ctx, &host, "group.request", id).await;
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0]["body"].as_str().unwrap().contains("晨跑的老张"));
    let (_, members) = ctx
        .get(&host, &format!("/api/v1/groups/{id}/members"))
        .await;
    let requested = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["status"] == "requested")
        .unwrap()
        .clone();
    assert_eq!(requested["real_name"], "张伟");
    let m1 = requested["id"].as_i64().unwrap();
    let act = format!("/api/v1/groups/{id}/members/{m1}");
    assert_eq!(
        ctx.post(&host, &act, json!({"action": "approve"})).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(events(&ctx, &p1, "group.approved", id).await.len(), 1);
    assert_eq!(messages(&ctx, &p1, id).await.len(), 0);

    // Another patient may not take the same nickname.
    let (s, taken) = ctx
        .post(&p2, &join, json!({"nickname": "晨跑的老张"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{taken}");

    // Members see each other by nickname only; the moderator's view is audited.
    let (_, seen) = ctx.get(&p1, &format!("/api/v1/groups/{id}/members")).await;
    let text = seen.to_string();
    assert!(
        text.contains("晨跑的老张") && !text.contains("张伟") && !text.contains("real_name"),
        "{text}"
    );
    let regulator = ctx.app.token("regulator1", PW).await;
    let (_, audit) = ctx
        .get(
            &regulator,
            "/api/v1/audit-events?action=group.members.read&limit=10",
        )
        .await;
    assert!(!audit["items"].as_array().unwrap().is_empty(), "{audit}");

    // An invitation-only group: asking is refused; an invitation reaches only patients the
    // hospital has seen, and is accepted with a nickname.
    let closed = group(&ctx, &host, false).await;
    let (s, refused) = ctx
        .post(
            &p2,
            &format!("/api/v1/groups/{closed}/join"),
            json!({"nickname": "王阿姨"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "an invitation-only group is unseen: {refused}"
    );
    let invite = format!("/api/v1/groups/{closed}/invitations");
    let (s, unknown) = ctx
        .post(&host, &invite, json!({"who": "nobody-here"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{unknown}");
    let (s, invited) = ctx
        .post(&host, &invite, json!({"who": "13800000001"}))
        .await;
    assert_eq!(
        (s, invited["status"].as_str()),
        (StatusCode::OK, Some("invited")),
        "{invited}"
    );
    assert_eq!(events(&ctx, &p1, "group.invite", closed).await.len(), 1);
    let (s, joined) = ctx
        .post(
            &p1,
            &format!("/api/v1/groups/{closed}/join"),
            json!({"nickname": "老张"}),
        )
        .await;
    assert_eq!(
        (s, joined["status"].as_str()),
        (StatusCode::OK, Some("active")),
        "{joined}"
    );
    // A patient cannot invite.
    let (s, _) = ctx.post(&p1, &invite, json!({"who": "patient2"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_screen_holds_what_must_not_reach_the_group_and_moderators_decide() {
    let ctx = setup().await;
    let host = ctx.app.token("doctor4", PW).await;
    let p1 = ctx.app.token("patient1", PW).await;
    let p2 = ctx.app.token("patient2", PW).await;
    let id = group(&ctx, &host, true).await;
    member(&ctx, &host, &p1, id, "晨跑的老张").await;
    let m2 = member(&ctx, &host, &p2, id, "王阿姨").await;
    let post = format!("/api/v1/groups/{id}/messages");

    // Ordinary talk is shown to everyone.
    let (s, ok) = ctx
        .post(&p1, &post, json!({"text": "今天血压 135/85，比上周好"}))
        .await;
    assert_eq!(
        (s, ok["status"].as_str()),
        (StatusCode::CREATED, Some("shown")),
        "{ok}"
    );
    // A phone number is held: its sender and the moderators see it, the others do not.
    let (_, held) = ctx
        .post(&p1, &post, json!({"text": "有事打我电话 138 0000 0001"}))
        .await;
    assert_eq!(
        (held["status"].as_str(), held["category"].as_str()),
        (Some("held"), Some("contact"))
    );
    let seq = held["seq"].as_i64().unwrap();
    assert_eq!(messages(&ctx, &p2, id).await.len(), 1);
    let own = messages(&ctx, &p1, id).await;
    assert_eq!(own.last().unwrap()["status"], "held");
    let (_, flags) = ctx.get(&host, &format!("/api/v1/groups/{id}/flags")).await;
    assert_eq!(flags["items"][0]["category"], "contact");
    assert_eq!(flags["items"][0]["source"], "screen");
    // Members cannot moderate; the moderator hides it, which closes the flag.
    let moderation = format!("/api/v1/groups/{id}/messages/{seq}/moderation");
    assert_eq!(
        ctx.post(&p2, &moderation, json!({"action": "hide"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, _) = ctx
        .post(&host, &moderation, json!({"action": "hide"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, flags) = ctx.get(&host, &format!("/api/v1/groups/{id}/flags")).await;
    assert_eq!(flags["items"].as_array().unwrap().len(), 0);
    // Releasing a hidden message is not possible: it was not held any more.
    let (s, wrong) = ctx
        .post(&host, &moderation, json!({"action": "release"}))
        .await;
    assert_eq!(
        (s, wrong["code"].as_str()),
        (StatusCode::CONFLICT, Some("wrong-state"))
    );

    // Selling medicine is held; the moderator may release what was harmless after all.
    let (_, sale) = ctx
        .post(&p2, &post, json!({"text": "低价药出售，包邮"}))
        .await;
    assert_eq!(sale["category"], "drug_sales");
    let sale_seq = sale["seq"].as_i64().unwrap();
    let (s, _) = ctx
        .post(
            &host,
            &format!("/api/v1/groups/{id}/messages/{sale_seq}/moderation"),
            json!({"action": "release"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        messages(&ctx, &p1, id)
            .await
            .iter()
            .any(|m| m["seq"] == sale_seq)
    );

    // Words of self-harm: held, crisis lines for the writer, an urgent alert to the host.
    let (_, crisis) = ctx
        .post(&p2, &post, json!({"text": "我真的不想活了"}))
        .await;
    assert_eq!(crisis["category"], "self_harm");
    let lines = crisis["crisis_lines"].as_array().unwrap();
    assert!(
        lines.iter().any(|l| l["number"] == "400-161-9995"),
        "{crisis}"
    );
    let alerts = events(&ctx, &host, "group.crisis", id).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["urgent"], true, "{:?}", alerts[0]);
    assert!(alerts[0]["body"].as_str().unwrap().contains("王阿姨"));

    // Staff messages are not screened: a doctor gives the hospital's hotline.
    let (_, doctor) = ctx
        .post(
            &host,
            &post,
            json!({"text": "急事请拨医院电话 020-83827812"}),
        )
        .await;
    assert_eq!(doctor["status"], "shown");
    // Announcements are the moderators' and are pinned.
    let (s, _) = ctx
        .post(
            &p1,
            &post,
            json!({"text": "大家好", "kind": "announcement"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = ctx
        .post(
            &host,
            &post,
            json!({"text": "每周三晚答疑", "kind": "announcement"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, g) = ctx.get(&p1, &format!("/api/v1/groups/{id}")).await;
    assert_eq!(g["pinned"][0]["body"], "每周三晚答疑");

    // A member reports a message once; the host hears of it.
    let shown = messages(&ctx, &p2, id).await[0]["seq"].as_i64().unwrap();
    let report = format!("/api/v1/groups/{id}/messages/{shown}/report");
    let (s, own) = ctx.post(&p1, &report, json!({"category": "other"})).await;
    assert_eq!(
        (s, own["code"].as_str()),
        (StatusCode::CONFLICT, Some("wrong-state"))
    );
    let (s, bad) = ctx.post(&p2, &report, json!({"category": "rude"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    for _ in 0..2 {
        let (s, _) = ctx
            .post(
                &p2,
                &report,
                json!({"category": "other", "note": "不实信息"}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    let (_, flags) = ctx.get(&host, &format!("/api/v1/groups/{id}/flags")).await;
    let reports: Vec<&Value> = flags["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"] == "report")
        .collect();
    assert_eq!(reports.len(), 1, "{flags}");
    assert_eq!(reports[0]["reporter"], "王阿姨");
    assert_eq!(events(&ctx, &host, "group.report", id).await.len(), 1);

    // Muted: reads, cannot post; removed: neither, and cannot ask again.
    let act = format!("/api/v1/groups/{id}/members/{m2}");
    let (s, bad) = ctx
        .post(&host, &act, json!({"action": "mute", "hours": 0}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (s, _) = ctx
        .post(&host, &act, json!({"action": "mute", "hours": 2}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, muted) = ctx.post(&p2, &post, json!({"text": "还能说话吗"})).await;
    assert_eq!(
        (s, muted["code"].as_str()),
        (StatusCode::CONFLICT, Some("muted")),
        "{muted}"
    );
    assert!(!messages(&ctx, &p2, id).await.is_empty());
    let (s, _) = ctx.post(&host, &act, json!({"action": "remove"})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, gone) = ctx.get(&p2, &format!("/api/v1/groups/{id}/messages")).await;
    assert_eq!(
        (s, gone["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("membership-required"))
    );
    let (s, again) = ctx
        .post(
            &p2,
            &format!("/api/v1/groups/{id}/join"),
            json!({"nickname": "新昵称"}),
        )
        .await;
    assert_eq!(
        (s, again["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("removed-from-group"))
    );

    // Every moderator action is in the audit trail.
    let regulator = ctx.app.token("regulator1", PW).await;
    for a in [
        "group.moderate.hide",
        "group.moderate.release",
        "group.member.mute",
        "group.member.remove",
        "group.report",
    ] {
        let (_, audit) = ctx
            .get(
                &regulator,
                &format!("/api/v1/audit-events?action={a}&limit=10"),
            )
            .await;
        assert!(
            !audit["items"].as_array().unwrap().is_empty(),
            "{a}: {audit}"
        );
    }
}

#[tokio::test]
async fn a_hospitals_own_words_are_screened_and_only_its_administrators_change_them() {
    let ctx = setup().await;
    let host = ctx.app.token("doctor4", PW).await;
    let p1 = ctx.app.token("patient1", PW).await;
    let id = group(&ctx, &host, true).await;
    member(&ctx, &host, &p1, id, "晨跑的老张").await;
    let hospitals = ctx.app.get_json("/api/v1/hospitals").await.1;
    let (gz, jz) = (
        hospitals["items"][0]["id"].as_i64().unwrap(),
        hospitals["items"][1]["id"].as_i64().unwrap(),
    );
    let words = format!("/api/v1/hospitals/{gz}/group-words");
    let post = format!("/api/v1/groups/{id}/messages");
    let status_of = |v: &Value| v["status"].as_str().map(str::to_owned);

    // Not a built-in word: shown.
    let (_, before) = ctx.post(&p1, &post, json!({"text": "谁有X神药"})).await;
    assert_eq!(status_of(&before).as_deref(), Some("shown"), "{before}");
    let ctx = &ctx;
    let put = |token: String, path: String, body: Value| async move {
        ctx.send(reqwest::Method::PUT, &token, &path, Some(body))
            .await
    };
    // Bad entries are named one by one, and nothing is stored.
    let (s, bad) = put(
        ctx.admin.clone(),
        words.clone(),
        json!({"words": [{"category": "drug_sales", "word": "药"},
                         {"category": "other", "word": "好药"},
                         {"category": "advertising", "word": "团购"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let fields = crate::helpers::error_fields(&bad);
    assert_eq!(fields, ["words[0].word", "words[1].category"], "{bad}");
    assert_eq!(ctx.get(&host, &words).await.1["items"], json!([]));
    // Only the hospital's administrators change them; its doctors read them; patients neither.
    let list = json!({"words": [{"category": "drug_sales", "word": "Ｘ 神 药"},
                                {"category": "advertising", "word": "团购"}]});
    assert_eq!(
        put(host.clone(), words.clone(), list.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let elsewhere = format!("/api/v1/hospitals/{jz}/group-words");
    assert_eq!(
        put(ctx.admin.clone(), elsewhere, list.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(ctx.get(&p1, &words).await.0, StatusCode::FORBIDDEN);
    let (s, saved) = put(ctx.admin.clone(), words.clone(), list).await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    assert_eq!(
        saved["items"],
        json!([{"category": "advertising", "word": "团购"},
               {"category": "drug_sales", "word": "x神药"}])
    );
    assert_eq!(ctx.get(&host, &words).await.1, saved);
    // No list at all is refused, not taken for an empty one.
    let (s, none) = put(ctx.admin.clone(), words.clone(), json!({})).await;
    assert_eq!(
        (s, none["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("words"))
    );
    let missing = "/api/v1/hospitals/999999/group-words".to_owned();
    let platform = ctx.app.token("admin", PW).await;
    assert_eq!(
        put(platform, missing, json!({"words": []})).await.0,
        StatusCode::NOT_FOUND
    );

    // Now held, in any width or spacing; the moderators' own messages are not screened.
    let (_, held) = ctx.post(&p1, &post, json!({"text": "谁有 x 神药"})).await;
    assert_eq!(
        (held["status"].as_str(), held["category"].as_str()),
        (Some("held"), Some("drug_sales")),
        "{held}"
    );
    let (_, staff) = ctx.post(&host, &post, json!({"text": "不要买X神药"})).await;
    assert_eq!(status_of(&staff).as_deref(), Some("shown"), "{staff}");
    // Each change audited with its size; a refused one too (by the denial).
    yunyi::audit::seal(&ctx.app.db).await.unwrap();
    let audited: Vec<(String, String, Option<String>)> = ctx
        .app
        .db
        .all(
            "SELECT action, outcome, reason FROM audit_event WHERE action = 'group.words.set' \
             AND object_id = $1 ORDER BY id",
            (gz.to_string(),),
        )
        .await
        .unwrap();
    assert_eq!(audited.len(), 2, "{audited:?}");
    assert_eq!(audited[1].2.as_deref(), Some("2 words"), "{audited:?}");

    // The page: the words by category; a bad word keeps the list as typed and says which.
    let admin = ctx.app.sign_in_browser("hospital-admin").await;
    let html = admin.page("/groups/words").await;
    assert!(html.contains("x神药</textarea>"), "{html}");
    let r = admin
        .post_form(
            &format!("/groups/words?hospital={gz}"),
            &[("drug_sales", "x神药\n药"), ("advertising", "团购")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("id=\"form-errors\"") && html.contains("药 — "),
        "{html}"
    );
    assert!(
        html.contains("x神药\n药</textarea>"),
        "kept as typed: {html}"
    );
    let html = admin
        .submit(
            &format!("/groups/words?hospital={gz}"),
            &[
                ("self_harm", "不如归去".to_owned()),
                ("contact", String::new()),
            ],
        )
        .await;
    assert!(
        html.contains("id=\"form-notice\"") && html.contains("不如归去</textarea>"),
        "{html}"
    );
    assert!(
        !html.contains("团购</textarea>"),
        "the list replaces the one before"
    );
    // A doctor reads them without a form to change them.
    let doctor = ctx.app.sign_in_browser("doctor4").await;
    let html = doctor.page("/groups/words").await;
    assert!(
        html.contains(r#"<span class="tag">不如归去</span>"#),
        "{html}"
    );
    assert!(
        html.contains("words-readonly") && !html.contains("<textarea"),
        "{html}"
    );
}

#[tokio::test]
async fn polls_tally_one_vote_per_member_and_a_live_qa_reaches_every_member() {
    let ctx = setup().await;
    let host = ctx.app.token("doctor4", PW).await;
    let p1 = ctx.app.token("patient1", PW).await;
    let p2 = ctx.app.token("patient2", PW).await;
    let id = group(&ctx, &host, true).await;
    member(&ctx, &host, &p1, id, "晨跑的老张").await;
    member(&ctx, &host, &p2, id, "王阿姨").await;

    let polls = format!("/api/v1/groups/{id}/polls");
    let (s, bad) = ctx
        .post(
            &host,
            &polls,
            json!({"question": "哪天答疑？", "options": ["周三"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (s, _) = ctx
        .post(
            &p1,
            &polls,
            json!({"question": "哪天答疑？", "options": ["周三", "周六"]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, poll) = ctx
        .post(
            &host,
            &polls,
            json!({"question": "哪天答疑？", "options": ["周三晚", "周六上午"]}),
        )
        .await;
    let seq = poll["seq"].as_i64().unwrap();
    let vote = format!("/api/v1/groups/{id}/messages/{seq}/vote");
    let (s, _) = ctx.post(&p1, &vote, json!({"choice": 2})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    ctx.post(&p1, &vote, json!({"choice": 0})).await;
    ctx.post(&p2, &vote, json!({"choice": 0})).await;
    // Voting again changes the vote, it does not add one.
    let (s, tally) = ctx.post(&p1, &vote, json!({"choice": 1})).await;
    assert_eq!(s, StatusCode::OK, "{tally}");
    assert_eq!(tally["poll"]["options"][0]["votes"], 1);
    assert_eq!(tally["poll"]["options"][1]["votes"], 1);
    assert_eq!(tally["poll"]["mine"], 1);

    // Ten messages a minute make a conversation; the eleventh waits (the host is not limited).
    let post = format!("/api/v1/groups/{id}/messages");
    for n in 0..10 {
        let (s, _) = ctx
            .post(&p1, &post, json!({"text": format!("第 {n} 条")}))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let r = ctx
        .app
        .post_as(Some(&p1), &post, &json!({"text": "第十一条"}))
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "60");
    let (s, _) = ctx.post(&host, &post, json!({"text": "大家慢慢说"})).await;
    assert_eq!(s, StatusCode::CREATED);

    // A live Q&A: in the future, with a doctor of the group; every member is told, in the
    // inbox only (not worth a text message).
    let sessions = format!("/api/v1/groups/{id}/sessions");
    let (s, bad) = ctx
        .post(
            &host,
            &sessions,
            json!({"topic": "冬季血压", "starts_at": "2020-01-01 19:00", "minutes": 5}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["errors"].as_array().unwrap().len(), 2, "{bad}");
    let (s, created) = ctx
        .post(
            &host,
            &sessions,
            json!({"topic": "冬季如何控血压", "starts_at": "2099-01-07 19:30", "minutes": 60}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let told = events(&ctx, &p2, "group.session", id).await;
    assert_eq!(told.len(), 1);
    assert!(told[0]["body"].as_str().unwrap().contains("冬季如何控血压"));
    let sms = yunyi::notification::store::deliveries(&ctx.app.db, told[0]["id"].as_i64().unwrap())
        .await
        .unwrap();
    assert!(sms.is_empty(), "{sms:?}");
    let (_, g) = ctx.get(&p1, &format!("/api/v1/groups/{id}")).await;
    assert_eq!(g["sessions"][0]["topic"], "冬季如何控血压");
    assert_eq!(g["sessions"][0]["live"], false);
}

#[tokio::test]
async fn the_fhir_group_lists_members_to_moderators_only() {
    let ctx = setup().await;
    let host = ctx.app.token("doctor4", PW).await;
    let p1 = ctx.app.token("patient1", PW).await;
    let id = group(&ctx, &host, true).await;
    member(&ctx, &host, &p1, id, "晨跑的老张").await;
    let person = ctx.app.person_of(&p1).await;

    let r = ctx.app.get_as(&host, &format!("/fhir/Group/{id}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let g: Value = r.json().await.unwrap();
    crate::fhir::assert_valid(&g);
    assert_eq!(g["quantity"], 2);
    assert_eq!(
        g["characteristic"][0]["valueCodeableConcept"]["coding"][0]["code"],
        "I10"
    );
    let members = g["member"].as_array().unwrap();
    assert!(
        members
            .iter()
            .any(|m| m["entity"]["reference"] == format!("Patient/{person}")),
        "{g}"
    );

    let r = ctx.app.get_as(&p1, &format!("/fhir/Group/{id}")).await;
    let seen: Value = r.json().await.unwrap();
    crate::fhir::assert_valid(&seen);
    assert!(seen.get("member").is_none(), "{seen}");
    let cs = ctx
        .app
        .get("/fhir/metadata")
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert!(cs.to_string().contains("\"Group\""));
}

mod ws {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    use super::*;

    use crate::helpers::ws::{Socket, next_of};

    async fn connect(ctx: &Ctx, token: &str, id: i64, after: i64) -> Socket {
        let path = format!("/api/v1/groups/{id}/ws?after={after}");
        crate::helpers::ws::connect(&ctx.app.addr.to_string(), token, &path).await
    }

    #[tokio::test]
    async fn members_hear_new_messages_live_and_never_what_the_screen_held() {
        let ctx = setup().await;
        let host = ctx.app.token("doctor4", PW).await;
        let p1 = ctx.app.token("patient1", PW).await;
        let p2 = ctx.app.token("patient2", PW).await;
        let id = group(&ctx, &host, true).await;
        member(&ctx, &host, &p1, id, "晨跑的老张").await;
        let m2 = member(&ctx, &host, &p2, id, "王阿姨").await;
        // Catch-up: what was said before connecting comes first.
        ctx.post(
            &p1,
            &format!("/api/v1/groups/{id}/messages"),
            json!({"text": "早上好"}),
        )
        .await;
        let mut listener = connect(&ctx, &p2, id, 0).await;
        let first = next_of(&mut listener, "message").await;
        assert_eq!(
            (first["seq"].as_i64(), first["nickname"].as_str()),
            (Some(1), Some("晨跑的老张"))
        );

        let mut writer = connect(&ctx, &p1, id, 1).await;
        let send = |text: &str| {
            Message::Text(
                json!({"type": "message", "text": text, "client_id": "c1"})
                    .to_string()
                    .into(),
            )
        };
        writer.send(send("加我微信 abc123")).await.unwrap();
        let ack = next_of(&mut writer, "ack").await;
        assert_eq!(
            (ack["status"].as_str(), ack["category"].as_str()),
            (Some("held"), Some("contact"))
        );
        // The writer sees their own held message; the listener does not, only the next one.
        let mine = next_of(&mut writer, "message").await;
        assert_eq!(mine["status"], "held");
        writer.send(send("今天 130/80")).await.unwrap();
        let heard = next_of(&mut listener, "message").await;
        assert_eq!(
            (heard["seq"].as_i64(), heard["body"].as_str()),
            (Some(3), Some("今天 130/80"))
        );

        // A moderator's release reaches the listener as a change.
        ctx.post(
            &host,
            &format!("/api/v1/groups/{id}/messages/2/moderation"),
            json!({"action": "release"}),
        )
        .await;
        let changed = next_of(&mut listener, "changed").await;
        assert_eq!(
            (changed["seq"].as_i64(), changed["status"].as_str()),
            (Some(2), Some("shown"))
        );

        // A removed member's socket closes.
        ctx.post(
            &host,
            &format!("/api/v1/groups/{id}/members/{m2}"),
            json!({"action": "remove"}),
        )
        .await;
        let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                match listener.next().await {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return true,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert_eq!(closed, Ok(true));
    }
}
