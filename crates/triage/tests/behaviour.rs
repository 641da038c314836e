//! The crate's promises, one by one: every red flag, negation, the age, sex and pregnancy
//! rules, epidemic routing, and malformed input (a clear answer or a clear error, no panic).

use triage::{Input, Sex, Triage, Urgency};

fn run(input: Input) -> Triage {
    triage::triage(&input).unwrap_or_else(|e| panic!("{}: {e}", input.text))
}

fn text(t: &str) -> Triage {
    run(Input::text(t))
}

fn first(t: &Triage) -> &str {
    t.departments.first().map_or("", |d| d.code.as_str())
}

fn has_flag(t: &Triage, id: &str) -> bool {
    t.red_flags.iter().any(|f| f.id == id)
}

#[test]
fn every_red_flag_fires_and_leads_to_the_emergency_department() {
    let cases = [
        ("胸口闷痛出冷汗半小时", "chest_pain_cardiac"),
        ("口角歪斜，说话不清", "stroke"),
        ("喘不上气，嘴唇发紫", "severe_breathing"),
        ("手被割伤血流不止", "heavy_bleeding"),
        ("我爸突然晕倒了，叫不醒", "unconscious"),
        ("刚出生的宝宝发烧", "infant_fever"),
        ("发烧39度，刚才抽风了", "fever_convulsion"),
        ("孩子突然全身抽搐", "seizure"),
        ("不想活了", "suicidal"),
        ("喝了农药", "poisoning"),
        ("怀孕8周，阴道出血", "pregnancy_bleeding_pain"),
        ("打了青霉素以后喉咙发紧，嘴唇肿", "anaphylaxis"),
        ("出车祸了", "major_trauma"),
        ("突然剧烈头痛", "thunderclap_headache"),
        ("血压190/120，头疼得厉害", "bp_crisis"),
    ];
    for (complaint, flag) in cases {
        let t = text(complaint);
        assert!(
            has_flag(&t, flag),
            "{complaint}: expected {flag}, got {:?}",
            t.red_flags
        );
        assert_eq!(t.urgency, Urgency::Emergency, "{complaint}");
        assert_eq!(first(&t), "20", "{complaint}");
        assert!(
            t.explanation.contains("120") || t.explanation.contains("急诊"),
            "{complaint}"
        );
        assert!(
            t.follow_up.is_empty(),
            "no questions in an emergency: {complaint}"
        );
    }
}

#[test]
fn suicidal_thoughts_show_the_crisis_line_and_counselling() {
    let t = text("最近总是想死，活着没意思");
    assert!(t.crisis_line);
    assert!(t.explanation.contains("12356"));
    assert!(t.departments.iter().any(|d| d.code.starts_with("15")));
    // Saying it is not so is not a crisis.
    let calm = text("我不是想自杀，就是压力大睡不着");
    assert!(!calm.crisis_line);
    assert_ne!(calm.urgency, Urgency::Emergency);
}

#[test]
fn negation_denies_what_follows_in_the_clause_only() {
    let t = text("我不发烧，但是咳嗽有痰");
    let fever = t.findings.iter().find(|f| f.concept == "fever");
    assert!(fever.is_some_and(|f| f.negated), "{:?}", t.findings);
    assert!(
        t.findings
            .iter()
            .any(|f| f.concept == "cough" && !f.negated)
    );
    assert_eq!(first(&t), "03.01");

    // One negation over an enumeration.
    let t = text("无发热、咳嗽，就是胃胀反酸");
    assert!(
        t.findings
            .iter()
            .filter(|f| f.concept == "fever" || f.concept == "cough")
            .all(|f| f.negated)
    );
    assert_eq!(first(&t), "03.02");

    // A negation ending the clause: no sweating, so no heart-attack red flag.
    let t = text("胸口有点闷，出汗也没有");
    assert!(t.red_flags.is_empty(), "{:?}", t.red_flags);

    // Denied chest pain with sweating is no emergency either.
    let t = text("没有胸痛，运动后出汗多");
    assert_ne!(t.urgency, Urgency::Emergency);
}

