//! Languages and the message catalog. Simplified Chinese is the default; English is selectable
//! with a cookie (set by the language switch) or by the browser's Accept-Language.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::http::{HeaderMap, header};

pub const LANG_COOKIE: &str = "yunyi_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The short form used in the switch URL and cookie.
    pub fn short(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn from_short(s: &str) -> Option<Self> {
        match s {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Cookie first (an explicit choice), then Accept-Language by quality, then Chinese.
    pub fn negotiate(headers: &HeaderMap) -> Self {
        if let Some(lang) = cookie_value(headers, LANG_COOKIE).and_then(|v| Self::from_short(&v)) {
            return lang;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Self::from_accept_language)
            .unwrap_or_default()
    }

    fn from_accept_language(value: &str) -> Option<Self> {
        let mut best: Option<(f32, Self)> = None;
        for part in value.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag == "zh" || tag.starts_with("zh-") {
                Lang::Zh
            } else if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// The message for `key`; a missing key shows itself so it is noticed, not hidden.
    pub fn t(self, key: &str) -> &'static str {
        let Some((zh, en)) = CATALOG.get(key) else {
            tracing::warn!(key, "missing i18n key");
            return "⟨missing text⟩";
        };
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The message for `key`, if the catalog has it (for names that may be the user's own,
    /// such as a syndrome an officer defined).
    pub fn lookup(self, key: &str) -> Option<&'static str> {
        CATALOG.get(key).map(|(zh, en)| match self {
            Lang::Zh => *zh,
            Lang::En => *en,
        })
    }

    /// Picks the Chinese or English form of a name stored in both.
    pub fn pick<'a>(self, zh: &'a str, en: Option<&'a str>) -> &'a str {
        match (self, en) {
            (Lang::En, Some(en)) if !en.is_empty() => en,
            _ => zh,
        }
    }
}

/// Reads one cookie from the request headers.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// (key, 简体中文, English). Keep keys grouped by page.
const MESSAGES: &[(&str, &str, &str)] = &[
    ("brand", "云医", "Yunyi"),
    (
        "brand.full",
        "云医 · 互联网医院平台",
        "Yunyi · Internet Hospital Platform",
    ),
    ("nav.home", "首页", "Home"),
    ("nav.hospitals", "医院", "Hospitals"),
    ("nav.switch_lang", "English", "中文"),
    ("nav.main", "主导航", "Main navigation"),
    (
        "footer.text",
        "云医：开源互联网医院平台。急症请立即拨打 120。",
        "Yunyi: an open-source internet hospital platform. In an emergency call 120 now.",
    ),
    ("home.title", "看病，从线上开始", "Care that starts online"),
    (
        "home.lead",
        "云医把预约挂号、在线问诊、慢病复诊与送药上门、传染病筛查预警、远程会诊和全病程管理放在一个平台上，医院、医生和监管部门全程可控、可追溯。",
        "Yunyi brings booking, online consultations, chronic-disease refills with home delivery, infectious-disease screening and early warning, remote consultations and whole-course care onto one platform, with hospitals, doctors and regulators in full control and everything traceable.",
    ),
    (
        "home.cta_hospitals",
        "查看医院与科室",
        "Browse hospitals and departments",
    ),
    (
        "home.emergency",
        "胸痛、呼吸困难、意识不清等紧急情况，请立即拨打 120，不要在线等待。",
        "For chest pain, severe breathing difficulty, loss of consciousness or other emergencies, call 120 now — do not wait online.",
    ),
    ("home.services", "平台服务", "What the platform offers"),
    (
        "svc.triage.title",
        "智能导诊与分时段预约",
        "Smart triage and time-slot booking",
    ),
    (
        "svc.triage.body",
        "用自己的话描述症状，推荐科室与紧急程度，按时段预约医生，号源不会重复售出。",
        "Describe symptoms in your own words, get a department and urgency, and book a doctor by time slot; no slot is ever sold twice.",
    ),
    (
        "svc.consult.title",
        "图文与视频问诊",
        "Text and video consultations",
    ),
    (
        "svc.consult.body",
        "与医生实时图文、视频交流，全程记录留存；支持义诊与心理疏导。",
        "Chat and video with doctors in real time, with the whole conversation kept; free clinics and counselling included.",
    ),
    (
        "svc.chronic.title",
        "慢病复诊与送药上门",
        "Chronic-disease refills with delivery",
    ),
    (
        "svc.chronic.body",
        "已确诊慢病患者线上复诊续方，药师审方后在线支付，药品配送到家。",
        "Patients with a confirmed chronic condition renew prescriptions online; a pharmacist reviews, you pay online and medicine comes home.",
    ),
    (
        "svc.screening.title",
        "传染病筛查与预警",
        "Infectious-disease screening and early warning",
    ),
    (
        "svc.screening.body",
        "问诊中自动识别可疑病例并重点标注，多点触发监测，及时预警。",
        "Suspected cases are flagged during consultations; multi-source surveillance raises early warnings.",
    ),
    (
        "svc.remote.title",
        "远程会诊与双向转诊",
        "Remote consultation and referral",
    ),
    (
        "svc.remote.body",
        "基层医生邀请上级医院专家会诊，签署会诊意见，必要时转诊。",
        "Grassroots doctors invite specialists from supporting hospitals, who sign an opinion and refer when needed.",
    ),
    ("svc.care.title", "全病程管理", "Whole-course care"),
    (
        "svc.care.body",
        "术前评估、术后随访、家庭医生与云端病友会，持续照护。",
        "Pre-operative assessment, post-operative follow-up, family doctors and patient groups.",
    ),
    (
        "svc.education.title",
        "健康科普与远程教育",
        "Health education and training",
    ),
    (
        "svc.education.body",
        "防疫科普推送给患者，基层医务人员在线学习。",
        "Prevention articles for patients; courses and live sessions for grassroots staff.",
    ),
    (
        "svc.imaging.title",
        "影像与 AI 辅助",
        "Imaging with AI assistance",
    ),
    (
        "svc.imaging.body",
        "上传 CT 影像在线查看，肺部病灶定量分析辅助阅片。",
        "Upload CT studies, view them in the browser, and get quantitative lung-opacity measurements.",
    ),
    (
        "svc.supervision.title",
        "监管与审计",
        "Supervision and audit",
    ),
    (
        "svc.supervision.body",
        "监管看板、防篡改审计日志与标准数据导出。",
        "Supervision dashboards, a tamper-evident audit trail and standard data export.",
    ),
    ("svc.fhir.title", "标准互通", "Standard interoperability"),
    (
        "svc.fhir.body",
        "HL7 FHIR R4 接口，医院信息系统与监管平台即插即用。",
        "An HL7 FHIR R4 API so hospital systems and regulators' platforms plug in without custom work.",
    ),
    ("hospitals.title", "医院与科室", "Hospitals and departments"),
    ("hospitals.empty", "暂无医院。", "No hospitals yet."),
    ("hospitals.level", "等级", "Level"),
    ("hospitals.region", "行政区划代码", "Region code"),
    ("hospitals.address", "地址", "Address"),
    ("hospitals.departments", "科室", "Departments"),
    ("hospitals.online", "提供线上服务", "Online services"),
    ("hospitals.offline_only", "仅线下", "In person only"),
    ("hospitals.more", "下一页", "Next page"),
    ("hospitals.status.suspended", "已暂停", "Suspended"),
    ("nav.staff", "人员管理", "Staff"),
    ("nav.audit", "审计日志", "Audit trail"),
    ("nav.logout", "退出", "Sign out"),
    ("nav.login", "登录", "Sign in"),
    ("nav.register", "注册", "Register"),
    ("role.patient", "患者", "Patient"),
    ("role.doctor", "医师", "Doctor"),
    ("role.nurse", "护士", "Nurse"),
    ("role.pharmacist", "药师", "Pharmacist"),
    ("role.hospital_admin", "医院管理员", "Hospital admin"),
    (
        "role.infection_officer",
        "院感/疾控专员",
        "Infection-control officer",
    ),
    ("role.regulator", "监管人员", "Regulator"),
    ("role.platform_admin", "平台管理员", "Platform admin"),
    ("login.title", "登录", "Sign in"),
    (
        "login.password_title",
        "账号密码登录",
        "Sign in with a password",
    ),
    (
        "login.username",
        "用户名或手机号",
        "Username or phone number",
    ),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Sign in"),
    (
        "login.code_title",
        "手机验证码登录",
        "Sign in with a text code",
    ),
    ("login.phone", "手机号", "Phone number"),
    ("login.code", "验证码", "Code"),
    ("login.send_code", "获取验证码", "Send me a code"),
    ("login.code_submit", "验证码登录", "Sign in with the code"),
    (
        "login.code_sent",
        "如果该手机号已注册，验证码已发送，5 分钟内有效。",
        "If this number is registered, a code has been sent; it is valid for 5 minutes.",
    ),
    ("login.no_account", "还没有账号？", "No account yet?"),
    ("register.title", "患者注册", "Patient registration"),
    ("register.name", "真实姓名", "Full legal name"),
    (
        "register.id_number",
        "居民身份证号",
        "Resident identity card number",
    ),
    (
        "register.id_hint",
        "实名就医需要身份证号；出生日期和性别由号码自动识别，号码加密保存。",
        "Real-name care needs your ID number; birth date and sex are read from it, and it is stored encrypted.",
    ),
    ("register.phone", "手机号", "Mobile phone number"),
    ("register.password", "设置密码", "Choose a password"),
    (
        "register.password_hint",
        "至少 8 位。",
        "At least 8 characters.",
    ),
    (
        "register.privacy",
        "我们只在诊疗需要时使用您的个人信息，每次查看都会留下审计记录。",
        "Your personal data is used only for your care, and every access to it is recorded in the audit trail.",
    ),
    ("register.submit", "注册并登录", "Register and sign in"),
    ("me.title", "我的", "My account"),
    ("me.identity", "实名信息", "Identity"),
    ("me.phone", "手机号", "Phone"),
    ("me.id_number", "身份证号", "ID number"),
    ("me.birth_date", "出生日期", "Date of birth"),
    ("me.age", "年龄", "Age"),
    ("me.years", "岁", "years"),
    (
        "me.family",
        "就诊人（家庭成员）",
        "Family members I act for",
    ),
    (
        "me.family_empty",
        "还没有添加就诊人。",
        "No family members yet.",
    ),
    ("me.add_family", "添加就诊人", "Add a family member"),
    ("me.relationship", "与我的关系", "Relationship to me"),
    (
        "me.guardian",
        "我是其法定监护人（6 岁以下儿童必须由监护人添加）",
        "I am their legal guardian (required for children under 6)",
    ),
    ("me.guardian_yes", "监护人", "Guardian"),
    ("me.add", "添加", "Add"),
    (
        "me.identity_pending",
        "您填写的身份证号已在云医登记过。为保护本人，需由本人（或其监护人）在云医中确认、把短信验证码告诉您，或您携带证件到医院窗口核验后，才能以该身份就诊。",
        "This identity number is already on record in Yunyi. To protect its holder, they (or their guardian) confirm in Yunyi or tell you the code we texted them, or a hospital counter checks your papers, before you can use it.",
    ),
    ("claims.title", "身份确认", "Identity confirmations"),
    (
        "claims.to_decide",
        "待您确认的申请",
        "Requests waiting for you",
    ),
    ("claims.mine", "我的申请", "My requests"),
    (
        "claims.asks_family",
        "申请添加家庭成员",
        "asks to add as family",
    ),
    (
        "claims.asks_account",
        "以此身份注册了账号",
        "registered an account as",
    ),
    (
        "claims.decide_hint",
        "如不认识申请人，请拒绝。同意后，对方可以查看并办理此人的就诊信息。",
        "If you do not know them, reject. Once you approve, they can see and act on this person's care.",
    ),
    ("claims.approve", "同意", "Approve"),
    ("claims.reject", "拒绝", "Reject"),
    ("claims.kind.family", "添加家庭成员", "Add a family member"),
    ("claims.kind.account", "本人账号", "My own account"),
    ("claims.status.pending", "等待确认", "Waiting"),
    ("claims.status.approved", "已确认", "Confirmed"),
    ("claims.status.rejected", "已拒绝", "Rejected"),
    ("claims.status.expired", "已过期", "Expired"),
    ("claims.number", "申请编号", "Request number"),
    (
        "claims.code",
        "对方告诉您的验证码",
        "The code they tell you",
    ),
    ("claims.submit_code", "确认", "Confirm"),
    (
        "claims.counter_hint",
        "也可以携带证件到医院窗口，出示申请编号核验。72 小时内有效。",
        "Or bring your papers to a hospital counter and show the request number. Valid for 72 hours.",
    ),
    (
        "claims.sent",
        "此身份证号已在云医登记，已请本人或其监护人确认。",
        "This identity number is on record: we have asked its holder or guardian to confirm.",
    ),
    ("counter.title", "证件核验", "Identity papers check"),
    ("nav.counter", "证件核验", "Papers check"),
    (
        "counter.lead",
        "申请人出示申请编号后，核对其证件与下列登记信息一致，再确认关联。",
        "When the claimant shows the request number, check their papers against the record below, then confirm.",
    ),
    ("counter.lookup", "查找", "Look up"),
    ("counter.claimant", "申请人", "Claimant"),
    ("counter.record", "登记信息", "On record"),
    ("counter.name_given", "申请人填写的姓名", "Name given"),
    (
        "counter.name_mismatch",
        "申请人填写的姓名与登记不符，不能核验：请申请人按证件上的姓名重新申请。",
        "The name given does not match the record: the claimant applies again with the name on their papers.",
    ),
    ("counter.document", "核验的证件", "Papers checked"),
    (
        "counter.verify",
        "证件一致，确认关联",
        "Papers match: confirm",
    ),
    ("counter.done", "已确认关联。", "Confirmed."),
    (
        "doc.resident_id_card",
        "居民身份证",
        "Resident identity card",
    ),
    ("doc.household_register", "户口簿", "Household register"),
    ("doc.birth_certificate", "出生医学证明", "Birth certificate"),
    ("doc.passport", "护照", "Passport"),
    (
        "doc.travel_permit",
        "往来内地通行证",
        "Mainland travel permit",
    ),
    ("sex.male", "男", "Male"),
    ("sex.female", "女", "Female"),
    ("rel.child", "子女", "Child"),
    ("rel.parent", "父母", "Parent"),
    ("rel.spouse", "配偶", "Spouse"),
    ("rel.grandparent", "祖父母/外祖父母", "Grandparent"),
    ("rel.grandchild", "孙子女/外孙子女", "Grandchild"),
    ("rel.sibling", "兄弟姐妹", "Sibling"),
    ("rel.other", "其他", "Other"),
    ("stepup.title", "执业身份核验", "Identity check"),
    (
        "stepup.lead",
        "按照互联网诊疗监管要求，医师每次开始诊疗服务前需核验身份。",
        "Regulation requires doctors to confirm their identity before each session of online care.",
    ),
    ("stepup.submit", "核验", "Confirm"),
    ("stepup.done", "身份核验已通过。", "Identity confirmed."),
    ("staff.title", "人员管理", "Staff"),
    ("staff.new", "新建人员账号", "New staff account"),
    ("staff.username", "用户名", "Username"),
    ("staff.display_name", "姓名", "Name"),
    ("staff.role", "角色", "Role"),
    ("staff.hospital", "所属医院编号", "Hospital id"),
    ("staff.password", "初始密码", "Initial password"),
    ("staff.phone", "手机号", "Phone"),
    ("staff.status", "状态", "Status"),
    ("staff.create", "创建", "Create"),
    ("inbox.title", "演示收件箱", "Demo inbox"),
    (
        "inbox.lead",
        "演示模式下，平台发出的短信显示在这里（不会真正发送）。其中的验证码可以登录任何账号：本页只在运行演示的这台电脑上打开，切勿用于真实数据。",
        "In demo mode, text messages the platform sends appear here instead of being sent. Their codes sign anyone in: this page opens only on the machine the demo runs on; never use it with real data.",
    ),
    ("inbox.empty", "暂无消息。", "No messages yet."),
    ("audit.title", "审计日志", "Audit trail"),
    ("audit.actor", "操作人账号", "Actor account"),
    ("audit.patient", "患者编号", "Patient id"),
    ("audit.action", "操作", "Action"),
    ("audit.object", "对象", "Object"),
    ("audit.outcome", "结果", "Outcome"),
    ("audit.outcome.success", "成功", "Success"),
    ("audit.outcome.denied", "拒绝", "Denied"),
    ("audit.outcome.failure", "失败", "Failed"),
    ("audit.reason", "说明", "Reason"),
    ("audit.time", "时间", "Time"),
    (
        "audit.flagged_only",
        "只看需复核（紧急授权）",
        "Only flagged for review (break-glass)",
    ),
    ("audit.flag", "需复核", "Review"),
    ("audit.filter", "筛选", "Filter"),
    ("audit.empty", "没有符合条件的记录。", "No matching events."),
    ("nav.doctors", "找医生", "Find a doctor"),
    ("doctors.title", "找医生", "Find a doctor"),
    ("doctors.name", "医生姓名", "Doctor's name"),
    ("doctors.specialty", "擅长", "Specialty"),
    (
        "doctors.specialty_hint",
        "如：糖尿病、小儿发热",
        "e.g. diabetes, fever in children",
    ),
    ("doctors.service", "服务", "Service"),
    ("doctors.search", "搜索", "Search"),
    (
        "doctors.none",
        "没有找到符合条件的医生。",
        "No doctor matches.",
    ),
    ("doctors.years", "从业年限", "Years of practice"),
    (
        "hospitals.doctors",
        "查看本科室医生",
        "See this department's doctors",
    ),
    ("doctor.licence", "执业证书编码", "Licence"),
    ("doctor.practices_at", "执业机构", "Practises at"),
    ("doctor.services", "服务与价格", "Services and prices"),
    (
        "doctor.no_services",
        "暂未开通线上服务。",
        "No online services yet.",
    ),
    ("doctor.free", "免费", "Free"),
    (
        "hospitals.campaign",
        "义诊活动进行中：",
        "Free-clinic campaign running:",
    ),
    (
        "hospitals.online_services",
        "科室在线服务",
        "Department online services",
    ),
    (
        "hospitals.online_services_hint",
        "不指定医生：由科室（或义诊志愿医生）接诊",
        "No doctor named: a doctor of the department (or a campaign volunteer) answers",
    ),
    ("doctor.minutes", "分钟", "min"),
    ("doctor.quota", "每日限额", "Daily quota"),
    ("doctor.suspended", "已暂停", "suspended"),
    ("title.chief", "主任医师", "Chief physician"),
    (
        "title.associate_chief",
        "副主任医师",
        "Associate chief physician",
    ),
    ("title.attending", "主治医师", "Attending physician"),
    ("title.resident", "住院医师", "Resident physician"),
    ("service.text_consult", "图文问诊", "Text consultation"),
    ("service.video_consult", "视频问诊", "Video consultation"),
    ("service.follow_up", "复诊续方", "Follow-up visit"),
    ("service.free_clinic", "义诊", "Free clinic"),
    ("service.counselling", "心理疏导", "Counselling"),
    ("privilege.consult", "在线咨询", "Online consultation"),
    (
        "privilege.internet_diagnosis",
        "互联网诊疗",
        "Internet diagnosis",
    ),
    ("privilege.prescribe", "在线处方", "Online prescribing"),
    ("privilege.teleconsult", "远程会诊", "Remote consultation"),
    ("nav.doctors_admin", "医生与权限", "Doctors and privileges"),
    ("admin_doctors.title", "医生执业权限", "Doctors' privileges"),
    ("admin_doctors.done", "已保存。", "Saved."),
    (
        "admin_doctors.rules",
        "互联网诊疗需独立执业满 3 年；在线处方需先具备互联网诊疗权限；暂停权限须说明原因。",
        "Internet diagnosis needs 3 years of independent practice; online prescribing needs internet diagnosis first; suspending needs a reason.",
    ),
    ("admin_doctors.status.active", "已授权", "granted"),
    ("admin_doctors.status.suspended", "已暂停", "suspended"),
    ("admin_doctors.status.none", "未授权", "not granted"),
    ("admin_doctors.grant", "授权", "Grant"),
    ("admin_doctors.suspend", "暂停", "Suspend"),
    ("admin_doctors.reinstate", "恢复", "Reinstate"),
    ("admin_doctors.reason", "暂停原因", "Reason for suspending"),
    ("nav.hospital_admin", "医院管理", "My hospital"),
    (
        "admin_hospital.title",
        "医院管理",
        "Hospital administration",
    ),
    (
        "admin_hospital.new_department",
        "新增科室",
        "New department",
    ),
    (
        "admin_hospital.std_code",
        "诊疗科目代码",
        "Standard department code",
    ),
    ("admin_hospital.dept_name", "科室名称", "Department name"),
    ("admin_hospital.dept_name_en", "英文名称", "English name"),
    ("admin_hospital.new_service", "新增服务项目", "New service"),
    ("admin_hospital.service_name", "服务名称", "Service name"),
    ("admin_hospital.doctor", "医生", "Doctor"),
    ("admin_hospital.price", "价格", "Price"),
    ("admin_hospital.price_yuan", "价格（元）", "Price (yuan)"),
    (
        "admin_hospital.duration",
        "时长（分钟）",
        "Duration (minutes)",
    ),
    (
        "admin_hospital.reply_within",
        "首次回复时限（分钟）",
        "First reply within (minutes)",
    ),
    (
        "admin_hospital.auto_assign",
        "科室服务：自动分配给接诊最少的医生",
        "Department service: assign each request to the least busy doctor",
    ),
    (
        "admin_hospital.new_campaign",
        "新增义诊活动",
        "New free-clinic campaign",
    ),
    ("admin_hospital.campaign_name", "活动名称", "Campaign name"),
    ("admin_hospital.starts_on", "开始日期", "Starts on"),
    ("admin_hospital.ends_on", "结束日期", "Ends on"),
    ("admin_hospital.volunteers", "义诊医生", "Volunteer doctors"),
    ("admin_doctor.profile", "执业信息", "Professional profile"),
    ("admin_doctor.title", "职称", "Title"),
    (
        "admin_doctor.specialties_hint",
        "用逗号或顿号分隔，如：哮喘、慢阻肺",
        "Separated by commas, e.g. asthma, COPD",
    ),
    (
        "admin_doctor.since",
        "独立执业起始年份",
        "Year independent practice began",
    ),
    ("admin_doctor.biography", "简介", "Biography"),
    ("admin_doctor.save", "保存", "Save"),
    (
        "admin_doctor.new_site",
        "新增执业机构（多点执业）",
        "Add a practice site (multi-site practice)",
    ),
    (
        "admin_doctor.registration",
        "执业注册号",
        "Practice registration number",
    ),
    ("admin_doctor.manage", "执业信息", "Profile"),
    (
        "nav.hospitals_admin",
        "医院管理（平台）",
        "Hospitals (platform)",
    ),
    (
        "admin_hospitals.title",
        "平台医院管理",
        "Hospitals on the platform",
    ),
    ("admin_hospitals.new", "新增医院", "New hospital"),
    ("admin_hospitals.code", "机构编码", "Institution code"),
    ("admin_hospitals.name", "医院名称", "Hospital name"),
    (
        "admin_hospitals.reason",
        "暂停原因",
        "Reason for suspending",
    ),
    (
        "admin_hospitals.supports",
        "对口支援医院",
        "Hospital it supports",
    ),
    ("admin_hospitals.link", "建立支援", "Link"),
    ("admin_doctor.photo", "照片", "Photo"),
    (
        "admin_doctor.photo_hint",
        "选择 JPEG、PNG 或 WebP 图片（不超过 2 MB），选中即上传",
        "Choose a JPEG, PNG or WebP image (up to 2 MB); it uploads at once",
    ),
    ("doctors.available_today", "今天可问诊", "Available today"),
    ("nav.appointments", "我的预约", "My appointments"),
    ("pay.title", "支付", "Payment"),
    (
        "pay.sandbox",
        "沙箱支付：演示用，不会扣款。",
        "Sandbox payment: for demonstration, no money moves.",
    ),
    ("pay.approve", "确认支付", "Pay"),
    ("pay.decline", "取消支付", "Decline"),
    ("rx.pay", "去支付", "Pay now"),
    ("nav.prescriptions", "我的处方", "My prescriptions"),
    ("nav.reviews", "处方审核", "Prescription review"),
    ("rx.write", "开具处方", "Write a prescription"),
    ("rx.back_to_visit", "返回问诊", "Back to the visit"),
    ("rx.condition", "复诊病种", "Condition followed up:"),
    ("rx.allergies", "过敏史：", "Allergies: "),
    ("rx.findings", "合理用药审核结果", "Safety check findings"),
    ("rx.no_findings", "未发现问题", "No findings"),
    ("rx.total", "合计", "Total"),
    ("rx.diagnosis", "诊断", "Diagnosis"),
    ("rx.duration", "处方类型", "Prescription length"),
    (
        "rx.duration.chronic",
        "慢病长处方（≤4周）",
        "Chronic refill (up to 4 weeks)",
    ),
    (
        "rx.duration.stable_chronic",
        "病情稳定慢病（≤12周）",
        "Stable chronic disease (up to 12 weeks)",
    ),
    (
        "rx.duration.ordinary",
        "普通处方（≤7天）",
        "Ordinary (up to 7 days)",
    ),
    ("rx.pregnant", "妊娠期", "Pregnant"),
    (
        "rx.guardian",
        "6岁以下儿童：监护人在场",
        "Child under six: guardian present",
    ),
    ("rx.line", "药品", "Drug"),
    ("rx.drug", "药品", "Drug"),
    ("rx.dose", "单次剂量", "Dose"),
    ("rx.frequency", "频次", "Frequency"),
    ("rx.days", "天数", "Days"),
    ("rx.days_unit", "天", "days"),
    ("rx.quantity", "数量", "Quantity"),
    ("rx.quantity_auto", "按天数自动计算", "from the days"),
    ("rx.check", "审核检查", "Check"),
    ("rx.sign", "签名提交", "Sign and submit"),
    (
        "rx.in_this_visit",
        "本次问诊的处方",
        "Prescriptions in this visit",
    ),
    ("rx.title", "处方", "Prescription"),
    ("rx.signed_at", "开具于", "Signed"),
    ("rx.usage", "用法用量", "Directions"),
    ("rx.amount", "金额", "Amount"),
    ("rx.review_note", "药师意见：", "Pharmacist: "),
    ("rx.pay_by", "请在此前支付：", "Pay by"),
    ("rx.history", "流转记录", "History"),
    ("rx.mine", "我的处方", "My prescriptions"),
    (
        "rx.none",
        "还没有处方。处方由医生在复诊中开具。",
        "No prescriptions yet. Doctors write them in follow-up visits.",
    ),
    ("rx.reviews", "处方审核", "Prescription review"),
    (
        "rx.no_reviews",
        "没有待审核的处方",
        "No prescriptions waiting for review",
    ),
    ("rx.note", "审核意见（可选）", "Note (optional)"),
    ("rx.reason", "驳回原因", "Reason for rejecting"),
    ("rx.approve", "审核通过", "Approve"),
    ("rx.reject", "驳回", "Reject"),
    ("rx.severity.info", "提示", "Note"),
    ("rx.severity.warning", "警示", "Warning"),
    ("rx.severity.blocking", "禁止", "Blocking"),
    ("rx.status.submitted", "待审核", "Waiting for review"),
    ("rx.status.approved", "审核通过，待支付", "Approved, to pay"),
    ("rx.status.rejected", "已驳回", "Rejected"),
    (
        "rx.status.superseded",
        "已被新版本替代",
        "Replaced by a new version",
    ),
    ("rx.status.cancelled", "已撤销", "Withdrawn"),
    ("rx.status.expired", "已过期", "Expired"),
    ("rx.status.paid", "已支付", "Paid"),
    ("rx.status.dispensed", "已发药", "Dispensed"),
    ("rx.renew", "续方（申请复诊开药）", "Renew my medicine"),
    (
        "rx.renew_note",
        "近况（可选），如：血压平稳",
        "How you are (optional), e.g. blood pressure steady",
    ),
    (
        "rx.renewal_prefilled",
        "续方申请：已按上次处方预填，请复核、检查后签署。上次处方",
        "Renewal: the last prescription is filled in — review, check and sign. Last prescription",
    ),
    ("nav.formulary", "药品目录", "Formulary"),
    ("formulary.title", "药品目录与价格", "Formulary and prices"),
    ("formulary.search", "药名或编码", "Name or code"),
    ("formulary.code", "编码", "Code"),
    ("formulary.class", "管理分类", "Class"),
    ("formulary.online", "可线上开具", "Online"),
    ("formulary.banned", "禁止线上", "Never online"),
    ("formulary.price", "单价（元）", "Price (yuan)"),
    ("formulary.import", "导入 CSV", "Import CSV"),
    (
        "formulary.import_hint",
        "粘贴含表头的 CSV：全部正确才导入，逐行指出错误；同编码的药品将被更新。",
        "Paste a CSV with its header: imported only when every row is right, each bad row named; drugs with the same code are updated.",
    ),
    ("fee.consultation", "问诊费", "Consultation fee"),
    ("fee.pay", "支付问诊费", "Pay the fee"),
    (
        "fee.pay_first",
        "支付后医生才能接诊；如医生未接诊或您取消，将全额退款。",
        "Doctors see your request once it is paid; if no doctor takes it or you cancel, you are refunded in full.",
    ),
    ("fee.status.pending", "待支付", "To pay"),
    ("fee.status.paid", "已支付", "Paid"),
    ("fee.status.refunded", "已退款", "Refunded"),
    ("fee.status.cancelled", "已取消", "Cancelled"),
    (
        "fee.pay_registration",
        "在线支付挂号费",
        "Pay the registration fee online",
    ),
    ("fee.paid_online", "已在线支付", "Paid online"),
    ("fee.refunded", "挂号费已退款", "Registration fee refunded"),
    ("recon.title", "每日对账", "Daily reconciliation"),
    ("recon.date", "日期", "Day"),
    ("recon.show", "查看", "Show"),
    (
        "recon.csv",
        "下载对账单（CSV）",
        "Download the statement (CSV)",
    ),
    ("recon.subject", "类别", "For"),
    ("recon.payments", "支付笔数", "Payments"),
    ("recon.paid", "收款", "Received"),
    ("recon.refunds", "退款笔数", "Refunds"),
    ("recon.refunded", "退款", "Refunded"),
    ("recon.net", "净收入", "Net"),
    ("recon.total", "合计", "Total"),
    (
        "recon.exceptions",
        "异常（需人工核对）",
        "Exceptions to check by hand",
    ),
    ("recon.lines", "流水", "Transactions"),
    (
        "recon.none",
        "当日没有收款或退款。",
        "No payments or refunds that day.",
    ),
    ("recon.payment", "收款", "Payment"),
    ("recon.refund", "退款", "Refund"),
    ("recon.subject.prescription", "处方药品", "Prescriptions"),
    ("recon.subject.consultation", "问诊", "Consultations"),
    ("recon.subject.appointment", "挂号", "Appointments"),
    (
        "recon.outcome.amount_mismatch",
        "金额与订单不符，未入账",
        "Amount differs from the order; not applied",
    ),
    (
        "recon.outcome.refunded",
        "处方失效后到账，已全额退款",
        "Arrived after the prescription lapsed; refunded",
    ),
    ("nav.reconciliation", "对账", "Reconciliation"),
    ("addr.title", "收货地址", "Delivery addresses"),
    ("addr.none", "还没有收货地址。", "No addresses yet."),
    ("addr.default", "默认", "Default"),
    ("addr.make_default", "设为默认", "Make default"),
    ("addr.remove", "删除", "Remove"),
    ("addr.new", "新增地址", "Add an address"),
    ("addr.recipient", "收货人", "Recipient"),
    ("addr.phone", "手机号", "Mobile number"),
    ("addr.region", "所在地区", "Province, city, district"),
    (
        "addr.region_hint",
        "如：广东省广州市天河区",
        "e.g. Tianhe District, Guangzhou, Guangdong",
    ),
    ("addr.detail", "详细地址", "Street, building, room"),
    (
        "addr.set_default",
        "设为默认地址",
        "Use as my default address",
    ),
    ("addr.save", "保存地址", "Save address"),
    (
        "addr.add_first",
        "添加收货地址后可选择配送到家",
        "Add an address to have it delivered",
    ),
    ("nav.surveillance", "疫情监测", "Surveillance"),
    (
        "epi.title",
        "传染病监测与预警",
        "Infectious disease surveillance",
    ),
    ("epi.rules", "预检分诊规则", "Screening rules"),
    ("epi.cases", "疑似病例", "Suspected cases"),
    (
        "epi.no_cases",
        "目前没有待处置的疑似病例",
        "No suspected cases to work now",
    ),
    ("epi.case", "病例", "Case"),
    ("epi.patient", "患者", "Patient"),
    ("epi.rule", "规则", "Rule"),
    ("epi.status", "状态", "Status"),
    ("epi.flagged_at", "标注时间", "Flagged at"),
    ("epi.due", "本步时限", "Step due"),
    ("epi.overdue", "已超时", "Overdue"),
    (
        "epi.overdue_step",
        "本步处置已超时，请尽快处理",
        "This step is overdue; act now",
    ),
    ("epi.ended", "近7天已结束", "Ended in the last 7 days"),
    ("epi.status.flagged", "待联系", "Flagged"),
    ("epi.status.contacted", "已联系", "Contacted"),
    (
        "epi.status.transport_arranged",
        "已安排转运",
        "Transport arranged",
    ),
    ("epi.status.test_booked", "已预约检测", "Test booked"),
    ("epi.status.result_recorded", "已出结果", "Result recorded"),
    ("epi.status.closed", "已结案", "Closed"),
    ("epi.status.dismissed", "已排除", "Dismissed"),
    ("epi.contact_phone", "联系电话", "Phone"),
    ("epi.evidence", "标注依据", "Why it was flagged"),
    ("epi.rules_version", "版本", "version"),
    ("epi.history", "处置记录", "History"),
    ("epi.transport", "转运方式", "Transport"),
    (
        "epi.transport.ambulance",
        "救护车（负压转运）",
        "Ambulance (negative-pressure transfer)",
    ),
    (
        "epi.transport.self",
        "自行前往（按指引）",
        "On their own, with instructions",
    ),
    ("epi.instructions", "指引", "Instructions"),
    (
        "epi.instructions_hint",
        "全程佩戴口罩，不乘坐公共交通，直接前往发热门诊",
        "Wear a mask, no public transport, go straight to the fever clinic",
    ),
    ("epi.test", "检测", "Test"),
    ("epi.test_at", "检测时间", "Test time"),
    ("epi.result", "检测结果", "Result"),
    ("epi.result.positive", "阳性", "Positive"),
    ("epi.result.negative", "阴性", "Negative"),
    (
        "epi.report_made",
        "已生成传染病报告卡",
        "Notifiable disease report made",
    ),
    (
        "epi.report_hint",
        "阳性时请填写以下信息，将生成传染病报告卡",
        "For a positive result fill in the following; it makes the notifiable disease report",
    ),
    ("epi.disease", "疾病名称", "Disease"),
    ("epi.disease_class", "疾病类别", "Class"),
    ("epi.classification", "病例分类", "Case classification"),
    ("epi.classification.confirmed", "确诊病例", "Confirmed"),
    (
        "epi.classification.clinical",
        "临床诊断病例",
        "Clinically diagnosed",
    ),
    ("epi.classification.suspected", "疑似病例", "Suspected"),
    ("epi.classification.carrier", "病原携带者", "Carrier"),
    ("epi.onset", "发病日期", "Onset date"),
    ("epi.dismissed_because", "排除原因", "Dismissed because"),
    ("epi.note", "处置说明", "Note"),
    ("epi.action.contact", "联系患者", "Contact the patient"),
    (
        "epi.action.arrange_transport",
        "安排转运",
        "Arrange transport",
    ),
    ("epi.action.book_test", "预约检测", "Book the test"),
    ("epi.action.record_result", "登记结果", "Record the result"),
    ("epi.action.close", "结案", "Close the case"),
    (
        "epi.action.dismiss",
        "排除（误报）",
        "Dismiss (false alarm)",
    ),
    ("epi.dismiss_reason", "排除原因", "Reason"),
    ("epi.areas", "疫区（中高风险地区）", "Outbreak areas"),
    (
        "epi.areas_hint",
        "在疫区内、到过或来自疫区，且在时间窗口内，计为流行病学史",
        "Being in, travelling to or coming from an area within the window counts as an epidemiological link",
    ),
    ("epi.days", "天", "days"),
    ("epi.no_areas", "尚未设置疫区", "No outbreak areas set"),
    ("epi.area", "地区", "Area"),
    ("epi.aliases", "别名", "Other names"),
    ("epi.region", "行政区划代码", "Region code"),
    ("epi.from", "开始", "From"),
    ("epi.until", "结束", "Until"),
    ("epi.end_area", "今日结束", "End today"),
    ("epi.add_area", "添加疫区", "Add area"),
    ("epi.rule_list", "规则", "Rules"),
    ("epi.fever_threshold", "发热阈值", "Fever from"),
    ("epi.raises_flag", "触发标注", "Raises a flag"),
    (
        "epi.edit_rules",
        "编辑全部规则（TOML）",
        "Edit all rules (TOML)",
    ),
    ("epi.rules_document", "规则文档", "Rules document"),
    ("epi.change_note", "修改说明", "What changed"),
    ("epi.save_rules", "保存为新版本", "Save as a new version"),
    (
        "epi.default_rules",
        "使用系统默认规则（版本 0）",
        "The built-in default rules (version 0)",
    ),
    (
        "epi.flagged_title",
        "疑似传染病 · 已标注",
        "Suspected infectious disease · flagged",
    ),
    (
        "epi.flagged_body",
        "医院感染管理人员已收到提醒并将跟进处置。",
        "The hospital's infection officers have been alerted and will follow up.",
    ),
    (
        "epi.flag_action",
        "标注疑似传染病",
        "Flag a suspected infectious disease",
    ),
    ("epi.flag_reason", "标注原因", "Reason"),
    (
        "epi.flag_reason_hint",
        "例如：武汉返回，发热38.5℃",
        "e.g. back from Wuhan, fever 38.5 °C",
    ),
    ("epi.counts_csv", "导出计数 CSV", "Counts as CSV"),
    ("epi.alerts", "预警", "Alerts"),
    ("epi.no_alerts", "目前没有预警", "No alerts"),
    ("epi.syndrome", "症候群", "Syndrome"),
    ("epi.days_alarmed", "预警日期（天数）", "Days (count)"),
    ("epi.method", "方法", "Method"),
    ("epi.count_threshold", "计数 / 阈值", "Count / threshold"),
    ("epi.alert.open", "待确认", "Open"),
    ("epi.alert.acknowledged", "已确认", "Acknowledged"),
    ("epi.alert.closed", "已关闭", "Closed"),
    ("epi.acknowledge", "确认", "Acknowledge"),
    ("epi.close_alert", "关闭", "Close"),
    ("epi.close_note", "处置结论", "How it was resolved"),
    (
        "epi.chart_legend",
        "柱：每日计数；虚线：C2 阈值；红点：预警日",
        "Bars: daily counts; dashed: C2 threshold; red: alarm days",
    ),
    ("epi.regions", "各地区近7天计数", "Regions, last 7 days"),
    (
        "epi.no_counts",
        "近7天没有计数",
        "No counts in the last 7 days",
    ),
    ("epi.today", "今日", "Today"),
    ("epi.last_7_days", "近7天", "Last 7 days"),
    ("epi.alerting", "预警中", "Alerting"),
    ("epi.syndrome.suspected", "疑似病例", "Suspected cases"),
    ("epi.syndrome.cluster", "聚集性发病", "Clusters"),
    (
        "epi.syndrome.respiratory",
        "呼吸道（流感样）",
        "Respiratory (ILI)",
    ),
    ("epi.syndrome.diarrhoeal", "腹泻", "Diarrhoeal"),
    ("epi.syndrome.rash_fever", "发热伴出疹", "Fever with rash"),
    ("epi.syndrome.hfmd", "手足口病样", "HFMD-like"),
    ("epi.report_cards", "导出传染病报告卡", "Report cards (CSV)"),
    (
        "epi.syndrome.rx_antipyretic",
        "退热药处方",
        "Antipyretic prescriptions",
    ),
    (
        "epi.syndrome.rx_antiviral",
        "抗病毒药处方",
        "Antiviral prescriptions",
    ),
    (
        "epi.syndrome.rx_antidiarrhoeal",
        "止泻药处方",
        "Antidiarrhoeal prescriptions",
    ),
    ("disp.title", "发药与配送", "Dispensing"),
    (
        "disp.none",
        "没有待处理的发药任务",
        "Nothing waiting to be dispensed",
    ),
    ("disp.how", "取药方式", "How to get the medicine"),
    ("disp.pharmacy", "取药药房", "Pharmacy"),
    ("disp.tracking", "配送与取药", "Delivery"),
    ("disp.your_code", "取药码：", "Your pickup code:"),
    ("disp.confirm", "确认收货", "I have received it"),
    ("disp.method.delivery", "配送到家", "Delivered home"),
    ("disp.method.pickup", "到院自取", "Pick up at the hospital"),
    ("disp.pick", "调配完成", "Picked"),
    ("disp.pack", "打包完成", "Packed"),
    ("disp.dispatch", "交付快递", "Hand to courier"),
    ("disp.code", "取药码", "Pickup code"),
    ("disp.collect", "核码发药", "Hand over"),
    (
        "disp.cancel_reason",
        "取消原因（将全额退款）",
        "Reason (the patient is refunded)",
    ),
    ("disp.cancel", "取消并退款", "Cancel and refund"),
    (
        "disp.status.awaiting_payment",
        "待支付",
        "Waiting for payment",
    ),
    ("disp.status.queued", "待调配", "Waiting at the pharmacy"),
    ("disp.status.picked", "已调配", "Picked"),
    (
        "disp.status.packed",
        "已打包，待揽收",
        "Packed, waiting for the courier",
    ),
    (
        "disp.status.dispatched",
        "已交付快递",
        "Handed to the courier",
    ),
    (
        "disp.status.picked_up",
        "快递已揽收",
        "Picked up by the courier",
    ),
    ("disp.status.in_transit", "运输中", "On the way"),
    ("disp.status.delivered", "已送达", "Delivered"),
    ("disp.status.failed", "配送失败", "Delivery failed"),
    ("disp.status.received", "已签收", "Received"),
    ("disp.status.ready_for_pickup", "待取药", "Ready to collect"),
    ("disp.status.collected", "已取药", "Collected"),
    (
        "disp.status.cancelled",
        "已取消（已退款）",
        "Cancelled (refunded)",
    ),
    ("courier.title", "快递沙箱", "Sandbox courier"),
    (
        "courier.sandbox",
        "这是内置的快递沙箱：工作人员在此代替快递员上报揽收、运输、送达或失败，系统以签名回调接收。",
        "This is the built-in sandbox courier: staff stand in for the courier and report each step, which arrives as a signed update.",
    ),
    ("courier.tracking", "快递单号", "Tracking number"),
    ("courier.note", "备注（可选）", "Note (optional)"),
    ("nav.dispensing", "发药配送", "Dispensing"),
    ("rx.freq.qd", "每日一次", "once a day"),
    ("rx.freq.bid", "每日两次", "twice a day"),
    ("rx.freq.tid", "每日三次", "three times a day"),
    ("rx.freq.qid", "每日四次", "four times a day"),
    ("rx.freq.qn", "每晚一次", "at night"),
    ("rx.freq.q8h", "每8小时一次", "every 8 hours"),
    ("rx.freq.q12h", "每12小时一次", "every 12 hours"),
    ("rx.freq.qw", "每周一次", "once a week"),
    ("rx.freq.prn", "必要时", "when needed"),
    ("nav.consultations", "我的问诊", "My consultations"),
    ("nav.doctor_consultations", "问诊工作台", "Consultations"),
    ("consult.mine", "我的问诊", "My consultations"),
    ("consult.workbench", "问诊工作台", "Consultation workbench"),
    ("consult.queue", "候诊请求", "Waiting requests"),
    (
        "consult.queue_empty",
        "暂无候诊请求。",
        "Nobody is waiting.",
    ),
    ("consult.active", "进行中的问诊", "My ongoing consultations"),
    ("consult.none", "还没有问诊。", "No consultations yet."),
    (
        "consult.start_hint",
        "在医生主页选择图文、视频或复诊服务即可发起问诊。",
        "Start one from a doctor's page: text, video or follow-up service.",
    ),
    ("consult.years", "岁", "years"),
    ("consult.waiting", "已等待", "waiting"),
    ("consult.minutes", "分钟", "min"),
    (
        "consult.queue_crisis",
        "心理危机风险：患者提到伤害自己的想法，请优先接诊",
        "Crisis risk: the patient mentions thoughts of self-harm; take this first",
    ),
    (
        "consult.overdue",
        "已超过首次回复时限",
        "First reply overdue",
    ),
    (
        "consult.epi_risk",
        "流行病学史阳性：请重点关注",
        "Epidemiological history: pay attention",
    ),
    ("consult.accept", "接诊", "Accept"),
    ("consult.kind.consultation", "咨询", "Consultation"),
    ("consult.kind.follow_up", "复诊", "Follow-up visit"),
    ("consult.kind.free_clinic", "义诊", "Free clinic"),
    ("consult.kind.counselling", "心理疏导", "Counselling"),
    ("consult.status.requested", "待接诊", "Waiting for a doctor"),
    ("consult.status.accepted", "已接诊", "Accepted"),
    ("consult.status.in_progress", "问诊中", "In progress"),
    ("consult.status.completed", "已完成", "Completed"),
    (
        "consult.status.referred_offline",
        "已转线下就诊",
        "Referred to an in-person visit",
    ),
    ("consult.status.cancelled", "已取消", "Cancelled"),
    ("consult.status.expired", "已过期", "Expired"),
    ("consult.new", "发起问诊", "Start a consultation"),
    (
        "consult.in_appointment",
        "本次问诊在您已预约的线上号源中进行，无需另付费用。",
        "This consultation takes place in your booked online appointment.",
    ),
    (
        "consult.counselling",
        "心理状况",
        "How you have been feeling",
    ),
    ("consult.concern", "想聊的困扰", "What troubles you"),
    (
        "consult.phq_intro",
        "过去两周里，以下问题困扰您的频率：",
        "Over the last two weeks, how often have you been bothered by:",
    ),
    (
        "consult.phq_interest",
        "做事时提不起劲或没有兴趣",
        "Little interest or pleasure in doing things",
    ),
    (
        "consult.phq_down",
        "感到心情低落、沮丧或绝望",
        "Feeling down, depressed or hopeless",
    ),
    ("consult.phq_0", "完全不会", "Not at all"),
    ("consult.phq_1", "好几天", "Several days"),
    ("consult.phq_2", "一半以上的天数", "More than half the days"),
    ("consult.phq_3", "几乎每天", "Nearly every day"),
    (
        "consult.self_harm",
        "有不如死掉或用某种方式伤害自己的念头",
        "Thoughts that you would be better off dead, or of hurting yourself",
    ),
    (
        "consult.start_in_appointment",
        "开始问诊",
        "Start the consultation",
    ),
    ("consult.open", "进入问诊", "Open the consultation"),
    (
        "consult.condition",
        "复诊疾病（ICD-10 编码）",
        "Condition of the follow-up (ICD-10 code)",
    ),
    (
        "consult.condition_hint",
        "复诊仅限线下已确诊的疾病，如高血压 I10、2 型糖尿病 E11.9。",
        "Follow-up visits are only for a condition diagnosed in person, e.g. hypertension I10.",
    ),
    (
        "consult.complaint",
        "主诉（哪里不舒服）",
        "What brings you here",
    ),
    ("consult.symptoms", "症状", "Symptoms"),
    (
        "consult.list_hint",
        "多个请用逗号或顿号分隔",
        "Separate several with commas",
    ),
    (
        "consult.temperature",
        "体温（°C，如已测量）",
        "Temperature (°C, if measured)",
    ),
    ("consult.epi", "近 14 天流行病学史", "The last 14 days"),
    (
        "consult.epi_travel",
        "去过或来自有疫情的地区",
        "Travelled to or came from an area with an outbreak",
    ),
    ("consult.epi_region", "地区", "Where"),
    ("consult.epi_returned", "返回日期", "Came back on"),
    (
        "consult.epi_contact",
        "接触过确诊病例",
        "Contact with a confirmed case",
    ),
    (
        "consult.epi_cluster",
        "身边多人出现类似症状",
        "Several people around me are ill the same way",
    ),
    ("consult.allergies", "过敏史", "Allergies"),
    ("consult.medications", "正在使用的药物", "Current medicines"),
    ("consult.submit", "提交问诊", "Send the request"),
    ("consult.title", "问诊", "Consultation"),
    ("consult.intake", "问诊单", "Intake"),
    ("consult.image", "图片", "Picture"),
    ("consult.message", "消息", "Message"),
    ("consult.send", "发送", "Send"),
    ("consult.send_image", "发送图片", "Send a picture"),
    ("consult.note", "诊疗记录", "Clinical note"),
    ("consult.subjective", "主观资料", "Subjective"),
    ("consult.objective", "客观资料", "Objective"),
    ("consult.assessment", "评估", "Assessment"),
    (
        "consult.diagnoses",
        "诊断（每行：ICD-10 编码 名称）",
        "Diagnoses (one per line: ICD-10 code and name)",
    ),
    ("consult.plan", "处理计划", "Plan"),
    ("consult.save_note", "保存记录", "Save the note"),
    ("consult.complete", "结束问诊", "Complete"),
    ("consult.cancel", "取消问诊", "Cancel the consultation"),
    ("consult.call_start", "视频通话", "Video call"),
    (
        "consult.call_incoming",
        "对方发起了视频通话",
        "Incoming video call",
    ),
    ("consult.call_answer", "接听", "Answer"),
    ("consult.call_hang_up", "挂断", "Hang up"),
    ("consult.call_calling", "正在呼叫…", "Calling…"),
    ("consult.call_connected", "已接通", "Connected"),
    ("consult.call_ended", "通话已结束", "Call ended"),
    (
        "consult.call_denied",
        "无法使用摄像头或麦克风：请在浏览器设置中允许本站使用。",
        "Camera or microphone blocked: allow this site in the browser's settings.",
    ),
    (
        "consult.call_nodevice",
        "没有找到摄像头或麦克风。",
        "No camera or microphone found.",
    ),
    (
        "consult.call_failed",
        "通话连接失败，请检查网络后重试。",
        "The call could not connect; check the network and try again.",
    ),
    ("appointments.title", "我的预约", "My appointments"),
    ("appointments.none", "还没有预约。", "No appointments yet."),
    ("appointments.cancel", "取消预约", "Cancel"),
    ("appointments.status.booked", "已预约", "Booked"),
    ("appointments.status.cancelled", "已取消", "Cancelled"),
    ("appointments.status.checked_in", "已签到", "Checked in"),
    ("appointments.status.no_show", "未到诊", "Missed"),
    ("appointments.status.completed", "已完成", "Completed"),
    ("booking.free_times", "可预约时间", "Free times"),
    (
        "booking.no_slots",
        "近 14 天暂无可预约时间。",
        "No free times in the next 14 days.",
    ),
    ("booking.sign_in", "登录后预约", "Sign in to book"),
    (
        "booking.not_released",
        "尚未放号",
        "Not yet open for booking",
    ),
    ("booking.for", "就诊人", "Patient"),
    ("booking.book", "预约", "Book"),
    ("booking.in_person", "到院就诊", "In person"),
    ("booking.days", "选择日期", "Choose a day"),
    ("appointments.reschedule", "改约", "Reschedule"),
    (
        "appointments.reschedule_submit",
        "改到这个时间",
        "Move to this time",
    ),
    (
        "appointments.cancelled_by_hospital",
        "医院停诊取消，费用原路退回",
        "Cancelled by the hospital; any payment is refunded",
    ),
    ("waitlist.title", "候补", "Waitlist"),
    ("weekday.1", "周一", "Monday"),
    ("weekday.2", "周二", "Tuesday"),
    ("weekday.3", "周三", "Wednesday"),
    ("weekday.4", "周四", "Thursday"),
    ("weekday.5", "周五", "Friday"),
    ("weekday.6", "周六", "Saturday"),
    ("weekday.7", "周日", "Sunday"),
    (
        "waitlist.join",
        "约满了？加入候补",
        "Full? Join the waitlist",
    ),
    ("waitlist.date", "候补日期", "Day"),
    (
        "waitlist.waiting",
        "排队中，有空位时会短信通知您。",
        "Waiting: you will get a message when a place frees up.",
    ),
    (
        "waitlist.offered",
        "已为您保留一个号源，请在此时间前确认：",
        "A place is held for you; confirm before",
    ),
    ("waitlist.accept", "确认预约", "Book it"),
    ("waitlist.leave", "放弃候补", "Leave the waitlist"),
    ("doctor_schedule.title", "我的排班", "My schedule"),
    ("doctor_schedule.today", "今日就诊", "Today's patients"),
    (
        "doctor_schedule.none_today",
        "今天没有预约。",
        "No appointments today.",
    ),
    ("doctor_schedule.next_days", "未来 14 天", "Next 14 days"),
    (
        "doctor_schedule.booked_of",
        "已约 / 号源",
        "Booked / places",
    ),
    (
        "doctor_schedule.verify",
        "完成身份核验后显示患者姓名",
        "Verify your identity to see patients' names",
    ),
    ("doctor_schedule.patient", "患者", "Patient"),
    ("doctor_schedule.check_in", "签到", "Check in"),
    ("doctor_schedule.no_show", "标记未到", "Mark missed"),
    ("nav.doctor_schedule", "我的排班", "My schedule"),
    ("nav.schedules_admin", "排班管理", "Schedules"),
    (
        "admin_schedules.title",
        "排班与放号",
        "Schedules and release",
    ),
    ("admin_schedules.none", "还没有排班。", "No schedules yet."),
    (
        "admin_schedules.create",
        "为医生服务建立排班",
        "Open a schedule for a doctor's service",
    ),
    ("admin_schedules.service", "服务", "Service"),
    ("admin_schedules.doctor", "医生", "Doctor"),
    (
        "admin_schedules.generated_until",
        "号源生成至",
        "Slots until",
    ),
    ("admin_schedules.release", "放号规则", "Release rule"),
    (
        "admin_schedules.holiday",
        "全院停诊（节假日）",
        "Hospital closed (holiday)",
    ),
    (
        "admin_schedules.templates",
        "每周出诊模板",
        "Weekly sessions",
    ),
    (
        "admin_schedules.add_template",
        "添加出诊时段",
        "Add a weekly session",
    ),
    ("admin_schedules.weekday", "星期", "Weekday"),
    ("admin_schedules.start", "开始", "Start"),
    ("admin_schedules.end", "结束", "End"),
    (
        "admin_schedules.slot_minutes",
        "每号分钟数",
        "Minutes per slot",
    ),
    ("admin_schedules.capacity", "每号人数", "Patients per slot"),
    ("admin_schedules.mode", "方式", "Mode"),
    ("admin_schedules.online", "线上", "Online"),
    ("admin_schedules.location", "诊室", "Room"),
    ("admin_schedules.remove", "删除", "Remove"),
    ("admin_schedules.rules", "放号规则", "Release rules"),
    (
        "admin_schedules.horizon_days",
        "号源生成天数",
        "Days of slots ahead",
    ),
    (
        "admin_schedules.release_days",
        "提前几天放号",
        "Released days ahead",
    ),
    ("admin_schedules.release_time", "放号时间", "Release time"),
    ("admin_schedules.save", "保存", "Save"),
    ("admin_schedules.close", "停诊（请假）", "Close (leave)"),
    ("admin_schedules.date", "日期", "Date"),
    (
        "admin_schedules.reason",
        "原因（会告知患者）",
        "Reason (patients are told)",
    ),
    (
        "admin_schedules.whole_day",
        "不填开始、结束则全天停诊",
        "Leave start and end empty for the whole day",
    ),
    ("error.back_home", "返回首页", "Back to the home page"),
    ("error.request_id", "请求编号", "Request ID"),
    ("error.fields", "请检查以下内容", "Please check"),
    (
        "error.bad-request",
        "请求格式有误",
        "The request is malformed",
    ),
    (
        "error.validation",
        "填写的内容有误",
        "Some fields are invalid",
    ),
    ("error.unauthorized", "请先登录", "Please sign in"),
    (
        "error.forbidden",
        "无权访问",
        "You are not allowed to do this",
    ),
    ("error.not-found", "页面不存在", "Page not found"),
    (
        "error.method-not-allowed",
        "不支持该操作",
        "This action is not supported here",
    ),
    (
        "error.timeout",
        "请求超时，请稍后重试",
        "The request took too long; please try again",
    ),
    (
        "error.conflict",
        "操作与当前状态冲突",
        "This conflicts with the current state",
    ),
    (
        "error.payload-too-large",
        "提交的内容过大",
        "What you sent is too large",
    ),
    (
        "error.unsupported-media-type",
        "不支持的内容格式",
        "Unsupported content format",
    ),
    (
        "error.too-many-requests",
        "操作过于频繁，请稍后再试",
        "Too many attempts; please wait a moment",
    ),
    (
        "error.internal",
        "系统出了点问题，我们已记录，请稍后重试",
        "Something went wrong on our side; it has been logged, please try again later",
    ),
    (
        "error.step-up-required",
        "请先完成身份核验",
        "Please confirm your identity first",
    ),
    (
        "error.unavailable",
        "服务暂时不可用，请稍后重试",
        "The service is temporarily unavailable; please try again later",
    ),
    // Smart triage (智慧导医)
    ("nav.triage", "智能导诊", "Which department?"),
    (
        "triage.at_hospital",
        "不知道挂哪个科？智能导诊",
        "Not sure which department? Ask the triage",
    ),
    (
        "triage.title",
        "智能导诊：该挂哪个科？",
        "Smart triage: which department?",
    ),
    (
        "triage.greeting",
        "您好，我是导诊助手。请用自己的话说说哪里不舒服、多久了，我帮您找到合适的科室和医生。",
        "Hello, I am the triage assistant. Tell me in your own words what is wrong and for how long, and I will find the right department and doctor.",
    ),
    ("triage.describe", "哪里不舒服？", "What is wrong?"),
    (
        "triage.placeholder",
        "例如：宝宝发烧两天了，39 度，还拉肚子",
        "For example: my baby has had a fever for two days, 39 °C, and diarrhoea",
    ),
    (
        "triage.who",
        "为谁咨询（可不填）",
        "Who is it for (optional)",
    ),
    ("triage.age_years", "年龄（岁）", "Age (years)"),
    (
        "triage.age_months",
        "月龄（1 岁以下的宝宝）",
        "Age in months (babies under 1)",
    ),
    ("triage.sex", "性别", "Sex"),
    ("triage.sex.unsaid", "不填", "Not given"),
    ("triage.sex.female", "女", "Female"),
    ("triage.sex.male", "男", "Male"),
    ("triage.pregnant", "正在怀孕", "Pregnant"),
    ("triage.send", "发送", "Send"),
    ("triage.your_answer", "您的回答", "Your answer"),
    (
        "triage.more",
        "能再多说一点吗？哪里不舒服，多久了？",
        "Can you tell me a little more? What is wrong, and for how long?",
    ),
    (
        "triage.checklist",
        "在给出建议之前，请确认：现在有没有下面这些情况？",
        "Before the advice, please check: is any of the following happening now?",
    ),
    (
        "triage.checklist_legend",
        "有的请勾选，都没有就直接提交",
        "Tick any that apply; if none, just send",
    ),
    (
        "triage.checklist_send",
        "提交，查看建议",
        "Send and see the advice",
    ),
    (
        "triage.urgency.emergency",
        "紧急：请立即拨打 120 或去急诊",
        "Emergency: call 120 or go to the emergency department now",
    ),
    ("triage.urgency.urgent", "建议今天就诊", "Be seen today"),
    (
        "triage.urgency.routine",
        "可以预约近几天的门诊",
        "Book a visit in the coming days",
    ),
    ("triage.call_120", "拨打 120", "Call 120"),
    ("triage.crisis.title", "你并不孤单", "You are not alone"),
    (
        "triage.crisis.body",
        "如果你现在有伤害自己的危险，请立即拨打 120 或 110。全国心理援助热线 12356 和北京心理危机研究与干预中心 010-82951332 随时可以接听。",
        "If you might hurt yourself now, call 120 or 110. The national mental-health helpline 12356 and the Beijing crisis line 010-82951332 answer at any time.",
    ),
    (
        "triage.screening",
        "您有发热或呼吸道症状，并有疫区旅居或接触史：请先到发热门诊就诊，途中佩戴口罩，尽量避免乘坐公共交通。",
        "You have fever or breathing symptoms after travel to an outbreak area or contact with a case: go to the fever clinic first, wear a mask on the way and avoid public transport if you can.",
    ),
    (
        "triage.where",
        "建议就诊的科室和医生",
        "Departments and doctors to see",
    ),
    (
        "triage.no_place",
        "附近医院暂未开设此科室。",
        "No hospital here has this department yet.",
    ),
    (
        "triage.no_free_time",
        "近 14 天暂无可预约的号源。",
        "No free time in the next 14 days.",
    ),
    ("triage.book", "预约", "Book"),
    (
        "triage.consult",
        "在线咨询该科医生",
        "Ask a doctor of this department online",
    ),
    ("triage.again", "重新描述", "Start again"),
    (
        "triage.error.text",
        "请用几句话描述哪里不舒服（最多 2000 字）。",
        "Describe in a few words what is wrong (at most 2,000 characters).",
    ),
    (
        "triage.error.age",
        "年龄请填写整数（0 到 130 岁）。",
        "Enter the age as a whole number (0 to 130 years).",
    ),
];

static CATALOG: LazyLock<HashMap<&'static str, (&'static str, &'static str)>> =
    LazyLock::new(|| {
        MESSAGES
            .iter()
            .map(|(k, zh, en)| (*k, (*zh, *en)))
            .collect()
    });

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn catalog_keys_are_unique_and_complete() {
        assert_eq!(CATALOG.len(), MESSAGES.len(), "duplicate key in MESSAGES");
        for (key, zh, en) in MESSAGES {
            assert!(
                !zh.is_empty() && !en.is_empty(),
                "{key} lacks a translation"
            );
        }
        for code in crate::error::ErrorCode::ALL {
            assert!(CATALOG.contains_key(format!("error.{}", code.slug()).as_str()));
        }
    }

    #[test]
    fn negotiation_prefers_cookie_then_quality() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::negotiate(&h), Lang::Zh);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("fr, en-GB;q=0.8, zh;q=0.5"),
        );
        assert_eq!(Lang::negotiate(&h), Lang::En);
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("zh-CN,zh;q=0.9,en;q=0.8"),
        );
        assert_eq!(Lang::negotiate(&h), Lang::Zh);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; yunyi_lang=en"),
        );
        assert_eq!(Lang::negotiate(&h), Lang::En);
    }
}
