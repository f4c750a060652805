//! `kinship sim --server URL --token T`: a generated story sent to a running
//! server as live commands (`POST /api/commands`, one per step, with the
//! step's key as `Idempotency-Key`, so a second run writes nothing new).
//!
//! Steps name source records; the server's ids for them are read once from
//! `GET /api/export` (persons with their records and families), and a
//! source family is the family its members' records are in. The extracts
//! must be in the server's store first (`kinship import`, as `--load` does
//! before the story). Each step is sent as its actor (a token issued for
//! the run per actor, with the actor's role and agency, revoked at the end),
//! at the server's clock: they are live commands, not a replay of the story's
//! times.

use anyhow::{Context, Result, anyhow, bail};
use kinship_app::error::AppError;
use kinship_app::import::read::{self, Format};
use kinship_app::story::{self, Resolve, StoryReport};
use kinship_domain::{FamilyId, PersonId};
use kinship_sim::story::{Actor, Ref};
use kinship_web::client::Client;
use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

/// Attempts per step when the server answers 409 (another writer moved a
/// stream the command read); the retry is decided afresh.
const CONFLICT_RETRIES: usize = 5;

/// Record and family ids as the server knows them.
#[derive(Default)]
struct Known {
    persons: HashMap<(String, String), PersonId>,
    family_of: HashMap<PersonId, FamilyId>,
    /// (source, source family id) → a member's record, from the extracts.
    source_families: HashMap<(String, String), (String, String)>,
}

impl Resolve for Known {
    fn person(&mut self, r: &Ref) -> Result<Option<PersonId>, AppError> {
        Ok(self.persons.get(&(r.source.clone(), r.record_id.clone())).copied())
    }
    fn family(&mut self, r: &Ref) -> Result<Option<FamilyId>, AppError> {
        let member = self.source_families.get(&(r.source.clone(), r.record_id.clone()));
        Ok(member.and_then(|m| self.persons.get(m)).and_then(|p| self.family_of.get(p)).copied())
    }
}

/// What the server answered, step by step.
#[derive(serde::Serialize)]
struct Sent {
    #[serde(flatten)]
    report: StoryReport,
    /// Steps refused because what they name is out of the token's reach (404).
    not_found: u64,
    /// Persons the server's export listed.
    persons_known: usize,
}

/// Who sends each step: the story's actor under a token of their own when
/// logged in as someone who may issue tokens (so a separation is reviewed by
/// someone other than who recorded it, as the core requires), else the given token.
struct Senders {
    admin: Client,
    actors: HashMap<String, Client>,
    /// Tokens issued for this run, revoked at its end.
    issued: Vec<String>,
    can_issue: bool,
}

impl Senders {
    async fn for_actor(&mut self, actor: &Actor) -> Result<Client> {
        if !self.can_issue {
            return Ok(self.admin.clone());
        }
        if let Some(c) = self.actors.get(&actor.user) {
            return Ok(c.clone());
        }
        let request = serde_json::json!({
            "label": format!("sim {}", actor.user), "agency": actor.agency, "role": actor.role, "scopes": ["command"],
        });
        let res = self.admin.post("/api/tokens", &request, &[]).await.map_err(|e| anyhow!("cannot reach the server: {e}"))?;
        match res.status {
            201 => {
                let body = res.json();
                let (Some(id), Some(secret)) = (body["id"].as_str(), body["token"].as_str()) else {
                    bail!("POST /api/tokens answered no token: {}", String::from_utf8_lossy(&res.body));
                };
                self.issued.push(id.to_string());
                let client = self.admin.with_bearer(secret);
                self.actors.insert(actor.user.clone(), client.clone());
                Ok(client)
            }
            403 => bail!("--login: this user may not issue API tokens (needs account.manage): {}", String::from_utf8_lossy(&res.body)),
            other => bail!(
                "POST /api/tokens for the story's role {:?} of {:?} answered {other}: {}",
                actor.role,
                actor.agency,
                String::from_utf8_lossy(&res.body)
            ),
        }
    }

    async fn revoke(&mut self) -> Result<()> {
        for id in self.issued.drain(..) {
            let res = self.admin.send("DELETE", &format!("/api/tokens/{id}"), &[], None).await.map_err(|e| anyhow!("{e}"))?;
            if res.status != 204 {
                bail!("cannot revoke the run's token {id}: the server answered {}", res.status);
            }
        }
        Ok(())
    }
}

/// The server to drive and how to authenticate.
pub struct Target {
    url: String,
    token: Option<String>,
    /// User and password of a session that may issue tokens.
    login: Option<(String, String)>,
}

impl Target {
    pub fn from_args(url: &str, token: Option<&str>, login: Option<&str>) -> Result<Self> {
        let login = match login {
            Some(user) => {
                let password = std::env::var("KINSHIP_PASSWORD")
                    .map_err(|_| anyhow!("--login {user:?} reads the password from KINSHIP_PASSWORD, which is not set"))?;
                Some((user.to_string(), password))
            }
            None => None,
        };
        if token.is_none() && login.is_none() {
            bail!("--server needs --token (an API token with the read and command scopes) or --login USER");
        }
        Ok(Self { url: url.to_string(), token: token.map(str::to_string), login })
    }
}

/// Logs in; answers a client carrying the session cookie.
async fn session(base: &Client, user: &str, password: &str) -> Result<Client> {
    let res = base
        .post("/api/session", &serde_json::json!({ "username": user, "password": password }), &[])
        .await
        .map_err(|e| anyhow!("cannot reach the server: {e}"))?;
    if res.status != 200 {
        bail!("logging in as {user:?} failed: the server answered {}", res.status);
    }
    let cookie = res.header("set-cookie").and_then(|c| c.split(';').next()).ok_or_else(|| anyhow!("the login set no session cookie"))?;
    Ok(base.with_cookie(cookie))
}

