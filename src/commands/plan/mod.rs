//! `mailshift plan`: read the files (and, given an org, the live org), compute the plan, write
//! it, print the review. The machine has two cores, so independent work runs side by side: the
//! two files are parsed (and hashed) at once, and the plan file is written while the review is
//! rendered (`hash_first` holds it back until the file's content hash, which it names first,
//! is known).

mod hash_first;
mod live;
mod source;

use crate::config::PlanConfig;
use crate::error::{Error, Outcome};
use crate::hash::sha256_hex;
use crate::input::{
    AccountsFile, DomainRule, InputError, Layout, TargetRow, TargetsFile, parse_accounts,
    parse_targets,
};
use crate::org::Org;
use crate::plan::{
    self, Access, Blocked, InputFile, Inputs, LiveCheck, Origin, Plan, Request, why_unmatched,
};
use crate::review;
use crate::terminal::note;
use crate::words::counted;
use mailshift_core::cores::side_by_side;
use source::Source;
use std::path::PathBuf;
use std::thread;

pub fn run(config: &PlanConfig) -> Result<Outcome, Error> {
    let (plan, read) = make_keeping(config)?;
    if let Some(path) = &config.idp_checklist {
        review::write_checklist(path, &plan)?;
        note!(
            "mailshift: {} changes for the identity provider written to {}",
            plan.idp.len(),
            path.display()
        );
    }
    if let Some(path) = &config.people {
        review::write_people(path, &plan, &hashbrown::HashMap::default())?;
        note!(
            "mailshift: {} whose address changes written to {}",
            counted(review::people::count(&plan) as u64, "person", "people"),
            path.display()
        );
    }
    // Every review names the plan's content hash first: the review is rendered while the file
    // is written (or, for a dry run, the plan is hashed), and held until the hash is known.
    let (tx, rx) = std::sync::mpsc::channel();
    let (hashed, printed) = side_by_side(
        || {
            let sha256 = match &config.out {
                Some(out) => plan::file::write(out, &plan),
                None => plan::file::write_to(&plan, &mut std::io::sink()).map_err(|source| {
                    plan::file::PlanFileError::Write {
                        path: "(dry run)".into(),
                        source,
                    }
                }),
            };
            if let Ok(sha256) = &sha256 {
                let _ = tx.send(sha256.clone());
            }
            // The sender goes with this thread: a failed write leaves the review unprinted.
            drop(tx);
            sha256
        },
        || print_review_as_hashed(&plan, config.format, rx),
    );
    let sha256 = hashed?;
    match &config.out {
        Some(out) => note!(
            "mailshift: plan written to {} ({} writes, {} blocked; content sha256 {sha256})",
            out.display(),
            plan.summary.writes,
            plan.summary.blocked,
        ),
        None => note!("mailshift: dry run only; give --out FILE to write the plan"),
    }
    printed?;
    if let Some(u) = plan.unchanged.iter().find(|u| u.case_only) {
        let n = plan.unchanged.iter().filter(|u| u.case_only).count();
        note!(
            "mailshift: {} only in letter case (for example {} -> {}): Atlassian takes both spellings as one address, so nothing is written for {}. To change the spelling, edit the address in admin.atlassian.com (Directory > Managed accounts > the account)",
            counted(
                n as u64,
                "target differs from its account's address",
                "targets differ from their accounts' addresses"
            ),
            u.current,
            u.target,
            if n == 1 { "it" } else { "them" }
        );
    }
    if !plan.no_account.is_empty() {
        note!(
            "mailshift: {} with no Atlassian account: listed in the review, not blocked ({})",
            counted(plan.no_account.len() as u64, "row", "rows"),
            if config.strict {
                "counted in the exit code, as --strict asks"
            } else {
                "--strict counts them in the exit code"
            }
        );
    }
    let strictly_blocked = config.strict && !plan.no_account.is_empty();
    let outcome = if plan.blocked.is_empty() && !strictly_blocked {
        Outcome::Clean
    } else {
        Outcome::Blocked
    };
    drop_in_background((plan, read));
    Ok(outcome)
}

