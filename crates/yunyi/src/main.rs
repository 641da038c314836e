//! The `yunyi` binary: all behaviour lives in the library so tests can reach it.

/// mimalloc instead of the system allocator: a request allocates and frees many small
/// buffers on two busy threads, where glibc's malloc spent a tenth of the booking rush's
/// server time (see docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    yunyi::cli::run()
}
