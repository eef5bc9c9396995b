//! From journal bytes to the state of every step: pure, so that resume, `status` and reports
//! all read a journal the same way, and tests feed it bytes.

use super::error::JournalError;
use super::record::{FORMAT, FORMAT_VERSION, Header, Record};
use crate::model::StepId;
use std::path::Path;
use std::time::SystemTime;

/// Where a step stands according to the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    /// Never attempted, or known not applied.
    Pending,
    /// An intent with no outcome: the write may or may not have happened. Checked by reading
    /// the account before anything else is done with it, and not before the write can no
    /// longer be under way (`exec::retry::under_way_until`).
    InFlight {
        attempt: u32,
        /// When its last intent was journaled; `None` if the journal's time cannot be read.
        sent: Option<SystemTime>,
        /// A failed step taken up again by `--retry-failed`: it was sent before, so its account
        /// is read first (the change may be there already), but it is not a dead run's write.
        retried: bool,
    },
    Done {
        status: Option<u16>,
        attempts: u32,
    },
    Failed {
        status: Option<u16>,
        key: Option<String>,
        message: String,
        attempts: u32,
    },
    Skipped {
        because: StepId,
    },
}

impl StepState {
    /// Done, failed or skipped: nothing more happens to the step in a plain resume.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            StepState::Done { .. } | StepState::Failed { .. } | StepState::Skipped { .. }
        )
    }
}

/// A journal file read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub header: Header,
    pub records: Vec<Record>,
    /// Bytes up to the end of the last whole line; a torn last line lies beyond.
    pub complete_len: u64,
    /// The last line was cut short (a crash during a write) and is ignored.
    pub torn: bool,
}

impl Parsed {
    /// How many `apply` runs the journal records.
    pub fn runs(&self) -> u32 {
        self.records
            .iter()
            .filter(|r| matches!(r, Record::Run { .. }))
            .count() as u32
    }
}

/// Parses a journal. A last line that is cut short or unreadable is a write a crash interrupted:
/// it was never acknowledged, so nothing relied on it, and it is ignored. A bad line anywhere
/// else means the file is damaged, and is refused with its line number.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Parsed, JournalError> {
    let damaged = |line: usize, detail: String| JournalError::Damaged {
        path: path.to_owned(),
        line,
        detail,
    };
    let mut lines = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| start + i + 1);
        lines.push((start, end));
        start = end.unwrap_or(bytes.len());
    }
    let mut header = None;
    let mut records = Vec::with_capacity(lines.len());
    let mut complete_len = 0u64;
    let mut torn = false;
    let last = lines.len().saturating_sub(1);
    for (i, &(from, end)) in lines.iter().enumerate() {
        let text = &bytes[from..end.unwrap_or(bytes.len())];
        let whole = end.is_some();
        let line = i + 1;
        let parsed = if i == 0 {
            serde_json::from_slice::<Header>(text).map(Line::Header)
        } else {
            serde_json::from_slice::<Record>(text).map(Line::Record)
        };
        match parsed {
            Ok(Line::Header(h)) if whole => {
                check_header(path, &h)?;
                header = Some(h);
            }
            Ok(Line::Record(r)) if whole => records.push(r),
            // Cut short or unreadable, and last: a write a crash interrupted.
            _ if i == last => {
                torn = true;
                break;
            }
            Err(e) if i == 0 => return Err(not_a_journal(path, e.to_string())),
            Err(e) => return Err(damaged(line, e.to_string())),
            // Only the last line can lack its newline.
            Ok(_) => return Err(damaged(line, "the line has no end".into())),
        }
        complete_len = end.unwrap_or(bytes.len()) as u64;
    }
    let header = header.ok_or_else(|| not_a_journal(path, "it has no header line".into()))?;
    Ok(Parsed {
        header,
        records,
        complete_len,
        torn,
    })
}

enum Line {
    Header(Header),
    Record(Record),
}

fn not_a_journal(path: &Path, detail: String) -> JournalError {
    JournalError::NotAJournal {
        path: path.to_owned(),
        detail,
    }
}