/// Reads the inputs (and the live org, given one) and computes the plan; writes nothing.
pub fn make(config: &PlanConfig) -> Result<Plan, Error> {
    let (plan, read) = make_keeping(config)?;
    drop_in_background(read);
    Ok(plan)
}

/// What was read to make a plan, kept until the plan is written: freeing a million accounts
/// while the plan file is hashed and written took a share of the two cores from it.
type Read = (Org, Vec<TargetsInput>);

/// `make`, giving back what was read, for the caller to free when it suits.
fn make_keeping(config: &PlanConfig) -> Result<(Plan, Read), Error> {
    let (accounts, targets) = read_files(config)?;
    // Several files are planned as one list, each row keeping its file and line.
    let merged: Vec<TargetRow>;
    let rows = match &targets[..] {
        [] => &[][..],
        [only] => &only.file.rows[..],
        several => {
            merged = several
                .iter()
                .flat_map(|t| t.file.rows.iter().cloned())
                .collect();
            &merged[..]
        }
    };
    let (source, live) = match &config.live {
        None => (offline_source(config, accounts)?, None),
        Some(live) => {
            let wanted: Vec<&str> = rows
                .iter()
                .filter_map(|r| match &r.target {
                    mailshift_core::input::Target::Valid(e) => Some(e.text()),
                    mailshift_core::input::Target::Invalid { .. } => None,
                })
                .collect();
            let (source, session) = live::source(config, live, accounts, &wanted)?;
            (source, Some((live, session)))
        }
    };
    idle_rules(&source, &config.rules)?;
    let mut access = Access {
        operator: config
            .operator
            .as_deref()
            .and_then(|o| live::operator_id(&source.org, o)),
        allow_self: config.allow_self,
        allow_scim_unlink: config.allow_scim_unlink,
        allow_non_ascii_local: config.allow_non_ascii_local_part,
        unclaimed: source.unclaimed.iter().cloned().collect(),
        ..Access::default()
    };
    let compute = |access: &Access| {
        plan::compute(&Request {
            org: &source.org,
            rows,
            rules: &config.rules,
            verified_domains: source.verified_domains.as_ref(),
            access,
        })
    };
    let mut computed = compute(&access);
    let mut checked_live = None;
    if let Some((live, session)) = &live {
        // Only accounts the unchecked plan writes can be written once locks are known.
        let (denied, read) = live::denied(session, live, &computed.steps)?;
        access.denied = denied;
        checked_live = Some(LiveCheck {
            org_id: live.org_id.clone(),
            permissions_read: read,
        });
        if !access.denied.is_empty() {
            computed = compute(&access);
        }
        note!(
            "Pre-flight: {} requests to the API in all.",
            session.reader.reads()
        );
    }
    for (k, t) in targets.iter().enumerate() {
        note!("mailshift: {}: {}", t.path.display(), t.file.describe());
        let of_file =
            |b: &&Blocked| matches!(b.origin, Origin::Line { file, .. } if file as usize == k);
        let unmatched = computed.no_account.iter().filter(of_file).count();
        let total = t.file.rows.len();
        if unmatched * 2 > total {
            let no_account: Vec<Blocked> = computed
                .no_account
                .iter()
                .filter(of_file)
                .cloned()
                .collect();
            let why = why_unmatched(&t.file, &no_account, &org_domains(&source.org))
                .unwrap_or_else(|| {
                    "Are the accounts export and the target list from the same org?".to_owned()
                });
            // A list of which no row finds an account plans nothing: that is not a plan.
            if unmatched == total {
                return Err(InputError::NothingMatched {
                    path: t.path.clone(),
                    rows: total,
                    why,
                }
                .into());
            }
            note!(
                "mailshift: {}: {unmatched} of {total} rows match no account. {why}",
                t.path.display(),
            );
        }
    }
    let unverified = written_of(&computed.steps, &source.unverified);
    let groups_before_unlink = live
        .as_ref()
        .map(|(_, session)| live::groups_before_unlink(session, &computed.steps))
        .unwrap_or_default();
    let scim_in_the_way = match &live {
        Some((live, session)) => live::scim_in_the_way(session, live, &computed)?,
        None => Vec::new(),
    };
    let plan = Plan {
        inputs: Inputs {
            accounts: source.input.clone(),
            accounts_layout: source.layout,
            targets: targets.first().map(TargetsInput::input_file),
            more_targets: targets
                .iter()
                .skip(1)
                .map(TargetsInput::input_file)
                .collect(),
            rewrite_domains: config
                .rules
                .iter()
                .map(mailshift_core::input::DomainRule::label)
                .collect(),
            verified_domains: source
                .verified_domains
                .as_ref()
                .map(|v| v.iter().cloned().collect()),
            checked_live,
            rollback: false,
        },
        summary: computed.summary,
        steps: computed.steps,
        blocked: computed.blocked,
        no_account: computed.no_account,
        unchanged: computed.unchanged,
        idp: computed.idp,
        unverified,
        left_behind: computed.left_behind,
        groups_before_unlink,
        scim_in_the_way,
    };
    Ok((plan, (source.org, targets)))
}

