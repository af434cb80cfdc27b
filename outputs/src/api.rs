//! The HTTP API under `/api/v1`: bearer-token authentication (RFC 6750) and the device
//! routes.
//!
//! Every `/api/v1/...` request needs `Authorization: Bearer <token>`; anything else gets
//! 401 with `WWW-Authenticate: Bearer`. The token comes from the configuration (inline or
//! a file), or is generated at first start (32 bytes from the OS generator, hex) into a
//! 0600 file in the state directory and reused on later starts. Only its SHA-256 digest is
//! kept in memory, and presented tokens are compared digest to digest in constant time, so
//! neither the length nor a prefix of the token leaks through timing. The token is never
//! logged; messages name the file it came from.
//!
//! Routes are served from sources the rest of the sensor implements (the inventory's
//! [`DeviceSource`], the baselines' [`BaselineSource`]); a route whose source is absent
//! answers 503.
//!
//! Baselines: `GET /baselines` (a summary per device), `GET /baselines/{id}` (the whole
//! baseline, as the YAML export has it), `POST /baselines/{id}/lock|relearn|approve` with a
//! JSON body `{"who": "...", "kind": "...", "value": "..."}` (`kind` and `value` for approve
//! only; `who` always): the command is queued for the appliance, as `wardwatch baseline`
//! queues it, and answered 202. Bodies over [`MAX_COMMAND_BODY`] bytes are 413; a malformed
//! body, a missing `who` or an unknown kind is 400 with the reason; an unknown device 404. New route groups
//! (baselines, alerts) add a source field to [`ApiSources`] and a `route` line in
//! [`api_router`].

use crate::http::HttpStats;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Devices as the inventory knows them; the lead's inventory implements it.
pub trait DeviceSource: Send + Sync + 'static {
    /// Every device as a JSON array (already PHI-free).
    fn list(&self) -> serde_json::Value;
    /// One device by id (`00:09:fb:12:34:56` or `ip:10.1.2.3`), or None (404).
    fn get(&self, id: &str) -> Option<serde_json::Value>;
}

/// An operator command on a baseline, as the API received it (validated for shape).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaselineCommand {
    /// `lock`, `relearn` or `approve`.
    pub action: &'static str,
    /// The device id, or `*` (lock and relearn only) for every baseline.
    pub device: String,
    /// Who asked (recorded with the change).
    pub who: String,
    /// For approve: the kind of entry and the entry.
    pub kind: Option<String>,
    pub value: Option<String>,
}

/// Why a baseline command was not queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 400 with this message.
    BadRequest(String),
    /// 404: no baseline for the device.
    NotFound,
    /// 503 with this message (the state store could not be used).
    Unavailable(String),
}

/// Baselines as the state store holds them (as of the last checkpoint); the root crate
/// implements it.
pub trait BaselineSource: Send + Sync + 'static {
    /// A summary per device (state, learning end, entries per kind) as a JSON array.
    fn list(&self) -> Result<serde_json::Value, String>;
    /// One device's whole baseline, or None (404).
    fn get(&self, id: &str) -> Result<Option<serde_json::Value>, String>;
    /// Queues a command for the appliance (applied at its next checkpoint).
    fn queue(&self, cmd: &BaselineCommand) -> Result<(), Refusal>;
}

/// Largest request body of a baseline command.
pub const MAX_COMMAND_BODY: usize = 16 * 1024;
/// Longest `who`, and longest approved `value`, in bytes.
pub const MAX_WHO_LEN: usize = 128;
pub const MAX_VALUE_LEN: usize = 1024;

/// Name of the generated token file in the state directory.
pub const TOKEN_FILE_NAME: &str = "api-token";
/// Shortest token accepted from the configuration.
pub const MIN_TOKEN_LEN: usize = 16;
/// Longest token accepted (and largest token file read).
pub const MAX_TOKEN_LEN: usize = 4096;
/// Longest device id looked up; longer ones are 404 without asking the source.
pub const MAX_DEVICE_ID_LEN: usize = 64;

/// The API token, kept only as its SHA-256 digest. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct ApiToken {
    digest: [u8; 32],
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(redacted)")
    }
}

