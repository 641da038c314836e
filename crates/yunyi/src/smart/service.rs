//! SMART App Launch rules: registering apps, checking an authorization request, consent,
//! trading a code or a refresh token for tokens, revocation.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::scope::{Level, Scopes};
use super::store::{self, ClientRow, GrantRow};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::crypto;
use crate::error::{AppError, AppResult, FieldError};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::identity::service::deny;

/// How long a code may wait to be traded: the app does it at once.
pub const CODE_TTL_MS: i64 = 120_000;
/// How long a refresh token lasts (each use gives a new one).
pub const REFRESH_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
/// The most redirect URIs one app registers.
const MAX_REDIRECTS: usize = 10;

/// The scopes Yunyi can grant: what `/.well-known/smart-configuration` lists.
pub const SCOPES_SUPPORTED: &[&str] = &[
    "openid",
    "fhirUser",
    "launch/patient",
    "offline_access",
    "patient/*.rs",
    "patient/*.cruds",
    "user/*.rs",
    "user/*.cruds",
];

// ---------------------------------------------------------------------------------------------
// Registration (platform admin)

/// A new app.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewClient {
    /// Shown to people on the consent page.
    #[serde(default)]
    pub name: String,
    /// Exact `https://…` URIs (or `http://127.0.0.1`/`localhost` for development).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// The widest scopes the app may be granted, e.g. `launch/patient offline_access patient/*.rs`.
    #[serde(default)]
    pub scope: String,
    /// A confidential app (a server) gets a secret; a public one (a phone or browser app)
    /// relies on PKCE.
    #[serde(default)]
    pub confidential: bool,
}

/// A registered app; the secret is shown once, at registration.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub scope: String,
    pub confidential: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub created_at: i64,
}

impl ClientView {
    fn of(row: &ClientRow) -> Self {
        Self {
            client_id: row.client_id.clone(),
            name: row.name.clone(),
            redirect_uris: redirect_list(row),
            scope: row.scope.clone(),
            confidential: row.secret_hash.is_some(),
            client_secret: None,
            created_at: row.created_at,
        }
    }
}

fn redirect_list(row: &ClientRow) -> Vec<String> {
    row.redirect_uris.lines().map(str::to_owned).collect()
}

async fn require_platform_admin(state: &AppState, actor: &Actor, action: &str) -> AppResult<()> {
    let me = actor.require()?;
    if me.role == Role::PlatformAdmin {
        return Ok(());
    }
    deny(
        state,
        actor,
        action,
        "oauth_client",
        None,
        None,
        "only the platform admin registers apps",
    )
    .await?;
    Err(AppError::refused(
        crate::error::Reason::RoleRequired,
        "only the platform admin registers apps",
    ))
}

/// A redirect URI an app may register: absolute, no fragment, https — or http to this
/// machine, for development and native apps (RFC 8252).
fn valid_redirect(raw: &str) -> bool {
    let Ok(url) = url::Url::parse(raw) else {
        return false;
    };
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    url.fragment().is_none()
        && url.host_str().is_some()
        && (url.scheme() == "https" || (url.scheme() == "http" && loopback))
        && raw.len() <= 500
}

pub async fn register_client(
    state: &AppState,
    actor: &Actor,
    input: &NewClient,
) -> AppResult<ClientView> {
    require_platform_admin(state, actor, "smart.client.create").await?;
    let mut errors = Vec::new();
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::length("name", 1, 100).localized("smart.field.name", Vec::new()));
    }
    if input.redirect_uris.is_empty() || input.redirect_uris.len() > MAX_REDIRECTS {
        errors.push(
            FieldError::new(
                "redirect_uris",
                format!("must list 1 to {MAX_REDIRECTS} URIs"),
            )
            .localized(
                "smart.field.redirect_count",
                vec![("max", MAX_REDIRECTS.to_string())],
            ),
        );
    } else if let Some(bad) = input.redirect_uris.iter().find(|u| !valid_redirect(u)) {
        let bad = crate::text::clip(bad, 80);
        errors.push(
            FieldError::new(
                "redirect_uris",
                format!(
                    "'{bad}' must be an https URI without a fragment (or http to 127.0.0.1 or localhost)"
                ),
            )
            .localized("smart.field.redirect_uri", vec![("uri", bad)]),
        );
    }
    let scopes = Scopes::parse(&input.scope);
    if scopes.clauses.is_empty() {
        errors.push(
            FieldError::new(
                "scope",
                "must name at least one resource scope, e.g. patient/*.rs",
            )
            .localized("smart.field.scope", Vec::new()),
        );
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let me = actor.require()?;
    let client_id = format!("app-{}", &crypto::random_token()[..16]);
    let secret = input.confidential.then(crypto::random_token);
    let now = state.now_ms();
    let id = store::insert_client(
        &state.db,
        &client_id,
        name,
        secret.as_deref().map(crypto::sha256_hex).as_deref(),
        &input.redirect_uris.join("\n"),
        &scopes.to_string(),
        me.account_id,
        now,
    )
    .await?;
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "smart.client.create", "oauth_client")
            .object(id)
            .reason(format!("{name}: {scopes}")),
    )
    .await?;
    let row = store::client(&state.db, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the new app {id} vanished")))?;
    let mut view = ClientView::of(&row);
    view.client_secret = secret;
    Ok(view)
}

