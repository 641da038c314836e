//! Quantities in a complaint: temperature, how long, the patient's age, weeks of pregnancy,
//! blood pressure. Patients write them in Arabic or Chinese numerals ("39度5", "三十九度",
//! "两天", "半个月", "3个月大的宝宝", "孕8周", "血压180/110").

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
    /// A fall from this floor ("从三楼摔下来").
    pub fall_floor: Option<f32>,
}

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
        let rest = &chars[i + len..];
        let after = |s: &str| starts_with(rest, s);
        let mut used = len;

        if after("/") {
            // Blood pressure "180/110" (only after 血压 or with plausible values).
            if let Some((dia, dlen)) = number_at(rest, 1)
                && (60.0..=300.0).contains(&value)
                && (30.0..=200.0).contains(&dia)
            {
                let bp = q.blood_pressure.get_or_insert((0.0, 0.0));
                bp.0 = bp.0.max(value);
                bp.1 = bp.1.max(dia);
                used += 1 + dlen;
            }
        } else if let Some(ulen) = ["摄氏度", "度", "℃", "°c", "°"]
            .iter()
            .find(|u| after(u))
            .map(|u| u.chars().count())
        {
            // "39度5" and "三十八度五": the digit after 度 is a tenth.
            let mut t = value;
            if let Some((tenth, tlen)) = number_at(rest, ulen)
                && tenth < 10.0
                && tenth.fract() == 0.0
            {
                t += tenth / 10.0;
                used += tlen;
            }
            if (34.0..=43.0).contains(&t) {
                q.temperature_c = Some(q.temperature_c.map_or(t, |old: f32| old.max(t)));
            }
            used += ulen;
        } else if let Some((hours, ulen)) = duration_unit(rest) {
            // "一个半月": a half more of the unit.
            let half = if starts_with(rest, "个半") {
                0.5
            } else {
                0.0
            };
            let hours = (value + half) * hours;
            let age_context =
                after_unit_is_age(&rest[ulen..]) || AGE_BEFORE.iter().any(|w| before(w));
            if before("孕") || before("怀孕") || before("怀孕了") {
                q.pregnancy_weeks = Some(hours / (24.0 * 7.0));
            } else if age_context {
                q.age_months = Some(hours / (24.0 * 30.4));
            } else {
                q.duration_hours = Some(q.duration_hours.map_or(hours, |old: f32| old.max(hours)));
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
        } else if ["体温", "体温是", "体温有", "烧到"]
            .iter()
            .any(|w| before(w))
            && (34.0..=43.0).contains(&value)
        {
            // "体温38.2": a body temperature without its unit.
            q.temperature_c = Some(q.temperature_c.map_or(value, |old: f32| old.max(value)));
        } else if before("血压") || before("高压") || before("血压有") || before("血压到")
        {
            // "血压200": the systolic pressure alone.
            if (60.0..=300.0).contains(&value) {
                let bp = q.blood_pressure.get_or_insert((0.0, 0.0));
                bp.0 = bp.0.max(value);
            }
        } else if after("岁") {
            q.age_months = Some(value * 12.0);
            used += 1;
        }
        i += used.max(1);
    }
    // "半小时", "半天", "半个月", "半年": a half without a number before it.
    for (word, hours) in [
        ("半小时", 0.5),
        ("半个小时", 0.5),
        ("半个钟头", 0.5),
        ("半天", 12.0),
        ("半个月", 24.0 * 15.0),
        ("半年", 24.0 * 182.0),
    ] {
        if text.contains(word) && q.duration_hours.is_none() {
            q.duration_hours = Some(hours);
        }
    }
    q
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

/// A duration unit at the start of `rest`: (hours per unit, unit length in characters).
fn duration_unit(rest: &[char]) -> Option<(f32, usize)> {
    const UNITS: [(&str, f32); 18] = [
        ("个半月", 24.0 * 30.4),
        ("多个小时", 1.0),
        ("个多小时", 1.0),
        ("个小时", 1.0),
        ("小时", 1.0),
        ("个钟头", 1.0),
        ("分钟", 1.0 / 60.0),
        ("多天", 24.0),
        ("天", 24.0),
        ("日", 24.0),
        ("个星期", 24.0 * 7.0),
        ("星期", 24.0 * 7.0),
        ("个礼拜", 24.0 * 7.0),
        ("周", 24.0 * 7.0),
        ("个多月", 24.0 * 30.4),
        ("个月", 24.0 * 30.4),
        ("多年", 24.0 * 365.0),
        ("年", 24.0 * 365.0),
    ];
    UNITS
        .iter()
        .find(|(u, _)| starts_with(rest, u))
        .map(|(u, h)| (*h, u.chars().count()))
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
/// numbers (the caller only uses numbers followed by a unit).
fn chinese_number(chars: &[char], i: usize) -> Option<(f32, usize)> {
    let mut total = 0.0;
    let mut current: Option<f32> = None;
    let mut j = i;
    while let Some(&c) = chars.get(j) {
        if let Some(d) = digit(c) {
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
}
