//! Two-way referrals in FHIR (issue #20): the referral as a `ServiceRequest` (category patient
//! referral, requester the referring hospital, performer the receiving one) and its workflow as
//! a `Task` (owner the receiving hospital, what it arranged as the output). Both have the id
//! `referral-<n>`; they share the routes and searches of the remote consultations' resources
//! (`fhir::teleconsult`), and reads go through the referral service (same access, same audit).

use serde_json::{Value, json};

use super::teleconsult::{organization, practitioner, supporting_info};
use crate::referral::model::{Direction, Status};
use crate::referral::service::{ReferralSummary, ReferralView};

pub const PREFIX: &str = "referral-";

pub fn id_of(r: &ReferralSummary) -> String {
    format!("{PREFIX}{}", r.id)
}

/// The request's status (`request-status`).
pub fn request_status(s: Status) -> &'static str {
    match s {
        Status::Sent | Status::Accepted => "active",
        Status::Arrived => "completed",
        Status::Declined | Status::Cancelled => "revoked",
    }
}

/// The workflow's status (`task-status`); the step itself is the `businessStatus`.
pub fn task_status(s: Status) -> &'static str {
    match s {
        Status::Sent => "requested",
        Status::Accepted => "accepted",
        Status::Arrived => "completed",
        Status::Declined => "rejected",
        Status::Cancelled => "cancelled",
    }
}

fn patient(r: &ReferralSummary) -> Value {
    json!({"reference": format!("Patient/{}", r.patient.id), "display": r.patient.name})
}

fn what(r: &ReferralSummary) -> &'static str {
    match r.direction {
        Direction::Up => "上转 (up-referral)",
        Direction::Down => "下转 (down-referral)",
    }
}

pub fn service_request(v: &ReferralView) -> Value {
    let r = &v.summary;
    let mut performer = vec![organization(r.to_hospital.id, &r.to_hospital.name)];
    if let Some(d) = &r.to_department {
        performer.push(json!({"display": d.name}));
    }
    let mut out = json!({
        "resourceType": "ServiceRequest",
        "id": id_of(r),
        "status": request_status(r.status),
        "intent": "order",
        "category": [{"coding": [{
            "system": "http://snomed.info/sct", "code": "3457005", "display": "Patient referral",
        }]}],
        "priority": "routine",
        "code": {"text": format!("双向转诊 {} · {}", what(r), r.kind.as_str())},
        "subject": patient(r),
        "authoredOn": r.created_at,
        "requester": organization(r.from_hospital.id, &r.from_hospital.name),
        "performer": performer,
        "reasonCode": [{"text": v.request}],
        "note": [{"text": v.summary_text}],
    });
    if let Some(obj) = out.as_object_mut()
        && !v.items.is_empty()
    {
        obj.insert("supportingInfo".into(), supporting_info(&v.items));
    }
    out
}

pub fn task(v: &ReferralView) -> Value {
    let r = &v.summary;
    let mut out = json!({
        "resourceType": "Task",
        "id": id_of(r),
        "status": task_status(r.status),
        "businessStatus": {"coding": [{
            "system": "urn:yunyi:referral-status", "code": r.status.as_str(),
        }]},
        "intent": "order",
        "focus": {"reference": format!("ServiceRequest/{}", id_of(r))},
        "for": patient(r),
        "authoredOn": r.created_at,
        "requester": practitioner(r.from_doctor.id, &r.from_doctor.name),
        "owner": organization(r.to_hospital.id, &r.to_hospital.name),
    });
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    if let Some(last) = v.history.last() {
        obj.insert("lastModified".into(), json!(last.at));
    }
    if let Some(reason) = &v.reason {
        obj.insert("statusReason".into(), json!({"text": reason}));
    }
    if let Some(arranged) = &v.arranged {
        obj.insert(
            "output".into(),
            json!([{"type": {"text": "arranged"}, "valueString": arranged}]),
        );
    }
    out
}
