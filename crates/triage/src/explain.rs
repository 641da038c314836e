//! A short explanation a patient understands, in Chinese and English.

use crate::{Triage, Urgency};

/// A finding worth repeating to the patient: something they have, not who or where from.
fn said_clinically(f: &crate::Finding) -> bool {
    !f.negated && matches!(f.kind.as_str(), "symptom" | "disease" | "sign")
}

pub fn explain(t: &Triage) -> (String, String) {
    let said: Vec<&str> = t
        .findings
        .iter()
        .filter(|f| said_clinically(f))
        .map(|f| f.name.as_str())
        .take(4)
        .collect();
    let said_en: Vec<&str> = t
        .findings
        .iter()
        .filter(|f| said_clinically(f))
        .map(|f| f.name_en.as_str())
        .take(4)
        .collect();
    let mut zh = String::new();
    let mut en = String::new();
    match t.urgency {
        Urgency::Emergency => {
            let names: Vec<&str> = t.red_flags.iter().map(|f| f.name.as_str()).collect();
            let names_en: Vec<&str> = t.red_flags.iter().map(|f| f.name_en.as_str()).collect();
            zh.push_str(&format!("发现危险信号：{}。", names.join("；")));
            en.push_str(&format!("Warning signs: {}. ", names_en.join("; ")));
            if let Some(first) = t.red_flags.first() {
                zh.push_str(&first.advice);
                en.push_str(&first.advice_en);
            }
            zh.push_str("请不要等待预约。");
            en.push_str(" Do not wait for an appointment.");
            return (zh, en);
        }
        Urgency::Urgent | Urgency::Routine => {}
    }
    if said.is_empty() {
        zh.push_str("我们还不清楚您哪里不舒服。");
        en.push_str("We do not yet know what is wrong. ");
    } else {
        zh.push_str(&format!("根据您描述的“{}”", said.join("、")));
        en.push_str(&format!("From what you describe ({})", said_en.join(", ")));
        if let Some(h) = t.duration_hours {
            let (d_zh, d_en) = duration(h);
            zh.push_str(&format!("，持续约 {d_zh}"));
            en.push_str(&format!(", for about {d_en}"));
        }
        if let Some(c) = t.temperature_c {
            zh.push_str(&format!("，体温 {c:.1} ℃"));
            en.push_str(&format!(", temperature {c:.1} °C"));
        }
        zh.push('，');
        en.push_str(", ");
    }
    let names: Vec<&str> = t
        .departments
        .iter()
        .take(3)
        .map(|d| d.name.as_str())
        .collect();
    let names_en: Vec<&str> = t
        .departments
        .iter()
        .take(3)
        .map(|d| d.name_en.as_str())
        .collect();
    if let Some((first, rest)) = names.split_first() {
        zh.push_str(&format!("建议就诊{first}"));
        if !rest.is_empty() {
            zh.push_str(&format!("（也可考虑{}）", rest.join("、")));
        }
        zh.push('。');
    }
    if let Some((first, rest)) = names_en.split_first() {
        en.push_str(&format!("we suggest {first}"));
        if !rest.is_empty() {
            en.push_str(&format!(" (or {})", rest.join(", ")));
        }
        en.push_str(". ");
    }
    if t.screening {
        zh.push_str("您有发热或呼吸道症状并有疫区旅居或接触史，请先到发热门诊就诊，途中佩戴口罩。");
        en.push_str("With fever or breathing symptoms after travel to an outbreak area or contact with a case, go to the fever clinic first and wear a mask on the way. ");
    }
    match t.urgency {
        Urgency::Urgent => {
            let why: Vec<&str> = t.urgent_reasons.iter().map(|r| r.name.as_str()).collect();
            let why_en: Vec<&str> = t
                .urgent_reasons
                .iter()
                .map(|r| r.name_en.as_str())
                .collect();
            zh.push_str(&format!(
                "因为{}，建议今天就诊；如果加重，请去急诊。",
                why.join("、")
            ));
            en.push_str(&format!(
                "Because of {}, be seen today; if it gets worse, go to the emergency department.",
                why_en.join(", ")
            ));
        }
        Urgency::Routine => {
            zh.push_str("可以预约近几天的门诊；如果症状加重，请及时就医。");
            en.push_str(
                "You can book a visit in the coming days; if it gets worse, get care sooner.",
            );
        }
        Urgency::Emergency => {}
    }
    if t.possible_emergency {
        zh.push_str(
            "您的描述与一些急症相似，请先逐项确认下面的危险信号；任何一项有，请立即拨打 120。",
        );
        en.push_str(" What you describe resembles some emergencies: please answer the warning-sign questions first; if any applies, call 120 at once.");
    }
    // The safety net: words are not always understood (docs/TRIAGE.md).
    zh.push_str(
        "如出现胸痛、呼吸困难、说话不清或一侧无力、意识不清、大出血、抽搐，请立即拨打 120。",
    );
    en.push_str(" If chest pain, trouble breathing, slurred speech or one-sided weakness, fainting, heavy bleeding or a seizure occur, call 120 at once.");
    (zh, en.trim_end().to_owned())
}

fn duration(hours: f32) -> (String, String) {
    let n = |v: f32| v.round().max(1.0) as u32;
    if hours < 1.0 {
        let m = n(hours * 60.0);
        (format!("{m} 分钟"), format!("{m} minutes"))
    } else if hours < 48.0 {
        let h = n(hours);
        (format!("{h} 小时"), format!("{h} hours"))
    } else if hours < 24.0 * 60.0 {
        let d = n(hours / 24.0);
        (format!("{d} 天"), format!("{d} days"))
    } else if hours < 24.0 * 365.0 {
        let m = n(hours / (24.0 * 30.4));
        (format!("{m} 个月"), format!("{m} months"))
    } else {
        let y = n(hours / (24.0 * 365.0));
        (format!("{y} 年"), format!("{y} years"))
    }
}