#[test]
fn children_go_to_paediatrics_unless_the_problem_is_surgical_or_a_special_organ() {
    let cough = run(Input {
        age_years: Some(5),
        ..Input::text("咳嗽有痰一周")
    });
    assert!(first(&cough).starts_with("07"), "{:?}", cough.departments);
    let adult = run(Input {
        age_years: Some(35),
        ..Input::text("咳嗽有痰一周")
    });
    assert_eq!(first(&adult), "03.01");
    // Words alone say it is a child.
    assert!(first(&text("宝宝拉肚子两天")).starts_with("07"));
    // Eyes, ears and teeth see children themselves; a child's broken arm goes to paediatric surgery.
    assert_eq!(
        first(&run(Input {
            age_years: Some(6),
            ..Input::text("眼睛红，眼屎多")
        })),
        "10"
    );
    assert_eq!(
        first(&run(Input {
            age_years: Some(6),
            ..Input::text("耳朵疼")
        })),
        "11"
    );
    assert_eq!(
        first(&run(Input {
            age_years: Some(6),
            ..Input::text("牙疼")
        })),
        "12"
    );
    assert!(
        first(&run(Input {
            age_years: Some(8),
            ..Input::text("骨折了")
        }))
        .starts_with("08")
    );
    // Infants: fever under 3 months is an emergency, at 6 months it is not.
    let infant = run(Input {
        age_months: Some(2),
        ..Input::text("发烧38度")
    });
    assert!(has_flag(&infant, "infant_fever"));
    let older = run(Input {
        age_months: Some(6),
        ..Input::text("发烧38度")
    });
    assert!(!has_flag(&older, "infant_fever"));
    assert_eq!(older.urgency, Urgency::Urgent, "fever under 3 years: today");
}

#[test]
fn sex_and_pregnancy_rules() {
    // Pregnant women with a gynaecological or other complaint go to obstetrics.
    let t = run(Input {
        pregnant: Some(true),
        sex: Some(Sex::Female),
        ..Input::text("白带多，有点痒")
    });
    assert_eq!(first(&t), "05.02");
    let t = run(Input {
        sex: Some(Sex::Female),
        ..Input::text("白带多，有点痒")
    });
    assert_eq!(first(&t), "05.01");
    // Pregnancy said in words counts; with belly pain it is an emergency.
    assert!(has_flag(
        &text("怀孕20周，肚子疼"),
        "pregnancy_bleeding_pain"
    ));
    // A question about becoming pregnant is not a pregnancy.
    let t = text("紧急避孕药吃了还会怀孕吗");
    assert_eq!(first(&t), "05.03");
    // Women's complaints are not offered to men, and men's not to women.
    let t = run(Input {
        sex: Some(Sex::Male),
        ..Input::text("小肚子疼，月经不调")
    });
    assert!(
        t.departments.iter().all(|d| !d.code.starts_with("05")),
        "{:?}",
        t.departments
    );
    let t = run(Input {
        sex: Some(Sex::Female),
        ..Input::text("前列腺炎，尿频")
    });
    assert_eq!(first(&t), "04.04", "urinary symptoms stay with urology");
    // A man cannot be pregnant: a clear error naming the field.
    let err = triage::triage(&Input {
        sex: Some(Sex::Male),
        pregnant: Some(true),
        ..Input::text("头疼")
    });
    assert!(matches!(err, Err(triage::Error::Input(e)) if e.field == "pregnant"));
}

#[test]
fn chronic_conditions_go_to_their_specialty() {
    assert_eq!(first(&text("糖尿病，血糖控制不好")), "03.07");
    assert!(first(&text("乙肝大三阳")).starts_with("16"));
    assert_eq!(first(&text("高血压来开药")), "03.04");
}

#[test]
fn fever_after_travel_to_an_outbreak_area_goes_to_the_fever_clinic() {
    let areas = vec!["某某市".to_owned()];
    let t = run(Input {
        outbreak_areas: areas.clone(),
        ..Input::text("上周刚从某某市回来，发烧38.5度")
    });
    assert!(t.screening);
    assert_eq!(first(&t), "16");
    assert!(t.urgency >= Urgency::Urgent);
    // Denied travel does not count; neither does travel without fever or breathing symptoms.
    let t = run(Input {
        outbreak_areas: areas.clone(),
        ..Input::text("没去过某某市，发烧38.5度")
    });
    assert!(!t.screening);
    let t = run(Input {
        outbreak_areas: areas,
        ..Input::text("刚从某某市回来，膝盖疼")
    });
    assert!(!t.screening);
    // Contact with a confirmed case counts without any list.
    assert!(text("同事确诊了，我现在发烧咳嗽").screening);
}

