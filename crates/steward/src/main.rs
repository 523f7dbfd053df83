//! The `steward` command. A shim: everything it runs lives in the library crates.

mod bench;
mod cli;
mod remote;

fn main() -> std::process::ExitCode {
    cli::main()
}