impl ApiToken {
    /// A token from its text, checked: [`MIN_TOKEN_LEN`]..=[`MAX_TOKEN_LEN`] characters of
    /// the RFC 6750 `b64token` set (letters, digits, `-._~+/`, trailing `=`).
    pub fn new(text: &str) -> Result<ApiToken, String> {
        if text.len() < MIN_TOKEN_LEN || text.len() > MAX_TOKEN_LEN {
            return Err(format!(
                "the API token must be {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN} characters"
            ));
        }
        let body = text.trim_end_matches('=');
        let ok = !body.is_empty()
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
        if !ok {
            return Err("the API token may only hold letters, digits and -._~+/ (then =)".into());
        }
        Ok(ApiToken {
            digest: Sha256::digest(text.as_bytes()).into(),
        })
    }

    /// Whether `presented` is this token (constant time over the digests).
    pub fn matches(&self, presented: &[u8]) -> bool {
        let d: [u8; 32] = Sha256::digest(presented).into();
        bool::from(d.ct_eq(&self.digest))
    }
}

/// Where the token in use came from (for the start-up message: never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenOrigin {
    /// `[api] token` in the configuration file.
    Config,
    /// `[api] token_file`.
    File(PathBuf),
    /// Generated now into this file.
    Generated(PathBuf),
    /// Generated on an earlier start, read from this file.
    Reused(PathBuf),
}

impl std::fmt::Display for TokenOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenOrigin::Config => f.write_str("from the configuration file"),
            TokenOrigin::File(p) => write!(f, "from {}", p.display()),
            TokenOrigin::Generated(p) => write!(f, "generated into {}", p.display()),
            TokenOrigin::Reused(p) => write!(f, "from {}", p.display()),
        }
    }
}

