//! Conformance stories for accounts, sessions and API tokens, run against
//! every backend like [`crate::conformance`].

use crate::accounts::{Account, Accounts, ApiToken, SessionRecord};
use std::sync::Arc;

pub type Factory<'a> = &'a dyn Fn() -> Arc<dyn Accounts>;
type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}

fn err<T>(r: Result<T, crate::StoreError>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

fn ts(second: i64) -> Result<jiff::Timestamp, String> {
    jiff::Timestamp::from_microsecond(1_780_000_000_000_000 + second * 1_000_000 + 7).map_err(|e| e.to_string())
}

fn account(name: &str) -> Result<Account, String> {
    Ok(Account {
        username: name.into(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash-of-{name}"),
        agency: "BP".into(),
        role: "bp_agent".into(),
        disabled: false,
        created_at: ts(0)?,
    })
}

fn session(id: &str, user: &str, at: i64) -> Result<SessionRecord, String> {
    Ok(SessionRecord { id_hash: id.into(), username: user.into(), created_at: ts(at)?, last_seen: ts(at)? })
}

/// Accounts are created once per name and read back exactly.
pub fn accounts_create_and_read(make: Factory<'_>) -> Check {
    let s = make();
    ensure!(err(s.account_count())? == 0, "empty at first");
    ensure!(err(s.account_create(&account("zoe")?))?, "create zoe");
    ensure!(err(s.account_create(&account("ana")?))?, "create ana");
    let mut other = account("ana")?;
    other.role = "admin".into();
    ensure!(!err(s.account_create(&other))?, "a taken name is refused");
    ensure!(err(s.account("ana"))? == Some(account("ana")?), "read back, unchanged by the refused create");
    ensure!(err(s.account("nobody"))?.is_none(), "unknown name");
    let names: Vec<String> = err(s.accounts())?.into_iter().map(|a| a.username).collect();
    ensure!(names == vec!["ana".to_string(), "zoe".to_string()], "listed by name: {names:?}");
    ensure!(err(s.account_count())? == 2, "count");
    Ok(())
}

/// Sessions end after the idle timeout, on password change and on disable.
pub fn sessions_idle_password_disable(make: Factory<'_>) -> Check {
    let s = make();
    err(s.account_create(&account("ana")?))?;
    err(s.session_create(&session("s1", "ana", 0)?))?;
    let t = err(s.session_touch("s1", ts(100)?, 600))?.ok_or("a fresh session is valid")?;
    ensure!(t.last_seen == ts(100)? && t.created_at == ts(0)?, "touch moves last use: {t:?}");
    ensure!(err(s.session_touch("s1", ts(700)?, 600))?.is_some(), "exactly the timeout after last use is still valid");
    ensure!(err(s.session_touch("s1", ts(1301)?, 600))?.is_none(), "idle past the timeout ends it");
    ensure!(err(s.session_touch("s1", ts(1302)?, 600))?.is_none(), "an ended session stays ended");
    ensure!(err(s.session_touch("nope", ts(1)?, 600))?.is_none(), "unknown session");

    err(s.session_create(&session("s2", "ana", 0)?))?;
    ensure!(err(s.account_set_password("ana", "$argon2id$new"))?, "set password");
    ensure!(err(s.account("ana"))?.map(|a| a.password_hash) == Some("$argon2id$new".into()), "new hash stored");
    ensure!(err(s.session_touch("s2", ts(1)?, 600))?.is_none(), "a password change ends sessions");

    err(s.session_create(&session("s3", "ana", 0)?))?;
    ensure!(err(s.account_set_disabled("ana", true))?, "disable");
    ensure!(err(s.account("ana"))?.is_some_and(|a| a.disabled), "disabled flag stored");
    ensure!(err(s.session_touch("s3", ts(1)?, 600))?.is_none(), "disabling ends sessions");
    ensure!(err(s.account_set_disabled("ana", false))?, "re-enable");
    ensure!(!err(s.account_set_disabled("nobody", true))?, "unknown account");
    ensure!(!err(s.account_set_password("nobody", "x"))?, "unknown account");

    err(s.session_create(&session("s4", "ana", 0)?))?;
    ensure!(err(s.session_end("s4"))?, "logout");
    ensure!(err(s.session_touch("s4", ts(1)?, 600))?.is_none(), "logged out");
    Ok(())
}

/// Tokens are stored hashed, read back, listed, and revoked once.
pub fn tokens_issue_and_revoke(make: Factory<'_>) -> Check {
    let s = make();
    let token = ApiToken {
        id: "tok-1".into(),
        secret_hash: "ab".repeat(32),
        label: "ORR case system".into(),
        agency: "ORR".into(),
        role: "orr_case_manager".into(),
        scopes: vec!["read".into(), "command".into()],
        created_by: "admin".into(),
        created_at: ts(0)?,
        revoked_at: None,
    };
    ensure!(err(s.token_create(&token))?, "create");
    ensure!(!err(s.token_create(&token))?, "a taken id is refused");
    ensure!(err(s.token("tok-1"))? == Some(token.clone()), "read back");
    ensure!(err(s.tokens())?.len() == 1, "listed");
    ensure!(err(s.token_revoke("tok-1", ts(5)?))?, "revoke");
    ensure!(!err(s.token_revoke("tok-1", ts(6)?))?, "revoking twice changes nothing");
    ensure!(err(s.token("tok-1"))?.and_then(|t| t.revoked_at) == Some(ts(5)?), "revocation time kept");
    ensure!(!err(s.token_revoke("nope", ts(6)?))?, "unknown token");
    Ok(())
}

pub type Story = fn(Factory<'_>) -> Check;

pub const STORIES: &[(&str, Story)] = &[
    ("accounts_create_and_read", accounts_create_and_read),
    ("sessions_idle_password_disable", sessions_idle_password_disable),
    ("tokens_issue_and_revoke", tokens_issue_and_revoke),
];

pub fn run_all(make: Factory<'_>) -> Vec<String> {
    STORIES.iter().filter_map(|(name, story)| story(make).err().map(|e| format!("accounts {name}: {e}"))).collect()
}
