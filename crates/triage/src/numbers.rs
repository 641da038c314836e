//! Quantities in a complaint: temperature, how long, the patient's age, weeks of pregnancy,
//! blood pressure, heart rate and oxygen saturation. Patients write them in Arabic or Chinese
//! numerals ("39度5", "三十九度", "两天", "一个多星期", "3个月大的宝宝", "孕8周",
//! "血压180/110", "血氧88") or as a time something began ("从昨晚开始").
//!
//! The text is read as a sequence of numbers, each with the unit that follows it. A number
//! belongs to the first unit that claims it: in "38.5度两天" the 两 is claimed by 天 (two days),
//! so it is not a tenth of a degree; in "39度5" nothing claims the 5, so it is 39.5 °C.

/// What the text says in numbers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Quantities {
    /// Highest body temperature mentioned, °C.
    pub temperature_c: Option<f32>,
    /// How long the problem has lasted, in hours (the longest duration mentioned).
    pub duration_hours: Option<f32>,
    /// The patient's age if the text gives it, in months.
    pub age_months: Option<f32>,
    /// Weeks of pregnancy ("孕8周", "怀孕12周").
    pub pregnancy_weeks: Option<f32>,
    /// Highest blood pressure mentioned, (systolic, diastolic) in mmHg.
    pub blood_pressure: Option<(f32, f32)>,
    /// Lowest systolic pressure mentioned ("血压70/40"), mmHg.
    pub lowest_systolic: Option<f32>,
    /// Heart rate or pulse furthest from normal ("心跳180", "心率38"), beats per minute.
    pub heart_rate: Option<f32>,
    /// Lowest oxygen saturation mentioned ("血氧88", "血氧饱和度85%"), percent.
    pub spo2: Option<f32>,
    /// A fall from this floor ("从三楼摔下来").
    pub fall_floor: Option<f32>,
}

impl Quantities {
    fn note_temperature(&mut self, t: f32) {
        if (34.0..=43.0).contains(&t) {
            self.temperature_c = Some(self.temperature_c.map_or(t, |old| old.max(t)));
        }
    }

    fn note_duration(&mut self, hours: f32) {
        self.duration_hours = Some(self.duration_hours.map_or(hours, |old| old.max(hours)));
    }

    fn note_blood_pressure(&mut self, systolic: f32, diastolic: Option<f32>) {
        let bp = self.blood_pressure.get_or_insert((0.0, 0.0));
        bp.0 = bp.0.max(systolic);
        if let Some(d) = diastolic {
            bp.1 = bp.1.max(d);
        }
        self.lowest_systolic = Some(
            self.lowest_systolic
                .map_or(systolic, |old| old.min(systolic)),
        );
    }

    fn note_heart_rate(&mut self, rate: f32) {
        // The one furthest from a resting 75 is the one that matters.
        let off = |r: f32| (r - 75.0).abs();
        if self.heart_rate.is_none_or(|old| off(rate) > off(old)) {
            self.heart_rate = Some(rate);
        }
    }
}

/// Temperature units, longest first.
const DEGREES: [&str; 5] = ["摄氏度", "度", "℃", "°c", "°"];

