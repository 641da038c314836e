//! The demo's patient group: the Guangzhou hospital's hypertension group hosted by doctor4
//! with nurse1 as moderator; patient1 joined by invitation, patient2 and patient3 by request;
//! a pinned announcement, a few messages, a poll and a live Q&A three days ahead.

use crate::app::AppState;
use crate::error::AppResult;
use crate::groups::model::{MemberAction, MessageKind};
use crate::groups::service::{self, GroupInput, QaSessionInput};

pub async fn seed(state: &AppState) -> AppResult<()> {
    let host = super::actor_of(&super::account(&state.db, "doctor4").await?);
    let input = GroupInput {
        name: "高血压病友会".to_owned(),
        description: "心内科医生和护士主持：按时服药、规律测压、相互鼓励。每月一次医生在线答疑。"
            .to_owned(),
        condition: "I10".to_owned(),
        open: true,
    };
    let id = service::create(state, &host, &input).await?;
    service::invite(state, &host, id, "nurse1").await?;
    service::invite(state, &host, id, "patient1").await?;
    let p1 = super::actor_of(&super::account(&state.db, "patient1").await?);
    service::join(state, &p1, id, "晨练的老张").await?;
    for (username, nickname) in [("patient2", "花城王阿姨"), ("patient3", "老李")] {
        let patient = super::actor_of(&super::account(&state.db, username).await?);
        service::join(state, &patient, id, nickname).await?;
    }
    for m in service::members(state, &host, id).await? {
        if m.status == "requested" {
            service::act_on_member(state, &host, id, m.id, MemberAction::Approve, None).await?;
        }
    }
    let p2 = super::actor_of(&super::account(&state.db, "patient2").await?);
    let p3 = super::actor_of(&super::account(&state.db, "patient3").await?);
    let said = [
        (
            &host,
            MessageKind::Announcement,
            "欢迎加入高血压病友会！请不要在群里发布电话、微信等联系方式；用药调整请先咨询医生。",
        ),
        (
            &p1,
            MessageKind::Text,
            "今天早上血压 132/84，坚持每天快走半小时，比上个月好多了。",
        ),
        (
            &p2,
            MessageKind::Text,
            "天冷了我的血压有点高，早上 150/95，需要加药吗？",
        ),
        (
            &host,
            MessageKind::Text,
            "王阿姨，冬天血压偏高常见。请连续记录一周早晚血压，下次复诊带来，不要自行加药。",
        ),
        (
            &p3,
            MessageKind::Text,
            "我用电子血压计，测之前先坐 5 分钟，数值稳定多了。",
        ),
    ];
    for (who, kind, text) in said {
        service::post_text(state, who, id, kind, text).await?;
    }
    let a = service::access(state, &host, id).await?;
    let options = [
        "周三晚上".to_owned(),
        "周六上午".to_owned(),
        "都可以".to_owned(),
    ];
    service::post_poll(
        state,
        &host,
        &a,
        "下次在线答疑安排在什么时间合适？",
        &options,
    )
    .await?;
    let today = crate::time::cst_today(state.now_ms());
    let day = today + chrono::Days::new(3);
    service::schedule(
        state,
        &host,
        id,
        &QaSessionInput {
            topic: "冬季如何平稳控制血压".to_owned(),
            starts_at: format!("{day} 19:30"),
            minutes: 60,
            doctor_member: None,
        },
    )
    .await?;
    Ok(())
}
