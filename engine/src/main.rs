//! The `hyphae` command-line program.

use clap::Parser;

fn main() {
    hyphae::alloc::keep_freed_memory();
    let cli = hyphae::cli::Cli::parse();
    match hyphae::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
