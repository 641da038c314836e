//! What a patient group (病友会) is: members with their roles and steps, the messages they
//! post, and the checks on what they write — nicknames that name nobody, and the
//! sensitive-word screen every message passes before anyone else sees it.

use crate::error::{AppError, AppResult, FieldError};

crate::text_enum! {
    /// A member's part in a group.
    pub enum MemberRole {
        /// Leads the group (a doctor or nurse of the hospital): moderates and schedules.
        Host = "host",
        /// Moderates: approves members, mutes, removes, releases or hides held messages.
        Moderator = "moderator",
        Member = "member",
    }
}

crate::text_enum! {
    /// Where a membership stands.
    pub enum MemberStatus {
        /// A moderator invited the patient; they have not accepted yet.
        Invited = "invited",
        /// The patient asked to join; a moderator has not decided yet.
        Requested = "requested",
        Active = "active",
        /// A moderator declined the request.
        Declined = "declined",
        Left = "left",
        /// A moderator removed them: they no longer read the group.
        Removed = "removed",
    }
}

crate::text_enum! {
    pub enum MessageKind {
        Text = "text",
        /// A moderator's announcement, pinned above the conversation until unpinned.
        Announcement = "announcement",
        /// A question with options members vote on (the body is JSON, see [`Poll`]).
        Poll = "poll",
    }
}

crate::text_enum! {
    /// Whether the group sees a message.
    pub enum MessageStatus {
        Shown = "shown",
        /// Stopped by the screen: only its sender and the moderators see it until a moderator
        /// releases or hides it.
        Held = "held",
        /// Hidden by a moderator (after a report or from the hold).
        Hidden = "hidden",
    }
}

crate::text_enum! {
    /// What the screen or a reporting member found in a message.
    pub enum Category {
        /// A phone number, WeChat or QQ id, e-mail or link: members meet in the group, not
        /// outside it, where nobody protects them.
        Contact = "contact",
        Advertising = "advertising",
        /// Selling or passing on medicine outside a pharmacy.
        DrugSales = "drug_sales",
        /// Words of self-harm or suicide: the writer is shown crisis resources at once and the
        /// moderators are alerted urgently.
        SelfHarm = "self_harm",
        /// Reported by a member for another reason (rudeness, false medical advice).
        Other = "other",
    }
}

crate::text_enum! {
    /// A moderator's decision on a message.
    pub enum Moderation {
        /// A held message is shown after all.
        Release = "release",
        Hide = "hide",
        /// Reports on a shown message are closed without hiding it.
        Dismiss = "dismiss",
        Pin = "pin",
        Unpin = "unpin",
    }
}

crate::text_enum! {
    /// A moderator's decision on a member.
    pub enum MemberAction {
        /// Lets a requesting patient in.
        Approve = "approve",
        Decline = "decline",
        /// Stops them posting for some hours; they still read.
        Mute = "mute",
        Unmute = "unmute",
        Remove = "remove",
    }
}

/// Words that mark a category, checked in this order (self-harm first: a message that also
/// holds a number is a crisis before it is a contact). Lower-case; the text is lowered and
/// stripped of spaces first, so "微 信" and "V X" are caught.
const WORDS: &[(Category, &[&str])] = &[
    (
        Category::SelfHarm,
        &[
            "自杀",
            "轻生",
            "不想活",
            "活不下去",
            "想死",
            "寻死",
            "结束生命",
            "割腕",
            "跳楼",
            "suicide",
            "killmyself",
        ],
    ),
    (
        Category::DrugSales,
        &[
            "卖药",
            "出售",
            "转让",
            "代购",
            "代开",
            "低价药",
            "药便宜",
            "包邮",
            "货到付款",
            "祖传秘方",
            "特效药",
        ],
    ),
    (
        Category::Advertising,
        &[
            "加盟",
            "代理",
            "优惠券",
            "扫码",
            "推广",
            "返利",
            "返现",
            "兼职",
            "免费领",
            "加群",
        ],
    ),
    (
        Category::Contact,
        &[
            "微信", "weixin", "vx", "v信", "wx:", "wx：", "加我", "私聊", "qq", "http", "www.",
            ".com", "@",
        ],
    ),
];

/// The categories the screen finds by words, in the order it checks them (a hospital adds
/// its own words to these; `other` comes only from a member's report).
pub fn screened_categories() -> impl Iterator<Item = Category> {
    WORDS.iter().map(|(category, _)| *category)
}

