//! Notifications sent, in FHIR: each a `Communication` (id `n<id>`, apart from the
//! consultation messages' `<consultation>-<number>`) of category `notification` to its
//! recipient, `completed` once in the inbox, with a `medium` for each channel that carried
//! it — the in-app inbox always, SMS when it was sent — and each channel's outcome in a note.
//! Read by the recipient only: `Communication/n42`, `Communication?category=notification`.

use serde_json::{Value, json};

use crate::identity::Actor;
use crate::identity::model::Role;
use crate::notification::model::DeliveryStatus;
use crate::notification::service::Sent;
use crate::time::cst_rfc3339;

/// Whom the signed-in person is in FHIR: a patient's `Patient`, a doctor's `Practitioner`.
pub fn recipient(actor: &Actor) -> Value {
    let Some(me) = actor.signed_in.as_ref() else {
        return json!({"display": "—"});
    };
    let reference = match (me.role, me.person_id) {
        (Role::Patient, Some(person)) => Some(format!("Patient/{person}")),
        (Role::Doctor, _) => Some(format!("Practitioner/{}", me.account_id)),
        _ => None,
    };
    match reference {
        Some(r) => json!({"reference": r, "display": me.display_name}),
        None => json!({"display": me.display_name}),
    }
}

pub fn communication(n: &Sent, to: &Value) -> Value {
    let v = &n.view;
    let mut medium = vec![json!({"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode",
        "code": "ELECTRONIC", "display": "electronic data",
    }], "text": "in-app inbox"})];
    let mut notes = Vec::new();
    for d in &n.deliveries {
        if d.status == DeliveryStatus::Sent {
            medium.push(json!({"text": d.channel.as_str().to_uppercase()}));
        }
        let detail = d
            .detail
            .as_deref()
            .map(|x| format!(" ({x})"))
            .unwrap_or_default();
        notes.push(json!({"text": format!("{}: {}{detail}", d.channel, d.status)}));
    }
    let mut r = json!({
        "resourceType": "Communication",
        "id": format!("n{}", v.id),
        "status": "completed",
        "category": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/communication-category",
            "code": "notification", "display": "Notification",
        }], "text": v.event}],
        "priority": if v.urgent { "urgent" } else { "routine" },
        "medium": medium,
        "recipient": [to],
        "sent": cst_rfc3339(v.created_at),
        "payload": [{"contentString": format!("{}：{}", v.title, v.body)}],
    });
    if let Some(obj) = r.as_object_mut() {
        if let Some(read) = v.read_at {
            obj.insert("received".into(), json!(cst_rfc3339(read)));
        }
        if !notes.is_empty() {
            obj.insert("note".into(), Value::Array(notes));
        }
    }
    r
}