/// Reads the quantities in normalized text.
pub fn scan(text: &str) -> Quantities {
    let chars: Vec<char> = text.chars().collect();
    let mut q = Quantities::default();
    let mut i = 0;
    while i < chars.len() {
        let Some((value, len)) = number_at(&chars, i) else {
            i += 1;
            continue;
        };
        let before = |s: &str| ends_with(&chars[..i], s);
        let before_any = |words: &[&str]| words.iter().any(|w| before(w));
        let rest = &chars[i + len..];
        let after = |s: &str| starts_with(rest, s);
        let decimal = chars[i..i + len].contains(&'.');
        let mut used = len;

        if after("/") {
            // Blood pressure "180/110" (only with plausible values).
            if let Some((dia, dlen)) = number_at(rest, 1)
                && (40.0..=300.0).contains(&value)
                && (20.0..=200.0).contains(&dia)
            {
                q.note_blood_pressure(value, Some(dia));
                used += 1 + dlen;
            }
        } else if let Some(ulen) = DEGREES.iter().find(|u| after(u)).map(|u| u.chars().count()) {
            // "39度5" and "三十八度五": a digit after 度 is a tenth when the number has no
            // decimals of its own and no unit after the digit claims it ("39度5天" is 39 °C
            // for five days).
            let mut t = value;
            if !decimal && value.fract() == 0.0 {
                if let Some((tenth, tlen)) = tenth_at(rest, ulen) {
                    t += tenth / 10.0;
                    used += tlen;
                }
            }
            q.note_temperature(t);
            used += ulen;
        } else if let Some((hours, ulen)) = duration_unit(rest) {
            // "一个半月": a half more of the unit.
            let half = if starts_with(rest, "个半") {
                0.5
            } else {
                0.0
            };
            let hours = (value + half) * hours;
            let age_context = after_unit_is_age(&rest[ulen..]) || before_any(&AGE_BEFORE);
            if before_any(&["孕", "怀孕", "怀孕了"]) {
                q.pregnancy_weeks = Some(hours / (24.0 * 7.0));
            } else if age_context && !after_unit_is_duration(&rest[ulen..]) {
                q.age_months = Some(hours / (24.0 * 30.4));
            } else {
                q.note_duration(hours);
            }
            used += ulen;
        } else if after("楼")
            && rest
                .iter()
                .skip(1)
                .take(4)
                .any(|c| matches!(c, '摔' | '掉' | '跳' | '坠'))
        {
            q.fall_floor = Some(q.fall_floor.map_or(value, |old: f32| old.max(value)));
            used += 1;
        } else if before_any(&["体温", "体温是", "体温有", "烧到", "最高", "量了"])
            && (34.0..=43.0).contains(&value)
        {
            // "体温38.2": a body temperature without its unit.
            q.note_temperature(value);
        } else if before_any(&["血压", "高压", "血压有", "血压到", "血压只有", "血压才"])
        {
            // "血压200": the systolic pressure alone.
            if (40.0..=300.0).contains(&value) {
                q.note_blood_pressure(value, None);
            }
        } else if before_any(&HEART_RATE_BEFORE) && (20.0..=300.0).contains(&value) {
            q.note_heart_rate(value);
            used += ["次", "下"].iter().find(|u| after(u)).map_or(0, |_| 1);
        } else if before_any(&SPO2_BEFORE) && (50.0..=100.0).contains(&value) {
            q.spo2 = Some(q.spo2.map_or(value, |old: f32| old.min(value)));
        } else if after("岁") {
            q.age_months = Some(value * 12.0);
            used += 1;
        }
        i += used.max(1);
    }
    // "半小时", "半天", "半个月", "半年": a half without a number before it.
    for (word, hours) in HALVES {
        if text.contains(word) && q.duration_hours.is_none() {
            q.duration_hours = Some(hours);
        }
    }
    if let Some(hours) = since(text) {
        q.note_duration(hours);
    }
    q
}

const HALVES: [(&str, f32); 8] = [
    ("半小时", 0.5),
    ("半个小时", 0.5),
    ("半个钟头", 0.5),
    ("半天", 12.0),
    ("半个多月", 24.0 * 15.0),
    ("半个月", 24.0 * 15.0),
    ("半月", 24.0 * 15.0),
    ("半年", 24.0 * 182.0),
];

/// Words before a heart rate ("心跳180", "心率每分钟40", "脉搏120").
const HEART_RATE_BEFORE: [&str; 8] = [
    "心跳",
    "心率",
    "脉搏",
    "心跳有",
    "心率有",
    "心跳每分钟",
    "心率每分钟",
    "脉搏每分钟",
];

/// Words before an oxygen saturation ("血氧88", "血氧饱和度85").
const SPO2_BEFORE: [&str; 6] = [
    "血氧",
    "血氧饱和度",
    "氧饱和度",
    "血氧只有",
    "血氧掉到",
    "spo2",
];