/// The longest run of digits a message may hold, spaces and dashes ignored: blood pressures
/// (140/90), doses and dates (2026-12-06 is eight) pass; a mobile number (11 digits) or a
/// landline with its area code does not. Shorter QQ numbers are caught by their word.
const MAX_DIGIT_RUN: usize = 8;

/// What a message holds that must not reach the group unseen, if anything.
pub fn screen(text: &str) -> Option<Category> {
    screen_with(text, &[])
}

/// [`screen`] with a hospital's own words besides the built-in ones (its moderators know the
/// local names of drugs sold on the side and the advertising their groups meet).
pub fn screen_with(text: &str, own: &[Word]) -> Option<Category> {
    let folded: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '_' | '.' | '·'))
        .map(fold)
        .collect();
    // Kept with its dots for links and e-mail addresses.
    let dotted: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(fold)
        .collect();
    let found = |w: &str| folded.contains(w) || dotted.contains(w);
    // The categories in their order, each by its built-in words and the hospital's own.
    for (category, words) in WORDS {
        if words.iter().any(|w| found(w))
            || own
                .iter()
                .any(|w| w.category == *category && found(&w.word))
        {
            return Some(*category);
        }
    }
    let mut run = 0;
    for c in folded.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run > MAX_DIGIT_RUN {
            return Some(Category::Contact);
        }
    }
    None
}

/// Lower case, full-width letters and digits as ASCII (people type "１３８" to slip past).
fn fold(c: char) -> char {
    let c = match c {
        '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
        _ => c,
    };
    c.to_ascii_lowercase()
}

/// One of a hospital's own screened words, in the form the screen compares (see [`fold_word`]).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
    sqlx::FromRow,
)]
pub struct Word {
    /// `contact`, `advertising`, `drug_sales` or `self_harm`.
    #[schema(value_type = String)]
    pub category: Category,
    pub word: String,
}

/// How many words a hospital may add.
pub const MAX_WORDS: usize = 300;

/// A word as the screen compares it: lower case, full-width as ASCII, no spaces.
pub fn fold_word(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .map(fold)
        .collect()
}

/// Checks a hospital's list of words (`(category, word)` as typed): each of the screen's four
/// categories (not `other`, which only a member's report gives), each word 2 to 20 characters
/// once folded (one character would stop ordinary talk), at most [`MAX_WORDS`]. Repeats are
/// kept once, the first category winning.
pub fn own_words(input: &[(String, String)]) -> Result<Vec<Word>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut words: Vec<Word> = Vec::new();
    if input.len() > MAX_WORDS {
        errors.push(
            FieldError::new("words", format!("at most {MAX_WORDS} words"))
                .localized("group.words_max", vec![("max", MAX_WORDS.to_string())]),
        );
    }
    for (i, (category, word)) in input.iter().enumerate() {
        let category = match Category::parse(category.trim()) {
            Some(c) if screened_categories().any(|s| s == c) => Some(c),
            _ => {
                let allowed = screened_categories()
                    .map(Category::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                errors.push(
                    FieldError::new(
                        format!("words[{i}].category"),
                        format!("must be one of {allowed}, got '{category}'"),
                    )
                    .localized("field.choice", vec![("allowed", allowed)]),
                );
                None
            }
        };
        let folded = fold_word(word);
        let field = format!("words[{i}].word");
        if !(2..=20).contains(&folded.chars().count()) {
            errors.push(FieldError::length(field, 2, 20));
            continue;
        }
        if let Err(e) = crate::text::check(&field, &folded, 20) {
            errors.push(e);
            continue;
        }
        if let Some(category) = category {
            if !words.iter().any(|w| w.word == folded) {
                words.push(Word {
                    category,
                    word: folded,
                });
            }
        }
    }
    if errors.is_empty() {
        Ok(words)
    } else {
        Err(errors)
    }
}

/// Where to turn in a crisis, shown to a member whose message spoke of self-harm: the
/// catalogue key of its name, its name in English (the API's language), its number.
pub const CRISIS_LINES: &[(&str, &str, &str)] = &[
    (
        "group.crisis_line.national",
        "National psychological assistance hotline",
        "400-161-9995",
    ),
    (
        "group.crisis_line.beijing",
        "Beijing Psychological Crisis Research and Intervention Center",
        "010-82951332",
    ),
    ("group.crisis_line.emergency", "Emergency", "120"),
];

/// The longest message.
pub const MAX_MESSAGE: usize = 1_000;