/// Reads a token file: at most [`MAX_TOKEN_LEN`] bytes plus a line end, trimmed.
fn read_token_file(path: &Path) -> Result<ApiToken, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_TOKEN_LEN as u64 + 2 {
        return Err(format!("{}: too large for a token", path.display()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    ApiToken::new(text.trim()).map_err(|e| format!("{}: {e}", path.display()))
}

/// Finds the API token: `inline` (the config's `token`), else `file` (`token_file`), else
/// `<state_dir>/api-token`, generated there (mode 0600) when missing. `None` when there is
/// no token and no state directory to keep one in: the API then refuses every request.
pub fn resolve_token(
    inline: Option<&str>,
    file: Option<&Path>,
    state_dir: Option<&Path>,
) -> Result<Option<(ApiToken, TokenOrigin)>, String> {
    if let Some(t) = inline {
        return Ok(Some((
            ApiToken::new(t).map_err(|e| format!("[api] token: {e}"))?,
            TokenOrigin::Config,
        )));
    }
    if let Some(p) = file {
        let t = read_token_file(p)?;
        if let Ok(m) = std::fs::metadata(p) {
            if m.permissions().mode() & 0o007 != 0 {
                tracing::warn!(file = %p.display(), "API token file is readable by other users.");
            }
        }
        return Ok(Some((t, TokenOrigin::File(p.to_path_buf()))));
    }
    let Some(dir) = state_dir else {
        return Ok(None);
    };
    let path = dir.join(TOKEN_FILE_NAME);
    match std::fs::symlink_metadata(&path) {
        Ok(m) => {
            if !m.is_file() {
                return Err(format!("{}: not a regular file", path.display()));
            }
            if m.permissions().mode() & 0o077 != 0 {
                return Err(format!(
                    "{}: readable by other users; make it mode 0600 or delete it",
                    path.display()
                ));
            }
            Ok(Some((read_token_file(&path)?, TokenOrigin::Reused(path))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let t = generate_token_file(dir, &path)?;
            Ok(Some((t, TokenOrigin::Generated(path))))
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes a fresh random token to `path` (0600), atomically: a temporary file is written
/// and synced, then hard-linked into place, so a concurrent start or a crash never leaves
/// a half-written token (a start that loses the race reads the winner's).
fn generate_token_file(dir: &Path, path: &Path) -> Result<ApiToken, String> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| format!("random token: {e}"))?;
    let text: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".{TOKEN_FILE_NAME}.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()
    };
    let res = write().and_then(|_| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match res {
        Ok(()) => ApiToken::new(&text),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_token_file(path),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// What the API routes are served from. `None` fields answer 503.
#[derive(Clone, Default)]
pub struct ApiSources {
    pub devices: Option<Arc<dyn DeviceSource>>,
    pub baselines: Option<Arc<dyn BaselineSource>>,
}

/// A JSON response.
fn json(status: StatusCode, v: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(v).unwrap_or_default(),
    )
        .into_response()
}

fn error(status: StatusCode, what: &str) -> Response {
    json(status, &serde_json::json!({ "error": what }))
}

/// 401 with the RFC 6750 challenge; `invalid` adds `error="invalid_token"` (a token was
/// presented and is wrong).
fn unauthorized(invalid: bool) -> Response {
    let challenge = if invalid {
        "Bearer realm=\"wardwatch\", error=\"invalid_token\""
    } else {
        "Bearer realm=\"wardwatch\""
    };
    let mut r = error(StatusCode::UNAUTHORIZED, "unauthorized");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    r
}

/// The bearer token of a request: `Some(Some(bytes))` for exactly one `Authorization:
/// Bearer` header, `Some(None)` for a malformed or repeated one, `None` for none.
fn presented(h: &HeaderMap) -> Option<Option<&[u8]>> {
    let mut all = h.get_all(header::AUTHORIZATION).iter();
    let first = all.next()?;
    if all.next().is_some() {
        return Some(None);
    }
    let v = first.as_bytes();
    let Some(scheme) = v.get(..7) else {
        return Some(None);
    };
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return Some(None);
    }
    let tok = v.get(7..).unwrap_or_default().trim_ascii();
    Some((!tok.is_empty()).then_some(tok))
}

/// What the token check needs: the token (`None` refuses everything) and where refusals
/// are counted.
#[derive(Clone, Default)]
pub struct Auth {
    pub token: Option<ApiToken>,
    pub stats: Arc<HttpStats>,
}

/// Middleware: lets the request through only with the right bearer token; refusals are
/// counted (and logged at most once a minute).
pub async fn require_token(State(auth): State<Auth>, req: Request, next: Next) -> Response {
    match (presented(req.headers()), &auth.token) {
        (Some(Some(p)), Some(t)) if t.matches(p) => next.run(req).await,
        (None, _) => {
            auth.stats.note_refused(false);
            unauthorized(false)
        }
        _ => {
            auth.stats.note_refused(true);
            unauthorized(true)
        }
    }
}

async fn devices(State(s): State<ApiSources>) -> Response {
    match &s.devices {
        Some(d) => json(StatusCode::OK, &d.list()),
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "device inventory not running",
        ),
    }
}

async fn device(State(s): State<ApiSources>, UrlPath(id): UrlPath<String>) -> Response {
    let Some(d) = &s.devices else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "device inventory not running",
        );
    };
    if id.len() > MAX_DEVICE_ID_LEN {
        return error(StatusCode::NOT_FOUND, "no such device");
    }
    match d.get(&id) {
        Some(v) => json(StatusCode::OK, &v),
        None => error(StatusCode::NOT_FOUND, "no such device"),
    }
}

const NO_BASELINES: &str = "baselines not available (they need --state-dir and [baseline] enabled)";

/// Runs a (blocking: it reads the state store) source call off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(f).await.ok()
}

async fn baselines(State(s): State<ApiSources>) -> Response {
    let Some(b) = s.baselines.clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, NO_BASELINES);
    };
    match blocking(move || b.list()).await {
        Some(Ok(v)) => json(StatusCode::OK, &v),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "Reading baselines for the API failed.");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "baselines could not be read",
            )
        }
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

async fn baseline(State(s): State<ApiSources>, UrlPath(id): UrlPath<String>) -> Response {
    let Some(b) = s.baselines.clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, NO_BASELINES);
    };
    if id.len() > MAX_DEVICE_ID_LEN {
        return error(StatusCode::NOT_FOUND, "no baseline for this device");
    }
    match blocking(move || b.get(&id)).await {
        Some(Ok(Some(v))) => json(StatusCode::OK, &v),
        Some(Ok(None)) => error(StatusCode::NOT_FOUND, "no baseline for this device"),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "Reading a baseline for the API failed.");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "baselines could not be read",
            )
        }
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

/// The JSON body of a baseline command.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandBody {
    who: Option<String>,
    kind: Option<String>,
    value: Option<String>,
}