#[test]
fn vague_complaints_get_follow_up_questions() {
    let t = text("不舒服");
    let ids: Vec<&str> = t.follow_up.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["where", "how_long"]);
    assert!(!t.departments.is_empty(), "still a place to start");
    // Enough said: no questions.
    assert!(
        text("咳嗽有痰一个星期，晚上咳得睡不着")
            .follow_up
            .is_empty()
    );
}

#[test]
fn malformed_input_gets_a_clear_answer_or_a_clear_error() {
    for bad in ["", "   ", "？？？！！！", "😭😭😭", "……"] {
        let err = triage::triage(&Input::text(bad));
        assert!(
            matches!(&err, Err(triage::Error::Input(e)) if e.field == "text"),
            "{bad:?}: {err:?}"
        );
    }
    let long = "头疼".repeat(5_000);
    let err = triage::triage(&Input::text(&long));
    assert!(
        matches!(&err, Err(triage::Error::Input(e)) if e.field == "text" && e.message.contains("2000"))
    );
    let err = triage::triage(&Input {
        age_years: Some(200),
        ..Input::text("头疼")
    });
    assert!(matches!(&err, Err(triage::Error::Input(e)) if e.field == "age_years"));
    // Just under the limit, with emoji, mixed scripts and odd characters: an answer.
    let noisy = format!("{}发烧😷ABC\u{200b}\u{0}𠀀", "嗯".repeat(1_990));
    assert!(triage::triage(&Input::text(&noisy)).is_ok());
    // Traditional characters work like simplified ones.
    let t = text("胸口悶痛，冒冷汗");
    assert!(has_flag(&t, "chest_pain_cardiac"));
    let t = text("頭痛發燒，喉嚨痛");
    assert!(t.findings.iter().any(|f| f.concept == "fever"));
    // English letters or digits alone are understood as nothing, not as an error.
    let t = text("hello 123");
    assert_eq!(t.follow_up.first().map(|q| q.id.as_str()), Some("where"));
}

#[test]
fn results_are_the_same_every_time() {
    let a = text("发烧两天，咳嗽，头疼，嗓子疼");
    let b = text("发烧两天，咳嗽，头疼，嗓子疼");
    assert_eq!(a, b);
    let total: f32 = a.departments.iter().map(|d| d.score).sum();
    assert!(total <= 1.01, "{total}");
}

#[test]
fn a_confirmed_checklist_item_makes_an_emergency_whatever_the_words() {
    let items = triage::checklist().unwrap_or_default();
    assert!(
        items.len() >= 10,
        "every red flag the issue lists has a question"
    );
    for item in &items {
        let t = run(Input {
            confirmed_red_flags: vec![item.id.clone()],
            ..Input::text("不太舒服")
        });
        assert_eq!(t.urgency, Urgency::Emergency, "{}", item.id);
        assert!(has_flag(&t, &item.id));
        assert_eq!(first(&t), "20");
    }
    let err = triage::triage(&Input {
        confirmed_red_flags: vec!["no_such_flag".to_owned()],
        ..Input::text("头疼")
    });
    assert!(matches!(err, Err(triage::Error::Input(e)) if e.field == "confirmed_red_flags"));
}