/// The accounts of `ids` that the steps write, in plan order.
fn written_of(steps: &[mailshift_core::plan::Step], ids: &[String]) -> Vec<String> {
    if ids.is_empty() {
        return Vec::new();
    }
    let ids: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut seen = std::collections::HashSet::new();
    steps
        .iter()
        .filter(|s| ids.contains(&*s.account_id) && seen.insert(&*s.account_id))
        .map(|s| s.account_id.to_string())
        .collect()
}

/// The domain keys of the org's accounts, most used first.
fn org_domains(org: &Org) -> Vec<String> {
    let mut count: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for a in org.accounts() {
        *count
            .entry(a.email.key().rsplit_once('@').map_or("", |(_, d)| d))
            .or_default() += 1;
    }
    let mut domains: Vec<(&str, usize)> = count.into_iter().collect();
    domains.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    domains.into_iter().map(|(d, _)| d.to_owned()).collect()
}

/// A rewrite rule whose domain no account is on does nothing, which looks like success: refused.
fn idle_rules(source: &Source, rules: &[DomainRule]) -> Result<(), Error> {
    if rules.is_empty() {
        return Ok(());
    }
    let domains = org_domains(&source.org);
    for rule in rules {
        if !domains.contains(&rule.from) {
            let mut shown: Vec<String> = domains.iter().take(5).cloned().collect();
            if domains.len() > 5 {
                shown.push(format!("and {} more", domains.len() - 5));
            }
            return Err(InputError::IdleRule {
                rule: rule.label(),
                domain: rule.from.clone(),
                input: source.input.path.clone(),
                domains: shown.join(", "),
            }
            .into());
        }
    }
    Ok(())
}

/// One `--targets` file as read: its path as given, what it holds, and its SHA-256.
struct TargetsInput {
    path: PathBuf,
    file: TargetsFile,
    sha256: String,
}

impl TargetsInput {
    fn input_file(&self) -> InputFile {
        InputFile {
            path: self.path.display().to_string(),
            sha256: self.sha256.clone(),
        }
    }
}

/// The accounts export as read, with its SHA-256.
type AccountsInput = (AccountsFile, String);

/// The accounts export (when given) and the targets files, each read, hashed and parsed: the
/// export parsed on this thread, while another reads, hashes and parses the targets, in the
/// order given, then hashes the export. Parsing the export is the longer job; hashing it on a
/// third thread took a share of the two cores from it.
fn read_files(config: &PlanConfig) -> Result<(Option<AccountsInput>, Vec<TargetsInput>), Error> {
    let accounts_src = config
        .accounts
        .as_deref()
        .map(crate::input::read)
        .transpose()?;
    let ((targets, sha256), parsed) = side_by_side(
        || {
            let targets = read_targets(config);
            let sha256 = accounts_src.as_ref().map(|src| sha256_hex(&src.bytes));
            (targets, sha256)
        },
        || {
            accounts_src
                .as_ref()
                .map(|src| parse_accounts(&src.path, &src.bytes))
                .transpose()
        },
    );
    let accounts = parsed.map(|parsed| parsed.zip(sha256));
    Ok((accounts?, targets?))
}

