//! `armsledger`: the server and command line. Everything happens in `api::cli`.

fn main() -> std::process::ExitCode {
    api::cli::main()
}
