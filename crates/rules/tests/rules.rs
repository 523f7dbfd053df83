//! Integration tests for the rule language, as one test binary.

mod rules {
    pub mod support;

    mod aggregates;
    mod checking;
    mod dates;
    mod dependencies;
    mod evaluation;
    mod filters;
    mod functions;
    mod parsing;
    mod properties;
}
