//! A thin client for the parts of the Yunyi API the load programs use.

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

/// A response's status and JSON body (`null` when there is none).
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Api {
    pub fn new(base: &str, connections: usize) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(connections)
            .tcp_nodelay(true)
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Reply> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.json(b);
        }
        self.reply(path, request).await
    }

    /// Sends `request` and reads its status and JSON body.
    async fn reply(&self, path: &str, request: reqwest::RequestBuilder) -> anyhow::Result<Reply> {
        let response = request
            .send()
            .await
            .with_context(|| format!("{path}: no answer from {}", self.base))?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok(Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        })
    }

    /// A request with a raw body (an upload).
    pub async fn send_bytes(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<Reply> {
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        self.reply(path, request).await
    }

    pub async fn post(
        &self,
        token: Option<&str>,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<Reply> {
        self.send(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    /// Pays order `order` as the payer does on the sandbox gateway's page ("approve").
    pub async fn pay_in_sandbox(&self, token: &str, order: i64) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}/sandbox/pay/{order}", self.base))
            .bearer_auth(token)
            .form(&[("decision", "approve")])
            .send()
            .await
            .with_context(|| format!("paying order {order}"))?;
        if !(response.status().is_success() || response.status().is_redirection()) {
            bail!("paying order {order}: {}", response.status());
        }
        Ok(())
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> anyhow::Result<Reply> {
        self.send(reqwest::Method::GET, token, path, None).await
    }

    /// A bearer token by the password grant.
    pub async fn token(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let response = self
            .http
            .post(format!("{}/auth/token", self.base))
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .with_context(|| format!("no answer from {}", self.base))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match body["access_token"].as_str() {
            Some(t) if status.is_success() => Ok(t.to_owned()),
            _ => bail!("signing in as {username} failed: {status} {body}"),
        }
    }
}

/// Fails with the server's answer unless the status is the expected one.
pub fn expect(reply: Reply, status: u16, what: &str) -> anyhow::Result<Value> {
    if reply.status == status {
        Ok(reply.body)
    } else {
        bail!(
            "{what}: expected {status}, got {} {}",
            reply.status,
            reply.body
        )
    }
}

pub fn session(date: &str, start: &str, end: &str, release_at: &str) -> Value {
    json!({"date": date, "start": start, "end": end, "slot_minutes": 5, "capacity": 1, "release_at": release_at})
}

/// Opens a text-consultation service of `doctor` at `hospital` for this run (100 fen, no daily
/// quota), as the administrator `admin`; returns its id.
pub async fn open_service(
    api: &Api,
    admin: &str,
    (hospital, doctor): (i64, i64),
    name: &str,
    duration_min: i64,
) -> anyhow::Result<i64> {
    let created = expect(
        api.post(
            Some(admin),
            "/api/v1/services",
            &json!({"hospital_id": hospital, "doctor_id": doctor, "kind": "text_consult",
                    "name": name, "price_fen": 100, "duration_min": duration_min}),
        )
        .await?,
        201,
        "creating the run's service",
    )?;
    created["service_id"]
        .as_i64()
        .or_else(|| created["id"].as_i64())
        .context("service id")
}
