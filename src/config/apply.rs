//! `mailshift apply`: the plan, the pace, the limits of a run and a pilot's selection, checked.

use super::{ApiConfig, ConfigError, Sources, check_rate, same_file};
use crate::api::ClientConfig;
use crate::cli::ApplyArgs;
use mailshift_core::exec::guard::Limits;
use mailshift_core::exec::retry::RetryPolicy;
use mailshift_core::plan::select::{AccountList, Selection, parse_list};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ApplyConfig {
    pub plan: PathBuf,
    pub journal: PathBuf,
    pub client: ClientConfig,
    pub org_id: Option<String>,
    pub rate: f64,
    pub concurrency: usize,
    pub policy: RetryPolicy,
    pub yes: bool,
    pub report: Option<PathBuf>,
    pub retry_failed: bool,
    pub fsync: bool,
    /// `--expect-sha256`: the content hash the plan must have, lower-case hex.
    pub expect_sha256: Option<String>,
    /// A pilot's `--limit`/`--only`/`--exclude`; all steps when empty.
    pub selection: Selection,
    pub limits: Limits,
    pub skip_drifted: bool,
    /// The operator's own account (ID or address), unless `--allow-self`.
    pub protected: Option<String>,
    pub permission_check: bool,
    /// The outcome as JSON on standard output.
    pub json: bool,
    /// Where the plan's machine-wide lock lives (`journal::plan_lock`); `None` for a rehearsal,
    /// whose simulator no other run can reach.
    pub lock_dir: Option<PathBuf>,
    /// Ctrl-C presses, counted, where the caller owns Ctrl-C (a rehearsal, whose handler hears
    /// it from the start): the run stops at a press made before it began to listen, which the
    /// system hands to no one then. `None`: the run hears Ctrl-C itself.
    pub stops: Option<tokio::sync::watch::Receiver<u32>>,
}

impl ApplyConfig {
    /// `env` looks up an environment variable; passed in so that tests need not set any.
    pub fn from_arguments(args: ApplyArgs, sources: Sources) -> Result<ApplyConfig, ConfigError> {
        let env = sources.var;
        check_rate("--rate", args.rate)?;
        if args.concurrency == 0 {
            return Err(ConfigError::BadConcurrency { value: 0 });
        }
        let api = ApiConfig::from_arguments(&args.api, args.concurrency, sources)?;
        let journal = args
            .journal
            .unwrap_or_else(|| crate::journal::default_path(&args.plan));
        if same_file(&journal, &args.plan) {
            return Err(ConfigError::JournalIsPlan { path: journal });
        }
        if let Some(report) = &args.report {
            let kept = [
                (&args.plan, "the plan"),
                (&journal, "the run's journal"),
                (
                    &crate::journal::plan_copy_path(&journal),
                    "the journal's copy of the plan",
                ),
            ];
            if let Some((_, what)) = kept.iter().find(|(p, _)| same_file(report, p)) {
                return Err(ConfigError::ReportOverwrites {
                    path: report.clone(),
                    what,
                });
            }
        }
        if args.limit == Some(0) {
            return Err(ConfigError::ZeroLimit);
        }
        if args.max_failures == Some(0) {
            return Err(ConfigError::ZeroMaxFailures);
        }
        let max_rate =
            parse_percent(&args.max_failure_rate).ok_or_else(|| ConfigError::BadFailureRate {
                value: args.max_failure_rate.clone(),
            })?;
        let selection = Selection {
            limit: args.limit,
            only: args
                .only
                .map(|p| account_list("--only", p, sources.read))
                .transpose()?,
            exclude: args
                .exclude
                .map(|p| account_list("--exclude", p, sources.read))
                .transpose()?,
        };
        let request_timeout = api.client.request_timeout;
        Ok(ApplyConfig {
            plan: args.plan,
            journal,
            client: api.client,
            org_id: api.org_id,
            rate: args.rate,
            concurrency: args.concurrency,
            policy: RetryPolicy {
                max_attempts: args.max_attempts.max(1),
                base: Duration::from_millis(args.backoff_ms.max(1)),
                max_wait: args.max_wait,
                read_lag: args.read_lag,
                ..RetryPolicy::for_timeout(request_timeout, Duration::from_secs(args.settle_secs))
            },
            yes: args.yes,
            report: args.report,
            retry_failed: args.retry_failed,
            fsync: !args.no_fsync,
            expect_sha256: match args.expect_sha256 {
                None => None,
                Some(hash) => {
                    let hash = hash.trim().to_ascii_lowercase();
                    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(ConfigError::BadSha256 { value: hash });
                    }
                    Some(hash)
                }
            },
            selection,
            limits: Limits {
                max_failures: args.max_failures,
                max_rate,
                ..Limits::default()
            },
            skip_drifted: args.skip_drifted,
            protected: args
                .operator
                .or_else(|| env("MAILSHIFT_OPERATOR"))
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty() && !args.allow_self),
            permission_check: !args.no_permission_check,
            json: args.json,
            lock_dir: Some(crate::journal::plan_lock::lock_dir(env)?),
            stops: None,
        })
    }
}