#[test]
fn arbitrary_text_never_panics() {
    // A fixed pseudo-random sequence (no dependency, same cases every run) over the kinds of
    // characters patients type: common and rare CJK, digits, both widths of punctuation, units,
    // emoji, combining marks, control characters and words the rules look for.
    let pieces = [
        "发烧",
        "不",
        "没有",
        "胸口",
        "疼",
        "39",
        "度",
        "。",
        "，",
        "、",
        "！",
        "？",
        "😷",
        "\u{301}",
        "\u{0}",
        "\n",
        " ",
        "3个月",
        "孕",
        "周",
        "血压",
        "/",
        "120",
        "一百二",
        "十几",
        "半",
        "𠀀",
        "ａｂｃ",
        "１２３",
        "℃",
        ".",
        "..",
        "5.5.5",
        "抽",
        "痒",
        "包",
        "楼",
        "摔",
        "宝宝",
        "还",
        "但是",
        "没",
        "也",
        "岁",
        "天",
        "小时",
        "从",
        "三",
    ];
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as usize
    };
    for _ in 0..3_000 {
        let len = next() % 40;
        let text: String = (0..len).map(|_| pieces[next() % pieces.len()]).collect();
        // Any answer or an input error is fine; a panic fails the test.
        let _ = triage::triage(&Input::text(&text));
    }
}

/// NICE NG143's traffic light for a febrile child under 5: a red feature is an emergency, an
/// amber one a same-day visit (docs/TRIAGE.md).
#[test]
fn a_febrile_young_child_follows_the_nice_traffic_light() {
    let child = |t: &str, years: u32, months: u32| {
        run(Input {
            age_years: Some(years),
            age_months: Some(months),
            ..Input::text(t)
        })
    };
    for complaint in [
        "孩子发烧两天，今天叫醒了又睡",
        "宝宝发烧，哭声很弱",
        "发烧39度，呼吸的时候一直哼哼",
        "发烧，吸气时胸口凹下去",
        "孩子发烧，皮肤发花",
        "宝宝发烧，囟门鼓起来了",
        "发烧，身上有按压不褪色的红点",
    ] {
        let t = child(complaint, 1, 0);
        assert!(
            has_flag(&t, "child_fever_red"),
            "{complaint}: {:?}",
            t.red_flags
        );
        assert_eq!(t.urgency, Urgency::Emergency, "{complaint}");
    }
    // Amber: seen today.
    for complaint in [
        "孩子发烧，精神差，不爱玩",
        "发烧，不吃奶，尿少",
        "孩子发烧，哭没有眼泪，嘴唇很干",
        "孩子发烧，鼻翼扇动",
        "发烧，打寒战",
        "发烧，不肯走路",
        "孩子反复发烧五天了",
    ] {
        let t = child(complaint, 4, 0);
        assert!(
            t.urgent_reasons.iter().any(|f| f.id == "child_fever_amber"),
            "{complaint}: {:?}",
            t.urgent_reasons
        );
        assert_eq!(t.urgency, Urgency::Urgent, "{complaint}");
    }
    // 3 to 6 months and 39 °C or more is amber; under 3 months any fever is red.
    let t = child("发烧39度", 0, 4);
    assert!(t.urgent_reasons.iter().any(|f| f.id == "child_fever_amber"));
    assert_eq!(child("发烧38度", 0, 2).urgency, Urgency::Emergency);
    // The table is for under 5s: an older child's 5 days of fever is not amber by it, and
    // the same red words without fever are not this flag.
    let t = child("孩子反复发烧五天了", 8, 0);
    assert!(!t.urgent_reasons.iter().any(|f| f.id == "child_fever_amber"));
    assert!(!has_flag(&child("皮肤发花", 1, 0), "child_fever_red"));
    // A child of unknown age may be under 5.
    assert!(has_flag(&text("孩子发烧，叫醒了又睡"), "child_fever_red"));
}

#[test]
fn a_stiff_neck_with_fever_and_critical_home_readings_are_emergencies() {
    for (complaint, flag) in [
        ("发烧39度，头痛，脖子发硬", "meningism"),
        ("血氧只有85，喘", "critical_vitals"),
        ("心跳180，心慌", "critical_vitals"),
        ("心率每分钟38次，头晕", "critical_vitals"),
        ("血压70/40，头晕出冷汗", "critical_vitals"),
    ] {
        let t = text(complaint);
        assert!(has_flag(&t, flag), "{complaint}: {:?}", t.red_flags);
        assert_eq!(t.urgency, Urgency::Emergency, "{complaint}");
    }
    // Normal readings are not.
    for complaint in ["血氧98，咳嗽", "心率75，有点心慌", "血压110/70，头晕"] {
        let t = text(complaint);
        assert!(!has_flag(&t, "critical_vitals"), "{complaint}");
    }
    // A child's fast heart rate is not read against an adult's limits.
    let t = run(Input {
        age_years: Some(1),
        ..Input::text("宝宝心跳150，发烧38度")
    });
    assert!(!has_flag(&t, "critical_vitals"));
}