/// A tenth of a degree after "度" at `rest[from..]`: one Arabic or Chinese digit (not 两 or 几,
/// which never mean a tenth) that no following unit claims.
fn tenth_at(rest: &[char], from: usize) -> Option<(f32, usize)> {
    let c = *rest.get(from)?;
    let value = if c.is_ascii_digit() {
        c.to_digit(10)? as f32
    } else if matches!(c, '两' | '几') {
        return None;
    } else {
        digit(c)?
    };
    let next = &rest[from + 1..];
    // A digit of the same script goes on the number ("39度50", "三十九度五十"); one of the
    // other script starts a new one ("三十六度一10天").
    let continues = |n: &char| {
        if c.is_ascii_digit() {
            n.is_ascii_digit() || *n == '.'
        } else {
            // Nobody writes 一十 for ten: "三十六度一十天" is 36.1 °C for ten days.
            matches!(n, '十' | '百') && c != '一'
        }
    };
    let claimed = next.first().is_some_and(continues)
        || duration_unit(next).is_some()
        || CLAIMING_UNITS.iter().any(|u| starts_with(next, u));
    (!claimed).then_some((value, 1))
}

/// Units and counters that claim the number before them, so it is no tenth of a degree.
const CLAIMING_UNITS: [&str; 20] = [
    "岁", "次", "回", "个", "度", "楼", "点", "号", "斤", "公斤", "片", "粒", "颗", "袋", "毫",
    "ml", "mg", "多", "来", "顿",
];

/// Words that say when a problem began, and how many hours ago that is. They count as a
/// duration only when the text says something began then ("从昨晚开始", "昨天起", "前天就"),
/// or when they name a span themselves ("这两天").
const SINCE: [(&str, f32); 23] = [
    ("昨天晚上", 12.0),
    ("昨天夜里", 12.0),
    ("昨天半夜", 10.0),
    ("昨晚", 12.0),
    ("昨夜", 12.0),
    ("昨天下午", 18.0),
    ("昨天上午", 24.0),
    ("昨天早上", 24.0),
    ("昨天", 24.0),
    ("昨日", 24.0),
    ("大前天", 72.0),
    ("前天", 48.0),
    ("今天早上", 6.0),
    ("今早", 6.0),
    ("今天上午", 6.0),
    ("早上起来", 6.0),
    ("刚才", 0.5),
    ("上周", 24.0 * 7.0),
    ("上个星期", 24.0 * 7.0),
    ("上星期", 24.0 * 7.0),
    ("上个月", 24.0 * 30.4),
    ("上月", 24.0 * 30.4),
    ("去年", 24.0 * 365.0),
];

/// Words that are a span by themselves.
const SPANS: [(&str, f32); 6] = [
    ("这两天", 48.0),
    ("这几天", 72.0),
    ("最近几天", 72.0),
    ("近几天", 72.0),
    ("这些天", 72.0),
    ("一整天", 24.0),
];

/// After a "since" word: it says something began then.
const BEGAN: [&str; 7] = ["开始", "起", "以来", "到现在", "至今", "就", "一直"];