fn check_header(path: &Path, h: &Header) -> Result<(), JournalError> {
    if h.format != FORMAT {
        return Err(not_a_journal(path, format!("its format is {:?}", h.format)));
    }
    if h.format_version > FORMAT_VERSION {
        return Err(JournalError::NewerFormat {
            path: path.to_owned(),
            found: h.format_version,
            supported: FORMAT_VERSION,
        });
    }
    Ok(())
}

/// The state of each of `steps` steps (index `id - 1`) after `records`, the last word on a step
/// winning. With `retry_failed`, failed and skipped steps are taken up again: a failed step
/// that was sent is to be checked first (`InFlight`, `retried`), the others are pending.
pub fn replay(
    path: &Path,
    steps: u32,
    records: &[Record],
    retry_failed: bool,
) -> Result<Vec<StepState>, JournalError> {
    let mut states = vec![StepState::Pending; steps as usize];
    let mut sent: Vec<Option<SystemTime>> = vec![None; steps as usize];
    for (i, record) in records.iter().enumerate() {
        let Some(step) = record.step() else { continue };
        let slot = states
            .get_mut(step.index())
            .ok_or_else(|| JournalError::Damaged {
                path: path.to_owned(),
                // +2: the header is line 1 and records are counted from 0.
                line: i + 2,
                detail: format!("step {step} is not in the plan (it has {steps} steps)"),
            })?;
        *slot = match record {
            Record::Run { .. } | Record::Settled { .. } => continue,
            Record::Intent { attempt, at, .. } => {
                let when = humantime::parse_rfc3339_weak(at).ok();
                if let Some(t) = sent.get_mut(step.index()) {
                    *t = when;
                }
                StepState::InFlight {
                    attempt: *attempt,
                    sent: when,
                    retried: false,
                }
            }
            Record::Done {
                status, attempts, ..
            } => StepState::Done {
                status: *status,
                attempts: *attempts,
            },
            Record::Failed {
                status,
                key,
                message,
                attempts,
                ..
            } => StepState::Failed {
                status: *status,
                key: key.clone(),
                message: message.clone(),
                attempts: *attempts,
            },
            Record::Skipped { because, .. } => StepState::Skipped { because: *because },
            Record::NotApplied { .. } => StepState::Pending,
        };
    }
    if retry_failed {
        // A failed step that was sent may have landed after all (its outcome unknown, say):
        // its account is read before it is sent again. A skipped one was never sent.
        for (s, when) in states.iter_mut().zip(&sent) {
            match s {
                StepState::Failed { attempts, .. } if *attempts > 0 => {
                    *s = StepState::InFlight {
                        attempt: *attempts,
                        sent: *when,
                        retried: true,
                    };
                }
                StepState::Failed { .. } | StepState::Skipped { .. } => *s = StepState::Pending,
                _ => {}
            }
        }
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"format":"mailshift-journal","format_version":1,"tool_version":"0.1.0","plan_sha256":"ab","steps":3,"at":"t"}"#;

    fn journal(lines: &[&str]) -> Vec<u8> {
        let mut s = format!("{HEADER}\n");
        for l in lines {
            s.push_str(l);
            s.push('\n');
        }
        s.into_bytes()
    }

    fn states(bytes: &[u8], retry_failed: bool) -> Vec<StepState> {
        let p = parse(Path::new("j"), bytes).unwrap();
        replay(Path::new("j"), 3, &p.records, retry_failed).unwrap()
    }

    #[test]
    fn replay_gives_what_is_left() {
        let bytes = journal(&[
            r#"{"t":"run","run":1,"pid":7,"at":"t"}"#,
            r#"{"t":"intent","step":1,"attempt":1,"at":"t"}"#,
            r#"{"t":"done","step":1,"status":204,"attempts":1,"at":"t"}"#,
            r#"{"t":"intent","step":2,"attempt":1,"at":"t"}"#,
            r#"{"t":"intent","step":3,"attempt":1,"at":"t"}"#,
            r#"{"t":"not_applied","step":3,"at":"t"}"#,
        ]);
        assert_eq!(
            states(&bytes, false),
            vec![
                StepState::Done {
                    status: Some(204),
                    attempts: 1
                },
                StepState::InFlight {
                    attempt: 1,
                    sent: None,
                    retried: false
                },
                StepState::Pending,
            ]
        );
        let timed =
            journal(&[r#"{"t":"intent","step":1,"attempt":2,"at":"2026-12-01T10:00:00.250Z"}"#]);
        assert_eq!(
            states(&timed, false)[0],
            StepState::InFlight {
                attempt: 2,
                sent: Some(humantime::parse_rfc3339("2026-12-01T10:00:00.250Z").unwrap()),
                retried: false
            }
        );
    }

    #[test]
    fn failed_and_skipped_are_final_unless_retried() {
        let bytes = journal(&[
            r#"{"t":"failed","step":1,"status":400,"key":"email.taken","message":"m","attempts":1,"at":"t"}"#,
            r#"{"t":"skipped","step":2,"because":1,"at":"t"}"#,
        ]);
        let plain = states(&bytes, false);
        assert!(plain[0].is_final() && plain[1].is_final());
        assert_eq!(plain[1], StepState::Skipped { because: StepId(1) });
        // Step 1 was sent once: retried, its account is read before it is sent again (the
        // change may have landed after all). Step 2 was never sent.
        assert_eq!(
            states(&bytes, true)[..2],
            [
                StepState::InFlight {
                    attempt: 1,
                    sent: None,
                    retried: true
                },
                StepState::Pending
            ]
        );
        let unsent =
            journal(&[r#"{"t":"failed","step":1,"key":"x","message":"m","attempts":0,"at":"t"}"#]);
        assert_eq!(states(&unsent, true)[0], StepState::Pending);
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_cut_off() {
        let mut bytes = journal(&[r#"{"t":"intent","step":1,"attempt":1,"at":"t"}"#]);
        let whole = bytes.len() as u64;
        bytes.extend_from_slice(br#"{"t":"done","step":1,"sta"#);
        let p = parse(Path::new("j"), &bytes).unwrap();
        assert!(p.torn);
        assert_eq!(p.complete_len, whole);
        assert_eq!(p.records.len(), 1);
        // Zeros left by a crash at the end of the file are torn too.
        let mut zeros = journal(&[]);
        zeros.extend_from_slice(&[0; 40]);
        assert!(parse(Path::new("j"), &zeros).unwrap().torn);
        // A torn header: the file was created and the crash came before the header was whole.
        let p = parse(Path::new("j"), &HEADER.as_bytes()[..20]);
        assert!(matches!(p, Err(JournalError::NotAJournal { .. })));
    }

    #[test]
    fn a_bad_line_in_the_middle_is_refused_with_its_number() {
        let bytes = journal(&[
            r#"{"t":"intent","step":1,"attempt":1,"at":"t"}"#,
            "garbage",
            r#"{"t":"done","step":1,"attempts":1,"at":"t"}"#,
        ]);
        let err = parse(Path::new("j"), &bytes).unwrap_err();
        assert!(
            matches!(err, JournalError::Damaged { line: 3, .. }),
            "{err}"
        );
        let out_of_range = journal(&[r#"{"t":"done","step":9,"attempts":1,"at":"t"}"#]);
        let p = parse(Path::new("j"), &out_of_range).unwrap();
        let err = replay(Path::new("j"), 3, &p.records, false).unwrap_err();
        assert!(err.to_string().starts_with("j:2: "), "{err}");
        assert!(err.to_string().contains("step 9"), "{err}");
    }

    #[test]
    fn other_files_and_newer_versions_are_refused() {
        let err = parse(Path::new("j"), b"{\"format\":\"x\"}\n{}\n").unwrap_err();
        assert!(matches!(err, JournalError::NotAJournal { .. }), "{err}");
        let newer = journal(&[]);
        let newer = String::from_utf8(newer)
            .unwrap()
            .replace("\"format_version\":1", "\"format_version\":3");
        let err = parse(Path::new("j"), newer.as_bytes()).unwrap_err();
        assert!(
            matches!(err, JournalError::NewerFormat { found: 3, .. }),
            "{err}"
        );
        // A version 1 journal (before `settled`) is read as it is.
        assert!(parse(Path::new("j"), &journal(&[])).is_ok());
    }
}
