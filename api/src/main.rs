//! `armsledger`: the server and command line. Everything happens in `api::cli`.

/// mimalloc rather than glibc's malloc: the pipeline allocates an event on one thread and
/// frees it on another, which glibc's arenas make costly (BENCHMARKS.md: +20-40 % on
/// appends, rebuild and import).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    api::cli::main()
}
