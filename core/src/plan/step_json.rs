//! A plan step as the plan file spells it, written straight into a byte buffer. A large plan is
//! a million steps, and writing them through serde's generic map machinery (a call per field, a
//! byte-at-a-time escape of every string) was the slowest part of `plan` after reading the CSV.
//!
//! The derived `Serialize` of [`Step`] stays the definition of the format: `decode` reads what
//! it would write, and the tests here hold this writer to its bytes, field by field and for
//! arbitrary steps.

use super::{Origin, Step};
use crate::model::Status;

/// Appends `step` as `serde_json::to_writer` would write it.
pub(super) fn write_step(out: &mut Vec<u8>, step: &Step) {
    let mut number = itoa::Buffer::new();
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(number.format(step.id.0).as_bytes());
    out.extend_from_slice(b",\"group\":");
    out.extend_from_slice(number.format(step.group).as_bytes());
    out.extend_from_slice(b",\"kind\":");
    name(out, step.kind.name());
    out.extend_from_slice(b",\"account_id\":");
    string(out, &step.account_id);
    if !step.name.is_empty() {
        out.extend_from_slice(b",\"name\":");
        string(out, &step.name);
    }
    if step.status != Status::Active {
        out.extend_from_slice(b",\"status\":");
        name(out, step.status.name());
    }
    if step.product_access {
        out.extend_from_slice(b",\"product_access\":true");
    }
    out.extend_from_slice(b",\"from\":");
    string(out, &step.from);
    out.extend_from_slice(b",\"to\":");
    string(out, &step.to);
    if !step.after.is_empty() {
        out.extend_from_slice(b",\"after\":[");
        for (i, a) in step.after.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(number.format(a.0).as_bytes());
        }
        out.push(b']');
    }
    match &step.origin {
        None => {}
        Some(Origin::Line { file, line }) => {
            out.extend_from_slice(b",\"origin\":{\"line\":");
            out.extend_from_slice(number.format(*line).as_bytes());
            if *file > 0 {
                out.extend_from_slice(b",\"file\":");
                out.extend_from_slice(number.format(*file).as_bytes());
            }
            out.push(b'}');
        }
        Some(Origin::Rule(rule)) => {
            out.extend_from_slice(b",\"origin\":{\"rule\":");
            string(out, rule);
            out.push(b'}');
        }
    }
    out.push(b'}');
}

/// One of our own names (a kind, a status): lower-case ASCII letters, which need no escape, so
/// they are copied without the check `string` makes.
fn name(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.push(b'"');
}

/// A JSON string as serde_json escapes it: `"` and `\` escaped, control characters as `\n`,
/// `\t` and the like or `\u00XX`, everything else (non-ASCII too) as it is. Almost no address
/// or name needs an escape, so the whole string is checked at once and copied in one go.
fn string(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    out.push(b'"');
    // A fold rather than `any`: no early exit, so the check runs many bytes per instruction.
    let plain = !bytes.iter().fold(false, |seen, &b| {
        seen || (b < 0x20) || (b == b'"') || (b == b'\\')
    });
    if plain {
        out.extend_from_slice(bytes);
    } else {
        for &b in bytes {
            match b {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\x08' => out.extend_from_slice(b"\\b"),
                b'\x0c' => out.extend_from_slice(b"\\f"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b if b < 0x20 => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
                b => out.push(b),
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{After, StepId, StepKind};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn derived(step: &Step) -> String {
        serde_json::to_string(step).unwrap()
    }

    fn written(step: &Step) -> String {
        let mut out = Vec::new();
        write_step(&mut out, step);
        String::from_utf8(out).unwrap()
    }

    const KINDS: [StepKind; 4] = [
        StepKind::Free,
        StepKind::Temporary,
        StepKind::Rename,
        StepKind::Unlink,
    ];
    const STATUSES: [Status; 4] = [
        Status::Active,
        Status::Deactivated,
        Status::Suspended,
        Status::Unknown,
    ];

    fn step() -> Step {
        Step {
            id: StepId(7),
            group: 3,
            kind: StepKind::Rename,
            account_id: "712020:abc".into(),
            name: "Ann Lee".into(),
            status: Status::Active,
            product_access: false,
            from: "ann@old.example".into(),
            to: "ann@new.example".into(),
            after: After::new(),
            origin: None,
        }
    }

    #[test]
    fn every_field_and_every_left_out_field_is_written_as_the_derived_serializer_writes_it() {
        let mut cases = vec![step()];
        for kind in KINDS {
            cases.push(Step { kind, ..step() });
        }
        for status in STATUSES {
            cases.push(Step { status, ..step() });
        }
        cases.push(Step {
            name: "".into(),
            product_access: true,
            after: [1u32, 22].into_iter().map(StepId).collect(),
            origin: Some(Origin::Line {
                file: u32::MAX,
                line: u64::MAX,
            }),
            id: StepId(u32::MAX),
            group: 0,
            ..step()
        });
        cases.push(Step {
            name: "Zoë \"Z\" O'Neil\\\n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f}".into(),
            after: [5u32].into_iter().map(StepId).collect(),
            origin: Some(Origin::Rule("old.example=new.example".into())),
            ..step()
        });
        for case in &cases {
            assert_eq!(written(case), derived(case));
        }
    }

    fn text() -> impl Strategy<Value = Arc<str>> {
        prop_oneof![
            "[a-z0-9.@_-]{0,40}",
            any::<String>(),
            proptest::collection::vec(0u8..0x80, 0..20).prop_map(|b| String::from_utf8(b).unwrap()),
        ]
        .prop_map(Arc::from)
    }

    fn any_step() -> impl Strategy<Value = Step> {
        let kinds = proptest::sample::select(KINDS.to_vec());
        let statuses = proptest::sample::select(STATUSES.to_vec());
        let origins = prop_oneof![
            Just(None),
            (any::<u32>(), any::<u64>()).prop_map(|(file, line)| Some(Origin::Line { file, line })),
            text().prop_map(|r| Some(Origin::Rule(r))),
        ];
        (
            (any::<u32>(), any::<u32>(), kinds, statuses, any::<bool>()),
            (text(), text(), text(), text()),
            proptest::collection::vec(any::<u32>(), 0..4),
            origins,
        )
            .prop_map(
                |(
                    (id, group, kind, status, product_access),
                    (account_id, name, from, to),
                    after,
                    origin,
                )| Step {
                    id: StepId(id),
                    group,
                    kind,
                    account_id,
                    name,
                    status,
                    product_access,
                    from,
                    to,
                    after: after.into_iter().map(StepId).collect(),
                    origin,
                },
            )
    }

    proptest! {
        #[test]
        fn any_step_is_written_byte_for_byte_as_the_derived_serializer_writes_it(s in any_step()) {
            prop_assert_eq!(written(&s), derived(&s));
        }
    }
}