/// Checks a message's text: something said, not too long, no forbidden character.
pub fn message_text(text: &str) -> Result<&str, FieldError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(FieldError::required("text"));
    }
    crate::text::check("text", text, MAX_MESSAGE)?;
    Ok(text)
}

/// Checks a nickname: 2–16 characters, not the member's real name or part of it, and
/// nothing the screen would stop, the hospital's `own` words included (a phone number as a
/// nickname is a contact detail).
pub fn nickname<'a>(nick: &'a str, real_name: &str, own: &[Word]) -> Result<&'a str, FieldError> {
    let nick = nick.trim();
    let n = nick.chars().count();
    if !(2..=16).contains(&n) {
        return Err(FieldError::length("nickname", 2, 16));
    }
    crate::text::check("nickname", nick, 16)?;
    let real: String = real_name.chars().filter(|c| !c.is_whitespace()).collect();
    let bare: String = nick.chars().filter(|c| !c.is_whitespace()).collect();
    let surname_and_more = real.chars().count() >= 2;
    if surname_and_more
        && (bare.contains(&real)
            || (real.chars().count() >= 3 && {
                // The given name alone names the person too.
                let given: String = real.chars().skip(1).collect();
                bare.contains(&given)
            }))
    {
        return Err(FieldError::new(
            "nickname",
            "must not be your real name: members know each other by nickname only",
        )
        .localized("group.nickname_real", vec![]));
    }
    if screen_with(nick, own).is_some() {
        return Err(FieldError::new(
            "nickname",
            "must not hold contact details, advertising or other screened words",
        )
        .localized("group.nickname_screened", vec![]));
    }
    Ok(nick)
}

/// A poll: a question and its options (2 to 6), stored as the message's body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Poll {
    pub question: String,
    pub options: Vec<String>,
}