/// A printable, bounded text field (no control characters), or why not.
fn text_field(name: &str, v: &str, max: usize) -> Result<(), String> {
    if v.trim().is_empty() {
        return Err(format!("`{name}` must not be empty"));
    }
    if v.len() > max {
        return Err(format!("`{name}` is longer than {max} bytes"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("`{name}` must not hold control characters"));
    }
    Ok(())
}

/// Checks a command's body against its action; the command to queue, or a 400 message.
pub fn parse_command(id: &str, action: &str, body: &[u8]) -> Result<BaselineCommand, String> {
    let action = match action {
        "lock" => "lock",
        "relearn" => "relearn",
        "approve" => "approve",
        _ => {
            return Err(format!(
                "unknown action `{action}` (lock, relearn, approve)"
            ))
        }
    };
    let b: CommandBody = serde_json::from_slice(body).map_err(|e| format!("body: {e}"))?;
    let who = b
        .who
        .ok_or("body: `who` is required (who asks for the change)")?;
    text_field("who", &who, MAX_WHO_LEN)?;
    if action == "approve" {
        if id == "*" {
            return Err("approve needs one device, not `*`".into());
        }
        let kind = b.kind.ok_or("approve needs `kind` and `value`")?;
        let value = b.value.ok_or("approve needs `kind` and `value`")?;
        text_field("kind", &kind, 64)?;
        text_field("value", &value, MAX_VALUE_LEN)?;
        Ok(BaselineCommand {
            action,
            device: id.to_string(),
            who,
            kind: Some(kind),
            value: Some(value),
        })
    } else {
        if b.kind.is_some() || b.value.is_some() {
            return Err(format!(
                "`kind` and `value` apply to approve only, not {action}"
            ));
        }
        Ok(BaselineCommand {
            action,
            device: id.to_string(),
            who,
            kind: None,
            value: None,
        })
    }
}

async fn baseline_command(
    State(s): State<ApiSources>,
    UrlPath((id, action)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if !matches!(action.as_str(), "lock" | "relearn" | "approve") {
        return error(StatusCode::NOT_FOUND, "no such route");
    }
    let Some(b) = s.baselines.clone() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, NO_BASELINES);
    };
    if id.len() > MAX_DEVICE_ID_LEN {
        return error(StatusCode::NOT_FOUND, "no baseline for this device");
    }
    // A declared length past the cap is refused before any of the body is read (a client
    // that sent `Expect: 100-continue` then never sends it).
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_COMMAND_BODY as u64) {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("body larger than {MAX_COMMAND_BODY} bytes"),
        );
    }
    // Read at most the cap: a huge body is refused without being buffered.
    let Ok(bytes) = axum::body::to_bytes(body, MAX_COMMAND_BODY).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("body larger than {MAX_COMMAND_BODY} bytes"),
        );
    };
    let cmd = match parse_command(&id, &action, &bytes) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let echo = serde_json::json!({
        "queued": cmd.action,
        "device": cmd.device,
        "who": cmd.who,
        "applies": "at the appliance's next checkpoint",
    });
    match blocking(move || b.queue(&cmd)).await {
        Some(Ok(())) => json(StatusCode::ACCEPTED, &echo),
        Some(Err(Refusal::BadRequest(e))) => error(StatusCode::BAD_REQUEST, &e),
        Some(Err(Refusal::NotFound)) => error(StatusCode::NOT_FOUND, "no baseline for this device"),
        Some(Err(Refusal::Unavailable(e))) => {
            tracing::warn!(error = %e, "Queueing a baseline command for the API failed.");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the command could not be queued",
            )
        }
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such route")
}

