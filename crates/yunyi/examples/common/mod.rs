//! Names the benchmark programs that build a directory share (`mod common;` in each).

/// Standard department codes and names, ten per generated hospital.
pub const DEPARTMENTS: [(&str, &str); 10] = [
    ("03.01", "呼吸内科"),
    ("03.04", "心血管内科"),
    ("03.07", "内分泌科"),
    ("04", "外科"),
    ("05", "妇产科"),
    ("07", "儿科"),
    ("10", "眼科"),
    ("13", "皮肤科"),
    ("15", "精神科"),
    ("16", "感染科"),
];
pub const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗",
];
pub const GIVEN: [&str; 20] = [
    "伟", "芳", "娜", "敏", "静", "强", "磊", "洋", "艳", "军", "杰", "娟", "涛", "明", "超",
    "秀英", "霞", "平", "刚", "桂英",
];
