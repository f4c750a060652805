//! Command-line arguments.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "kinship",
    version,
    about = "Kinship: the system of record for people in immigration custody and the families they travel with"
)]
pub struct Cli {
    /// Data directory (created on first use).
    #[arg(long, global = true, env = "KINSHIP_DATA", default_value = "./kinship-data")]
    pub data: PathBuf,
    /// A PostgreSQL server to use instead of the embedded store:
    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE.
    #[arg(long, global = true, env = "KINSHIP_DATABASE", hide_env_values = true)]
    pub database: Option<String>,
    /// Jurisdiction profile (TOML). Default: the built-in U.S. profile.
    #[arg(long, global = true, env = "KINSHIP_PROFILE")]
    pub profile: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Who is acting (for commands that change the record).
    #[arg(long = "as", global = true, env = "KINSHIP_USER", default_value = "local-admin")]
    pub user: String,
    /// The actor's role (a key under [roles] in the profile).
    #[arg(long, global = true, env = "KINSHIP_ROLE", default_value = "admin")]
    pub role: String,
    /// The agency the actor works for.
    #[arg(long, global = true, env = "KINSHIP_AGENCY", default_value = "HQ")]
    pub agency: String,
    /// Idempotency key for a command; a retry with the same key writes nothing new.
    #[arg(long, global = true)]
    pub key: Option<String>,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Load the built-in demo scenario and print the separated-children report.
    Demo {
        /// About this many families arrive in the demo's month (with about ten
        /// times as many people in all).
        #[arg(long, default_value_t = 300)]
        families: usize,
        /// Only write the scenario's agency extracts (BP, OFO, ICE, ORR rows)
        /// to this one interchange-v1 CSV file, without loading anything.
        #[arg(long)]
        write_extract: Option<PathBuf>,
    },
    /// Import interchange-v1 files (CSV or JSON Lines).
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Zone for times recorded without a UTC offset, e.g. America/Chicago.
        #[arg(long)]
        assume_tz: Option<String>,
        /// csv or jsonl (default: from the file extension).
        #[arg(long)]
        format: Option<String>,
    },
    /// Export every record in interchange-v1 CSV.
    Export {
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Recompute the event log's hash chain; report the first bad position.
    Verify,
    /// Recreate every projection from the event log.
    Rebuild,
    /// A person by id (P-…) or A-number: family, custody history, clocks and events.
    Person { key: String },
    /// Search persons by name, age, encounter dates or family.
    Search(SearchArgs),
    /// Reports.
    Report {
        #[command(subcommand)]
        report: ReportCmd,
    },
    /// Record what the passage of time has made true (children who turned 18 in custody),
    /// and link the records that arrived since the last linkage run.
    Sweep,
    /// The review worklist: family ties nobody recorded and identity links,
    /// best first (`kinship worklist run` links what arrived since the last run).
    #[command(args_conflicts_with_subcommands = true)]
    Worklist {
        #[command(subcommand)]
        cmd: Option<crate::worklist::WorklistCmd>,
        #[command(flatten)]
        list: crate::worklist::ListArgs,
    },
    /// Batch record linkage over interchange files (nothing is written to the store).
    Link {
        #[command(subcommand)]
        cmd: crate::link::LinkCmd,
    },
    /// Create or upgrade the PostgreSQL schema (run as the database owner).
    Migrate {
        /// The role the application connects as: it may read the log and
        /// append to it (never change or remove an event), and maintain the projections.
        #[arg(long)]
        app_role: Option<String>,
    },
    /// Generate a synthetic border scenario: agency extracts, ground truth and the story after the encounters.
    Sim(crate::sim::SimArgs),
    #[command(flatten)]
    Act(Action),
    #[command(flatten)]
    Server(crate::server_cli::ServerCmd),
}

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// Any given name or surname part (case- and accent-insensitive).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub min_age: Option<u16>,
    #[arg(long)]
    pub max_age: Option<u16>,
    /// Encountered on or after this date (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Encountered on or before this date (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    /// Members of this family (F-…).
    #[arg(long)]
    pub family: Option<String>,
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

#[derive(Subcommand, Debug)]
pub enum ReportCmd {
    /// Every child currently separated from a parent: where, since when, why.
    SeparatedChildren,
    /// Data-quality findings (open ones unless --all).
    Findings {
        #[arg(long)]
        all: bool,
    },
    /// Legal clocks running now (72 h child in border custody, 48 h prosecution referral).
    Clocks,
}

#[derive(Subcommand, Debug)]
pub enum Action {
    /// Record a separation (exactly one reason code, a narrative, the approving official).
    Separate {
        #[arg(long)]
        family: String,
        /// Separated member(s).
        #[arg(long = "member", required = true)]
        members: Vec<String>,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        policy: Option<String>,
        #[arg(long)]
        narrative: String,
        #[arg(long)]
        approved_by: String,
    },
    /// Review a separation at level 1 or 2.
    Review {
        #[arg(long)]
        family: String,
        #[arg(long)]
        separation: String,
        #[arg(long)]
        level: u8,
        /// Return it instead of approving (needs --note).
        #[arg(long = "return")]
        return_it: bool,
        #[arg(long)]
        note: Option<String>,
    },
    /// Rejoin separated members to their original family.
    Reunify {
        #[arg(long)]
        family: String,
        #[arg(long = "member", required = true)]
        members: Vec<String>,
        #[arg(long)]
        location: String,
    },
    /// Designate a family's lead.
    Lead {
        #[arg(long)]
        family: String,
        #[arg(long)]
        person: String,
    },
    /// Offer a person to another agency.
    TransferOffer {
        person: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        facility: Option<String>,
    },
    /// Accept an offered transfer (as the receiving agency).
    TransferAccept {
        person: String,
        #[arg(long)]
        facility: Option<String>,
    },
    /// Reject an offered transfer, with the reason.
    TransferReject {
        person: String,
        #[arg(long)]
        reason: String,
    },
    /// Release from custody (an address is expected; without one the release is flagged).
    Release {
        person: String,
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        conditions: Option<String>,
    },
    /// Removal from the United States.
    Remove {
        person: String,
        #[arg(long)]
        to_country: Option<String>,
    },
    /// Resolve a data-quality finding.
    Resolve {
        finding: String,
        #[arg(long)]
        resolution: String,
    },
    /// Confirm a worklist proposal (L-…): a family tie is recorded as `inferred`, confirmed by you.
    ConfirmLink {
        link: String,
        /// The adult's role, when not the default (MOTHER/FATHER by sex, or OTHER_RELATIVE).
        #[arg(long)]
        adult_role: Option<String>,
        /// The minor's role, when not the default.
        #[arg(long)]
        minor_role: Option<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Reject a worklist proposal; the pair is never proposed again.
    RejectLink {
        link: String,
        #[arg(long)]
        reason: String,
    },
    /// Withdraw an asserted identity link (nothing was merged; nothing is lost).
    Unlink {
        link: String,
        #[arg(long)]
        reason: String,
    },
}
