//! The `hyphae` command-line program. Subcommands arrive with the CLI issue; for now it
//! lists the op registry.

fn main() {
    println!("hyphae {}", hyphae::VERSION);
    for op in hyphae::ops::Op::all_defaults() {
        println!("  {:<20} {}", op.kind(), op.category().label());
    }
}