pub async fn list_clients(state: &AppState, actor: &Actor) -> AppResult<Vec<ClientView>> {
    require_platform_admin(state, actor, "smart.client.list").await?;
    Ok(store::clients(&state.db)
        .await?
        .iter()
        .map(ClientView::of)
        .collect())
}

// ---------------------------------------------------------------------------------------------
// The authorization request

/// `/auth/authorize`'s parameters (on the consent form they come back as hidden fields and
/// are checked again: nothing in them is trusted for having been ours).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct AuthorizeRequest {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub aud: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// OpenID Connect: echoed in the id_token.
    pub nonce: Option<String>,
}

/// Why an authorization request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The app or its redirect URI is not known: say so on a page, never redirect (RFC 6749
    /// §4.1.2.1: an unchecked redirect is an open redirector).
    Show(&'static str),
    /// Anything else goes back to the app.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

impl AuthorizeError {
    /// Where the browser goes with the error, or `None` when it must stay here.
    pub fn location(&self) -> Option<String> {
        match self {
            AuthorizeError::Show(_) => None,
            AuthorizeError::Redirect {
                redirect_uri,
                error,
                description,
                state,
            } => {
                let mut pairs = vec![("error", *error), ("error_description", description)];
                if let Some(s) = state {
                    pairs.push(("state", s));
                }
                Some(with_query(redirect_uri, &pairs))
            }
        }
    }
}

/// `uri` with `pairs` added to its query.
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(uri) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        Err(_) => uri.to_owned(),
    }
}

/// A request that passed every check: what the consent page shows and approval needs.
#[derive(Debug, Clone)]
pub struct Checked {
    pub client: ClientRow,
    pub redirect_uri: String,
    /// Asked for, within what the app may have.
    pub scopes: Scopes,
    pub state: Option<String>,
    pub code_challenge: String,
    pub request: AuthorizeRequest,
}

impl Checked {
    /// An error that goes back to the app, with its `state`.
    pub fn back(&self, error: &'static str, description: &str) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: self.state.clone(),
        }
    }
}