/// The readings of the triage quality issue, end to end.
#[test]
fn a_parents_numbers_are_read_right() {
    let t = text("孩子发烧38.5度两天了，咳嗽");
    assert_eq!(t.temperature_c, Some(38.5));
    assert_eq!(t.duration_hours, Some(48.0));
    let t = text("发烧38.5度三天");
    assert_eq!(t.temperature_c, Some(38.5));
    assert_eq!(t.duration_hours, Some(72.0));
    let t = text("发烧39度5");
    assert_eq!(t.temperature_c, Some(39.5));
    // Two days of fever is not a two-day-old baby.
    let t = text("孩子三天前开始发烧");
    assert!(!has_flag(&t, "infant_fever"), "{:?}", t.red_flags);
}

/// The learned safety net: words like an emergency that no rule recognises ask the checklist
/// first; it never decides an emergency itself, and calm complaints are left alone.
#[test]
fn words_like_an_emergency_ask_the_checklist_first() {
    for complaint in [
        "我爸突然脸色很难看，整个人瘫在沙发上",
        "肚子疼得在地上打滚，冒冷汗",
        "手被机器卷进去了",
    ] {
        let t = text(complaint);
        assert_ne!(
            t.urgency,
            Urgency::Emergency,
            "{complaint}: the rules missed it"
        );
        assert!(t.possible_emergency, "{complaint}");
        assert_eq!(
            t.follow_up.first().map(|q| q.id.as_str()),
            Some("red_flags"),
            "{complaint}"
        );
        assert!(t.explanation.contains("危险信号"), "{complaint}");
    }
    for complaint in ["嗓子疼两天", "脸上长痘痘", "想做个体检", "月经推迟了一周"]
    {
        let t = text(complaint);
        assert!(!t.possible_emergency, "{complaint}");
    }
    // A recognised emergency needs no net.
    assert!(!text("胸口闷痛出冷汗半小时").possible_emergency);
}

/// Time: what happened once and is over is history, not an emergency now; what began days ago
/// and goes on, or came back, is now.
#[test]
fn past_events_are_history_unless_they_are_back() {
    for complaint in [
        "去年晕倒过一次，现在想查查",
        "以前有过胸痛出冷汗，现在好了，来复查",
        "小时候抽搐过，现在头疼",
        "三年前中风过，想做康复",
    ] {
        let t = text(complaint);
        assert_ne!(
            t.urgency,
            Urgency::Emergency,
            "{complaint}: {:?}",
            t.red_flags
        );
        assert!(t.findings.iter().any(|f| f.past), "{complaint}");
    }
    for complaint in [
        "三天前开始胸痛出冷汗",
        "以前就有胸痛，最近加重了，出冷汗",
        "抽搐过两次了，刚才又抽了",
        "我爸以前脑梗过，今天突然说话不清楚",
        "昨天晕倒了一次",
    ] {
        let t = text(complaint);
        assert_eq!(
            t.urgency,
            Urgency::Emergency,
            "{complaint}: {:?}",
            t.findings
        );
    }
}

/// Severity as a pattern: a pain whose consequence is distress of the whole body is severe,
/// however the consequence is phrased; a mild one or one that only limits a task is not.
#[test]
fn a_pain_that_makes_the_body_suffer_is_severe() {
    for complaint in ["肚子疼得在地上打滚", "腰疼得直冒冷汗", "胃痛得一直哭"]
    {
        let t = text(complaint);
        assert!(
            t.urgent_reasons.iter().any(|r| r.id == "severe_pain"),
            "{complaint}: {:?}",
            t.urgent_reasons
        );
    }
    for complaint in ["牙疼得不厉害", "膝盖疼得下不了楼", "头疼得还好"] {
        let t = text(complaint);
        assert!(
            !t.urgent_reasons.iter().any(|r| r.id == "severe_pain"),
            "{complaint}"
        );
    }
}
