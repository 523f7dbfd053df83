//! Feeds arbitrary UTF-8 to the parser and, when it parses, to the printer,
//! the checker, and the evaluator. Any panic is a bug; so is printed text
//! that does not parse back to the same tree.
//!
//! Run from `crates/rules`: `cargo fuzz run parse` (needs nightly, or
//! `RUSTC_BOOTSTRAP=1` on stable).
#![no_main]

use libfuzzer_sys::fuzz_target;
use steward_rules::memory::{MemoryRecord, MemorySchema};
use steward_rules::{EvalContext, Program, Scope, Timestamp, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(expr) = parse(source) else {
        return;
    };
    let printed = expr.to_string();
    assert_eq!(
        parse(&printed).ok().as_ref(),
        Some(&expr),
        "printed as {printed}"
    );

    let schema = MemorySchema::demo();
    let ctx = EvalContext::new(Timestamp::from_second(1_718_452_800).unwrap());
    let user = MemoryRecord::new()
        .with("lastSeenTimestamp", "2024-06-01T00:00:00Z")
        .with("npsLastScore", 7.0);
    let account = MemoryRecord::new()
        .with("mrr", 100.0)
        .with("plan", "pro")
        .with("tags", vec!["a".to_owned()])
        .with_related("users", user.clone());
    let organization = MemoryRecord::new().with_related("accounts", account.clone());
    for (scope, record) in [
        (Scope::Organization, &organization),
        (Scope::Account, &account),
        (Scope::User, &user),
    ] {
        for program in [
            Program::formula(&expr, &scope, &schema),
            Program::filter(&expr, &scope, &schema),
        ]
        .into_iter()
        .flatten()
        {
            let _ = program.eval(record, &ctx);
            let _ = program.next_change(record, &ctx);
        }
    }
});