/// Checks an authorization request against the registered app. `fhir_base` is this server's
/// FHIR base URL, which `aud` must name (so a token is never given for another server).
pub async fn check_request(
    state: &AppState,
    req: &AuthorizeRequest,
    fhir_base: &str,
) -> AppResult<Result<Checked, AuthorizeError>> {
    let client = match req.client_id.as_deref() {
        Some(id) if !id.is_empty() && id.len() <= 100 => {
            store::client_by_client_id(&state.db, id).await?
        }
        _ => None,
    };
    let Some(client) = client.filter(|c| c.disabled_at.is_none()) else {
        return Ok(Err(AuthorizeError::Show("smart.error.unknown_app")));
    };
    let registered = redirect_list(&client);
    let redirect_uri = match req.redirect_uri.as_deref() {
        Some(uri) if registered.iter().any(|r| r == uri) => uri.to_owned(),
        None if registered.len() == 1 => registered[0].clone(),
        _ => return Ok(Err(AuthorizeError::Show("smart.error.redirect_uri"))),
    };
    let back = |error: &'static str, description: &str| {
        Ok(Err(AuthorizeError::Redirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_owned(),
            state: req.state.clone(),
        }))
    };
    if req.response_type.as_deref() != Some("code") {
        return back(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    match (
        req.code_challenge.as_deref(),
        req.code_challenge_method.as_deref(),
    ) {
        (Some(c), Some("S256")) if is_pkce_value(c) => {}
        (Some(_), Some(m)) if m != "S256" => {
            return back(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not accepted)",
            );
        }
        _ => {
            return back(
                "invalid_request",
                "PKCE is required: send code_challenge (BASE64URL of SHA-256, 43 characters) with code_challenge_method=S256",
            );
        }
    }
    let aud = req.aud.as_deref().unwrap_or("").trim_end_matches('/');
    if aud != fhir_base.trim_end_matches('/') {
        return back(
            "invalid_request",
            &format!("aud must be this server's FHIR base URL, {fhir_base}"),
        );
    }
    if req.state.as_deref().is_some_and(|s| s.len() > 500) {
        return back("invalid_request", "state is longer than 500 characters");
    }
    if req.nonce.as_deref().is_some_and(|s| s.len() > 500) {
        return back("invalid_request", "nonce is longer than 500 characters");
    }
    let scopes =
        Scopes::parse(req.scope.as_deref().unwrap_or("")).within(&Scopes::parse(&client.scope));
    if scopes.clauses.is_empty() {
        return back(
            "invalid_scope",
            "none of the requested scopes may be granted to this app",
        );
    }
    Ok(Ok(Checked {
        redirect_uri,
        scopes,
        state: req.state.clone(),
        code_challenge: req.code_challenge.clone().unwrap_or_default(),
        request: req.clone(),
        client,
    }))
}

/// A PKCE verifier or challenge: 43 to 128 unreserved characters (RFC 7636 §4.1).
fn is_pkce_value(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// What this account can grant of the request: a staff member has no patient to put in
/// context, so `patient/` scopes and `launch/patient` fall away.
pub fn grantable(scopes: &Scopes, role: Role, has_person: bool) -> Scopes {
    let mut scopes = if role == Role::Patient && has_person {
        scopes.clone()
    } else {
        scopes.clone().without_level(Level::Patient)
    };
    // `fhirUser` names the user's own resource: a patient's Patient, a doctor's Practitioner.
    if !(role == Role::Doctor || (role == Role::Patient && has_person)) {
        scopes.fhir_user = false;
    }
    scopes
}

/// The people a patient may put in context: themselves first, then their family.
pub async fn patient_choices(state: &AppState, actor: &Actor) -> AppResult<Vec<(i64, String)>> {
    let me = actor.require()?;
    let mut people = Vec::new();
    if let (Role::Patient, Some(own)) = (me.role, me.person_id) {
        people.push((own, me.display_name.clone()));
        people.extend(crate::identity::service::family_names(state, me.account_id).await?);
    }
    Ok(people)
}

/// The person allowed the request: a grant and a one-time code; where the browser goes next.
pub async fn approve(
    state: &AppState,
    actor: &Actor,
    checked: &Checked,
    chosen_patient: Option<i64>,
) -> AppResult<String> {
    let me = actor.require()?;
    let scopes = grantable(&checked.scopes, me.role, me.person_id.is_some());
    let back = |error, description| {
        checked
            .back(error, description)
            .location()
            .unwrap_or_default()
    };
    if scopes.clauses.is_empty() {
        return Ok(back(
            "invalid_scope",
            "this account can grant none of the requested scopes",
        ));
    }
    let patient = if scopes.launch_patient || scopes.has_level(Level::Patient) {
        let person = chosen_patient.or(me.person_id).ok_or_else(|| {
            AppError::invalid_localized(
                "patient",
                "choose whose records the app may see",
                "smart.field.patient",
                Vec::new(),
            )
        })?;
        // Their own or a family member's: the policy decides and audits.
        crate::policy::authorize_patient(state, actor, "smart.share", "person", person, None)
            .await?;
        Some(person)
    } else {
        None
    };
    let code = crypto::random_token();
    let now = state.now_ms();
    let mut tx = state.db.begin().await?;
    let grant_id = store::insert_grant(
        &mut tx,
        checked.client.id,
        me.account_id,
        &scopes.to_string(),
        patient,
        me.step_up_at,
        now,
    )
    .await?;
    store::insert_code(
        &mut tx,
        &crypto::sha256_hex(&code),
        grant_id,
        &checked.redirect_uri,
        &checked.code_challenge,
        checked.request.nonce.as_deref(),
        now + CODE_TTL_MS,
    )
    .await?;
    let mut event = NewEvent::new(actor.audit(), "smart.authorize", "oauth_grant")
        .object(grant_id)
        .reason(format!("{}: {scopes}", checked.client.name));
    if let Some(p) = patient {
        event = event.patient(p);
    }
    audit::append(&mut tx, &event).await?;
    tx.commit().await?;
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = checked.state.as_deref() {
        pairs.push(("state", s));
    }
    Ok(with_query(&checked.redirect_uri, &pairs))
}

/// The person refused: the app hears `access_denied`.
pub async fn refuse(state: &AppState, actor: &Actor, checked: &Checked) -> AppResult<String> {
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "smart.refuse", "oauth_client")
            .object(checked.client.id)
            .reason(checked.client.name.clone()),
    )
    .await?;
    Ok(checked
        .back("access_denied", "the person did not allow access")
        .location()
        .unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// The token endpoint

/// An RFC 6749 §5.2 error: status, `error` and `error_description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthFailure {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthFailure {
    fn grant(description: &str) -> Self {
        Self {
            status: 400,
            error: "invalid_grant",
            description: description.to_owned(),
        }
    }

    fn client() -> Self {
        Self {
            status: 401,
            error: "invalid_client",
            description: "the client is unknown or its secret is wrong".to_owned(),
        }
    }
}