/// The targets files, each read, hashed and parsed, in the order given.
fn read_targets(config: &PlanConfig) -> Result<Vec<TargetsInput>, InputError> {
    let mut read = Vec::with_capacity(config.targets.len());
    for (k, path) in config.targets.iter().enumerate() {
        let src = crate::input::read(path)?;
        let sha256 = sha256_hex(&src.bytes);
        let mut file = parse_targets(&src.path, &src.bytes, &config.columns)?;
        if k > 0 {
            let k = u32::try_from(k).map_err(|_| InputError::TooManyTargetFiles)?;
            for row in &mut file.rows {
                row.file = k;
            }
        }
        if let Some(domain) = &config.login_domain {
            let made = file.with_login_domain(domain);
            note!(
                "mailshift: {}: {} read as LOGIN@{domain} (--login-domain)",
                path.display(),
                counted(made as u64, "login", "logins")
            );
        }
        read.push(TargetsInput {
            path: path.clone(),
            file,
            sha256,
        });
    }
    Ok(read)
}

/// The org as the export gives it, with no API to ask.
fn offline_source(
    config: &PlanConfig,
    accounts: Option<(AccountsFile, String)>,
) -> Result<Source, Error> {
    let (Some((parsed, sha256)), Some(path)) = (accounts, config.accounts.as_ref()) else {
        return Err(crate::live::reader::LiveError::NoOrgId.into());
    };
    if parsed.layout == Layout::ManagedAccounts {
        return Err(InputError::NoAccountIds { path: path.clone() }.into());
    }
    Ok(Source {
        unclaimed: parsed.unclaimed,
        unverified: parsed.unverified,
        org: parsed.org,
        input: InputFile {
            path: path.display().to_string(),
            sha256,
        },
        layout: parsed.layout,
        verified_domains: config.verified_domains.clone(),
    })
}

/// Frees a large value on another thread: freeing a million steps one by one costs a tenth of a
/// second the admin would otherwise wait for, and if the process exits first, the system takes
/// the memory back at once.
fn drop_in_background<T: Send + 'static>(value: T) {
    // If no thread can be started, the value comes back in the error and is freed here.
    let _ = thread::Builder::new().spawn(move || drop(value));
}

/// Prints the review; a reader that stopped early (`| head`) is not an error.
pub(super) fn print_review(
    plan: &Plan,
    sha256: &str,
    format: crate::cli::Format,
) -> Result<(), Error> {
    print_as(format, |out| review::render(plan, format, sha256, out))
}

/// Prints what `render` writes in `format`: JSON and CSV as their own formats escape them, text
/// through the terminal's escape.
fn print_as(
    format: crate::cli::Format,
    render: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), Error> {
    Ok(match format {
        crate::cli::Format::Json | crate::cli::Format::Csv => crate::terminal::print_data(render),
        crate::cli::Format::Table | crate::cli::Format::Markdown => crate::terminal::print(render),
    }?)
}

/// `print_review`, rendered before the hash is known and let through once it arrives on `hash`.
fn print_review_as_hashed(
    plan: &Plan,
    format: crate::cli::Format,
    hash: std::sync::mpsc::Receiver<String>,
) -> Result<(), Error> {
    print_as(format, |out| {
        // Buffered in front too: the review is written a line at a time, and each write to
        // `HashFirst` while it holds the review asks whether the hash has come.
        let mut out =
            std::io::BufWriter::with_capacity(1 << 16, hash_first::HashFirst::new(out, hash));
        review::render(plan, format, hash_first::PLACEHOLDER, &mut out)?;
        std::io::Write::flush(&mut out)
    })
}
