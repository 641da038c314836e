//! The OpenAPI 3.1 document of the JSON API, generated from the handlers and their types.
//!
//! Each context's `api.rs` annotates its handlers with `#[utoipa::path]` and lists them in an
//! `ApiDoc`; this module merges those documents, names every operation after its context,
//! adds what every operation shares (the problem+json error answer, bearer sign-in) and
//! serves the result at `/api/openapi.json` with a vendored Swagger UI at `/api/docs`.
//! `tests/it/openapi.rs` fails when a route exists that the document lacks, or the reverse.

use std::sync::OnceLock;

use axum::Router;
use serde::Serialize;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, Ref, ResponseBuilder, Tag,
};
use utoipa::{IntoParams, OpenApi as _, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::app::AppState;

/// The number in a path's `{id}` (see [`crate::extract::PathId`]).
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // read by the document only
pub struct IdParam {
    /// The object's id, a positive integer. Any other value is simply not found (404).
    id: i64,
}

/// Key-set paging: `?limit=N&after=ID` (see docs/API.md).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by the document only
pub struct PageParams {
    /// How many items, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The `next_after` of the previous page (0 is the start).
    #[param(minimum = 0)]
    after: Option<i64>,
}

/// One invalid field of a validation error.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // read by the document only
pub struct FieldErrorDoc {
    /// The field as the client named it.
    field: String,
    message: String,
}

/// An error answer (RFC 9457 problem details); `code` is stable, see docs/ERRORS.md.
#[derive(Serialize, ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)] // read by the document only
pub struct ProblemDoc {
    /// The class of error, e.g. `urn:yunyi:problem:validation`.
    r#type: String,
    title: String,
    status: u16,
    /// The most specific machine code: a reason such as `slot-taken`, else the class's code.
    code: String,
    /// English, or Chinese when the request sends `Accept-Language: zh`.
    detail: String,
    /// The request path.
    instance: String,
    /// Matches the `x-request-id` response header and the server's logs.
    request_id: Option<String>,
    /// For validation errors: one entry per invalid field.
    errors: Option<Vec<FieldErrorDoc>>,
}

/// Each context's part of the document, with the tag its operations are grouped under.
fn parts() -> Vec<(&'static str, &'static str, OpenApi)> {
    vec![
        (
            "identity",
            "Accounts, sign-in, family members and identity claims",
            crate::identity::api::ApiDoc::openapi(),
        ),
        (
            "smart",
            "OAuth 2 tokens and SMART on FHIR apps",
            crate::smart::api::ApiDoc::openapi(),
        ),
        (
            "directory",
            "Hospitals, departments, doctors and services",
            crate::directory::api::ApiDoc::openapi(),
        ),
        (
            "scheduling",
            "Schedules, slots, appointments and the waitlist",
            crate::scheduling::api::ApiDoc::openapi(),
        ),
        (
            "triage",
            "Smart triage",
            crate::triage::api::ApiDoc::openapi(),
        ),
        (
            "consult",
            "Online consultations, chat, notes and prior records",
            crate::consult::api::ApiDoc::openapi(),
        ),
        (
            "pharmacy",
            "Formulary, prescriptions and pharmacist review",
            crate::pharmacy::api::ApiDoc::openapi(),
        ),
        (
            "billing",
            "Orders, payments, refunds and reconciliation",
            crate::billing::api::ApiDoc::openapi(),
        ),
        (
            "dispensing",
            "Addresses, dispensing and delivery",
            crate::dispensing::api::ApiDoc::openapi(),
        ),
        (
            "surveillance",
            "Infectious-disease reports, counts and early-warning alerts",
            crate::surveillance::api::ApiDoc::openapi(),
        ),
        (
            "notification",
            "The notification centre: inbox, unread count and channel preferences",
            crate::notification::api::ApiDoc::openapi(),
        ),
        (
            "education",
            "Health education: articles, their review and targeted pushes",
            crate::education::api::ApiDoc::openapi(),
        ),
        (
            "groups",
            "Patient groups: members by nickname, the conversation, polls, live Q&A and moderation",
            crate::groups::api::ApiDoc::openapi(),
        ),
        (
            "teleconsult",
            "Remote consultations between hospitals: consent, the invited side's answer, the session and the opinion report",
            crate::teleconsult::api::ApiDoc::openapi(),
        ),
        (
            "referral",
            "Two-way referral between hospitals: up to a tertiary hospital, down for follow-up",
            crate::referral::api::ApiDoc::openapi(),
        ),
        (
            "training",
            "Remote training: courses of supporting hospitals, lessons in ranges, quizzes, credit hours",
            crate::training::api::ApiDoc::openapi(),
        ),
        (
            "care",
            "Whole-course care: care teams and family-doctor contracts",
            crate::care::api::ApiDoc::openapi(),
        ),
        (
            "care-plans",
            "Whole-course care: care plans, home readings, follow-ups, the team's tasks",
            crate::care::plan_api::ApiDoc::openapi(),
        ),
        (
            "care-reports",
            "Whole-course care: lab, imaging and pathology reports and their interpretation",
            crate::care::report_api::ApiDoc::openapi(),
        ),
        (
            "audit",
            "The audit trail",
            crate::audit::api::ApiDoc::openapi(),
        ),
    ]
}

/// The whole document.
pub fn document() -> OpenApi {
    build().0
}

/// Schema names that two contexts define differently: the merged document would keep one
/// and describe the other's answers wrongly. A unit test keeps this empty.
pub fn name_clashes() -> Vec<String> {
    build().1
}

fn build() -> (OpenApi, Vec<String>) {
    let mut clashes = Vec::new();
    let mut doc = OpenApi::new(
        InfoBuilder::new()
            .title("Yunyi (云医) JSON API")
            .version(env!("CARGO_PKG_VERSION"))
            .description(Some(
                "The JSON API of the Yunyi internet hospital. Conventions (errors, paging, \
                 idempotency keys) are in docs/API.md; the FHIR R4 API is described by \
                 `GET /fhir/metadata`.",
            ))
            .build(),
        utoipa::openapi::Paths::new(),
    );
    let mut tags = Vec::new();
    for (name, description, mut part) in parts() {
        for item in part.paths.paths.values_mut() {
            for operation in operations(item) {
                operation.tags = Some(vec![name.to_owned()]);
                // Handler names repeat across contexts (`list`, `read`); ids must not.
                let id = operation.operation_id.take().unwrap_or_default();
                operation.operation_id = Some(format!("{name}.{id}"));
                add_error_answer(operation);
            }
        }
        if let (Some(have), Some(new)) = (&doc.components, &part.components) {
            for (schema, value) in &new.schemas {
                if have.schemas.get(schema).is_some_and(|old| old != value) {
                    clashes.push(format!("{schema} (again in {name})"));
                }
            }
        }
        let mut tag = Tag::new(name);
        tag.description = Some(description.to_owned());
        tags.push(tag);
        doc.merge(part);
    }
    doc.tags = Some(tags);
    let components = doc.components.take().unwrap_or_default();
    let mut builder = ComponentsBuilder::from(components)
        .schema_from::<ProblemDoc>()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `POST /auth/token`. Pages use the session cookie instead.",
                    ))
                    .build(),
            ),
        );
    builder = builder.schema_from::<FieldErrorDoc>();
    doc.components = Some(builder.build());
    // Most operations need a signed-in account; the public ones answer without one as well.
    doc.security = Some(vec![
        SecurityRequirement::new("bearer", Vec::<String>::new()),
        SecurityRequirement::default(),
    ]);
    (doc, clashes)
}

/// Every operation answers errors as problem+json.
fn add_error_answer(operation: &mut Operation) {
    let error = ResponseBuilder::new()
        .description("An error, as problem details (see docs/ERRORS.md for the codes)")
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    operation
        .responses
        .responses
        .insert("default".to_owned(), error.into());
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The document as served, built once.
fn cached() -> &'static OpenApi {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    DOC.get_or_init(document)
}

/// `/api/openapi.json` and the Swagger UI at `/api/docs`.
pub fn router() -> Router<AppState> {
    SwaggerUi::new("/api/docs")
        .url("/api/openapi.json", cached().clone())
        .into()
}

/// Declares the `201 Created` answer that names a new object's id: `created!(Name, field)`
/// is `{"field": 42}` in the API and a schema called `Name` in the document.
#[macro_export]
macro_rules! created {
    ($(#[$meta:meta])* $name:ident, $field:ident) => {
        $(#[$meta])*
        #[derive(serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub $field: i64,
        }
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_two_contexts_give_one_schema_name_different_meanings() {
        assert_eq!(super::name_clashes(), Vec::<String>::new());
    }
}