/// How the app identified itself: `client_id` (public), plus a secret by HTTP Basic or in the
/// form (confidential).
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// The tokens an app receives.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tokens {
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    pub expires_in: i64,
    /// What was granted (never more than asked); SMART grants only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The patient in context (`launch/patient`), a FHIR Patient id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    /// With `openid`: who signed in, signed RS256 (keys at `/fhir/.well-known/jwks.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

type TokenResult = AppResult<Result<Tokens, OAuthFailure>>;

async fn authenticate_client(
    state: &AppState,
    creds: &ClientCredentials,
) -> AppResult<Result<ClientRow, OAuthFailure>> {
    let Some(id) = creds.client_id.as_deref().filter(|i| i.len() <= 100) else {
        return Ok(Err(OAuthFailure::client()));
    };
    let Some(client) = store::client_by_client_id(&state.db, id)
        .await?
        .filter(|c| c.disabled_at.is_none())
    else {
        return Ok(Err(OAuthFailure::client()));
    };
    let ok = match (&client.secret_hash, &creds.client_secret) {
        (Some(hash), Some(secret)) => crypto::constant_time_eq(hash, &crypto::sha256_hex(secret)),
        (None, None) => true,
        _ => false,
    };
    Ok(if ok {
        Ok(client)
    } else {
        Err(OAuthFailure::client())
    })
}

/// A live grant of this client, or why not.
async fn live_grant(
    state: &AppState,
    grant_id: i64,
    client: &ClientRow,
) -> AppResult<Option<GrantRow>> {
    Ok(store::grant(&state.db, grant_id)
        .await?
        .filter(|g| g.client == client.id && g.revoked_at.is_none()))
}

/// `grant_type=authorization_code`.
#[allow(clippy::too_many_arguments)]
pub async fn exchange_code(
    state: &AppState,
    actor: &Actor,
    issuer: &str,
    creds: &ClientCredentials,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> TokenResult {
    let client = match authenticate_client(state, creds).await? {
        Ok(c) => c,
        Err(f) => return Ok(Err(f)),
    };
    let hash = crypto::sha256_hex(code);
    let now = state.now_ms();
    let Some(row) = store::code(&state.db, &hash).await? else {
        return Ok(Err(OAuthFailure::grant("the code is not valid")));
    };
    let Some(grant) = live_grant(state, row.grant_id, &client).await? else {
        return Ok(Err(OAuthFailure::grant("the code is not valid")));
    };
    if row.used_at.is_some() {
        // A code used twice was intercepted: nothing issued with it may stand (RFC 6749 §4.1.2).
        revoke_grant(state, actor, grant.id, "authorization code used twice").await?;
        return Ok(Err(OAuthFailure::grant("the code has been used")));
    }
    if row.expires_at <= now {
        return Ok(Err(OAuthFailure::grant("the code has expired")));
    }
    if redirect_uri != Some(row.redirect_uri.as_str()) {
        return Ok(Err(OAuthFailure::grant(
            "redirect_uri must be the one the code was issued for",
        )));
    }
    let Some(verifier) = verifier.filter(|v| is_pkce_value(v)) else {
        return Ok(Err(OAuthFailure::grant(
            "code_verifier is required: 43 to 128 unreserved characters",
        )));
    };
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier));
    if !crypto::constant_time_eq(&challenge, &row.code_challenge) {
        return Ok(Err(OAuthFailure::grant(
            "code_verifier does not match the code_challenge",
        )));
    }
    let scopes = Scopes::parse(&grant.scope);
    // Signed before the transaction: the first id_token may have to make the key, a write of
    // its own, which must not wait on this transaction's.
    let signed = if scopes.openid {
        Some(
            id_token(
                state,
                issuer,
                &client,
                &grant,
                &scopes,
                row.nonce.as_deref(),
            )
            .await?,
        )
    } else {
        None
    };
    let mut tx = state.db.begin().await?;
    if !store::use_code(&mut tx, &hash, now).await? {
        return Ok(Err(OAuthFailure::grant("the code has been used")));
    }
    let mut tokens = issue(
        state,
        actor,
        &mut tx,
        &grant,
        &scopes,
        &scopes,
        grant.step_up_at,
    )
    .await?;
    tokens.id_token = signed;
    tx.commit().await?;
    Ok(Ok(tokens))
}

