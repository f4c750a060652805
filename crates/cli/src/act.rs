//! Commands that change the record, issued as the actor named by
//! `--as/--role/--agency` and checked by the core like any other command.

use crate::args::{Action, Cli};
use crate::db::AnyStore;
use anyhow::{Result, anyhow};
use kinship_app::Engine;
use kinship_domain::command::Command;
use kinship_domain::family::{ReviewDecision, Role};
use kinship_domain::person::Citizenship;
use kinship_domain::{Actor, FamilyId, FindingId, LinkId, PersonId, SeparationId};
use std::process::ExitCode;

fn person(s: &str) -> Result<PersonId> {
    PersonId::parse(s).ok_or_else(|| anyhow!("{s:?} is not a person id (P-…)"))
}

fn family(s: &str) -> Result<FamilyId> {
    FamilyId::parse(s).ok_or_else(|| anyhow!("{s:?} is not a family id (F-…)"))
}

fn link(s: &str) -> Result<LinkId> {
    LinkId::parse(s).ok_or_else(|| anyhow!("{s:?} is not a worklist item id (L-…)"))
}

fn role(s: &str) -> Result<Role> {
    Role::parse(s).ok_or_else(|| anyhow!("{s:?} is not a family role (MOTHER, FATHER, LEGAL_GUARDIAN, SON, DAUGHTER, CHILD, …)"))
}

pub fn run(engine: &Engine<AnyStore>, cli: &Cli, action: &Action) -> Result<ExitCode> {
    let cmd = match action {
        Action::Separate { family: f, members, reason, policy, narrative, approved_by } => Command::RecordSeparation {
            family: family(f)?,
            separation: SeparationId::new_v7(),
            members: members.iter().map(|m| person(m)).collect::<Result<_>>()?,
            reason_code: reason.to_ascii_uppercase(),
            policy: policy.clone(),
            narrative: narrative.clone(),
            approved_by: approved_by.clone(),
        },
        Action::Review { family: f, separation, level, return_it, note } => Command::ReviewSeparation {
            family: family(f)?,
            separation: SeparationId::parse(separation).ok_or_else(|| anyhow!("{separation:?} is not a separation id (S-…)"))?,
            level: *level,
            decision: if *return_it { ReviewDecision::Return } else { ReviewDecision::Approve },
            note: note.clone(),
        },
        Action::Reunify { family: f, members, location } => Command::Reunify {
            family: family(f)?,
            members: members.iter().map(|m| person(m)).collect::<Result<_>>()?,
            location: location.clone(),
        },
        Action::Lead { family: f, person: p } => Command::DesignateLead { family: family(f)?, person: person(p)? },
        Action::TransferOffer { person: p, to, facility } => {
            Command::OfferTransfer { person: person(p)?, to_agency: to.clone(), to_facility: facility.clone() }
        }
        Action::TransferAccept { person: p, facility } => Command::AcceptTransfer { person: person(p)?, facility: facility.clone() },
        Action::TransferReject { person: p, reason } => Command::RejectTransfer { person: person(p)?, reason: reason.clone() },
        Action::Release { person: p, address, conditions } => {
            Command::Release { person: person(p)?, us_address: address.clone(), conditions: conditions.clone() }
        }
        Action::Remove { person: p, to_country } => Command::Remove {
            person: person(p)?,
            to_country: to_country
                .as_deref()
                .map(|c| Citizenship::parse(c).ok_or_else(|| anyhow!("--to-country must be an ISO 3166-1 alpha-3 code, not {c:?}")))
                .transpose()?,
        },
        Action::ConfirmLink { link: l, adult_role, minor_role, note } => {
            let id = link(l)?;
            let state = crate::worklist::link_state(engine, id)?;
            Command::ConfirmLink {
                link: id,
                a: state.a,
                b: state.b,
                adult_role: adult_role.as_deref().map(role).transpose()?,
                minor_role: minor_role.as_deref().map(role).transpose()?,
                note: note.clone(),
            }
        }
        Action::RejectLink { link: l, reason } => Command::RejectLink { link: link(l)?, reason: reason.clone() },
        Action::Unlink { link: l, reason } => Command::UnlinkIdentity { link: link(l)?, reason: reason.clone() },
        Action::Resolve { finding, resolution } => Command::ResolveFinding {
            finding: FindingId::parse(finding).ok_or_else(|| anyhow!("{finding:?} is not a finding id (Q-…)"))?,
            resolution: resolution.clone(),
        },
    };
    let actor = Actor { user: cli.user.clone(), agency: cli.agency.clone(), role: cli.role.clone() };
    let key = cli.key.clone().unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let meta = Engine::<AnyStore>::meta(&actor, key);
    let out = engine.execute(&meta, &cmd)?;
    let ids = match &cmd {
        Command::RecordSeparation { separation, .. } => format!(" separation {separation}"),
        _ => String::new(),
    };
    if cli.json {
        outln!("{}", serde_json::json!({ "first": out.first, "last": out.last, "replayed": out.replayed, "command": cmd }));
    } else if out.replayed {
        outln!("already done (same key): events {}..{}", out.first, out.last);
    } else {
        outln!("recorded{ids}: events {}..{}", out.first, out.last);
    }
    Ok(ExitCode::SUCCESS)
}
