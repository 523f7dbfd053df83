//! The `steward` command. A shim: everything it runs lives in the library crates.

mod bench;
mod cli;
mod control;
mod remote;

/// mimalloc instead of glibc's allocator: ingestion allocates and frees small objects on
/// several threads at once, and glibc's arenas spent a quarter of its CPU time consolidating
/// and unlinking free chunks (perf, `steward bench --suite ingest`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