impl Poll {
    /// A poll from what a moderator wrote, checked; options are trimmed and empty ones
    /// dropped (a form has six boxes).
    pub fn new(question: &str, options: &[String]) -> Result<Poll, Vec<FieldError>> {
        let mut errors = Vec::new();
        let question = question.trim();
        if question.is_empty() {
            errors.push(FieldError::required("question"));
        } else if let Err(e) = crate::text::check("question", question, 200) {
            errors.push(e);
        }
        let options: Vec<String> = options
            .iter()
            .map(|o| o.trim().to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if !(2..=6).contains(&options.len()) {
            errors.push(
                FieldError::new("options", "give 2 to 6 options")
                    .localized("group.poll_options", vec![]),
            );
        }
        for o in &options {
            if let Err(e) = crate::text::check("options", o, 60) {
                errors.push(e);
            }
        }
        if errors.is_empty() {
            Ok(Poll {
                question: question.to_owned(),
                options,
            })
        } else {
            Err(errors)
        }
    }
}

// What clients send, read into the enums with a field error naming what is allowed (in the
// page's language too: `field.choice`).

fn not_one_of(field: &str, raw: &str, allowed: &str) -> AppError {
    AppError::invalid_localized(
        field,
        format!("must be one of {allowed}, got '{raw}'"),
        "field.choice",
        vec![("allowed", allowed.to_owned())],
    )
}

pub fn member_action(raw: &str) -> AppResult<MemberAction> {
    MemberAction::parse(raw)
        .ok_or_else(|| not_one_of("action", raw, "approve, decline, mute, unmute, remove"))
}

pub fn text_kind(raw: Option<&str>) -> AppResult<MessageKind> {
    match raw.unwrap_or("text") {
        "text" => Ok(MessageKind::Text),
        "announcement" => Ok(MessageKind::Announcement),
        other => Err(not_one_of("kind", other, "text, announcement")),
    }
}

pub fn category(raw: &str) -> AppResult<Category> {
    Category::parse(raw).ok_or_else(|| {
        not_one_of(
            "category",
            raw,
            "contact, advertising, drug_sales, self_harm, other",
        )
    })
}

pub fn moderation(raw: &str) -> AppResult<Moderation> {
    Moderation::parse(raw)
        .ok_or_else(|| not_one_of("action", raw, "release, hide, dismiss, pin, unpin"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hospitals_own_words_are_screened_as_typed_in_any_width_or_spacing() {
        let own = own_words(&[
            ("drug_sales".into(), "Ｘ 神 药".into()),
            ("advertising".into(), "团购".into()),
            ("self_harm".into(), "不如归去".into()),
            ("advertising".into(), "x神药".into()),
        ])
        .unwrap();
        assert_eq!(own.len(), 3, "the repeat is kept once: {own:?}");
        assert_eq!(own[0].word, "x神药");
        assert_eq!(screen("有X神药吗"), None, "not a built-in word");
        assert_eq!(screen_with("有 X 神 药吗", &own), Some(Category::DrugSales));
        assert_eq!(
            screen_with("一起团购血压计", &own),
            Some(Category::Advertising)
        );
        assert_eq!(
            screen_with("团购不成，不如归去", &own),
            Some(Category::SelfHarm),
            "self-harm comes first"
        );
        // The categories keep their order whoever listed the word: advertising before contact.
        assert_eq!(
            screen_with("加我微信团购", &own),
            Some(Category::Advertising)
        );
        assert_eq!(
            screen_with("加我微信 不如归去", &own),
            Some(Category::SelfHarm)
        );
        assert_eq!(screen_with("今天血压 130/85", &own), None);
    }

    #[test]
    fn a_hospitals_list_names_each_bad_entry() {
        let long = "药".repeat(21);
        let errors = own_words(&[
            ("drug_sales".into(), "药".into()),
            ("other".into(), "好药".into()),
            ("advertising".into(), long),
            ("nonsense".into(), "  ".into()),
        ])
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "words[0].word",
                "words[1].category",
                "words[2].word",
                "words[3].category",
                "words[3].word"
            ]
        );
        let many: Vec<(String, String)> = (0..=MAX_WORDS)
            .map(|i| ("advertising".to_owned(), format!("广告{i}")))
            .collect();
        assert_eq!(own_words(&many).unwrap_err()[0].field, "words");
        assert!(own_words(&[]).unwrap().is_empty());
    }

    #[test]
    fn ordinary_talk_of_a_hypertension_group_passes() {
        for text in [
            "今天早上血压 140/90，比上周好一些",
            "氨氯地平 5mg 每天一次，2026-12-06 开始吃",
            "医生说要少吃盐，每天不超过 6 克",
            "Blood pressure 135/85 this morning",
        ] {
            assert_eq!(screen(text), None, "{text}");
        }
    }

    #[test]
    fn contact_details_are_caught_however_written() {
        for text in [
            "有问题打我电话 13812345678",
            "电话 138 1234 5678",
            "１３８１２３４５６７８",
            "加我微 信聊",
            "V X: abc123",
            "my mail is a@b.cn",
            "看这里 www.example.cn",
        ] {
            assert_eq!(screen(text), Some(Category::Contact), "{text}");
        }
    }

    #[test]
    fn drug_sales_advertising_and_self_harm_are_told_apart() {
        assert_eq!(screen("低价药出售，包邮"), Some(Category::DrugSales));
        assert_eq!(screen("祖传秘方治高血压"), Some(Category::DrugSales));
        assert_eq!(screen("高血压难以根治，要长期服药"), None);
        assert_eq!(screen("扫码领优惠券"), Some(Category::Advertising));
        assert_eq!(screen("我真的不想活了"), Some(Category::SelfHarm));
        // A crisis comes first, even with a number in it.
        assert_eq!(screen("想死 13812345678"), Some(Category::SelfHarm));
    }

    #[test]
    fn nicknames_name_nobody() {
        assert_eq!(nickname(" 晨跑的老王 ", "张三丰", &[]), Ok("晨跑的老王"));
        assert!(nickname("张三丰", "张三丰", &[]).is_err());
        assert!(nickname("我是三丰", "张三丰", &[]).is_err());
        assert!(nickname("张 三 丰", "张三丰", &[]).is_err());
        assert!(nickname("王", "张三丰", &[]).is_err());
        assert!(nickname("13812345678", "张三丰", &[]).is_err());
        assert!(nickname("加我微信", "张三丰", &[]).is_err());
        assert_eq!(nickname("Li", "Li Wei", &[]), Ok("Li"));
        let own = own_words(&[("advertising".into(), "团购".into())]).unwrap();
        assert_eq!(nickname("团购达人", "张三丰", &[]), Ok("团购达人"));
        assert!(
            nickname("团购达人", "张三丰", &own).is_err(),
            "the hospital's words too"
        );
    }

    #[test]
    fn polls_have_two_to_six_options() {
        let opts = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let p = Poll::new("下次问答什么时间？", &opts(&["周三晚", " ", "周六上午"]));
        assert_eq!(p.map(|p| p.options.len()), Ok(2));
        assert!(Poll::new("?", &opts(&["只有一个"])).is_err());
        assert!(Poll::new("", &opts(&["a", "b"])).is_err());
    }
}