/// `grant_type=refresh_token`, optionally with a narrower `scope`.
pub async fn refresh(
    state: &AppState,
    actor: &Actor,
    creds: &ClientCredentials,
    token: &str,
    scope: Option<&str>,
) -> TokenResult {
    let client = match authenticate_client(state, creds).await? {
        Ok(c) => c,
        Err(f) => return Ok(Err(f)),
    };
    let hash = crypto::sha256_hex(token);
    let now = state.now_ms();
    let Some(row) = store::refresh(&state.db, &hash).await? else {
        return Ok(Err(OAuthFailure::grant("the refresh token is not valid")));
    };
    let Some(grant) = live_grant(state, row.grant_id, &client).await? else {
        return Ok(Err(OAuthFailure::grant("the refresh token is not valid")));
    };
    if row.used_at.is_some() {
        // Rotation's point: a used refresh token coming back means it leaked.
        revoke_grant(state, actor, grant.id, "refresh token used twice").await?;
        return Ok(Err(OAuthFailure::grant(
            "the refresh token has been used; the authorization is revoked",
        )));
    }
    if row.expires_at <= now {
        return Ok(Err(OAuthFailure::grant("the refresh token has expired")));
    }
    let held = Scopes::parse(&row.scope);
    let access = match scope {
        Some(asked) => {
            let narrowed = Scopes::parse(asked).within(&held);
            if narrowed.clauses.is_empty() {
                return Ok(Err(OAuthFailure {
                    status: 400,
                    error: "invalid_scope",
                    description: "the scope asked is not within what was granted".to_owned(),
                }));
            }
            narrowed
        }
        None => held.clone(),
    };
    let mut tx = state.db.begin().await?;
    if !store::use_refresh(&mut tx, &hash, now).await? {
        return Ok(Err(OAuthFailure::grant("the refresh token has been used")));
    }
    let tokens = issue(state, actor, &mut tx, &grant, &held, &access, None).await?;
    tx.commit().await?;
    Ok(Ok(tokens))
}

/// An access token with scope `access`, and (with `offline_access` in `held`) a refresh token
/// that keeps `held`.
async fn issue(
    state: &AppState,
    actor: &Actor,
    tx: &mut crate::db::Tx,
    grant: &GrantRow,
    held: &Scopes,
    access: &Scopes,
    step_up_at: Option<i64>,
) -> AppResult<Tokens> {
    let now = state.now_ms();
    let ttl_ms = i64::try_from(state.config.identity.token_ttl.as_millis()).unwrap_or(i64::MAX);
    let access_token = crypto::random_token();
    let access_scope = access.to_string();
    store::insert_access(
        tx,
        &store::NewAccess {
            token_hash: &crypto::sha256_hex(&access_token),
            account_id: grant.account_id,
            grant_id: grant.id,
            scope: &access_scope,
            step_up_at,
            expires_at: now.saturating_add(ttl_ms),
            client_addr: actor.client_addr.as_deref(),
            now,
        },
    )
    .await?;
    let refresh_token = if held.offline_access {
        let token = crypto::random_token();
        store::insert_refresh(
            tx,
            &crypto::sha256_hex(&token),
            grant.id,
            &held.to_string(),
            now + REFRESH_TTL_MS,
        )
        .await?;
        Some(token)
    } else {
        None
    };
    let mut who = actor.audit();
    who.account_id = Some(grant.account_id);
    audit::append(
        tx,
        &NewEvent::new(who, "smart.token", "oauth_grant")
            .object(grant.id)
            .reason(access_scope.clone()),
    )
    .await?;
    Ok(Tokens {
        access_token,
        token_type: "Bearer",
        expires_in: ttl_ms / 1000,
        scope: Some(access_scope),
        refresh_token,
        patient: grant.patient_id.map(|p| p.to_string()),
        id_token: None,
    })
}