/// The longest span given by when something began ("从昨晚开始" → 12 h) or by a span word.
fn since(text: &str) -> Option<f32> {
    let mut longest: Option<f32> = None;
    let mut note = |h: f32| longest = Some(longest.map_or(h, |old: f32| old.max(h)));
    for (word, hours) in SPANS {
        if text.contains(word) {
            note(hours);
        }
    }
    let mut claimed = vec![false; text.len()];
    for (word, hours) in SINCE {
        for (at, _) in text.match_indices(word) {
            // The longer word ("昨天晚上") was read before the shorter one ("昨天").
            if claimed[at..at + word.len()].iter().any(|c| *c) {
                continue;
            }
            claimed[at..at + word.len()]
                .iter_mut()
                .for_each(|c| *c = true);
            let from = text[..at].ends_with('从') || text[..at].ends_with('自');
            let began = {
                let tail = &text[at + word.len()..];
                // "昨晚11点开始", "昨天下午三点多就": a clock time may stand between.
                let skip = tail
                    .char_indices()
                    .take(6)
                    .find(|(_, c)| {
                        !(c.is_ascii_digit() || "点半多钟一二三四五六七八九十两".contains(*c))
                    })
                    .map_or(tail.len(), |(i, _)| i);
                BEGAN.iter().any(|b| tail[skip..].starts_with(b))
            };
            if from || began {
                note(hours);
            }
        }
    }
    longest
}
/// How many days ago the text says something happened ("三天前", "两周前回来的", "上个月",
/// "去年"): the longest such span, or `None` when the text gives no past time. Screening uses
/// it to tell travel within the incubation window from travel long ago.
pub fn days_ago(text: &str) -> Option<f32> {
    let chars: Vec<char> = text.chars().collect();
    let mut longest: Option<f32> = None;
    let mut note = |days: f32| longest = Some(longest.map_or(days, |d: f32| d.max(days)));
    let mut i = 0;
    while i < chars.len() {
        let Some((value, len)) = number_at(&chars, i) else {
            i += 1;
            continue;
        };
        let rest = &chars[i + len..];
        if let Some((hours, ulen)) = duration_unit(rest) {
            let half = if starts_with(rest, "个半") {
                0.5
            } else {
                0.0
            };
            let after = &rest[ulen..];
            // "三天前", "两周以前", "一个月之前"; "半个多月前" and "十几天前" too.
            let ago = ["前", "以前", "之前", "左右前"]
                .iter()
                .any(|w| starts_with(after, w));
            if ago {
                note((value + half) * hours / 24.0);
            }
            i += len + ulen;
            continue;
        }
        i += len.max(1);
    }
    for (word, days) in [
        ("半个月前", 15.0),
        ("半月前", 15.0),
        ("半年前", 182.0),
        ("上周", 7.0),
        ("上个星期", 7.0),
        ("上星期", 7.0),
        ("上个礼拜", 7.0),
        ("上礼拜", 7.0),
        ("上个月", 30.0),
        ("上月", 30.0),
        ("去年", 365.0),
        ("前年", 730.0),
        ("前天", 2.0),
        ("昨天", 1.0),
    ] {
        if text.contains(word) {
            note(days);
        }
    }
    longest
}

/// Words before "3个月" or "10天" that make it an age ("宝宝一个半月", "出生10天").
const AGE_BEFORE: [&str; 10] = [
    "出生",
    "出生后",
    "生下来",
    "宝宝",
    "宝宝才",
    "孩子",
    "孩子才",
    "婴儿",
    "儿子",
    "女儿",
];

/// After "3个月" or "10天": 大 / 的宝宝 make it an age, not a duration.
fn after_unit_is_age(rest: &[char]) -> bool {
    ["大", "的宝宝", "的孩子", "的婴儿", "的小孩", "宝宝"]
        .iter()
        .any(|s| starts_with(rest, s))
}

/// After "孩子两天": words that make it how long something has gone on, not the child's age
/// ("孩子两天没大便", "宝宝三天前开始发烧").
fn after_unit_is_duration(rest: &[char]) -> bool {
    [
        "没", "不", "一直", "以来", "反复", "老是", "总是", "前", "以前", "之前",
    ]
    .iter()
    .any(|s| starts_with(rest, s))
}

