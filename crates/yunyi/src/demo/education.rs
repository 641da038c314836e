//! The demo's health education: eight articles of the Guangzhou hospital, each written by one
//! doctor and approved by another through the review, and the two outbreak-prevention
//! articles pushed by officer1 from the Tianhe respiratory alert to every patient there.

use crate::app::AppState;
use crate::education::model::{ArticleInput, Decision};
use crate::education::{push, service};
use crate::error::AppResult;

/// (title, summary, body, conditions, regions, syndromes, age group, season).
type Article = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const ARTICLES: [Article; 8] = [
    (
        "高血压患者冬季血压管理",
        "天冷血管收缩，血压容易升高：按时服药，早晚各测一次血压。",
        "冬季气温低，血管收缩，血压往往比夏季高 5 到 10 毫米汞柱，心脑血管意外也多发于清晨。\n\n请坚持按时服药，不要自行停药或减药；每天早晨起床后、晚上睡前各测一次血压并记录，复诊时带给医生看。\n\n出门注意保暖，避免从温暖的室内突然走到寒冷的室外；饮食少盐，每天食盐不超过 5 克。\n\n如果血压持续高于 180/110 毫米汞柱，或出现剧烈头痛、胸痛、一侧肢体无力，请立即拨打 120。",
        "I10 I11",
        "",
        "",
        "all",
        "winter",
    ),
    (
        "2 型糖尿病的饮食与运动",
        "控制总热量、定时定量，每周至少 150 分钟中等强度运动。",
        "糖尿病饮食的关键是控制总热量、定时定量：主食粗细搭配，多吃蔬菜，少喝含糖饮料。\n\n每周至少进行 150 分钟中等强度的运动，如快走、骑车、游泳，饭后一小时开始运动较好。\n\n使用胰岛素或磺脲类药物的患者运动前请测血糖，随身带几块糖，以防低血糖。\n\n每 3 个月复查一次糖化血红蛋白，目标一般在 7% 以下，具体请遵医嘱。",
        "E11",
        "",
        "",
        "adult",
        "all",
    ),
    (
        "呼吸道传染病高发期的个人防护",
        "天河区近期呼吸道症状就诊增多：戴口罩、勤洗手、少聚集。",
        "近期天河区呼吸道症状的就诊人数明显增多。请在人员密集的室内场所和乘坐公共交通时佩戴口罩。\n\n勤洗手，用流动水和肥皂洗手至少 20 秒；咳嗽、打喷嚏时用纸巾或手肘遮住口鼻。\n\n室内每天开窗通风 2 到 3 次，每次不少于 30 分钟；尽量减少聚餐和聚集活动。\n\n老年人、慢性病患者和孕妇是重症的高危人群，出现发热、咳嗽请尽早就医。",
        "J",
        "440106",
        "respiratory",
        "all",
        "all",
    ),
    (
        "发热咳嗽怎么办：天河区就诊指引",
        "先在线问诊评估，需要时到发热门诊就诊，路上全程戴口罩。",
        "出现发热（体温 37.3℃ 以上）、咳嗽、咽痛时，可先通过云医在线问诊，由医生评估是否需要到医院就诊。\n\n需要到医院时，请前往设有发热门诊的医院，路上全程佩戴口罩，尽量不乘坐公共交通。\n\n就诊时如实告诉医生近 14 天的旅行史和接触史，这有助于医生判断。\n\n出现呼吸困难、持续高热不退或意识改变时，请立即拨打 120。",
        "J",
        "440106",
        "respiratory",
        "all",
        "all",
    ),
    (
        "儿童疫苗按时接种",
        "按免疫规划程序接种，错过了也要尽快补种。",
        "国家免疫规划疫苗免费接种，可以预防乙肝、麻疹、百日咳等十余种传染病。\n\n请按接种证上的时间带孩子到社区卫生服务中心接种；错过了也不要紧，尽快补种即可。\n\n接种后在现场留观 30 分钟；接种当天可以洗澡，但注意保持接种部位清洁。\n\n接种后低热、局部红肿一般 1 到 2 天自行消退；高热不退或出现皮疹请及时就医。",
        "",
        "",
        "",
        "child",
        "all",
    ),
    (
        "老年人居家防跌倒",
        "跌倒是老年人受伤的首要原因：家里装扶手、起身要慢。",
        "跌倒是我国 65 岁以上老年人因伤害就医和死亡的首要原因。\n\n家中卫生间和楼梯安装扶手，地面保持干燥，夜间留一盏小夜灯。\n\n起床、起身时动作放慢：先坐 30 秒，再站 30 秒，再走路。\n\n服用降压药、安眠药的老年人更容易头晕，请与医生确认用药，必要时使用拐杖。",
        "",
        "",
        "",
        "elderly",
        "all",
    ),
    (
        "预防感染性腹泻",
        "饭前便后洗手，生熟分开，不喝生水。",
        "感染性腹泻多发于夏秋季，主要经被污染的食物和水传播。\n\n饭前便后用肥皂洗手；生熟食物分开处理和存放，剩饭菜要彻底加热。\n\n不喝生水，不吃未煮熟的海鲜和变质食物。\n\n腹泻期间注意补充水分和盐分，可以服用口服补液盐；儿童和老人出现精神差、尿少时请及时就医。",
        "A09",
        "",
        "diarrhoeal",
        "all",
        "summer",
    ),
    (
        "慢病患者线上复诊与续方",
        "病情稳定的慢病患者可以在线复诊续方，药品配送到家。",
        "已在医院确诊高血压、糖尿病等慢性病、病情稳定的患者，可以通过云医在线复诊，不必每次到医院排队。\n\n复诊时请准备好近期的血压或血糖记录和正在服用的药品，医生会据此调整用药。\n\n医生开具的处方经药师审核后即可在线支付，药品可以配送到家，也可以到医院药房自取。\n\n病情变化、出现新的症状时，请到医院面诊。",
        "I10 E11",
        "",
        "",
        "all",
        "all",
    ),
];

pub async fn seed(state: &AppState) -> AppResult<()> {
    let author = super::actor_of(&super::account(&state.db, "doctor4").await?);
    let reviewer = super::actor_of(&super::account(&state.db, "doctor5").await?);
    let mut outbreak = Vec::new();
    for (title, summary, body, conditions, regions, syndromes, age, season) in ARTICLES {
        let input = ArticleInput {
            title: title.to_owned(),
            summary: summary.to_owned(),
            body: body.to_owned(),
            conditions: conditions.to_owned(),
            department: String::new(),
            age_group: Some(age.to_owned()),
            regions: regions.to_owned(),
            season: Some(season.to_owned()),
            syndromes: syndromes.to_owned(),
        };
        let id = service::create(state, &author, &input).await?;
        service::submit(state, &author, id).await?;
        service::review(state, &reviewer, id, Decision::Approved, None).await?;
        if !regions.is_empty() {
            outbreak.push(id);
        }
    }
    let officer = super::actor_of(&super::account(&state.db, "officer1").await?);
    let alert = crate::surveillance::scan::alerts(state, &officer)
        .await?
        .into_iter()
        .find(|a| a.region == "440106" && a.syndrome == "respiratory")
        .map(|a| a.id);
    for article_id in outbreak {
        let input = push::PushInput {
            article_id,
            region: "440106".to_owned(),
            condition: String::new(),
            alert_id: alert,
        };
        let id = push::send(state, &officer, &input).await?;
        push::fan_out(state, id).await?;
    }
    Ok(())
}
