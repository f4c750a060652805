//! Errors from `decide`: each names the rule that was broken, in words an
//! agent understands, with a stable code for programs and the field at fault.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message} [rule: {rule}]")]
pub struct DomainError {
    /// Stable, kebab-case rule code, e.g. `unit-needs-adult-parent`.
    pub rule: &'static str,
    /// The command field at fault, when there is one.
    pub field: Option<&'static str>,
    pub message: String,
}

impl DomainError {
    pub fn new(rule: &'static str, message: impl Into<String>) -> Self {
        Self { rule, field: None, message: message.into() }
    }
    pub fn field(rule: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        Self { rule, field: Some(field), message: message.into() }
    }
}