/// A duration unit at the start of `rest`: (hours per unit, unit length in characters).
/// Longer units come first so "个多小时" is not read as "个" + something else.
fn duration_unit(rest: &[char]) -> Option<(f32, usize)> {
    const DAY: f32 = 24.0;
    const WEEK: f32 = 24.0 * 7.0;
    const MONTH: f32 = 24.0 * 30.4;
    const YEAR: f32 = 24.0 * 365.0;
    const UNITS: [(&str, f32); 37] = [
        ("个半月", MONTH),
        ("个半小时", 1.0),
        ("个半钟头", 1.0),
        ("多个小时", 1.0),
        ("个多小时", 1.0),
        ("个多钟头", 1.0),
        ("个小时", 1.0),
        ("多小时", 1.0),
        ("小时", 1.0),
        ("个钟头", 1.0),
        ("个钟", 1.0),
        ("多分钟", 1.0 / 60.0),
        ("分钟", 1.0 / 60.0),
        ("多天", DAY),
        ("来天", DAY),
        ("整天", DAY),
        ("天", DAY),
        ("日", DAY),
        ("晚上", 12.0),
        ("个晚上", 12.0),
        ("宿", 12.0),
        ("夜", 12.0),
        ("个多星期", WEEK),
        ("个多礼拜", WEEK),
        ("个星期", WEEK),
        ("多星期", WEEK),
        ("星期", WEEK),
        ("个礼拜", WEEK),
        ("礼拜", WEEK),
        ("多周", WEEK),
        ("周", WEEK),
        ("个多月", MONTH),
        ("个月", MONTH),
        ("多月", MONTH),
        ("多年", YEAR),
        ("来年", YEAR),
        ("年", YEAR),
    ];
    // "3d", "12h", "2wk", "30min", "3days": units written the short way; a letter must not
    // follow ("3dm" is not three days).
    const LATIN: [(&str, f32); 12] = [
        ("days", DAY),
        ("day", DAY),
        ("d", DAY),
        ("hours", 1.0),
        ("hrs", 1.0),
        ("hr", 1.0),
        ("h", 1.0),
        ("weeks", WEEK),
        ("wk", WEEK),
        ("w", WEEK),
        ("mins", 1.0 / 60.0),
        ("min", 1.0 / 60.0),
    ];
    if let Some((u, h)) = UNITS.iter().find(|(u, _)| starts_with(rest, u)) {
        return Some((*h, u.chars().count()));
    }
    LATIN.iter().find_map(|(u, h)| {
        let n = u.chars().count();
        (starts_with(rest, u) && !rest.get(n).is_some_and(char::is_ascii_alphabetic))
            .then_some((*h, n))
    })
}

/// A number at `chars[i..]` in Arabic digits (with one decimal point) or Chinese numerals up
/// to 999 (两, 几 = 3, 十几 = 15): (value, length in characters).
fn number_at(chars: &[char], i: usize) -> Option<(f32, usize)> {
    let first = *chars.get(i)?;
    if first.is_ascii_digit() {
        let mut end = i;
        let mut seen_point = false;
        while let Some(&c) = chars.get(end) {
            if c.is_ascii_digit() {
                end += 1;
            } else if c == '.'
                && !seen_point
                && chars.get(end + 1).is_some_and(char::is_ascii_digit)
            {
                seen_point = true;
                end += 1;
            } else {
                break;
            }
        }
        if end - i > 6 {
            return None;
        }
        let s: String = chars[i..end].iter().collect();
        return s.parse::<f32>().ok().map(|v| (v, end - i));
    }
    chinese_number(chars, i)
}

fn digit(c: char) -> Option<f32> {
    Some(match c {
        '零' => 0.0,
        '一' => 1.0,
        '二' | '两' => 2.0,
        '三' => 3.0,
        '四' => 4.0,
        '五' => 5.0,
        '六' => 6.0,
        '七' => 7.0,
        '八' => 8.0,
        '九' => 9.0,
        '几' => 3.0,
        _ => return None,
    })
}

/// Chinese numerals: 三, 十, 十五, 三十九, 一百二, 两, 几, 十几; "一会儿" and the like are not
/// numbers (the caller only uses numbers followed by a unit). Two digits in a row are a range
/// ("两三天", "七八个小时") read as its upper end; any other digit ends the number ("度五两天":
/// 五, then 两天).
fn chinese_number(chars: &[char], i: usize) -> Option<(f32, usize)> {
    let mut total = 0.0;
    let mut current: Option<f32> = None;
    let mut j = i;
    while let Some(&c) = chars.get(j) {
        if let Some(d) = digit(c) {
            let previous_is_digit = j > i && digit(chars[j - 1]).is_some();
            if previous_is_digit && current.is_none_or(|p| d != p + 1.0) {
                break;
            }
            current = Some(d);
        } else if c == '十' {
            total += current.unwrap_or(1.0) * 10.0;
            current = None;
        } else if c == '百' {
            total += current.unwrap_or(1.0) * 100.0;
            current = None;
        } else {
            break;
        }
        j += 1;
    }
    if j == i {
        return None;
    }
    // "一百二" is 120: a lone digit after 百 counts tens.
    let last_unit_hundred = j >= 2 && chars.get(j - 2) == Some(&'百');
    let tail = current.unwrap_or(0.0);
    total += if last_unit_hundred { tail * 10.0 } else { tail };
    Some((total, j - i))
}

