//! `kinship worklist`: the review worklist as the store holds it, and
//! `kinship worklist run`, which links the records that arrived since the
//! last run (the server does this on its own while it runs).

use crate::db::AnyStore;
use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use kinship_app::Engine;
use kinship_app::linkage::{self, LinkageOptions, RunReport};
use kinship_domain::LinkId;
use kinship_domain::link::{LinkKind, LinkState, LinkStatus};
use kinship_store::{Store, WorklistQuery};
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct ListArgs {
    /// family or identity.
    #[arg(long)]
    kind: Option<String>,
    /// proposed (default), confirmed, rejected, linked, unlinked or all.
    #[arg(long, default_value = "proposed")]
    status: String,
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

#[derive(Subcommand, Debug)]
pub enum WorklistCmd {
    /// Link the records that arrived since the last run and propose what is found.
    Run {
        /// Neighbours read around the new records' encounter dates, in days.
        #[arg(long, default_value_t = 30)]
        window_days: i64,
        /// Identity links at or above this match probability are asserted at
        /// once (reversibly); above 1 means never.
        #[arg(long, default_value_t = 0.99)]
        assert_above: f64,
        /// Worker threads (default: all cores). The proposals do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
    },
}

pub fn run(engine: &Engine<AnyStore>, cmd: Option<&WorklistCmd>, list: &ListArgs, json: bool) -> Result<ExitCode> {
    match cmd {
        Some(WorklistCmd::Run { window_days, assert_above, threads }) => {
            let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1);
            let opts = LinkageOptions { window_days: *window_days, identity_assert_score: *assert_above, threads, ..Default::default() };
            let report = linkage::run(engine, &opts)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_run(&report);
            }
            Ok(ExitCode::SUCCESS)
        }
        None => show(engine, list, json),
    }
}

pub fn print_run(r: &RunReport) {
    if r.new_records == 0 {
        outln!("linkage: nothing new since log position {}", r.through);
        return;
    }
    outln!("linkage: {} new record(s), {} linked with their neighbours, through log position {}", r.new_records, r.rows, r.through);
    outln!(
        "  proposed {} family tie(s) and {} identity link(s); asserted {} identity link(s); {} already proposed or refused",
        r.family_proposed,
        r.identity_proposed,
        r.identity_asserted,
        r.skipped
    );
}

fn show(engine: &Engine<AnyStore>, a: &ListArgs, json: bool) -> Result<ExitCode> {
    let kind =
        a.kind.as_deref().map(|k| LinkKind::parse(k).ok_or_else(|| anyhow!("--kind must be family or identity, not {k:?}"))).transpose()?;
    let status = match a.status.as_str() {
        "all" => None,
        s => Some(
            LinkStatus::parse(s)
                .ok_or_else(|| anyhow!("--status must be proposed, confirmed, rejected, linked, unlinked or all, not {s:?}"))?,
        ),
    };
    let q = WorklistQuery { kind: kind.map(|k| k.as_str().into()), status: status.map(|s| s.as_str().into()), limit: a.limit };
    let items = engine.store.worklist(&q)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(ExitCode::SUCCESS);
    }
    if items.is_empty() {
        outln!("the worklist has no {} items", a.status);
    }
    for i in &items {
        let what = match (i.kind.as_str(), i.relation.as_deref()) {
            ("family", Some(rel)) => format!("{rel} adult {} · minor {}", i.a, i.b),
            _ => format!("SAME PERSON? {} · {}", i.a, i.b),
        };
        outln!("{}  {:.2}  {}  [{}{}]", i.id, i.score, what, i.status, if i.automatic { ", automatic" } else { "" });
        outln!("    {}", i.evidence.join("; "));
        if let Some(by) = &i.decided_by {
            outln!("    decided by {by}{}", i.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A proposal's state, replayed from its stream (for `confirm-link`).
pub fn link_state(engine: &Engine<AnyStore>, id: LinkId) -> Result<LinkState> {
    let mut cache = kinship_app::engine::Cache::default();
    match engine.prepare_view_link(&mut cache, id)?.links.get(&id) {
        Some(l) => Ok(l.clone()),
        None => bail!("no worklist item {id}"),
    }
}
