//! The review worklist over HTTP: list proposals, confirm, reject, or
//! withdraw an identity link. Permission, reach and audit are the service's
//! (`kinship_app::worklist`); this only translates HTTP.

use crate::auth::Caller;
use crate::handlers::{ApiResult, CommandAccepted, KEY_HEADER, app, bad, json};
use crate::problem::{Problem, ProblemBody};
use crate::state::{Shared, blocking};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use kinship_app::worklist::Decision;
use kinship_domain::LinkId;
use kinship_domain::family::Role;
use kinship_domain::link::{LinkKind, LinkStatus};
use kinship_store::WorklistQuery;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorklistParams {
    /// `family` (unrecorded adult–minor ties) or `identity` (the same person recorded twice).
    pub kind: Option<String>,
    /// `proposed` (default: waiting for review), `confirmed`, `rejected`, `linked`, `unlinked`, or `all`.
    pub status: Option<String>,
    /// At most this many items (default 100, at most 1000).
    pub limit: Option<usize>,
}

/// One worklist item: a proposal and where it stands.
#[derive(Serialize, ToSchema)]
pub struct WorklistItemBody {
    /// `L-…`
    pub id: String,
    /// `family` or `identity`.
    pub kind: String,
    pub status: String,
    /// The adult (family proposals), or the first person.
    pub a: String,
    /// The minor (family proposals), or the second person.
    pub b: String,
    /// `PARENT_CHILD` or `OTHER_RELATIVE`.
    pub relation: Option<String>,
    /// 0 to 1.
    pub score: f64,
    /// Why, in words, strongest first.
    pub evidence: Vec<String>,
    /// An identity link the linker asserted itself (reversible with `/unlink`).
    pub automatic: bool,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    /// The family a confirmed tie was recorded in (`F-…`).
    pub family: Option<String>,
}

/// The review worklist, best first: family ties nobody recorded and
/// identity links, each with its score and evidence. Needs `worklist.review`;
/// items about persons out of the caller's reach are left out.
#[utoipa::path(get, path = "/api/worklist", params(WorklistParams), tag = "worklist",
    responses((status = 200, body = [WorklistItemBody]), (status = 400, body = ProblemBody), (status = 401, body = ProblemBody),
              (status = 403, body = ProblemBody), (status = 503, body = ProblemBody)))]
pub async fn list(State(state): State<Shared>, caller: Caller, Query(p): Query<WorklistParams>) -> ApiResult {
    caller.require("read")?;
    let kind = p.kind.as_deref().map(|k| LinkKind::parse(k).ok_or_else(|| bad("kind", "kind must be family or identity"))).transpose()?;
    let status = match p.status.as_deref() {
        None => Some(LinkStatus::Proposed),
        Some("all") => None,
        Some(s) => Some(
            LinkStatus::parse(s).ok_or_else(|| bad("status", "status must be proposed, confirmed, rejected, linked, unlinked or all"))?,
        ),
    };
    let q = WorklistQuery {
        kind: kind.map(|k| k.as_str().to_string()),
        status: status.map(|s| s.as_str().to_string()),
        limit: p.limit.unwrap_or(100).clamp(1, 1000),
    };
    let items = app(blocking(move || state.service.worklist(&caller.principal, &q)).await?)?;
    let body: Vec<WorklistItemBody> = items
        .into_iter()
        .map(|i| WorklistItemBody {
            id: i.id.to_string(),
            kind: i.kind,
            status: i.status,
            a: i.a.to_string(),
            b: i.b.to_string(),
            relation: i.relation,
            score: i.score,
            evidence: i.evidence,
            automatic: i.automatic,
            decided_by: i.decided_by,
            reason: i.reason,
            family: i.family.map(|f| f.to_string()),
        })
        .collect();
    Ok(json(StatusCode::OK, &body))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ConfirmRequest {
    /// The adult's role when it is not the default (MOTHER/FATHER by sex for a parent, OTHER_RELATIVE otherwise).
    pub adult_role: Option<String>,
    /// The minor's role when it is not the default (DAUGHTER/SON/CHILD, or OTHER_RELATIVE).
    pub minor_role: Option<String>,
    /// What the confirmation rests on (an interview, a document).
    pub note: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ReasonRequest {
    /// Why, in words (required).
    pub reason: String,
}

fn role(field: &str, v: Option<&str>) -> Result<Option<Role>, Problem> {
    v.map(|r| Role::parse(r).ok_or_else(|| bad(field, format!("{field} must be a family role such as MOTHER, FATHER or LEGAL_GUARDIAN"))))
        .transpose()
}

async fn decide(state: Shared, caller: Caller, headers: HeaderMap, id: String, decision: Decision) -> ApiResult {
    caller.require("command")?;
    let id = LinkId::parse(&id).ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, "not-found", "no such worklist item"))?;
    let key = match headers.get(KEY_HEADER) {
        Some(v) => v
            .to_str()
            .ok()
            .filter(|k| (1..=200).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| bad("Idempotency-Key", "Idempotency-Key must be 1-200 visible ASCII characters"))?
            .to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let key = format!("api:{}:{key}", caller.principal.user);
    let outcome = app(blocking(move || state.service.decide_link(&caller.principal, &key, id, &decision)).await?)?;
    let mut response = json(StatusCode::OK, &CommandAccepted { first: outcome.first, last: outcome.last });
    if outcome.replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Confirms a proposal. A family tie is recorded through the family rules
/// (into the family one of them is with, or a new UNIT/GROUP), established
/// `inferred` and attributed to the caller; an identity proposal becomes an
/// asserted, reversible identity link. A decided item is refused (422).
#[utoipa::path(post, path = "/api/worklist/{id}/confirm", request_body = ConfirmRequest, tag = "worklist",
    params(("id" = String, Path, description = "Worklist item (`L-…`)"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 200, body = CommandAccepted), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody), (status = 503, body = ProblemBody)))]
pub async fn confirm(
    State(state): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<ConfirmRequest>>,
) -> ApiResult {
    let req = body.map(|Json(b)| b).unwrap_or_default();
    let decision = Decision::Confirm {
        adult_role: role("adult_role", req.adult_role.as_deref())?,
        minor_role: role("minor_role", req.minor_role.as_deref())?,
        note: req.note,
    };
    decide(state, caller, headers, id, decision).await
}

/// Rejects a proposal, with the reason. The pair is never proposed again.
#[utoipa::path(post, path = "/api/worklist/{id}/reject", request_body = ReasonRequest, tag = "worklist",
    params(("id" = String, Path, description = "Worklist item (`L-…`)"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 200, body = CommandAccepted), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 404, body = ProblemBody), (status = 422, body = ProblemBody), (status = 503, body = ProblemBody)))]
pub async fn reject(
    State(state): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(req): Json<ReasonRequest>,
) -> ApiResult {
    decide(state, caller, headers, id, Decision::Reject { reason: req.reason }).await
}

/// Withdraws an asserted identity link (automatic or confirmed), with the
/// reason. Nothing was merged, so both records stay exactly as they were.
#[utoipa::path(post, path = "/api/worklist/{id}/unlink", request_body = ReasonRequest, tag = "worklist",
    params(("id" = String, Path, description = "Worklist item (`L-…`)"), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retry safe")),
    responses((status = 200, body = CommandAccepted), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 404, body = ProblemBody), (status = 422, body = ProblemBody), (status = 503, body = ProblemBody)))]
pub async fn unlink(
    State(state): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(req): Json<ReasonRequest>,
) -> ApiResult {
    decide(state, caller, headers, id, Decision::Unlink { reason: req.reason }).await
}