fn starts_with(chars: &[char], s: &str) -> bool {
    let mut it = chars.iter();
    s.chars().all(|c| it.next() == Some(&c))
}

fn ends_with(chars: &[char], s: &str) -> bool {
    let n = s.chars().count();
    chars.len() >= n && chars[chars.len() - n..].iter().copied().eq(s.chars())
}

#[cfg(test)]
mod tests {
    use super::scan;

    fn approx(a: Option<f32>, b: f32) -> bool {
        a.is_some_and(|a| (a - b).abs() < 0.05)
    }

    #[test]
    fn temperatures() {
        assert!(approx(scan("发烧39度").temperature_c, 39.0));
        assert!(approx(scan("体温38.5℃").temperature_c, 38.5));
        assert!(approx(scan("烧到三十九度五").temperature_c, 39.5));
        assert!(approx(scan("39度5").temperature_c, 39.5));
        assert!(approx(scan("最高40度，现在38度").temperature_c, 40.0));
        // Not a body temperature.
        assert_eq!(scan("今天气温10度").temperature_c, None);
    }

    #[test]
    fn durations() {
        assert!(approx(scan("发烧两天了").duration_hours, 48.0));
        assert!(approx(scan("出冷汗半小时").duration_hours, 0.5));
        assert!(approx(scan("咳嗽3个月").duration_hours, 3.0 * 24.0 * 30.4));
        assert!(approx(scan("头疼十几天").duration_hours, 13.0 * 24.0));
        assert!(approx(scan("一周").duration_hours, 168.0));
        assert_eq!(scan("头疼").duration_hours, None);
    }

    #[test]
    fn a_number_claimed_by_a_unit_is_no_tenth_of_a_degree() {
        // The readings of the triage issue: the days are days, the temperature stays.
        let q = scan("孩子发烧38.5度两天了，咳嗽");
        assert!(approx(q.temperature_c, 38.5), "{q:?}");
        assert!(approx(q.duration_hours, 48.0), "{q:?}");
        let q = scan("发烧38.5度三天");
        assert!(approx(q.temperature_c, 38.5), "{q:?}");
        assert!(approx(q.duration_hours, 72.0), "{q:?}");
        assert!(approx(scan("发烧38.5度").temperature_c, 38.5));
        let q = scan("39度5天");
        assert!(approx(q.temperature_c, 39.0), "{q:?}");
        assert!(approx(q.duration_hours, 120.0), "{q:?}");
        let q = scan("烧到39度5个小时了");
        assert!(approx(q.temperature_c, 39.0), "{q:?}");
        assert!(approx(q.duration_hours, 5.0), "{q:?}");
        let q = scan("三十八度五两天");
        assert!(approx(q.temperature_c, 38.5), "{q:?}");
        assert!(approx(q.duration_hours, 48.0), "{q:?}");
        // 两 never means a tenth.
        let q = scan("39度两天");
        assert!(approx(q.temperature_c, 39.0), "{q:?}");
        assert!(approx(q.duration_hours, 48.0), "{q:?}");
        assert!(approx(scan("39度5，两天了").temperature_c, 39.5));
    }

    #[test]
    fn durations_in_every_common_form() {
        for (text, hours) in [
            ("两天", 48.0),
            ("三天了", 72.0),
            ("一个多星期", 168.0),
            ("一个多礼拜", 168.0),
            ("半个月", 360.0),
            ("半个多月", 360.0),
            ("从昨晚开始", 12.0),
            ("昨天晚上开始拉肚子", 12.0),
            ("昨晚11点开始发烧", 12.0),
            ("前天就有点咳嗽", 48.0),
            ("从上周开始", 168.0),
            ("这两天老是头晕", 48.0),
            ("3d", 24.0 * 3.0),
            ("发烧12h", 12.0),
            ("咳嗽2wk", 24.0 * 14.0),
            ("两三天", 72.0),
            ("一两个小时", 2.0),
            ("十来天", 240.0),
            ("七八个小时", 8.0),
            ("一整天", 24.0),
            ("两个半小时", 2.5),
        ] {
            let got = scan(text).duration_hours;
            assert!(approx(got, hours), "{text}: {got:?}, expected {hours}");
        }
        // A time that is not when something began is no duration.
        assert_eq!(scan("昨天挂了号").duration_hours, None);
        assert_eq!(scan("3dm").duration_hours, None);
    }