/// The OpenID Connect id_token of a grant: who signed in (`sub`), for which app (`aud`), and
/// with `fhirUser` their own FHIR resource.
async fn id_token(
    state: &AppState,
    issuer: &str,
    client: &ClientRow,
    grant: &GrantRow,
    scopes: &Scopes,
    nonce: Option<&str>,
) -> AppResult<String> {
    let now = state.now_ms() / 1000;
    let mut claims = serde_json::json!({
        "iss": issuer,
        "sub": grant.account_id.to_string(),
        "aud": client.client_id,
        "iat": now,
        "exp": now + super::oidc::ID_TOKEN_TTL_SECS,
    });
    if let Some(n) = nonce {
        claims["nonce"] = n.into();
    }
    if scopes.fhir_user {
        let account = crate::identity::store::account(&state.db, grant.account_id).await?;
        let resource = match account.as_ref().map(|a| (a.role, a.person_id)) {
            Some((Role::Patient, Some(person))) => Some(format!("Patient/{person}")),
            Some((Role::Doctor, _)) => Some(format!("Practitioner/{}", grant.account_id)),
            _ => None,
        };
        if let Some(r) = resource {
            claims["fhirUser"] = format!("{issuer}/{r}").into();
        }
    }
    Ok(super::oidc::signing(state).await?.sign(&claims))
}

/// Ends a grant and every token under it, at once on this server.
async fn revoke_grant(state: &AppState, actor: &Actor, grant_id: i64, why: &str) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let hashes = store::revoke_grant(&mut tx, grant_id, state.now_ms()).await?;
    audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "smart.revoke", "oauth_grant")
            .object(grant_id)
            .reason(why.to_owned()),
    )
    .await?;
    tx.commit().await?;
    for hash in hashes {
        state.sessions.forget(&hash);
    }
    Ok(())
}

/// RFC 7009 for a refresh token: the grant ends with every token issued under it. Returns
/// false when `token` is not a refresh token (the caller then tries it as an access token).
pub async fn revoke_refresh(state: &AppState, actor: &Actor, token: &str) -> AppResult<bool> {
    match store::refresh(&state.db, &crypto::sha256_hex(token)).await? {
        Some(row) => {
            revoke_grant(state, actor, row.grant_id, "revoked by the app").await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Deletes codes and refresh tokens that ended before `before` (the daily session purge).
pub async fn purge_ended(db: &crate::db::Db, before: i64) -> Result<u64, sqlx::Error> {
    store::delete_ended(db, before).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_this_machine() {
        assert!(valid_redirect("https://app.example.cn/callback"));
        assert!(valid_redirect("http://127.0.0.1:8765/cb"));
        assert!(valid_redirect("http://localhost/cb?x=1"));
        assert!(!valid_redirect("http://app.example.cn/callback"));
        assert!(!valid_redirect("https://app.example.cn/cb#frag"));
        assert!(!valid_redirect("javascript:alert(1)"));
        assert!(!valid_redirect("/relative"));
    }

    #[test]
    fn pkce_values_are_43_to_128_unreserved_characters() {
        assert!(is_pkce_value(&"a".repeat(43)));
        assert!(is_pkce_value(&"A-._~9".repeat(20)));
        assert!(!is_pkce_value(&"a".repeat(42)));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn errors_go_back_with_the_state_and_a_code_keeps_the_uri_query() {
        let e = AuthorizeError::Redirect {
            redirect_uri: "https://app.example.cn/cb?tenant=3".into(),
            error: "access_denied",
            description: "no".into(),
            state: Some("x y".into()),
        };
        assert_eq!(
            e.location().as_deref(),
            Some(
                "https://app.example.cn/cb?tenant=3&error=access_denied&error_description=no&state=x+y"
            )
        );
        assert_eq!(AuthorizeError::Show("k").location(), None);
    }
}