impl ApplyConfig {
    /// The config as a rehearsal runs it: the simulator says how long its writes can be under
    /// way (`quiet`) and how far its reads lag (`read_lag`), no other run can reach its
    /// simulator, so no plan lock, and the rehearsal hands on Ctrl-C (`stops`).
    pub fn in_rehearsal(
        self,
        quiet: Duration,
        read_lag: Duration,
        stops: tokio::sync::watch::Receiver<u32>,
    ) -> ApplyConfig {
        ApplyConfig {
            policy: RetryPolicy {
                quiet,
                read_lag,
                ..self.policy
            },
            lock_dir: None,
            stops: Some(stops),
            ..self
        }
    }
}

/// `10%`, `10` or `2.5%` as a share from 0 to 1.
fn parse_percent(value: &str) -> Option<f64> {
    let number = value.trim().trim_end_matches('%').trim();
    let p: f64 = number.parse().ok()?;
    (p.is_finite() && (0.0..=100.0).contains(&p)).then_some(p / 100.0)
}

/// Reads an `--only`/`--exclude` file; a file that lists nobody is a mistake, not "everyone".
fn account_list(
    flag: &'static str,
    path: PathBuf,
    read: &dyn Fn(&Path) -> io::Result<Vec<u8>>,
) -> Result<AccountList, ConfigError> {
    let bad = |reason: String| ConfigError::BadAccountList {
        flag,
        path: path.clone(),
        reason,
    };
    let bytes = read(&path).map_err(|e| bad(e.to_string()))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        bad(format!(
            "not UTF-8 text (bad byte at offset {}); save it as UTF-8",
            e.valid_up_to()
        ))
    })?;
    let entries = parse_list(text);
    if entries.is_empty() {
        return Err(bad("it lists no account".into()));
    }
    Ok(AccountList { path, entries })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_API_URL;
    use crate::config::table::{command, with_sources};
    use clap::Parser;

    fn apply(line: &str, env: &[(&str, &str)]) -> Result<ApplyConfig, ConfigError> {
        let crate::cli::Command::Apply(args) = command(line) else {
            panic!("not apply")
        };
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let var = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        ApplyConfig::from_arguments(
            args,
            Sources {
                var: &var,
                ..Sources::process()
            },
        )
    }

    /// `mailshift LINE` as `apply` would take it, with `files` as the only files there are and
    /// no environment.
    fn apply_with_files(line: &str, files: &[(&str, &[u8])]) -> Result<ApplyConfig, ConfigError> {
        let crate::cli::Command::Apply(args) = command(line) else {
            panic!("not apply")
        };
        with_sources(&[], files, |sources| {
            ApplyConfig::from_arguments(args, sources)
        })
    }

    #[test]
    fn the_key_file_and_the_lists_are_read_through_the_sources_given() {
        let files: &[(&str, &[u8])] = &[
            ("key", b"  k-1\n"),
            ("blank", b" \n"),
            ("latin1", b"k\xe9"),
            ("pilot.txt", b"ann@old.example\n"),
        ];
        // (command line, the error's text, or "" when the config is made)
        let table = [
            ("apply p --api-key-file key --only pilot.txt", ""),
            ("apply p --api-key-file blank", "the file is empty"),
            ("apply p --api-key-file latin1", "not UTF-8"),
            ("apply p --api-key-file nowhere", "--api-key-file nowhere"),
            (
                "apply p --api-key-file key --only nowhere",
                "--only nowhere",
            ),
            ("apply p", "no API key"),
        ];
        for (line, expect) in table {
            match apply_with_files(line, files) {
                Ok(c) => {
                    assert_eq!(expect, "", "{line}: made a config");
                    assert_eq!(c.selection.only.map(|l| l.entries.len()), Some(1), "{line}");
                    assert!(!format!("{:?}", c.client).contains("k-1"), "{line}");
                }
                Err(e) => assert!(
                    !expect.is_empty() && e.to_string().contains(expect),
                    "{line}: {e}"
                ),
            }
        }
    }

    #[test]
    fn the_key_comes_from_the_environment_or_a_file_and_never_shows() {
        let err = apply("apply plan.json", &[]).unwrap_err();
        assert!(matches!(err, ConfigError::NoApiKey), "{err}");
        let c = apply("apply plan.json", &[("ATLASSIAN_API_KEY", "k-123")]).unwrap();
        assert!(!format!("{c:?}").contains("k-123"));
        assert_eq!(c.client.base_url, DEFAULT_API_URL);
        assert_eq!(c.journal, PathBuf::from("plan.json.journal"));
        // There is no flag that takes the key itself.
        let argv = ["mailshift", "apply", "plan.json", "--api-key", "k"];
        assert!(crate::cli::Cli::try_parse_from(argv).is_err());
    }

    #[test]
    fn plain_http_goes_only_to_loopback() {
        let key = [("ATLASSIAN_API_KEY", "k")];
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
            "https://api.example",
        ] {
            assert!(
                apply(&format!("apply p --api-url {ok}"), &key).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "http://api.atlassian.com",
            "http://10.0.0.1",
            "ftp://x",
            "https://u:p@x",
            "nonsense",
        ] {
            let err = apply(&format!("apply p --api-url {bad}"), &key).unwrap_err();
            assert!(matches!(err, ConfigError::BadUrl { .. }), "{bad}: {err}");
        }
        let env = [
            ("ATLASSIAN_API_KEY", "k"),
            ("MAILSHIFT_API_URL", "http://evil.example"),
        ];
        assert!(apply("apply p", &env).is_err());
    }

    #[test]
    fn the_journal_cannot_be_the_plan() {
        let err = apply(
            "apply p.json --journal p.json",
            &[("ATLASSIAN_API_KEY", "k")],
        );
        assert!(matches!(err, Err(ConfigError::JournalIsPlan { .. })));
    }

    #[test]
    fn failure_rates_are_percentages() {
        let key = [("ATLASSIAN_API_KEY", "k")];
        let c = apply("apply p", &key).unwrap();
        assert_eq!(c.limits.max_rate, 0.10);
        assert!(c.selection.is_all());
        for (given, share) in [("25%", 0.25), ("2.5", 0.025), ("100%", 1.0), ("0", 0.0)] {
            let c = apply(&format!("apply p --max-failure-rate {given}"), &key).unwrap();
            assert_eq!(c.limits.max_rate, share, "{given}");
        }
        for bad in ["101%", "-1", "ten", "%"] {
            let err = apply(&format!("apply p --max-failure-rate={bad}"), &key).unwrap_err();
            assert!(matches!(err, ConfigError::BadFailureRate { .. }), "{bad}");
        }
        assert!(matches!(
            apply("apply p --limit 0", &key),
            Err(ConfigError::ZeroLimit)
        ));
        assert!(matches!(
            apply("apply p --max-failures 0", &key),
            Err(ConfigError::ZeroMaxFailures)
        ));
    }

    #[test]
    fn an_account_list_must_be_readable_text_that_lists_someone() {
        let dir = tempfile::tempdir().unwrap();
        let key = [("ATLASSIAN_API_KEY", "k")];
        let path = |name: &str| dir.path().join(name).display().to_string();
        std::fs::write(dir.path().join("empty.txt"), "# nobody yet\n\n").unwrap();
        std::fs::write(dir.path().join("latin1.txt"), b"ren\xe9@old.example\n").unwrap();
        std::fs::write(dir.path().join("ok.txt"), "a\nb@old.example\n").unwrap();
        for (name, expect) in [
            ("empty.txt", "lists no account"),
            ("latin1.txt", "not UTF-8"),
            ("missing.txt", "No such file"),
        ] {
            let err = apply(&format!("apply p --only {}", path(name)), &key).unwrap_err();
            assert!(
                matches!(err, ConfigError::BadAccountList { .. })
                    && err.to_string().contains(expect),
                "{name}: {err}"
            );
        }
        let c = apply(&format!("apply p --exclude {}", path("ok.txt")), &key).unwrap();
        let list = c.selection.exclude.unwrap();
        assert_eq!(list.entries.len(), 2);
        assert_eq!(list.entries[1].line, 2);
    }
}
