//! The OpenAPI 3.1 description, generated from the handlers. The committed
//! copy (`crates/web/openapi.json`) is compared with this in the tests, so
//! an accidental API change fails the build.

use crate::problem::ProblemBody;
use crate::{handlers, worklist};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Kinship", description = "The system of record for people in immigration custody and the families they travel with."),
    paths(
        handlers::search,
        handlers::person,
        handlers::export,
        handlers::separated_children,
        crate::reports::findings,
        crate::reports::clocks,
        handlers::command,
        handlers::audit,
        worklist::list,
        worklist::confirm,
        worklist::reject,
        worklist::unlink,
        handlers::login,
        handlers::whoami,
        handlers::logout,
        handlers::issue_token,
        handlers::revoke_token,
        handlers::health,
        handlers::metrics,
    ),
    components(schemas(ProblemBody, handlers::CommandAccepted, handlers::LoginRequest, handlers::Whoami, handlers::TokenRequest, handlers::TokenIssued,
        worklist::WorklistItemBody, worklist::ConfirmRequest, worklist::ReasonRequest)),
    modifiers(&Security),
    security(("session" = []), ("token" = []))
)]
pub struct ApiDoc;

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::COOKIE))));
        components.add_security_scheme("token", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// The document as the server serves it and the repository commits it.
pub fn json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default() + "\n"
}