    #[test]
    fn a_childs_days_are_an_age_only_when_nothing_says_otherwise() {
        assert!(approx(scan("宝宝10天，黄疸").age_months, 10.0 / 30.4));
        let q = scan("孩子两天没大便");
        assert_eq!(q.age_months, None, "{q:?}");
        assert!(approx(q.duration_hours, 48.0));
        let q = scan("孩子三天前开始发烧");
        assert_eq!(q.age_months, None, "{q:?}");
        assert!(approx(q.duration_hours, 72.0));
    }

    #[test]
    fn vital_signs() {
        assert_eq!(scan("心跳180").heart_rate, Some(180.0));
        assert_eq!(scan("心率每分钟38次").heart_rate, Some(38.0));
        assert_eq!(scan("心率90，后来心跳160").heart_rate, Some(160.0));
        assert_eq!(scan("血氧88").spo2, Some(88.0));
        assert_eq!(scan("血氧饱和度95，后来血氧85").spo2, Some(85.0));
        assert_eq!(scan("血压70/40").lowest_systolic, Some(70.0));
        assert_eq!(scan("血压只有75").lowest_systolic, Some(75.0));
        assert_eq!(scan("心跳").heart_rate, None);
    }

    #[test]
    fn days_ago() {
        assert!(approx(super::days_ago("三天前从武汉回来"), 3.0));
        assert!(approx(super::days_ago("两个月前去过武汉"), 2.0 * 30.4));
        assert!(approx(super::days_ago("一周以前去的"), 7.0));
        assert!(approx(super::days_ago("半个月前出差"), 15.0));
        assert!(approx(super::days_ago("去年去过武汉"), 365.0));
        assert!(approx(super::days_ago("上个月回来的"), 30.0));
        // A duration is not a time ago.
        assert_eq!(super::days_ago("发烧两天了"), None);
        assert_eq!(super::days_ago("刚从武汉回来"), None);
    }

    #[test]
    fn ages_and_pregnancy() {
        assert!(approx(
            scan("2个月大的宝宝发烧").age_months,
            2.0 * 24.0 * 30.4 / 24.0 / 30.4
        ));
        assert!(approx(scan("孩子5岁").age_months, 60.0));
        assert!(approx(scan("出生10天").age_months, 10.0 / 30.4));
        assert!(approx(scan("怀孕8周").pregnancy_weeks, 8.0));
        assert!(approx(scan("孕12周").pregnancy_weeks, 12.0));
        assert!(approx(scan("宝宝一个半月，体温38.2").age_months, 1.5));
        assert!(approx(scan("宝宝一个半月，体温38.2").temperature_c, 38.2));
        assert!(approx(scan("从三楼摔下来了").fall_floor, 3.0));
        assert_eq!(scan("孕12周").duration_hours, None);
    }

    #[test]
    fn blood_pressure() {
        assert_eq!(scan("血压180/110").blood_pressure, Some((180.0, 110.0)));
        assert_eq!(scan("1/2").blood_pressure, None);
    }

    mod properties {
        //! Generated complaints: a temperature and a duration written every common way, in
        //! either order, with filler words between; both values must be read back.
        use proptest::prelude::*;

        use super::super::scan;

        const CHINESE_DIGITS: [&str; 10] =
            ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];