/// The `/api/v1` routes (to be nested there), every one behind the token check; unknown
/// paths under it are 404 only once authenticated, so routes cannot be probed without it.
pub fn api_router(auth: Auth, sources: ApiSources) -> Router {
    Router::new()
        .route("/devices", get(devices))
        .route("/devices/{id}", get(device))
        .route("/baselines", get(baselines))
        .route("/baselines/{id}", get(baseline))
        .route("/baselines/{id}/{action}", post(baseline_command))
        .fallback(not_found)
        .with_state(sources)
        .layer(axum::middleware::from_fn_with_state(auth, require_token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    const TOKEN: &str = "s3cret-token-0123456789";

    /// Two devices, looked up by id.
    struct TwoDevices;
    impl DeviceSource for TwoDevices {
        fn list(&self) -> serde_json::Value {
            serde_json::json!([{"id": "00:09:fb:12:34:56"}, {"id": "ip:10.1.2.3"}])
        }
        fn get(&self, id: &str) -> Option<serde_json::Value> {
            self.list()
                .as_array()?
                .iter()
                .find(|d| d["id"] == id)
                .cloned()
        }
    }

    fn app(devices: bool) -> Router {
        let sources = ApiSources {
            devices: devices.then(|| Arc::new(TwoDevices) as Arc<dyn DeviceSource>),
            ..ApiSources::default()
        };
        let auth = Auth {
            token: Some(ApiToken::new(TOKEN).unwrap()),
            stats: Arc::default(),
        };
        Router::new().nest("/api/v1", api_router(auth, sources))
    }

    async fn call(app: Router, path: &str, auth: &[&str]) -> (StatusCode, HeaderMap, String) {
        let mut b = Request::builder().uri(path);
        for a in auth {
            b = b.header(header::AUTHORIZATION, *a);
        }
        let r = app.oneshot(b.body(Body::empty()).unwrap()).await.unwrap();
        let (parts, body) = r.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn api_requires_the_bearer_token() {
        // No header, a wrong token, a token prefix, another scheme, two headers: 401 with the
        // Bearer challenge (invalid_token once something was presented); the right token
        // (scheme in any case) passes; unknown API paths are 401 before 404.
        let bearer = format!("Bearer {TOKEN}");
        let prefix = format!("Bearer {}", &TOKEN[..10]);
        let lower = format!("bearer {TOKEN}");
        for (auth, invalid) in [
            (vec![], false),
            (vec!["Bearer wrong-token-0123456789"], true),
            (vec![prefix.as_str()], true),
            (vec!["Basic dXNlcjpwYXNz"], true),
            (vec!["Bearer "], true),
            (vec!["Bearer"], true),
            (vec![bearer.as_str(), bearer.as_str()], true),
        ] {
            for path in ["/api/v1/devices", "/api/v1/nope"] {
                let (st, h, body) = call(app(true), path, &auth).await;
                assert_eq!(st, StatusCode::UNAUTHORIZED, "{auth:?} {path}");
                let c = h[header::WWW_AUTHENTICATE].to_str().unwrap();
                assert!(c.starts_with("Bearer realm=\"wardwatch\""), "{c}");
                assert_eq!(c.contains("invalid_token"), invalid, "{auth:?}");
                assert!(!body.contains(TOKEN));
            }
        }
        assert_eq!(
            call(app(true), "/api/v1/devices", &[&bearer]).await.0,
            StatusCode::OK
        );
        assert_eq!(
            call(app(true), "/api/v1/devices", &[&lower]).await.0,
            StatusCode::OK
        );
        assert_eq!(
            call(app(true), "/api/v1/nope", &[&bearer]).await.0,
            StatusCode::NOT_FOUND
        );
    }

    #[tokio::test]
    async fn api_without_token_refuses_everything() {
        // With no token configured (no state directory), nothing authenticates.
        let app = Router::new().nest(
            "/api/v1",
            api_router(Auth::default(), ApiSources::default()),
        );
        let (st, _, _) = call(app, "/api/v1/devices", &[&format!("Bearer {TOKEN}")]).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn device_routes_list_get_404_and_503() {
        // The list, one device by MAC and by ip: id, 404 for an unknown or overlong id, and
        // 503 for both routes when no inventory runs.
        let a = format!("Bearer {TOKEN}");
        let (st, h, body) = call(app(true), "/api/v1/devices", &[&a]).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(h[header::CONTENT_TYPE], "application/json");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 2);
        let (st, _, body) = call(app(true), "/api/v1/devices/00:09:fb:12:34:56", &[&a]).await;
        assert_eq!(st, StatusCode::OK);
        assert!(body.contains("00:09:fb:12:34:56"), "{body}");
        let (st, _, body) = call(app(true), "/api/v1/devices/ip:10.1.2.3", &[&a]).await;
        assert_eq!(st, StatusCode::OK);
        assert!(body.contains("ip:10.1.2.3"), "{body}");
        let (st, _, body) = call(app(true), "/api/v1/devices/ip:10.9.9.9", &[&a]).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert!(body.contains("no such device"));
        let long = format!("/api/v1/devices/{}", "a".repeat(MAX_DEVICE_ID_LEN + 1));
        assert_eq!(call(app(true), &long, &[&a]).await.0, StatusCode::NOT_FOUND);
        for p in ["/api/v1/devices", "/api/v1/devices/ip:10.1.2.3"] {
            assert_eq!(
                call(app(false), p, &[&a]).await.0,
                StatusCode::SERVICE_UNAVAILABLE
            );
        }
    }

    #[test]
    fn token_rules_and_redacted_debug() {
        // Short tokens and characters outside b64token are refused; Debug never shows it.
        assert!(ApiToken::new("short").is_err());
        assert!(ApiToken::new("has space in the token").is_err());
        assert!(ApiToken::new("quote\"in-the-token-xx").is_err());
        assert!(ApiToken::new(&"a".repeat(MAX_TOKEN_LEN + 1)).is_err());
        let t = ApiToken::new("abcdefghijklmnop+/==").unwrap();
        assert!(t.matches(b"abcdefghijklmnop+/=="));
        assert!(!t.matches(b"abcdefghijklmnop+/="));
        assert!(!format!("{t:?}").contains("abcdef"));
    }

    #[test]
    fn token_generated_once_0600_and_reused() {
        // The first start writes a 64-hex-digit token to <state>/api-token with mode 0600
        // (no temporary left behind); the second reads the same; a group-readable file is
        // refused; config and token_file take precedence; no state dir gives no token.
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let (t1, o1) = resolve_token(None, None, Some(&state)).unwrap().unwrap();
        let path = state.join(TOKEN_FILE_NAME);
        assert_eq!(o1, TokenOrigin::Generated(path.clone()));
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.trim();
        assert_eq!(text.len(), 64);
        assert!(text.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(t1.matches(text.as_bytes()));
        assert_eq!(std::fs::read_dir(&state).unwrap().count(), 1);
        let (t2, o2) = resolve_token(None, None, Some(&state)).unwrap().unwrap();
        assert_eq!(o2, TokenOrigin::Reused(path.clone()));
        assert!(t2.matches(text.as_bytes()));
        // Another generation gives another token.
        let other = dir.path().join("other");
        let (t3, _) = resolve_token(None, None, Some(&other)).unwrap().unwrap();
        assert!(!t3.matches(text.as_bytes()));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = resolve_token(None, None, Some(&state)).unwrap_err();
        assert!(e.contains("0600") && !e.contains(text), "{e}");
        let f = dir.path().join("tok");
        std::fs::write(&f, "from-a-file-0123456789\n").unwrap();
        let (t, o) = resolve_token(None, Some(&f), Some(&state))
            .unwrap()
            .unwrap();
        assert_eq!(o, TokenOrigin::File(f.clone()));
        assert!(t.matches(b"from-a-file-0123456789"));
        let (t, o) = resolve_token(Some("inline-token-0123456789"), Some(&f), None)
            .unwrap()
            .unwrap();
        assert_eq!(o, TokenOrigin::Config);
        assert!(t.matches(b"inline-token-0123456789"));
        assert!(resolve_token(None, None, None).unwrap().is_none());
        std::fs::write(&f, "x".repeat(MAX_TOKEN_LEN + 10)).unwrap();
        assert!(resolve_token(None, Some(&f), None).is_err());
    }

    proptest::proptest! {
        #[test]
        fn authorization_header_any_bytes(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80)) {
            // Any Authorization value: no panic, and it authenticates only when it is
            // "Bearer " (any case) then exactly the token, give or take surrounding blanks.
            let t = ApiToken::new(TOKEN).unwrap();
            let Ok(v) = HeaderValue::from_bytes(&raw) else { return Ok(()); };
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v);
            let ok = matches!(presented(&h), Some(Some(p)) if t.matches(p));
            let expected = raw.len() >= 7
                && raw[..7].eq_ignore_ascii_case(b"bearer ")
                && raw[7..].trim_ascii() == TOKEN.as_bytes();
            proptest::prop_assert_eq!(ok, expected);
        }

        #[test]
        fn authorization_header_near_misses(cut in 0usize..23, flip in 0usize..23) {
            // Prefixes of the token and the token with one character changed never pass.
            let t = ApiToken::new(TOKEN).unwrap();
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {}", &TOKEN[..cut])).unwrap());
            proptest::prop_assert!(!matches!(presented(&h), Some(Some(p)) if t.matches(p)));
            let mut b = TOKEN.as_bytes().to_vec();
            b[flip] ^= 0x01;
            let v = format!("Bearer {}", String::from_utf8_lossy(&b));
            if let Ok(v) = HeaderValue::from_str(&v) {
                h.insert(header::AUTHORIZATION, v);
                proptest::prop_assert!(!matches!(presented(&h), Some(Some(p)) if t.matches(p)));
            }
        }
    }

    /// A source with one baseline that records what it was asked to queue.
    #[derive(Default)]
    struct OneBaseline(std::sync::Mutex<Vec<BaselineCommand>>);
    impl BaselineSource for OneBaseline {
        fn list(&self) -> Result<serde_json::Value, String> {
            Ok(serde_json::json!([{"device": "00:09:fb:12:34:56", "state": "learning"}]))
        }
        fn get(&self, id: &str) -> Result<Option<serde_json::Value>, String> {
            Ok((id == "00:09:fb:12:34:56").then(|| serde_json::json!({"device": id})))
        }
        fn queue(&self, c: &BaselineCommand) -> Result<(), Refusal> {
            if c.device != "*" && c.device != "00:09:fb:12:34:56" {
                return Err(Refusal::NotFound);
            }
            if c.kind.as_deref() == Some("nope") {
                return Err(Refusal::BadRequest("unknown kind `nope`".into()));
            }
            self.0.lock().unwrap().push(c.clone());
            Ok(())
        }
    }

    async fn post(app: Router, path: &str, body: Vec<u8>) -> (StatusCode, String) {
        let r = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::from(body))
            .unwrap();
        let r = app.oneshot(r).await.unwrap();
        let (parts, body) = r.into_parts();
        let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
        (parts.status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn baseline_routes_answer_by_source_and_body() {
        // Reads go to the source (404 for an unknown device, 503 without a source);
        // commands are parsed, capped and handed over with who; refusals keep their reason.
        let src = Arc::new(OneBaseline::default());
        let app = |with: bool| {
            let sources = ApiSources {
                baselines: with.then(|| src.clone() as Arc<dyn BaselineSource>),
                ..ApiSources::default()
            };
            let auth = Auth {
                token: Some(ApiToken::new(TOKEN).unwrap()),
                stats: Arc::default(),
            };
            Router::new().nest("/api/v1", api_router(auth, sources))
        };
        let bearer = format!("Bearer {TOKEN}");
        let b = "/api/v1/baselines";
        assert_eq!(call(app(true), b, &[&bearer]).await.0, StatusCode::OK);
        let one = format!("{b}/00:09:fb:12:34:56");
        assert_eq!(call(app(true), &one, &[&bearer]).await.0, StatusCode::OK);
        let other = format!("{b}/00:00:00:00:00:01");
        assert_eq!(
            call(app(true), &other, &[&bearer]).await.0,
            StatusCode::NOT_FOUND
        );
        let long = format!("{b}/{}", "a".repeat(MAX_DEVICE_ID_LEN + 1));
        assert_eq!(
            call(app(true), &long, &[&bearer]).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(app(false), b, &[&bearer]).await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        let lock = format!("{one}/lock");
        let (st, body) = post(app(true), &lock, br#"{"who":"alice"}"#.to_vec()).await;
        assert_eq!(st, StatusCode::ACCEPTED, "{body}");
        let approve = format!("{one}/approve");
        let body = br#"{"who":"bob","kind":"services","value":"tcp/443/out"}"#.to_vec();
        assert_eq!(
            post(app(true), &approve, body).await.0,
            StatusCode::ACCEPTED
        );
        let all = format!("{b}/*/relearn");
        assert_eq!(
            post(app(true), &all, br#"{"who":"carol"}"#.to_vec())
                .await
                .0,
            StatusCode::ACCEPTED
        );
        let got = src.0.lock().unwrap().clone();
        assert_eq!(
            got.iter()
                .map(|c| (c.action, c.device.as_str(), c.who.as_str()))
                .collect::<Vec<_>>(),
            vec![
                ("lock", "00:09:fb:12:34:56", "alice"),
                ("approve", "00:09:fb:12:34:56", "bob"),
                ("relearn", "*", "carol"),
            ]
        );
        assert_eq!(got[1].value.as_deref(), Some("tcp/443/out"));
        let bad = br#"{"who":"bob","kind":"nope","value":"x"}"#.to_vec();
        let (st, body) = post(app(true), &approve, bad).await;
        assert_eq!(
            (st, body.contains("unknown kind")),
            (StatusCode::BAD_REQUEST, true)
        );
        let (st, _) = post(
            app(true),
            &format!("{other}/lock"),
            br#"{"who":"a"}"#.to_vec(),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = post(
            app(true),
            &format!("{one}/explode"),
            br#"{"who":"a"}"#.to_vec(),
        )
        .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let huge = vec![b' '; MAX_COMMAND_BODY + 1];
        assert_eq!(
            post(app(true), &lock, huge).await.0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
        // A declared length past the cap is refused before the body is read.
        let r = Request::builder()
            .method("POST")
            .uri(&lock)
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_LENGTH, "1048576")
            .body(Body::from(&br#"{"who":"mallory"}"#[..]))
            .unwrap();
        let r = app(true).oneshot(r).await.unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let (st, _) = post(app(false), &lock, br#"{"who":"a"}"#.to_vec()).await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            src.0.lock().unwrap().len(),
            3,
            "refused commands are not queued"
        );
    }

    #[test]
    fn parse_command_reasons() {
        // Each malformed command gets a 400 message naming its problem.
        let d = "00:09:fb:12:34:56";
        let cases: &[(&str, &[u8], &str)] = &[
            ("lock", b"", "body:"),
            ("lock", b"[]", "body:"),
            ("lock", b"{}", "`who` is required"),
            ("lock", br#"{"who":""}"#, "`who` must not be empty"),
            ("lock", br#"{"who":"a\u0007"}"#, "control characters"),
            ("lock", br#"{"who":"a","x":1}"#, "unknown field `x`"),
            ("lock", br#"{"who":"a","value":"v"}"#, "approve only"),
            (
                "approve",
                br#"{"who":"a","kind":"services"}"#,
                "needs `kind` and `value`",
            ),
            (
                "approve",
                br#"{"who":"a","kind":"services","value":""}"#,
                "`value` must not be empty",
            ),
            ("explode", br#"{"who":"a"}"#, "unknown action"),
        ];
        for (action, body, says) in cases {
            let e = parse_command(d, action, body).unwrap_err();
            assert!(
                e.contains(says),
                "{action} {}: {e}",
                String::from_utf8_lossy(body)
            );
        }
        let long = format!(r#"{{"who":"{}"}}"#, "w".repeat(MAX_WHO_LEN + 1));
        assert!(parse_command(d, "lock", long.as_bytes())
            .unwrap_err()
            .contains("longer"));
        assert!(
            parse_command("*", "approve", br#"{"who":"a","kind":"k","value":"v"}"#)
                .unwrap_err()
                .contains("one device")
        );
        let ok = parse_command(d, "relearn", br#"{"who":"  ops "}"#).unwrap();
        assert_eq!((ok.action, ok.who.as_str()), ("relearn", "  ops "));
    }

    #[test]
    fn api_command_fuzz_regressions_replay() {
        // Inputs saved under fuzz/regressions/api_command/ (first byte: action and device,
        // then the body) give an answer and keep the fuzz target's oracle.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fuzz/regressions/api_command");
        let mut accepted = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let data = std::fs::read(e.unwrap().path()).unwrap();
            let Some((&sel, body)) = data.split_first() else {
                continue;
            };
            let action = ["lock", "relearn", "approve", "explode"][usize::from(sel & 3)];
            let device = if sel & 4 != 0 {
                "*"
            } else {
                "00:09:fb:12:34:56"
            };
            if let Ok(c) = parse_command(device, action, body) {
                assert!(!c.who.chars().any(char::is_control));
                assert_eq!(c.action == "approve", c.kind.is_some());
                accepted += 1;
            }
        }
        // Only approve-ok is a valid command.
        assert_eq!(accepted, 1);
    }

    proptest::proptest! {
        #[test]
        fn parse_command_never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
                                      action in "[a-z]{0,8}") {
            // Arbitrary bodies and actions: an answer, never a panic; an accepted command
            // always has a non-empty who within its cap.
            if let Ok(c) = parse_command("d", &action, &body) {
                proptest::prop_assert!(!c.who.trim().is_empty() && c.who.len() <= MAX_WHO_LEN);
            }
        }
    }
}
