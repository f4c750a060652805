//! The audit writer: one record per read of person data and per command,
//! written before the answer is returned. When it cannot be written the
//! caller gets [`AppError::AuditUnavailable`] instead of the data: an
//! unaudited read must not happen.

use super::Principal;
use crate::error::AppError;
use kinship_store::audit::{AuditEntry, AuditLog};
use std::sync::Arc;

#[derive(Clone)]
pub struct AuditWriter {
    log: Arc<dyn AuditLog>,
}

/// What one audit record says besides who asked.
pub struct Act<'a> {
    pub action: &'a str,
    pub subjects: Vec<String>,
    pub field_classes: Vec<String>,
    pub purpose: Option<&'a str>,
    pub outcome: &'a str,
}

impl AuditWriter {
    pub fn new(log: Arc<dyn AuditLog>) -> Self {
        Self { log }
    }

    pub fn log(&self) -> &Arc<dyn AuditLog> {
        &self.log
    }

    pub fn write(&self, who: &Principal, act: Act<'_>) -> Result<u64, AppError> {
        let entry = AuditEntry {
            at: AuditEntry::micros(jiff::Timestamp::now()),
            user: who.user.clone(),
            agency: who.agency.clone(),
            role: who.role.clone(),
            token: who.token.clone(),
            action: act.action.into(),
            subjects: act.subjects,
            field_classes: act.field_classes,
            purpose: act.purpose.map(str::to_string),
            source: who.source.clone(),
            outcome: act.outcome.into(),
        };
        self.log.audit_append(&entry).map(|r| r.position).map_err(|e| AppError::AuditUnavailable(e.to_string()))
    }
}