pub fn run(dir: &Path, target: &Target, json: bool) -> Result<ExitCode> {
    let url = target.url.as_str();
    let story = kinship_sim::story_file(dir);
    if !story.is_file() {
        bail!("{} holds no generated scenario (no story/lifecycle.jsonl); run kinship sim --out DIR first", dir.display());
    }
    let mut known = Known::default();
    read_source_families(dir, &mut known)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("cannot start the async runtime")?;
    let base = Client::new(url);
    let started = std::time::Instant::now();
    let sent = runtime.block_on(async {
        let admin = match (&target.login, &target.token) {
            (Some((user, password)), _) => session(&base, user, password).await?,
            (None, Some(token)) => base.with_bearer(token),
            (None, None) => bail!("--server needs --token or --login"),
        };
        // Only a person's session may issue tokens.
        let mut senders = Senders { admin: admin.clone(), actors: HashMap::new(), issued: vec![], can_issue: target.login.is_some() };
        let persons_known = fetch_known(&admin, &mut known).await?;
        let sent = send(&mut senders, &story, &mut known, persons_known).await;
        // Revoked whatever happened: they were for this run only.
        senders.revoke().await?;
        sent
    })?;
    let secs = started.elapsed().as_secs_f64();
    if json {
        outln!("{}", serde_json::to_string(&serde_json::json!({ "server": sent, "seconds": secs }))?);
    } else {
        let r = &sent.report;
        outln!(
            "Sent the story to {url}: {} steps, {} applied, {} replayed, {} refused {:?}, {} out of reach, {} naming records the server does not hold, in {secs:.1} s",
            r.steps,
            r.applied,
            r.replayed,
            r.refused_total(),
            r.refused,
            sent.not_found,
            r.unresolved
        );
        if sent.persons_known == 0 {
            outln!("The server holds no person this token can read: import the scenario's extracts into its store first (kinship import).");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Which record stands for each source family: the families the story names
/// are the extracts' `family_id`s.
fn read_source_families(dir: &Path, known: &mut Known) -> Result<()> {
    for path in kinship_sim::data_files(dir) {
        if !path.is_file() {
            continue;
        }
        for row in read::rows(&path, Format::Csv).with_context(|| format!("cannot read {}", path.display()))? {
            // A row the importer rejects is not on the server either: skip it here too.
            let Ok((_, fields)) = row else { continue };
            let get = |k: &str| fields.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
            if let (Some(source), Some(record), Some(family)) = (get("source"), get("record_id"), get("family_id")) {
                known.source_families.entry((source.clone(), family)).or_insert((source, record));
            }
        }
    }
    Ok(())
}

/// Reads every person the token reaches, with their records and family.
async fn fetch_known(client: &Client, known: &mut Known) -> Result<usize> {
    let res = client.get("/api/export").await.map_err(|e| anyhow!("cannot reach the server: {e}"))?;
    if res.status != 200 {
        bail!("GET /api/export answered {}: {}", res.status, String::from_utf8_lossy(&res.body));
    }
    let persons: Vec<serde_json::Value> = serde_json::from_slice(&res.body).context("GET /api/export did not answer a list of persons")?;
    for p in &persons {
        let Some(id) = p["id"].as_str().and_then(PersonId::parse) else { continue };
        for r in p["identity"]["records"].as_array().into_iter().flatten() {
            if let (Some(source), Some(record)) = (r["source"].as_str(), r["record_id"].as_str()) {
                known.persons.insert((source.to_string(), record.to_string()), id);
            }
        }
        if let Some(f) = p["family"]["family"].as_str().and_then(FamilyId::parse) {
            known.family_of.insert(id, f);
        }
    }
    Ok(persons.len())
}

async fn send(senders: &mut Senders, story: &Path, known: &mut Known, persons_known: usize) -> Result<Sent> {
    let mut report = StoryReport::default();
    let mut not_found = 0;
    for step in story::steps(story)? {
        let step = step?;
        report.steps += 1;
        let Some((_, cmd)) = story::command_with(known, &step)? else {
            report.unresolved += 1;
            continue;
        };
        let body = serde_json::to_value(&cmd)?;
        let client = senders.for_actor(&step.actor).await?;
        let mut attempt = 0;
        let res = loop {
            attempt += 1;
            let res = client
                .post("/api/commands", &body, &[("idempotency-key", step.key.as_str())])
                .await
                .map_err(|e| anyhow!("step {}: {e}", step.key))?;
            if res.status != 409 || attempt >= CONFLICT_RETRIES {
                break res;
            }
        };
        match res.status {
            200 if res.header("idempotent-replayed") == Some("true") => report.replayed += 1,
            200 => {
                report.applied += 1;
                *report.applied_by_kind.entry(step.action.kind().to_string()).or_default() += 1;
            }
            404 => not_found += 1,
            400 | 403 | 409 | 422 => {
                let problem = res.json();
                let rule = problem["rule"].as_str().or(problem["type"].as_str()).unwrap_or("refused").to_string();
                *report.refused.entry(rule).or_default() += 1;
            }
            other => bail!("step {}: the server answered {other}: {}", step.key, String::from_utf8_lossy(&res.body)),
        }
    }
    Ok(Sent { report, not_found, persons_known })
}