        fn chinese(n: u32) -> String {
            // 35..=42 and durations 1..=99 are all this needs.
            match (n / 10, n % 10) {
                (0, d) => CHINESE_DIGITS[d as usize].to_owned(),
                (1, 0) => "十".to_owned(),
                (1, d) => format!("十{}", CHINESE_DIGITS[d as usize]),
                (t, 0) => format!("{}十", CHINESE_DIGITS[t as usize]),
                (t, d) => format!(
                    "{}十{}",
                    CHINESE_DIGITS[t as usize], CHINESE_DIGITS[d as usize]
                ),
            }
        }

        /// (text, °C): whole degrees 36..=41 and a tenth, written six ways.
        fn temperature() -> impl Strategy<Value = (String, f32)> {
            (36u32..=41, 0u32..=9, 0usize..6).prop_map(|(whole, tenth, form)| {
                let t = whole as f32 + tenth as f32 / 10.0;
                let text = match form {
                    0 => format!("{whole}.{tenth}度"),
                    1 => format!("{whole}度{tenth}"),
                    2 => format!("{whole}.{tenth}℃"),
                    3 => format!("体温{whole}.{tenth}"),
                    4 if tenth > 0 => {
                        format!("{}度{}", chinese(whole), CHINESE_DIGITS[tenth as usize])
                    }
                    _ => format!("{whole}.{tenth}摄氏度"),
                };
                (text, t)
            })
        }

        /// (text, hours): a count and a unit written the ways patients write them.
        fn duration() -> impl Strategy<Value = (String, f32)> {
            (1u32..=30, 0usize..10).prop_map(|(n, form)| {
                let c = if n == 2 { "两".to_owned() } else { chinese(n) };
                let (text, hours) = match form {
                    0 => (format!("{n}天"), n as f32 * 24.0),
                    1 => (format!("{c}天了"), n as f32 * 24.0),
                    2 => (format!("{c}个小时"), n as f32),
                    3 => (format!("{n}小时"), n as f32),
                    4 => (format!("{c}个星期"), n as f32 * 168.0),
                    5 => (format!("{c}周"), n as f32 * 168.0),
                    6 => (format!("{c}个多月"), n as f32 * 24.0 * 30.4),
                    7 => (format!("{n}d"), n as f32 * 24.0),
                    8 => (format!("{c}个礼拜"), n as f32 * 168.0),
                    _ => (format!("{n}h"), n as f32),
                };
                (text, hours)
            })
        }

        fn filler() -> impl Strategy<Value = &'static str> {
            prop::sample::select(vec![
                "",
                "，",
                "了，",
                "，咳嗽，",
                "，一直",
                "左右，",
                "，吃了退烧药，",
                "，还",
            ])
        }

        proptest! {
            #[test]
            fn temperature_and_duration_are_both_read(
                (t_text, t) in temperature(),
                (d_text, hours) in duration(),
                lead in prop::sample::select(vec!["", "孩子发烧", "发烧", "我老公烧到", "宝宝发热"]),
                between in filler(),
                tail in filler(),
                duration_first in any::<bool>(),
            ) {
                let (a, b) = if duration_first { (&d_text, &t_text) } else { (&t_text, &d_text) };
                // Two Arabic numbers side by side ("36.1" "1d") are one number to anyone;
                // people put something between them.
                // So are "三十八度二" and "十天": 三十八度二十天 reads as 38 °C for twenty days.
                let digits_meet = (a.ends_with(|c: char| c.is_ascii_digit())
                    && b.starts_with(|c: char| c.is_ascii_digit()))
                    || (a.ends_with(|c: char| "二三四五六七八九".contains(c))
                        && b.starts_with('十'));
                let between = if digits_meet && between.is_empty() { "，" } else { between };
                let text = format!("{lead}{a}{between}{b}{tail}");
                let q = scan(&crate::normalize(&text));
                let got_t = q.temperature_c.unwrap_or(f32::NAN);
                prop_assert!((got_t - t).abs() < 0.05, "{}: temperature {:?}, expected {}", text, q.temperature_c, t);
                let got_h = q.duration_hours.unwrap_or(f32::NAN);
                prop_assert!((got_h - hours).abs() < 0.05 * hours.max(1.0), "{}: duration {:?}, expected {}", text, q.duration_hours, hours);
            }
        }
    }
}
