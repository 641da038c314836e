//! Smart triage (智慧导医分诊) in the app: the `triage` crate's answer joined with a hospital's
//! departments and doctors with free time, the record of each triage and the patient's choice,
//! the API, the chat-like page, and the `yunyi triage` command for evaluation.

pub mod cli;
